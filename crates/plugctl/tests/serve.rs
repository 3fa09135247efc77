//! `plugctl serve` as MCP clients see it: the built binary, driven by
//! plug-mcp's client and by the official TypeScript SDK client.
//!
//! The seed deployment runs against LocalStack from `LOCALSTACK_ENDPOINT`;
//! without it that test prints why and passes, unless
//! `PLUGCTL_REQUIRE_LOCALSTACK` is set (as `cargo xtask test` does).
#![allow(missing_docs)]

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use plug_mcp::{CallOptions, McpClient, Progress, ServerSpec, spec::AuthSpec};
use serde_json::{Value, json};
use support::{
    Env, fixture, function_project, result_text, seed, serve_argv, text, ts_client, wait_for,
};

const TOKEN: &str = "test-token-0123456789abcdef";

async fn connect(spec: &ServerSpec) -> McpClient {
    McpClient::connect(spec, None)
        .await
        .expect("plugctl serve answers the handshake")
}

fn tool_json(tools: &[plug_mcp::model::Tool], name: &str) -> Value {
    let tool = tools
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no tool {name}"));
    serde_json::to_value(tool).expect("tool as JSON")
}

fn seed_policy() -> String {
    support::repo()
        .join("plugins/aws-deployment-assistant/policies/policy-delete-human-only.json")
        .display()
        .to_string()
}

fn deny_policy() -> String {
    format!("{}/deny-lambda-deletes.json", fixture("policy"))
}

// ------------------------------------------------------------ plug-mcp's client

#[tokio::test(flavor = "multi_thread")]
async fn only_skills_the_allow_list_names_are_served() {
    let env = Env::new();
    let args = [
        "--allow",
        "whoami",
        "--allow",
        "aws-deployment-assistant/*",
        &fixture("run-basics"),
        &seed(),
    ];
    let client = connect(&env.stdio_spec(&args)).await;
    let tools = client.list_tools().await.expect("tools/list");
    let refused = client
        .call_tool(
            "run-basics__delete-lambda",
            &json!({"function_name": "f"}),
            &CallOptions::default(),
        )
        .await;
    client.shutdown().await;
    let mut names: Vec<String> = tools.iter().map(|t| t.name.to_string()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "aws-deployment-assistant__deploy-lambda",
            "run-basics__whoami"
        ]
    );
    assert!(
        refused.is_err() || refused.as_ref().is_ok_and(|r| r.is_error),
        "a skill not served cannot be called: {refused:?}"
    );
    assert!(env.journals().is_empty(), "nothing ran");
}

/// Through `serve` too, a step's command finds none of the operator's
/// `~/.aws` credentials (governance issue: a served step deleted functions).
#[tokio::test(flavor = "multi_thread")]
async fn a_served_step_finds_none_of_the_operators_credentials() {
    let Some(endpoint) = support::localstack_endpoint() else {
        return;
    };
    let home = support::aws::operator_home(&endpoint);
    let mut env = Env::new();
    env.vars
        .insert("HOME".to_owned(), home.path().display().to_string());
    let client = connect(&env.stdio_spec(&[&fixture("attacks")])).await;
    let result = client
        .call_tool(
            "attacks__operator-credentials",
            &json!({}),
            &CallOptions::default(),
        )
        .await
        .expect("tools/call");
    client.shutdown().await;
    assert!(result.is_error, "{:?}", result.content);
    let caller = std::fs::read_to_string(env.work.path().join("caller.json")).unwrap_or_default();
    assert!(
        serde_json::from_str::<Value>(&caller).is_err(),
        "the step acted as the operator: {caller}"
    );
    let error = std::fs::read_to_string(env.work.path().join("error.txt")).unwrap_or_default();
    assert!(error.contains("Unable to locate credentials"), "{error}");
}

