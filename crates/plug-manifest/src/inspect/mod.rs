//! What `plugctl inspect` shows: a plugin summarised for people and tools.

mod text;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::load::LoadedSkill;
use crate::load::Plugin;
use crate::native::ImplicitParam;
use crate::native::model::{
    Action, ClientExtension, CommandLine, ConfigValue, Hook, Instructions, McpServer, Param,
    PluginFormat, Step,
};

/// A plugin as `inspect` reports it.
#[derive(Debug, Serialize)]
pub struct PluginSummary {
    /// Name.
    pub name: String,
    /// Version, if it parsed.
    pub version: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Skills in manifest order.
    pub skills: Vec<SkillSummary>,
    /// MCP servers.
    pub mcp_servers: Vec<McpServer>,
    /// Hooks, with their effective criticality.
    pub hooks: Vec<HookSummary>,
    /// Operator configuration values.
    pub config: Vec<ConfigSummary>,
    /// The format it was read from (omitted for plugctl's own).
    #[serde(skip_serializing_if = "is_native")]
    pub format: PluginFormat,
    /// Slash commands of a host-format plugin.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<Instructions>,
    /// Subagents of a host-format plugin.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub agents: Vec<Instructions>,
    /// Client extensions of an Agent Plugins plugin.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<ClientExtension>,
}

fn is_native(format: &PluginFormat) -> bool {
    format.is_native()
}

/// One skill.
#[derive(Debug, Serialize)]
pub struct SkillSummary {
    /// Name.
    pub name: String,
    /// Kind (for `pre_<kind>` hooks).
    pub kind: String,
    /// Description.
    pub description: Option<String>,
    /// IAM actions declared in the manifest.
    pub required_permissions: Vec<String>,
    /// Declared params.
    pub params: Vec<Param>,
    /// Params the skill uses without declaring them.
    pub implicit_params: Vec<ImplicitParam>,
    /// Steps in order.
    pub steps: Vec<StepSummary>,
    /// For an instructions-only skill (`SKILL.md`): its file and front matter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructions: Option<Instructions>,
    /// Whether agents may run it under the operator's allow-list (`None`:
    /// no list is configured; filled in by the front end, which knows it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_for_agents: Option<bool>,
}

/// The kind shown for a `SKILL.md` skill, which has instructions and no steps.
pub const INSTRUCTIONS_KIND: &str = "instructions";

/// One step, in a line.
#[derive(Debug, Serialize)]
pub struct StepSummary {
    /// Name.
    pub name: String,
    /// Action.
    pub action: &'static str,
    /// What it does, briefly (`lambda update_function_code`).
    pub target: String,
    /// Its fallback, briefly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
    /// `abort` or `continue`.
    pub on_failure: crate::native::model::OnFailure,
    /// Condition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
}

/// One hook.
#[derive(Debug, Serialize)]
pub struct HookSummary {
    /// The hook as declared.
    #[serde(flatten)]
    pub hook: Hook,
    /// Whether its failure aborts the run (declared, or the default for its event).
    pub effective_critical: bool,
}

/// One operator configuration value.
#[derive(Debug, Serialize)]
pub struct ConfigSummary {
    /// Name.
    pub name: String,
    /// Declaration and use.
    #[serde(flatten)]
    pub value: ConfigValue,
    /// Whether the operator supplied it (`--set`); its value is never shown.
    pub supplied: bool,
}

/// Summarises a loaded plugin; `supplied` are the operator's `--set` names.
pub fn summarize(plugin: &Plugin, supplied: &BTreeMap<String, String>) -> Option<PluginSummary> {
    let manifest = plugin.manifest.as_ref()?;
    let skills = plugin.skills.iter().filter_map(skill_summary).collect();
    Some(PluginSummary {
        name: manifest.name.value.clone(),
        version: manifest.version.as_ref().map(ToString::to_string),
        description: manifest.description.clone(),
        skills,
        mcp_servers: manifest.mcp_servers.clone(),
        hooks: manifest
            .hooks
            .iter()
            .map(|h| HookSummary {
                effective_critical: h.is_critical(),
                hook: h.clone(),
            })
            .collect(),
        config: manifest
            .config
            .iter()
            .map(|(name, value)| ConfigSummary {
                name: name.clone(),
                value: value.clone(),
                supplied: supplied.contains_key(name),
            })
            .collect(),
        format: manifest.format,
        commands: manifest.commands.clone(),
        agents: manifest.agents.clone(),
        extensions: manifest.extensions.clone(),
    })
}

fn skill_summary(loaded: &LoadedSkill) -> Option<SkillSummary> {
    if let Some(instructions) = &loaded.instructions {
        return Some(SkillSummary {
            name: instructions.name.clone(),
            kind: INSTRUCTIONS_KIND.to_owned(),
            description: instructions.description.clone(),
            required_permissions: Vec::new(),
            params: Vec::new(),
            implicit_params: Vec::new(),
            steps: Vec::new(),
            instructions: Some(instructions.clone()),
            allowed_for_agents: None,
        });
    }
    let skill = loaded.skill.as_ref()?;
    Some(SkillSummary {
        name: skill.name.value.clone(),
        kind: skill.kind.clone(),
        description: skill.description.clone(),
        required_permissions: loaded.required_permissions.clone(),
        params: skill.params.clone(),
        implicit_params: loaded.implicit_params.clone(),
        steps: skill.steps.iter().map(step_summary).collect(),
        instructions: None,
        allowed_for_agents: None,
    })
}

fn step_summary(step: &Step) -> StepSummary {
    StepSummary {
        name: step.name.clone(),
        action: step.action.name(),
        target: target(&step.action),
        fallback: step.fallback.as_ref().map(|f| target(&f.action)),
        on_failure: step.on_failure,
        when: step.when.clone(),
    }
}

/// A one-line description of what an action touches.
pub fn target(action: &Action) -> String {
    match action {
        Action::RunCommand {
            command: CommandLine::Line(line),
            ..
        } => line.clone(),
        Action::RunCommand {
            command: CommandLine::Argv(argv),
            ..
        } => shell_words::join(argv),
        Action::AwsApi {
            service, method, ..
        }
        | Action::WaitFor {
            service, method, ..
        } => format!("{service} {method}"),
        Action::McpCall { server, tool, .. } => format!("{server}/{tool}"),
        Action::Approval { message, .. } | Action::Prompt { message, .. } => message.clone(),
        Action::Assert { that, .. } => that.clone(),
    }
}
