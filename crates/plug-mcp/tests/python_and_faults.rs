//! plug-mcp against servers written with the PyPI `mcp` package: a plain
//! peer, and one that crashes, hangs or writes garbage on request (huge
//! answers: `large_responses.rs`). Also the registry built from a plugin folder.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use plug_core::ports::{ToolCall, ToolCaller, ToolError};
use plug_mcp::cache::CachePolicy;
use plug_mcp::{CallOptions, McpError, Registry};
use serde_json::json;

fn text_of(result: &plug_core::ports::ToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.get("text").and_then(|t| t.as_str()))
        .collect::<Vec<_>>()
        .join("\n")
}

fn faulty() -> plug_mcp::ServerSpec {
    let mut spec = support::python_server("faulty", "fault_server.py");
    spec.timeout = Duration::from_secs(20);
    spec.backoff.base = Duration::from_millis(20);
    spec
}

#[tokio::test]
async fn python_peer_answers_with_structured_content() {
    let registry = Registry::from_specs([support::python_server("py", "py_peer.py")]);
    let result = registry
        .call_tool(&ToolCall {
            server: "py".to_owned(),
            tool: "add".to_owned(),
            arguments: json!({"a": 2, "b": 3}),
            trace: None,
        })
        .await
        .expect("add");
    assert!(!result.is_error);
    assert_eq!(text_of(&result), "5");
    assert_eq!(result.structured, Some(json!({"result": 5})));
    assert!(result.cached_age.is_none());
    registry.shutdown().await;
}

#[tokio::test]
async fn server_exiting_mid_call_is_a_clear_error_and_is_restarted() {
    let registry = Registry::from_specs([faulty()]);
    let first_pid = registry.client("faulty").await.expect("start").pid();
    let err = registry
        .call("faulty", "crash", &json!({}), &CallOptions::default())
        .await
        .expect_err("crash");
    let McpError::Closed { reason, .. } = &err else {
        panic!("expected Closed, got {err:?}");
    };
    assert!(reason.contains("exited"), "{reason}");
    assert!(reason.contains("crashing on purpose"), "{reason}");

    let echo = registry
        .call(
            "faulty",
            "echo",
            &json!({"text": "back"}),
            &CallOptions::default(),
        )
        .await
        .expect("restarted");
    assert_eq!(text_of(&echo), "back");
    let second_pid = registry.client("faulty").await.expect("client").pid();
    assert_ne!(first_pid, second_pid);
    registry.shutdown().await;
}

#[tokio::test]
async fn read_only_and_idempotent_tools_are_retried_once_after_a_crash() {
    // `crash_once` is annotated readOnlyHint, `crash_once_idempotent` idempotentHint.
    for tool in ["crash_once", "crash_once_idempotent"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let marker = dir.path().join("crashed-once");
        let registry = Registry::from_specs([faulty()]);
        let first_pid = registry.client("faulty").await.expect("start").pid();
        let result = registry
            .call(
                "faulty",
                tool,
                &json!({"marker": marker.to_str().expect("utf-8")}),
                &CallOptions::default(),
            )
            .await
            .unwrap_or_else(|e| panic!("{tool} not retried after restart: {e}"));
        assert_eq!(text_of(&result), "survived", "{tool}");
        assert!(marker.exists(), "{tool} never crashed");
        let second_pid = registry.client("faulty").await.expect("client").pid();
        assert_ne!(
            first_pid, second_pid,
            "{tool}: answered by the crashed process?"
        );
        registry.shutdown().await;
    }
}

#[tokio::test]
async fn tool_without_read_only_or_idempotent_hint_is_not_retried() {
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = dir.path().join("crashed-once");
    let registry = Registry::from_specs([faulty()]);
    let result = registry
        .call(
            "faulty",
            "crash_once_unmarked",
            &json!({"marker": marker.to_str().expect("utf-8")}),
            &CallOptions::default(),
        )
        .await;
    // A retry would have succeeded (the marker exists now): the error proves there was none.
    assert!(matches!(result, Err(McpError::Closed { .. })), "{result:?}");
    assert!(marker.exists());
    registry.shutdown().await;
}

