//! The JSON object a hook reads on stdin: plugctl's fields plus Claude Code's.

use std::collections::BTreeSet;
use std::path::Path;

use plug_core::ports::HookInput;
use serde_json::{Map, Value, json};

/// What replaces a sensitive parameter's value.
pub const REDACTED: &str = "[redacted]";

/// The Claude Code event name for a plugctl event, when one corresponds.
///
/// Hooks written for Claude Code check `hook_event_name`; around each step
/// they expect `PreToolUse`/`PostToolUse`, around the run `SessionStart`/`SessionEnd`.
pub fn claude_event_name(event: &str) -> &str {
    match event {
        "pre_step" => "PreToolUse",
        "post_step" => "PostToolUse",
        "pre_skill" => "SessionStart",
        "post_skill" => "SessionEnd",
        other => other,
    }
}

/// Builds the stdin object without `cwd`, which differs per hook (see [`with_cwd`]).
///
/// Parameters named in `sensitive` are redacted again here: the port promises
/// redacted input, and a hook host that trusts no caller with secrets is
/// cheap insurance.
pub fn stdin_object(input: &HookInput, sensitive: &BTreeSet<String>) -> Map<String, Value> {
    let params = redact(&input.params, sensitive);
    // The port carries no step input yet, so Claude-style hooks get the run's
    // (redacted) params as `tool_input`: the closest thing they can inspect.
    let tool_input = params.clone();
    let mut object = Map::new();
    object.insert("event".into(), json!(input.event));
    object.insert("run_id".into(), json!(input.run_id));
    object.insert("plugin".into(), json!(input.plugin));
    object.insert("skill".into(), json!(input.skill));
    object.insert("step".into(), json!(input.step));
    object.insert("action".into(), json!(input.action));
    object.insert("params".into(), params);
    object.insert("actor".into(), json!(input.actor));
    object.insert(
        "hook_event_name".into(),
        json!(claude_event_name(&input.event)),
    );
    object.insert("session_id".into(), json!(input.run_id));
    object.insert("tool_name".into(), json!(input.action));
    object.insert("tool_input".into(), tool_input);
    object
}

/// The stdin bytes for one hook, whose working directory is `cwd`.
pub fn with_cwd(object: &Map<String, Value>, cwd: &Path) -> Vec<u8> {
    let mut object = object.clone();
    object.insert("cwd".into(), json!(cwd.to_string_lossy()));
    serde_json::to_vec(&Value::Object(object)).unwrap_or_default()
}

fn redact(params: &Value, sensitive: &BTreeSet<String>) -> Value {
    match params {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if sensitive.contains(k) {
                        json!(REDACTED)
                    } else {
                        v.clone()
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plug_core::{Actor, RunId};

    #[test]
    fn carries_plugctl_and_claude_fields_with_secrets_redacted() {
        let input = HookInput {
            event: "pre_step".into(),
            run_id: RunId::new("r1").expect("run id"),
            plugin: "p".into(),
            skill: "s".into(),
            step: Some("deploy".into()),
            action: Some("aws_api".into()),
            params: json!({"fn": "f", "db_password": "hunter2"}),
            actor: Actor::Agent,
            trace: None,
        };
        let sensitive = BTreeSet::from(["db_password".to_owned()]);
        let bytes = with_cwd(&stdin_object(&input, &sensitive), Path::new("/tmp/x"));
        let v: Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(v["hook_event_name"], "PreToolUse");
        assert_eq!(v["session_id"], "r1");
        assert_eq!(v["tool_name"], "aws_api");
        assert_eq!(v["cwd"], "/tmp/x");
        assert_eq!(v["actor"], "agent");
        assert_eq!(v["params"]["db_password"], REDACTED);
        assert_eq!(v["tool_input"]["db_password"], REDACTED);
        assert!(!String::from_utf8_lossy(&bytes).contains("hunter2"));
    }
}
