//! Decisions as Claude Code defines them, from real child processes and a real http server.
#![allow(missing_docs)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

use common::*;
use plug_core::TraceContext;
use plug_core::ports::{HookDecision, HookError, HookHost};
use plug_hooks::{HostConfig, Termination, Verdict};
use plug_manifest::native::model::HookHandler;

#[tokio::test]
async fn exit_code_two_blocks_with_stderr_as_the_reason() {
    let plugin = TestPlugin::new("p");
    let path = plugin.script("gate.sh", "#!/bin/sh\necho 'over budget' >&2\nexit 2\n");
    let host = plugin.host(vec![hook("pre_deploy", file(path))], HostConfig::default());
    let decision = host.dispatch(&input("pre_deploy", None)).await;
    assert_eq!(
        decision.expect("a decision"),
        HookDecision::Block {
            reasons: vec!["over budget".into()]
        }
    );
}

#[tokio::test]
async fn json_answers_block_and_reasons_keep_manifest_order() {
    let plugin = TestPlugin::new("p");
    let hooks = vec![
        hook(
            "pre_step",
            shell(r#"sleep 0.2; echo '{"decision":"block","reason":"first"}'"#),
        ),
        hook("pre_step", shell(r#"echo '{"continue":true}'"#)),
        hook(
            "pre_step",
            shell(
                r#"echo '{"hookSpecificOutput":{"permissionDecision":"deny","permissionDecisionReason":"third"}}'"#,
            ),
        ),
        hook(
            "pre_step",
            shell(r#"echo '{"continue":false,"stopReason":"fourth"}'"#),
        ),
    ];
    let host = plugin.host(hooks, HostConfig::default());
    let decision = host.dispatch(&input("pre_step", Some("aws_api"))).await;
    assert_eq!(
        decision.expect("a decision"),
        HookDecision::Block {
            reasons: vec!["first".into(), "third".into(), "fourth".into()]
        }
    );
}

#[tokio::test]
async fn messages_context_and_updated_input_reach_the_decision() {
    let plugin = TestPlugin::new("p");
    let answer = r#"{"systemMessage":"cost ok","hookSpecificOutput":{"additionalContext":"ctx","updatedInput":{"memory":256}}}"#;
    let hooks = vec![hook("pre_step", exec(&["echo", answer]))];
    let host = plugin.host(hooks, HostConfig::default());
    let reports = host.run(&input("pre_step", Some("aws_api"))).await;
    assert_eq!(reports[0].advice.additional_context.as_deref(), Some("ctx"));
    let decision = plug_hooks::combine(&reports).expect("a decision");
    assert_eq!(
        decision,
        HookDecision::Continue {
            updated_input: Some(serde_json::json!({"memory": 256})),
            messages: vec!["cost ok".into()],
        }
    );
}

#[tokio::test]
async fn events_and_matchers_select_the_hooks() {
    let plugin = TestPlugin::new("p");
    let mut aws_only = hook("pre_step", exec(&["true"]));
    aws_only.matcher = Some("aws_api|mcp_call".into());
    let mut regex = hook("pre_step", exec(&["true"]));
    regex.matcher = Some("^run_.*".into());
    let other_event = hook("post_step", exec(&["true"]));
    let everything = hook("pre_step", exec(&["true"]));
    let host = plugin.host(
        vec![aws_only, regex, other_event, everything],
        HostConfig::default(),
    );
    assert_eq!(host.matching(&input("pre_step", Some("aws_api"))), [0, 3]);
    assert_eq!(
        host.matching(&input("pre_step", Some("run_command"))),
        [1, 3]
    );
    assert_eq!(host.matching(&input("post_step", Some("aws_api"))), [2]);
    // Skill-level events have no action: matchers do not apply, as in Claude Code.
    assert_eq!(host.matching(&input("pre_step", None)), [0, 1, 3]);
    assert!(host.matching(&input("pre_deploy", None)).is_empty());
}

#[tokio::test]
async fn an_invalid_regex_matcher_is_refused_up_front() {
    let plugin = TestPlugin::new("p");
    let mut bad = hook("pre_step", exec(&["true"]));
    bad.matcher = Some("aws_(".into());
    let err = plug_hooks::ProcessHookHost::new(&plugin.root, vec![bad], HostConfig::default())
        .expect_err("refused");
    assert!(err.to_string().contains("aws_("), "{err}");
}

#[tokio::test]
async fn a_critical_failure_aborts_with_the_hooks_stderr() {
    let plugin = TestPlugin::new("p");
    let path = plugin.script(
        "crash.sh",
        "#!/bin/sh\necho 'pricing API down' >&2\nexit 1\n",
    );
    // pre_ events are critical by default.
    let host = plugin.host(vec![hook("pre_deploy", file(path))], HostConfig::default());
    match host.dispatch(&input("pre_deploy", None)).await {
        Err(HookError::CriticalFailure { hook, reason }) => {
            assert_eq!(hook, "./hooks/crash.sh");
            assert!(reason.contains("exit code 1"), "{reason}");
            assert!(reason.contains("pricing API down"), "{reason}");
        }
        other => panic!("expected a critical failure, got {other:?}"),
    }
}

#[tokio::test]
async fn a_best_effort_failure_is_a_warning_and_the_run_goes_on() {
    let plugin = TestPlugin::new("p");
    let hooks = vec![
        // post_ events are best-effort by default; a pre_ one can be declared so.
        hook(
            "post_step",
            shell("echo 'log sink unreachable' >&2; exit 3"),
        ),
        critical(hook("post_step", shell("echo '{not json'")), false),
    ];
    let host = plugin.host(hooks, HostConfig::default());
    match host.dispatch(&input("post_step", Some("aws_api"))).await {
        Ok(HookDecision::Continue { messages, .. }) => {
            assert_eq!(messages.len(), 2, "{messages:?}");
            assert!(messages[0].contains("log sink unreachable"), "{messages:?}");
            assert!(messages[1].contains("invalid JSON"), "{messages:?}");
        }
        other => panic!("expected continue, got {other:?}"),
    }
    let declared_critical = plugin.host(
        vec![critical(hook("post_step", shell("exit 3")), true)],
        HostConfig::default(),
    );
    assert!(matches!(
        declared_critical
            .dispatch(&input("post_step", Some("aws_api")))
            .await,
        Err(HookError::CriticalFailure { .. })
    ));
}

#[tokio::test]
async fn a_missing_or_escaping_handler_file_is_a_failure_not_a_panic() {
    let plugin = TestPlugin::new("p");
    let hooks = vec![
        critical(hook("pre_step", file("./hooks/missing.sh".into())), false),
        critical(hook("pre_step", file("../outside.sh".into())), false),
    ];
    let host = plugin.host(hooks, HostConfig::default());
    let reports = host.run(&input("pre_step", Some("aws_api"))).await;
    for report in &reports {
        assert!(
            matches!(report.end, Termination::NotStarted { .. }),
            "{report:?}"
        );
    }
    assert!(
        matches!(&reports[1].verdict, Verdict::Failed { reason } if reason.contains("leaves the plugin root"))
    );
}

/// What [`serve_once`] received.
struct Received {
    traceparent: Option<String>,
    body: String,
}

/// Serves one request: returns what it received and answers `answer` as JSON.
fn serve_once(listener: TcpListener, answer: &'static str) -> std::thread::JoinHandle<Received> {
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut length = 0usize;
        let mut traceparent = None;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("header line");
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().expect("length");
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("traceparent")
            {
                traceparent = Some(value.trim().to_owned());
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).expect("body");
        let mut stream = stream;
        write!(
            stream,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
            answer.len()
        )
        .expect("answer");
        Received {
            traceparent,
            body: String::from_utf8(body).expect("utf-8 body"),
        }
    })
}

#[tokio::test]
async fn an_http_hook_gets_the_input_as_json_and_its_answer_counts() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let server = serve_once(
        listener,
        r#"{"decision":"block","reason":"server says no"}"#,
    );
    let plugin = TestPlugin::new("p");
    let host = plugin.host(
        vec![hook("pre_step", HookHandler::Http { url })],
        HostConfig::default(),
    );
    let mut input = input("pre_step", Some("aws_api"));
    let trace = TraceContext::span(&input.run_id, "deploy", 1_764_175_624_000);
    input.trace = Some(trace);
    let decision = host.dispatch(&input).await;
    assert_eq!(
        decision.expect("a decision"),
        HookDecision::Block {
            reasons: vec!["server says no".into()]
        }
    );
    let received = server.join().expect("server");
    let sent: serde_json::Value = serde_json::from_str(&received.body).expect("JSON body");
    assert_eq!(sent["hook_event_name"], "PreToolUse");
    assert_eq!(sent["tool_name"], "aws_api");
    assert_eq!(sent["session_id"], "run-1");
    assert_eq!(received.traceparent, Some(trace.traceparent()));
    assert!(
        !received.body.contains(&trace.traceparent()),
        "not in the body"
    );
}

/// A command hook gets the span it runs under as `TRACEPARENT`, and none
/// when the run has no trace context (it does not inherit plugctl's own).
#[tokio::test]
async fn a_command_hook_gets_the_trace_context_as_traceparent() {
    let plugin = TestPlugin::new("p");
    let script = plugin.script(
        "trace.sh",
        "#!/bin/sh\nprintf '{\"systemMessage\":\"tp=%s\"}' \"${TRACEPARENT:-none}\"\n",
    );
    let host = plugin.host(vec![hook("pre_step", file(script))], HostConfig::default());
    let mut traced = input("pre_step", Some("aws_api"));
    let trace = TraceContext::run(&traced.run_id, 1_764_175_624_000);
    traced.trace = Some(trace);
    for (input, expected) in [
        (traced, format!("tp={}", trace.traceparent())),
        (input("pre_step", Some("aws_api")), "tp=none".to_owned()),
    ] {
        let decision = host.dispatch(&input).await.expect("a decision");
        assert_eq!(
            decision,
            HookDecision::Continue {
                updated_input: None,
                messages: vec![expected],
            }
        );
    }
}

#[tokio::test]
async fn an_unreachable_http_hook_fails_by_its_criticality() {
    // Bind then drop: the port is closed, so the connection is refused.
    let addr = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let plugin = TestPlugin::new("p");
    let url = format!("http://{addr}/hook");
    let host = plugin.host(
        vec![hook("pre_step", HookHandler::Http { url })],
        HostConfig::default(),
    );
    assert!(matches!(
        host.dispatch(&input("pre_step", Some("aws_api"))).await,
        Err(HookError::CriticalFailure { .. })
    ));
}

#[tokio::test]
async fn a_hook_reads_one_json_object_with_sensitive_params_redacted() {
    let plugin = TestPlugin::new("p");
    let config = HostConfig {
        sensitive_params: ["api_secret".to_owned()].into(),
        ..HostConfig::default()
    };
    let host = plugin.host(vec![hook("pre_step", exec(&["cat"]))], config);
    let reports = host.run(&input("pre_step", Some("aws_api"))).await;
    let seen: serde_json::Value = serde_json::from_str(&reports[0].stdout).expect("JSON input");
    assert_eq!(seen["event"], "pre_step");
    assert_eq!(seen["hook_event_name"], "PreToolUse");
    assert_eq!(seen["run_id"], "run-1");
    assert_eq!(seen["session_id"], "run-1");
    assert_eq!(seen["plugin"], "test-plugin");
    assert_eq!(seen["skill"], "deploy-x");
    assert_eq!(seen["step"], "step-1");
    assert_eq!(seen["tool_name"], "aws_api");
    assert_eq!(seen["actor"], "agent");
    assert_eq!(seen["params"]["function_name"], "f");
    assert_eq!(seen["params"]["api_secret"], "[redacted]");
    assert!(
        seen["cwd"]
            .as_str()
            .is_some_and(|c| c.contains("plugctl-hook-"))
    );
    assert!(!reports[0].stdout.contains("s3cr3t"));
}
