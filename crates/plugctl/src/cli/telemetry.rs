//! Arguments of `plugctl telemetry` and `plugctl audit`.

use std::path::PathBuf;

use super::run::IdentityArgs;
use super::value::Output;

/// `plugctl telemetry` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum TelemetryCommand {
    /// Deliver spooled CloudWatch metrics and log events now (runs also do it on their own).
    Flush {
        /// AWS identity (the runtime publishes as the operator).
        #[command(flatten)]
        identity: IdentityArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Output::Human)]
        output: Output,
    },
    /// Create (or update) the recommended CloudWatch alarms for a plugin's skills.
    Alarms {
        /// A plugin folder or manifest file.
        plugin: PathBuf,
        /// Alarm when more than this percentage of runs fail in a period.
        #[arg(long, default_value_t = 10.0)]
        error_rate: f64,
        /// Alarm when runs take longer than this on average.
        #[arg(long, default_value = "2m", value_parser = humantime::parse_duration)]
        latency: std::time::Duration,
        /// A long-running run, for skills without a timeout.
        #[arg(long, default_value = "30m", value_parser = humantime::parse_duration)]
        long_running: std::time::Duration,
        /// An alarm action, e.g. an SNS topic ARN (repeatable).
        #[arg(long = "action", value_name = "ARN")]
        actions: Vec<String>,
        /// AWS identity.
        #[command(flatten)]
        identity: IdentityArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Output::Human)]
        output: Output,
    },
}

/// `plugctl audit` arguments.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Show this run's timeline instead of the list of runs.
    #[arg(long, value_name = "RUN_ID")]
    pub run: Option<String>,
    /// Merge in the run's CloudTrail events (LookupEvents for the session `plugctl-<run-id>`).
    #[arg(long, requires = "run")]
    pub cloudtrail: bool,
    /// AWS identity for `--cloudtrail`.
    #[command(flatten)]
    pub identity: IdentityArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Human)]
    pub output: Output,
}
