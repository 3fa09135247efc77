//! Hooks files: Claude Code's `hooks/hooks.json` (which Codex and the Agent
//! Plugins client folders share) and Cursor's camelCase variant, mapped onto
//! plugctl's moments.
//!
//! `PreToolUse`/`PostToolUse` fire around each step (the step's action is the
//! tool name their matchers see), `SessionStart`/`SessionEnd` around the run.
//! Cursor's shell and MCP events become the same moments with a matcher on
//! `run_command` or `mcp_call`. Events plugctl has no moment for are kept in
//! [`HooksFile::ignored_events`] and reported as warnings, never dropped
//! silently. Hosts treat a failing hook as a non-blocking error, so these
//! hooks are best-effort (`critical: false`); blocking still works through
//! exit code 2 or a JSON decision. Cursor hooks are answered with Claude
//! Code's protocol, which is the one plugctl's hook host reads.

use std::path::PathBuf;
use std::time::Duration;

use crate::decode::{Obj, Spanned, Unknown, list, object_with, string_list};
use crate::diagnostic::{Code, Finding, Findings, SourceFile, did_you_mean};
use crate::ecosystem::json::parse_json;
use crate::ecosystem::vars::unquoted_uses;
use crate::native::model::{Hook, HookHandler};
use crate::yaml::{Node, NodeKind, Scalar};

/// Claude Code's hook events (Codex uses the same names).
pub const CLAUDE_EVENTS: &[&str] = &[
    "PreToolUse",
    "PostToolUse",
    "PostToolUseFailure",
    "PostToolBatch",
    "PermissionRequest",
    "PermissionDenied",
    "Notification",
    "UserPromptSubmit",
    "UserPromptExpansion",
    "Stop",
    "StopFailure",
    "SubagentStart",
    "SubagentStop",
    "PreCompact",
    "PostCompact",
    "Elicitation",
    "ElicitationResult",
    "TeammateIdle",
    "TaskCreated",
    "TaskCompleted",
    "Setup",
    "InstructionsLoaded",
    "CwdChanged",
    "FileChanged",
    "ConfigChange",
    "WorktreeCreate",
    "WorktreeRemove",
    "SessionStart",
    "SessionEnd",
    "PreModelSwitch",
    "PostModelSwitch",
    "MessageDisplay",
    "DirectoryAdded",
];

/// Cursor's hook events.
pub const CURSOR_EVENTS: &[&str] = &[
    "sessionStart",
    "sessionEnd",
    "preToolUse",
    "postToolUse",
    "postToolUseFailure",
    "subagentStart",
    "subagentStop",
    "beforeShellExecution",
    "afterShellExecution",
    "beforeMCPExecution",
    "afterMCPExecution",
    "beforeReadFile",
    "afterFileEdit",
    "beforeSubmitPrompt",
    "preCompact",
    "stop",
    "afterAgentResponse",
    "afterAgentThought",
    "beforeTabFileRead",
    "afterTabFileEdit",
];

const FILE_FIELDS: &[&str] = &["$schema", "description", "version", "hooks"];
const GROUP_FIELDS: &[&str] = &["matcher", "hooks"];
const HANDLER_FIELDS: &[&str] = &[
    "type",
    "command",
    "args",
    "timeout",
    "async",
    "asyncRewake",
    "statusMessage",
    "once",
    "shell",
    "url",
    "headers",
    "allowedEnvVars",
    "prompt",
    "model",
    "server",
    "tool",
    "input",
];
const CURSOR_HANDLER_FIELDS: &[&str] = &["command", "type", "timeout", "matcher", "loop_limit"];
const HANDLER_TYPES: &[&str] = &["command", "http", "prompt", "agent", "mcp_tool"];

/// The hooks a file declares.
#[derive(Debug, Clone, Default)]
pub struct HooksFile {
    /// Hooks on plugctl moments, in file order.
    pub hooks: Vec<Hook>,
    /// Events of the file that plugctl has no moment for (their hooks are skipped).
    pub ignored_events: Vec<String>,
}

