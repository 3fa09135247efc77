//! Skills as MCP tools: one tool per skill, named `<plugin>__<skill>`, its
//! input schema built from the skill's declared and implicit params, its
//! annotations from the IAM actions the skill needs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use plug_manifest::native::model::{Action, Param, ParamType, Skill};
use plug_manifest::{ImplicitParam, LoadedSkill, load_plugin};
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde_json::{Value, json};

use plug_runtime::governance::AllowList;

use super::ServeError;

/// The argument that asks for a plan instead of a run.
pub const DRY_RUN: &str = "dry_run";

/// One skill served as a tool.
#[derive(Debug, Clone)]
pub struct SkillTool {
    /// What `tools/list` shows.
    pub tool: Tool,
    /// The plugin folder the skill is loaded from on each call.
    pub plugin_root: PathBuf,
    /// The skill's name in its plugin.
    pub skill: String,
    /// The argument names the skill accepts (besides `dry_run`).
    pub params: BTreeSet<String>,
}

/// Every tool `plugctl serve` offers, in plugin and skill order.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    tools: Vec<SkillTool>,
}

impl Catalog {
    /// Loads each plugin's skills that `allow` names; a plugin that does not
    /// validate is refused, as `run` would. Deny by default: with no
    /// allow-list nothing is served, and serving nothing is an error.
    pub fn load(paths: &[PathBuf], allow: &AllowList) -> Result<Catalog, ServeError> {
        if *allow == AllowList::Unset {
            return Err(ServeError::NothingAllowed(
                "no skill is allowed: name them with --allow SKILL (or `allow:` in the \
                 configuration file), or pass --allow-all"
                    .to_owned(),
            ));
        }
        let mut tools: Vec<SkillTool> = Vec::new();
        for path in paths {
            for (plugin, tool) in plugin_tools(path)? {
                if allow.names(&plugin, &tool.skill) != Some(true) {
                    continue;
                }
                if tools.iter().any(|t| t.tool.name == tool.tool.name) {
                    return Err(ServeError::DuplicateTool(tool.tool.name.to_string()));
                }
                tools.push(tool);
            }
        }
        if tools.is_empty() {
            return Err(ServeError::NothingAllowed(
                "the allow-list names no skill of these plugins".to_owned(),
            ));
        }
        Ok(Catalog { tools })
    }

    /// The tool called `name`.
    pub fn find(&self, name: &str) -> Option<&SkillTool> {
        self.tools.iter().find(|t| t.tool.name == name)
    }

    /// The tools as `tools/list` answers them.
    pub fn tools(&self) -> Vec<Tool> {
        self.tools.iter().map(|t| t.tool.clone()).collect()
    }
}

/// Each skill of the plugin at `path` as a tool, with the plugin's name.
fn plugin_tools(path: &Path) -> Result<Vec<(String, SkillTool)>, ServeError> {
    let plugin = load_plugin(path).map_err(|e| ServeError::Plugin(e.to_string()))?;
    if plugin.has_failures(false) {
        return Err(ServeError::Invalid {
            path: path.to_path_buf(),
            findings: plugin.findings,
        });
    }
    let manifest = plugin
        .manifest
        .as_ref()
        .ok_or_else(|| ServeError::Plugin(format!("{}: no manifest", path.display())))?;
    let plugin_name = manifest.name.value.clone();
    Ok(plugin
        .skills
        .iter()
        .filter_map(|loaded| {
            let skill = loaded.skill.as_ref()?;
            let tool = skill_tool(&plugin_name, &plugin.root, loaded, skill);
            Some((plugin_name.clone(), tool))
        })
        .collect())
}

fn skill_tool(plugin: &str, root: &Path, loaded: &LoadedSkill, skill: &Skill) -> SkillTool {
    let actions = plug_runtime::actions::required_actions(&loaded.required_permissions, skill);
    let name = format!("{plugin}__{}", skill.name.value);
    let schema = input_schema(skill, &loaded.implicit_params);
    let params = schema_params(&schema);
    let tool = Tool::new(name, description(skill, &actions), Arc::new(schema))
        .with_title(format!("{plugin}: {}", skill.name.value))
        .annotate(annotations(skill, &actions));
    SkillTool {
        tool,
        plugin_root: root.to_path_buf(),
        skill: skill.name.value.clone(),
        params,
    }
}

fn schema_params(schema: &JsonObject) -> BTreeSet<String> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().filter(|k| *k != DRY_RUN).cloned().collect())
        .unwrap_or_default()
}

/// What the agent reads: the skill's own description, then its steps and the
/// governance every call goes through.
fn description(skill: &Skill, actions: &[String]) -> String {
    let mut text = skill
        .description
        .clone()
        .unwrap_or_else(|| format!("Runs the skill {}.", skill.name.value));
    let steps: Vec<String> = skill
        .steps
        .iter()
        .map(|s| format!("{} ({})", s.name, s.action.name()))
        .collect();
    text.push_str(&format!("\n\nSteps: {}.", steps.join(", ")));
    if !actions.is_empty() {
        text.push_str(&format!("\nIAM actions: {}.", actions.join(", ")));
    }
    text.push_str(
        "\nRuns through plugctl as ActorType=agent: IAM permissions are checked before the \
         first step, actions reserved for people wait for a human approval, and every step \
         is journaled and audited. Pass dry_run=true to see the plan without side effects.",
    );
    text
}

