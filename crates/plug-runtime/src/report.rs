//! How front ends describe a run in one line, the same everywhere: as it
//! starts, and how it ended and why.

use plug_skill::{Journal, RunOutcome, RunReport};

use crate::prepare::Prepared;

/// `run <id> (<plugin> / <skill>), journal <path>`.
pub fn started(prepared: &Prepared, journal: &Journal) -> String {
    let request = &prepared.request;
    format!(
        "run {} ({} / {}), journal {}",
        request.run_id,
        request.plugin,
        request.skill.name.value,
        journal.path().display()
    )
}

/// How a run ended and why (the statements behind a denial).
pub fn summary(report: &RunReport) -> String {
    match &report.outcome {
        RunOutcome::Succeeded => "succeeded".to_owned(),
        RunOutcome::StepFailed { step, error } => format!("failed at step {step}: {error}"),
        RunOutcome::Denied {
            action,
            decision,
            statements,
        } => {
            let by: Vec<String> = statements
                .iter()
                .map(|s| {
                    let sid = s.sid.as_ref().map(|sid| format!(" ({sid})"));
                    format!("{}#{}{}", s.policy, s.index, sid.unwrap_or_default())
                })
                .collect();
            let by = if by.is_empty() {
                String::new()
            } else {
                format!(" by {}", by.join(", "))
            };
            format!("denied before any step: {action} is {decision:?}{by}")
        }
        RunOutcome::ApprovalRefused { reason, .. } => {
            format!("stopped: approval refused ({reason})")
        }
        RunOutcome::Blocked { reasons } => format!("blocked by a hook: {}", reasons.join("; ")),
        RunOutcome::Interrupted { reason } => format!(
            "interrupted: {reason}; continue with `plugctl resume {}`",
            report.run_id
        ),
        RunOutcome::JournalFailed { error } => {
            format!("stopped: the run journal could not be written ({error})")
        }
    }
}

/// Whether deny-by-default lets a prepared run start, for `plan` and `inspect`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Admission {
    /// Whether it may start.
    pub allowed: bool,
    /// Why not, when it may not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// What it waives when it starts (`unchecked`, `base-identity`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waives: Vec<&'static str>,
    /// What its role sessions are limited to, enforced by AWS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_policy: Option<crate::session_policy::SessionPolicy>,
}

/// A plan as JSON with the run's admission beside its steps (`plan --output
/// json`, and `serve`'s dry runs).
pub fn plan_json(plan: &plug_skill::plan::Plan, prepared: &Prepared) -> serde_json::Value {
    let mut json = serde_json::to_value(plan).unwrap_or_default();
    json["admission"] = serde_json::to_value(admission(prepared)).unwrap_or_default();
    json
}

/// The admission of `prepared`.
pub fn admission(prepared: &Prepared) -> Admission {
    Admission {
        allowed: prepared.admission.is_ok(),
        refused: prepared.admission.as_ref().err().map(ToString::to_string),
        waives: prepared.request.governance.labels(),
        session_policy: (prepared.session_policy.clone())
            .filter(|_| !prepared.request.actions.is_empty()),
    }
}

impl std::fmt::Display for Admission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.refused {
            Some(why) => write!(f, "refused: {why}")?,
            None if self.waives.is_empty() => write!(f, "allowed")?,
            None => write!(f, "allowed, waiving: {}", self.waives.join(", "))?,
        }
        if let Some(policy) = &self.session_policy {
            write!(
                f,
                "\nsession policy (enforced by AWS): {}",
                policy.actions.join(", ")
            )?;
            if policy.collapsed {
                write!(
                    f,
                    " (collapsed to service wildcards: the skill's actions exceed AWS's \
                     2,048-character limit for session policies)"
                )?;
            }
        }
        Ok(())
    }
}
