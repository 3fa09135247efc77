//! The fleet's costs on this machine, against moto's DynamoDB and
//! LocalStack's SQS on loopback (`MOTO_ENDPOINT`, `LOCALSTACK_ENDPOINT`;
//! without them it says so and stops):
//!
//! - the latency one journal entry adds, DynamoDB run table against the
//!   local file journal (p50 and p99 of 500 appends each; the issue's
//!   target is a p50 of at most 5 ms per step against moto);
//! - runs per second with 1, 2 and 3 in-process workers, 30 runs of a
//!   one-step no-op skill each.
//!
//! `cargo bench -p plug-fleet --bench fleet`. Prints figures; no criterion
//! statistics, since both sides are dominated by I/O outside the process.
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use plug_aws::AwsClient;
use plug_aws::identity::{IdentityConfig, Session};
use plug_fleet::queue::{Queue, RunRequestMessage};
use plug_fleet::worker::Worker;
use plug_fleet::{RunTable, TableLog};
use plug_skill::journal::{Entry, Journal, RunLog};

async fn client(endpoint: &str) -> AwsClient {
    let config = IdentityConfig {
        region: Some("us-east-1".into()),
        endpoint_url: Some(endpoint.to_owned()),
        base_credentials: Some(Credentials::new("test", "test", None, None, "bench")),
        ..IdentityConfig::default()
    };
    let session = Session::establish(config).await.expect("session");
    AwsClient::new(Arc::new(session)).expect("client")
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{prefix}-{nanos}")
}

fn entry(i: usize) -> Entry {
    Entry::StepStarted {
        index: i,
        name: format!("step{i}"),
        attempt: 1,
    }
}

/// p50 and p99 of `samples`.
fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    (at(0.5), at(0.99))
}

async fn append_latency(log: &mut dyn RunLog, n: usize) -> (Duration, Duration) {
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let started = Instant::now();
        log.append(&entry(i)).await.expect("append");
        samples.push(started.elapsed());
    }
    percentiles(samples)
}

fn plugin(dir: &std::path::Path) {
    std::fs::create_dir_all(dir.join("skills")).expect("mkdir");
    std::fs::write(
        dir.join("plugin.yaml"),
        "plugin:\n  name: noop\n  version: 0.1.0\n  skills:\n    - name: noop\n      path: ./skills/noop.yaml\n",
    )
    .expect("manifest");
    std::fs::write(
        dir.join("skills/noop.yaml"),
        "skill:\n  name: noop\n  description: d\n  steps:\n    - name: nothing\n      action: run_command\n      command: ['true']\n",
    )
    .expect("skill");
}

fn runtime(state: &std::path::Path, workdir: &std::path::Path) -> Arc<plug_runtime::Runtime> {
    let settings = plug_runtime::RunSettings {
        identity: plug_runtime::IdentitySettings {
            operator: "bench".into(),
            base_allowed: true,
            ..Default::default()
        },
        policies: Vec::new(),
        set: Vec::new(),
        telemetry: plug_runtime::config_file::TelemetrySettings {
            cloudwatch: false,
            ..Default::default()
        },
        state: plug_runtime::StateDir::new(state),
        workdir: workdir.to_path_buf(),
        approval_timeout: Duration::from_secs(5),
        governance: Default::default(),
    };
    Arc::new(plug_runtime::Runtime::new(settings).expect("runtime").0)
}

/// Runs per second: `runs` queued runs shared by `workers` workers.
async fn throughput(localstack: &str, moto: &str, workers: usize, runs: usize) -> f64 {
    let sqs = client(localstack).await;
    let queue_name = unique("bench");
    let created = (sqs.operation(
        "sqs",
        "create_queue",
        plug_core::Value::from(serde_json::json!({"QueueName": queue_name})),
    ))
    .await
    .expect("queue");
    let url = created
        .get("QueueUrl")
        .and_then(plug_core::Value::as_str)
        .expect("url")
        .to_owned();
    let queue = Arc::new(Queue::new(sqs, url));
    let table = Arc::new(RunTable::new(client(moto).await, unique("bench")));
    table.create().await.expect("table");
    let dir = tempfile::tempdir().expect("tempdir");
    plugin(&dir.path().join("plugin"));
    for i in 0..runs {
        let request = RunRequestMessage {
            run_id: format!("bench-{workers}-{i}-{}", std::process::id()),
            plugin: dir.path().join("plugin"),
            skill: "noop".into(),
            params: Default::default(),
            requester: "bench".into(),
        };
        queue.send(&request).await.expect("send");
    }
    let started = Instant::now();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let handles: Vec<_> = (0..workers)
        .map(|n| {
            let state = tempfile::tempdir().expect("tempdir");
            let worker = Worker {
                runtime: runtime(state.path(), dir.path()),
                table: table.clone(),
                queue: queue.clone(),
                owner: format!("bench-{n}"),
                lease: Duration::from_secs(60),
                wait_s: 1,
            };
            let stopped = stopped.clone();
            tokio::spawn(async move {
                let _state = state;
                worker.run(stopped).await
            })
        })
        .collect();
    loop {
        let done = (table.runs().await.expect("runs").iter())
            .filter(|r| r.state == "succeeded")
            .count();
        if done == runs {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    let _ = stop.send(true);
    for handle in handles {
        let _ = handle.await;
    }
    runs as f64 / elapsed.as_secs_f64()
}

fn main() {
    let (Ok(moto), Ok(localstack)) = (
        std::env::var("MOTO_ENDPOINT"),
        std::env::var("LOCALSTACK_ENDPOINT"),
    ) else {
        eprintln!(
            "fleet bench: set MOTO_ENDPOINT and LOCALSTACK_ENDPOINT (cargo xtask localstack, moto_server)"
        );
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let state = tempfile::tempdir().expect("tempdir");
        let run = plug_core::RunId::new("bench-file").expect("id");
        let mut file = Journal::create(state.path(), &run).expect("journal");
        let (f50, f99) = append_latency(&mut file, 500).await;
        let table = Arc::new(RunTable::new(client(&moto).await, unique("bench")));
        table.create().await.expect("table");
        let (mut table_log, _) = TableLog::open(table, "bench-table").await.expect("log");
        let (t50, t99) = append_latency(&mut table_log, 500).await;
        println!("fleet/journal_append/file: p50 {f50:?}, p99 {f99:?}");
        println!("fleet/journal_append/dynamodb(moto): p50 {t50:?}, p99 {t99:?}");
        println!(
            "fleet/journal_append: the table adds {:?} at p50, {:?} at p99",
            t50.saturating_sub(f50),
            t99.saturating_sub(f99)
        );
        for workers in 1..=3 {
            let rate = throughput(&localstack, &moto, workers, 30).await;
            println!(
                "fleet/throughput/{workers}_worker(s): {rate:.1} runs/s (30 one-step no-op runs)"
            );
        }
    });
}