/// The JSON Schema of the tool's arguments.
pub fn input_schema(skill: &Skill, implicit: &[ImplicitParam]) -> JsonObject {
    let mut properties = serde_json::Map::new();
    let mut required = Vec::new();
    for param in &skill.params {
        properties.insert(param.name.clone(), declared_param(param));
        if param.required && param.default.is_none() {
            required.push(param.name.clone());
        }
    }
    for param in implicit {
        if properties.contains_key(&param.name) {
            continue;
        }
        properties.insert(param.name.clone(), implicit_param(param));
        if param.may_come_from.is_none() {
            required.push(param.name.clone());
        }
    }
    properties.insert(
        DRY_RUN.to_owned(),
        json!({
            "type": "boolean",
            "default": false,
            "description": "Only show what the run would do (steps with their resolved inputs, \
                IAM decisions, approvals, hooks); nothing runs and nothing is journaled."
        }),
    );
    let schema = json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    });
    match schema {
        Value::Object(map) => map,
        _ => JsonObject::new(),
    }
}

fn declared_param(param: &Param) -> Value {
    let mut schema = json!({ "type": json_type(param.ty) });
    if let Some(description) = &param.description {
        schema["description"] = json!(description);
    }
    if let Some(default) = &param.default {
        schema["default"] = default.clone();
    }
    if param.sensitive {
        schema["writeOnly"] = json!(true);
        let note = "Sensitive: never journaled, logged or shown to hooks.";
        schema["description"] = json!(match &param.description {
            Some(d) => format!("{d} {note}"),
            None => note.to_owned(),
        });
    }
    schema
}

fn implicit_param(param: &ImplicitParam) -> Value {
    let description = match &param.may_come_from {
        Some(step) => format!(
            "Used by step {}. Optional: taken from step {step}'s `{}` when its response has it.",
            param.first_used_in,
            param.response_field()
        ),
        None => format!("Used by step {}.", param.first_used_in),
    };
    json!({ "type": "string", "description": description })
}

fn json_type(ty: ParamType) -> &'static str {
    match ty {
        ParamType::String | ParamType::Bytes => "string",
        ParamType::Number => "number",
        ParamType::Integer => "integer",
        ParamType::Boolean => "boolean",
        ParamType::List => "array",
        ParamType::Object => "object",
    }
}

/// What an IAM action does to the world, judged by its verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Effect {
    /// Reads only (`Get*`, `List*`, `Describe*`, ...).
    Read,
    /// Adds without overwriting (`Create*`, `Tag*`, `Put*` is not one).
    Additive,
    /// Changes or removes what exists (`Update*`, `Delete*`, `Put*`, wildcards, ...).
    Destructive,
}

const READ_VERBS: &[&str] = &[
    "Get", "List", "Describe", "Head", "Query", "Scan", "Search", "Lookup", "BatchGet", "Select",
    "View", "Estimate", "Simulate", "Validate",
];
const ADDITIVE_VERBS: &[&str] = &[
    "Create",
    "Tag",
    "Add",
    "Attach",
    "Associate",
    "Register",
    "Publish",
    "Send",
    "Invoke",
    "Start",
    "Pass",
    "Allocate",
    "Copy",
    "Import",
    "Run",
    "Enable",
    "Upload",
    "Subscribe",
];

/// The effect of one IAM action such as `lambda:UpdateFunctionCode`. Anything
/// unknown, including wildcards, counts as destructive: hints fail safe.
pub fn effect(action: &str) -> Effect {
    let name = action.split_once(':').map_or(action, |(_, n)| n);
    let starts = |verbs: &[&str]| {
        verbs.iter().any(|v| {
            name.strip_prefix(v).is_some_and(|rest| {
                rest.is_empty() || rest.starts_with(|c: char| c.is_uppercase() || c == '*')
            })
        })
    };
    if name.contains('*') && !starts(READ_VERBS) {
        Effect::Destructive
    } else if starts(READ_VERBS) {
        Effect::Read
    } else if starts(ADDITIVE_VERBS) {
        Effect::Additive
    } else {
        Effect::Destructive
    }
}

/// `readOnlyHint` when every IAM action only reads and no step runs a command
/// or calls an MCP tool (their effects are unknown); `destructiveHint` when an
/// IAM action may change or remove what exists.
pub fn annotations(skill: &Skill, actions: &[String]) -> ToolAnnotations {
    let worst = actions.iter().map(|a| effect(a)).max();
    let opaque_steps = (skill.steps.iter())
        .flat_map(|s| s.actions())
        .any(|a| matches!(a, Action::RunCommand { .. } | Action::McpCall { .. }));
    let read_only = !opaque_steps && worst.is_none_or(|e| e == Effect::Read);
    let annotations = ToolAnnotations::new().read_only(read_only);
    if read_only {
        annotations
    } else {
        annotations.destructive(worst == Some(Effect::Destructive))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_decide_the_effect_and_unknowns_fail_safe() {
        assert_eq!(effect("sts:GetCallerIdentity"), Effect::Read);
        assert_eq!(effect("s3:List*"), Effect::Read);
        assert_eq!(effect("lambda:CreateFunction"), Effect::Additive);
        assert_eq!(effect("iam:PassRole"), Effect::Additive);
        assert_eq!(effect("lambda:UpdateFunctionCode"), Effect::Destructive);
        assert_eq!(effect("lambda:DeleteFunction"), Effect::Destructive);
        assert_eq!(effect("lambda:*"), Effect::Destructive);
        assert_eq!(effect("*"), Effect::Destructive);
        // A verb must end at a word boundary: `Getaway` is not a `Get`.
        assert_eq!(effect("x:Getaway"), Effect::Destructive);
    }
}
