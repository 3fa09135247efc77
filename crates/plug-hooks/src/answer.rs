//! Reading what a hook answered: its exit status and its output, as Claude Code defines them.
//!
//! Exit 0 means success, and stdout is read as JSON when it starts with `{`.
//! Exit 2 blocks, with stderr as the reason. Any other end (another exit
//! code, a signal, a timeout, output over the cap, JSON that does not parse
//! or has the wrong shape) is a *failure*, which aborts the run only when the
//! hook is critical.

use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

/// How a hook's process (or request) ended, before its output is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "how", rename_all = "snake_case")]
pub enum Termination {
    /// It exited with this code (for an http hook: 0 for a 2xx answer).
    Exited {
        /// The exit code.
        code: i32,
    },
    /// A signal ended it.
    Signalled {
        /// The signal number.
        signal: i32,
    },
    /// It ran past its timeout; its process group was killed.
    TimedOut {
        /// The timeout, in milliseconds.
        after_ms: u64,
    },
    /// It wrote more than the cap to stdout or stderr; its process group was killed.
    OutputCapped {
        /// The cap, in bytes.
        cap: usize,
    },
    /// It could not be started or reached at all.
    NotStarted {
        /// Why.
        reason: String,
    },
    /// An http hook answered with a status other than 2xx.
    HttpStatus {
        /// The HTTP status.
        status: u16,
    },
}

impl Termination {
    /// The end of a process that ran past `timeout`.
    pub fn timed_out(timeout: Duration) -> Self {
        Termination::TimedOut {
            after_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

/// What a hook decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Go on.
    Allowed,
    /// Stop the step or skill.
    Blocked {
        /// Why (stderr for exit 2, or the JSON reason).
        reason: String,
    },
    /// The hook itself failed; what that means depends on its criticality.
    Failed {
        /// What went wrong, with the hook's stderr.
        reason: String,
    },
}

/// The optional parts of a successful JSON answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Advice {
    /// `systemMessage`: shown to the operator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_message: Option<String>,
    /// `hookSpecificOutput.additionalContext`: context for whoever drives the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_context: Option<String>,
    /// `hookSpecificOutput.updatedInput`: replacement input for the step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_input: Option<Value>,
}

/// Reads a hook's end and output into its verdict and advice.
pub fn interpret(end: &Termination, stdout: &[u8], stderr: &[u8]) -> (Verdict, Advice) {
    let failed = |what: String| {
        (
            Verdict::Failed {
                reason: with_stderr(what, stderr),
            },
            Advice::default(),
        )
    };
    match end {
        Termination::Exited { code: 0 } => read_stdout(stdout, stderr),
        Termination::Exited { code: 2 } => (
            Verdict::Blocked {
                reason: non_empty(text(stderr))
                    .unwrap_or_else(|| "blocked (exit code 2, nothing on stderr)".into()),
            },
            Advice::default(),
        ),
        Termination::Exited { code } => failed(format!("exit code {code}")),
        Termination::Signalled { signal } => failed(format!("killed by signal {signal}")),
        Termination::TimedOut { after_ms } => failed(format!(
            "timed out after {}; its process group was killed",
            humanize_ms(*after_ms)
        )),
        Termination::OutputCapped { cap } => failed(format!(
            "wrote more than {cap} bytes to stdout or stderr; its process group was killed"
        )),
        Termination::NotStarted { reason } => failed(format!("could not start: {reason}")),
        Termination::HttpStatus { status } => failed(format!("HTTP status {status}")),
    }
}

fn read_stdout(stdout: &[u8], stderr: &[u8]) -> (Verdict, Advice) {
    let out = text(stdout);
    if !out.trim_start().starts_with('{') {
        // Plain text on success is informational in Claude Code; it decides nothing.
        return (Verdict::Allowed, Advice::default());
    }
    let parsed = serde_json::from_str::<Map<String, Value>>(&out)
        .map_err(|e| format!("invalid JSON on stdout: {e}"))
        .and_then(|object| from_json(&object).map_err(|e| format!("invalid hook answer: {e}")));
    match parsed {
        Ok(answer) => answer,
        Err(what) => (
            Verdict::Failed {
                reason: with_stderr(what, stderr),
            },
            Advice::default(),
        ),
    }
}

/// Reads a JSON answer; an error names the field with the wrong shape.
fn from_json(object: &Map<String, Value>) -> Result<(Verdict, Advice), String> {
    let specific = match object.get("hookSpecificOutput") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(_) => return Err("`hookSpecificOutput` must be an object".into()),
    };
    let advice = Advice {
        system_message: string_field(object, "systemMessage")?,
        additional_context: string_field(&specific, "additionalContext")?,
        updated_input: specific.get("updatedInput").cloned(),
    };
    let verdict = stop_verdict(object)?
        .or(decision_verdict(object)?)
        .or(permission_verdict(&specific)?)
        .unwrap_or(Verdict::Allowed);
    Ok((verdict, advice))
}

