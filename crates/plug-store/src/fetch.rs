//! Getting a plugin's files: copying a folder, or cloning a git repository
//! with the `git` program (run without a shell, with a restricted set of
//! protocols and no prompts).

use std::path::Path;
use std::process::Command;

use crate::error::StoreError;

/// The transports git may use: no `ext::`, which runs commands.
const GIT_PROTOCOLS: &str = "file:git:http:https:ssh";

/// Copies the tree at `from` to `to` (which must not exist), without `.git`;
/// symlinks are copied as symlinks, file permissions kept.
///
/// A symlink must point inside the tree: the store's digest covers the
/// link, not what it points to, so a link leaving the plugin would let its
/// target change (a manifest, a hook script) with no tamper error. Files
/// that are neither regular files, folders nor links (FIFOs, sockets,
/// devices) are refused: copying a FIFO blocks forever.
pub(crate) fn copy_tree(from: &Path, to: &Path) -> Result<(), StoreError> {
    copy_below(from, Path::new(""), to)?;
    // Links each inside on their own can still lead out together
    // (`a -> sub`, `sub/up -> ..`, `x -> a/up/..`): resolve them in the copy.
    let root = to.canonicalize().map_err(StoreError::io(to))?;
    links_resolve_inside(&root, to)
}

/// Every symlink under `dir` that resolves at all resolves inside `root`.
fn links_resolve_inside(root: &Path, dir: &Path) -> Result<(), StoreError> {
    for entry in std::fs::read_dir(dir).map_err(StoreError::io(dir))? {
        let entry = entry.map_err(StoreError::io(dir))?;
        let kind = entry.file_type().map_err(StoreError::io(entry.path()))?;
        let path = entry.path();
        if kind.is_symlink() {
            if path
                .canonicalize()
                .is_ok_and(|real| !real.starts_with(root))
            {
                return Err(refused(&path, "a symlink that leaves the plugin"));
            }
        } else if kind.is_dir() {
            links_resolve_inside(root, &path)?;
        }
    }
    Ok(())
}

/// Copies `root/rel` to `to`.
fn copy_below(root: &Path, rel: &Path, to: &Path) -> Result<(), StoreError> {
    let from = root.join(rel);
    std::fs::create_dir_all(to).map_err(StoreError::io(to))?;
    for entry in std::fs::read_dir(&from).map_err(StoreError::io(&from))? {
        let entry = entry.map_err(StoreError::io(&from))?;
        if entry.file_name() == ".git" {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().map_err(StoreError::io(&src))?;
        if kind.is_symlink() {
            let target = std::fs::read_link(&src).map_err(StoreError::io(&src))?;
            if !link_stays_inside(rel, &target) {
                return Err(refused(&src, "a symlink that leaves the plugin"));
            }
            symlink(&target, &dst)?;
        } else if kind.is_dir() {
            copy_below(root, &rel.join(entry.file_name()), &dst)?;
        } else if kind.is_file() {
            std::fs::copy(&src, &dst).map_err(StoreError::io(&src))?;
        } else {
            return Err(refused(
                &src,
                "not a regular file (a FIFO, socket or device)",
            ));
        }
    }
    Ok(())
}

/// Whether a link in folder `rel` (relative to the tree's root) pointing
/// at `target` stays inside the tree, read without following anything.
fn link_stays_inside(rel: &Path, target: &Path) -> bool {
    let joined = rel.join(target);
    !target.is_absolute()
        && joined
            .to_str()
            .is_some_and(plug_manifest::paths::lexically_inside)
}

fn refused(path: &Path, what: &str) -> StoreError {
    let message = format!("{what}; the store keeps only what the plugin holds");
    StoreError::io(path)(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        message,
    ))
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> Result<(), StoreError> {
    std::os::unix::fs::symlink(target, link).map_err(StoreError::io(link))
}

#[cfg(not(unix))]
fn symlink(_target: &Path, link: &Path) -> Result<(), StoreError> {
    Err(StoreError::io(link)(std::io::Error::other(
        "symlinks are not copied on this platform",
    )))
}

/// Clones `url` into `into` and checks out `reference` (branch, tag or
/// commit) when given; returns the commit checked out.
pub(crate) fn clone(url: &str, reference: Option<&str>, into: &Path) -> Result<String, StoreError> {
    if url.starts_with('-') || reference.is_some_and(|r| r.starts_with('-')) {
        return Err(StoreError::BadSource(url.to_owned()));
    }
    let into_text = into.to_string_lossy().into_owned();
    git(None, &["clone", "--quiet", "--", url, &into_text], "clone")?;
    if let Some(reference) = reference {
        git(
            Some(into),
            &["checkout", "--quiet", "--detach", reference, "--"],
            "checkout",
        )?;
    }
    let head = git(Some(into), &["rev-parse", "HEAD"], "rev-parse")?;
    Ok(head.trim().to_owned())
}

fn git(cwd: Option<&Path>, args: &[&str], action: &str) -> Result<String, StoreError> {
    let mut command = Command::new("git");
    if let Some(cwd) = cwd {
        command.current_dir(cwd);
    }
    let out = command
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ALLOW_PROTOCOL", GIT_PROTOCOLS)
        .output()
        .map_err(|e| StoreError::Git {
            action: action.to_owned(),
            detail: format!("cannot run git: {e}"),
        })?;
    if !out.status.success() {
        return Err(StoreError::Git {
            action: action.to_owned(),
            detail: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