#[tokio::test]
async fn hanging_server_times_out() {
    let mut spec = faulty();
    spec.timeout = Duration::from_millis(500);
    let registry = Registry::from_specs([spec]);
    let started = Instant::now();
    let err = registry
        .call("faulty", "hang", &json!({}), &CallOptions::default())
        .await
        .expect_err("hang");
    assert!(
        matches!(err, McpError::Timeout(d) if d == Duration::from_millis(500)),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    let echo = registry
        .call(
            "faulty",
            "echo",
            &json!({"text": "alive"}),
            &CallOptions::default(),
        )
        .await
        .expect("still answers");
    assert_eq!(text_of(&echo), "alive");
    registry.shutdown().await;
}

#[tokio::test]
async fn garbage_on_stdout_is_a_protocol_error_then_a_restart() {
    let mut spec = support::python_server("garbage", "garbage_server.py");
    spec.backoff.base = Duration::from_millis(20);
    let registry = Registry::from_specs([spec]);
    let first_pid = registry.client("garbage").await.expect("start").pid();
    let err = registry
        .call("garbage", "anything", &json!({}), &CallOptions::default())
        .await
        .expect_err("garbage");
    let McpError::Protocol(message) = &err else {
        panic!("expected Protocol, got {err:?}");
    };
    assert!(message.contains("this is not json"), "{message}");
    // The broken connection is dropped and the next use starts a fresh process.
    let second_pid = registry.client("garbage").await.expect("restart").pid();
    assert_ne!(first_pid, second_pid);
    registry.shutdown().await;
}

#[tokio::test]
async fn cached_answer_stands_in_when_the_server_is_gone() {
    let mut spec = faulty();
    spec.backoff.max_attempts = 0;
    spec.cache = Some(CachePolicy {
        ttl: Duration::from_secs(60),
        max_entries: 8,
        tools: ["echo".to_owned()].into(),
    });
    let registry = Registry::from_specs([spec]);
    let live = registry
        .call(
            "faulty",
            "echo",
            &json!({"text": "remember me"}),
            &CallOptions::default(),
        )
        .await
        .expect("live");
    assert!(live.cached_age.is_none());
    let _ = registry
        .call("faulty", "crash", &json!({}), &CallOptions::default())
        .await;
    let cached = registry
        .call(
            "faulty",
            "echo",
            &json!({"text": "remember me"}),
            &CallOptions::default(),
        )
        .await
        .expect("served from cache");
    assert_eq!(text_of(&cached), "remember me");
    assert!(cached.cached_age.is_some());
    let uncached = registry
        .call(
            "faulty",
            "echo",
            &json!({"text": "never asked"}),
            &CallOptions::default(),
        )
        .await;
    assert!(
        matches!(uncached, Err(McpError::Unreachable { .. })),
        "{uncached:?}"
    );
    registry.shutdown().await;
}

#[tokio::test]
async fn registry_from_a_plugin_resolves_placeholders_and_reports_missing_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("plugin.yaml"),
        "plugin:\n  name: py-plugin\n  version: 0.1.0\n  mcp_servers:\n    - name: py\n      command: <python>\n      args: [<script>]\n      env:\n        GREETING: <greeting>\n      timeout: 20s\n    - name: remote\n      endpoint: <remote-endpoint>\n      auth: iam\n",
    )
    .expect("write manifest");
    let plugin = plug_manifest::load_plugin(dir.path()).expect("load");
    assert!(plugin.manifest.is_some(), "{:?}", plugin.findings);
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/py_peer.py");
    let config: BTreeMap<String, String> = [
        ("python", support::python().to_string_lossy().into_owned()),
        ("script", script.to_string_lossy().into_owned()),
        ("greeting", "hi".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let registry = Registry::from_plugin(&plugin, &config);
    assert_eq!(registry.servers().collect::<Vec<_>>(), vec!["py", "remote"]);
    let added = registry
        .call_tool(&ToolCall {
            server: "py".to_owned(),
            tool: "add".to_owned(),
            arguments: json!({"a": 40, "b": 2}),
            trace: None,
        })
        .await
        .expect("add");
    assert_eq!(added.structured, Some(json!({"result": 42})));

    let remote = registry
        .call_tool(&ToolCall {
            server: "remote".to_owned(),
            tool: "x".to_owned(),
            arguments: json!({}),
            trace: None,
        })
        .await
        .expect_err("no endpoint");
    let ToolError::Unreachable { reason, .. } = remote else {
        panic!("expected Unreachable, got {remote:?}");
    };
    assert!(reason.contains("--set remote-endpoint="), "{reason}");
    let unknown = registry
        .call_tool(&ToolCall {
            server: "nope".to_owned(),
            tool: "x".to_owned(),
            arguments: json!({}),
            trace: None,
        })
        .await;
    assert!(matches!(unknown, Err(ToolError::UnknownServer(s)) if s == "nope"));
    registry.shutdown().await;
}

#[tokio::test]
async fn auto_lifecycle_negotiates_with_both_eras() {
    use plug_mcp::spec::Lifecycle;

    let mut everything = support::everything_stdio("everything");
    everything.lifecycle = Lifecycle::Auto;
    let mut python = support::python_server("py", "py_peer.py");
    python.lifecycle = Lifecycle::Auto;
    // server-everything is of the initialize era; the Python SDK 2.x answers `server/discover`.
    for (spec, expected) in [(everything, "2025-11-25"), (python, "2026-07-28")] {
        let client = plug_mcp::McpClient::connect(&spec, None)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", spec.name));
        let version = client.summary().protocol_version.clone();
        assert_eq!(version, expected, "{}", spec.name);
        let tools = client.list_tools().await.expect("tools/list");
        assert!(!tools.is_empty());
        client.shutdown().await;
    }
}

#[tokio::test]
async fn a_refusal_of_the_credentials_names_the_challenge() {
    use std::io::{Read, Write};

    // A server that refuses everyone, as an OAuth-protected one (or a wrong API key) would.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/mcp", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(
                b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"pricing\", error=\"invalid_token\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    let err = plug_mcp::McpClient::connect(&plug_mcp::ServerSpec::http("pricing", &url), None)
        .await
        .expect_err("refused");
    let McpError::Unauthorized { server, challenge } = &err else {
        panic!("expected Unauthorized, got {err:?}");
    };
    assert_eq!(server, "pricing");
    assert!(challenge.contains("realm=\"pricing\""), "{challenge}");
    assert!(
        !err.is_unreachable(),
        "a refusal must not be answered from the cache"
    );
    assert!(err.to_string().contains("auth: api_key"), "{err}");
}

/// The run's span reaches the server as `_meta.traceparent` (MCP's
/// SEP-414 convention) on every transport, and over Streamable HTTP as a
/// `traceparent` header too; without a span, neither is sent.
#[tokio::test]
async fn tool_calls_carry_the_callers_trace_context() {
    let http = support::PythonHttp::start("fault_server.py", support::HttpAnswers::Sse);
    let registry = Registry::from_specs([
        support::python_server("stdio", "fault_server.py"),
        plug_mcp::ServerSpec::http("http", &http.url),
    ]);
    let run = plug_core::RunId::new("traced-run").expect("id");
    let trace = plug_core::TraceContext::span(&run, "price", 1_764_175_624_000);
    let seen = |server: &str, trace| {
        let call = ToolCall {
            server: server.to_owned(),
            tool: "trace_context".to_owned(),
            arguments: json!({}),
            trace,
        };
        let registry = &registry;
        async move {
            let result = registry.call_tool(&call).await.expect("trace_context");
            serde_json::from_str::<serde_json::Value>(&text_of(&result)).expect("JSON answer")
        }
    };
    let expected = trace.traceparent();
    assert_eq!(
        seen("stdio", Some(trace)).await,
        json!({"meta": expected, "header": null})
    );
    assert_eq!(
        seen("http", Some(trace)).await,
        json!({"meta": expected, "header": expected})
    );
    assert_eq!(
        seen("http", None).await,
        json!({"meta": null, "header": null})
    );
    registry.shutdown().await;
}
