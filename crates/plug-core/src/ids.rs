//! Identifiers that cross crate boundaries.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The identifier of one run of a skill.
///
/// It names the run's journal, its audit-log entries and its AWS role session
/// (`plugctl-<run-id>`), so it must stay within the characters a
/// `RoleSessionName` accepts (`[\w+=,.@-]`, at most 64 with the prefix).
///
/// Shared, not copied: every event of a run carries its id, and cloning an
/// `Arc` costs no allocation on the recording path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(Arc<str>);

/// The error for a string that cannot be a run id.
#[derive(Debug, thiserror::Error)]
#[error("invalid run id `{0}`: use 1 to 55 characters from [A-Za-z0-9_+=,.@-]")]
pub struct InvalidRunId(pub String);

/// What every run's role session name starts with: `plugctl-<run-id>`.
pub const ROLE_SESSION_PREFIX: &str = "plugctl-";

/// Whether STS accepts `c` in a role session name or a `SourceIdentity`
/// (`[A-Za-z0-9_+=,.@-]`).
pub fn is_session_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

impl RunId {
    /// The longest id that still fits `plugctl-<id>` into a 64-character session name.
    pub const MAX_LEN: usize = 64 - ROLE_SESSION_PREFIX.len();

    /// Wraps `id` after checking it is usable in a role session name.
    pub fn new(id: impl Into<String>) -> Result<Self, InvalidRunId> {
        let id = id.into();
        if id.is_empty() || id.len() > Self::MAX_LEN || !id.chars().all(is_session_name_char) {
            return Err(InvalidRunId(id));
        }
        Ok(RunId(id.into()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The AWS role session name for this run.
    pub fn role_session_name(&self) -> String {
        format!("{ROLE_SESSION_PREFIX}{}", self.0)
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_name_fits_sts_limits() {
        let id = RunId::new("a".repeat(RunId::MAX_LEN)).expect("max length is valid");
        assert_eq!(id.role_session_name().len(), 64);
        assert!(RunId::new("a".repeat(RunId::MAX_LEN + 1)).is_err());
        assert!(RunId::new("has space").is_err());
        assert!(RunId::new("").is_err());
    }
}
