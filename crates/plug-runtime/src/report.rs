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
