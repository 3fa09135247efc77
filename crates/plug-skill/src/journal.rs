//! The run journal: every transition of a run, appended as one JSON line and
//! synced to disk before the run moves on, so a run whose process died can be
//! resumed after its last completed step with the earlier outputs restored.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use plug_core::{Actor, RunId, Value};
use serde::{Deserialize, Serialize};

use crate::engine::StepOutcome;
use crate::template::StepResult;

/// One journal line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "entry", rename_all = "snake_case")]
pub enum Entry {
    /// The run began; enough to start it again.
    Started {
        /// The run.
        run_id: RunId,
        /// Where the plugin was loaded from.
        plugin_root: PathBuf,
        /// Plugin name.
        plugin: String,
        /// Skill name.
        skill: String,
        /// Who it acts for.
        actor: Actor,
        /// Params; sensitive ones are left out and must be given again on resume.
        params: BTreeMap<String, serde_json::Value>,
        /// Names of the params left out.
        sensitive: Vec<String>,
        /// Operator configuration values (non-sensitive).
        config: BTreeMap<String, String>,
        /// The working directory.
        workdir: PathBuf,
        /// What of deny-by-default the run waived (absent: nothing).
        #[serde(default, skip_serializing_if = "plug_core::Governance::is_default")]
        governance: plug_core::Governance,
        /// When, in ms since the epoch.
        at_ms: u64,
    },
    /// A human approved: the rest of the run acts as them.
    ActorChanged {
        /// The new actor.
        actor: Actor,
        /// Who approved.
        approver: String,
    },
    /// A step began (an attempt).
    StepStarted {
        /// Position in the skill.
        index: usize,
        /// Name.
        name: String,
        /// 1 for the first attempt.
        attempt: u32,
    },
    /// A step ended.
    StepFinished {
        /// Position in the skill.
        index: usize,
        /// Name.
        name: String,
        /// How.
        outcome: StepOutcome,
        /// The action's result (bytes tagged, see [`to_tagged`]).
        result: serde_json::Value,
        /// Named outputs.
        outputs: BTreeMap<String, serde_json::Value>,
        /// The error, for failed steps.
        error: Option<String>,
    },
    /// The run ended (or was interrupted).
    Finished {
        /// `succeeded`, `failed`, `denied`, `approval_refused`, `blocked`, `interrupted`.
        state: String,
        /// Why, when it did not succeed.
        reason: Option<String>,
    },
}

/// Why the journal could not be used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Reading or writing failed.
    #[error("run journal {path}: {source}")]
    Io {
        /// The journal file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Another process drives the run (it holds the journal's lock).
    #[error("run {run_id} is in progress{}; wait for it to end (or stop it) before resuming", .pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Busy {
        /// The run.
        run_id: String,
        /// The process driving it, when it said.
        pid: Option<u32>,
    },
    /// A line's seal does not verify: the journal was edited (or written
    /// by another plugctl state folder), so it cannot be trusted to resume.
    #[error(
        "run journal {path}, line {line}: its seal does not verify (the journal was edited, or comes from another state folder); it cannot be resumed"
    )]
    Tampered {
        /// The journal file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
    },
    /// A line is not a journal entry.
    #[error("run journal {path}, line {line}: {reason}")]
    Corrupt {
        /// The journal file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// Parser message.
        reason: String,
    },
}

/// Where a run's entries go, as the interpreter writes them: the local
/// [`Journal`] file, or a store a fleet shares (plug-fleet's DynamoDB run
/// table). An entry that cannot be written stops the run.
#[async_trait::async_trait]
pub trait RunLog: Send {
    /// Records `entry` durably before returning.
    async fn append(&mut self, entry: &Entry) -> Result<(), JournalError>;
}

#[async_trait::async_trait]
impl RunLog for Journal {
    async fn append(&mut self, entry: &Entry) -> Result<(), JournalError> {
        Journal::append(self, entry)
    }
}

/// An open journal, appended to as the run goes. It holds an exclusive
/// lock on the file for as long as it is open (the kernel drops it when the
/// process dies), so one process at a time drives a run.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    seal: seal::Seal,
}

mod seal;

/// Whether a process holds the journal at `path` (drives its run): the
/// kernel's lock says so, and it dies with the process.
pub fn is_driven(path: &Path) -> bool {
    File::open(path).is_ok_and(|f| matches!(f.try_lock(), Err(std::fs::TryLockError::WouldBlock)))
}

