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

/// The largest plugin source file read (a manifest, skill, JSON or
/// Markdown file): far above any real one, and it keeps a hostile file from
/// being read whole into memory and echoed in diagnostics.
pub const MAX_SOURCE_BYTES: u64 = 8 * 1024 * 1024;

/// Reads a plugin's text file at `path`, which must stay inside `root`
/// once symlinks are followed, be a regular file (a FIFO would block the
/// read forever, holding the store's lock with it) and be at most
/// [`MAX_SOURCE_BYTES`] long. The checks are made on the open descriptor,
/// opened without blocking, so a file swapped in between is caught too.
pub fn read_inside(root: &Path, path: &Path) -> std::io::Result<String> {
    let canonical = path.canonicalize()?;
    let root = root.canonicalize()?;
    if !canonical.starts_with(&root) {
        let message = "it is a symlink (or goes through one) that leaves the plugin root";
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            message,
        ));
    }
    read_source(&canonical)
}

/// Reads a text file the user names (a policy, a config file): a regular
/// file of at most [`MAX_SOURCE_BYTES`], checked on the descriptor opened
/// without blocking, so a FIFO or a huge file is refused, never waited on
/// or read whole.
pub fn read_source(path: &Path) -> std::io::Result<String> {
    use std::io::{Error, ErrorKind, Read};
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        let message = "not a regular file (a FIFO, socket, device or folder)";
        return Err(Error::new(ErrorKind::InvalidInput, message));
    }
    if meta.len() > MAX_SOURCE_BYTES {
        let message = format!(
            "{} bytes long, more than the {MAX_SOURCE_BYTES} a source file may be",
            meta.len()
        );
        return Err(Error::new(ErrorKind::InvalidInput, message));
    }
    let mut text = String::with_capacity(meta.len() as usize);
    file.by_ref()
        .take(MAX_SOURCE_BYTES + 1)
        .read_to_string(&mut text)?;
    Ok(text)
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

    /// Hardening issue, item 17: a file past the limit is refused from its
    /// size, before anything is read (a sparse file: nothing is written).
    #[test]
    fn a_file_over_the_limit_is_refused_unread() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("huge.yaml");
        let file = std::fs::File::create(&path).expect("create");
        file.set_len(MAX_SOURCE_BYTES + 1).expect("sparse");
        let error = read_inside(dir.path(), &path).expect_err("refused");
        assert!(
            error.to_string().contains("more than the 8388608"),
            "{error}"
        );
        std::fs::write(&path, "plugin: {}\n").expect("small");
        assert_eq!(
            read_inside(dir.path(), &path).expect("read"),
            "plugin: {}\n"
        );
    }
}
