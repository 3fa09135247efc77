//! `plug-fleet`: runs shared by a fleet of workers through AWS's own
//! services. This crate holds the run table in DynamoDB, the state a fleet
//! shares: each run's record, its journal entries and who drives it.
//!
//! One table, keyed by run id (`run`) and item (`item`):
//! - `run`: the run's record (plugin, skill, state);
//! - `entry#0000000042`: the run's journal entries, each written with a
//!   condition that it is not there yet, so an entry is appended once;
//! - `lease`: who drives the run (owner, token, expiry). A worker takes it
//!   when nobody holds it or it expired, renews it while it works, and
//!   gives it back; a worker whose lease was taken over cannot renew it.
//!
//! Start at [`RunTable`].

pub mod front;
mod log;
pub mod queue;
mod table;
pub mod worker;

pub use log::TableLog;
pub use table::{Appended, Lease, RunRecord, RunTable};

/// Why the run table could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// DynamoDB answered with an error, or could not be reached.
    #[error("DynamoDB: {0}")]
    Aws(#[from] plug_core::ports::AwsError),
    /// An item is not what this crate writes.
    #[error("run table {table}: {detail}")]
    BadItem {
        /// The table.
        table: String,
        /// What is wrong.
        detail: String,
    },
    /// A run request that cannot be run.
    #[error("run request: {0}")]
    Request(String),
    /// The run's journal in the table could not be used.
    #[error(transparent)]
    Journal(#[from] plug_skill::journal::JournalError),
    /// The table did not become active in time.
    #[error("run table {0} did not become active")]
    NotActive(String),
}
