//! The command-line grammar: every command's arguments, and their
//! translation into what the libraries take. Commands never parse text.

pub mod fleet;
pub mod run;
pub mod store;
pub mod telemetry;
mod value;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

pub use value::{ActorArg, Output, parse_key_value};

/// Run agent plugins against AWS with permission checks, approvals and an audit trail.
#[derive(Debug, Parser)]
#[command(name = "plugctl", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

const EXIT_CODES: &str = "Exit codes: 0 success; 1 findings (validation errors, warnings with --strict, a denied check) or a failed run step; 2 usage or I/O error; 3 run denied by the permission gate; 4 approval refused; 5 blocked by a hook; 6 interrupted by Ctrl-C, SIGTERM or the skill timeout (resume it), or serve stopped by a signal; 7 refused by deny-by-default (skill not allowed, no role or permission source, or an unverified human); 141 the reader of stdout went away (`| head`).";

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a skill: permission gate, hooks, steps, journal, audit log.
    Run(run::RunArgs),
    /// Show what `run` would do (steps, IAM decisions, hooks, approvals) without doing it.
    Plan(run::RunArgs),
    /// Continue an interrupted or failed run after its last completed step.
    Resume(run::ResumeArgs),
    /// List runs and their states.
    Runs(run::RunsArgs),
    /// Approve a run that waits for a human.
    Approve(run::AnswerArgs),
    /// Refuse a run that waits for a human.
    Reject(run::AnswerArgs),
    /// Check plugins: manifest, skill files, paths, placeholders. Reports every finding.
    Validate {
        /// Plugin folders or manifest files.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Fail on warnings too.
        #[arg(long)]
        strict: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Output::Human)]
        output: Output,
    },
    /// Show a plugin's skills, steps, params, permissions, MCP servers, hooks and config values.
    Inspect {
        /// A plugin folder or manifest file.
        path: PathBuf,
        /// An operator configuration value, `name=value` (repeatable).
        #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_key_value)]
        set: Vec<(String, String)>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Output::Human)]
        output: Output,
    },
    /// Work with IAM policies: `policy eval` decides requests as AWS would.
    Policy {
        /// What to do with policies.
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Decide each skill's required permissions against IAM policies; exit 1 on any deny.
    Check {
        /// A plugin folder or manifest file.
        plugin: PathBuf,
        /// Only this skill.
        #[arg(long)]
        skill: Option<String>,
        /// An identity-based policy file (repeatable).
        #[arg(long = "policy", value_name = "FILE", required_unless_present = "role")]
        policies: Vec<PathBuf>,
        /// An IAM role (name or ARN): its inline and attached managed policies and its
        /// permissions boundary are fetched from IAM and decide too.
        #[arg(long, value_name = "NAME_OR_ARN")]
        role: Option<String>,
        /// A profile of the shared AWS config, to reach IAM for `--role`.
        #[arg(long, requires = "role")]
        profile: Option<String>,
        /// The region to reach IAM through for `--role` (default: the standard AWS chain's).
        #[arg(long, requires = "role")]
        region: Option<String>,
        /// Who acts: sets `aws:PrincipalTag/ActorType`.
        #[arg(long, value_enum, default_value_t = ActorArg::Agent)]
        actor: ActorArg,
        /// A condition key for the request context, `key=value` (repeatable).
        #[arg(long = "context", value_name = "KEY=VALUE", value_parser = parse_key_value)]
        context: Vec<(String, String)>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Output::Human)]
        output: Output,
    },
    /// Work with a plugin's lifecycle hooks: `hooks run` fires one event's hooks, isolated.
    Hooks {
        /// What to do with hooks.
        #[command(subcommand)]
        command: HooksCommand,
    },
    /// Call AWS directly: `aws call` runs one operation of the bundled service models.
    Aws {
        /// What to do with AWS.
        #[command(subcommand)]
        command: AwsCommand,
    },
    /// Talk to a plugin's MCP servers: `mcp tools` lists a server's tools, `mcp call` calls one.
    Mcp {
        /// What to do with MCP.
        #[command(subcommand)]
        command: McpCommand,
    },
    /// Telemetry: `telemetry flush` delivers spooled CloudWatch data, `telemetry alarms` creates the recommended alarms.
    Telemetry {
        /// What to do.
        #[command(subcommand)]
        command: telemetry::TelemetryCommand,
    },
    /// Read the audit log: every run, or one run's timeline (`--cloudtrail` merges CloudTrail's events).
    Audit(telemetry::AuditArgs),
    /// Serve plugins' skills as MCP tools (stdio, or Streamable HTTP on loopback with `--http`).
    Serve(run::ServeArgs),
    /// Install a plugin from a folder, a git URL (`URL#REF`), `name@marketplace` or an S3
    /// registry (`s3://BUCKET/PREFIX#NAME@VERSION`) into the store (`$PLUGCTL_HOME`, else the
    /// XDG data folder); commands then take its name.
    Install(store::InstallArgs),
    /// Take run requests from an SQS queue and drive them, sharing runs with other workers
    /// through a DynamoDB run table; SIGINT or SIGTERM stops it once the runs in hand end.
    Worker(fleet::WorkerArgs),
    /// Queue a run for a fleet's workers and print its run id (`--wait`: follow it to its end).
    Submit(fleet::SubmitArgs),
    /// A fleet's run table: `store create dynamodb://TABLE`.
    Store {
        /// What to do.
        #[command(subcommand)]
        command: fleet::StoreCommand,
    },
    /// Publish a plugin folder to an S3 registry (`s3://BUCKET/PREFIX`): a content-addressed
    /// archive and an index entry; versions are immutable.
    Publish(store::PublishArgs),
    /// List installed plugins with their version, source and sha256.
    List(store::ListArgs),
    /// Fetch installed plugins' sources again and reinstall them.
    Update(store::UpdateArgs),
    /// Remove an installed plugin.
    Remove(store::RemoveArgs),
    /// Marketplaces to install from: `marketplace add`, `marketplace list`.
    Marketplace {
        /// What to do with marketplaces.
        #[command(subcommand)]
        command: store::MarketplaceCommand,
    },
    /// An installed plugin's user configuration: `config set <plugin> NAME=VALUE...`.
    Config {
        /// What to do with it.
        #[command(subcommand)]
        command: store::ConfigCommand,
    },
}

