//! Arguments of the commands that run skills: `run`, `plan`, `resume`,
//! `runs`, `approve`, `reject`.

use std::path::PathBuf;

use clap::Args;

use crate::cli::Output;

/// Where a run's AWS calls go and whom they are attributed to.
#[derive(Debug, Clone, Args)]
pub struct IdentityArgs {
    /// Assume this role for the run (session tags ActorType, SourceIdentity; session `plugctl-<run-id>`).
    #[arg(long, value_name = "ARN", env = "PLUGCTL_ROLE_ARN")]
    pub role_arn: Option<String>,
    /// The AWS profile for base credentials.
    #[arg(long, env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// The AWS region.
    #[arg(long, env = "AWS_REGION")]
    pub region: Option<String>,
    /// Who operates this run: the session's `SourceIdentity` (defaults to $USER).
    #[arg(long, env = "PLUGCTL_OPERATOR")]
    pub operator: Option<String>,
}

/// `plugctl run` and `plugctl plan`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// A plugin folder or manifest file.
    pub plugin: PathBuf,
    /// The skill to run.
    pub skill: String,
    /// A param, `name=value` (repeatable).
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE", value_parser = crate::cli::parse_key_value)]
    pub params: Vec<(String, String)>,
    /// An operator configuration value, `name=value` (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = crate::cli::parse_key_value)]
    pub set: Vec<(String, String)>,
    /// Who the run acts for.
    #[arg(long, default_value = "agent", value_parser = ["agent", "human"])]
    pub actor: String,
    /// An identity-based IAM policy to check every action against before step 1 (repeatable).
    #[arg(long = "policy", value_name = "FILE")]
    pub policies: Vec<PathBuf>,
    /// Answer approvals from this JSON file (`{"approver": "alice", "approve": true}`) instead of asking.
    #[arg(long, value_name = "FILE")]
    pub approve_from: Option<PathBuf>,
    /// How long to wait for an approval from another terminal (`plugctl approve`).
    #[arg(long, default_value = "15m", value_parser = humantime::parse_duration)]
    pub approval_timeout: std::time::Duration,
    /// The run's working directory (commands run here; `read_file` reads here).
    #[arg(long, default_value = ".")]
    pub workdir: PathBuf,
    /// AWS identity.
    #[command(flatten)]
    pub identity: IdentityArgs,
    /// A configuration file (flags and environment variables win over it).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Human)]
    pub output: Output,
}

/// `plugctl resume`.
#[derive(Debug, Clone, Args)]
pub struct ResumeArgs {
    /// The run to continue.
    pub run_id: String,
    /// Sensitive params again (they are never journaled), `name=value`.
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE", value_parser = crate::cli::parse_key_value)]
    pub params: Vec<(String, String)>,
    /// Identity-based IAM policies, as for `run`.
    #[arg(long = "policy", value_name = "FILE")]
    pub policies: Vec<PathBuf>,
    /// Approvals file, as for `run`.
    #[arg(long, value_name = "FILE")]
    pub approve_from: Option<PathBuf>,
    /// Approval wait, as for `run`.
    #[arg(long, default_value = "15m", value_parser = humantime::parse_duration)]
    pub approval_timeout: std::time::Duration,
    /// AWS identity.
    #[command(flatten)]
    pub identity: IdentityArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Human)]
    pub output: Output,
}

/// `plugctl approve` and `plugctl reject`.
#[derive(Debug, Clone, Args)]
pub struct AnswerArgs {
    /// The waiting run.
    pub run_id: String,
    /// Who answers (defaults to $USER); recorded as the session's SourceIdentity on approval.
    #[arg(long = "as", value_name = "NAME")]
    pub approver: Option<String>,
    /// Why (shown in the run's output and audit log).
    #[arg(long)]
    pub reason: Option<String>,
}

/// `plugctl runs`.
#[derive(Debug, Clone, Args)]
pub struct RunsArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Human)]
    pub output: Output,
}
