//! A fleet as an operator starts one: `plugctl store create`, two `plugctl
//! worker` processes, `plugctl submit --wait`, against LocalStack's SQS and
//! moto's DynamoDB (`cargo xtask test` starts both; without them the test
//! says so and passes, unless `PLUGCTL_REQUIRE_LOCALSTACK=1`).
#![allow(missing_docs)]

use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::json;

mod support;
use support::aws::Aws;
use support::{text, unique};

fn moto() -> Option<String> {
    match std::env::var("MOTO_ENDPOINT") {
        Ok(endpoint) => Some(endpoint),
        Err(_) if std::env::var_os("PLUGCTL_REQUIRE_LOCALSTACK").is_some() => {
            panic!("MOTO_ENDPOINT is not set: run the suite with `cargo xtask test`")
        }
        Err(_) => None,
    }
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

fn sigterm(child: &Child) {
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
}

#[test]
fn workers_run_what_submit_queues_and_stop_on_sigterm() {
    let (Some(mut aws), Some(moto)) = (Aws::start(), moto()) else {
        return;
    };
    aws.vars.push(("AWS_ENDPOINT_URL_DYNAMODB".into(), moto));
    let work = tempfile::tempdir().expect("tempdir");
    plugin(&work.path().join("plugin"));
    let store = format!("dynamodb://{}", unique("runs"));
    let created = aws.plugctl(work.path(), &["store", "create", &store]);
    assert!(created.status.success(), "{}", text(&created.stderr));
    let queue = aws
        .call("sqs", "create_queue", json!({"QueueName": unique("runs")}))
        .expect("queue")["QueueUrl"]
        .as_str()
        .expect("url")
        .to_owned();

    // Deny by default: a worker runs what others ask for only when allowed.
    let refused = aws.plugctl(
        work.path(),
        &["worker", "--queue", &queue, "--store", &store],
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        text(&refused.stderr).contains("--allow"),
        "{}",
        text(&refused.stderr)
    );

    let workers: Vec<Child> = (0..2)
        .map(|_| {
            aws.command(
                work.path(),
                &[
                    "worker", "--queue", &queue, "--store", &store, "--allow", "append",
                ],
            )
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("worker starts")
        })
        .collect();
    let out = work.path().join("lines.txt");
    let plugin_dir = work.path().join("plugin").display().to_string();
    let mut ids = Vec::new();
    for tag in ["a", "b", "c"] {
        let params = [format!("tag={tag}"), format!("out={}", out.display())];
        let submitted = aws.plugctl(
            work.path(),
            &[
                "submit",
                &plugin_dir,
                "append",
                "--queue",
                &queue,
                "--store",
                &store,
                "--param",
                &params[0],
                "--param",
                &params[1],
                "--wait",
                "--output",
                "json",
            ],
        );
        assert!(submitted.status.success(), "{}", text(&submitted.stderr));
        let run: serde_json::Value = serde_json::from_slice(&submitted.stdout).expect("json");
        assert_eq!(run["state"], "succeeded", "{run}");
        ids.push(run["run_id"].as_str().expect("id").to_owned());
    }
    for worker in &workers {
        sigterm(worker);
    }
    for worker in workers {
        let ended = worker.wait_with_output().expect("worker ends");
        assert_eq!(ended.status.code(), Some(0), "{}", text(&ended.stderr));
    }
    let lines = std::fs::read_to_string(&out).expect("lines");
    let mut sorted: Vec<&str> = lines.lines().collect();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        [
            "a-1", "a-2", "a-3", "b-1", "b-2", "b-3", "c-1", "c-2", "c-3"
        ],
        "{lines}"
    );
    assert_eq!(ids.len(), 3);
}

/// A worker killed mid-run (SIGKILL, no goodbye) loses the run to another
/// worker once its lease lapses: the message comes back, the run resumes
/// after the last completed step, and completed steps never run again.
#[test]
fn a_killed_workers_run_is_taken_over_and_resumed() {
    let (Some(mut aws), Some(moto)) = (Aws::start(), moto()) else {
        return;
    };
    aws.vars.push(("AWS_ENDPOINT_URL_DYNAMODB".into(), moto));
    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path().join("plugin");
    std::fs::create_dir_all(dir.join("skills")).expect("mkdir");
    std::fs::write(
        dir.join("plugin.yaml"),
        "plugin:\n  name: slow\n  version: 0.1.0\n  skills:\n    - name: slow\n      path: ./skills/slow.yaml\n",
    )
    .expect("manifest");
    std::fs::write(
        dir.join("skills/slow.yaml"),
        "skill:\n  name: slow\n  description: d\n  params:\n    out:\n      type: string\n  steps:\n    - name: first\n      action: run_command\n      command: [sh, -c, 'echo first >> \"$1\"', sh, <out>]\n    - name: second\n      action: run_command\n      command: [sh, -c, 'echo second-begun >> \"$1\"; sleep 3; echo second >> \"$1\"', sh, <out>]\n    - name: third\n      action: run_command\n      command: [sh, -c, 'echo third >> \"$1\"', sh, <out>]\n",
    )
    .expect("skill");
    let store = format!("dynamodb://{}", unique("runs"));
    assert!(
        aws.plugctl(work.path(), &["store", "create", &store])
            .status
            .success()
    );
    let queue = aws
        .call("sqs", "create_queue", json!({"QueueName": unique("runs")}))
        .expect("queue")["QueueUrl"]
        .as_str()
        .expect("url")
        .to_owned();
    let worker = |aws: &Aws| {
        aws.command(
            work.path(),
            &[
                "worker", "--queue", &queue, "--store", &store, "--allow", "slow", "--lease", "3s",
            ],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("worker starts")
    };
    let mut doomed = worker(&aws);
    let out = work.path().join("lines.txt");
    let param = format!("out={}", out.display());
    let submitted = aws.plugctl(
        work.path(),
        &[
            "submit",
            &dir.display().to_string(),
            "slow",
            "--queue",
            &queue,
            "--store",
            &store,
            "--param",
            &param,
        ],
    );
    assert!(submitted.status.success(), "{}", text(&submitted.stderr));
    support::wait_for("the second step to begin", || {
        std::fs::read_to_string(&out).is_ok_and(|t| t.contains("second-begun"))
    });
    doomed.kill().expect("SIGKILL");
    let _ = doomed.wait();
    let mut successor = worker(&aws);
    support::wait_for("the run to be taken over and finish", || {
        std::fs::read_to_string(&out).is_ok_and(|t| t.contains("third"))
    });
    sigterm(&successor);
    let _ = successor.wait();
    let lines = std::fs::read_to_string(&out).expect("lines");
    let count = |line: &str| lines.lines().filter(|l| *l == line).count();
    assert_eq!(count("first"), 1, "a completed step ran again:\n{lines}");
    assert_eq!(count("third"), 1, "{lines}");
    assert!(
        count("second-begun") >= 2,
        "the step in flight ran again:\n{lines}"
    );
}
