//! `plug-runtime`: the one assembly of a governed run, the part every front
//! end (the `plugctl` CLI, `plugctl serve`, a fleet worker, a Lambda handler)
//! calls instead of building a run itself. A front end turns its input into
//! [`Flags`] and a [`RunInput`]; this crate does the rest:
//!
//! - [`settings`]: [`RunSettings`], resolved once from flags, environment
//!   and the configuration file ([`config_file`]);
//! - [`actions`]: the one list of IAM actions a skill needs, used by the
//!   gate, `plan`, `check`, `serve` and the [`lint`] of `validate`;
//! - [`policies`]: policy files and IAM-fetched role policies, with findings;
//! - [`prepare`]: plugin loaded, params typed, the run request built;
//! - [`perform`]: [`Runtime`], which starts telemetry, builds the ports for
//!   the run's identity and drives the interpreter;
//! - [`approval`]: the approval mailbox shared by all front ends;
//! - [`check`]: `plugctl check`'s decisions; [`telemetry`]: the run's
//!   telemetry and the commands that deliver it.
//!
//! Start at [`Runtime::perform`].

pub mod actions;
pub mod approval;
pub mod aws_call;
pub mod check;
pub mod config_file;
pub mod governance;
pub mod hooks;
pub mod humans;
pub mod lint;
pub mod mcp_signing;
pub mod perform;
pub mod plugin_settings;
pub mod policies;
pub mod prepare;
pub mod registry;
pub mod report;
pub mod scratch;
pub mod session_policy;
pub mod settings;
pub mod signals;
pub mod state;
pub mod telemetry;

pub use perform::{RealWorld, Resumption, RunHost, Runtime, RuntimeError, World, WorldPorts};
pub use plugin_settings::PluginSettings;
pub use prepare::{ParamValue, Prepared, RunInput, new_run_id};
pub use settings::{Flags, IdentitySettings, RunSettings};
pub use state::StateDir;
