//! Hooks of plugins in the Claude Code layout: `hooks/hooks.json`, mapped onto plugctl's moments.
//!
//! `PreToolUse`/`PostToolUse` fire around each step (the step's action is the
//! tool name their matchers see), `SessionStart`/`SessionEnd` around the run.
//! Events with no plugctl counterpart (`UserPromptSubmit`, `Stop`, ...) are
//! listed as ignored rather than silently dropped. Claude Code treats a
//! failing hook as a non-blocking error, so these hooks are best-effort
//! (`critical: false`); blocking still works through exit 2 or JSON.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use plug_manifest::native::model::{Hook, HookHandler};
use serde::Deserialize;

/// Where a Claude Code plugin keeps its hooks.
pub const HOOKS_FILE: &str = "hooks/hooks.json";

/// The hooks read from a `hooks.json`.
#[derive(Debug, Clone)]
pub struct ClaudeHooks {
    /// Hooks on plugctl events, in file order.
    pub hooks: Vec<Hook>,
    /// Events of the file that plugctl has no moment for.
    pub ignored_events: Vec<String>,
}

/// Why a `hooks.json` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ClaudeHooksError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not the hooks format.
    #[error("{HOOKS_FILE}: {0}")]
    Format(String),
}

#[derive(Deserialize)]
struct File {
    hooks: BTreeMap<String, Vec<Group>>,
}

#[derive(Deserialize)]
struct Group {
    #[serde(default)]
    matcher: Option<String>,
    hooks: Vec<Handler>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Handler {
    Command {
        command: String,
        #[serde(default)]
        args: Option<Vec<String>>,
        #[serde(default)]
        timeout: Option<f64>,
    },
    Http {
        url: String,
        #[serde(default)]
        timeout: Option<f64>,
    },
}

/// The plugctl event for a Claude Code event, if there is one.
pub fn plugctl_event(claude_event: &str) -> Option<&'static str> {
    match claude_event {
        "PreToolUse" => Some("pre_step"),
        "PostToolUse" => Some("post_step"),
        "SessionStart" => Some("pre_skill"),
        "SessionEnd" => Some("post_skill"),
        _ => None,
    }
}

/// Reads `<root>/hooks/hooks.json`; `Ok(None)` when the plugin has none.
pub fn load(root: &Path) -> Result<Option<ClaudeHooks>, ClaudeHooksError> {
    let path = root.join(HOOKS_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse(&text).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ClaudeHooksError::Io {
            path: path.display().to_string(),
            source,
        }),
    }
}

/// Parses a `hooks.json` document.
pub fn parse(text: &str) -> Result<ClaudeHooks, ClaudeHooksError> {
    let file: File =
        serde_json::from_str(text).map_err(|e| ClaudeHooksError::Format(e.to_string()))?;
    let mut hooks = Vec::new();
    let mut ignored_events = Vec::new();
    for (claude_event, groups) in file.hooks {
        let Some(event) = plugctl_event(&claude_event) else {
            ignored_events.push(claude_event);
            continue;
        };
        for group in groups {
            for handler in group.hooks {
                hooks.push(hook(event, group.matcher.clone(), handler));
            }
        }
    }
    Ok(ClaudeHooks {
        hooks,
        ignored_events,
    })
}

fn hook(event: &str, matcher: Option<String>, handler: Handler) -> Hook {
    let seconds = |t: Option<f64>| {
        t.filter(|s| s.is_finite() && *s > 0.0)
            .map(Duration::from_secs_f64)
    };
    let (handler, timeout) = match handler {
        // Claude Code's command without `args` is a shell line: the format declares the shell.
        Handler::Command {
            command,
            args: None,
            timeout,
        } => (HookHandler::Shell { command }, seconds(timeout)),
        Handler::Command {
            command,
            args: Some(args),
            timeout,
        } => (
            HookHandler::Exec {
                argv: std::iter::once(command).chain(args).collect(),
            },
            seconds(timeout),
        ),
        Handler::Http { url, timeout } => (HookHandler::Http { url }, seconds(timeout)),
    };
    Hook {
        event: event.to_owned(),
        handler,
        critical: Some(false),
        timeout,
        matcher,
        span: (0, 0).into(),
        event_span: (0, 0).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_claude_events_onto_plugctl_moments() {
        let text = r#"{"description": "d", "hooks": {
            "PreToolUse": [{"matcher": "aws_api|Bash", "hooks": [
                {"type": "command", "command": "${CLAUDE_PLUGIN_ROOT}/check.sh", "timeout": 30},
                {"type": "command", "command": "node", "args": ["x.js"]}]}],
            "SessionEnd": [{"hooks": [{"type": "http", "url": "https://example.com/h"}]}],
            "UserPromptSubmit": [{"hooks": [{"type": "command", "command": "true"}]}]
        }}"#;
        let parsed = parse(text).expect("valid");
        assert_eq!(parsed.ignored_events, ["UserPromptSubmit"]);
        let summary: Vec<(String, String, Option<bool>)> = parsed
            .hooks
            .iter()
            .map(|h| (h.event.clone(), format!("{:?}", h.handler), h.critical))
            .collect();
        assert_eq!(summary.len(), 3);
        assert_eq!(summary[0].0, "pre_step");
        assert!(summary[0].1.starts_with("Shell"), "{summary:?}");
        assert!(summary[1].1.starts_with("Exec"), "{summary:?}");
        assert_eq!(summary[2].0, "post_skill");
        assert!(parsed.hooks.iter().all(|h| h.critical == Some(false)));
        assert_eq!(parsed.hooks[0].timeout, Some(Duration::from_secs(30)));
        assert_eq!(parsed.hooks[0].matcher.as_deref(), Some("aws_api|Bash"));
    }

    #[test]
    fn a_wrong_shape_is_an_error() {
        assert!(parse(r#"{"hooks": {"PreToolUse": [{"hooks": [{"type": "prompt"}]}]}}"#).is_err());
        assert!(parse("[]").is_err());
    }
}