/// Takes the journal's lock, or says who holds it. The holder's pid is kept
/// beside the journal, for the message only: the lock itself is the kernel's.
fn lock(file: &File, path: &Path, run_id: &RunId) -> Result<(), JournalError> {
    // `<state>/drivers/<run-id>.pid`, next to `<state>/runs/`.
    let drivers = path
        .parent()
        .and_then(Path::parent)
        .map(|s| s.join("drivers"));
    let pid_file = drivers.as_ref().map(|d| d.join(format!("{run_id}.pid")));
    match file.try_lock() {
        Ok(()) => {
            if let (Some(dir), Some(pid_file)) = (&drivers, &pid_file) {
                let _ = std::fs::create_dir_all(dir);
                let _ = std::fs::write(pid_file, std::process::id().to_string());
            }
            Ok(())
        }
        Err(std::fs::TryLockError::WouldBlock) => Err(JournalError::Busy {
            run_id: run_id.to_string(),
            pid: pid_file
                .and_then(|f| std::fs::read_to_string(f).ok())
                .and_then(|t| t.trim().parse().ok()),
        }),
        Err(std::fs::TryLockError::Error(source)) => Err(JournalError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

impl Journal {
    /// Where a run's journal lives under the state directory.
    pub fn path_for(state_dir: &Path, run_id: &RunId) -> PathBuf {
        state_dir.join("runs").join(format!("{run_id}.jsonl"))
    }

    /// Creates the journal of a new run.
    pub fn create(state_dir: &Path, run_id: &RunId) -> Result<Self, JournalError> {
        let path = Self::path_for(state_dir, run_id);
        let io = |source| JournalError::Io {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        // Owner-only: a journal holds the run's params and step results.
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .mode(0o600)
            .open(&path)
            .map_err(io)?;
        lock(&file, &path, run_id)?;
        let seal = seal::Seal::for_run(state_dir, run_id.as_str()).map_err(io)?;
        Ok(Journal { path, file, seal })
    }

    /// Opens an existing journal to continue it; returns its entries too.
    pub fn reopen(state_dir: &Path, run_id: &RunId) -> Result<(Self, Vec<Entry>), JournalError> {
        let path = Self::path_for(state_dir, run_id);
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&path)
            .map_err(|source| JournalError::Io {
                path: path.clone(),
                source,
            })?;
        // Locked before reading: what is read is what nobody else appends to.
        lock(&file, &path, run_id)?;
        let text = read_cutting_torn_tail(&file).map_err(|source| JournalError::Io {
            path: path.clone(),
            source,
        })?;
        let seal =
            seal::Seal::for_run(state_dir, run_id.as_str()).map_err(|source| JournalError::Io {
                path: path.clone(),
                source,
            })?;
        let (seal, entries) = verified(&path, &text, seal)?;
        Ok((Journal { path, file, seal }, entries))
    }

    /// The journal's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one entry and syncs it to disk before returning.
    pub fn append(&mut self, entry: &Entry) -> Result<(), JournalError> {
        let io = |source| JournalError::Io {
            path: self.path.clone(),
            source,
        };
        let entry = serde_json::to_vec(entry).map_err(|e| io(std::io::Error::other(e)))?;
        let mut line = self.seal.seal(&entry);
        line.push(b'\n');
        self.file.write_all(&line).map_err(io)?;
        self.file.sync_data().map_err(io)
    }
}

/// Reads the journal through its open handle, cutting a last line the
/// process died writing (no newline at the end), so the next entry starts on
/// a line of its own instead of gluing onto it. Nothing of a finished entry
/// is lost: `parse` ignores such a line anyway.
fn read_cutting_torn_tail(file: &File) -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    let mut reader = file;
    reader.read_to_end(&mut bytes)?;
    let keep = bytes
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |at| at + 1);
    if keep < bytes.len() {
        file.set_len(keep as u64)?;
        bytes.truncate(keep);
    }
    String::from_utf8(bytes).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// Reads every entry of a journal file. A torn last line (the process died
/// mid-write) is ignored; corruption anywhere else is an error.
pub fn read(path: &Path) -> Result<Vec<Entry>, JournalError> {
    let text = std::fs::read_to_string(path).map_err(|source| JournalError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &text)
}

/// The entries of a journal being resumed, each line's seal verified in
/// order; the seal to go on with.
fn verified(
    path: &Path,
    text: &str,
    mut seal: seal::Seal,
) -> Result<(seal::Seal, Vec<Entry>), JournalError> {
    for (i, line) in text.lines().enumerate() {
        if !seal.verify(line) {
            return Err(JournalError::Tampered {
                path: path.to_path_buf(),
                line: i + 1,
            });
        }
    }
    Ok((seal, parse(path, text)?))
}

/// The entries of a journal's text (see [`read`]).
fn parse(path: &Path, text: &str) -> Result<Vec<Entry>, JournalError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut entries = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        match serde_json::from_str(line) {
            Ok(entry) => entries.push(entry),
            Err(_) if i + 1 == lines.len() => break,
            Err(e) => {
                return Err(JournalError::Corrupt {
                    path: path.to_path_buf(),
                    line: i + 1,
                    reason: e.to_string(),
                });
            }
        }
    }
    Ok(entries)
}

