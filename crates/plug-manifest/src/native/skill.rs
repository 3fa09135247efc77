//! Decoding a `skill:` file.

use std::collections::BTreeMap;

use crate::decode::{
    Obj, Spanned, check_identifier, check_kebab, check_step_name, check_unique, duration, list,
    object, scalar_text, string, string_list,
};
use crate::diagnostic::{Code, Findings, did_you_mean};
use crate::native::condition;
use crate::native::model::{
    Action, CommandLine, Fallback, OnFailure, Param, ParamType, Skill, Step,
};
use crate::placeholder::shell::ShellContext;
use crate::yaml::{Node, NodeKind, Scalar};

const SKILL_FIELDS: &[&str] = &["name", "description", "kind", "params", "steps", "timeout"];
const PARAM_FIELDS: &[&str] = &["type", "default", "required", "description", "sensitive"];
const COMMON_FIELDS: &[&str] = &[
    "name",
    "action",
    "description",
    "on_failure",
    "fallback",
    "timeout",
    "retries",
    "when",
    "outputs",
];

/// The actions and the fields each one takes (beyond the common ones).
pub(crate) const ACTIONS: &[(&str, &[&str])] = &[
    ("run_command", &["command", "shell", "env", "cwd", "aws"]),
    ("aws_api", &["service", "method", "params", "region"]),
    ("mcp_call", &["server", "tool", "arguments"]),
    ("approval", &["message", "approvers"]),
    ("prompt", &["message", "param"]),
    (
        "wait_for",
        &["service", "method", "params", "until", "interval"],
    ),
    ("assert", &["that", "message"]),
];

/// The most retries a step may ask for; more hides a broken step behind minutes of waiting.
const MAX_RETRIES: i64 = 10;

/// Decodes a skill document.
pub(crate) fn decode_skill(f: &mut Findings, doc: &Node) -> Option<Skill> {
    let top = object(f, doc, "the skill file", &["skill"])?;
    let skill_node = top.require(f, "skill")?;
    let skill = object(f, skill_node, "`skill`", SKILL_FIELDS)?;
    let name = skill.req_string(f, "name");
    if let Some(name) = &name {
        check_kebab(f, name, "skill");
    }
    let description = skill.req_string(f, "description").map(|d| d.value);
    let kind = match skill.opt_string(f, "kind") {
        Some(kind) => {
            check_kebab(f, &kind, "kind");
            kind.value
        }
        None => name
            .as_ref()
            .map(|n| n.value.split('-').next().unwrap_or_default().to_owned())
            .unwrap_or_default(),
    };
    let params = skill
        .get("params")
        .map(|node| params(f, node))
        .unwrap_or_default();
    let steps = skill
        .require(f, "steps")
        .map(|node| steps(f, node))
        .unwrap_or_default();
    let timeout = skill.opt_duration(f, "timeout");
    if let (Some(limit), Some(node)) = (timeout, skill.get("timeout"))
        && limit.is_zero()
    {
        f.error(
            node.span,
            Code::OutOfRange,
            "the skill's `timeout` must be more than zero",
        );
    }
    Some(Skill {
        name: name?,
        description,
        kind,
        params,
        steps,
        timeout,
    })
}

