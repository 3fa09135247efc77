//! Dispatch overhead: one `/bin/true` hook through the host, against a bare spawn of `/bin/true`.
//!
//! The difference of the medians is what the host adds per hook: temp dir,
//! input JSON, environment, the spawning thread with Landlock, the child
//! setup, pipes, caps and the group sweep. Target: at most 1 ms.
#![allow(missing_docs)]

use std::process::Stdio;

use criterion::{Criterion, criterion_group, criterion_main};
use plug_core::ports::{HookHost, HookInput};
use plug_core::{Actor, RunId};
use plug_hooks::{HostConfig, ProcessHookHost};
use plug_manifest::native::model::{Hook, HookHandler};

fn true_hook() -> Hook {
    Hook {
        event: "pre_step".into(),
        handler: HookHandler::Exec {
            argv: vec!["/bin/true".into()],
        },
        critical: None,
        timeout: None,
        matcher: None,
        aws: false,
        span: (0, 0).into(),
        event_span: (0, 0).into(),
    }
}

fn input() -> HookInput {
    HookInput {
        event: "pre_step".into(),
        run_id: RunId::new("bench").expect("run id"),
        plugin: "bench".into(),
        skill: "deploy-x".into(),
        step: Some("s".into()),
        action: Some("aws_api".into()),
        params: serde_json::json!({"function_name": "f", "memory_mb": 128}),
        actor: Actor::Agent,
        trace: None,
    }
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let root = tempfile::tempdir().expect("plugin root");
    let confined =
        ProcessHookHost::new(root.path(), vec![true_hook()], HostConfig::default()).expect("host");
    let unconfined = ProcessHookHost::new(
        root.path(),
        vec![true_hook()],
        HostConfig {
            landlock: false,
            ..HostConfig::default()
        },
    )
    .expect("host");
    let input = input();

    let mut group = c.benchmark_group("hook");
    group.bench_function("bare_spawn_bin_true", |b| {
        b.iter(|| {
            runtime.block_on(async {
                tokio::process::Command::new("/bin/true")
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .await
                    .expect("/bin/true runs")
            })
        })
    });
    group.bench_function("dispatch_bin_true", |b| {
        b.iter(|| {
            runtime
                .block_on(confined.dispatch(&input))
                .expect("continue")
        })
    });
    group.bench_function("dispatch_bin_true_without_landlock", |b| {
        b.iter(|| {
            runtime
                .block_on(unconfined.dispatch(&input))
                .expect("continue")
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