/// `continue: false` stops everything, with `stopReason`.
fn stop_verdict(object: &Map<String, Value>) -> Result<Option<Verdict>, String> {
    match object.get("continue") {
        None | Some(Value::Null) | Some(Value::Bool(true)) => Ok(None),
        Some(Value::Bool(false)) => Ok(Some(Verdict::Blocked {
            reason: string_field(object, "stopReason")?
                .unwrap_or_else(|| "the hook stopped the run (`continue: false`)".into()),
        })),
        Some(_) => Err("`continue` must be true or false".into()),
    }
}

/// `decision: "block"` with `reason`; `approve` (older hosts) and `allow` go on.
fn decision_verdict(object: &Map<String, Value>) -> Result<Option<Verdict>, String> {
    match string_field(object, "decision")?.as_deref() {
        None | Some("approve" | "allow") => Ok(None),
        Some("block") => Ok(Some(Verdict::Blocked {
            reason: string_field(object, "reason")?
                .unwrap_or_else(|| "blocked by the hook (no reason given)".into()),
        })),
        Some(other) => Err(format!("`decision` must be \"block\", found {other:?}")),
    }
}

/// `permissionDecision`: `deny` blocks. `ask` blocks too: the hook port has no
/// way to ask a human, and an unanswered question must fail closed.
fn permission_verdict(specific: &Map<String, Value>) -> Result<Option<Verdict>, String> {
    let reason = string_field(specific, "permissionDecisionReason")?;
    match string_field(specific, "permissionDecision")?.as_deref() {
        None | Some("allow") => Ok(None),
        Some("deny") => Ok(Some(Verdict::Blocked {
            reason: reason.unwrap_or_else(|| "permission denied by the hook".into()),
        })),
        Some("ask") => Ok(Some(Verdict::Blocked {
            reason: format!(
                "the hook asks for approval, which hooks cannot obtain here{}",
                reason.map(|r| format!(": {r}")).unwrap_or_default()
            ),
        })),
        Some(other) => Err(format!(
            "`permissionDecision` must be allow, deny or ask, found {other:?}"
        )),
    }
}

fn string_field(object: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("`{key}` must be a string")),
    }
}

/// Output as text; invalid UTF-8 is replaced, not rejected.
pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn non_empty(s: String) -> Option<String> {
    let trimmed = s.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

fn with_stderr(what: String, stderr: &[u8]) -> String {
    match non_empty(text(stderr)) {
        Some(err) => format!("{what}; stderr: {err}"),
        None => what,
    }
}

fn humanize_ms(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exit(code: i32) -> Termination {
        Termination::Exited { code }
    }

    fn verdict(end: Termination, stdout: &str, stderr: &str) -> Verdict {
        interpret(&end, stdout.as_bytes(), stderr.as_bytes()).0
    }

    #[test]
    fn exit_two_blocks_with_stderr() {
        assert_eq!(
            verdict(exit(2), "{\"decision\":\"approve\"}", "too expensive\n"),
            Verdict::Blocked {
                reason: "too expensive".into()
            }
        );
    }

    #[test]
    fn json_decisions() {
        let block = r#"{"decision":"block","reason":"no"}"#;
        assert_eq!(
            verdict(exit(0), block, ""),
            Verdict::Blocked {
                reason: "no".into()
            }
        );
        let stop = r#"{"continue":false,"stopReason":"halt"}"#;
        assert_eq!(
            verdict(exit(0), stop, ""),
            Verdict::Blocked {
                reason: "halt".into()
            }
        );
        let deny = r#"{"hookSpecificOutput":{"permissionDecision":"deny","permissionDecisionReason":"policy"}}"#;
        assert_eq!(
            verdict(exit(0), deny, ""),
            Verdict::Blocked {
                reason: "policy".into()
            }
        );
        assert!(matches!(
            verdict(
                exit(0),
                r#"{"hookSpecificOutput":{"permissionDecision":"ask"}}"#,
                ""
            ),
            Verdict::Blocked { .. }
        ));
        assert_eq!(verdict(exit(0), "all good", ""), Verdict::Allowed);
    }

    #[test]
    fn advice_is_read_from_a_successful_answer() {
        let out = r#"{"continue":true,"systemMessage":"hi","hookSpecificOutput":{"additionalContext":"ctx","updatedInput":{"a":1}}}"#;
        let (v, advice) = interpret(&exit(0), out.as_bytes(), b"");
        assert_eq!(v, Verdict::Allowed);
        assert_eq!(advice.system_message.as_deref(), Some("hi"));
        assert_eq!(advice.additional_context.as_deref(), Some("ctx"));
        assert_eq!(advice.updated_input, Some(serde_json::json!({"a": 1})));
    }

    #[test]
    fn garbage_and_crashes_are_failures_with_stderr() {
        for (end, out) in [
            (exit(0), "{not json"),
            (exit(0), r#"{"decision":"maybe"}"#),
            (exit(0), r#"{"continue":"yes"}"#),
            (exit(1), ""),
            (Termination::Signalled { signal: 9 }, ""),
            (Termination::timed_out(Duration::from_secs(3)), ""),
            (Termination::OutputCapped { cap: 10 }, ""),
        ] {
            match verdict(end.clone(), out, "boom") {
                Verdict::Failed { reason } => assert!(reason.ends_with("stderr: boom"), "{reason}"),
                other => panic!("{end:?} {out}: {other:?}"),
            }
        }
    }
}