fn params(f: &mut Findings, node: &Node) -> Vec<Param> {
    let Some(entries) = node.as_map() else {
        f.error(
            node.span,
            Code::WrongType,
            format!(
                "`params` must be a mapping of param names to declarations, found {}",
                node.type_name()
            ),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, value) in entries {
        let Some(name) = string(f, key, "params") else {
            continue;
        };
        check_identifier(f, &name, "param");
        // `name: {}` or `name:` (null) declare a plain required string param.
        let empty = Node {
            kind: NodeKind::Map(Vec::new()),
            span: value.span,
        };
        let value = if matches!(value.kind, NodeKind::Scalar(Scalar::Null)) {
            &empty
        } else {
            value
        };
        let Some(obj) = object(f, value, "a param declaration", PARAM_FIELDS) else {
            continue;
        };
        let ty = obj
            .opt_string(f, "type")
            .map_or(ParamType::String, |t| param_type(f, &t));
        let default = obj.get("default");
        if let Some(default) = default {
            check_default(f, &name.value, ty, default);
        }
        out.push(Param {
            name: name.value,
            ty,
            required: obj.opt_bool(f, "required").unwrap_or(default.is_none()),
            default: default.map(Node::to_json),
            description: obj.opt_string(f, "description").map(|d| d.value),
            sensitive: obj.opt_bool(f, "sensitive").unwrap_or(false),
        });
    }
    out
}

fn param_type(f: &mut Findings, ty: &Spanned<String>) -> ParamType {
    const TYPES: &[(&str, ParamType)] = &[
        ("string", ParamType::String),
        ("number", ParamType::Number),
        ("integer", ParamType::Integer),
        ("boolean", ParamType::Boolean),
        ("bytes", ParamType::Bytes),
        ("list", ParamType::List),
        ("object", ParamType::Object),
    ];
    if let Some((_, t)) = TYPES.iter().find(|(name, _)| *name == ty.value) {
        return *t;
    }
    let help = did_you_mean(&ty.value, TYPES.iter().map(|(name, _)| *name));
    f.error_with_help(
        ty.span,
        Code::UnknownValue,
        format!("unknown param type `{}`", ty.value),
        help,
    );
    ParamType::String
}

fn check_default(f: &mut Findings, name: &str, ty: ParamType, default: &Node) {
    let fits = matches!(
        (ty, &default.kind),
        (
            ParamType::String | ParamType::Bytes,
            NodeKind::Scalar(Scalar::Str(_))
        ) | (
            ParamType::Number,
            NodeKind::Scalar(Scalar::Int(_) | Scalar::Float(_))
        ) | (ParamType::Integer, NodeKind::Scalar(Scalar::Int(_)))
            | (ParamType::Boolean, NodeKind::Scalar(Scalar::Bool(_)))
            | (ParamType::List, NodeKind::Seq(_))
            | (ParamType::Object, NodeKind::Map(_))
    );
    if !fits {
        f.error(
            default.span,
            Code::InvalidParam,
            format!(
                "the default of `{name}` is {}, but its type is {}",
                default.type_name(),
                ty.as_str()
            ),
        );
    }
}

fn steps(f: &mut Findings, node: &Node) -> Vec<Step> {
    let items = list(f, node, "steps");
    if items.is_empty() && node.as_seq().is_some() {
        f.error(
            node.span,
            Code::EmptyList,
            "a skill needs at least one step",
        );
    }
    let mut names: Vec<Spanned<String>> = Vec::new();
    let mut out = Vec::new();
    for item in items {
        if let Some((name, step)) = self::step(f, item) {
            names.push(name);
            out.push(step);
        }
    }
    check_unique(f, &names, "step");
    out
}

fn step(f: &mut Findings, node: &Node) -> Option<(Spanned<String>, Step)> {
    // Read `action` first: it decides which other fields are allowed.
    let action_name = node.get("action").and_then(Node::as_str);
    let action_fields = action_name
        .and_then(|a| ACTIONS.iter().find(|(name, _)| *name == a))
        .map(|(_, fields)| *fields);
    let known: Vec<&str> = match action_fields {
        Some(fields) => COMMON_FIELDS.iter().chain(fields.iter()).copied().collect(),
        // With an unknown action, accept every action's fields: the action is the one finding.
        None => COMMON_FIELDS
            .iter()
            .copied()
            .chain(
                ACTIONS
                    .iter()
                    .flat_map(|(_, fields)| fields.iter().copied()),
            )
            .collect(),
    };
    let obj = object(f, node, "a step", &known)?;
    let name = obj.req_string(f, "name");
    if let Some(name) = &name {
        check_step_name(f, name);
    }
    let action_node = obj.req_string(f, "action");
    let action = action_node
        .as_ref()
        .and_then(|a| known_action(f, a))
        .and_then(|a| decode_action(f, a, &obj, None));
    let fallback = match (obj.get("fallback"), action_node.as_ref()) {
        (Some(node), Some(a)) if action_fields.is_some() => fallback(f, node, &a.value, &obj),
        _ => None,
    };
    let retries = obj.get("retries").and_then(|n| retries(f, n)).unwrap_or(0);
    let step = Step {
        name: name.as_ref()?.value.clone(),
        action: action?,
        description: obj.opt_string(f, "description").map(|d| d.value),
        on_failure: on_failure(f, &obj),
        fallback,
        timeout: obj.opt_duration(f, "timeout"),
        retries,
        when: (obj.opt_string(f, "when")).map(|w| condition::checked(f, w, "when").value),
        outputs: outputs(f, &obj),
        span: node.span,
    };
    Some((name?, step))
}

fn known_action<'a>(f: &mut Findings, action: &'a Spanned<String>) -> Option<&'a str> {
    if ACTIONS.iter().any(|(name, _)| *name == action.value) {
        return Some(&action.value);
    }
    let help = did_you_mean(&action.value, ACTIONS.iter().map(|(name, _)| *name)).or_else(|| {
        Some(format!(
            "actions: {}",
            ACTIONS
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        ))
    });
    f.error_with_help(
        action.span,
        Code::UnknownAction,
        format!("unknown action `{}`", action.value),
        help,
    );
    None
}

