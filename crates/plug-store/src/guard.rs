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

use crate::error::StoreError;

/// The file the lock is taken on, in the store's folder.
const GUARD_FILE: &str = ".store-lock";

/// A held store lock; dropping it (closing the file) releases it.
#[derive(Debug)]
pub(crate) struct StoreGuard {
    _file: File,
}

impl StoreGuard {
    /// Waits for and takes the lock for writing.
    pub(crate) fn exclusive(root: &Path) -> Result<StoreGuard, StoreError> {
        let (file, path) = open(root)?;
        file.lock().map_err(StoreError::io(&path))?;
        Ok(StoreGuard { _file: file })
    }

    /// Waits for and takes the lock for reading (many readers at once).
    pub(crate) fn shared(root: &Path) -> Result<StoreGuard, StoreError> {
        let (file, path) = open(root)?;
        file.lock_shared().map_err(StoreError::io(&path))?;
        Ok(StoreGuard { _file: file })
    }
}

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
}
