//! The vocabulary shared by every plugctl crate, and the *ports*: the traits
//! through which the skill interpreter reaches the outside world.
//!
//! This crate has no I/O and no heavy dependencies on purpose. The interpreter
//! (`plug-skill`) depends only on it, so it can be tested with in-memory ports,
//! and each real implementation (`plug-policy`, `plug-aws`, `plug-mcp`,
//! `plug-hooks`, `plug-telemetry`) can be swapped without touching it.

pub mod actor;
pub mod child_env;
pub mod event;
pub mod governance;
pub mod ids;
pub mod ports;
pub mod trace;
pub mod value;

pub use actor::Actor;
pub use governance::Governance;
pub use ids::RunId;
pub use trace::TraceContext;
pub use value::Value;
