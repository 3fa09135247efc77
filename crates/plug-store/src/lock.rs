//! `plugctl.lock`: what is installed, from where, and the digest of each tree.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::source::Source;

/// The lock file's format version.
pub const LOCK_VERSION: u32 = 1;

/// The whole lock file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Lockfile {
    /// Format version.
    pub version: u32,
    /// Installed plugins by name.
    #[serde(default)]
    pub plugins: BTreeMap<String, Installed>,
    /// Added marketplaces by name.
    #[serde(default)]
    pub marketplaces: BTreeMap<String, MarketplaceRecord>,
}

impl Default for Lockfile {
    fn default() -> Self {
        Lockfile {
            version: LOCK_VERSION,
            plugins: BTreeMap::new(),
            marketplaces: BTreeMap::new(),
        }
    }
}

/// One installed plugin.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Installed {
    /// Its name (the folder under `plugins/`).
    pub name: String,
    /// Its manifest version, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Where it came from.
    pub source: Source,
    /// The git commit installed, for git and git-backed marketplace sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The sha256 of the registry archive installed, for registry sources
    /// (checked against the registry's index before unpacking).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive: Option<String>,
    /// The sha256 of the installed tree (see [`crate::digest`]).
    pub sha256: String,
    /// Operator configuration given at install; sensitive values are not here.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, String>,
    /// Names of the sensitive values kept in the owner-only secrets file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sensitive: Vec<String>,
}

impl Installed {
    /// The plugin in a line: name, version, source, what was fetched, and
    /// the tree's digest prefix.
    pub fn summary(&self) -> String {
        let version = self.version.as_deref().unwrap_or("(no version)");
        let short = |digest: &str| digest[..digest.len().min(12)].to_owned();
        let fetched = match (&self.commit, &self.archive) {
            (Some(commit), _) => format!(" @ {}", short(commit)),
            (None, Some(archive)) => format!(" (archive sha256 {})", short(archive)),
            (None, None) => String::new(),
        };
        let sha = short(&self.sha256);
        format!(
            "{} {version} from {}{fetched} (sha256 {sha})",
            self.name, self.source
        )
    }
}

/// One added marketplace.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MarketplaceRecord {
    /// Its name, from its marketplace file.
    pub name: String,
    /// Where it was added from.
    pub source: Source,
    /// The git commit fetched, for a git source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

impl Lockfile {
    /// Reads the lock file at `path`; a missing file is an empty lock.
    pub fn read(path: &Path) -> Result<Lockfile, StoreError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Lockfile::default()),
            Err(e) => return Err(StoreError::io(path)(e)),
        };
        serde_json::from_str(&text).map_err(|e| StoreError::Lock {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })
    }

    /// Writes the lock file atomically (a temp file, then a rename).
    pub fn write(&self, path: &Path) -> Result<(), StoreError> {
        let text = serde_json::to_string_pretty(self).map_err(|e| StoreError::Lock {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
        write_atomic(path, format!("{text}\n").as_bytes(), None)
    }
}

/// Writes `bytes` to `path` through a temp file in the same folder, with
/// `mode` (Unix permissions) set before the content is written.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], mode: Option<u32>) -> Result<(), StoreError> {
    use std::io::Write as _;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(StoreError::io(dir))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(StoreError::io(dir))?;
    #[cfg(unix)]
    if let Some(mode) = mode {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(mode))
            .map_err(StoreError::io(tmp.path()))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    tmp.write_all(bytes).map_err(StoreError::io(path))?;
    tmp.persist(path)
        .map_err(|e| StoreError::io(path)(e.error))?;
    Ok(())
}
