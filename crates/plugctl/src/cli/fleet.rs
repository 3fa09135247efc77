//! Arguments of the fleet's commands: `worker`, `submit`, `store create`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::run::RunSetupArgs;
use super::value::{Output, parse_key_value};

/// `plugctl worker`.
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// The SQS queue URL run requests arrive on.
    #[arg(long)]
    pub queue: String,
    /// The run table the fleet shares, `dynamodb://TABLE`.
    #[arg(long)]
    pub store: String,
    /// Runs this worker drives at once.
    #[arg(long, default_value_t = 1)]
    pub concurrency: usize,
    /// How long a run stays this worker's without a renewal: after a crash,
    /// how soon another worker takes it over.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub lease: std::time::Duration,
    /// The settings of every run.
    #[command(flatten)]
    pub setup: RunSetupArgs,
}

/// `plugctl submit`.
#[derive(Debug, Clone, Args)]
pub struct SubmitArgs {
    /// A plugin folder the workers can read.
    pub plugin: PathBuf,
    /// The skill to run.
    pub skill: String,
    /// The SQS queue URL the workers take requests from.
    #[arg(long)]
    pub queue: String,
    /// The run table, `dynamodb://TABLE`: records the run as queued (needed by `--wait`).
    #[arg(long)]
    pub store: Option<String>,
    /// A param, `name=value` (repeatable).
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE", value_parser = parse_key_value)]
    pub params: Vec<(String, String)>,
    /// Follow the run until it ends (needs `--store`).
    #[arg(long, requires = "store")]
    pub wait: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Human)]
    pub output: Output,
}

/// `plugctl store`.
#[derive(Debug, Clone, Subcommand)]
pub enum StoreCommand {
    /// Create a run table (`dynamodb://TABLE`, on-demand capacity) for a fleet.
    Create {
        /// The table, `dynamodb://TABLE`.
        store: String,
    },
}
