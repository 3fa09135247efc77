//! `plugctl plan`: what a run would do, computed without side effects: the
//! steps with their values resolved as far as they can be before the run, the
//! IAM actions with their decisions, the hooks that will fire and the
//! approvals that will be asked for.

use plug_core::Actor;
use plug_core::ports::{
    ContextValue, DecidingStatement, Decision, PermissionChecker, PermissionRequest,
};
use plug_manifest::inspect::target;
use plug_manifest::native::model::{Action, Hook, Step};
use serde::Serialize;

use crate::engine::RunRequest;
use crate::template::{ResolveError, Scope};

/// A dry run's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// Steps in order.
    pub steps: Vec<PlannedStep>,
    /// Each IAM action and what the gate will decide.
    pub actions: Vec<PlannedAction>,
    /// Hook events that will fire, with their handlers.
    pub hooks: Vec<PlannedHook>,
    /// Params the run lacks: it would stop when it reaches them.
    pub missing_params: Vec<String>,
}

/// One step as it would run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedStep {
    /// Name.
    pub name: String,
    /// Action.
    pub action: &'static str,
    /// What it touches (`lambda update_function_code`, the command line, ...).
    pub target: String,
    /// Its inputs with params filled in; step outputs stay as `<placeholders>`.
    pub inputs: serde_json::Value,
    /// Its condition, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// What runs if it fails.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
    /// Whether it asks a human (an `approval` step).
    pub asks_approval: bool,
}

/// One IAM action and the gate's verdict for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedAction {
    /// The action.
    pub action: String,
    /// The decision for the run's actor (`None` when no policy is configured).
    pub decision: Option<Decision>,
    /// Whether a human approval would let the run go on.
    pub needs_approval: bool,
    /// The statements that decided it.
    pub statements: Vec<DecidingStatement>,
}

/// A hook that will fire.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedHook {
    /// The event.
    pub event: String,
    /// Whether its failure aborts the run.
    pub critical: bool,
}

/// Plans `req` without running anything.
pub fn plan(req: &RunRequest, hooks: &[Hook], checker: Option<&dyn PermissionChecker>) -> Plan {
    let mut scope = Scope {
        params: req.params.clone(),
        config: req.config.clone(),
        workdir: req.workdir.clone(),
        ..Scope::default()
    };
    for name in ["run_id", "actor", "plugin", "skill", "timestamp", "date"] {
        scope.builtins.insert(
            name.to_owned(),
            plug_core::Value::String(format!("<{name}>")),
        );
    }
    scope.builtins.extend(req.builtins.clone());
    let mut missing = Vec::new();
    let steps = req
        .skill
        .steps
        .iter()
        .map(|step| planned_step(step, &scope, &mut missing))
        .collect();
    missing.sort();
    missing.dedup();
    let actions = req
        .actions
        .iter()
        .map(|a| planned_action(req, a, checker))
        .collect();
    let events = [
        "pre_skill".to_owned(),
        format!("pre_{}", req.skill.kind),
        "pre_step".into(),
        "post_step".into(),
        format!("post_{}", req.skill.kind),
        "post_skill".into(),
        "on_failure".into(),
    ];
    let hooks = hooks
        .iter()
        .filter(|h| events.contains(&h.event))
        .map(|h| PlannedHook {
            event: h.event.clone(),
            critical: h.is_critical(),
        })
        .collect();
    Plan {
        steps,
        actions,
        hooks,
        missing_params: missing,
    }
}

fn planned_step(step: &Step, scope: &Scope, missing: &mut Vec<String>) -> PlannedStep {
    PlannedStep {
        name: step.name.clone(),
        action: step.action.name(),
        target: target(&step.action),
        inputs: preview(&inputs_of(&step.action), scope, missing),
        when: step.when.clone(),
        fallback: step.fallback.as_ref().map(|f| target(&f.action)),
        asks_approval: matches!(step.action, Action::Approval { .. }),
    }
}

