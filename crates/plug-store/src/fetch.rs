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
pub(crate) fn copy_tree(from: &Path, to: &Path) -> Result<(), StoreError> {
    std::fs::create_dir_all(to).map_err(StoreError::io(to))?;
    for entry in std::fs::read_dir(from).map_err(StoreError::io(from))? {
        let entry = entry.map_err(StoreError::io(from))?;
        if entry.file_name() == ".git" {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().map_err(StoreError::io(&src))?;
        if kind.is_symlink() {
            let target = std::fs::read_link(&src).map_err(StoreError::io(&src))?;
            symlink(&target, &dst)?;
        } else if kind.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).map_err(StoreError::io(&src))?;
        }
    }
    Ok(())
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
