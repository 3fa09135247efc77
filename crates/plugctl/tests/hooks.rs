//! `plugctl hooks run` as a user runs it: the bundled cost estimate hook, isolated.
#![allow(missing_docs)]

use std::process::Command;

mod support;
use support::{plugctl, text};

/// The sandbox line depends on the kernel (Landlock ABI), not on plugctl.
fn without_sandbox_level(human: &str) -> String {
    human
        .lines()
        .map(|line| {
            if line.trim_start().starts_with("sandbox: ") {
                "    sandbox: [kernel-dependent]"
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_bundled_cost_estimate_hook_runs_and_lets_the_deploy_continue() {
    let out = plugctl(&[
        "hooks",
        "run",
        "plugins/aws-deployment-assistant",
        "pre_deploy",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("sandbox: landlock"), "{stdout}");
    insta::assert_snapshot!("hooks_run_pre_deploy", without_sandbox_level(&stdout));
}

#[test]
fn a_deploy_over_budget_is_blocked_with_the_hooks_reason_in_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("input.json");
    std::fs::write(
        &input,
        r#"{"params": {"function_name": "big", "memory_mb": 10240, "expected_invocations_per_month": 100000000, "max_monthly_cost_usd": 5}}"#,
    )
    .expect("write input");
    let out = plugctl(&[
        "hooks",
        "run",
        "plugins/aws-deployment-assistant",
        "pre_deploy",
        "--input",
        input.to_str().expect("utf-8 path"),
        "--output",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let mut report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(report["decision"]["outcome"], "block");
    for hook in report["hooks"].as_array_mut().expect("hooks") {
        hook["duration_ms"] = 0.into();
        hook["sandbox"] = "[kernel-dependent]".into();
    }
    insta::assert_json_snapshot!("hooks_run_over_budget_json", report);
}

#[test]
fn a_hook_sees_none_of_the_runtimes_credentials() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("env plugin");
    std::fs::create_dir_all(root.join("skills")).expect("mkdir");
    std::fs::write(root.join("skills/deploy-x.yaml"), "skill:\n  name: deploy-x\n  description: d\n  steps:\n    - name: s\n      action: assert\n      that: 'true'\n").expect("write");
    std::fs::write(root.join("plugin.yaml"), "plugin:\n  name: p\n  version: 1.0.0\n  skills:\n    - name: deploy-x\n      path: skills/deploy-x.yaml\n  hooks:\n    - event: post_skill\n      command: [env]\n").expect("write");
    let secrets = [
        ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEKEYID0001"),
        ("AWS_SECRET_ACCESS_KEY", "example/secret/access/key"),
        ("AWS_SESSION_TOKEN", "example-session-token"),
        ("PLUGCTL_APPROVALS_FILE", "/var/lib/plugctl/approvals"),
        ("PRICING_MCP_API_KEY", "example-mcp-api-key"),
    ];
    let out = Command::new(env!("CARGO_BIN_EXE_plugctl"))
        .args([
            "hooks",
            "run",
            root.to_str().expect("utf-8"),
            "post_skill",
            "--output",
            "json",
        ])
        .envs(secrets)
        .output()
        .expect("plugctl runs");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let dump = report["hooks"][0]["stdout"].as_str().expect("env output");
    assert!(dump.contains("PATH="), "{dump}");
    for (name, value) in secrets {
        assert!(
            !dump.contains(name) && !dump.contains(value),
            "{name} leaked:\n{dump}"
        );
    }
}

#[test]
fn an_unknown_plugin_is_a_usage_error() {
    let out = plugctl(&["hooks", "run", "plugins/does-not-exist", "pre_deploy"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_claude_code_plugin_runs_its_hooks_json_around_steps() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("claude plugin");
    std::fs::create_dir_all(root.join("hooks")).expect("mkdir");
    std::fs::write(
        root.join("hooks/hooks.json"),
        r#"{"hooks": {"PreToolUse": [{"matcher": "aws_api", "hooks": [
            {"type": "command", "command": "echo 'no AWS calls from this plugin' >&2; exit 2"}]}]}}"#,
    )
    .expect("write hooks.json");
    let root = root.to_str().expect("utf-8");
    let blocked = plugctl(&["hooks", "run", root, "pre_step", "--action", "aws_api"]);
    assert_eq!(blocked.status.code(), Some(1), "{}", text(&blocked.stderr));
    let stdout = text(&blocked.stdout);
    assert!(
        stdout.contains("decision: block\n  - no AWS calls from this plugin"),
        "{stdout}"
    );
    let other = plugctl(&["hooks", "run", root, "pre_step", "--action", "run_command"]);
    assert_eq!(other.status.code(), Some(0), "{}", text(&other.stderr));
    assert!(text(&other.stdout).contains("0 hook(s) for pre_step"));
}
