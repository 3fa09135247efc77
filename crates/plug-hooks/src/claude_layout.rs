//! Hooks of plugins in the Claude Code layout: `hooks/hooks.json`, mapped onto plugctl's moments.
//!
//! `PreToolUse`/`PostToolUse` fire around each step (the step's action is the
//! tool name their matchers see), `SessionStart`/`SessionEnd` around the run.
//! Events with no plugctl counterpart (`UserPromptSubmit`, `Stop`, ...) are
//! listed as ignored rather than silently dropped. Claude Code treats a
//! failing hook as a non-blocking error, so these hooks are best-effort
//! (`critical: false`); blocking still works through exit 2 or JSON.

use std::path::Path;

use plug_manifest::Severity;
use plug_manifest::ecosystem::hooks_json;
use plug_manifest::native::model::Hook;

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

/// The plugctl event for a Claude Code event, if there is one.
pub fn plugctl_event(claude_event: &str) -> Option<&'static str> {
    hooks_json::plugctl_event(claude_event).map(|(moment, _)| moment)
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

/// Parses a `hooks.json` document with plug-manifest's parser (the one
/// `plugctl validate` uses); the first error makes the file unusable.
pub fn parse(text: &str) -> Result<ClaudeHooks, ClaudeHooksError> {
    let (file, findings) = hooks_json::parse_hooks_json(text, HOOKS_FILE);
    if let Some(error) = findings.iter().find(|f| f.severity == Severity::Error) {
        let (line, column) = error.line_col();
        return Err(ClaudeHooksError::Format(format!(
            "{line}:{column}: {}",
            error.message
        )));
    }
    Ok(ClaudeHooks {
        hooks: file.hooks,
        ignored_events: file.ignored_events,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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