/// The plugctl moment for a host event, and the step action it is limited to.
pub fn plugctl_event(event: &str) -> Option<(&'static str, Option<&'static str>)> {
    match event {
        "PreToolUse" | "preToolUse" => Some(("pre_step", None)),
        "PostToolUse" | "postToolUse" => Some(("post_step", None)),
        "SessionStart" | "sessionStart" => Some(("pre_skill", None)),
        "SessionEnd" | "sessionEnd" => Some(("post_skill", None)),
        "beforeShellExecution" => Some(("pre_step", Some("run_command"))),
        "afterShellExecution" => Some(("post_step", Some("run_command"))),
        "beforeMCPExecution" => Some(("pre_step", Some("mcp_call"))),
        "afterMCPExecution" => Some(("post_step", Some("mcp_call"))),
        _ => None,
    }
}

/// Reads a hooks file's text; `shown` is its path as the user should see it.
pub fn parse_hooks_json(text: &str, shown: impl Into<PathBuf>) -> (HooksFile, Vec<Finding>) {
    let file = SourceFile::new(shown.into(), text);
    let mut f = Findings::new(file);
    let hooks = match parse_json(text) {
        Ok(doc) => decode_hooks_file(&mut f, &doc),
        Err(e) => {
            let message = format!("invalid JSON: {}", e.message);
            f.error(e.span, Code::JsonSyntax, message);
            HooksFile::default()
        }
    };
    (hooks, sorted(f.list))
}

pub(crate) fn sorted(mut findings: Vec<Finding>) -> Vec<Finding> {
    findings.sort_by_key(|f| f.span.offset());
    findings
}

/// Decodes a hooks file: `{"hooks": {"<Event>": [...]}}`.
pub fn decode_hooks_file(f: &mut Findings, doc: &Node) -> HooksFile {
    let Some(obj) = object_with(f, doc, "the hooks file", FILE_FIELDS, Unknown::Warning) else {
        return HooksFile::default();
    };
    obj.require(f, "hooks")
        .map(|events| decode_events(f, events))
        .unwrap_or_default()
}

/// Decodes an event map, `{"<Event>": [group or handler, ...]}` (also the
/// inline `hooks` of a `plugin.json`).
pub fn decode_events(f: &mut Findings, node: &Node) -> HooksFile {
    let mut out = HooksFile::default();
    let Some(entries) = node.as_map() else {
        f.error(
            node.span,
            Code::WrongType,
            format!(
                "`hooks` must map event names to lists, found {}",
                node.type_name()
            ),
        );
        return out;
    };
    for (key, value) in entries {
        let Some(event) = key.as_str() else { continue };
        let moment = plugctl_event(event);
        if moment.is_none() {
            report_ignored(f, key, event);
            out.ignored_events.push(event.to_owned());
        }
        let event = Spanned::new(event.to_owned(), key.span);
        for entry in list(f, value, &event.value) {
            let hooks = entry_hooks(f, entry, &event);
            if let Some((moment, action)) = moment {
                out.hooks.extend(hooks.into_iter().map(|h| Hook {
                    event: moment.to_owned(),
                    matcher: action.map(str::to_owned).or(h.matcher),
                    ..h
                }));
            }
        }
    }
    out
}

fn report_ignored(f: &mut Findings, key: &Node, event: &str) {
    if CLAUDE_EVENTS.contains(&event) || CURSOR_EVENTS.contains(&event) {
        f.warning(
            key.span,
            Code::Unsupported,
            format!("plugctl has no moment for `{event}`; its hooks are skipped when plugctl runs this plugin"),
        );
    } else {
        let known = CLAUDE_EVENTS.iter().chain(CURSOR_EVENTS).copied();
        let help = did_you_mean(event, known);
        f.warning_with_help(
            key.span,
            Code::UnknownEvent,
            format!("unknown hook event `{event}`; no host fires it"),
            help,
        );
    }
}

