//! plug-mcp against `@modelcontextprotocol/server-everything` (npm), over
//! stdio and over Streamable HTTP on 127.0.0.1.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use plug_mcp::{CallOptions, McpClient, McpError, Progress, Registry, ServerSpec};
use serde_json::json;
use tokio_util::sync::CancellationToken;

async fn stdio_client() -> McpClient {
    McpClient::connect(&support::everything_stdio("everything"), None)
        .await
        .expect("connect over stdio")
}

fn text_of(result: &plug_core::ports::ToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.get("text").and_then(|t| t.as_str()))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn stdio_handshake_pins_the_initialize_era_revision() {
    let client = stdio_client().await;
    assert_eq!(client.summary().protocol_version, "2025-11-25");
    assert!(!client.summary().name.is_empty());
    assert!(client.ping(Duration::from_secs(5)).await.is_ok());
    client.shutdown().await;
}

#[tokio::test]
async fn stdio_lists_tools_resources_and_prompts() {
    let client = stdio_client().await;
    let tools = client.list_tools().await.expect("tools/list");
    let names: Vec<_> = tools.iter().map(|t| t.name.to_string()).collect();
    for expected in [
        "echo",
        "get-sum",
        "trigger-long-running-operation",
        "get-env",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    let resources = client.list_resources().await.expect("resources/list");
    let first = resources.first().expect("at least one resource");
    let read = client
        .read_resource(&first.uri)
        .await
        .expect("resources/read");
    assert!(!read.contents.is_empty());
    let prompts = client.list_prompts().await.expect("prompts/list");
    assert!(!prompts.is_empty());
    client.shutdown().await;
}

#[tokio::test]
async fn stdio_tool_calls_carry_content_structured_content_and_errors() {
    let client = stdio_client().await;
    let opts = CallOptions::default();
    let echo = client
        .call_tool("echo", &json!({"message": "hello plugctl"}), &opts)
        .await
        .expect("echo");
    assert!(!echo.is_error);
    assert!(text_of(&echo).contains("hello plugctl"), "{echo:?}");

    let sum = client
        .call_tool("get-sum", &json!({"a": 19, "b": 23}), &opts)
        .await
        .expect("get-sum");
    assert!(text_of(&sum).contains("42"), "{sum:?}");

    let structured = client
        .call_tool(
            "get-structured-content",
            &json!({"location": "New York"}),
            &opts,
        )
        .await
        .expect("structured");
    assert!(
        structured
            .structured
            .as_ref()
            .is_some_and(|s| s.is_object()),
        "{structured:?}"
    );

    // Invalid arguments: the server reports the failure in-band or as JSON-RPC error.
    match client.call_tool("get-sum", &json!({"a": "x"}), &opts).await {
        Ok(result) => assert!(result.is_error, "{result:?}"),
        Err(McpError::Protocol(_)) => {}
        Err(other) => panic!("unexpected {other}"),
    }
    let not_object = client.call_tool("echo", &json!([1]), &opts).await;
    assert!(matches!(not_object, Err(McpError::Protocol(_))));
    client.shutdown().await;
}

#[tokio::test]
async fn progress_reaches_the_callback() {
    let client = stdio_client().await;
    let seen = Arc::new(Mutex::new(Vec::<Progress>::new()));
    let sink = seen.clone();
    let opts = CallOptions {
        progress: Some(Arc::new(move |p| sink.lock().expect("lock").push(p))),
        ..CallOptions::default()
    };
    let result = client
        .call_tool(
            "trigger-long-running-operation",
            &json!({"duration": 1, "steps": 4}),
            &opts,
        )
        .await
        .expect("long operation");
    assert!(!result.is_error);
    let seen = seen.lock().expect("lock").clone();
    let steps: Vec<f64> = seen.iter().map(|p| p.progress).collect();
    assert_eq!(steps, vec![1.0, 2.0, 3.0, 4.0]);
    assert!(seen.iter().all(|p| p.total == Some(4.0)));
    client.shutdown().await;
}

#[tokio::test]
async fn cancellation_and_timeout_end_the_call_but_not_the_connection() {
    let client = Arc::new(stdio_client().await);
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    let opts = CallOptions {
        cancel: Some(cancel),
        progress: Some(Arc::new(move |_| trigger.cancel())),
        ..CallOptions::default()
    };
    let started = Instant::now();
    let cancelled = client
        .call_tool(
            "trigger-long-running-operation",
            &json!({"duration": 20, "steps": 20}),
            &opts,
        )
        .await;
    assert!(
        matches!(cancelled, Err(McpError::Cancelled)),
        "{cancelled:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));

    let opts = CallOptions {
        timeout: Some(Duration::from_millis(300)),
        ..CallOptions::default()
    };
    let timed_out = client
        .call_tool(
            "trigger-long-running-operation",
            &json!({"duration": 20, "steps": 2}),
            &opts,
        )
        .await;
    assert!(matches!(timed_out, Err(McpError::Timeout(d)) if d == Duration::from_millis(300)));
    let echo = client
        .call_tool(
            "echo",
            &json!({"message": "still here"}),
            &CallOptions::default(),
        )
        .await
        .expect("connection survives");
    assert!(text_of(&echo).contains("still here"));
    client.shutdown().await;
}

#[tokio::test]
async fn two_hundred_concurrent_calls_share_one_connection() {
    let registry = Arc::new(Registry::from_specs([support::everything_stdio(
        "everything",
    )]));
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..200 {
        let registry = registry.clone();
        calls.spawn(async move {
            let message = format!("call-{i}");
            let result = registry
                .call(
                    "everything",
                    "echo",
                    &json!({ "message": message }),
                    &CallOptions::default(),
                )
                .await
                .expect("echo");
            (message, text_of(&result))
        });
    }
    let mut answered = 0;
    while let Some(joined) = calls.join_next().await {
        let (message, text) = joined.expect("task");
        assert!(text.contains(&message), "{message} -> {text}");
        answered += 1;
    }
    assert_eq!(answered, 200);
    let pid = registry.client("everything").await.expect("client").pid();
    assert!(pid.is_some());
    registry.shutdown().await;
}

#[tokio::test]
async fn stdio_servers_get_only_declared_env_and_the_base() {
    let spec = support::with_env(
        support::everything_stdio("everything"),
        "PLUG_DECLARED",
        "yes",
    );
    let client = McpClient::connect(&spec, None).await.expect("connect");
    let result = client
        .call_tool("get-env", &json!({}), &CallOptions::default())
        .await
        .expect("get-env");
    let env: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&text_of(&result)).expect("env JSON");
    assert_eq!(env.get("PLUG_DECLARED"), Some(&json!("yes")));
    assert!(env.contains_key("PATH"));
    // cargo sets CARGO_* for the test process; none may leak into the server.
    assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
    let leaked: Vec<_> = env
        .keys()
        .filter(|k| k.starts_with("CARGO") || k.starts_with("AWS_") || k.starts_with("RUST"))
        .collect();
    assert!(leaked.is_empty(), "leaked {leaked:?}");
    client.shutdown().await;
}

#[tokio::test]
async fn graceful_shutdown_stops_the_child() {
    let registry = Registry::from_specs([support::everything_stdio("everything")]);
    let health = registry.health("everything", Duration::from_secs(5)).await;
    assert!(health.is_ok(), "{health:?}");
    let pid = registry
        .client("everything")
        .await
        .expect("client")
        .pid()
        .expect("pid");
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    let started = Instant::now();
    registry.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(6));
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Gone, or at most a zombie awaiting its parent's reap.
    assert!(stat.is_empty() || stat.contains(") Z "), "{stat}");
}

