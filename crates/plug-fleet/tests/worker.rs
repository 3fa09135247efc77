//! Workers and the queue with real parts: SQS from LocalStack, DynamoDB
//! from moto (`cargo xtask test` starts both). Two workers share six runs
//! of a three-step skill, one request delivered twice: every run ends once,
//! each step's line written once, in order.
#![allow(missing_docs)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use plug_aws::AwsClient;
use plug_aws::identity::{IdentityConfig, Session};
use plug_fleet::RunTable;
use plug_fleet::queue::{Queue, RunRequestMessage};
use plug_fleet::worker::Worker;
use plug_runtime::{RunSettings, Runtime, StateDir};

fn endpoints() -> Option<(String, String)> {
    let localstack = std::env::var("LOCALSTACK_ENDPOINT").ok();
    let moto = std::env::var("MOTO_ENDPOINT").ok();
    match (localstack, moto) {
        (Some(l), Some(m)) => Some((l, m)),
        _ if std::env::var_os("PLUGCTL_REQUIRE_LOCALSTACK").is_some() => {
            panic!("LOCALSTACK_ENDPOINT and MOTO_ENDPOINT are needed: run `cargo xtask test`")
        }
        _ => {
            eprintln!("skipped: no LOCALSTACK_ENDPOINT and MOTO_ENDPOINT");
            None
        }
    }
}

async fn client(endpoint: &str) -> AwsClient {
    let config = IdentityConfig {
        region: Some("us-east-1".into()),
        endpoint_url: Some(endpoint.to_owned()),
        base_credentials: Some(Credentials::new("test", "test", None, None, "tests")),
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
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// A plugin whose skill appends `<tag>-N` to `<out>` in three steps.
fn plugin(dir: &Path) {
    std::fs::create_dir_all(dir.join("skills")).expect("mkdir");
    std::fs::write(
        dir.join("plugin.yaml"),
        "plugin:\n  name: lines\n  version: 0.1.0\n  skills:\n    - name: append\n      path: ./skills/append.yaml\n",
    )
    .expect("manifest");
    let mut skill = String::from(
        "skill:\n  name: append\n  description: d\n  params:\n    tag:\n      type: string\n    out:\n      type: string\n  steps:\n",
    );
    for n in 1..=3 {
        skill.push_str(&format!(
            "    - name: step{n}\n      action: run_command\n      command: [sh, -c, 'echo \"$1-{n}\" >> \"$2\"', sh, <tag>, <out>]\n"
        ));
    }
    std::fs::write(dir.join("skills/append.yaml"), skill).expect("skill");
}

fn runtime(state: &Path, workdir: &Path) -> Arc<Runtime> {
    let settings = RunSettings {
        identity: plug_runtime::IdentitySettings {
            operator: "fleet".into(),
            base_allowed: true,
            ..Default::default()
        },
        policies: Vec::new(),
        set: Vec::new(),
        telemetry: plug_runtime::config_file::TelemetrySettings {
            cloudwatch: false,
            ..Default::default()
        },
        state: StateDir::new(state),
        workdir: workdir.to_path_buf(),
        approval_timeout: Duration::from_secs(5),
        governance: Default::default(),
    };
    Arc::new(Runtime::new(settings).expect("runtime").0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_workers_run_each_queued_run_once() {
    let Some((localstack, moto)) = endpoints() else {
        return;
    };
    let sqs = client(&localstack).await;
    let created = (sqs.operation(
        "sqs",
        "create_queue",
        plug_core::Value::from(serde_json::json!({"QueueName": unique("runs")})),
    ))
    .await
    .expect("queue");
    let url = created
        .get("QueueUrl")
        .and_then(plug_core::Value::as_str)
        .expect("url")
        .to_owned();
    let queue = Arc::new(Queue::new(sqs, url));
    let table = Arc::new(RunTable::new(client(&moto).await, unique("runs")));
    table.create().await.expect("table");

    let dir = tempfile::tempdir().expect("tempdir");
    plugin(&dir.path().join("plugin"));
    let out = dir.path().join("lines.txt");
    let ids: Vec<String> = (0..6)
        .map(|i| format!("fleet-{i}-{}", std::process::id()))
        .collect();
    for id in &ids {
        let request = RunRequestMessage {
            run_id: id.clone(),
            plugin: dir.path().join("plugin"),
            skill: "append".into(),
            params: [
                ("tag".to_owned(), serde_json::json!(id)),
                (
                    "out".to_owned(),
                    serde_json::json!(out.display().to_string()),
                ),
            ]
            .into(),
            requester: "test".into(),
        };
        queue.send(&request).await.expect("send");
        if id == &ids[0] {
            queue.send(&request).await.expect("a duplicate delivery");
        }
    }

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let workers: Vec<_> = (0..2)
        .map(|n| {
            let state = tempfile::tempdir().expect("tempdir");
            let worker = Worker {
                runtime: runtime(state.path(), dir.path()),
                table: table.clone(),
                queue: queue.clone(),
                owner: format!("worker-{n}"),
                lease: Duration::from_secs(30),
                wait_s: 1,
            };
            let stopped = stopped.clone();
            tokio::spawn(async move {
                let _state = state;
                worker.run(stopped).await
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let runs = table.runs().await.expect("runs");
        let done = runs.iter().filter(|r| r.state == "succeeded").count();
        if done == ids.len() {
            break;
        }
        assert!(Instant::now() < deadline, "runs did not finish: {runs:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Let the duplicate delivery reach a worker too before stopping.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.send(true).expect("stop");
    for worker in workers {
        worker.await.expect("task").expect("worker");
    }
    let lines = std::fs::read_to_string(&out).expect("lines");
    for id in &ids {
        let mine: Vec<&str> = lines
            .lines()
            .filter(|l| l.starts_with(&format!("{id}-")))
            .collect();
        assert_eq!(
            mine,
            [format!("{id}-1"), format!("{id}-2"), format!("{id}-3")],
            "{lines}"
        );
        let journal = table.entries(id).await.expect("entries");
        assert!(
            journal.last().is_some_and(|e| e.contains("\"finished\"")),
            "{journal:?}"
        );
    }
}
