//! The approval mailbox: where a run waiting for a human leaves its request
//! and `plugctl approve|reject` (from any terminal, or any front end) leaves
//! the answer. Also the answers given ahead of time (`--approve-from`).
//! Nothing goes on without an answer: a timeout or an unreadable answer is
//! no approval.

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use plug_core::ports::{ApprovalAnswer, ApprovalRequest, Approver};
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
    /// Reads an answers file (`{"approver": "alice", "approve": true}`).
    pub fn read(path: &Path) -> Result<AnswerFile, MailboxError> {
        let text = std::fs::read_to_string(path).map_err(|e| MailboxError::io(path, e))?;
        serde_json::from_str(&text).map_err(|e| MailboxError::Invalid {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// The answer as the interpreter takes it.
    pub fn to_answer(&self) -> ApprovalAnswer {
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

/// Why the mailbox cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MailboxError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// An answers file is not one.
    #[error("{}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Nothing waits for an answer under this run id.
    #[error("run {0} is not waiting for an approval")]
    NotWaiting(String),
}

impl MailboxError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        MailboxError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The folder where requests and answers meet (`<state>/approvals`).
#[derive(Debug, Clone)]
pub struct Mailbox {
    dir: PathBuf,
}

impl Mailbox {
    /// The mailbox in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Mailbox { dir: dir.into() }
    }

    fn files(&self, run_id: &str) -> (PathBuf, PathBuf) {
        (
            self.dir.join(format!("{run_id}.request.json")),
            self.dir.join(format!("{run_id}.answer.json")),
        )
    }

    /// Answers the run's pending request.
    pub fn answer(&self, run_id: &str, answer: &AnswerFile) -> Result<(), MailboxError> {
        let (request, answer_path) = self.files(run_id);
        if !request.exists() {
            return Err(MailboxError::NotWaiting(run_id.to_owned()));
        }
        let text = serde_json::to_vec(answer).unwrap_or_default();
        std::fs::write(&answer_path, text).map_err(|e| MailboxError::io(&answer_path, e))
    }

    /// Leaves `request` and waits up to `timeout` for its answer.
    pub async fn wait(&self, request: &ApprovalRequest, timeout: Duration) -> ApprovalAnswer {
        let (request_path, answer_path) = self.files(request.run_id.as_str());
        let written = std::fs::create_dir_all(&self.dir).and_then(|()| {
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
}

/// Answers every gate with the same answer, given ahead of time.
pub struct PresetApprover(pub AnswerFile);

#[async_trait]
impl Approver for PresetApprover {
    async fn ask(&self, _request: &ApprovalRequest) -> ApprovalAnswer {
        self.0.to_answer()
    }
}

/// Waits for `plugctl approve|reject <run-id>` through the mailbox.
pub struct MailboxApprover {
    /// Where requests and answers meet.
    pub mailbox: Mailbox,
    /// How long to wait.
    pub timeout: Duration,
}

#[async_trait]
impl Approver for MailboxApprover {
    async fn ask(&self, request: &ApprovalRequest) -> ApprovalAnswer {
        self.mailbox.wait(request, self.timeout).await
    }
}
