//! The permission gate before step 1, and the approvals it may ask for.

use plug_core::Actor;
use plug_core::event::EventKind;
use plug_core::ports::{
    ApprovalAnswer, ApprovalRequest, ContextValue, Decision, PermissionRequest, PermissionVerdict,
};

use super::{Interpreter, RunOutcome, RunRequest, RunState};
use crate::journal::{Entry, RunLog};

impl Interpreter {
    /// Decides every action the skill needs for the run's actor. An action
    /// denied to an agent but allowed to a human becomes an approval: on yes,
    /// the run goes on as the approving human; on no, nothing has happened.
    pub(super) async fn gate(
        &self,
        req: &RunRequest,
        journal: &mut dyn RunLog,
        state: &mut RunState,
    ) -> Result<(), RunOutcome> {
        let Some(checker) = &self.ports.permissions else {
            return Ok(());
        };
        let mut needs_human = Vec::new();
        for action in &req.actions {
            let verdict = check(checker.as_ref(), req, action, state.actor)?;
            self.record(
                req,
                EventKind::PermissionChecked {
                    action: action.clone(),
                    decision: verdict.decision,
                },
            );
            if verdict.decision == Decision::Allow {
                continue;
            }
            let as_human = if state.actor == Actor::Agent {
                Some(check(checker.as_ref(), req, action, Actor::Human)?)
            } else {
                None
            };
            match as_human {
                Some(human) if human.decision == Decision::Allow => {
                    needs_human.push(action.clone())
                }
                _ => {
                    return Err(RunOutcome::Denied {
                        action: action.clone(),
                        decision: verdict.decision,
                        statements: verdict.statements,
                    });
                }
            }
        }
        if needs_human.is_empty() {
            return Ok(());
        }
        let reason = format!("{} may only be done by a human", needs_human.join(", "));
        let approver = self.approve(req, None, reason, needs_human, &[]).await?;
        state.actor = Actor::Human;
        state.source_identity = approver.clone();
        *state.invoker.lock().await = None;
        journal
            .append(&Entry::ActorChanged {
                actor: Actor::Human,
                approver,
            })
            .await
            .map_err(RunOutcome::journal_failed)
    }

    /// Asks a human; returns who approved, or the refusal as an outcome. An
    /// approval from someone outside `approvers` (when it names any) counts
    /// as a refusal, whoever's port let it through.
    pub(super) async fn approve(
        &self,
        req: &RunRequest,
        step: Option<&str>,
        reason: String,
        actions: Vec<String>,
        approvers: &[String],
    ) -> Result<String, RunOutcome> {
        self.record(
            req,
            EventKind::ApprovalRequested {
                step: step.map(str::to_owned),
            },
        );
        let request = ApprovalRequest {
            run_id: req.run_id.clone(),
            skill: req.skill.name.value.clone(),
            step: step.map(str::to_owned),
            reason,
            actions,
            approvers: approvers.to_vec(),
        };
        let answer = match self.ports.approver.ask(&request).await {
            ApprovalAnswer::Approved { approver }
                if !approvers.is_empty() && !approvers.contains(&approver) =>
            {
                ApprovalAnswer::Refused {
                    reason: Some(format!(
                        "`{approver}` is not among the step's approvers ({})",
                        approvers.join(", ")
                    )),
                    by: approver,
                }
            }
            answer => answer,
        };
        match answer {
            ApprovalAnswer::Approved { approver } => {
                self.record(
                    req,
                    EventKind::ApprovalGranted {
                        approver: approver.clone(),
                    },
                );
                Ok(approver)
            }
            ApprovalAnswer::Refused { by, reason } => {
                let reason = format!(
                    "refused by {by}{}",
                    reason.map(|r| format!(": {r}")).unwrap_or_default()
                );
                self.record(
                    req,
                    EventKind::ApprovalRefused {
                        reason: reason.clone(),
                    },
                );
                Err(RunOutcome::ApprovalRefused {
                    step: step.map(str::to_owned),
                    reason,
                })
            }
            ApprovalAnswer::Unanswered => {
                let reason = "nobody answered the approval request".to_owned();
                self.record(
                    req,
                    EventKind::ApprovalRefused {
                        reason: reason.clone(),
                    },
                );
                Err(RunOutcome::ApprovalRefused {
                    step: step.map(str::to_owned),
                    reason,
                })
            }
        }
    }
}

/// One decision for `actor`; a checker that cannot answer denies (fail closed).
fn check(
    checker: &dyn plug_core::ports::PermissionChecker,
    req: &RunRequest,
    action: &str,
    actor: Actor,
) -> Result<PermissionVerdict, RunOutcome> {
    let mut request = PermissionRequest {
        principal: req.principal.clone(),
        action: action.to_owned(),
        resource: "*".to_owned(),
        resource_account: None,
        context: Default::default(),
    };
    request.context.insert(
        "aws:PrincipalTag/ActorType".to_owned(),
        ContextValue::One(actor.to_string()),
    );
    checker.check(&request).map_err(|e| RunOutcome::Denied {
        action: format!("{action} ({e})"),
        decision: Decision::ImplicitDeny,
        statements: Vec::new(),
    })
}
