//! What each hook did, and how the answers of one event combine into one decision.

use plug_core::ports::{HookDecision, HookError};
use serde::Serialize;

use crate::answer::{Advice, Termination, Verdict};
use crate::sandbox::LandlockLevel;

/// Everything known about one hook's run: for the CLI, the audit trail and tests.
#[derive(Debug, Clone, Serialize)]
pub struct HookReport {
    /// The hook's position among the plugin's hooks (manifest order, from 0).
    pub index: usize,
    /// The event it ran for.
    pub event: String,
    /// Its handler as written (path, command, `sh -c ...` or `POST url`).
    pub handler: String,
    /// Whether its failure aborts the run.
    pub critical: bool,
    /// What it decided.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// How it ended.
    pub end: Termination,
    /// Its messages, context and replacement input.
    #[serde(flatten)]
    pub advice: Advice,
    /// Its stdout (or the http answer's body), up to the cap.
    pub stdout: String,
    /// Its stderr, up to the cap.
    pub stderr: String,
    /// How it was confined.
    pub sandbox: SandboxReport,
    /// Wall-clock time, in milliseconds.
    pub duration_ms: u64,
}

/// How a hook was confined.
#[derive(Debug, Clone, Serialize)]
pub struct SandboxReport {
    /// What Landlock achieved (`disabled` for http hooks, which run no process).
    pub landlock: LandlockLevel,
    /// Resource limits that could not be applied, with the reason.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub limits_not_set: Vec<String>,
}

/// Combines the reports of one event, which must be in manifest order.
///
/// A critical hook's failure is an error: the gate could not be evaluated, so
/// the run aborts whatever the other hooks said (the first such hook in
/// manifest order names the error). Otherwise any block wins, with every
/// blocking reason in manifest order. Otherwise the run goes on with the
/// `systemMessage`s and the warnings of failed best-effort hooks, in manifest
/// order, and the first `updatedInput` in manifest order (a later, different
/// one is ignored with a warning: parallel hooks cannot chain rewrites).
pub fn combine(reports: &[HookReport]) -> Result<HookDecision, HookError> {
    if let Some((report, reason)) = reports.iter().find_map(|r| match &r.verdict {
        Verdict::Failed { reason } if r.critical => Some((r, reason)),
        _ => None,
    }) {
        return Err(HookError::CriticalFailure {
            hook: report.handler.clone(),
            reason: reason.clone(),
        });
    }
    let reasons: Vec<String> = reports
        .iter()
        .filter_map(|r| match &r.verdict {
            Verdict::Blocked { reason } => Some(reason.clone()),
            _ => None,
        })
        .collect();
    if !reasons.is_empty() {
        return Ok(HookDecision::Block { reasons });
    }
    let mut messages = Vec::new();
    let mut updated_input: Option<serde_json::Value> = None;
    for r in reports {
        if let Verdict::Failed { reason } = &r.verdict {
            messages.push(format!(
                "warning: best-effort hook `{}` failed: {reason}",
                r.handler
            ));
        }
        if let Some(message) = &r.advice.system_message {
            messages.push(message.clone());
        }
        match (&updated_input, &r.advice.updated_input) {
            (None, Some(new)) => updated_input = Some(new.clone()),
            (Some(old), Some(new)) if old != new => messages.push(format!(
                "warning: `updatedInput` of hook `{}` ignored: an earlier hook already replaced the input",
                r.handler
            )),
            _ => {}
        }
    }
    Ok(HookDecision::Continue {
        updated_input,
        messages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn report(index: usize, verdict: Verdict, critical: bool) -> HookReport {
        HookReport {
            index,
            event: "pre_step".into(),
            handler: format!("h{index}"),
            critical,
            verdict,
            end: Termination::Exited { code: 0 },
            advice: Advice {
                system_message: Some(format!("m{index}")),
                ..Advice::default()
            },
            stdout: String::new(),
            stderr: String::new(),
            sandbox: SandboxReport {
                landlock: LandlockLevel::Disabled,
                limits_not_set: Vec::new(),
            },
            duration_ms: 0,
        }
    }

    fn verdict_strategy() -> impl Strategy<Value = (Verdict, bool)> {
        let verdict = prop_oneof![
            Just(Verdict::Allowed),
            "[a-z]{1,4}".prop_map(|reason| Verdict::Blocked { reason }),
            "[a-z]{1,4}".prop_map(|reason| Verdict::Failed { reason }),
        ];
        (verdict, any::<bool>())
    }

    proptest! {
        /// The decision follows the rules for any mix of answers, and block
        /// reasons keep manifest order.
        #[test]
        fn combination_follows_the_rules(answers in proptest::collection::vec(verdict_strategy(), 0..12)) {
            let reports: Vec<HookReport> = answers
                .iter()
                .enumerate()
                .map(|(i, (v, critical))| report(i, v.clone(), *critical))
                .collect();
            let critical_failure = reports.iter().find(|r| r.critical && matches!(r.verdict, Verdict::Failed { .. }));
            let blocks: Vec<String> = reports.iter().filter_map(|r| match &r.verdict {
                Verdict::Blocked { reason } => Some(reason.clone()),
                _ => None,
            }).collect();
            match combine(&reports) {
                Err(HookError::CriticalFailure { hook, .. }) => {
                    prop_assert_eq!(Some(hook), critical_failure.map(|r| r.handler.clone()));
                }
                Ok(HookDecision::Block { reasons }) => {
                    prop_assert!(critical_failure.is_none());
                    prop_assert_eq!(reasons, blocks);
                }
                Ok(HookDecision::Continue { messages, .. }) => {
                    prop_assert!(critical_failure.is_none() && blocks.is_empty());
                    let warnings = messages.iter().filter(|m| m.starts_with("warning:")).count();
                    let failed = reports.iter().filter(|r| matches!(r.verdict, Verdict::Failed { .. })).count();
                    prop_assert_eq!(warnings, failed);
                }
            }
        }
    }

    #[test]
    fn first_updated_input_wins_and_a_conflict_is_reported() {
        let mut a = report(0, Verdict::Allowed, false);
        a.advice.updated_input = Some(serde_json::json!({"x": 1}));
        let mut b = report(1, Verdict::Allowed, false);
        b.advice.updated_input = Some(serde_json::json!({"x": 2}));
        let Ok(HookDecision::Continue {
            updated_input,
            messages,
        }) = combine(&[a, b])
        else {
            panic!("expected continue");
        };
        assert_eq!(updated_input, Some(serde_json::json!({"x": 1})));
        assert!(
            messages.iter().any(|m| m.contains("`h1` ignored")),
            "{messages:?}"
        );
    }
}
