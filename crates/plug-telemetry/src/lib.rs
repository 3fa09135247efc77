//! Telemetry for plugctl runs: the local JSON Lines audit log (always on),
//! CloudWatch metrics and CloudWatch Logs (through a disk spool, so a sink
//! that is down loses nothing), CloudTrail look-ups and the recommended alarms.
//!
//! Start at [`Telemetry`], the `TelemetrySink` the runtime uses.

pub mod alarms;
pub mod audit;
pub mod cloudtrail;
pub mod cloudwatch;
pub mod delivery;
mod inbox;
pub mod logs;
pub mod metrics;
pub mod pipeline;
pub mod redact;
pub mod spool;
pub mod traces;

pub use audit::{AuditError, AuditLog, Record, read};
pub use cloudwatch::{CloudWatch, CloudWatchConfig};
pub use delivery::{Destination, DrainReport, SendError, drain};
pub use pipeline::{Telemetry, TelemetryOptions};
pub use redact::Redactor;
pub use spool::Spool;
