//! Installed plugins.
//!
//! A [`Store`] lives under `$PLUGCTL_HOME` (else `$XDG_DATA_HOME/plugctl`,
//! else `~/.local/share/plugctl`). It installs a plugin from a local folder,
//! a git URL (`URL#REF`) or a marketplace entry (`name@marketplace`, after
//! [`Store::add_marketplace`]); checks it with plug-manifest and refuses one
//! with errors; copies it to `plugins/<name>`; and records in `plugctl.lock`
//! its version, its source (with the git commit) and a sha256 of the
//! installed tree ([`digest`]). A marketplace entry published on npm is
//! fetched with `npm pack` and unpacked with every path checked. [`Store::resolve`] recomputes that sha256
//! before a plugin is used, so a tampered plugin is refused.
//!
//! Operator configuration given at install (`--set key=value`) is kept with
//! the plugin: plain values in the lock, values the manifest marks sensitive
//! in a separate owner-only file, never in the lock and never in `Debug`.
//! Each installed plugin also has a persistent data folder
//! ([`Store::data_dir`], Claude Code's `CLAUDE_PLUGIN_DATA`) that survives
//! `update` and is deleted by `remove`.
//!
//! Writers (install, update, remove, config changes, marketplace adds) take
//! an advisory lock on the store, so concurrent plugctl processes never
//! corrupt it; the lock file itself is always replaced atomically.

mod archive;
pub mod digest;
mod error;
mod fetch;
mod guard;
pub mod location;
pub mod lock;
mod npm;
pub mod source;
mod store;
mod user_config;

pub use error::StoreError;
pub use lock::{Installed, Lockfile, MarketplaceRecord};
pub use source::Source;
pub use store::{ArchiveSource, FetchedArchive, Store, Update};
