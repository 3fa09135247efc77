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
    /// The answerer's principal ARN, as AWS vouched for it (`plugctl
    /// approve|reject`); absent in an answers file, which is not verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_arn: Option<String>,
    /// The request this answers (its nonce, set by the mailbox): an answer
    /// left for a request nobody waits for any more never answers the next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}

/// A request as it waits in the mailbox: the question, the one-time nonce
/// its answer must carry, and when it stops waiting.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Request {
    #[serde(flatten)]
    request: ApprovalRequest,
    nonce: String,
    expires_at_ms: u64,
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

/// What the mailbox holds for a run.
enum Pending {
    /// No request.
    Missing,
    /// A request that does not parse (perhaps being written): left alone.
    Unreadable,
    /// A request nobody waits for any more (expired, or its process gone).
    Dead,
    /// A request its run waits on.
    Live(Request),
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
    /// The run asked, but the process that waited is gone or the request
    /// expired: the question died with it.
    #[error(
        "run {0} asked for an approval, but nothing waits for the answer any more (its process ended or the request expired); `plugctl resume {0}` asks again"
    )]
    Stale(String),
    /// The request names its approvers, and this is not one of them.
    #[error("{approver} may not answer run {run_id}: its approvers are {}", .approvers.join(", "))]
    NotAnApprover {
        /// The run.
        run_id: String,
        /// Who tried.
        approver: String,
        /// Who may.
        approvers: Vec<String>,
    },
    /// Someone answered first; the first answer stands.
    #[error("run {run_id} was already {} by {by}; the first answer stands", if *.approved { "approved" } else { "refused" })]
    AlreadyAnswered {
        /// The run.
        run_id: String,
        /// Who answered first.
        by: String,
        /// What they answered.
        approved: bool,
    },
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

    /// Answers the run's pending request. The first answer wins: it is
    /// written whole to a file of its own and linked into place, which
    /// fails when an answer is already there, so a later `approve` can never
    /// overwrite a `reject` (or the reverse), and the waiting run never
    /// reads half an answer.
    ///
    /// An answer belongs to one request: it carries the request's nonce, and
    /// is refused when the request expired or the run's process is gone
    /// (nothing holds its journal), so it can never approve a later resume.
    pub fn answer(&self, run_id: &str, answer: &AnswerFile) -> Result<(), MailboxError> {
        let (request, answer_path) = self.files(run_id);
        let pending = match self.pending(run_id) {
            Pending::Live(pending) => pending,
            Pending::Missing => return Err(MailboxError::NotWaiting(run_id.to_owned())),
            Pending::Unreadable => return Err(MailboxError::Stale(run_id.to_owned())),
            Pending::Dead => {
                let _ = std::fs::remove_file(&request);
                return Err(MailboxError::Stale(run_id.to_owned()));
            }
        };
        let approvers = pending.request.approvers;
        if !approvers.is_empty() && !approvers.contains(&answer.approver) {
            return Err(MailboxError::NotAnApprover {
                run_id: run_id.to_owned(),
                approver: answer.approver.clone(),
                approvers,
            });
        }
        let draft = self.dir.join(format!(
            "{run_id}.answer.{}.{}.tmp",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        let answer = AnswerFile {
            nonce: Some(pending.nonce),
            ..answer.clone()
        };
        let text = serde_json::to_vec(&answer).unwrap_or_default();
        std::fs::write(&draft, text).map_err(|e| MailboxError::io(&draft, e))?;
        let linked = std::fs::hard_link(&draft, &answer_path);
        let _ = std::fs::remove_file(&draft);
        match linked {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let first = std::fs::read_to_string(&answer_path)
                    .ok()
                    .and_then(|t| serde_json::from_str::<AnswerFile>(&t).ok());
                Err(MailboxError::AlreadyAnswered {
                    run_id: run_id.to_owned(),
                    by: first
                        .as_ref()
                        .map_or_else(|| "someone".into(), |a| a.approver.clone()),
                    approved: first.is_some_and(|a| a.approve),
                })
            }
            Err(e) => Err(MailboxError::io(&answer_path, e)),
        }
    }

    /// Who may answer the request `run_id` is waiting on (empty: anyone),
    /// when it is waiting: a live request whose run a process drives.
    pub fn waiting(&self, run_id: &str) -> Option<Vec<String>> {
        match self.pending(run_id) {
            Pending::Live(pending) => Some(pending.request.approvers),
            Pending::Missing | Pending::Unreadable | Pending::Dead => None,
        }
    }

    /// The run's request, and whether anyone still waits for its answer:
    /// it has not expired, and a process holds the run's journal.
    fn pending(&self, run_id: &str) -> Pending {
        let (request, _) = self.files(run_id);
        let Ok(text) = std::fs::read(request) else {
            return Pending::Missing;
        };
        match serde_json::from_slice::<Request>(&text) {
            Ok(r) if r.expires_at_ms >= plug_core::event::now_ms() && self.driven(run_id) => {
                Pending::Live(r)
            }
            Ok(_) => Pending::Dead,
            Err(_) => Pending::Unreadable,
        }
    }

    /// Whether a process holds the run's journal (and so may be waiting).
    fn driven(&self, run_id: &str) -> bool {
        let state = self.dir.parent().unwrap_or(&self.dir);
        plug_core::RunId::new(run_id).is_ok_and(|id| {
            plug_skill::journal::is_driven(&plug_skill::journal::Journal::path_for(state, &id))
        })
    }

    /// Leaves `request` and waits up to `timeout` for its answer. An answer
    /// left over from an earlier request is dropped first, and only an
    /// answer carrying this request's nonce is taken.
    pub async fn wait(&self, request: &ApprovalRequest, timeout: Duration) -> ApprovalAnswer {
        let (request_path, answer_path) = self.files(request.run_id.as_str());
        let _ = std::fs::remove_file(&answer_path);
        let pending = Request {
            request: request.clone(),
            nonce: uuid::Uuid::new_v4().simple().to_string(),
            expires_at_ms: plug_core::event::now_ms()
                .saturating_add(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX)),
        };
        let written = std::fs::create_dir_all(&self.dir).and_then(|()| {
            std::fs::write(
                &request_path,
                serde_json::to_vec_pretty(&pending).unwrap_or_default(),
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
                // The request goes first: from now on `approve` and `reject`
                // say nothing is waiting; the answer stays until it is read.
                let _ = std::fs::remove_file(&request_path);
                let _ = std::fs::remove_file(&answer_path);
                return serde_json::from_str::<AnswerFile>(&text)
                    .ok()
                    .filter(|a| a.nonce.as_deref() == Some(pending.nonce.as_str()))
                    .map_or(ApprovalAnswer::Unanswered, |a| a.to_answer());
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
