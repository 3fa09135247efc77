//! The real ports a run uses, assembled from the implementation crates.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use plug_core::event::{EventKind, RunEvent};
use plug_core::ports::{ApprovalAnswer, ApprovalRequest, Approver, Prompter, TelemetrySink};
use serde::{Deserialize, Serialize};

/// An answer given ahead of time or by `plugctl approve|reject`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerFile {
    /// Who answers.
    pub approver: String,
    /// Yes or no.
    pub approve: bool,
    /// Why.
    #[serde(default)]
    pub reason: Option<String>,
}

impl AnswerFile {
    fn to_answer(&self) -> ApprovalAnswer {
        if self.approve {
            ApprovalAnswer::Approved {
                approver: self.approver.clone(),
            }
        } else {
            ApprovalAnswer::Refused {
                by: self.approver.clone(),
                reason: self.reason.clone(),
            }
        }
    }
}

/// How approvals are obtained, in order of precedence: an answers file given
/// up front, a person at this terminal, or `plugctl approve` from another one.
pub enum RunApprover {
    /// `--approve-from FILE`.
    Preset(AnswerFile),
    /// Ask on this terminal.
    Terminal,
    /// Wait for `plugctl approve|reject <run-id>`.
    Mailbox {
        /// Where requests and answers meet.
        dir: PathBuf,
        /// How long to wait.
        timeout: Duration,
    },
}

impl RunApprover {
    /// Picks the approver for a run.
    pub fn choose(preset: Option<&Path>, timeout: Duration) -> Result<Self, String> {
        if let Some(path) = preset {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let answer =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            return Ok(RunApprover::Preset(answer));
        }
        if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
            return Ok(RunApprover::Terminal);
        }
        Ok(RunApprover::Mailbox {
            dir: crate::state::approvals_dir(),
            timeout,
        })
    }
}

/// The files of one run's pending approval.
pub fn mailbox(dir: &Path, run_id: &str) -> (PathBuf, PathBuf) {
    (
        dir.join(format!("{run_id}.request.json")),
        dir.join(format!("{run_id}.answer.json")),
    )
}

#[async_trait]
impl Approver for RunApprover {
    async fn ask(&self, request: &ApprovalRequest) -> ApprovalAnswer {
        match self {
            RunApprover::Preset(answer) => answer.to_answer(),
            RunApprover::Terminal => ask_terminal(request.reason.clone()).await,
            RunApprover::Mailbox { dir, timeout } => wait_for_answer(dir, request, *timeout).await,
        }
    }
}

async fn ask_terminal(reason: String) -> ApprovalAnswer {
    let asked = tokio::task::spawn_blocking(move || {
        eprint!("approval needed: {reason}\napprove? [y/N] ");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .ok()
            .map(|_| line)
    })
    .await;
    match asked.ok().flatten() {
        Some(line) if matches!(line.trim(), "y" | "Y" | "yes") => ApprovalAnswer::Approved {
            approver: crate::state::current_user(),
        },
        Some(_) => ApprovalAnswer::Refused {
            by: crate::state::current_user(),
            reason: None,
        },
        None => ApprovalAnswer::Unanswered,
    }
}

async fn wait_for_answer(
    dir: &Path,
    request: &ApprovalRequest,
    timeout: Duration,
) -> ApprovalAnswer {
    let (request_path, answer_path) = mailbox(dir, request.run_id.as_str());
    let written = std::fs::create_dir_all(dir).and_then(|()| {
        std::fs::write(
            &request_path,
            serde_json::to_vec_pretty(request).unwrap_or_default(),
        )
    });
    if written.is_err() {
        return ApprovalAnswer::Unanswered;
    }
    eprintln!(
        "approval needed: {}\n  approve: plugctl approve {id}\n  refuse:  plugctl reject {id}",
        request.reason,
        id = request.run_id
    );
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < deadline {
        if let Ok(text) = std::fs::read_to_string(&answer_path) {
            let _ = std::fs::remove_file(&answer_path);
            let _ = std::fs::remove_file(&request_path);
            return serde_json::from_str::<AnswerFile>(&text)
                .map(|a| a.to_answer())
                .unwrap_or(ApprovalAnswer::Unanswered);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let _ = std::fs::remove_file(&request_path);
    ApprovalAnswer::Unanswered
}

/// Asks the operator on a terminal; nobody can answer otherwise.
pub struct TerminalPrompter;

#[async_trait]
impl Prompter for TerminalPrompter {
    async fn prompt(&self, message: &str, _sensitive: bool) -> Option<String> {
        if !std::io::stdin().is_terminal() {
            return None;
        }
        let message = message.to_owned();
        tokio::task::spawn_blocking(move || {
            eprint!("{message} ");
            let _ = std::io::stderr().flush();
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .ok()
                .map(|_| line.trim_end().to_owned())
        })
        .await
        .ok()
        .flatten()
    }
}

/// Shows step progress as the run goes, then passes every event on: a live
/// spinner with the current step and elapsed time on a terminal, plain lines
/// otherwise (CI logs, pipes).
pub struct Progress {
    inner: Arc<dyn TelemetrySink>,
    quiet: bool,
    spinner: Option<indicatif::ProgressBar>,
}

impl Progress {
    /// Progress over `inner`; `quiet` prints nothing (JSON output).
    pub fn new(inner: Arc<dyn TelemetrySink>, quiet: bool) -> Self {
        let spinner = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
            {
                bar.set_style(style);
            }
            bar
        });
        Progress {
            inner,
            quiet,
            spinner,
        }
    }

    fn line(&self, text: String) {
        match &self.spinner {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    fn show(&self, kind: &EventKind) {
        match kind {
            EventKind::StepStarted { step, action } => match &self.spinner {
                Some(bar) => {
                    bar.reset_elapsed();
                    bar.set_message(format!("{step} ({action})"));
                    bar.enable_steady_tick(Duration::from_millis(120));
                }
                None => self.line(format!("-> {step} ({action})")),
            },
            EventKind::StepFinished {
                step,
                outcome,
                duration_ms,
            } => self.line(format!("   {step}: {outcome} in {duration_ms} ms")),
            EventKind::AwsApiCalled {
                service,
                operation,
                status,
                ..
            } => {
                self.line(format!(
                    "   aws {service} {operation}: HTTP {}",
                    status.map_or_else(|| "none".to_owned(), |s| s.to_string())
                ));
            }
            EventKind::PermissionChecked { action, decision } => {
                self.line(format!("   permission {action}: {decision:?}"))
            }
            EventKind::RunFinished { .. } => {
                if let Some(bar) = &self.spinner {
                    bar.finish_and_clear();
                }
            }
            _ => {}
        }
    }
}

#[async_trait]
impl TelemetrySink for Progress {
    fn record(&self, event: RunEvent) {
        if !self.quiet {
            self.show(&event.kind);
        }
        self.inner.record(event);
    }

    async fn flush(&self) {
        self.inner.flush().await;
    }
}
