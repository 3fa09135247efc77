//! The disk spool: every batch bound for a remote sink is written here
//! *before* it is sent and removed only once the service accepted it, so a
//! sink that is down, a crash, or a killed process loses nothing.
//!
//! One file holds exactly one API call's worth (one PutMetricData or one
//! PutLogEvents), so a file is either delivered whole or not at all: that is
//! what makes "every event arrives exactly once" checkable.

use std::fs::File;
use std::io::Write as _;
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
        let bytes = serde_json::to_vec(pending).map_err(|e| SpoolError {
            path: tmp.clone(),
            source: std::io::Error::other(e),
        })?;
        let mut file = File::create(&tmp).map_err(self.error(&tmp))?;
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
        match serde_json::from_slice(&bytes) {
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
