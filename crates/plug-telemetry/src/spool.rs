//! The disk spool: every batch bound for a remote sink is written here
//! *before* it is sent and removed only once the service accepted it, so a
//! sink that is down, a crash, or a killed process loses nothing.
//!
//! One file holds exactly one API call's worth (one PutMetricData or one
//! PutLogEvents), so a file is either delivered whole or not at all: that is
//! what makes "every event arrives exactly once" checkable.

use std::fs::File;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::logs::LogBatch;
use crate::metrics::Datum;

/// One pending API call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Pending {
    /// A PutMetricData call.
    Metrics {
        /// The datums, at most the API's limit.
        data: Vec<Datum>,
    },
    /// A PutLogEvents call.
    Logs(LogBatch),
}

/// Why the spool could not be used.
#[derive(Debug, thiserror::Error)]
#[error("telemetry spool {path}: {source}")]
pub struct SpoolError {
    /// The file or folder.
    pub path: PathBuf,
    /// The OS error.
    pub source: std::io::Error,
}

/// A spool folder: `<dir>/<millis>-<uuid>.json` per pending call, `dead/` for
/// calls the service rejected for good (kept for an operator to inspect).
#[derive(Debug, Clone)]
pub struct Spool {
    dir: PathBuf,
}

/// An exclusive hold on a spool: two processes never send the same file.
#[derive(Debug)]
pub struct SpoolLock {
    _file: File,
}

impl Spool {
    /// The spool at `dir` (created on first write).
    pub fn new(dir: &Path) -> Self {
        Spool {
            dir: dir.to_path_buf(),
        }
    }

    /// Its folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn error(&self, path: &Path) -> impl Fn(std::io::Error) -> SpoolError {
        let path = path.to_path_buf();
        move |source| SpoolError {
            path: path.clone(),
            source,
        }
    }

    /// Writes one pending call durably (temp file, fsync, rename).
    pub fn put(&self, pending: &Pending, at_ms: u64) -> Result<PathBuf, SpoolError> {
        std::fs::create_dir_all(&self.dir).map_err(self.error(&self.dir))?;
        let name = format!("{at_ms:013}-{}.json", uuid::Uuid::new_v4().simple());
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let path = self.dir.join(name);
        let bytes = encode(pending).map_err(|e| SpoolError {
            path: tmp.clone(),
            source: std::io::Error::other(e),
        })?;
        // Owner-only, like the audit log: spooled log events carry run details.
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(self.error(&tmp))?;
        file.write_all(&bytes).map_err(self.error(&tmp))?;
        file.sync_data().map_err(self.error(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(self.error(&path))?;
        Ok(path)
    }

    /// The pending files, oldest first. A missing folder is an empty spool.
    pub fn pending(&self) -> Result<Vec<PathBuf>, SpoolError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.error(&self.dir)(e)),
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.extension().is_some_and(|x| x == "json")
                    && p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| !n.starts_with('.'))
            })
            .collect();
        files.sort();
        Ok(files)
    }

    /// Reads one pending file. A file that does not parse is moved to `dead/`.
    pub fn read(&self, path: &Path) -> Result<Option<Pending>, SpoolError> {
        let bytes = std::fs::read(path).map_err(self.error(path))?;
        match decode(&bytes) {
            Ok(pending) => Ok(Some(pending)),
            Err(e) => {
                self.bury(path, &format!("unreadable: {e}"))?;
                Ok(None)
            }
        }
    }

    /// Removes a delivered file.
    pub fn remove(&self, path: &Path) -> Result<(), SpoolError> {
        std::fs::remove_file(path).map_err(self.error(path))
    }

    /// Moves a file the service rejected for good to `dead/`, with the reason beside it.
    pub fn bury(&self, path: &Path, reason: &str) -> Result<(), SpoolError> {
        let dead = self.dir.join("dead");
        std::fs::create_dir_all(&dead).map_err(self.error(&dead))?;
        let Some(name) = path.file_name() else {
            return Ok(());
        };
        let target = dead.join(name);
        std::fs::rename(path, &target).map_err(self.error(&target))?;
        let note = target.with_extension("reason.txt");
        std::fs::write(&note, reason).map_err(self.error(&note))
    }

    /// The files in `dead/`.
    pub fn dead(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.join("dead"))
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        files
    }

    /// Takes the spool's lock, or `None` while another process holds it.
    pub fn try_lock(&self) -> Result<Option<SpoolLock>, SpoolError> {
        std::fs::create_dir_all(&self.dir).map_err(self.error(&self.dir))?;
        let path = self.dir.join(".lock");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(self.error(&path))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(SpoolLock { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(self.error(&path)(e)),
        }
    }
}

