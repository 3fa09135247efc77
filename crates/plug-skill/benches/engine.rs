//! Interpreter speed. Issue targets: `plan` of a 1,000-step skill at most
//! 20 ms; interpreter overhead per no-op step at most 20 µs.
//!
//! The no-op step is a `run_command` answered by an in-memory runner, with
//! in-memory hooks and telemetry, and the journal on the state dir given by
//! `PLUGCTL_BENCH_DIR` (default: `/dev/shm` when present, so the number is the
//! interpreter's, not the disk's fsync latency).
#![allow(missing_docs)]

// The allocator plugctl ships with, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use plug_core::event::RunEvent;
use plug_core::ports::*;
use plug_core::{Actor, RunId};
use plug_manifest::load::load_skill_text;
use plug_manifest::native::model::Skill;
use plug_skill::{Interpreter, Journal, Ports, RunOptions, RunRequest};

struct Noop;

#[async_trait]
impl CommandRunner for Noop {
    async fn run(&self, _spec: &CommandSpec) -> Result<CommandOutput, CommandError> {
        Ok(CommandOutput {
            exit_code: Some(0),
            stdout: Vec::new(),
            stderr: Vec::new(),
            truncated: false,
            timed_out: false,
        })
    }
}

#[async_trait]
impl HookHost for Noop {
    async fn dispatch(&self, _input: &HookInput) -> Result<HookDecision, HookError> {
        Ok(HookDecision::Continue {
            updated_input: None,
            messages: Vec::new(),
        })
    }
}

#[async_trait]
impl TelemetrySink for Noop {
    fn record(&self, _event: RunEvent) {}
    async fn flush(&self) {}
}

#[async_trait]
impl Approver for Noop {
    async fn ask(&self, _request: &ApprovalRequest) -> ApprovalAnswer {
        ApprovalAnswer::Unanswered
    }
}

#[async_trait]
impl Prompter for Noop {
    async fn prompt(&self, _message: &str, _sensitive: bool) -> Option<String> {
        None
    }
}

#[async_trait]
impl ToolCaller for Noop {
    async fn call_tool(&self, call: &ToolCall) -> Result<ToolResult, ToolError> {
        Err(ToolError::UnknownServer(call.server.clone()))
    }
}

#[async_trait]
impl AwsSessions for Noop {
    async fn invoker(&self, _actor: Actor, _source: &str) -> Result<Arc<dyn AwsInvoker>, AwsError> {
        Err(AwsError::Invalid("no AWS in this benchmark".into()))
    }
}

fn skill(steps: usize) -> Skill {
    let mut text = String::from(
        "skill:\n  name: many\n  description: d\n  params:\n    target: {default: prod}\n  steps:\n",
    );
    for i in 0..steps {
        let _ = write!(
            text,
            "    - name: s{i}\n      action: run_command\n      command: [deploy, <target>, '{i}']\n"
        );
    }
    let (loaded, findings) = load_skill_text(None, None, "many.yaml".into(), text);
    assert!(findings.is_empty());
    loaded.skill.expect("skill")
}

fn request(skill: Skill, id: &str) -> RunRequest {
    let mut req = RunRequest {
        run_id: RunId::new(id).expect("id"),
        plugin: "bench".into(),
        plugin_version: "1".into(),
        skill,
        params: BTreeMap::new(),
        sensitive: Default::default(),
        config: Default::default(),
        actor: Actor::Agent,
        operator: "bench".into(),
        principal: "arn:aws:iam::000000000000:user/bench".into(),
        actions: vec!["lambda:CreateFunction".into()],
        workdir: std::env::temp_dir(),
        plugin_root: std::env::temp_dir(),
        builtins: Default::default(),
        governance: Default::default(),
        undeclared_calls: Default::default(),
    };
    req.apply_defaults();
    req
}

fn state_dir() -> PathBuf {
    std::env::var_os("PLUGCTL_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            if std::path::Path::new("/dev/shm").is_dir() {
                "/dev/shm".into()
            } else {
                std::env::temp_dir()
            }
        })
}

fn benches(c: &mut Criterion) {
    let big = skill(1000);
    let req = request(big.clone(), "plan");
    c.bench_function("plan_1000_steps", |b| {
        b.iter(|| plug_skill::plan::plan(std::hint::black_box(&req), &[], None))
    });

    let noop: Arc<Noop> = Arc::new(Noop);
    let ports = Ports {
        aws: noop.clone(),
        tools: noop.clone(),
        hooks: noop.clone(),
        telemetry: noop.clone(),
        commands: noop.clone(),
        approver: noop.clone(),
        prompter: noop.clone(),
        permissions: None,
    };
    let interpreter = Interpreter::new(ports, RunOptions::default());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir_in(state_dir()).expect("state dir");
    let steps = skill(100);
    let mut group = c.benchmark_group("interpreter");
    group.throughput(Throughput::Elements(100));
    let mut n = 0u64;
    group.bench_function("run_100_noop_steps", |b| {
        b.iter(|| {
            n += 1;
            let req = request(steps.clone(), &format!("r{n}"));
            let mut journal = Journal::create(dir.path(), &req.run_id).expect("journal");
            let report = runtime.block_on(interpreter.run(&req, &mut journal, None));
            assert_eq!(report.steps.len(), 100);
        });
    });
    group.finish();
    telemetry_overhead(c, &runtime, &noop, dir.path());
}

