//! Paths named in a plugin stay inside the plugin root.

use std::path::{Component, Path, PathBuf};

/// Why a path named in a plugin cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// Absolute, or climbs above the root with `..`.
    #[error("`{0}` leaves the plugin root; paths must be relative and stay inside it")]
    OutsideRoot(String),
    /// Inside lexically, but a symlink on the way points outside.
    #[error("`{0}` goes through a symlink that leaves the plugin root")]
    SymlinkEscape(String),
    /// Nothing there.
    #[error("`{0}` does not exist")]
    NotFound(String),
}

/// Resolves `relative` against `root`, refusing anything that leaves `root`.
///
/// `root` should already be canonical. The check is lexical first (so
/// `../x` is refused even when it does not exist), then on the canonical path,
/// which catches symlinks pointing out of the root.
pub fn resolve_inside(root: &Path, relative: &str) -> Result<PathBuf, PathError> {
    if !lexically_inside(relative) {
        return Err(PathError::OutsideRoot(relative.to_owned()));
    }
    let joined = root.join(relative);
    // A dangling symlink fails here too: it names nothing that can be read.
    let canonical = joined
        .canonicalize()
        .map_err(|_| PathError::NotFound(relative.to_owned()))?;
    if canonical.starts_with(root) {
        Ok(canonical)
    } else {
        Err(PathError::SymlinkEscape(relative.to_owned()))
    }
}

/// Whether `relative` stays below its base without touching the disk: no
/// absolute path, and no `..` that climbs above the start.
pub fn lexically_inside(relative: &str) -> bool {
    let mut depth = 0usize;
    for component in Path::new(relative).components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir if depth > 0 => depth -= 1,
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_escapes_and_accepts_inside_paths() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().canonicalize().expect("canonical");
        std::fs::create_dir(root.join("skills")).expect("mkdir");
        std::fs::write(root.join("skills/a.yaml"), "").expect("write");
        assert_eq!(
            resolve_inside(&root, "./skills/a.yaml"),
            Ok(root.join("skills/a.yaml"))
        );
        assert_eq!(
            resolve_inside(&root, "skills/../skills/a.yaml"),
            Ok(root.join("skills/a.yaml"))
        );
        assert!(matches!(
            resolve_inside(&root, "../x"),
            Err(PathError::OutsideRoot(_))
        ));
        assert!(matches!(
            resolve_inside(&root, "/etc/passwd"),
            Err(PathError::OutsideRoot(_))
        ));
        assert!(matches!(
            resolve_inside(&root, "skills/b.yaml"),
            Err(PathError::NotFound(_))
        ));
    }

    #[cfg(unix)]
    #[test]
    fn refuses_symlinks_that_leave_the_root() {
        let outside = tempfile::tempdir().expect("tempdir");
        std::fs::write(outside.path().join("secret"), "x").expect("write");
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().canonicalize().expect("canonical");
        std::os::unix::fs::symlink(outside.path().join("secret"), root.join("link"))
            .expect("symlink");
        std::os::unix::fs::symlink(root.join("missing"), root.join("dangling")).expect("symlink");
        assert!(matches!(
            resolve_inside(&root, "link"),
            Err(PathError::SymlinkEscape(_))
        ));
        assert!(matches!(
            resolve_inside(&root, "dangling"),
            Err(PathError::NotFound(_))
        ));
    }
}