/// The first line of a PutLogEvents call spooled as lines.
#[derive(Serialize, Deserialize)]
struct LogLinesHeader {
    kind: LogLinesKind,
    group: String,
    stream: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum LogLinesKind {
    LogLines,
}

/// A pending call as file content. A PutLogEvents call whose messages are
/// single lines (run events always are) is written as a header line and
/// then `<timestamp_ms> <message>` per event: messages are JSON records,
/// and embedding them as JSON strings would escape every quote of a run's
/// thousands of events. Anything else is one JSON document.
fn encode(pending: &Pending) -> Result<Vec<u8>, serde_json::Error> {
    match pending {
        Pending::Logs(batch) if !batch.events.iter().any(|e| e.message.contains('\n')) => {
            let mut bytes = serde_json::to_vec(&LogLinesHeader {
                kind: LogLinesKind::LogLines,
                group: batch.group.clone(),
                stream: batch.stream.clone(),
            })?;
            for event in &batch.events {
                // Writing to a Vec cannot fail.
                let _ = write!(bytes, "\n{} ", event.timestamp_ms);
                bytes.extend_from_slice(event.message.as_bytes());
            }
            Ok(bytes)
        }
        _ => serde_json::to_vec(pending),
    }
}

/// Reads what [`encode`] wrote.
fn decode(bytes: &[u8]) -> Result<Pending, String> {
    let mut lines = bytes.split(|&b| b == b'\n');
    let first = lines.next().unwrap_or_default();
    let Ok(header) = serde_json::from_slice::<LogLinesHeader>(first) else {
        return serde_json::from_slice(bytes).map_err(|e| e.to_string());
    };
    let events = lines
        .enumerate()
        .map(|(n, line)| {
            let line = std::str::from_utf8(line).map_err(|e| format!("event {n}: {e}"))?;
            let (at, message) = line
                .split_once(' ')
                .ok_or_else(|| format!("event {n}: no timestamp"))?;
            let timestamp_ms = at.parse().map_err(|e| format!("event {n}: {e}"))?;
            Ok(crate::logs::LogEvent {
                timestamp_ms,
                message: message.to_owned(),
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(Pending::Logs(LogBatch {
        group: header.group,
        stream: header.stream,
        events,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_then_pending_in_order_then_remove() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = Spool::new(dir.path());
        let a = spool
            .put(&Pending::Metrics { data: vec![] }, 2)
            .expect("put");
        let b = spool
            .put(&Pending::Metrics { data: vec![] }, 1)
            .expect("put");
        assert_eq!(spool.pending().expect("list"), vec![b.clone(), a.clone()]);
        assert_eq!(
            spool.read(&a).expect("read"),
            Some(Pending::Metrics { data: vec![] })
        );
        spool.remove(&a).expect("remove");
        assert_eq!(spool.pending().expect("list"), vec![b]);
    }

    fn log_batch(messages: &[&str]) -> Pending {
        Pending::Logs(LogBatch {
            group: "/plugctl/runs".into(),
            stream: "p/s/r1".into(),
            events: messages
                .iter()
                .enumerate()
                .map(|(i, m)| crate::logs::LogEvent {
                    timestamp_ms: 1_700_000_000_000 + i as u64,
                    message: (*m).to_owned(),
                })
                .collect(),
        })
    }

    #[test]
    fn log_calls_are_spooled_as_lines_and_read_back_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = Spool::new(dir.path());
        let pending = log_batch(&[r#"{"event":"run_started","x":"a b"}"#, "", "plain text"]);
        let path = spool.put(&pending, 1).expect("put");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(
            text.ends_with("\n1700000000000 {\"event\":\"run_started\",\"x\":\"a b\"}\n1700000000001 \n1700000000002 plain text"),
            "{text}"
        );
        assert_eq!(spool.read(&path).expect("read"), Some(pending));
    }

    #[test]
    fn a_message_with_a_newline_is_spooled_as_json() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = Spool::new(dir.path());
        let pending = log_batch(&["two\nlines"]);
        let path = spool.put(&pending, 1).expect("put");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.starts_with(r#"{"kind":"logs""#), "{text}");
        assert_eq!(spool.read(&path).expect("read"), Some(pending));
    }

    proptest::proptest! {
        /// Whatever a log call holds, the spool gives back the same call.
        #[test]
        fn any_log_call_survives_the_spool(
            messages in proptest::collection::vec(".*", 0..20),
            group in ".*",
            stream in ".*",
        ) {
            let dir = tempfile::tempdir().expect("tempdir");
            let spool = Spool::new(dir.path());
            let refs: Vec<&str> = messages.iter().map(String::as_str).collect();
            let Pending::Logs(mut batch) = log_batch(&refs) else { unreachable!() };
            batch.group = group;
            batch.stream = stream;
            let pending = Pending::Logs(batch);
            let path = spool.put(&pending, 1).expect("put");
            proptest::prop_assert_eq!(spool.read(&path).expect("read"), Some(pending));
        }
    }

    #[test]
    fn garbage_is_buried_not_retried_forever() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = Spool::new(dir.path());
        let path = dir.path().join("0000000000001-x.json");
        std::fs::write(&path, b"{not json").expect("write");
        assert_eq!(spool.read(&path).expect("read"), None);
        assert!(spool.pending().expect("list").is_empty());
        assert_eq!(spool.dead().len(), 1);
    }

    #[test]
    fn the_lock_is_exclusive() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = Spool::new(dir.path());
        let held = spool.try_lock().expect("lock");
        assert!(held.is_some());
        assert!(spool.try_lock().expect("lock").is_none());
        drop(held);
        assert!(spool.try_lock().expect("lock").is_some());
    }
}
