//! Run events folded into CloudWatch metric data.
//!
//! Every event adds one observation to a statistic set keyed by metric,
//! dimensions and minute, so any number of events in a minute costs one datum
//! per metric and dimension set: 100,000 events of one skill become a handful
//! of datums, not 100,000 (the API takes at most [`MAX_DATUMS_PER_CALL`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use plug_core::event::{EventKind, RunEvent};
use plug_core::ports::Decision;
use plug_core::{Actor, RunId};
use serde::{Deserialize, Serialize};

/// PutMetricData's limit on metric data per request.
pub const MAX_DATUMS_PER_CALL: usize = 1000;

/// The metrics plugctl publishes.
pub mod names {
    /// Runs started.
    pub const INVOCATIONS: &str = "Invocations";
    /// Runs that ended `failed` or `interrupted` (1), or otherwise (0).
    pub const ERRORS: &str = "Errors";
    /// Run wall time, milliseconds.
    pub const LATENCY: &str = "Latency";
    /// Step wall time, milliseconds.
    pub const STEP_LATENCY: &str = "StepLatency";
    /// Hooks that failed or blocked.
    pub const HOOK_FAILURES: &str = "HookFailures";
    /// Permission checks that denied.
    pub const PERMISSION_DENIED: &str = "PermissionDenied";
    /// Approval requests.
    pub const APPROVALS_REQUESTED: &str = "ApprovalsRequested";
    /// AWS calls whose IAM action the skill does not declare (unexpected calls).
    pub const UNDECLARED_CALLS: &str = "UndeclaredCalls";
    /// AWS calls AWS refused as not authorized.
    pub const ACCESS_DENIED: &str = "AccessDenied";
}

/// Whether an AWS error code says the caller was not authorized
/// (`AccessDenied`, `AccessDeniedException`, `UnauthorizedOperation`,
/// `AuthorizationError`, `*NotAuthorized*`).
pub fn is_access_denied(code: &str) -> bool {
    code.starts_with("AccessDenied")
        || code == "UnauthorizedOperation"
        || code == "AuthorizationError"
        || code.contains("NotAuthorized")
}

/// The unit of a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Unit {
    /// A count.
    Count,
    /// Milliseconds.
    Milliseconds,
}

/// The dimensions every datum carries.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Dimensions {
    /// Plugin name.
    pub plugin: String,
    /// Skill name.
    pub skill: String,
    /// `agent` or `human`: who the run started as.
    pub actor_type: String,
}

/// One statistic set ready for PutMetricData.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Datum {
    /// Metric name (see [`names`]).
    pub name: String,
    /// Its dimensions.
    pub dimensions: Dimensions,
    /// Start of the minute it covers, seconds since the epoch.
    pub minute: u64,
    /// Its unit.
    pub unit: Unit,
    /// Observations.
    pub sample_count: f64,
    /// Sum of the observations.
    pub sum: f64,
    /// Smallest observation.
    pub minimum: f64,
    /// Largest observation.
    pub maximum: f64,
}

impl Datum {
    fn observe(&mut self, value: f64) {
        self.sample_count += 1.0;
        self.sum += value;
        self.minimum = self.minimum.min(value);
        self.maximum = self.maximum.max(value);
    }
}

