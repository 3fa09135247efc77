//! OpenTelemetry traces built from run events: a span per run, and under it
//! a span per step, with the AWS calls, MCP calls and hooks of a step as its
//! children (run-level hooks hang off the run span).
//!
//! Spans are made after the fact from the events' timestamps and durations,
//! in the telemetry worker, so tracing costs the run nothing. The trace id is
//! derived from the run id, so every attempt of a run (a `resume` too) lands
//! in one trace; span ids are derived from what the span is and when it
//! started, so they are unique and stable, and equal to the parents named
//! in the `traceparent` hooks and MCP servers were given
//! (`plug_core::trace`).

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use plug_core::RunId;
use plug_core::event::{EventKind, RunEvent};

/// The trace id of a run: the same for every attempt of it.
pub fn trace_id(run: &RunId) -> TraceId {
    TraceId::from(plug_core::trace::trace_id(run))
}

/// The same derivation the interpreter uses for the `traceparent` it hands
/// to hooks and MCP servers, so their spans hang under these.
fn span_id(run: &RunId, what: &str, at_ms: u64) -> SpanId {
    SpanId::from(plug_core::trace::span_id(run, what, at_ms))
}

fn time(at_ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(at_ms)
}

struct OpenRun {
    span: SpanId,
    started_ms: u64,
    attributes: Vec<KeyValue>,
    step: Option<(String, SpanId, u64)>,
}

/// Turns events into finished spans as they complete.
#[derive(Default)]
pub struct Tracer {
    runs: HashMap<RunId, OpenRun>,
}

impl Tracer {
    /// An empty tracer.
    pub fn new() -> Self {
        Tracer::default()
    }

    /// The spans `event` completes (none, one, or the run's).
    pub fn observe(&mut self, event: &RunEvent) -> Vec<SpanData> {
        let run_id = &event.run_id;
        match &event.kind {
            EventKind::RunStarted {
                plugin,
                version,
                skill,
                actor,
                ..
            } => {
                let attributes = vec![
                    KeyValue::new("plugctl.plugin", plugin.clone()),
                    KeyValue::new("plugctl.plugin.version", version.clone()),
                    KeyValue::new("plugctl.skill", skill.clone()),
                    KeyValue::new("plugctl.actor_type", format!("{actor:?}").to_lowercase()),
                    KeyValue::new("plugctl.run_id", run_id.as_str().to_owned()),
                ];
                let span = span_id(run_id, "run", event.at_ms);
                self.runs.insert(
                    run_id.clone(),
                    OpenRun {
                        span,
                        started_ms: event.at_ms,
                        attributes,
                        step: None,
                    },
                );
                Vec::new()
            }
            EventKind::StepStarted { step, .. } => {
                if let Some(run) = self.runs.get_mut(run_id) {
                    run.step = Some((
                        step.clone(),
                        span_id(run_id, step, event.at_ms),
                        event.at_ms,
                    ));
                }
                Vec::new()
            }
            EventKind::StepFinished { step, outcome, .. } => self.finish_step(event, step, outcome),
            EventKind::RunFinished { outcome, .. } => self.finish_run(event, outcome),
            kind => self.child(event, kind).into_iter().collect(),
        }
    }

    fn finish_step(&mut self, event: &RunEvent, step: &str, outcome: &str) -> Vec<SpanData> {
        let Some(run) = self.runs.get_mut(&event.run_id) else {
            return Vec::new();
        };
        let Some((name, span, started)) = run.step.take() else {
            return Vec::new();
        };
        let parent = run.span;
        let attributes = vec![
            KeyValue::new("plugctl.step", step.to_owned()),
            KeyValue::new("plugctl.outcome", outcome.to_owned()),
        ];
        vec![span_data(
            &event.run_id,
            (span, parent),
            format!("step {name}"),
            (started, event.at_ms),
            attributes,
            outcome == "failed",
        )]
    }

    fn finish_run(&mut self, event: &RunEvent, outcome: &str) -> Vec<SpanData> {
        let Some(run) = self.runs.remove(&event.run_id) else {
            return Vec::new();
        };
        let mut attributes = run.attributes;
        attributes.push(KeyValue::new("plugctl.outcome", outcome.to_owned()));
        let name = attributes
            .iter()
            .find(|kv| kv.key.as_str() == "plugctl.skill")
            .map_or_else(|| "run".to_owned(), |kv| format!("run {}", kv.value));
        vec![span_data(
            &event.run_id,
            (run.span, SpanId::INVALID),
            name,
            (run.started_ms, event.at_ms),
            attributes,
            matches!(outcome, "failed" | "interrupted"),
        )]
    }

