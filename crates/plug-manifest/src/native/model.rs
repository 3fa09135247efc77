//! The loaded form of native plugins and skills.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use miette::SourceSpan;
use serde::Serialize;

use crate::decode::Spanned;

/// The on-disk format a plugin was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum PluginFormat {
    /// plugctl's own `plugin.yaml` with step skills.
    #[default]
    Native,
    /// Claude Code: `.claude-plugin/plugin.json` and the default folders.
    ClaudeCode,
    /// Codex: `.codex-plugin/plugin.json`.
    Codex,
    /// Cursor: `.cursor-plugin/plugin.json`.
    Cursor,
    /// Agent Plugins 1.0: a root `plugin.json` (and `mcp.json`) with `$schema`.
    AgentPlugins,
    /// No manifest: only the default folders (`skills/*/SKILL.md`, `hooks/hooks.json`, `.mcp.json`, ...).
    Bare,
}

impl PluginFormat {
    /// Whether this is plugctl's own format (`<placeholders>`), rather than a
    /// host format whose values use `${VAR}`.
    pub fn is_native(self) -> bool {
        self == PluginFormat::Native
    }

    /// How the format is named in messages.
    pub fn label(self) -> &'static str {
        match self {
            PluginFormat::Native => "native plugin.yaml",
            PluginFormat::ClaudeCode => "Claude Code plugin",
            PluginFormat::Codex => "Codex plugin",
            PluginFormat::Cursor => "Cursor plugin",
            PluginFormat::AgentPlugins => "Agent Plugins 1.0 plugin",
            PluginFormat::Bare => "plugin folder without a manifest",
        }
    }
}

/// A plugin's manifest: a native `plugin:` file, or what a host format's
/// `plugin.json` and default folders declare.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// Kebab-case name.
    pub name: Spanned<String>,
    /// Semver version.
    pub version: Option<semver::Version>,
    /// What the plugin is for.
    pub description: Option<String>,
    /// The skills it bundles.
    pub skills: Vec<SkillEntry>,
    /// The MCP servers its skills may call.
    pub mcp_servers: Vec<McpServer>,
    /// Its lifecycle hooks.
    pub hooks: Vec<Hook>,
    /// Operator configuration values: declared under `config:` or used as
    /// `<name>` (native), or a host format's `userConfig`.
    pub config: BTreeMap<String, ConfigValue>,
    /// The format it was read from.
    pub format: PluginFormat,
    /// Slash commands (`commands/*.md`) of a host-format plugin.
    pub commands: Vec<Instructions>,
    /// Subagents (`agents/*.md`) of a host-format plugin.
    pub agents: Vec<Instructions>,
    /// Client extensions of an Agent Plugins 1.0 plugin (`com.example.client/`).
    pub extensions: Vec<ClientExtension>,
}

/// One client's extension of an Agent Plugins 1.0 plugin (spec §8): a
/// top-level folder named for its reverse-domain namespace, an entry in
/// `plugin.json`'s `extensions`, or both. Each client defines what they hold.
#[derive(Debug, Clone, Serialize)]
pub struct ClientExtension {
    /// The namespace, e.g. `com.github.copilot`.
    pub namespace: String,
    /// The client it belongs to, when plugctl knows the namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// Whether plugctl loads its hooks, agents and commands into this plugin
    /// (only Claude Code's: plugctl speaks Claude Code's hook protocol).
    pub loaded: bool,
    /// The folder's top-level entries (a `/` marks a folder); none without a folder.
    pub entries: Vec<String>,
    /// Hooks in its hooks file, when plugctl can read that file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hooks: Option<usize>,
    /// Whether `plugin.json`'s `extensions` has an entry for the namespace.
    pub manifest_data: bool,
}

/// What a Markdown component is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InstructionKind {
    /// An Agent Skills `SKILL.md`.
    Skill,
    /// A slash command (`commands/*.md`).
    Command,
    /// A subagent (`agents/*.md`).
    Agent,
}

/// A component written as Markdown with YAML front matter: instructions the
/// host gives its model, not steps plugctl runs.
#[derive(Debug, Clone, Serialize)]
pub struct Instructions {
    /// Skill, command or agent.
    pub kind: InstructionKind,
    /// Its name: from the front matter, else the folder or file name.
    pub name: String,
    /// When to use it.
    pub description: Option<String>,
    /// The other front-matter fields as written (`license`, `allowed-tools`, `metadata`, ...).
    pub metadata: BTreeMap<String, serde_json::Value>,
    /// The file, relative to the plugin root.
    pub path: String,
    /// The 1-based line where the Markdown body starts.
    pub body_line: usize,
}

/// A `skills[]` entry of the manifest.
#[derive(Debug, Clone)]
pub struct SkillEntry {
    /// The skill's name.
    pub name: Spanned<String>,
    /// The skill file, relative to the plugin root.
    pub path: Spanned<String>,
    /// The resolved file, when it is inside the root and exists.
    pub file: Option<PathBuf>,
    /// IAM actions the skill declares it needs.
    pub required_permissions: Vec<Spanned<String>>,
}