/// Shared, so folding an event into its statistic set clones a pointer, not
/// three strings.
type Key = (&'static str, Arc<Dimensions>, u64);

/// Folds events into statistic sets until drained.
#[derive(Debug, Default)]
pub struct Aggregator {
    runs: HashMap<RunId, Arc<Dimensions>>,
    data: BTreeMap<Key, Datum>,
}

impl Aggregator {
    /// An empty aggregator.
    pub fn new() -> Self {
        Aggregator::default()
    }

    /// Adds the observations an event implies (most events imply none).
    pub fn observe(&mut self, event: &RunEvent) {
        if let EventKind::RunStarted {
            plugin,
            skill,
            actor,
            ..
        } = &event.kind
        {
            let dims = Dimensions {
                plugin: plugin.clone(),
                skill: skill.clone(),
                actor_type: actor_type(*actor).to_owned(),
            };
            self.runs.insert(event.run_id.clone(), Arc::new(dims));
        }
        let minute = event.at_ms / 60_000 * 60;
        for (name, unit, value) in observations(&event.kind).into_iter().flatten() {
            let dims = self
                .runs
                .get(&event.run_id)
                .cloned()
                .unwrap_or_else(|| Arc::new(unknown_run()));
            self.data
                .entry((name, Arc::clone(&dims), minute))
                .or_insert_with(|| Datum {
                    name: name.to_owned(),
                    dimensions: Dimensions::clone(&dims),
                    minute,
                    unit,
                    sample_count: 0.0,
                    sum: 0.0,
                    minimum: f64::INFINITY,
                    maximum: f64::NEG_INFINITY,
                })
                .observe(value);
        }
        if matches!(event.kind, EventKind::RunFinished { .. }) {
            self.runs.remove(&event.run_id);
        }
    }

    /// Whether anything waits to be drained.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Takes the accumulated datums, in batches PutMetricData accepts.
    pub fn drain(&mut self) -> Vec<Vec<Datum>> {
        let data: Vec<Datum> = std::mem::take(&mut self.data).into_values().collect();
        data.chunks(MAX_DATUMS_PER_CALL)
            .map(<[Datum]>::to_vec)
            .collect()
    }
}

fn actor_type(actor: Actor) -> &'static str {
    match actor {
        Actor::Agent => "agent",
        Actor::Human => "human",
    }
}

/// Events of a run whose start this process never saw (it cannot happen
/// through the interpreter, which always records `RunStarted` first).
fn unknown_run() -> Dimensions {
    Dimensions {
        plugin: "unknown".into(),
        skill: "unknown".into(),
        actor_type: "unknown".into(),
    }
}

