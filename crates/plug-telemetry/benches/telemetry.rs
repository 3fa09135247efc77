//! Telemetry costs. Issue targets: recording an event at most 1 µs median on
//! the caller's side; 100,000 events become at most 100 PutMetricData calls.
//! (The third target, at most 5% on a 1,000-step no-op run, is measured in
//! plug-skill's `engine` bench, group `telemetry_overhead`.)
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use plug_core::event::{EventKind, RunEvent};
use plug_core::ports::{Decision, TelemetrySink};
use plug_core::{Actor, RunId};
use plug_telemetry::metrics::Aggregator;
use plug_telemetry::{Telemetry, TelemetryOptions};

fn event(run: &RunId, at_ms: u64, i: u64) -> RunEvent {
    let kind = match i % 5 {
        0 => EventKind::RunStarted {
            plugin: "aws-deployment-assistant".into(),
            version: "1.0.0".into(),
            skill: format!("skill-{}", i % 7),
            actor: if i.is_multiple_of(2) {
                Actor::Agent
            } else {
                Actor::Human
            },
            governance: Default::default(),
        },
        1 => EventKind::StepStarted {
            step: "deploy".into(),
            action: "aws_api".into(),
        },
        2 => EventKind::PermissionChecked {
            action: "lambda:CreateFunction".into(),
            decision: Decision::Allow,
        },
        3 => EventKind::StepFinished {
            step: "deploy".into(),
            outcome: "succeeded".into(),
            duration_ms: i % 900,
        },
        _ => EventKind::RunFinished {
            outcome: "succeeded".into(),
            duration_ms: i % 5000,
        },
    };
    RunEvent {
        run_id: run.clone(),
        at_ms,
        kind,
    }
}

fn benches(c: &mut Criterion) {
    // 100,000 events of 20,000 runs over ten minutes.
    let events: Vec<RunEvent> = (0..100_000u64)
        .map(|i| {
            event(
                &RunId::new(format!("r{}", i / 5)).expect("id"),
                1_700_000_000_000 + i * 6,
                i,
            )
        })
        .collect();
    let mut aggregator = Aggregator::new();
    events.iter().for_each(|e| aggregator.observe(e));
    let calls = aggregator.drain();
    let datums: usize = calls.iter().map(Vec::len).sum();
    eprintln!(
        "100,000 events -> {datums} statistic sets in {} PutMetricData call(s) (target: at most 100)",
        calls.len()
    );
    assert!(calls.len() <= 100);

    c.bench_function("aggregate_100k_events", |b| {
        b.iter(|| {
            let mut aggregator = Aggregator::new();
            events.iter().for_each(|e| aggregator.observe(e));
            aggregator.drain()
        })
    });

    let dir = tempfile::tempdir_in(if std::path::Path::new("/dev/shm").is_dir() {
        "/dev/shm"
    } else {
        "/tmp"
    })
    .expect("tempdir");
    let telemetry = Telemetry::start(TelemetryOptions::local(
        &dir.path().join("audit.jsonl"),
        &dir.path().join("spool"),
    ))
    .expect("telemetry");
    let run = RunId::new("bench").expect("id");
    let step = |i: u64| RunEvent {
        run_id: run.clone(),
        at_ms: i,
        kind: EventKind::StepStarted {
            step: "deploy".into(),
            action: "aws_api".into(),
        },
    };
    // As a run records: bursts of a thousand events, each burst timed on
    // the caller's side and flushed untimed, so the worker is never behind.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    c.bench_function("record_event_caller_side", |b| {
        b.iter_custom(|iters| {
            let mut timed = std::time::Duration::ZERO;
            let mut i = 0;
            while i < iters {
                let burst = (iters - i).min(1000);
                let started = std::time::Instant::now();
                for n in i..i + burst {
                    telemetry.record(step(n));
                }
                timed += started.elapsed();
                runtime.block_on(telemetry.flush());
                i += burst;
            }
            timed
        })
    });
    // A flood: events without end, faster than the worker writes them. The
    // inbox fills and each recorder waits for room, so this is the worker's
    // pace, the most a recorder can be held back.
    let mut i = 0u64;
    c.bench_function("record_event_sustained_flood", |b| {
        b.iter(|| {
            i += 1;
            telemetry.record(step(i));
        })
    });
}

criterion_group!(telemetry, benches);
criterion_main!(telemetry);