/// The hooks of one entry: a Claude group (`matcher` + `hooks`) or a Cursor handler.
fn entry_hooks(f: &mut Findings, entry: &Node, event: &Spanned<String>) -> Vec<Hook> {
    if entry.get("hooks").is_some() || entry.get("command").is_none() {
        let Some(group) = object_with(f, entry, "a hook group", GROUP_FIELDS, Unknown::Warning)
        else {
            return Vec::new();
        };
        let matcher = group
            .opt_string(f, "matcher")
            .map(|m| checked_matcher(f, m));
        let Some(handlers) = group.require(f, "hooks") else {
            return Vec::new();
        };
        return list(f, handlers, "hooks")
            .iter()
            .filter_map(|h| handler(f, h, event, matcher.clone()))
            .collect();
    }
    let what = "a Cursor hook";
    let Some(obj) = object_with(f, entry, what, CURSOR_HANDLER_FIELDS, Unknown::Warning) else {
        return Vec::new();
    };
    if CLAUDE_EVENTS.contains(&event.value.as_str()) {
        // Cursor's flat shape under a Claude Code event: plugctl runs it,
        // Claude Code's schema wants a group and does not.
        f.warning_with_help(
            entry.span,
            Code::MissingField,
            format!("a `command` straight under the Claude Code event `{}`: Claude Code only runs handlers listed in a group's `hooks`", event.value),
            Some(r#"wrap it: {"matcher": "...", "hooks": [{"type": "command", "command": "..."}]}"#.into()),
        );
    }
    let matcher = obj.opt_string(f, "matcher").map(|m| checked_matcher(f, m));
    let command = obj.req_string(f, "command");
    let timeout = seconds(f, &obj);
    command
        .map(|c| hook(event, shell(f, c), matcher, timeout, entry))
        .into_iter()
        .collect()
}

/// A matcher, with a warning when plugctl cannot compile it: the host may
/// (its regex dialect differs), but plugctl would refuse to set up the
/// plugin's hooks for a run.
fn checked_matcher(f: &mut Findings, matcher: Spanned<String>) -> String {
    if let Err(e) = crate::matcher::Matcher::parse(Some(&matcher.value)) {
        let message = format!(
            "matcher `{}` cannot be compiled by plugctl, so runs cannot set up this plugin's hooks: {e}",
            matcher.value
        );
        f.warning(matcher.span, Code::BadMatcher, message);
    }
    matcher.value
}

fn handler(
    f: &mut Findings,
    node: &Node,
    event: &Spanned<String>,
    matcher: Option<String>,
) -> Option<Hook> {
    let obj = object_with(f, node, "a hook", HANDLER_FIELDS, Unknown::Warning)?;
    let kind = obj.req_string(f, "type")?;
    let timeout = seconds(f, &obj);
    let handler = match kind.value.as_str() {
        "command" => command(f, &obj)?,
        "http" => {
            let url = obj.req_string(f, "url")?;
            f.warnings_only(|f| crate::native::check_url(f, &url, "url"));
            HookHandler::Http { url: url.value }
        }
        "prompt" | "agent" | "mcp_tool" => {
            unsupported_handler(f, &obj, &kind);
            return None;
        }
        other => {
            let help = did_you_mean(other, HANDLER_TYPES.iter().copied());
            let message = format!(
                "unknown hook type `{other}`; expected command, http, prompt, agent or mcp_tool"
            );
            f.error_with_help(kind.span, Code::UnknownValue, message, help);
            return None;
        }
    };
    Some(hook(event, handler, matcher, timeout, node))
}

fn command(f: &mut Findings, obj: &Obj<'_>) -> Option<HookHandler> {
    let line = obj.req_string(f, "command")?;
    match obj.get("args") {
        Some(args) => {
            let args = string_list(f, args, "args").into_iter().map(|a| a.value);
            let argv = std::iter::once(line.value).chain(args).collect();
            Some(HookHandler::Exec { argv })
        }
        None => Some(shell(f, line)),
    }
}

/// A command line the host runs through `sh -c`.
fn shell(f: &mut Findings, line: Spanned<String>) -> HookHandler {
    let start = line.span.offset() + 1; // the value starts after the opening quote
    // Without escapes in the source, the value's bytes are the literal's bytes.
    let exact = line.span.len() == line.value.len() + 2;
    for range in unquoted_uses(&line.value, "CLAUDE_PLUGIN_ROOT") {
        let span = match exact {
            true => miette::SourceSpan::new((start + range.start).into(), range.len()),
            false => line.span,
        };
        f.warning_with_help(
            span,
            Code::UnquotedPluginRoot,
            "`${CLAUDE_PLUGIN_ROOT}` is not quoted: the command breaks when the plugin is installed under a path with a space",
            Some("write it inside double quotes: \"${CLAUDE_PLUGIN_ROOT}/...\"".into()),
        );
    }
    HookHandler::Shell {
        command: line.value,
    }
}

fn unsupported_handler(f: &mut Findings, obj: &Obj<'_>, kind: &Spanned<String>) {
    let needed = match kind.value.as_str() {
        "prompt" | "agent" => "prompt",
        _ => "tool",
    };
    if obj.require(f, needed).is_some() {
        f.warning(
            kind.span,
            Code::Unsupported,
            format!(
                "plugctl does not run `{}` hooks; this one is skipped",
                kind.value
            ),
        );
    }
}

/// `timeout` in seconds (a number).
fn seconds(f: &mut Findings, obj: &Obj<'_>) -> Option<Duration> {
    let node = obj.get("timeout")?;
    let secs = match node.kind {
        NodeKind::Scalar(Scalar::Int(i)) => i as f64,
        NodeKind::Scalar(Scalar::Float(x)) => x,
        _ => {
            let message = format!(
                "`timeout` must be a number of seconds, found {}",
                node.type_name()
            );
            f.error(node.span, Code::WrongType, message);
            return None;
        }
    };
    if !(secs.is_finite() && secs > 0.0) {
        f.warning(
            node.span,
            Code::OutOfRange,
            "`timeout` must be more than 0 seconds; the default applies",
        );
        return None;
    }
    Duration::try_from_secs_f64(secs).ok()
}

fn hook(
    event: &Spanned<String>,
    handler: HookHandler,
    matcher: Option<String>,
    timeout: Option<Duration>,
    node: &Node,
) -> Hook {
    Hook {
        event: event.value.clone(),
        handler,
        critical: Some(false),
        timeout,
        matcher,
        aws: false,
        span: node.span,
        event_span: event.span,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Severity;

    fn codes(findings: &[Finding]) -> Vec<(Severity, &'static str)> {
        findings
            .iter()
            .map(|f| (f.severity, f.code.as_str()))
            .collect()
    }

    #[test]
    fn claude_events_map_onto_moments_and_others_are_listed() {
        let text = r#"{"hooks": {
            "PreToolUse": [{"matcher": "aws_api", "hooks": [
                {"type": "command", "command": "\"${CLAUDE_PLUGIN_ROOT}/a.sh\"", "timeout": 5},
                {"type": "command", "command": "node", "args": ["x.js"]}]}],
            "Stop": [{"hooks": [{"type": "command", "command": "true"}]}]
        }}"#;
        let (file, findings) = parse_hooks_json(text, "hooks.json");
        assert_eq!(codes(&findings), [(Severity::Warning, "unsupported")]);
        assert_eq!(file.ignored_events, ["Stop"]);
        assert_eq!(file.hooks.len(), 2);
        assert_eq!(file.hooks[0].event, "pre_step");
        assert!(matches!(file.hooks[0].handler, HookHandler::Shell { .. }));
        assert!(matches!(file.hooks[1].handler, HookHandler::Exec { .. }));
        assert_eq!(file.hooks[0].timeout, Some(Duration::from_secs(5)));
    }

    #[test]
    fn cursor_shell_events_match_run_command_steps() {
        let text =
            r#"{"version": 1, "hooks": {"beforeShellExecution": [{"command": "./audit.sh"}]}}"#;
        let (file, findings) = parse_hooks_json(text, "hooks.json");
        assert!(findings.is_empty(), "{findings:?}");
        assert_eq!(file.hooks[0].matcher.as_deref(), Some("run_command"));
    }

    #[test]
    fn unquoted_root_is_pointed_at_and_bad_types_are_errors() {
        let text = r#"{"hooks": {"PostToolUse": [{"hooks": [
            {"type": "command", "command": "bash ${CLAUDE_PLUGIN_ROOT}/x.sh"},
            {"type": "shell", "command": "x"}]}]}}"#;
        let (_, findings) = parse_hooks_json(text, "hooks.json");
        assert_eq!(
            codes(&findings),
            [
                (Severity::Warning, "unquoted-plugin-root"),
                (Severity::Error, "unknown-value")
            ]
        );
        let at = findings[0].span.offset();
        assert_eq!(
            &text[at..at + findings[0].span.len()],
            "${CLAUDE_PLUGIN_ROOT}"
        );
    }
}