/// The observations an event implies: at most two (a finished run has a
/// latency and an error bit).
fn observations(kind: &EventKind) -> [Option<(&'static str, Unit, f64)>; 2] {
    use names::*;
    let count = |name| Some((name, Unit::Count, 1.0));
    #[allow(clippy::cast_precision_loss)] // durations in ms fit an f64 exactly
    let millis = |name, ms: &u64| Some((name, Unit::Milliseconds, *ms as f64));
    let one = match kind {
        EventKind::RunStarted { .. } => count(INVOCATIONS),
        EventKind::StepFinished { duration_ms, .. } => millis(STEP_LATENCY, duration_ms),
        EventKind::HookRan { outcome, .. } if outcome != "ok" => count(HOOK_FAILURES),
        EventKind::PermissionChecked { decision, .. } if *decision != Decision::Allow => {
            count(PERMISSION_DENIED)
        }
        EventKind::ApprovalRequested { .. } => count(APPROVALS_REQUESTED),
        EventKind::AwsApiCalled {
            undeclared,
            error_code,
            ..
        } => {
            let denied = error_code.as_deref().is_some_and(is_access_denied);
            return [
                undeclared.then_some((UNDECLARED_CALLS, Unit::Count, 1.0)),
                denied.then_some((ACCESS_DENIED, Unit::Count, 1.0)),
            ];
        }
        EventKind::RunFinished {
            outcome,
            duration_ms,
        } => {
            let failed = matches!(outcome.as_str(), "failed" | "interrupted");
            let error = Some((ERRORS, Unit::Count, if failed { 1.0 } else { 0.0 }));
            return [millis(LATENCY, duration_ms), error];
        }
        _ => None,
    };
    [one, None]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(run: &str, at_ms: u64, kind: EventKind) -> RunEvent {
        RunEvent {
            run_id: RunId::new(run).expect("id"),
            at_ms,
            kind,
        }
    }

    fn started(run: &str, at_ms: u64) -> RunEvent {
        event(
            run,
            at_ms,
            EventKind::RunStarted {
                plugin: "p".into(),
                version: "1".into(),
                skill: "s".into(),
                actor: Actor::Agent,
                governance: Default::default(),
            },
        )
    }

    fn finished(run: &str, at_ms: u64, outcome: &str, ms: u64) -> RunEvent {
        event(
            run,
            at_ms,
            EventKind::RunFinished {
                outcome: outcome.into(),
                duration_ms: ms,
            },
        )
    }

    fn find<'a>(batches: &'a [Vec<Datum>], name: &str) -> Vec<&'a Datum> {
        batches
            .iter()
            .flatten()
            .filter(|d| d.name == name)
            .collect()
    }

    #[test]
    fn runs_in_one_minute_fold_into_one_statistic_set() {
        let mut agg = Aggregator::new();
        for (i, outcome) in ["succeeded", "failed", "succeeded"].iter().enumerate() {
            let run = format!("r{i}");
            agg.observe(&started(&run, 1_000));
            agg.observe(&finished(&run, 2_000, outcome, 10 * (i as u64 + 1)));
        }
        let batches = agg.drain();
        let inv = find(&batches, names::INVOCATIONS);
        assert_eq!(inv.len(), 1);
        assert_eq!(inv[0].sample_count, 3.0);
        assert_eq!(inv[0].dimensions.actor_type, "agent");
        let errors = find(&batches, names::ERRORS);
        assert_eq!((errors[0].sample_count, errors[0].sum), (3.0, 1.0));
        let latency = find(&batches, names::LATENCY);
        assert_eq!(
            (latency[0].minimum, latency[0].maximum, latency[0].sum),
            (10.0, 30.0, 60.0)
        );
        assert!(agg.is_empty());
    }

    #[test]
    fn undeclared_and_refused_calls_are_counted_per_skill_and_actor() {
        let call = |undeclared, error_code: Option<&str>| {
            event(
                "r1",
                1_500,
                EventKind::AwsApiCalled {
                    service: "lambda".into(),
                    operation: "delete_function".into(),
                    request_id: None,
                    status: Some(403),
                    duration_ms: 5,
                    caller_arn: None,
                    error_code: error_code.map(str::to_owned),
                    undeclared,
                },
            )
        };
        let mut agg = Aggregator::new();
        agg.observe(&started("r1", 1_000));
        agg.observe(&call(true, Some("AccessDeniedException")));
        agg.observe(&call(true, None));
        agg.observe(&call(false, Some("ResourceNotFoundException")));
        agg.observe(&call(false, Some("UnauthorizedOperation")));
        let batches = agg.drain();
        let undeclared = find(&batches, names::UNDECLARED_CALLS);
        assert_eq!(undeclared[0].sum, 2.0);
        assert_eq!(undeclared[0].dimensions.skill, "s");
        let denied = find(&batches, names::ACCESS_DENIED);
        assert_eq!(denied[0].sum, 2.0);
    }

    #[test]
    fn minutes_and_actors_are_separate_sets() {
        let mut agg = Aggregator::new();
        agg.observe(&started("a", 0));
        agg.observe(&started("b", 61_000));
        let batches = agg.drain();
        let minutes: Vec<u64> = find(&batches, names::INVOCATIONS)
            .iter()
            .map(|d| d.minute)
            .collect();
        assert_eq!(minutes, vec![0, 60]);
    }

    #[test]
    fn allowed_checks_and_successful_hooks_are_not_counted() {
        let mut agg = Aggregator::new();
        agg.observe(&started("a", 0));
        agg.observe(&event(
            "a",
            1,
            EventKind::PermissionChecked {
                action: "x:Y".into(),
                decision: Decision::Allow,
            },
        ));
        agg.observe(&event(
            "a",
            1,
            EventKind::PermissionChecked {
                action: "x:Z".into(),
                decision: Decision::ExplicitDeny,
            },
        ));
        agg.observe(&event(
            "a",
            1,
            EventKind::HookRan {
                hook_event: "pre_skill".into(),
                handler: "h".into(),
                outcome: "ok".into(),
                duration_ms: 1,
            },
        ));
        let batches = agg.drain();
        assert_eq!(
            find(&batches, names::PERMISSION_DENIED)[0].sample_count,
            1.0
        );
        assert!(find(&batches, names::HOOK_FAILURES).is_empty());
    }
}
