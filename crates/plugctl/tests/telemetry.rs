//! Telemetry as an operator meets it: the audit log, CloudWatch metrics and
//! logs through an outage (LocalStack), the recommended alarms (LocalStack),
//! the CloudTrail timeline (recorded LookupEvents answers from a local
//! server), and no secret in any output.
//!
//! The LocalStack tests need `LOCALSTACK_ENDPOINT` (`cargo xtask test` sets
//! it); without it they say so and pass, unless `PLUGCTL_REQUIRE_LOCALSTACK=1`.
#![allow(missing_docs)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

mod support;
use support::{function_project, localstack_endpoint, repo, text, unique};

/// A port nothing listens on: bound, then released.
fn dead_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// An endpoint that accepts connections and never answers (a hung
/// CloudWatch); the connections stay open as long as the test runs.
fn hung_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    format!("http://127.0.0.1:{port}")
}

/// One operator's plugctl: a state dir, AWS at `endpoint`, telemetry into
/// its own namespace and log group so counts are exact.
struct Operator {
    state: tempfile::TempDir,
    endpoint: String,
    namespace: String,
    log_group: String,
}

impl Operator {
    fn new(endpoint: &str) -> Self {
        let id = unique("t");
        Operator {
            state: tempfile::tempdir().expect("tempdir"),
            endpoint: endpoint.to_owned(),
            namespace: format!("plugctl-test/{id}"),
            log_group: format!("/plugctl-test/{id}"),
        }
    }