/// An MCP server of the plugin.
#[derive(Debug, Clone, Serialize)]
pub struct McpServer {
    /// Its name, used by `mcp_call` steps.
    pub name: String,
    /// How to reach it.
    pub transport: McpTransport,
    /// How to authenticate.
    pub auth: McpAuth,
    /// Per-call timeout.
    #[serde(with = "humantime_serde_opt")]
    pub timeout: Option<Duration>,
    /// Extra HTTP headers as written (`.mcp.json` `headers`, which may hold
    /// `${VAR}` references). Only their names are ever shown: values may be credentials.
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        serialize_with = "names_only"
    )]
    pub headers: BTreeMap<String, String>,
    /// Shipped switched off (`"disabled": true`): listed, never started.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    /// Where it was declared.
    #[serde(skip)]
    pub span: SourceSpan,
}

/// Serializes a map as the list of its keys.
fn names_only<S: serde::Serializer>(
    map: &BTreeMap<String, String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(map.keys())
}

/// How an MCP server is reached.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum McpTransport {
    /// Streamable HTTP at a URL (possibly an operator-supplied `<placeholder>`).
    Http {
        /// The endpoint as written.
        endpoint: String,
    },
    /// A child process speaking stdio.
    Stdio {
        /// The program.
        command: String,
        /// Its arguments.
        args: Vec<String>,
        /// The environment it is given (on top of a minimal base).
        env: BTreeMap<String, String>,
    },
}

/// How plugctl authenticates to an MCP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum McpAuth {
    /// No authentication.
    #[default]
    None,
    /// SigV4-signed requests with the run's identity.
    Iam,
    /// An API key header from the operator's configuration.
    ApiKey,
}

/// A lifecycle hook.
#[derive(Debug, Clone, Serialize)]
pub struct Hook {
    /// The event, e.g. `pre_deploy`.
    pub event: String,
    /// What runs.
    pub handler: HookHandler,
    /// Whether its failure aborts the run; `None` means the default (pre-events are critical).
    pub critical: Option<bool>,
    /// Kill it after this long.
    #[serde(with = "humantime_serde_opt")]
    pub timeout: Option<Duration>,
    /// Claude Code style matcher on the step's action.
    pub matcher: Option<String>,
    /// Whether the hook acts on AWS (native `aws: true`): it then gets the
    /// run's session in its environment; otherwise no AWS credentials.
    pub aws: bool,
    /// Where it was declared.
    #[serde(skip)]
    pub span: SourceSpan,
    /// Where its event was written.
    #[serde(skip)]
    pub event_span: SourceSpan,
}

impl Hook {
    /// Whether a failure of this hook aborts the run: as declared, else true for pre-events.
    pub fn is_critical(&self) -> bool {
        self.critical
            .unwrap_or_else(|| self.event.starts_with("pre_"))
    }
}

/// What a hook runs.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HookHandler {
    /// An executable file inside the plugin root.
    File {
        /// The path as written (`./hooks/cost_estimate.py`).
        path: String,
    },
    /// A program and its arguments, run without a shell.
    Exec {
        /// argv.
        argv: Vec<String>,
    },
    /// A shell command line; only when the manifest says `shell: true`.
    Shell {
        /// The command line.
        command: String,
    },
    /// POST the hook input to a URL.
    Http {
        /// The URL.
        url: String,
    },
}

/// An operator configuration value.
#[derive(Debug, Clone, Serialize, Default)]
pub struct ConfigValue {
    /// What it is for.
    pub description: Option<String>,
    /// The value used when the operator gives none.
    pub default: Option<String>,
    /// Whether it must stay out of logs.
    pub sensitive: bool,
    /// Whether a run needs it (true for undeclared `<placeholders>` without default).
    pub required: bool,
    /// Whether it was declared under `config:` (rather than only used).
    pub declared: bool,
}

/// A `skill:` file.
#[derive(Debug, Clone)]
pub struct Skill {
    /// Kebab-case name.
    pub name: Spanned<String>,
    /// What it does.
    pub description: Option<String>,
    /// Its kind (`deploy` for `deploy-lambda`), used for `pre_<kind>` hooks.
    pub kind: String,
    /// Declared params.
    pub params: Vec<Param>,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// How long the whole run may take (the runtime's default when absent).
    pub timeout: Option<std::time::Duration>,
}

/// The type of a declared param.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ParamType {
    /// Text (the default).
    #[default]
    String,
    /// Any number.
    Number,
    /// A whole number.
    Integer,
    /// true/false.
    Boolean,
    /// Raw bytes.
    Bytes,
    /// A list.
    List,
    /// A mapping.
    Object,
}

impl ParamType {
    /// The type's name as written in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Number => "number",
            ParamType::Integer => "integer",
            ParamType::Boolean => "boolean",
            ParamType::Bytes => "bytes",
            ParamType::List => "list",
            ParamType::Object => "object",
        }
    }
}