#[test]
fn http_server_listens_on_loopback_only() {
    let server = support::HttpEverything::start();
    let port: u16 = server
        .url
        .trim_start_matches("http://127.0.0.1:")
        .trim_end_matches("/mcp")
        .parse()
        .expect("port");
    let port_hex = format!(":{port:04X} ");
    let listening: Vec<String> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .flat_map(|t| t.lines().map(str::to_owned).collect::<Vec<_>>())
        .filter(|l| l.contains(&port_hex) && l.split_whitespace().nth(3) == Some("0A"))
        .collect();
    assert!(!listening.is_empty(), "nothing listens on {port}");
    for line in &listening {
        let local = line.split_whitespace().nth(1).unwrap_or_default();
        assert!(
            local.starts_with("0100007F:")
                || local.starts_with("0000000000000000FFFF00000100007F:"),
            "listens beyond loopback: {line}"
        );
    }
}

#[tokio::test]
async fn http_round_trip_with_progress() {
    let server = support::HttpEverything::start();
    let client = McpClient::connect(&ServerSpec::http("everything-http", &server.url), None)
        .await
        .expect("connect over HTTP");
    assert_eq!(client.summary().protocol_version, "2025-11-25");
    let tools = client.list_tools().await.expect("tools/list");
    assert!(tools.iter().any(|t| t.name == "echo"));
    let echo = client
        .call_tool(
            "echo",
            &json!({"message": "over http"}),
            &CallOptions::default(),
        )
        .await
        .expect("echo");
    assert!(text_of(&echo).contains("over http"));
    let count = Arc::new(Mutex::new(0));
    let sink = count.clone();
    let opts = CallOptions {
        progress: Some(Arc::new(move |_| *sink.lock().expect("lock") += 1)),
        ..CallOptions::default()
    };
    client
        .call_tool(
            "trigger-long-running-operation",
            &json!({"duration": 1, "steps": 3}),
            &opts,
        )
        .await
        .expect("long op");
    assert_eq!(*count.lock().expect("lock"), 3);
    assert!(client.ping(Duration::from_secs(5)).await.is_ok());
    client.shutdown().await;
}

