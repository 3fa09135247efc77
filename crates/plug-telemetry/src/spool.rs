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

/// A temporary spool file this old was left by a process that died.
pub const STALE_TEMP: std::time::Duration = std::time::Duration::from_secs(600);

/// Writes `bytes` to a new owner-only file (spooled log events carry run
/// details, like the audit log) and syncs it.
fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_data()
}

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
        let written = write_synced(&tmp, &bytes).and_then(|()| std::fs::rename(&tmp, &path));
        if let Err(e) = written {
            // A full disk leaves half a file: never let it linger or be sent.
            let _ = std::fs::remove_file(&tmp);
            return Err(self.error(&tmp)(e));
        }
        Ok(path)
    }

    /// Removes temporary files older than [`STALE_TEMP`]: what a process
    /// killed between writing and renaming left behind. Called under the
    /// spool's lock; a young one may be another process's `put` in flight.
    pub fn sweep_temporaries(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let now = std::time::SystemTime::now();
        for entry in entries.filter_map(Result::ok) {
            let is_temp = entry
                .file_name()
                .to_str()
                .is_some_and(|n| n.starts_with('.') && n.ends_with(".tmp"));
            let age = (entry.metadata().ok())
                .and_then(|m| m.modified().ok())
                .and_then(|at| now.duration_since(at).ok());
            if is_temp && age.is_some_and(|age| age > STALE_TEMP) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
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

    /// Reads one pending file. A file that cannot be read or does not
    /// parse is moved to `dead/`, so one bad file never blocks the others.
    /// In a file of log lines only the lines that do not parse are
    /// dropped (and kept in `dead/` with the reason): the rest are sent.
    pub fn read(&self, path: &Path) -> Result<Option<Pending>, SpoolError> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                self.bury(path, &format!("unreadable: {e}"))?;
                return Ok(None);
            }
        };
        match decode(&bytes) {
            Ok((pending, bad)) if bad.is_empty() => Ok(Some(pending)),
            Ok((Pending::Logs(batch), _)) if batch.events.is_empty() => {
                self.bury(path, "no event line could be read")?;
                Ok(None)
            }
            Ok((pending, bad)) => {
                self.keep_bad_lines(path, &bad)?;
                Ok(Some(pending))
            }
            Err(e) => {
                self.bury(path, &format!("unreadable: {e}"))?;
                Ok(None)
            }
        }
    }

    /// Keeps the lines of `path` that did not parse in `dead/`.
    fn keep_bad_lines(&self, path: &Path, bad: &[BadLine]) -> Result<(), SpoolError> {
        let dead = self.dir.join("dead");
        std::fs::create_dir_all(&dead).map_err(self.error(&dead))?;
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let target = dead.join(format!("{name}.bad-lines"));
        let mut text = Vec::new();
        for line in bad {
            let _ = writeln!(text, "line {}: {}", line.number, line.reason);
            text.extend_from_slice(&line.bytes);
            text.push(b'\n');
        }
        write_synced(&target, &text).map_err(self.error(&target))
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

/// A line of a log-lines file that does not parse.
#[derive(Debug)]
struct BadLine {
    /// Its line number in the file, from 1.
    number: usize,
    reason: String,
    bytes: Vec<u8>,
}

/// Reads what [`encode`] wrote, with the event lines that did not parse.
fn decode(bytes: &[u8]) -> Result<(Pending, Vec<BadLine>), String> {
    let mut lines = bytes.split(|&b| b == b'\n');
    let first = lines.next().unwrap_or_default();
    let Ok(header) = serde_json::from_slice::<LogLinesHeader>(first) else {
        let pending = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        return Ok((pending, Vec::new()));
    };
    let (mut events, mut bad) = (Vec::new(), Vec::new());
    for (n, line) in lines.enumerate() {
        match decode_event(line) {
            Ok(event) => events.push(event),
            Err(reason) => bad.push(BadLine {
                number: n + 2,
                reason,
                bytes: line.to_vec(),
            }),
        }
    }
    let batch = LogBatch {
        group: header.group,
        stream: header.stream,
        events,
    };
    Ok((Pending::Logs(batch), bad))
}

/// One `<timestamp_ms> <message>` line.
fn decode_event(line: &[u8]) -> Result<crate::logs::LogEvent, String> {
    let line = std::str::from_utf8(line).map_err(|e| e.to_string())?;
    let (at, message) = line.split_once(' ').ok_or("no timestamp")?;
    let timestamp_ms = at.parse().map_err(|e| format!("timestamp: {e}"))?;
    Ok(crate::logs::LogEvent {
        timestamp_ms,
        message: message.to_owned(),
    })
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

    /// Durability issue, item 2: one damaged line in a spooled log call
    /// costs that line, not the whole call, and is kept for inspection.
    #[test]
    fn a_damaged_log_line_is_set_aside_and_the_rest_delivered() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = Spool::new(dir.path());
        let path = spool
            .put(&log_batch(&["one", "two", "three"]), 1)
            .expect("put");
        let text = std::fs::read_to_string(&path).expect("read");
        std::fs::write(&path, text.replace("1700000000001 two", "17000\u{0}")).expect("damage");
        let Some(Pending::Logs(batch)) = spool.read(&path).expect("read") else {
            panic!("the call is still delivered");
        };
        let messages: Vec<&str> = batch.events.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(messages, ["one", "three"]);
        let kept = std::fs::read_to_string(dir.path().join("dead").join(format!(
            "{}.bad-lines",
            path.file_name().expect("name").to_string_lossy()
        )))
        .expect("the bad line is kept");
        assert!(kept.starts_with("line 3: "), "{kept}");
    }

    /// A process killed between writing and renaming leaves a temporary
    /// file: it is never listed, and a sweep removes it once it is stale.
    #[test]
    fn stale_temporaries_are_swept_and_young_ones_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = Spool::new(dir.path());
        let old = dir.path().join(".0000000000001-a.json.tmp");
        let young = dir.path().join(".0000000000002-b.json.tmp");
        std::fs::write(&old, b"{\"kind\":").expect("old");
        std::fs::write(&young, b"{\"kind\":").expect("young");
        let long_ago = std::time::SystemTime::now() - STALE_TEMP * 2;
        std::fs::File::options()
            .write(true)
            .open(&old)
            .and_then(|f| f.set_modified(long_ago))
            .expect("age");
        assert!(spool.pending().expect("list").is_empty());
        spool.sweep_temporaries();
        assert!(!old.exists(), "the stale temporary is gone");
        assert!(young.exists(), "a put in flight is left alone");
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