/// A declared param of a skill.
#[derive(Debug, Clone, Serialize)]
pub struct Param {
    /// Name used in `<name>` placeholders.
    pub name: String,
    /// Type.
    #[serde(rename = "type")]
    pub ty: ParamType,
    /// Default value.
    pub default: Option<serde_json::Value>,
    /// Whether a run must supply it (defaults to true when there is no default).
    pub required: bool,
    /// What it means.
    pub description: Option<String>,
    /// Whether it must be redacted from logs, hooks and telemetry.
    pub sensitive: bool,
}

/// What a step does when it fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// Stop the run (the default).
    #[default]
    Abort,
    /// Record the failure and go on.
    Continue,
}

/// One step of a skill.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// Unique name within the skill.
    pub name: String,
    /// What it does.
    pub action: Action,
    /// A note for readers.
    pub description: Option<String>,
    /// Abort or continue on failure.
    pub on_failure: OnFailure,
    /// What to do instead when the action fails.
    pub fallback: Option<Fallback>,
    /// Step timeout.
    #[serde(with = "humantime_serde_opt")]
    pub timeout: Option<Duration>,
    /// Extra attempts after a failure.
    pub retries: u32,
    /// Run only when this expression holds.
    pub when: Option<String>,
    /// Named outputs: name -> selector into the action's result.
    pub outputs: BTreeMap<String, String>,
    /// Where the step was declared.
    #[serde(skip)]
    pub span: SourceSpan,
}

impl Step {
    /// The step's action, then its fallback's when it has one.
    pub fn actions(&self) -> impl Iterator<Item = &Action> {
        std::iter::once(&self.action).chain(self.fallback.as_ref().map(|f| &f.action))
    }
}

/// A step's action with its fields. Values may hold `<placeholders>`, resolved at run time.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Run a program.
    RunCommand {
        /// The command: a line split into argv (no shell), or an argv list.
        command: CommandLine,
        /// Run through `sh -c` (only when declared).
        shell: bool,
        /// Extra environment.
        env: BTreeMap<String, String>,
        /// Working directory, relative to the run's.
        cwd: Option<String>,
        /// Whether the command acts on AWS: it then gets the run's session
        /// (temporary credentials, region, endpoints) in its environment.
        /// Without it, it gets no AWS credentials at all.
        aws: bool,
    },
    /// Call an AWS operation.
    AwsApi {
        /// Service, e.g. `lambda`.
        service: String,
        /// Operation, e.g. `update_function_code`.
        method: String,
        /// Input members.
        params: serde_json::Value,
        /// Region override.
        region: Option<String>,
    },
    /// Call an MCP tool.
    McpCall {
        /// Server name from the manifest.
        server: String,
        /// Tool name.
        tool: String,
        /// Tool arguments.
        arguments: serde_json::Value,
    },
    /// Ask a human.
    Approval {
        /// The question.
        message: String,
        /// Who may answer (empty: anyone allowed to approve).
        approvers: Vec<String>,
    },
    /// Ask the operator for a value.
    Prompt {
        /// The question.
        message: String,
        /// The param the answer is stored in.
        param: String,
    },
    /// Poll an AWS operation until a condition holds.
    WaitFor {
        /// Service.
        service: String,
        /// Operation.
        method: String,
        /// Input members.
        params: serde_json::Value,
        /// The condition.
        until: String,
        /// Delay between polls.
        #[serde(with = "humantime_serde_opt")]
        interval: Option<Duration>,
    },
    /// Fail unless a condition holds.
    Assert {
        /// The condition.
        that: String,
        /// The failure message.
        message: Option<String>,
    },
}

impl Action {
    /// The action's name as written in YAML.
    pub fn name(&self) -> &'static str {
        match self {
            Action::RunCommand { .. } => "run_command",
            Action::AwsApi { .. } => "aws_api",
            Action::McpCall { .. } => "mcp_call",
            Action::Approval { .. } => "approval",
            Action::Prompt { .. } => "prompt",
            Action::WaitFor { .. } => "wait_for",
            Action::Assert { .. } => "assert",
        }
    }
}

/// A command as written.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum CommandLine {
    /// One line; split into argv with shell-words rules (or given to `sh -c` with `shell: true`).
    Line(String),
    /// An explicit argv.
    Argv(Vec<String>),
}

/// What runs when a step's action fails: the same action with some fields replaced.
#[derive(Debug, Clone, Serialize)]
pub struct Fallback {
    /// The replacement action (fields not given are taken from the step).
    pub action: Action,
    /// Only these error codes trigger it (empty: any failure).
    pub on_errors: Vec<String>,
}

/// Serializes `Option<Duration>` as humantime text (`30s`).
mod humantime_serde_opt {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(
        value: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(d) => serializer.serialize_str(&humantime::format_duration(*d).to_string()),
            None => serializer.serialize_none(),
        }
    }
}