/// The target: real telemetry adds at most 5% to a 1,000-step
/// no-op run. Measured twice: with the audit log alone (`PLUGCTL_TELEMETRY=local`)
/// and as plugctl runs by default, with CloudWatch metrics and logs
/// gathered and spooled at every run's end. Its endpoint is a closed local
/// port and the ship interval an hour, so nothing is sent while timing:
/// the network is never on a run's path anyway.
fn telemetry_overhead(
    c: &mut Criterion,
    runtime: &tokio::runtime::Runtime,
    noop: &Arc<Noop>,
    dir: &std::path::Path,
) {
    let steps = skill(1000);
    let local =
        plug_telemetry::TelemetryOptions::local(&dir.join("audit.jsonl"), &dir.join("spool"));
    let cloudwatch = plug_telemetry::TelemetryOptions {
        cloudwatch: Some((
            unreachable_aws(),
            plug_telemetry::CloudWatchConfig::default(),
        )),
        ship_interval: std::time::Duration::from_secs(3600),
        ..plug_telemetry::TelemetryOptions::local(
            &dir.join("audit-cw.jsonl"),
            &dir.join("spool-cw"),
        )
    };
    let start = |options| Arc::new(plug_telemetry::Telemetry::start(options).expect("telemetry"));
    let sinks: [(&str, Arc<dyn TelemetrySink>); 3] = [
        ("noop_sink", noop.clone()),
        ("plug_telemetry", start(local)),
        ("plug_telemetry_cloudwatch", start(cloudwatch)),
    ];
    let interpreters: Vec<(&str, Interpreter)> = sinks
        .into_iter()
        .map(|(name, sink)| {
            let ports = Ports {
                aws: noop.clone(),
                tools: noop.clone(),
                hooks: noop.clone(),
                telemetry: sink,
                commands: noop.clone(),
                approver: noop.clone(),
                prompter: noop.clone(),
                permissions: None,
            };
            (name, Interpreter::new(ports, RunOptions::default()))
        })
        .collect();
    let mut n = 0u64;
    let mut run_once = |interpreter: &Interpreter| {
        n += 1;
        let req = request(steps.clone(), &format!("t{n}"));
        let mut journal = Journal::create(dir, &req.run_id).expect("journal");
        let report = runtime.block_on(interpreter.run(&req, &mut journal, None));
        assert_eq!(report.steps.len(), 1000);
    };
    let mut group = c.benchmark_group("telemetry_overhead");
    group.sample_size(20);
    for (name, interpreter) in &interpreters {
        group.bench_function(format!("run_1000_noop_steps/{name}"), |b| {
            b.iter(|| run_once(interpreter));
        });
    }
    group.finish();
    paired_overhead(&interpreters, &mut run_once);
}

/// AWS settings whose endpoint refuses connections at once.
fn unreachable_aws() -> aws_config::SdkConfig {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    aws_config::SdkConfig::builder()
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(format!("http://{closed}"))
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new(
                    "AKIDBENCH",
                    "bench-secret",
                    None,
                    None,
                    "bench",
                ),
            ),
        )
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build()
}

/// Criterion times one variant after the other, and on a 2-vCPU VM the
/// drift between the two stretches is larger than the 5% being measured.
/// Alternating the variants run by run, in both orders, and taking the
/// median of each round's ratio cancels that drift: both runs of a round
/// see the same machine.
fn paired_overhead(interpreters: &[(&str, Interpreter)], run_once: &mut impl FnMut(&Interpreter)) {
    const ROUNDS: usize = 600;
    let mut times = vec![Vec::with_capacity(ROUNDS); interpreters.len()];
    for round in 0..ROUNDS {
        let mut order: Vec<usize> = (0..interpreters.len()).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        for i in order {
            let started = std::time::Instant::now();
            run_once(&interpreters[i].1);
            times[i].push(started.elapsed().as_secs_f64() * 1e3);
        }
    }
    let median = |mut values: Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let base = &times[0];
    for ((name, _), variant) in interpreters.iter().zip(&times) {
        let ratios = variant.iter().zip(base).map(|(v, b)| v / b).collect();
        println!(
            "telemetry_overhead/paired/{name}: median {:.3} ms, median ratio to {} {:+.1}% over {ROUNDS} alternating rounds",
            median(variant.clone()),
            interpreters[0].0,
            (median(ratios) - 1.0) * 100.0
        );
    }
}

criterion_group!(engine, benches);
criterion_main!(engine);