fn fallback(f: &mut Findings, node: &Node, action: &str, step: &Obj<'_>) -> Option<Fallback> {
    let fields = ACTIONS
        .iter()
        .find(|(name, _)| *name == action)
        .map(|(_, fields)| *fields)
        .unwrap_or(&[]);
    let known: Vec<&str> = fields.iter().copied().chain(["on_errors"]).collect();
    let obj = object(f, node, "a fallback", &known)?;
    let on_errors = obj
        .opt_string_list(f, "on_errors")
        .into_iter()
        .map(|e| e.value)
        .collect();
    let action = decode_action(f, action, &obj, Some(step))?;
    Some(Fallback { action, on_errors })
}

/// Field lookup for an action: a fallback's own fields first, then its step's.
struct Fields<'a, 'n> {
    own: &'a Obj<'n>,
    base: Option<&'a Obj<'n>>,
}

impl<'n> Fields<'_, 'n> {
    fn get(&self, key: &str) -> Option<&'n Node> {
        self.own
            .get(key)
            .or_else(|| self.base.and_then(|b| b.get(key)))
    }

    fn req_string(&self, f: &mut Findings, key: &str) -> Option<String> {
        match self.get(key) {
            Some(node) => string(f, node, key).map(|s| s.value),
            None => {
                self.own.require(f, key);
                None
            }
        }
    }

    fn opt_string(&self, f: &mut Findings, key: &str) -> Option<String> {
        self.get(key)
            .and_then(|n| string(f, n, key))
            .map(|s| s.value)
    }

    /// A required condition, checked to compile (see `condition`).
    fn req_condition(&self, f: &mut Findings, key: &str) -> Option<String> {
        let Some(node) = self.get(key) else {
            self.own.require(f, key);
            return None;
        };
        let text = string(f, node, key)?;
        Some(condition::checked(f, text, key).value)
    }

    /// A mapping passed on as data (AWS params, tool arguments).
    fn data_map(&self, f: &mut Findings, key: &str) -> serde_json::Value {
        match self.get(key) {
            None => serde_json::Value::Object(serde_json::Map::new()),
            Some(node) if node.as_map().is_some() => node.to_json(),
            Some(node) => {
                f.error(
                    node.span,
                    Code::WrongType,
                    format!("`{key}` must be a mapping, found {}", node.type_name()),
                );
                serde_json::Value::Object(serde_json::Map::new())
            }
        }
    }
}

fn decode_action(
    f: &mut Findings,
    action: &str,
    own: &Obj<'_>,
    base: Option<&Obj<'_>>,
) -> Option<Action> {
    let x = Fields { own, base };
    Some(match action {
        "run_command" => Action::RunCommand {
            command: command_line(f, &x)?,
            shell: shell_flag(f, &x),
            env: x.get("env").map(|n| env_map(f, n)).unwrap_or_default(),
            cwd: x.opt_string(f, "cwd"),
            aws: x
                .get("aws")
                .and_then(|n| bool_of(f, n, "aws"))
                .unwrap_or(false),
        },
        "aws_api" => Action::AwsApi {
            service: x.req_string(f, "service")?,
            method: x.req_string(f, "method")?,
            params: x.data_map(f, "params"),
            region: x.opt_string(f, "region"),
        },
        "mcp_call" => Action::McpCall {
            server: x.req_string(f, "server")?,
            tool: x.req_string(f, "tool")?,
            arguments: x.data_map(f, "arguments"),
        },
        "approval" => Action::Approval {
            message: x.req_string(f, "message")?,
            approvers: x
                .get("approvers")
                .map(|n| string_list(f, n, "approvers"))
                .unwrap_or_default()
                .into_iter()
                .map(|a| a.value)
                .collect(),
        },
        "prompt" => Action::Prompt {
            message: x.req_string(f, "message")?,
            param: x.req_string(f, "param")?,
        },
        "wait_for" => Action::WaitFor {
            service: x.req_string(f, "service")?,
            method: x.req_string(f, "method")?,
            params: x.data_map(f, "params"),
            until: x.req_condition(f, "until")?,
            interval: x.get("interval").and_then(|n| duration(f, n, "interval")),
        },
        "assert" => Action::Assert {
            that: x.req_condition(f, "that")?,
            message: x.opt_string(f, "message"),
        },
        _ => return None,
    })
}

/// `shell:`, with a `shell: true` line's placeholders checked: each must sit
/// where the shell can take its value as data (see `placeholder::shell`).
fn shell_flag(f: &mut Findings, x: &Fields<'_, '_>) -> bool {
    let shell = (x.get("shell"))
        .and_then(|n| bool_of(f, n, "shell"))
        .unwrap_or(false);
    let line = x.get("command").and_then(|n| Some((n.span, n.as_str()?)));
    if let (true, Some((span, line))) = (shell, line) {
        for (_, inner, context) in crate::placeholder::shell::placeholders(line) {
            if !context.is_usable() {
                let place = match context {
                    ShellContext::Escaped => "right after a backslash",
                    _ => "inside single quotes",
                };
                f.error(
                    span,
                    Code::ShellPlaceholder,
                    format!(
                        "`<{inner}>` is {place}, where the shell cannot take its value as data; \
                         put it outside quotes or inside double quotes"
                    ),
                );
            }
        }
    }
    shell
}

