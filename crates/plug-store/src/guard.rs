//! The store's advisory lock: one writer at a time, readers wait for it.
//!
//! `install`, `update`, `remove`, `config set` and `marketplace add` hold it
//! exclusively from their first read of the lock file to their last write,
//! so two plugctl processes never interleave a read-modify-write of
//! `plugctl.lock` or swap a plugin folder under each other. `resolve` holds
//! it shared: the folder and its digest in the lock change together, and a
//! reader between the two would see a tree that does not match. The lock is
//! a separate file because `plugctl.lock` is replaced by a rename on every
//! write, and a lock on a replaced file guards nothing.

use std::fs::File;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::StoreError;

/// The file the lock is taken on, in the store's folder.
const GUARD_FILE: &str = ".store-lock";

/// A held store lock; dropping it (closing the file) releases it.
#[derive(Debug)]
pub(crate) struct StoreGuard {
    _file: File,
}

impl StoreGuard {
    /// Waits (at most [`LOCK_WAIT`]) for and takes the lock for writing.
    pub(crate) fn exclusive(root: &Path) -> Result<StoreGuard, StoreError> {
        Self::take(root, File::try_lock, LOCK_WAIT)
    }

    /// Waits (at most [`LOCK_WAIT`]) for and takes the lock for reading
    /// (many readers at once).
    pub(crate) fn shared(root: &Path) -> Result<StoreGuard, StoreError> {
        Self::take(root, File::try_lock_shared, LOCK_WAIT)
    }

    /// Tries `lock` until it succeeds or `wait` has passed: a process stuck
    /// with the lock (a hung install) gives the others a clear error, not
    /// a hang of their own.
    fn take(
        root: &Path,
        lock: fn(&File) -> Result<(), std::fs::TryLockError>,
        wait: Duration,
    ) -> Result<StoreGuard, StoreError> {
        let (file, path) = open(root)?;
        let deadline = Instant::now() + wait;
        loop {
            match lock(&file) {
                Ok(()) => return Ok(StoreGuard { _file: file }),
                Err(std::fs::TryLockError::Error(e)) => return Err(StoreError::io(&path)(e)),
                Err(std::fs::TryLockError::WouldBlock) if Instant::now() >= deadline => {
                    let seconds = wait.as_secs();
                    return Err(StoreError::Busy { path, seconds });
                }
                Err(std::fs::TryLockError::WouldBlock) => std::thread::sleep(RETRY),
            }
        }
    }
}

/// How long a store operation waits for another one to finish.
pub const LOCK_WAIT: Duration = Duration::from_secs(30);
/// How often the lock is tried again meanwhile.
const RETRY: Duration = Duration::from_millis(20);

fn open(root: &Path) -> Result<(File, std::path::PathBuf), StoreError> {
    std::fs::create_dir_all(root).map_err(StoreError::io(root))?;
    let path = root.join(GUARD_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(StoreError::io(&path))?;
    Ok((file, path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Barrier};
    use std::time::Duration;

    #[test]
    fn a_writer_waits_for_the_writer_before_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = StoreGuard::exclusive(dir.path()).expect("lock");
        let released = Arc::new(AtomicBool::new(false));
        let barrier = Arc::new(Barrier::new(2));
        let root = dir.path().to_path_buf();
        let (seen, ready) = (Arc::clone(&released), Arc::clone(&barrier));
        let waiter = std::thread::spawn(move || {
            ready.wait();
            let _second = StoreGuard::exclusive(&root).expect("lock");
            seen.load(Ordering::SeqCst)
        });
        barrier.wait();
        std::thread::sleep(Duration::from_millis(100));
        released.store(true, Ordering::SeqCst);
        drop(first);
        assert!(
            waiter.join().expect("thread"),
            "the second writer got the lock before the first released it"
        );
    }

    /// Hardening issue, item 13: a store held by a stuck process is a
    /// clear error after the wait, not a hang.
    #[test]
    fn a_lock_held_too_long_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let _held = StoreGuard::exclusive(dir.path()).expect("lock");
        let waited = StoreGuard::take(dir.path(), File::try_lock, Duration::from_millis(100));
        let Err(StoreError::Busy { path, .. }) = waited else {
            panic!("expected Busy, got {waited:?}");
        };
        assert_eq!(path, dir.path().join(GUARD_FILE));
    }
}
