//! Checks that span files: skill names against the manifest, hooks against
//! skill kinds, `mcp_call` servers, and placeholder resolution.

use miette::SourceSpan;
use serde::Serialize;

use crate::diagnostic::{Code, Findings, did_you_mean};
use crate::native::model::{Action, Manifest, Skill, Step};
use crate::native::placeholders_in;
use crate::placeholder::{BUILTINS, Placeholder, PlaceholderError, classify, pascal_case};
use crate::yaml::Node;

/// A `<name>` that no declaration resolves: the run must be given it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImplicitParam {
    /// The name.
    pub name: String,
    /// The first step that uses it.
    pub first_used_in: String,
    /// An earlier step whose response may hold it (`function_arn` -> `FunctionArn`);
    /// when that response has the field, the run takes it from there instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub may_come_from: Option<String>,
}

impl ImplicitParam {
    /// The response field an earlier step would have to return.
    pub fn response_field(&self) -> String {
        pascal_case(&self.name)
    }
}

/// Checks one skill against its manifest; `doc` is the skill file's YAML.
pub(crate) fn check_plugin(
    f: &mut Findings,
    manifest: &Manifest,
    entry_name: &str,
    skill: &Skill,
    doc: &Node,
) {
    if skill.name.value != entry_name {
        f.error(
            skill.name.span,
            Code::SkillNameMismatch,
            format!(
                "this skill is named `{}` but the manifest lists it as `{entry_name}`",
                skill.name.value
            ),
        );
    }
    for step in &skill.steps {
        let Action::McpCall { server, .. } = &step.action else {
            continue;
        };
        if manifest.mcp_servers.iter().any(|s| &s.name == server) {
            continue;
        }
        let span = step_node(doc, step)
            .and_then(|n| n.get("server"))
            .map_or(step.span, |n| n.span);
        let help = did_you_mean(server, manifest.mcp_servers.iter().map(|s| s.name.as_str()));
        let message = format!("no MCP server named `{server}` in the manifest");
        f.error_with_help(span, Code::UnknownServer, message, help);
    }
}

/// The YAML mapping a decoded step came from. Steps that failed to decode are
/// absent from the model, so positions in the two lists can differ: match by span.
fn step_node<'d>(doc: &'d Node, step: &Step) -> Option<&'d Node> {
    step_nodes(doc).iter().find(|n| n.span == step.span)
}

/// The YAML mappings of the skill's steps.
fn step_nodes(doc: &Node) -> &[Node] {
    doc.get("skill")
        .and_then(|s| s.get("steps"))
        .and_then(Node::as_seq)
        .unwrap_or_default()
}

/// What placeholder resolution looks up, indexed once per skill so that
/// resolving stays linear in the number of steps.
struct StepIndex<'s> {
    /// Each step name's first position.
    position: std::collections::HashMap<&'s str, usize>,
    /// Each name some step provides (an output, a prompt's param): the
    /// first step that does.
    first_provider: std::collections::HashMap<&'s str, usize>,
}

impl<'s> StepIndex<'s> {
    fn of(skill: &'s Skill) -> Self {
        let mut index = StepIndex {
            position: std::collections::HashMap::with_capacity(skill.steps.len()),
            first_provider: std::collections::HashMap::new(),
        };
        for (at, step) in skill.steps.iter().enumerate() {
            index.position.entry(step.name.as_str()).or_insert(at);
            let prompted = match &step.action {
                Action::Prompt { param, .. } => Some(param.as_str()),
                _ => None,
            };
            for name in step.outputs.keys().map(String::as_str).chain(prompted) {
                index.first_provider.entry(name).or_insert(at);
            }
        }
        index
    }
}

/// Resolves every placeholder of a skill and returns the implicit params.
pub(crate) fn skill_placeholders(
    f: &mut Findings,
    manifest: Option<&Manifest>,
    skill: &Skill,
    doc: &Node,
) -> Vec<ImplicitParam> {
    let mut implicit: Vec<ImplicitParam> = Vec::new();
    let mut implicit_names = std::collections::HashSet::new();
    let steps = StepIndex::of(skill);
    // Steps and their nodes are both in file order: walk them together.
    let mut nodes = step_nodes(doc).iter();
    let mut last_response: Option<&Step> = None;
    for (index, step) in skill.steps.iter().enumerate() {
        let Some(node) = nodes.find(|n| n.span == step.span) else {
            continue;
        };
        let mut found = Vec::new();
        placeholders_in(f.file(), node, &mut found);
        for (inner, span) in found {
            match resolve(skill, manifest, (&steps, index), &inner) {
                Ok(Resolution::Known) => {}
                Ok(Resolution::Implicit) if !implicit_names.insert(inner.clone()) => {}
                Ok(Resolution::Implicit) => implicit.push(ImplicitParam {
                    name: inner.clone(),
                    first_used_in: step.name.clone(),
                    may_come_from: last_response.map(|s| s.name.clone()),
                }),
                Err((code, message)) => report(f, span, code, message, skill, &inner),
            }
        }
        if has_response(&step.action) {
            last_response = Some(step);
        }
    }
    implicit
}

fn report(
    f: &mut Findings,
    span: SourceSpan,
    code: Code,
    message: String,
    skill: &Skill,
    inner: &str,
) {
    let help = match code {
        Code::BadPlaceholder => inner
            .split_once('.')
            .and_then(|(step, _)| did_you_mean(step, skill.steps.iter().map(|s| s.name.as_str()))),
        _ => None,
    };
    f.error_with_help(span, code, message, help);
}

enum Resolution {
    Known,
    Implicit,
}

fn resolve(
    skill: &Skill,
    manifest: Option<&Manifest>,
    (steps, index): (&StepIndex<'_>, usize),
    inner: &str,
) -> Result<Resolution, (Code, String)> {
    let placeholder = classify(inner).map_err(|e| match e {
        PlaceholderError::Escapes(m) => (Code::PathOutsideRoot, m),
        PlaceholderError::Malformed(m) => (Code::BadPlaceholder, format!("bad placeholder: {m}")),
    })?;
    match placeholder {
        Placeholder::Function { .. } => Ok(Resolution::Known),
        Placeholder::StepOutput { step, .. } => match steps.position.get(step).copied() {
            Some(at) if at < index => Ok(Resolution::Known),
            Some(at) if at == index => Err((
                Code::LaterStepReference,
                format!("`<{inner}>` refers to this step's own output, which does not exist yet"),
            )),
            Some(_) => Err((
                Code::LaterStepReference,
                format!("`<{inner}>` refers to step `{step}`, which runs later"),
            )),
            None => Err((
                Code::BadPlaceholder,
                format!("`<{inner}>` refers to no step: there is no step named `{step}`"),
            )),
        },
        Placeholder::Name(name) => {
            let declared = skill.params.iter().any(|p| p.name == name)
                || BUILTINS.contains(&name)
                || manifest.is_some_and(|m| m.config.contains_key(name));
            match steps.first_provider.get(name).copied() {
                _ if declared => Ok(Resolution::Known),
                Some(at) if at < index => Ok(Resolution::Known),
                Some(at) => Err((
                    Code::LaterStepReference,
                    format!(
                        "`<{name}>` is produced by step `{}`, which runs later",
                        skill.steps[at].name
                    ),
                )),
                None => Ok(Resolution::Implicit),
            }
        }
    }
}

/// Whether an action returns a response whose fields later steps can use.
fn has_response(action: &Action) -> bool {
    matches!(
        action,
        Action::AwsApi { .. } | Action::McpCall { .. } | Action::WaitFor { .. }
    )
}
