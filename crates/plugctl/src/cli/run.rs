//! Arguments of the commands that run skills (`run`, `plan`, `resume`,
//! `runs`, `approve`, `reject`, `serve`), and their translation into
//! plug-runtime's [`Flags`]: the environment and the configuration file are
//! layered under them there, the same way for every command.

use std::path::PathBuf;

use clap::Args;
use plug_runtime::Flags;

use super::value::{ActorArg, Output, parse_key_value};

/// Where a command's AWS calls go and whom they are attributed to.
#[derive(Debug, Clone, Args)]
pub struct IdentityArgs {
    /// Assume this role for runs (session tags ActorType, SourceIdentity; session
    /// `plugctl-<run-id>`) [env: PLUGCTL_ROLE_ARN].
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<String>,
    /// The AWS profile for base credentials [env: AWS_PROFILE].
    #[arg(long)]
    pub profile: Option<String>,
    /// The AWS region [env: AWS_REGION].
    #[arg(long)]
    pub region: Option<String>,
    /// Who operates: the session's `SourceIdentity` (defaults to $USER) [env: PLUGCTL_OPERATOR].
    #[arg(long)]
    pub operator: Option<String>,
    /// A configuration file (flags and environment variables win over it;
    /// default: $PLUGCTL_CONFIG, else ~/.config/plugctl/config.yaml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl IdentityArgs {
    /// These flags, for plug-runtime to resolve.
    pub fn flags(&self) -> Flags {
        Flags {
            config: self.config.clone(),
            role_arn: self.role_arn.clone(),
            profile: self.profile.clone(),
            region: self.region.clone(),
            operator: self.operator.clone(),
            ..Flags::default()
        }
    }
}

/// What every command that runs skills takes besides its own arguments
/// (`run`, `plan`, `serve`): the operator's settings for its runs.
#[derive(Debug, Clone, Args)]
pub struct RunSetupArgs {
    /// An operator configuration value, `name=value` (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_key_value)]
    pub set: Vec<(String, String)>,
    /// An identity-based IAM policy every action is checked against before step 1 (repeatable).
    #[arg(long = "policy", value_name = "FILE")]
    pub policies: Vec<PathBuf>,
    /// How long a run waits for a human approval (`plugctl approve`, or the MCP client).
    #[arg(long, default_value = "15m", value_parser = humantime::parse_duration)]
    pub approval_timeout: std::time::Duration,
    /// The runs' working directory (commands run here; `read_file` reads here).
    #[arg(long, default_value = ".")]
    pub workdir: PathBuf,
    /// AWS identity and configuration.
    #[command(flatten)]
    pub identity: IdentityArgs,
    /// Deny-by-default's switches.
    #[command(flatten)]
    pub governance: GovernanceArgs,
}

impl RunSetupArgs {
    /// These flags, for plug-runtime to resolve.
    pub fn flags(&self) -> Flags {
        Flags {
            policies: self.policies.clone(),
            set: self.set.clone(),
            workdir: Some(self.workdir.clone()),
            approval_timeout: Some(self.approval_timeout),
            ..self.governance.flags(self.identity.flags())
        }
    }
}

/// Which skills agents may run, and running without a permission check.
#[derive(Debug, Clone, Args)]
pub struct GovernanceArgs {
    /// A skill agents may run: `SKILL`, `PLUGIN/SKILL` or `PLUGIN/*` (repeatable;
    /// replaces the configuration file's `allow:`).
    #[arg(long = "allow", value_name = "SKILL")]
    pub allow: Vec<String>,
    /// Every skill of the plugins may be run by agents.
    #[arg(long, conflicts_with = "allow")]
    pub allow_all: bool,
    /// Run a skill that needs AWS permissions with nothing to decide them
    /// (no --policy, no role policies); recorded in the journal, the audit
    /// log and `plugctl runs`.
    #[arg(long)]
    pub unchecked: bool,
}

impl GovernanceArgs {
    /// `base` with these switches.
    pub fn flags(&self, base: Flags) -> Flags {
        Flags {
            allow: self.allow.clone(),
            allow_all: self.allow_all,
            unchecked: self.unchecked,
            ..base
        }
    }
}

/// `plugctl run` and `plugctl plan`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// A plugin folder or manifest file.
    pub plugin: PathBuf,
    /// The skill to run.
    pub skill: String,
    /// A param, `name=value` (repeatable).
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE", value_parser = parse_key_value)]
    pub params: Vec<(String, String)>,
    /// Who the run acts for.
    #[arg(long, value_enum, default_value_t = ActorArg::Agent)]
    pub actor: ActorArg,
    /// Answer approvals from this JSON file (`{"approver": "alice", "approve": true}`) instead of asking.
    #[arg(long, value_name = "FILE")]
    pub approve_from: Option<PathBuf>,
    /// The run's settings.
    #[command(flatten)]
    pub setup: RunSetupArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Human)]
    pub output: Output,
}

impl RunArgs {
    /// These flags, for plug-runtime to resolve.
    pub fn flags(&self) -> Flags {
        self.setup.flags()
    }
}

/// `plugctl resume`.
#[derive(Debug, Clone, Args)]
pub struct ResumeArgs {
    /// The run to continue.
    pub run_id: String,
    /// Sensitive params again (they are never journaled), `name=value`.
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE", value_parser = parse_key_value)]
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
    /// AWS identity and configuration.
    #[command(flatten)]
    pub identity: IdentityArgs,
    /// Deny-by-default's switches, as for `run`.
    #[command(flatten)]
    pub governance: GovernanceArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Human)]
    pub output: Output,
}

impl ResumeArgs {
    /// These flags, for plug-runtime to resolve (the journal keeps the workdir).
    pub fn flags(&self) -> Flags {
        Flags {
            policies: self.policies.clone(),
            approval_timeout: Some(self.approval_timeout),
            ..self.governance.flags(self.identity.flags())
        }
    }
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

/// `plugctl serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Plugin folders or manifest files; each skill becomes the tool `<plugin>__<skill>`.
    #[arg(required = true)]
    pub plugins: Vec<PathBuf>,
    /// Serve Streamable HTTP at `http://ADDR/mcp` (loopback only) instead of stdio.
    #[arg(long, value_name = "127.0.0.1:PORT")]
    pub http: Option<std::net::SocketAddr>,
    /// The HTTP bearer token's file (default: $PLUGCTL_SERVE_TOKEN, else a new token
    /// written to the state directory's `serve-token`).
    #[arg(long, value_name = "FILE", requires = "http")]
    pub token_file: Option<PathBuf>,
    /// The settings of every run.
    #[command(flatten)]
    pub setup: RunSetupArgs,
}

impl ServeArgs {
    /// These flags, for plug-runtime to resolve.
    pub fn flags(&self) -> Flags {
        self.setup.flags()
    }
}
