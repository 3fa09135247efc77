//! The terminal pieces of a run: who answers approvals and prompts at this
//! terminal, and the progress display.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use plug_core::event::{EventKind, RunEvent};
use plug_core::ports::{ApprovalAnswer, ApprovalRequest, Approver, Prompter, TelemetrySink};
use plug_runtime::approval::{AnswerFile, Mailbox, MailboxApprover, PresetApprover};
use plug_runtime::state::current_user;

/// How approvals are obtained, in order of precedence: an answers file given
/// up front, a person at this terminal, or `plugctl approve` from another one.
pub fn approver(
    preset: Option<&Path>,
    mailbox: Mailbox,
    timeout: Duration,
) -> Result<Arc<dyn Approver>, String> {
    if let Some(path) = preset {
        let answer = AnswerFile::read(path).map_err(|e| e.to_string())?;
        return Ok(Arc::new(PresetApprover(answer)));
    }
    if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        return Ok(Arc::new(TerminalApprover));
    }
    Ok(Arc::new(MailboxApprover { mailbox, timeout }))
}

/// Asks the person at this terminal.
pub struct TerminalApprover;

#[async_trait]
impl Approver for TerminalApprover {
    async fn ask(&self, request: &ApprovalRequest) -> ApprovalAnswer {
        ask_terminal(request.reason.clone()).await
    }
}

/// Shows `question` on stderr and reads one line of stdin, off the async
/// runtime's threads; `None` when stdin cannot be read.
async fn ask_line(question: String) -> Option<String> {
    let asked = tokio::task::spawn_blocking(move || {
        eprint!("{question}");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .ok()
            .map(|_| line)
    });
    asked.await.ok().flatten()
}

async fn ask_terminal(reason: String) -> ApprovalAnswer {
    match ask_line(format!("approval needed: {reason}\napprove? [y/N] ")).await {
        Some(line) if matches!(line.trim(), "y" | "Y" | "yes") => ApprovalAnswer::Approved {
            approver: current_user(),
        },
        Some(_) => ApprovalAnswer::Refused {
            by: current_user(),
            reason: None,
        },
        None => ApprovalAnswer::Unanswered,
    }
}

/// Asks the operator on a terminal; nobody can answer otherwise.
pub struct TerminalPrompter;

#[async_trait]
impl Prompter for TerminalPrompter {
    async fn prompt(&self, message: &str, _sensitive: bool) -> Option<String> {
        if !std::io::stdin().is_terminal() {
            return None;
        }
        let line = ask_line(format!("{message} ")).await?;
        Some(line.trim_end().to_owned())
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