/// What a resumed run starts from.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Resume {
    /// Results of the steps that finished, by index.
    pub completed: BTreeMap<usize, (StepOutcome, StepResult)>,
    /// The actor and approver, when a human approved earlier.
    pub approved_by: Option<String>,
}

impl Resume {
    /// Rebuilds the state of a run from its entries. A failed step counts as
    /// done only if the run went past it (`on_failure: continue`); the step
    /// that aborted a run is tried again.
    pub fn from_entries(entries: &[Entry]) -> Self {
        let mut resume = Resume::default();
        for (position, entry) in entries.iter().enumerate() {
            match entry {
                Entry::StepFinished {
                    index,
                    outcome: StepOutcome::Failed,
                    ..
                } if !went_past(&entries[position..], *index) => {}
                Entry::ActorChanged { approver, .. } => resume.approved_by = Some(approver.clone()),
                Entry::StepFinished {
                    index,
                    name,
                    outcome,
                    result,
                    outputs,
                    ..
                } => {
                    let outputs = outputs
                        .iter()
                        .map(|(k, v)| (k.clone(), from_tagged(v)))
                        .collect();
                    let step = StepResult {
                        name: name.clone(),
                        result: from_tagged(result),
                        outputs,
                    };
                    resume.completed.insert(*index, (*outcome, step));
                }
                _ => {}
            }
        }
        resume
    }
}

/// Whether a later step started after this point.
fn went_past(rest: &[Entry], index: usize) -> bool {
    rest.iter()
        .any(|e| matches!(e, Entry::StepStarted { index: later, .. } if *later > index))
}

/// JSON that keeps bytes as bytes: `{"$bytes": "<base64>"}`.
pub fn to_tagged(value: &Value) -> serde_json::Value {
    match value {
        Value::Bytes(bytes) => {
            serde_json::json!({ "$bytes": base64::engine::general_purpose::STANDARD.encode(bytes) })
        }
        Value::List(items) => items.iter().map(to_tagged).collect(),
        Value::Map(map) => {
            serde_json::Value::Object(map.iter().map(|(k, v)| (k.clone(), to_tagged(v))).collect())
        }
        other => other.to_json(),
    }
}

/// The inverse of [`to_tagged`].
pub fn from_tagged(json: &serde_json::Value) -> Value {
    match json {
        serde_json::Value::Object(map) if map.len() == 1 => {
            match map.get("$bytes").and_then(|b| b.as_str()) {
                Some(b64) => base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map(Value::Bytes)
                    .unwrap_or_else(|_| Value::from(json.clone())),
                None => Value::Map(
                    map.iter()
                        .map(|(k, v)| (k.clone(), from_tagged(v)))
                        .collect(),
                ),
            }
        }
        serde_json::Value::Object(map) => Value::Map(
            map.iter()
                .map(|(k, v)| (k.clone(), from_tagged(v)))
                .collect(),
        ),
        serde_json::Value::Array(items) => Value::List(items.iter().map(from_tagged).collect()),
        other => Value::from(other.clone()),
    }
}