#[test]
fn serve_without_an_allow_list_refuses_to_start() {
    let env = Env::new();
    let out = env.plugctl(&["serve", &fixture("run-basics")]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("--allow"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tools_are_the_skills_with_their_params_and_effects() {
    let env = Env::new();
    let client = connect(&env.stdio_spec(&[&fixture("run-basics"), &seed()])).await;
    let tools = client.list_tools().await.expect("tools/list");
    client.shutdown().await;
    let mut names: Vec<String> = tools.iter().map(|t| t.name.to_string()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "aws-deployment-assistant__deploy-lambda",
            "run-basics__build-report",
            "run-basics__delete-lambda",
            "run-basics__deploy-once",
            "run-basics__release-gated",
            "run-basics__whoami",
        ]
    );

    let deploy = tool_json(&tools, "aws-deployment-assistant__deploy-lambda");
    let schema = &deploy["inputSchema"];
    assert_eq!(schema["required"], json!(["function_name", "iam_role_arn"]));
    assert_eq!(schema["additionalProperties"], false);
    assert!(
        schema["properties"]["function_arn"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("create_or_update")),
        "{schema}"
    );
    assert_eq!(schema["properties"]["dry_run"]["type"], "boolean");
    assert!(
        deploy["description"]
            .as_str()
            .is_some_and(|d| d.starts_with("Deploy a Lambda function")),
        "{deploy}"
    );
    // UpdateFunctionCode overwrites: destructive. GetCallerIdentity only reads.
    assert_eq!(deploy["annotations"]["readOnlyHint"], false);
    assert_eq!(deploy["annotations"]["destructiveHint"], true);
    let whoami = tool_json(&tools, "run-basics__whoami");
    assert_eq!(whoami["annotations"]["readOnlyHint"], true);
    let report = tool_json(&tools, "run-basics__build-report");
    assert_eq!(
        report["annotations"]["readOnlyHint"], false,
        "it runs commands"
    );
    assert_eq!(report["annotations"]["destructiveHint"], false);
    assert_eq!(
        report["inputSchema"]["properties"]["target"]["type"],
        "string"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_runs_the_skill_as_the_agent_with_progress_per_step() {
    let env = Env::new();
    let client = connect(&env.stdio_spec(&[&fixture("run-basics")])).await;
    let seen = Arc::new(Mutex::new(Vec::<Progress>::new()));
    let sink = seen.clone();
    let options = CallOptions {
        progress: Some(Arc::new(move |p| sink.lock().expect("lock").push(p))),
        ..CallOptions::default()
    };
    let target = "prod; rm -rf /";
    let result = client
        .call_tool(
            "run-basics__build-report",
            &json!({"target": target}),
            &options,
        )
        .await
        .expect("tools/call");
    let refused = client
        .call_tool(
            "run-basics__build-report",
            &json!({"target": "x", "targte": "y"}),
            &CallOptions::default(),
        )
        .await
        .expect("tools/call");
    client.shutdown().await;

    assert!(!result.is_error, "{:?}", result.content);
    let report = result.structured.expect("structuredContent");
    assert_eq!(report["outcome"], "succeeded");
    assert_eq!(report["actor"], "agent");
    assert_eq!(report["steps"][1]["outputs"]["text"], target);
    assert_eq!(
        std::fs::read_to_string(env.work.path().join("report.txt")).expect("report"),
        target,
        "the param stayed data"
    );
    let summary = result_text(&result.content);
    assert!(summary.contains(": succeeded"), "{summary}");

    // rmcp's client hands each notification to a task of its own, so notes can
    // arrive out of order, and those that land with the answer may come after
    // it and be dropped; the wire order is checked in `progress_notes_...`.
    let mut seen = seen.lock().expect("lock").clone();
    seen.sort_by(|a, b| a.progress.total_cmp(&b.progress));
    let expected = [
        "step 1/3: write (run_command)",
        "step 2/3: read (run_command)",
        "step 3/3: check (assert)",
        "run succeeded",
    ];
    let messages: Vec<&str> = seen.iter().filter_map(|p| p.message.as_deref()).collect();
    assert!(
        !messages.is_empty() && messages.iter().all(|m| expected.contains(m)),
        "{messages:?}"
    );
    assert!(seen.iter().all(|p| p.total == Some(3.0)));
    let audit = env.audit();
    assert!(
        audit
            .lines()
            .any(|l| l.contains("\"run_started\"") && l.contains("\"actor\":\"agent\"")),
        "{audit}"
    );
    assert!(refused.is_error, "an unknown argument is refused");
    assert!(result_text(&refused.content).contains("`targte`"));
    assert_eq!(
        env.journals().matches("\"entry\":\"started\"").count(),
        1,
        "the refused call ran nothing"
    );
}

/// One JSON-RPC exchange over `plugctl serve`'s stdin and stdout, line by line.
fn exchange(env: &Env, plugin: &str, requests: &[Value], until_id: u64) -> Vec<Value> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_plugctl"))
        .args(serve_argv(&[plugin]))
        .current_dir(env.work.path())
        .envs(env.server_env())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("plugctl serve starts");
    let mut stdin = child.stdin.take().expect("stdin");
    for request in requests {
        writeln!(stdin, "{request}").expect("write request");
    }
    let stdout = child.stdout.take().expect("stdout");
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let mut messages = Vec::new();
    loop {
        let line = received
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the server answers in time");
        let message: Value = serde_json::from_str(&line).expect("JSON-RPC line");
        let done = message["id"] == until_id;
        messages.push(message);
        if done {
            break;
        }
    }
    drop(stdin);
    let _ = child.wait();
    messages
}

#[test]
fn progress_notes_precede_the_answer_on_the_wire() {
    let env = Env::new();
    let requests = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "wire", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "run-basics__build-report", "arguments": {"target": "t"},
            "_meta": {"progressToken": "p"}}}),
    ];
    let messages = exchange(&env, &fixture("run-basics"), &requests, 2);
    let notes: Vec<(f64, &str)> = messages
        .iter()
        .filter(|m| m["method"] == "notifications/progress")
        .map(|m| {
            assert_eq!(m["params"]["progressToken"], "p");
            assert_eq!(m["params"]["total"], 3.0);
            (
                m["params"]["progress"].as_f64().unwrap_or(-1.0),
                m["params"]["message"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        notes,
        [
            (0.0, "step 1/3: write (run_command)"),
            (1.0, "step 2/3: read (run_command)"),
            (2.0, "step 3/3: check (assert)"),
            (3.0, "run succeeded"),
        ]
    );
    let answer = messages.last().expect("the answer");
    assert_eq!(
        answer["result"]["structuredContent"]["outcome"],
        "succeeded"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_plans_without_running_anything() {
    let env = Env::new();
    let policy = seed_policy();
    let client = connect(&env.stdio_spec(&["--policy", &policy, &fixture("run-basics")])).await;
    let result = client
        .call_tool(
            "run-basics__delete-lambda",
            &json!({"function_name": "f", "dry_run": true}),
            &CallOptions::default(),
        )
        .await
        .expect("tools/call");
    client.shutdown().await;
    assert!(!result.is_error, "{:?}", result.content);
    let plan = result.structured.expect("structuredContent");
    assert_eq!(plan["steps"][0]["inputs"]["FunctionName"], "f");
    assert_eq!(plan["actions"][0]["action"], "lambda:DeleteFunction");
    assert_eq!(plan["actions"][0]["needs_approval"], true);
    assert!(
        !env.state.path().join("runs").exists(),
        "a plan journals nothing"
    );
}

/// Arguments reach the run as the JSON the client sent, never as text parsed
/// back: a quoted number is not an integer, and an object is not a string.
#[tokio::test(flavor = "multi_thread")]
async fn arguments_keep_their_json_types() {
    let env = Env::new();
    let client =
        connect(&env.stdio_spec(&[&fixture("serve-basics"), &fixture("run-basics")])).await;
    let call = |tool: &'static str, arguments: Value| {
        let client = &client;
        async move {
            client
                .call_tool(tool, &arguments, &CallOptions::default())
                .await
                .expect("tools/call")
        }
    };
    let typed = call(
        "serve-basics__two-steps",
        json!({"pause": 0, "dry_run": true}),
    )
    .await;
    assert!(!typed.is_error, "{:?}", typed.content);
    let quoted = call(
        "serve-basics__two-steps",
        json!({"pause": "0", "dry_run": true}),
    )
    .await;
    let object = call(
        "run-basics__delete-lambda",
        json!({"function_name": {"a": 1}, "dry_run": true}),
    )
    .await;
    client.shutdown().await;
    assert!(quoted.is_error, "a JSON string is not an integer");
    assert!(
        result_text(&quoted.content).contains("pause"),
        "{:?}",
        quoted.content
    );
    assert!(object.is_error, "an object is not a string");
    assert!(
        result_text(&object.content).contains("is not a valid string"),
        "{:?}",
        object.content
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_denied_skill_is_an_error_naming_the_statement() {
    let env = Env::new();
    let policy = deny_policy();
    let client = connect(&env.stdio_spec(&["--policy", &policy, &fixture("run-basics")])).await;
    let result = client
        .call_tool(
            "run-basics__delete-lambda",
            &json!({"function_name": "f"}),
            &CallOptions::default(),
        )
        .await
        .expect("tools/call");
    client.shutdown().await;
    assert!(result.is_error);
    let summary = result_text(&result.content);
    assert!(
        summary.contains(
            "lambda:DeleteFunction is ExplicitDeny by deny-lambda-deletes.json#0 (NoLambdaDeletes)"
        ),
        "{summary}"
    );
    let report = result.structured.expect("structuredContent");
    assert_eq!(report["outcome"], "denied");
    assert_eq!(report["statements"][0]["sid"], "NoLambdaDeletes");
    assert_eq!(report["steps"], json!([]), "no step ran");
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelling_a_call_stops_the_run_after_its_current_step() {
    let env = Env::new();
    let client = Arc::new(connect(&env.stdio_spec(&[&fixture("serve-basics")])).await);
    let cancel = tokio_util::sync::CancellationToken::new();
    let started = env.work.path().join("first.started");
    let trigger = cancel.clone();
    tokio::spawn(async move {
        while !started.exists() {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        trigger.cancel();
    });
    let options = CallOptions {
        cancel: Some(cancel),
        ..CallOptions::default()
    };
    let call = client
        .call_tool("serve-basics__two-steps", &json!({"pause": 2}), &options)
        .await;
    assert!(call.is_err(), "the call was cancelled: {call:?}");
    // The server is still up: the run finishes its step, then stops.
    wait_for("the run to stop", || {
        env.journals().contains("\"state\":\"interrupted\"")
    });
    client.shutdown().await;
    assert!(env.work.path().join("first.done").exists(), "step 1 ended");
    assert!(!env.work.path().join("second.done").exists());

    let runs: Value = serde_json::from_slice(&env.plugctl(&["runs", "--output", "json"]).stdout)
        .expect("runs as JSON");
    let id = runs[0]["run_id"].as_str().expect("run id").to_owned();
    let resumed = env.plugctl(&["resume", &id]);
    assert_eq!(resumed.status.code(), Some(0), "{}", text(&resumed.stderr));
    assert!(
        env.work.path().join("second.done").exists(),
        "resume finished it"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_elicitation_an_approval_waits_for_plugctl_approve() {
    let env = Env::new();
    let alice = support::unique("alice");
    let Some(person) = support::aws::person(&alice) else {
        return;
    };
    let client = connect(&env.stdio_spec(&[&fixture("run-basics")])).await;
    let result = client
        .call_tool(
            "run-basics__release-gated",
            &json!({"version": "1.2.3"}),
            &CallOptions::default(),
        )
        .await
        .expect("tools/call");
    assert!(!result.is_error, "{:?}", result.content);
    let pending = result.structured.expect("structuredContent");
    assert_eq!(pending["outcome"], "pending_approval");
    let id = pending["run_id"].as_str().expect("run id").to_owned();
    assert!(result_text(&result.content).contains(&format!("`plugctl approve {id}`")));
    assert!(
        !env.work.path().join("released").exists(),
        "nothing proceeds without an answer"
    );

    let approved = Command::new(env!("CARGO_BIN_EXE_plugctl"))
        .args(["approve", &id, "--as", &alice])
        .envs(env.server_env())
        .envs(person)
        .output()
        .expect("plugctl approve");
    assert_eq!(
        approved.status.code(),
        Some(0),
        "{}",
        text(&approved.stderr)
    );
    wait_for("the release", || env.work.path().join("released").exists());
    wait_for("the run to finish", || {
        env.journals().contains("\"state\":\"succeeded\"")
    });
    client.shutdown().await;
    assert!(env.audit().contains(&format!("\"approver\":\"{alice}\"")));
}

/// `plugctl serve --http` on a free loopback port; killed on drop.
struct HttpServer {
    child: Child,
    url: String,
    /// What it printed on stderr so far.
    stderr: Arc<Mutex<Vec<String>>>,
}

impl HttpServer {
    fn start(env: &Env, plugins: &[&str]) -> HttpServer {
        let mut child = Command::new(env!("CARGO_BIN_EXE_plugctl"))
            .args(serve_argv(&["--http", "127.0.0.1:0"]))
            .args(plugins)
            .current_dir(env.work.path())
            .envs(env.server_env())
            .env("PLUGCTL_SERVE_TOKEN", TOKEN)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("plugctl serve starts");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let url = loop {
            let line = lines
                .next()
                .expect("plugctl serve says where it listens")
                .expect("stderr line");
            if let Some(url) = line.strip_prefix("plugctl serve: listening on ") {
                break url.to_owned();
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        let said = Arc::new(Mutex::new(Vec::new()));
        let keep = said.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                keep.lock().expect("stderr lines").push(line);
            }
        });
        HttpServer {
            child,
            url,
            stderr: said,
        }
    }

    /// Whether a stderr line so far contains `text`.
    fn said(&self, text: &str) -> bool {
        let lines = self.stderr.lock().expect("stderr lines");
        lines.iter().any(|l| l.contains(text))
    }

    fn spec(&self, token: &str) -> ServerSpec {
        let mut spec = ServerSpec::http("plugctl", &self.url);
        spec.auth = AuthSpec::Headers(vec![(
            "Authorization".to_owned(),
            plug_mcp::secret::Secret::new(format!("Bearer {token}")),
        )]);
        spec
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl HttpServer {
    /// Sends SIGTERM, as systemd and container runtimes do.
    fn sigterm(&self) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success());
    }

    /// Waits for the server to exit; its exit code.
    fn exit_code(&mut self) -> Option<i32> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code();
            }
            assert!(std::time::Instant::now() < deadline, "serve did not exit");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

/// Whether any process still runs in `dir` (a step's, started there).
fn processes_in(dir: &std::path::Path) -> Vec<String> {
    let dir = dir.canonicalize().expect("dir");
    std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.parse::<u32>().is_ok())
        })
        .filter(|e| std::fs::read_link(e.path().join("cwd")).is_ok_and(|cwd| cwd == dir))
        .filter(|e| {
            std::fs::read_to_string(e.path().join("stat")).is_ok_and(|stat| !stat.contains(") Z "))
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// Starts the two-step skill through `server` and waits for its first step.
async fn start_two_steps(env: &Env, server: &HttpServer, pause: u64) -> Arc<McpClient> {
    let client = Arc::new(connect(&server.spec(TOKEN)).await);
    let calling = client.clone();
    tokio::spawn(async move {
        let arguments = json!({"pause": pause});
        let _ = (calling)
            .call_tool(
                "serve-basics__two-steps",
                &arguments,
                &CallOptions::default(),
            )
            .await;
    });
    let started = env.work.path().join("first.started");
    wait_for("the first step", || started.exists());
    client
}

/// SIGTERM stops `serve` as Ctrl-C does: the run in flight finishes its
/// step, is journaled and audited as interrupted, and the server exits 6
/// (durability issue, item 4).
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_serve_with_its_runs_interrupted_at_a_step_boundary() {
    let env = Env::new();
    let mut server = HttpServer::start(&env, &[&fixture("serve-basics")]);
    let _client = start_two_steps(&env, &server, 2).await;
    server.sigterm();
    assert_eq!(server.exit_code(), Some(6));
    assert!(
        env.work.path().join("first.done").exists(),
        "step 1 finished"
    );
    assert!(
        !env.work.path().join("second.done").exists(),
        "step 2 never began"
    );
    assert!(
        env.journals().contains("\"state\":\"interrupted\""),
        "{}",
        env.journals()
    );
    assert!(
        env.audit().contains("\"outcome\":\"interrupted\""),
        "{}",
        env.audit()
    );
}

/// A second signal does not wait for the step: its processes are killed,
/// and nothing the run started outlives the server.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_sigterm_stops_serve_mid_step_leaving_no_process() {
    let env = Env::new();
    let mut server = HttpServer::start(&env, &[&fixture("serve-basics")]);
    let _client = start_two_steps(&env, &server, 300).await;
    assert!(!processes_in(env.work.path()).is_empty(), "the step runs");
    server.sigterm();
    wait_for("the shutdown to begin", || {
        server.said("plugctl serve: stopping")
    });
    server.sigterm();
    assert_eq!(server.exit_code(), Some(6));
    assert!(
        env.journals().contains("\"state\":\"interrupted\""),
        "{}",
        env.journals()
    );
    wait_for("the step's processes to end", || {
        processes_in(env.work.path()).is_empty()
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn http_serves_on_loopback_behind_the_bearer_token() {
    let env = Env::new();
    let server = HttpServer::start(&env, &[&fixture("run-basics")]);
    assert!(
        server.url.starts_with("http://127.0.0.1:"),
        "{}",
        server.url
    );

    let refused = McpClient::connect(&server.spec("wrong-token-0123456789"), None).await;
    let error = refused.expect_err("a wrong token is refused").to_string();
    assert!(error.contains("401"), "{error}");

    let client = connect(&server.spec(TOKEN)).await;
    let tools = client.list_tools().await.expect("tools/list");
    assert!(tools.iter().any(|t| t.name == "run-basics__build-report"));
    let result = client
        .call_tool(
            "run-basics__build-report",
            &json!({"target": "over-http"}),
            &CallOptions::default(),
        )
        .await
        .expect("tools/call");
    client.shutdown().await;
    assert!(!result.is_error, "{:?}", result.content);

    let listed = ts_client(&json!({
        "url": server.url,
        "headers": {"Authorization": format!("Bearer {TOKEN}")},
        "steps": [{"op": "list"}],
    }));
    assert!(
        listed["tools"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t["name"] == "run-basics__whoami")),
        "{listed}"
    );
}

/// A server refused its address leaves the stored token alone: the running
/// server's clients keep working (hardening issue, item 18). The bearer
/// scheme is matched case-insensitively (item 19).
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_address_keeps_the_stored_token_and_the_scheme_is_case_insensitive() {
    let env = Env::new();
    let server = HttpServer::start(&env, &[&fixture("run-basics")]);
    let stored = env.state.path().join("serve-token");
    std::fs::write(&stored, "kept-token-0123456789abcdef").expect("token");
    let addr = server
        .url
        .trim_start_matches("http://")
        .trim_end_matches("/mcp")
        .to_owned();
    let out = Command::new(env!("CARGO_BIN_EXE_plugctl"))
        .args(serve_argv(&["--http", &addr, &fixture("run-basics")]))
        .envs(env.server_env())
        .env_remove("PLUGCTL_SERVE_TOKEN")
        .stdin(Stdio::null())
        .output()
        .expect("plugctl runs");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("cannot listen"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&stored).expect("token"),
        "kept-token-0123456789abcdef"
    );
    let mut spec = ServerSpec::http("plugctl", &server.url);
    spec.auth = AuthSpec::Headers(vec![(
        "Authorization".to_owned(),
        plug_mcp::secret::Secret::new(format!("bearer {TOKEN}")),
    )]);
    let client = connect(&spec).await;
    assert!(client.list_tools().await.is_ok());
    client.shutdown().await;
}

/// A connection that never finishes its headers is closed by the server
/// instead of being held forever (hardening issue, item 19).
#[test]
fn a_half_open_connection_is_closed() {
    use std::io::Read;
    let env = Env::new();
    let server = HttpServer::start(&env, &[&fixture("run-basics")]);
    let addr = server
        .url
        .trim_start_matches("http://")
        .trim_end_matches("/mcp")
        .to_owned();
    let mut stream = std::net::TcpStream::connect(&addr).expect("connect");
    stream
        .write_all(b"POST /mcp HTTP/1.1\r\nHost: localhost\r\n")
        .expect("partial headers");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .expect("timeout");
    let started = std::time::Instant::now();
    let mut buf = [0u8; 256];
    let closed = match stream.read(&mut buf) {
        Ok(_) => true,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    };
    assert!(closed, "the server still holds the connection after 30 s");
    assert!(started.elapsed() < std::time::Duration::from_secs(25));
}

/// Sends one raw HTTP/1.1 POST to `/mcp` and returns the status line and body.
fn raw_post(server: &HttpServer, content_type: &str, body: &str) -> (String, String) {
    use std::io::Read;
    let addr = server
        .url
        .trim_start_matches("http://")
        .trim_end_matches("/mcp");
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    let request = format!(
        "POST /mcp HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {TOKEN}\r\nAccept: application/json, text/event-stream\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("request");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer");
    let status = answer.lines().next().unwrap_or_default().to_owned();
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Malformed JSON is a 400 with a JSON-RPC parse error, as the MCP and
/// JSON-RPC specifications say, not the 415 rmcp answers; JSON that is no
/// JSON-RPC message is an invalid request; a wrong media type stays 415
/// (hardening issue, item 19).
#[test]
fn malformed_json_is_a_bad_request_with_a_parse_error() {
    let env = Env::new();
    let server = HttpServer::start(&env, &[&fixture("run-basics")]);
    let (status, body) = raw_post(&server, "application/json", "{\"jsonrpc\": \"2.0\", ");
    assert!(status.contains(" 400 "), "{status}");
    assert!(body.contains("-32700"), "{body}");
    let (status, body) = raw_post(&server, "application/json", "[1, 2, 3]");
    assert!(status.contains(" 400 "), "{status}");
    assert!(body.contains("-32600"), "{body}");
    let (status, _) = raw_post(&server, "text/plain", "{}");
    assert!(status.contains(" 415 "), "{status}");
}

#[test]
fn http_refuses_an_address_other_hosts_could_reach() {
    let env = Env::new();
    let out = env.plugctl(&serve_argv(&[
        "--http",
        "0.0.0.0:0",
        &fixture("run-basics"),
    ]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("must be a loopback address"),
        "{}",
        text(&out.stderr)
    );
}

// ------------------------------------------------------------ the TypeScript SDK client

#[test]
fn the_typescript_client_approves_by_elicitation() {
    let env = Env::new();
    let mut scenario = env.ts_stdio(&[&fixture("run-basics")]);
    scenario["elicit"] = json!({"action": "accept", "content": {"approve": true}});
    scenario["steps"] = json!([
        {"op": "list"},
        {"op": "call", "name": "run-basics__release-gated", "arguments": {"version": "2.0.0"}},
    ]);
    let out = ts_client(&scenario);
    assert_eq!(out["server"]["name"], "plugctl");
    assert!(
        out["tools"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t["name"] == "run-basics__release-gated"))
    );
    let result = &out["calls"][0]["result"];
    assert_ne!(result["isError"], true, "{result}");
    assert_eq!(result["structuredContent"]["outcome"], "succeeded");
    let asked = out["elicitations"][0]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(asked.contains("Release 2.0.0 to production?"), "{out}");
    assert!(env.work.path().join("released").exists());
    assert!(env.audit().contains("\"approval_granted\""));
}

#[test]
fn a_declined_elicitation_stops_the_run() {
    let env = Env::new();
    let mut scenario = env.ts_stdio(&[&fixture("run-basics")]);
    scenario["elicit"] = json!({"action": "decline"});
    scenario["steps"] = json!([
        {"op": "call", "name": "run-basics__release-gated", "arguments": {"version": "3.0.0"}},
    ]);
    let out = ts_client(&scenario);
    let result = &out["calls"][0]["result"];
    assert_eq!(result["isError"], true, "{result}");
    assert_eq!(result["structuredContent"]["outcome"], "approval_refused");
    assert!(!env.work.path().join("released").exists());
}

#[test]
fn the_typescript_client_sees_a_denial_with_its_statement() {
    let env = Env::new();
    let policy = deny_policy();
    let mut scenario = env.ts_stdio(&["--policy", &policy, &fixture("run-basics")]);
    scenario["steps"] = json!([
        {"op": "call", "name": "run-basics__delete-lambda", "arguments": {"function_name": "f"}},
    ]);
    let out = ts_client(&scenario);
    let result = &out["calls"][0]["result"];
    assert_eq!(result["isError"], true, "{result}");
    let content: Vec<Value> = result["content"].as_array().cloned().unwrap_or_default();
    assert!(
        result_text(&content).contains("(NoLambdaDeletes)"),
        "{result}"
    );
}

#[test]
fn the_typescript_client_cancels_mid_run() {
    let env = Env::new();
    let mut scenario = env.ts_stdio(&[&fixture("serve-basics")]);
    scenario["steps"] = json!([{
        "op": "call",
        "name": "serve-basics__two-steps",
        "arguments": {"pause": 2},
        "cancelWhenExists": env.work.path().join("first.started"),
    }]);
    scenario["holdUntil"] = json!({
        "dir": env.state.path().join("runs"),
        "contains": "\"state\":\"interrupted\"",
    });
    let out = ts_client(&scenario);
    assert!(out["calls"][0]["error"].is_string(), "{out}");
    assert_eq!(out["held"], true, "the run was journaled as interrupted");
    assert!(env.work.path().join("first.done").exists());
    assert!(!env.work.path().join("second.done").exists());
}

// ------------------------------------------------------------ LocalStack

/// The environment that points plugctl at LocalStack, or `None` to skip.
fn localstack() -> Option<Vec<(&'static str, String)>> {
    support::localstack_endpoint().map(|endpoint| {
        vec![
            ("AWS_ENDPOINT_URL", endpoint),
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
        ]
    })
}

/// The `args` of the README's Claude Code `.mcp.json` snippet, with `role`
/// for its example role and its relative paths made absolute.
fn readme_serve_args(role: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(support::repo().join("README.md")).expect("README");
    let after = readme
        .split_once("**Claude Code**")
        .expect("the Claude Code snippet")
        .1;
    let block = after.split_once("```json").expect("its JSON").1;
    let json: Value = serde_json::from_str(block.split_once("```").expect("closed").0)
        .expect("the snippet is JSON");
    let args = json["mcpServers"]["plugctl"]["args"]
        .as_array()
        .expect("args");
    args.iter()
        .filter_map(Value::as_str)
        .map(|a| match a {
            "arn:aws:iam::111122223333:role/plugctl-agent" => role.to_owned(),
            path if path.starts_with("plugins/") => {
                support::repo().join(path).display().to_string()
            }
            other => other.to_owned(),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn clients_nobody_here_wrote_deploy_the_seed_lambda_through_serve() {
    let Some(aws) = localstack() else { return };
    let mut env = Env::in_dir(function_project());
    env.vars
        .extend(aws.into_iter().map(|(k, v)| (k.to_owned(), v)));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let name = format!("serve-{}-{nanos}", std::process::id());
    let arguments = json!({
        "function_name": name,
        "iam_role_arn": "arn:aws:iam::000000000000:role/lambda-role",
    });

    let operator = support::aws::Aws::start().expect("LocalStack");
    let role = operator.role(
        "serve-deployer",
        json!([support::aws::allow(&["lambda:*", "iam:PassRole"])]),
    );
    // The server is started exactly as the README's Claude Code snippet
    // says, with LocalStack's role for the placeholder ARN.
    let mut scenario = env.ts_stdio(&[]);
    scenario["args"] = json!(readme_serve_args(&role));
    scenario["steps"] = json!([
        {"op": "list"},
        {"op": "call", "name": "aws-deployment-assistant__deploy-lambda", "arguments": arguments},
    ]);
    let out = ts_client(&scenario);
    assert!(
        out["tools"].as_array().is_some_and(|t| t
            .iter()
            .any(|t| t["name"] == "aws-deployment-assistant__deploy-lambda")),
        "{out}"
    );
    let result = &out["calls"][0]["result"];
    assert_ne!(result["isError"], true, "{result}");
    let report = &result["structuredContent"];
    assert_eq!(report["outcome"], "succeeded", "{result}");
    assert_eq!(report["steps"][2]["outcome"], "fell_back", "created");
    // The TS SDK runs notification handlers in a microtask but settles the
    // response at once, so notes that arrive together with the response can
    // be lost on the client side; the earlier steps' notes are always there.
    let notes: Vec<&str> = out["calls"][0]["progress"]
        .as_array()
        .map(|p| p.iter().filter_map(|n| n["message"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        notes.get(..3),
        Some(
            &[
                "step 1/4: validate_code (run_command)",
                "step 2/4: package_function (run_command)",
                "step 3/4: create_or_update (aws_api)",
            ][..]
        ),
        "{out}"
    );
    let audit = env.audit();
    assert!(
        audit.lines().any(|l| l.contains("\"run_started\"")
            && l.contains("\"skill\":\"deploy-lambda\"")
            && l.contains("\"actor\":\"agent\"")),
        "{audit}"
    );

    let function = env.plugctl(&[
        "aws",
        "call",
        "lambda",
        "get_function",
        "--params",
        &json!({"FunctionName": name}).to_string(),
    ]);
    assert_eq!(
        function.status.code(),
        Some(0),
        "{}",
        text(&function.stderr)
    );

    // The second deployment, through plug-mcp's client, updates the code.
    let client = connect(&env.stdio_spec(&["--role-arn", &role, &seed()])).await;
    let again = client
        .call_tool(
            "aws-deployment-assistant__deploy-lambda",
            &arguments,
            &CallOptions::default(),
        )
        .await
        .expect("tools/call");
    client.shutdown().await;
    assert!(!again.is_error, "{:?}", again.content);
    let report = again.structured.expect("structuredContent");
    assert_eq!(report["steps"][2]["outcome"], "succeeded", "updated");
    assert!(
        report["steps"][2]["result"]["FunctionArn"]
            .as_str()
            .is_some_and(|a| a.ends_with(&name)),
        "{report}"
    );
}