    fn command(&self, workdir: &Path, args: &[&str]) -> Command {
        let venv = repo().join("target/py-venv/bin");
        let path = format!(
            "{}:{}",
            venv.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_plugctl"));
        cmd.args(args)
            .current_dir(workdir)
            .env("PATH", path)
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("PLUGCTL_STATE_DIR", self.state.path())
            .env("PLUGCTL_METRICS_NAMESPACE", &self.namespace)
            .env("PLUGCTL_LOG_GROUP", &self.log_group)
            // These tests are about telemetry: runs act with the base
            // credentials and no permission check (`--unchecked` below).
            .env("PLUGCTL_IDENTITY", "base")
            .env_remove("AWS_PROFILE")
            .env_remove("PLUGCTL_TELEMETRY_ENDPOINT_URL")
            .stdin(Stdio::null());
        cmd
    }

    fn plugctl(&self, workdir: &Path, args: &[&str]) -> Output {
        self.command(workdir, args).output().expect("plugctl runs")
    }

    fn aws(&self, service: &str, operation: &str, params: Value) -> Value {
        let out = self.plugctl(
            &repo(),
            &[
                "aws",
                "call",
                service,
                operation,
                "--params",
                &params.to_string(),
            ],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("json")
    }

    fn audit(&self) -> Vec<Value> {
        std::fs::read_to_string(self.state.path().join("audit.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("audit line"))
            .collect()
    }

    fn spooled(&self) -> usize {
        std::fs::read_dir(self.state.path().join("spool"))
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                    .count()
            })
            .unwrap_or(0)
    }

    /// The sum of a statistic of a metric over the last hours, all datapoints.
    fn metric(&self, name: &str, statistic: &str) -> f64 {
        self.metric_of(
            ("aws-deployment-assistant", "deploy-lambda"),
            name,
            statistic,
        )
    }

    /// A metric of `(plugin, skill)` for agent runs, summed over the last hours.
    fn metric_of(&self, (plugin, skill): (&str, &str), name: &str, statistic: &str) -> f64 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs();
        let out = self.aws(
            "cloudwatch",
            "get_metric_statistics",
            json!({
                "Namespace": self.namespace,
                "MetricName": name,
                "Dimensions": [
                    {"Name": "Plugin", "Value": plugin},
                    {"Name": "Skill", "Value": skill},
                    {"Name": "ActorType", "Value": "agent"}
                ],
                "StartTime": now - 3 * 3600,
                "EndTime": now + 600,
                "Period": 3600,
                "Statistics": [statistic]
            }),
        );
        out["Datapoints"]
            .as_array()
            .map(|points| points.iter().filter_map(|p| p[statistic].as_f64()).sum())
            .unwrap_or(0.0)
    }

    fn log_events(&self, run_id: &str) -> usize {
        let out = self.aws(
            "logs",
            "get_log_events",
            json!({
                "logGroupName": self.log_group,
                "logStreamName": format!("aws-deployment-assistant/deploy-lambda/{run_id}"),
                "startFromHead": true
            }),
        );
        out["events"].as_array().map_or(0, Vec::len)
    }
}

fn runs_of(audit: &[Value]) -> Vec<String> {
    audit
        .iter()
        .filter(|r| r["event"] == "run_started")
        .map(|r| r["run_id"].as_str().expect("run id").to_owned())
        .collect()
}

#[test]
fn a_cloudwatch_outage_during_the_runs_loses_nothing_and_duplicates_nothing() {
    let Some(endpoint) = localstack_endpoint() else {
        return;
    };
    let operator = Operator::new(&endpoint);
    let project = function_project();
    let seed = repo()
        .join("plugins/aws-deployment-assistant")
        .display()
        .to_string();
    let function = unique("outage");
    let down = dead_endpoint();
    for _ in 0..2 {
        let out = operator
            .command(
                project.path(),
                &[
                    "run",
                    &seed,
                    "deploy-lambda",
                    "--param",
                    &format!("function_name={function}"),
                    "--param",
                    "iam_role_arn=arn:aws:iam::000000000000:role/lambda-role",
                    "--unchecked",
                ],
            )
            .env("PLUGCTL_TELEMETRY_ENDPOINT_URL", &down)
            .output()
            .expect("run");
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    assert!(
        operator.spooled() >= 2,
        "metrics and logs wait in the spool"
    );
    assert_eq!(operator.metric("Invocations", "SampleCount"), 0.0);

    let flush = operator.plugctl(&repo(), &["telemetry", "flush", "--output", "json"]);
    assert!(
        flush.status.success(),
        "{}{}",
        text(&flush.stdout),
        text(&flush.stderr)
    );
    let report: Value = serde_json::from_slice(&flush.stdout).expect("report");
    assert_eq!(report["pending"], 0, "{report}");
    assert_eq!(operator.spooled(), 0);

    let audit = operator.audit();
    let runs = runs_of(&audit);
    assert_eq!(runs.len(), 2);
    let counts_match = |operator: &Operator| {
        assert_eq!(operator.metric("Invocations", "Sum"), runs.len() as f64);
        assert_eq!(operator.metric("Latency", "SampleCount"), runs.len() as f64);
        assert_eq!(operator.metric("Errors", "Sum"), 0.0);
        for run in &runs {
            let local = audit.iter().filter(|r| r["run_id"] == run.as_str()).count();
            assert_eq!(operator.log_events(run), local, "log events of run {run}");
        }
    };
    counts_match(&operator);
    // A second flush has nothing to send: exactly once, not at least once.
    let again = operator.plugctl(&repo(), &["telemetry", "flush", "--output", "json"]);
    let report: Value = serde_json::from_slice(&again.stdout).expect("report");
    assert_eq!(
        (
            report["metric_calls"].as_u64(),
            report["log_calls"].as_u64()
        ),
        (Some(0), Some(0))
    );
    counts_match(&operator);
}

#[test]
fn the_recommended_alarms_are_created_for_each_skill_and_actor() {
    let Some(endpoint) = localstack_endpoint() else {
        return;
    };
    let operator = Operator::new(&endpoint);
    let seed = repo()
        .join("plugins/aws-deployment-assistant")
        .display()
        .to_string();
    let out = operator.plugctl(
        &repo(),
        &[
            "telemetry",
            "alarms",
            &seed,
            "--error-rate",
            "5",
            "--output",
            "json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let alarms = operator.aws(
        "cloudwatch",
        "describe_alarms",
        json!({"AlarmNamePrefix": "plugctl-aws-deployment-assistant-deploy-lambda-"}),
    );
    let alarms = alarms["MetricAlarms"].as_array().expect("alarms");
    let names: Vec<&str> = alarms
        .iter()
        .filter_map(|a| a["AlarmName"].as_str())
        .collect();
    for actor in ["agent", "human"] {
        for kind in [
            "error-rate",
            "latency",
            "long-running",
            "undeclared-calls",
            "access-denied",
        ] {
            let name = format!("plugctl-aws-deployment-assistant-deploy-lambda-{actor}-{kind}");
            assert!(
                names.contains(&name.as_str()),
                "{name} missing from {names:?}"
            );
        }
    }
    let rate = alarms
        .iter()
        .find(|a| {
            a["AlarmName"] == "plugctl-aws-deployment-assistant-deploy-lambda-agent-error-rate"
        })
        .expect("error-rate alarm");
    assert_eq!(rate["Threshold"], 5.0);
    let expression = rate["Metrics"]
        .as_array()
        .and_then(|m| m.iter().find_map(|q| q["Expression"].as_str()))
        .expect("metric math");
    assert_eq!(expression, "100 * errors / invocations");
    let latency = alarms
        .iter()
        .find(|a| a["AlarmName"] == "plugctl-aws-deployment-assistant-deploy-lambda-agent-latency")
        .expect("latency alarm");
    assert_eq!(latency["Namespace"], operator.namespace.as_str());
    // Any unexpected call in a period alarms.
    let undeclared = alarms
        .iter()
        .find(|a| {
            a["AlarmName"]
                == "plugctl-aws-deployment-assistant-deploy-lambda-agent-undeclared-calls"
        })
        .expect("undeclared-calls alarm");
    assert_eq!(
        (&undeclared["MetricName"], &undeclared["Threshold"]),
        (&json!("UndeclaredCalls"), &json!(0.0))
    );
}

/// Reads one HTTP/1.1 request: returns its body and the stream to answer on.
fn read_request(stream: std::net::TcpStream) -> (String, std::net::TcpStream) {
    let mut reader = BufReader::new(stream);
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    (
        String::from_utf8_lossy(&body).into_owned(),
        reader.into_inner(),
    )
}

/// Serves one recorded LookupEvents answer per request; returns the endpoint
/// and a handle yielding the request bodies it saw.
fn recorded_cloudtrail(body: String) -> (String, std::thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    let handle = std::thread::spawn(move || {
        let mut seen = Vec::new();
        // One LookupEvents call (the recorded answer has no NextToken).
        if let Ok((stream, _)) = listener.accept() {
            let (request, mut stream) = read_request(stream);
            seen.push(request);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-RequestId: ct-1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
        seen
    });
    (endpoint, handle)
}

fn write_audit(state: &Path, run: &str, t0_ms: u64) {
    let lines = [
        json!({"schema": 1, "run_id": run, "at_ms": t0_ms, "event": "run_started", "plugin": "p", "version": "1.0.0", "skill": "deploy", "actor": "agent"}),
        json!({"schema": 1, "run_id": run, "at_ms": t0_ms + 1000, "event": "aws_api_called", "service": "lambda", "operation": "update_function_code", "request_id": "req-local-1", "status": 200, "duration_ms": 40}),
        json!({"schema": 1, "run_id": run, "at_ms": t0_ms + 3000, "event": "run_finished", "outcome": "succeeded", "duration_ms": 3000}),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(state.join("audit.jsonl"), text).expect("write audit");
}

#[test]
fn audit_merges_the_runs_cloudtrail_events_into_one_timeline() {
    let state = tempfile::tempdir().expect("tempdir");
    let run = "20260101T000000-000001";
    let t0_ms = 1_767_225_600_000; // 2026-01-01T00:00:00Z
    write_audit(state.path(), run, t0_ms);
    let recorded = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cloudtrail/lookup-events.json"),
    )
    .expect("recorded answer")
    .replace("{{RUN}}", run)
    .replace("{{T1}}", &format!("{}.100", t0_ms / 1000 + 1))
    .replace("{{T2}}", &format!("{}", t0_ms / 1000 + 2));
    let (endpoint, server) = recorded_cloudtrail(recorded);
    let out = Command::new(env!("CARGO_BIN_EXE_plugctl"))
        .args(["audit", "--run", run, "--cloudtrail", "--output", "json"])
        .env("PLUGCTL_STATE_DIR", state.path())
        .env("AWS_ENDPOINT_URL_CLOUDTRAIL", &endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("plugctl audit");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let requests = server.join().expect("server");
    let request: Value = serde_json::from_str(&requests[0]).expect("LookupEvents body");
    assert_eq!(
        request["LookupAttributes"],
        json!([{"AttributeKey": "Username", "AttributeValue": format!("plugctl-{run}")}])
    );
    let entries: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("entry"))
        .collect();
    let summary: Vec<(String, Option<bool>)> = entries
        .iter()
        .map(|e| {
            (
                format!(
                    "{} {}",
                    e["source"].as_str().unwrap_or(""),
                    e["what"].as_str().unwrap_or("")
                ),
                e["matched"].as_bool(),
            )
        })
        .collect();
    insta::assert_debug_snapshot!(summary);
    let times: Vec<u64> = entries.iter().filter_map(|e| e["at_ms"].as_u64()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
}

#[test]
fn no_secret_reaches_the_audit_log_journal_spool_or_terminal() {
    let operator = Operator::new(&dead_endpoint());
    let work = tempfile::tempdir().expect("tempdir");
    let token = "tok-7f3a9c1e5b2d4f60";
    let aws_secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    let plugin = repo().join("crates/plugctl/tests/fixtures/telemetry-secrets");
    let out = operator
        .command(
            work.path(),
            &[
                "run",
                &plugin.display().to_string(),
                "use-secret",
                "--param",
                &format!("token={token}"),
            ],
        )
        .env("AWS_SECRET_ACCESS_KEY", aws_secret)
        .env("PLUGCTL_TELEMETRY_ENDPOINT_URL", dead_endpoint())
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(1),
        "the step fails: {}",
        text(&out.stderr)
    );
    let mut outputs = vec![
        ("stdout".to_owned(), text(&out.stdout)),
        ("stderr".to_owned(), text(&out.stderr)),
    ];
    for entry in walk(operator.state.path()) {
        outputs.push((
            entry.display().to_string(),
            std::fs::read_to_string(&entry).unwrap_or_default(),
        ));
    }
    assert!(
        outputs.len() > 3,
        "the run wrote its journal, audit log and spool"
    );
    assert!(
        outputs
            .iter()
            .any(|(name, _)| name.ends_with("audit.jsonl"))
    );
    for (name, content) in &outputs {
        assert!(
            !content.contains(token),
            "{name} contains the sensitive param:\n{content}"
        );
        assert!(
            !content.contains(aws_secret),
            "{name} contains the AWS secret key"
        );
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
    {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// The run id `plugctl run` printed on stderr (`run <id> (...)`).
fn run_id(stderr: &str) -> String {
    stderr
        .lines()
        .find_map(|l| {
            l.strip_prefix("run ")?
                .split_whitespace()
                .next()
                .map(str::to_owned)
        })
        .expect("run id on stderr")
}

#[test]
fn aws_unreachable_mid_run_fails_the_step_then_resume_completes_and_the_spool_arrives() {
    let Some(endpoint) = localstack_endpoint() else {
        return;
    };
    let operator = Operator::new(&endpoint);
    let project = function_project();
    let seed = repo()
        .join("plugins/aws-deployment-assistant")
        .display()
        .to_string();
    let function = unique("fault");
    let down = dead_endpoint();
    // AWS (and CloudWatch with it) is unreachable: the local steps pass, the
    // first AWS call fails, the run is journaled as failed.
    let out = operator
        .command(
            project.path(),
            &[
                "run",
                &seed,
                "deploy-lambda",
                "--param",
                &format!("function_name={function}"),
                "--param",
                "iam_role_arn=arn:aws:iam::000000000000:role/lambda-role",
                "--unchecked",
            ],
        )
        .env("AWS_ENDPOINT_URL", &down)
        .output()
        .expect("run");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("create_or_update") && stdout.contains("unreachable"),
        "the failure names the step and the cause:\n{stdout}"
    );
    let id = run_id(&stderr);
    assert!(operator.spooled() >= 2, "the run's telemetry is spooled");

    let resumed = operator.plugctl(project.path(), &["resume", &id, "--unchecked"]);
    assert!(
        resumed.status.success(),
        "{}{}",
        text(&resumed.stdout),
        text(&resumed.stderr)
    );
    let function_now = operator.aws("lambda", "get_function", json!({"FunctionName": function}));
    assert_eq!(
        function_now["Configuration"]["FunctionName"],
        function.as_str()
    );
    // Resuming started the telemetry worker, which delivered the old spool.
    let flush = operator.plugctl(&repo(), &["telemetry", "flush", "--output", "json"]);
    assert!(flush.status.success(), "{}", text(&flush.stderr));
    assert_eq!(operator.spooled(), 0);

    let audit = operator.audit();
    let started = audit.iter().filter(|r| r["event"] == "run_started").count();
    let finished: Vec<&str> = audit
        .iter()
        .filter(|r| r["event"] == "run_finished")
        .filter_map(|r| r["outcome"].as_str())
        .collect();
    assert_eq!(finished, ["failed", "succeeded"]);
    assert_eq!(operator.metric("Invocations", "Sum"), started as f64);
    assert_eq!(operator.metric("Errors", "Sum"), 1.0);
    let local = audit.iter().filter(|r| r["run_id"] == id.as_str()).count();
    assert_eq!(
        operator.log_events(&id),
        local,
        "every event of both attempts, once"
    );
}

/// A stand-in OTLP/HTTP collector: accepts every POST, keeps the bodies.
fn collector() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (body, mut stream) = read_request(stream);
            seen.lock().expect("lock").push(body);
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
            );
        }
    });
    (endpoint, bodies)
}

#[test]
fn a_run_exports_one_trace_with_the_steps_under_the_run_span() {
    let (endpoint, bodies) = collector();
    let state = tempfile::tempdir().expect("tempdir");
    let work = tempfile::tempdir().expect("tempdir");
    let plugin = repo().join("crates/plugctl/tests/fixtures/run-basics");
    let out = Command::new(env!("CARGO_BIN_EXE_plugctl"))
        .args([
            "run",
            &plugin.display().to_string(),
            "build-report",
            "--param",
            "target=prod",
        ])
        .current_dir(work.path())
        .env("PLUGCTL_STATE_DIR", state.path())
        .env("PLUGCTL_TELEMETRY", "local")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let bodies = bodies.lock().expect("lock").clone();
    let spans: Vec<Value> = bodies
        .iter()
        .filter_map(|b| serde_json::from_str::<Value>(b).ok())
        .flat_map(|b| {
            b["resourceSpans"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|r| r["scopeSpans"].as_array().into_iter().flatten())
                .flat_map(|s| s["spans"].as_array().cloned().unwrap_or_default())
                .collect::<Vec<_>>()
        })
        .collect();
    let named = |name: &str| {
        spans
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no span {name} in {spans:#?}"))
    };
    let run = named("run build-report");
    for step in ["step write", "step read", "step check"] {
        assert_eq!(named(step)["parentSpanId"], run["spanId"], "{step}");
        assert_eq!(named(step)["traceId"], run["traceId"]);
    }
}

/// `telemetry flush` and `alarms` read the configuration file as `run`
/// does (`PLUGCTL_CONFIG` here): its namespace names the alarms' metrics,
/// and `cloudwatch: false` turns publishing off for flush too.
#[test]
fn telemetry_commands_follow_the_configuration_file() {
    let Some(endpoint) = localstack_endpoint() else {
        return;
    };
    let operator = Operator::new(&endpoint);
    let config = operator.state.path().join("config.yaml");
    let namespace = format!("{}-from-file", operator.namespace);
    std::fs::write(&config, format!("telemetry:\n  namespace: {namespace}\n")).expect("config");
    let plugin = repo().join("crates/plugctl/tests/fixtures/run-basics");
    let out = operator
        .command(
            &repo(),
            &["telemetry", "alarms", &plugin.display().to_string()],
        )
        .env_remove("PLUGCTL_METRICS_NAMESPACE")
        .env("PLUGCTL_CONFIG", &config)
        .output()
        .expect("plugctl runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!("in namespace {namespace}")),
        "{}",
        text(&out.stdout)
    );
    let alarms = operator.aws(
        "cloudwatch",
        "describe_alarms",
        json!({"AlarmNames": ["plugctl-run-basics-whoami-agent-latency"]}),
    );
    assert_eq!(alarms["MetricAlarms"][0]["Namespace"], namespace.as_str());

    std::fs::write(&config, "telemetry:\n  cloudwatch: false\n").expect("config");
    let out = operator
        .command(&repo(), &["telemetry", "flush"])
        .env("PLUGCTL_CONFIG", &config)
        .output()
        .expect("plugctl runs");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("publishing is off"),
        "{}",
        text(&out.stderr)
    );
}

/// `plugctl run` of run-basics' `build-report`: local steps only.
fn build_report(fixture: &Path) -> [&str; 5] {
    let plugin = fixture.to_str().expect("utf-8");
    ["run", plugin, "build-report", "--param", "target=prod"]
}

/// Durability issue, item 3: a hung CloudWatch never holds a run's exit or
/// its audit record; what could not be delivered waits in the spool.
#[test]
fn a_hung_cloudwatch_endpoint_never_holds_a_runs_exit() {
    let hung = hung_endpoint();
    let operator = Operator::new(&hung);
    let work = tempfile::tempdir().expect("tempdir");
    let fixture = repo().join("crates/plugctl/tests/fixtures/run-basics");
    let args = build_report(&fixture);
    // Twice: the second run also finds the first one's spool to deliver.
    for _ in 0..2 {
        let started = std::time::Instant::now();
        let out = operator.plugctl(work.path(), &args);
        let took = started.elapsed();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        // Today's bound is about a second (FINAL_DELIVERY); 15 to 30 s before.
        assert!(
            took < std::time::Duration::from_secs(8),
            "the run took {took:?} to exit"
        );
    }
    let finished = operator
        .audit()
        .iter()
        .filter(|r| r["event"] == "run_finished")
        .count();
    assert_eq!(finished, 2, "both runs' records are in the audit log");
    assert!(
        operator.spooled() >= 2,
        "the undelivered calls wait in the spool"
    );
}

/// Durability issue, item 6: concurrent runs against a healthy endpoint
/// leave nothing stranded in the spool once the last one has exited.
#[test]
fn concurrent_runs_leave_no_telemetry_stranded() {
    let Some(endpoint) = localstack_endpoint() else {
        return;
    };
    let operator = Operator::new(&endpoint);
    let fixture = repo().join("crates/plugctl/tests/fixtures/run-basics");
    let args = build_report(&fixture);
    let dirs: Vec<tempfile::TempDir> = (0..8)
        .map(|_| tempfile::tempdir().expect("tempdir"))
        .collect();
    let children: Vec<_> = dirs
        .iter()
        .map(|dir| {
            operator
                .command(dir.path(), &args)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("run starts")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("run ends");
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    assert_eq!(operator.spooled(), 0, "calls were left in the spool");
    let invocations = operator.metric_of(("run-basics", "build-report"), "Invocations", "Sum");
    assert_eq!(invocations, 8.0);
}