/// One line of `plugctl runs`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    /// The run.
    pub run_id: RunId,
    /// Plugin name.
    pub plugin: String,
    /// Skill name.
    pub skill: String,
    /// `running` (or died), or the final state.
    pub state: String,
    /// Steps finished so far.
    pub steps_done: usize,
    /// Start time, ms since the epoch.
    pub started_ms: u64,
    /// What of deny-by-default the run waived.
    #[serde(skip_serializing_if = "plug_core::Governance::is_default")]
    pub governance: plug_core::Governance,
    /// The last step begun: for a run that did not end, the one it was in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_step: Option<String>,
    /// For a run waiting for an approval: who may give it (empty: anyone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_for: Option<Vec<String>>,
}

impl RunSummary {
    /// What a person needs beside the state, ` (...)`, or nothing: the
    /// waivers of deny-by-default, who may approve a waiting run, and the
    /// step an interrupted run was in.
    pub fn notes(&self) -> String {
        // The waivers read as one note, as `runs` has always shown them.
        let waived = self.governance.labels().join(",");
        let mut notes: Vec<String> = (!waived.is_empty()).then_some(waived).into_iter().collect();
        match (&self.waiting_for, self.state.as_str(), &self.last_step) {
            (Some(who), _, _) if !who.is_empty() => notes.push(format!("by {}", who.join(" or "))),
            (_, "interrupted", Some(step)) => notes.push(format!("in step {step}")),
            _ => {}
        }
        match notes.is_empty() {
            true => String::new(),
            false => format!(" ({})", notes.join(", ")),
        }
    }
}

/// Every run in the state directory, oldest first, and the journals that
/// could not be read (one bad journal never hides the others). A run with
/// no end whose journal nobody holds died with its process: it shows as
/// `interrupted`, and `resume` continues it.
pub fn list(state_dir: &Path) -> (Vec<RunSummary>, Vec<JournalError>) {
    let dir = state_dir.join("runs");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return (Vec::new(), Vec::new());
    };
    let mut runs = Vec::new();
    let mut unreadable = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "jsonl") {
            continue;
        }
        let journal = match read(&path) {
            Ok(journal) => journal,
            Err(e) => {
                unreadable.push(e);
                continue;
            }
        };
        let Some(Entry::Started {
            run_id,
            plugin,
            skill,
            at_ms,
            governance,
            ..
        }) = journal.first()
        else {
            continue;
        };
        let state = journal.iter().rev().find_map(|e| match e {
            Entry::Finished { state, .. } => Some(state.clone()),
            _ => None,
        });
        let steps_done = Resume::from_entries(&journal).completed.len();
        let last_step = journal.iter().rev().find_map(|e| match e {
            Entry::StepStarted { name, .. } => Some(name.clone()),
            _ => None,
        });
        runs.push(RunSummary {
            run_id: run_id.clone(),
            plugin: plugin.clone(),
            skill: skill.clone(),
            state: state.unwrap_or_else(|| {
                if is_driven(&path) {
                    "running"
                } else {
                    "interrupted"
                }
                .into()
            }),
            steps_done,
            started_ms: *at_ms,
            governance: governance.clone(),
            last_step,
            waiting_for: None,
        });
    }
    runs.sort_by_key(|r| r.started_ms);
    (runs, unreadable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_survive_the_journal() {
        let value = Value::Map(
            [
                ("zip".to_owned(), Value::Bytes(vec![0, 1, 255])),
                ("n".to_owned(), Value::from(serde_json::json!(3))),
            ]
            .into_iter()
            .collect(),
        );
        assert_eq!(from_tagged(&to_tagged(&value)), value);
    }

    #[test]
    fn a_torn_last_line_is_ignored_but_corruption_elsewhere_is_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let id = RunId::new("r1").expect("id");
        let mut journal = Journal::create(dir.path(), &id).expect("create");
        journal
            .append(&Entry::Finished {
                state: "succeeded".into(),
                reason: None,
            })
            .expect("append");
        let path = journal.path().to_path_buf();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(b"{\"entry\":\"step_sta"))
            .expect("torn write");
        assert_eq!(read(&path).expect("readable").len(), 1);
        std::fs::write(
            &path,
            "garbage\n{\"entry\":\"finished\",\"state\":\"x\",\"reason\":null}\n",
        )
        .expect("write");
        assert!(matches!(
            read(&path),
            Err(JournalError::Corrupt { line: 1, .. })
        ));
    }
}
