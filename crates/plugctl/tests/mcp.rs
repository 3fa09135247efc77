//! `plugctl mcp tools` and `plugctl mcp call` against a stdio server of a fixture plugin.
#![allow(missing_docs)]

mod support;
use support::{plugctl, text};

const PLUGIN: &str = "crates/plugctl/tests/fixtures/mcp-echo";

#[test]
fn tools_lists_names_and_first_description_lines() {
    let out = plugctl(&["mcp", "tools", PLUGIN, "echo"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    insta::assert_snapshot!(text(&out.stdout));
}

#[test]
fn tools_as_json_keeps_the_schema() {
    let out = plugctl(&["mcp", "tools", PLUGIN, "echo", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let tools: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(tools[0]["name"], "echo");
    assert_eq!(tools[0]["inputSchema"]["type"], "object");
    assert_eq!(tools.as_array().map(Vec::len), Some(2));
}

#[test]
fn call_uses_config_defaults_and_set_values() {
    let out = plugctl(&[
        "mcp",
        "call",
        PLUGIN,
        "echo",
        "echo",
        "--args",
        r#"{"text":"hi"}"#,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("echo: hi\n"),
        "{}",
        text(&out.stdout)
    );

    let out = plugctl(&[
        "mcp",
        "call",
        PLUGIN,
        "echo",
        "echo",
        "--args",
        r#"{"text":"hi"}"#,
        "--set",
        "echo-prefix=>> ",
        "--output",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(answer["structuredContent"]["echoed"], ">> hi");
    assert_eq!(answer["isError"], false);
}

#[test]
fn tool_errors_exit_1_and_bad_calls_exit_2() {
    let out = plugctl(&["mcp", "call", PLUGIN, "echo", "fail"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("it failed"));

    let out = plugctl(&["mcp", "call", PLUGIN, "echo", "echo", "--args", "[1]"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("JSON object"));

    let out = plugctl(&["mcp", "tools", PLUGIN, "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no MCP server named `nope`"));
}

#[test]
fn bundled_plugin_asks_for_its_endpoint() {
    let out = plugctl(&[
        "mcp",
        "tools",
        "plugins/aws-deployment-assistant",
        "aws-pricing",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--set mcp-server-endpoint="),
        "{}",
        text(&out.stderr)
    );
}