fn inputs_of(action: &Action) -> serde_json::Value {
    match action {
        Action::AwsApi { params, .. } | Action::WaitFor { params, .. } => params.clone(),
        Action::McpCall { arguments, .. } => arguments.clone(),
        _ => serde_json::Value::Null,
    }
}

/// Resolves what can be resolved now; leaves step outputs and files as written.
fn preview(
    template: &serde_json::Value,
    scope: &Scope,
    missing: &mut Vec<String>,
) -> serde_json::Value {
    match template {
        serde_json::Value::String(text) => match scope.resolve_str(text) {
            Ok(value) => value.to_json(),
            Err(ResolveError::Missing(name)) if !name.is_empty() => {
                // Could come from an earlier step's response at run time.
                if !looks_like_step_output(&name) {
                    missing.push(name);
                }
                serde_json::Value::String(text.clone())
            }
            Err(_) => serde_json::Value::String(text.clone()),
        },
        serde_json::Value::Array(items) => {
            items.iter().map(|i| preview(i, scope, missing)).collect()
        }
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), preview(v, scope, missing)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `function_arn`-style names usually come from an AWS response; plan can't know.
fn looks_like_step_output(name: &str) -> bool {
    ["_arn", "_id", "_url", "_name"]
        .iter()
        .any(|suffix| name.ends_with(suffix))
        && name != "function_name"
}

fn planned_action(
    req: &RunRequest,
    action: &str,
    checker: Option<&dyn PermissionChecker>,
) -> PlannedAction {
    let Some(checker) = checker else {
        return PlannedAction {
            action: action.to_owned(),
            decision: None,
            needs_approval: false,
            statements: Vec::new(),
        };
    };
    let ask = |actor: Actor| {
        let mut request = PermissionRequest {
            principal: req.principal.clone(),
            action: action.to_owned(),
            resource: "*".into(),
            resource_account: None,
            context: Default::default(),
        };
        request.context.insert(
            "aws:PrincipalTag/ActorType".into(),
            ContextValue::One(actor.to_string()),
        );
        checker.check(&request).ok()
    };
    let verdict = ask(req.actor);
    let decision = verdict.as_ref().map(|v| v.decision);
    let needs_approval = req.actor == Actor::Agent
        && decision != Some(Decision::Allow)
        && ask(Actor::Human).is_some_and(|v| v.decision == Decision::Allow);
    PlannedAction {
        action: action.to_owned(),
        decision,
        needs_approval,
        statements: verdict.map(|v| v.statements).unwrap_or_default(),
    }
}

/// The plan as people read it: steps, IAM decisions, hooks, missing params.
impl std::fmt::Display for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, step) in self.steps.iter().enumerate() {
            let fallback = step
                .fallback
                .as_ref()
                .map(|fb| format!(" (fallback: {fb})"));
            let (name, action, target) = (&step.name, step.action, &step.target);
            let fallback = fallback.unwrap_or_default();
            writeln!(f, "  {}. {name:<20} {action:<12} {target}{fallback}", i + 1)?;
            if !step.inputs.is_null() {
                writeln!(f, "       inputs: {}", step.inputs)?;
            }
        }
        if !self.actions.is_empty() {
            writeln!(f, "IAM actions:")?;
        }
        for a in &self.actions {
            let decision = a.decision.map_or_else(
                || "not checked (no --policy)".to_owned(),
                |d| format!("{d:?}"),
            );
            let approval = if a.needs_approval {
                " -> needs a human approval"
            } else {
                ""
            };
            writeln!(f, "  {:<32} {decision}{approval}", a.action)?;
        }
        for hook in &self.hooks {
            let how = if hook.critical {
                "critical"
            } else {
                "best-effort"
            };
            writeln!(f, "hook {} ({how})", hook.event)?;
        }
        if !self.missing_params.is_empty() {
            writeln!(f, "missing params: {}", self.missing_params.join(", "))?;
        }
        Ok(())
    }
}
