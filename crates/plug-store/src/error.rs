//! Why a store operation failed.

use std::path::PathBuf;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file or folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// What could not be used.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The source names nothing installable.
    #[error("`{0}` is not a folder, a git URL or `name@marketplace`")]
    BadSource(String),
    /// `git` failed.
    #[error("git {action} failed: {detail}")]
    Git {
        /// What was being done.
        action: String,
        /// git's own message.
        detail: String,
    },
    /// The plugin does not validate (or could not be read at all).
    #[error("{name}: the plugin does not validate ({detail}); run `plugctl validate` on it")]
    Invalid {
        /// The plugin or path.
        name: String,
        /// The first problem.
        detail: String,
    },
    /// An npm package could not be fetched or unpacked.
    #[error("npm package `{package}`: {detail}")]
    Npm {
        /// The package spec (`name@version`), or `tarball` for an unpacking problem.
        package: String,
        /// What went wrong.
        detail: String,
    },
    /// A plugin archive that cannot be unpacked safely.
    #[error("plugin archive: {0}")]
    Archive(String),
    /// A registry could not hand over a plugin.
    #[error("{0}")]
    Registry(String),
    /// No installed plugin by that name.
    #[error("no installed plugin named `{0}`")]
    NotInstalled(String),
    /// No marketplace by that name, or no such entry in it.
    #[error("{0}")]
    Marketplace(String),
    /// The installed tree no longer matches the lock file.
    #[error(
        "{name}: the installed files changed since installation (sha256 {actual}, locked {locked}); reinstall it with `plugctl update {name}` or remove it"
    )]
    Tampered {
        /// The plugin.
        name: String,
        /// The digest in the lock file.
        locked: String,
        /// The digest of the files now.
        actual: String,
    },
    /// A `--set` key the plugin does not declare.
    #[error("`{key}` is not a configuration value of {plugin} (declared: {declared})")]
    UnknownConfig {
        /// The plugin.
        plugin: String,
        /// The key given.
        key: String,
        /// The keys it declares.
        declared: String,
    },
    /// Another plugctl held the store's lock for longer than we wait.
    #[error(
        "the plugin store {path} is busy: another plugctl has held its lock for {seconds} s (an install or update still running?); try again"
    )]
    Busy {
        /// The store's lock file.
        path: PathBuf,
        /// How long we waited.
        seconds: u64,
    },
    /// The lock file does not parse.
    #[error("{path}: not a plugctl lock file: {detail}")]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
}

impl StoreError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> StoreError {
        let path = path.into();
        move |source| StoreError::Io { path, source }
    }
}
