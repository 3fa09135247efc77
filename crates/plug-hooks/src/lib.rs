//! The hook host: the real implementation of the [`HookHost`](plug_core::ports::HookHost) port.
//!
//! A plugin's hooks fire on lifecycle events (`pre_skill`, `post_skill`,
//! `pre_step`, `post_step`, `on_failure`, `pre_<kind>`, `post_<kind>`).
//! [`ProcessHookHost`] picks the hooks of an event whose Claude Code style
//! [`Matcher`] accepts the step's action, runs them in parallel, reads each
//! answer as Claude Code defines it ([`answer`]) and combines them
//! deterministically ([`combine`]).
//!
//! Each command hook runs isolated: its own process group (the timeout and
//! the output caps kill the whole group), an environment built from an
//! allow-list ([`environment`]), its own temp dir as working directory, only
//! fds 0-2, and on Linux a Landlock domain plus resource limits ([`sandbox`]).
//! The hook sees only its JSON input.
//!
//! A plugin's user configuration reaches its hooks as Claude Code passes it
//! ([`plugin_options`]): `CLAUDE_PLUGIN_OPTION_<KEY>` variables, and
//! `${user_config.KEY}` in commands, substituted as data, never as shell
//! code. An installed plugin's data folder is `CLAUDE_PLUGIN_DATA`, the one
//! place outside its temp dir a hook may write.
//!
//! Plugins in the Claude Code layout bring `hooks/hooks.json`;
//! [`claude_layout`] maps its events onto the same moments.
//!
//! Unix only: process groups are what makes "kill the hook and everything it
//! started" possible.

pub mod answer;
pub mod claude_layout;
pub mod environment;
#[cfg(unix)]
mod fd_hygiene;
mod host;
mod http;
pub mod input;
pub mod plugin_options;
mod process;
pub mod report;
pub mod sandbox;

pub use answer::{Advice, Termination, Verdict};
pub use host::{HostConfig, HostError, ProcessHookHost};
pub use plug_manifest::matcher::Matcher;
pub use report::{HookReport, SandboxReport, combine};
pub use sandbox::{LandlockLevel, ResourceLimits};