    /// An AWS call, MCP call or hook: a child of the open step, else of the run.
    fn child(&mut self, event: &RunEvent, kind: &EventKind) -> Option<SpanData> {
        let (name, duration_ms, attributes, failed) = match kind {
            EventKind::AwsApiCalled {
                service,
                operation,
                request_id,
                status,
                duration_ms,
                ..
            } => {
                let mut attributes = vec![
                    KeyValue::new("rpc.system", "aws-api"),
                    KeyValue::new("rpc.service", service.clone()),
                    KeyValue::new("rpc.method", operation.clone()),
                ];
                if let Some(id) = request_id {
                    attributes.push(KeyValue::new("aws.request_id", id.clone()));
                }
                if let Some(status) = status {
                    attributes.push(KeyValue::new(
                        "http.response.status_code",
                        i64::from(*status),
                    ));
                }
                let failed = status.is_none_or(|s| s >= 400);
                (
                    format!("{service}.{operation}"),
                    *duration_ms,
                    attributes,
                    failed,
                )
            }
            EventKind::McpToolCalled {
                server,
                tool,
                outcome,
                cached,
                duration_ms,
            } => (
                format!("mcp {server}/{tool}"),
                *duration_ms,
                vec![
                    KeyValue::new("mcp.server", server.clone()),
                    KeyValue::new("mcp.tool", tool.clone()),
                    KeyValue::new("plugctl.cached", *cached),
                ],
                outcome != "ok",
            ),
            EventKind::HookRan {
                hook_event,
                handler,
                outcome,
                duration_ms,
            } => (
                format!("hook {hook_event}"),
                *duration_ms,
                vec![
                    KeyValue::new("plugctl.hook.handler", handler.clone()),
                    KeyValue::new("plugctl.outcome", outcome.clone()),
                ],
                outcome == "failed",
            ),
            _ => return None,
        };
        let run = self.runs.get(&event.run_id)?;
        let parent = run.step.as_ref().map_or(run.span, |(_, span, _)| *span);
        let started = event.at_ms.saturating_sub(duration_ms);
        let span = span_id(&event.run_id, &name, event.at_ms);
        Some(span_data(
            &event.run_id,
            (span, parent),
            name,
            (started, event.at_ms),
            attributes,
            failed,
        ))
    }
}

fn span_data(
    run: &RunId,
    (span, parent): (SpanId, SpanId),
    name: String,
    (start_ms, end_ms): (u64, u64),
    attributes: Vec<KeyValue>,
    failed: bool,
) -> SpanData {
    SpanData {
        span_context: SpanContext::new(
            trace_id(run),
            span,
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ),
        parent_span_id: parent,
        parent_span_is_remote: false,
        span_kind: if parent == SpanId::INVALID {
            SpanKind::Internal
        } else {
            SpanKind::Client
        },
        name: Cow::Owned(name),
        start_time: time(start_ms),
        end_time: time(end_ms.max(start_ms)),
        attributes,
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: if failed {
            Status::error("failed")
        } else {
            Status::Unset
        },
        instrumentation_scope: InstrumentationScope::builder("plugctl")
            .with_version(env!("CARGO_PKG_VERSION"))
            .build(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plug_core::Actor;

    fn event(at_ms: u64, kind: EventKind) -> RunEvent {
        RunEvent {
            run_id: RunId::new("r1").expect("id"),
            at_ms,
            kind,
        }
    }

    #[test]
    fn calls_nest_under_their_step_and_steps_under_the_run() {
        let mut tracer = Tracer::new();
        let mut spans = Vec::new();
        for e in [
            event(
                0,
                EventKind::RunStarted {
                    plugin: "p".into(),
                    version: "1".into(),
                    skill: "s".into(),
                    actor: Actor::Agent,
                    governance: Default::default(),
                },
            ),
            event(
                10,
                EventKind::HookRan {
                    hook_event: "pre_skill".into(),
                    handler: "h".into(),
                    outcome: "ok".into(),
                    duration_ms: 5,
                },
            ),
            event(
                20,
                EventKind::StepStarted {
                    step: "deploy".into(),
                    action: "aws_api".into(),
                },
            ),
            event(
                50,
                EventKind::AwsApiCalled {
                    service: "lambda".into(),
                    operation: "create_function".into(),
                    request_id: Some("x".into()),
                    status: Some(201),
                    duration_ms: 25,
                    caller_arn: None,
                    error_code: None,
                    undeclared: false,
                },
            ),
            event(
                60,
                EventKind::StepFinished {
                    step: "deploy".into(),
                    outcome: "succeeded".into(),
                    duration_ms: 40,
                },
            ),
            event(
                70,
                EventKind::RunFinished {
                    outcome: "succeeded".into(),
                    duration_ms: 70,
                },
            ),
        ] {
            spans.extend(tracer.observe(&e));
        }
        let names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
        assert_eq!(
            names,
            [
                "hook pre_skill",
                "lambda.create_function",
                "step deploy",
                "run s"
            ]
        );
        let id = |name: &str| {
            spans
                .iter()
                .find(|s| s.name == name)
                .map(|s| s.span_context.span_id())
                .expect("span")
        };
        let parent = |name: &str| {
            spans
                .iter()
                .find(|s| s.name == name)
                .map(|s| s.parent_span_id)
                .expect("span")
        };
        assert_eq!(parent("lambda.create_function"), id("step deploy"));
        assert_eq!(parent("step deploy"), id("run s"));
        assert_eq!(parent("hook pre_skill"), id("run s"));
        assert_eq!(parent("run s"), SpanId::INVALID);
        assert!(
            spans
                .iter()
                .all(|s| s.span_context.trace_id() == trace_id(&RunId::new("r1").expect("id")))
        );
        let call = spans
            .iter()
            .find(|s| s.name == "lambda.create_function")
            .expect("call");
        assert_eq!(call.start_time, time(25));

        // The spans are the parents named in the traceparent the run handed out.
        let run = RunId::new("r1").expect("id");
        let handed_out = |context: plug_core::TraceContext| SpanId::from(context.span_id);
        assert_eq!(
            id("run s"),
            handed_out(plug_core::TraceContext::run(&run, 0))
        );
        assert_eq!(
            id("step deploy"),
            handed_out(plug_core::TraceContext::span(&run, "deploy", 20))
        );
    }
}