fn command_line(f: &mut Findings, x: &Fields<'_, '_>) -> Option<CommandLine> {
    let Some(node) = x.get("command") else {
        x.own.require(f, "command");
        return None;
    };
    if let Some(line) = node.as_str() {
        if line.trim().is_empty() {
            f.error(node.span, Code::EmptyList, "`command` is empty");
            return None;
        }
        return Some(CommandLine::Line(line.to_owned()));
    }
    if node.as_seq().is_none() {
        f.error(
            node.span,
            Code::WrongType,
            format!(
                "`command` must be a string or a list of arguments, found {}",
                node.type_name()
            ),
        );
        return None;
    }
    let argv: Vec<String> = string_list(f, node, "command")
        .into_iter()
        .map(|a| a.value)
        .collect();
    if argv.is_empty() {
        f.error(
            node.span,
            Code::EmptyList,
            "`command` needs at least the program",
        );
        return None;
    }
    Some(CommandLine::Argv(argv))
}

fn bool_of(f: &mut Findings, node: &Node, key: &str) -> Option<bool> {
    match node.kind {
        NodeKind::Scalar(Scalar::Bool(b)) => Some(b),
        _ => {
            f.error(
                node.span,
                Code::WrongType,
                format!("`{key}` must be true or false, found {}", node.type_name()),
            );
            None
        }
    }
}

fn env_map(f: &mut Findings, node: &Node) -> BTreeMap<String, String> {
    let Some(entries) = node.as_map() else {
        f.error(
            node.span,
            Code::WrongType,
            format!(
                "`env` must be a mapping of names to strings, found {}",
                node.type_name()
            ),
        );
        return BTreeMap::new();
    };
    entries
        .iter()
        .filter_map(|(k, v)| {
            let name = string(f, k, "env")?.value;
            if plug_core::child_env::chooses_identity(&name) {
                f.error(
                    k.span,
                    Code::ReservedEnv,
                    format!(
                        "`{name}` chooses the command's AWS identity; only plugctl sets it \
                         (declare `aws: true` to give the command the run's session)"
                    ),
                );
                return None;
            }
            Some((name, scalar_text(f, v, "env")?))
        })
        .collect()
}

fn retries(f: &mut Findings, node: &Node) -> Option<u32> {
    match node.kind {
        NodeKind::Scalar(Scalar::Int(n)) if (0..=MAX_RETRIES).contains(&n) => u32::try_from(n).ok(),
        NodeKind::Scalar(Scalar::Int(n)) => {
            f.error(
                node.span,
                Code::OutOfRange,
                format!("`retries` is {n}; use 0 to {MAX_RETRIES}"),
            );
            None
        }
        _ => {
            f.error(
                node.span,
                Code::WrongType,
                format!(
                    "`retries` must be a whole number, found {}",
                    node.type_name()
                ),
            );
            None
        }
    }
}

fn on_failure(f: &mut Findings, obj: &Obj<'_>) -> OnFailure {
    match obj.opt_string(f, "on_failure") {
        None => OnFailure::Abort,
        Some(v) if v.value == "abort" => OnFailure::Abort,
        Some(v) if v.value == "continue" => OnFailure::Continue,
        Some(v) => {
            let help = did_you_mean(&v.value, ["abort", "continue"]);
            f.error_with_help(
                v.span,
                Code::UnknownValue,
                format!(
                    "unknown on_failure `{}`; expected abort or continue",
                    v.value
                ),
                help,
            );
            OnFailure::Abort
        }
    }
}

fn outputs(f: &mut Findings, obj: &Obj<'_>) -> BTreeMap<String, String> {
    let Some(node) = obj.get("outputs") else {
        return BTreeMap::new();
    };
    let Some(entries) = node.as_map() else {
        f.error(
            node.span,
            Code::WrongType,
            format!(
                "`outputs` must be a mapping of names to selectors, found {}",
                node.type_name()
            ),
        );
        return BTreeMap::new();
    };
    let mut out = BTreeMap::new();
    for (k, v) in entries {
        let (Some(name), Some(selector)) = (string(f, k, "outputs"), string(f, v, "outputs"))
        else {
            continue;
        };
        check_identifier(f, &name, "output");
        out.insert(name.value, selector.value);
    }
    out
}
