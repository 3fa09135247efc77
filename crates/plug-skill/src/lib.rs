//! The skill interpreter: it runs a skill's steps in order through the ports
//! of `plug-core`, resolving `<placeholders>`, applying `when`, retries,
//! timeouts and fallbacks, gating on permissions and approvals, and writing
//! every transition to a durable journal so an interrupted run can resume.
//!
//! It never talks to AWS, MCP servers or processes directly: that is what the
//! ports are for, so its logic is tested with in-memory ports.
//! Start at [`engine::Interpreter::run`].

pub mod command;
pub mod condition;
pub mod engine;
pub mod journal;
pub mod plan;
pub mod template;

pub use engine::{
    Interpreter, Ports, RunOptions, RunOutcome, RunReport, RunRequest, StepOutcome, StepReport,
};
pub use journal::Journal;
