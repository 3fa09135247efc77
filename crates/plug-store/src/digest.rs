//! The sha256 of a plugin tree: every entry's path relative to the root, its
//! kind, a file's executable bit and content (a symlink's target, unfollowed),
//! in sorted order and length-framed, so any added, removed, renamed or
//! edited file changes it. `.git` folders are not part of a plugin.

use std::fmt::Write as _;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::StoreError;

/// The tree digest of `root`, as lowercase hex.
pub fn tree_sha256(root: &Path) -> Result<String, StoreError> {
    let mut hasher = Sha256::new();
    walk(root, "", &mut hasher)?;
    let mut hex = String::with_capacity(64);
    for byte in hasher.finalize().iter() {
        let _ = write!(hex, "{byte:02x}");
    }
    Ok(hex)
}

fn walk(dir: &Path, prefix: &str, hasher: &mut Sha256) -> Result<(), StoreError> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(StoreError::io(dir))?
        .collect::<Result<_, _>>()
        .map_err(StoreError::io(dir))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == ".git" {
            continue;
        }
        let rel = format!("{prefix}{name}");
        let path = entry.path();
        let kind = entry.file_type().map_err(StoreError::io(&path))?;
        if kind.is_symlink() {
            let target = std::fs::read_link(&path).map_err(StoreError::io(&path))?;
            frame(hasher, b"l", &rel, target.to_string_lossy().as_bytes());
        } else if kind.is_dir() {
            frame(hasher, b"d", &rel, b"");
            walk(&path, &format!("{rel}/"), hasher)?;
        } else {
            let content = std::fs::read(&path).map_err(StoreError::io(&path))?;
            let tag: &[u8] = if executable(&path) { b"x" } else { b"f" };
            frame(hasher, tag, &rel, &content);
        }
    }
    Ok(())
}

fn frame(hasher: &mut Sha256, tag: &[u8], rel: &str, content: &[u8]) {
    hasher.update(tag);
    hasher.update((rel.len() as u64).to_le_bytes());
    hasher.update(rel.as_bytes());
    hasher.update((content.len() as u64).to_le_bytes());
    hasher.update(content);
}

#[cfg(unix)]
fn executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn executable(_path: &Path) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_change_to_the_tree_changes_the_digest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::create_dir(root.join("skills")).expect("mkdir");
        std::fs::write(root.join("skills/a.md"), "a").expect("write");
        let first = tree_sha256(root).expect("digest");
        assert_eq!(first.len(), 64);
        assert_eq!(tree_sha256(root).expect("digest"), first, "stable");
        std::fs::create_dir(root.join(".git")).expect("mkdir");
        std::fs::write(root.join(".git/HEAD"), "x").expect("write");
        assert_eq!(tree_sha256(root).expect("digest"), first, ".git is ignored");
        std::fs::write(root.join("skills/a.md"), "b").expect("write");
        let edited = tree_sha256(root).expect("digest");
        assert_ne!(edited, first);
        std::fs::rename(root.join("skills/a.md"), root.join("skills/b.md")).expect("mv");
        assert_ne!(tree_sha256(root).expect("digest"), edited, "renames count");
    }
}