/// `plugctl aws` subcommands.
#[derive(Debug, Subcommand)]
pub enum AwsCommand {
    /// Call one operation (`update_function_code` or `UpdateFunctionCode`) and print its
    /// output as JSON. Exit 1 when AWS answers with an error, 2 on a bad call.
    Call {
        /// The service, as botocore names it (`lambda`, `s3`, `logs`, ...).
        service: String,
        /// The operation.
        operation: String,
        /// The params as a JSON object, or `@FILE` to read them from a file.
        #[arg(long, value_name = "JSON")]
        params: Option<String>,
        /// The region (default: the standard AWS chain's).
        #[arg(long)]
        region: Option<String>,
        /// A profile of the shared AWS config.
        #[arg(long)]
        profile: Option<String>,
        /// Assume this role first, with session tags naming the actor.
        #[arg(long, value_name = "ARN")]
        role_arn: Option<String>,
        /// Who acts: the `ActorType` session tag of the assumed role.
        #[arg(long, value_enum, default_value_t = ActorArg::Agent, requires = "role_arn")]
        actor: ActorArg,
        /// The operator, as the session's `SourceIdentity`.
        #[arg(long, requires = "role_arn")]
        source_identity: Option<String>,
        /// A further session tag, `key=value` (repeatable).
        #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_key_value, requires = "role_arn")]
        tags: Vec<(String, String)>,
    },
}

/// `plugctl policy` subcommands.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Decide requests (input format: see plug-policy's `input` module). Exit 1 on a deny
    /// (`--request`) or on a malformed line (`--requests`).
    Eval {
        /// One JSON request object.
        #[arg(
            long,
            conflicts_with = "requests",
            required_unless_present = "requests"
        )]
        request: Option<PathBuf>,
        /// JSON Lines of requests (`-` for stdin); one result line per input line, in order.
        #[arg(long)]
        requests: Option<PathBuf>,
    },
    /// Check policy files: every error, and warnings for actions the IAM catalogue does
    /// not know, wildcards that match no action and condition keys that do not apply.
    /// Exit 1 on errors (or on warnings with `--strict`).
    Lint {
        /// Policy documents (JSON).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Fail on warnings too.
        #[arg(long)]
        strict: bool,
    },
}

/// `plugctl hooks` subcommands.
#[derive(Debug, Subcommand)]
pub enum HooksCommand {
    /// Run the hooks of `event` that match, each isolated as in a real run, and print
    /// each result and the combined decision. Exit 1 when they block or a critical one fails.
    Run {
        /// A plugin folder or manifest file.
        plugin: PathBuf,
        /// The event: pre_skill, post_skill, pre_step, post_step, on_failure, pre_<kind>, post_<kind>.
        event: String,
        /// A JSON object with any of run_id, skill, step, action, params, actor.
        #[arg(long, value_name = "FILE")]
        input: Option<PathBuf>,
        /// The step the event is about.
        #[arg(long)]
        step: Option<String>,
        /// The step's action, matched by the hooks' matchers (e.g. `aws_api`).
        #[arg(long)]
        action: Option<String>,
        /// A user configuration value, `name=value` (repeatable), on top of those
        /// stored at install: hooks get it as `CLAUDE_PLUGIN_OPTION_<NAME>`.
        #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_key_value)]
        set: Vec<(String, String)>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Output::Human)]
        output: Output,
    },
}

/// `plugctl mcp` subcommands.
#[derive(Debug, Subcommand)]
pub enum McpCommand {
    /// List every tool of one of the plugin's MCP servers (all pages).
    Tools {
        /// A plugin folder or manifest file.
        plugin: PathBuf,
        /// The server's name in the manifest.
        server: String,
        /// An operator configuration value, `name=value` (repeatable); see plug-mcp's `spec` for `SERVER.*` keys.
        #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_key_value)]
        set: Vec<(String, String)>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Output::Human)]
        output: Output,
    },
    /// Call one tool and print its answer. Exit 1 when the tool reports an error
    /// or the server fails, 2 on a bad call or missing configuration.
    Call {
        /// A plugin folder or manifest file.
        plugin: PathBuf,
        /// The server's name in the manifest.
        server: String,
        /// The tool.
        tool: String,
        /// The arguments as a JSON object.
        #[arg(long = "args", value_name = "JSON", default_value = "{}")]
        arguments: String,
        /// An operator configuration value, `name=value` (repeatable).
        #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_key_value)]
        set: Vec<(String, String)>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Output::Human)]
        output: Output,
    },
}
