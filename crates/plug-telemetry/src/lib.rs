//! Telemetry sinks behind the `TelemetrySink` port. Today: the local JSON
//! Lines audit log, which is on by default and is the durable record every
//! other sink (CloudWatch, OTLP) will be fed from.

pub mod audit;

pub use audit::AuditLog;