#[tokio::test]
async fn http_with_sigv4_and_api_key_auth_still_talks_to_the_server() {
    use aws_credential_types::Credentials;
    use aws_credential_types::provider::SharedCredentialsProvider;
    use plug_mcp::AuthSpec;
    use plug_mcp::spec::KeySource;

    let server = support::HttpEverything::start();
    let mut iam = ServerSpec::http("signed", &server.url);
    iam.auth = AuthSpec::Iam {
        service: "execute-api".to_owned(),
        region: Some("us-east-1".to_owned()),
    };
    let creds = Credentials::new(
        "AKIDEXAMPLE",
        "secret",
        Some("token".to_owned()),
        None,
        "test",
    );
    let registry =
        Registry::from_specs([iam]).with_signing(std::sync::Arc::new(plug_mcp::StaticSigning {
            credentials: SharedCredentialsProvider::new(creds),
            region: "us-east-1".to_owned(),
        }));
    let echo = registry
        .call(
            "signed",
            "echo",
            &json!({"message": "signed"}),
            &CallOptions::default(),
        )
        .await
        .expect("signed echo");
    assert!(text_of(&echo).contains("signed"));
    registry.shutdown().await;

    let key_file = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(key_file.path(), "k-123\n").expect("write key");
    let mut keyed = ServerSpec::http("keyed", &server.url);
    keyed.auth = AuthSpec::ApiKey {
        header: "x-api-key".to_owned(),
        source: KeySource::File(key_file.path().to_path_buf()),
    };
    let client = McpClient::connect(&keyed, None)
        .await
        .expect("connect with key");
    assert!(client.ping(Duration::from_secs(5)).await.is_ok());
    client.shutdown().await;
}

#[tokio::test]
async fn elicitation_reaches_the_application_and_defaults_fill_the_gaps() {
    use plug_mcp::{ElicitFn, ElicitationAnswer, ElicitationRequest};
    use std::sync::atomic::{AtomicUsize, Ordering};

    // Without a handler plugctl announces no elicitation, so the server offers no such tool.
    let plain = stdio_client().await;
    let tools = plain.list_tools().await.expect("tools/list");
    assert!(
        !tools
            .iter()
            .any(|t| t.name == "trigger-elicitation-request")
    );
    plain.shutdown().await;

    let asked = Arc::new(Mutex::new(Vec::<ElicitationRequest>::new()));
    let calls = Arc::new(AtomicUsize::new(0));
    let (log, count) = (asked.clone(), calls.clone());
    // The first time the user fills in only `name`; the second time they decline.
    let ask: ElicitFn = Arc::new(move |request| {
        log.lock().expect("lock").push(request);
        let answer = match count.fetch_add(1, Ordering::SeqCst) {
            0 => ElicitationAnswer::Accept(
                json!({"name": "Ada"})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            ),
            _ => ElicitationAnswer::Decline,
        };
        Box::pin(async move { answer })
    });
    let spec = support::everything_stdio("everything");
    let client = McpClient::connect_with(&spec, None, Some(ask))
        .await
        .expect("connect");
    let opts = CallOptions::default();
    let accepted = client
        .call_tool("trigger-elicitation-request", &json!({}), &opts)
        .await
        .expect("elicitation tool");
    let text = text_of(&accepted);
    assert!(text.contains("- Name: Ada"), "{text}");
    // Left out by the user, filled from the schema's defaults by plug-mcp.
    assert!(text.contains("- Favorite Integer: 42"), "{text}");
    assert!(text.contains("- Favorite Number: 3.14"), "{text}");

    let declined = client
        .call_tool("trigger-elicitation-request", &json!({}), &opts)
        .await
        .expect("elicitation tool");
    assert!(text_of(&declined).contains("declined"), "{declined:?}");

    client.shutdown().await;
    let asked = asked.lock().expect("lock");
    assert_eq!(asked.len(), 2);
    assert_eq!(asked[0].server, "everything");
    assert!(
        asked[0].message.contains("Please provide"),
        "{:?}",
        asked[0]
    );
    assert_eq!(
        asked[0].schema["properties"]["integer"]["default"],
        json!(42)
    );
}
