//! Where plugctl keeps run journals, approvals and the audit log.

use std::path::PathBuf;

/// `$PLUGCTL_STATE_DIR`, else `$XDG_STATE_HOME/plugctl`, else `~/.local/state/plugctl`.
pub fn state_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PLUGCTL_STATE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME") {
        return PathBuf::from(dir).join("plugctl");
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".local/state/plugctl")
}

/// The audit log file.
pub fn audit_log() -> PathBuf {
    state_dir().join("audit.jsonl")
}

/// The folder where pending approvals and their answers meet.
pub fn approvals_dir() -> PathBuf {
    state_dir().join("approvals")
}

/// Who is at the keyboard: `$USER`, else `operator`.
pub fn current_user() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "operator".into())
}
