//! `plugctl policy eval` and `plugctl check`, run as a user runs them.
#![allow(missing_docs)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

mod support;
use support::{plugctl, repo, text};

const SEED_POLICY: &str = "plugins/aws-deployment-assistant/policies/policy-delete-human-only.json";
const FIXTURES: &str = "crates/plugctl/tests/fixtures";

fn check(actor: &str, extra: &[&str]) -> Output {
    let plugin = format!("{FIXTURES}/check-delete");
    let mut args = vec![
        "check",
        plugin.as_str(),
        "--policy",
        SEED_POLICY,
        "--actor",
        actor,
    ];
    args.extend_from_slice(extra);
    plugctl(&args)
}

#[test]
fn seed_policy_denies_delete_for_an_agent() {
    let out = check("agent", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    insta::assert_snapshot!("check_agent", text(&out.stdout));
    insta::assert_snapshot!("check_agent_stderr", text(&out.stderr));
}

#[test]
fn seed_policy_allows_delete_for_a_human() {
    let out = check("human", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    insta::assert_snapshot!("check_human", text(&out.stdout));
}

#[test]
fn check_json_output() {
    let out = check("agent", &["--output", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(rows[0]["action"], "lambda:DeleteFunction");
    assert_eq!(rows[0]["decision"], "ImplicitDeny");
    assert_eq!(rows[0]["blockedBy"], serde_json::json!(["identity"]));
    assert_eq!(text(&out.stderr), "", "no warnings on stderr in JSON mode");
}

#[test]
fn check_context_overrides_the_actor_tag() {
    let out = check("agent", &["--context", "aws:PrincipalTag/ActorType=human"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

/// Every action the skill needs, declared or implied by its calls (`tag_deployment`
/// needs `lambda:TagResource`), as the run's gate decides them.
#[test]
fn check_the_bundled_plugin_reports_every_required_action() {
    let out = plugctl(&[
        "check",
        "plugins/aws-deployment-assistant",
        "--policy",
        SEED_POLICY,
        "--actor",
        "human",
    ]);
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!("check_bundled", text(&out.stdout));
}

#[test]
fn check_unknown_skill_is_a_usage_error() {
    let out = check("agent", &["--skill", "nope"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn eval_one_request() {
    let out = plugctl(&[
        "policy",
        "eval",
        "--request",
        &format!("{FIXTURES}/policy/human.json"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    insta::assert_snapshot!("eval_human", text(&out.stdout));
    let out = plugctl(&[
        "policy",
        "eval",
        "--request",
        &format!("{FIXTURES}/policy/agent.json"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!("eval_agent", text(&out.stdout));
}

#[test]
fn eval_batch_keeps_order_and_reports_bad_lines() {
    let out = plugctl(&[
        "policy",
        "eval",
        "--requests",
        &format!("{FIXTURES}/policy/batch.jsonl"),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a malformed line makes the exit code 1"
    );
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("every output line is JSON"))
        .collect();
    assert_eq!(lines.len(), 6);
    assert_eq!(lines[0]["decision"], "Allow");
    assert_eq!(lines[1]["decision"], "ImplicitDeny");
    assert!(
        lines[2]["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("malformed input"))
    );
    assert_eq!(lines[3]["decision"], "ExplicitDeny");
    assert_eq!(
        lines[3]["blockedBy"],
        serde_json::json!(["permissionsBoundary"])
    );
    assert_eq!(lines[3]["statements"][0]["sid"], "NoDeletes");
    assert_eq!(lines[4]["diagnostics"][0]["code"], "unknown-operator");
    assert_eq!(lines[5]["decision"], "Allow");
    insta::assert_snapshot!("eval_batch", text(&out.stdout));
}

#[test]
fn eval_batch_from_stdin() {
    let input = std::fs::read(repo().join(FIXTURES).join("policy/batch.jsonl")).expect("fixture");
    let mut child = Command::new(env!("CARGO_BIN_EXE_plugctl"))
        .args(["policy", "eval", "--requests", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&input)
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(text(&out.stdout).lines().count(), 6);
}

#[test]
fn eval_usage_errors() {
    assert_eq!(plugctl(&["policy", "eval"]).status.code(), Some(2));
    assert_eq!(
        plugctl(&["policy", "eval", "--requests", "no/such/file"])
            .status
            .code(),
        Some(2)
    );
}

const LINT_FIXTURES: &str = "crates/plugctl/tests/fixtures/policy-lint";

#[test]
fn lint_warns_about_unknown_actions_and_keys_that_do_not_apply() {
    let typos = format!("{LINT_FIXTURES}/typos.json");
    let out = plugctl(&["policy", "lint", &typos]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("{typos}: 0 error(s), 3 warning(s)\n")
    );
    insta::assert_snapshot!("lint_typos", text(&out.stderr));
    let strict = plugctl(&["policy", "lint", "--strict", &typos]);
    assert_eq!(strict.status.code(), Some(1));
}

#[test]
fn lint_reports_errors_and_warnings_together() {
    let broken = format!("{LINT_FIXTURES}/broken.json");
    let out = plugctl(&["policy", "lint", &broken, SEED_POLICY]);
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!("lint_broken", text(&out.stderr));
    assert_eq!(
        plugctl(&["policy", "lint", "no/such.json"]).status.code(),
        Some(2)
    );
}

#[test]
fn check_shows_the_catalogue_warnings_of_its_policy_files() {
    let out = plugctl(&[
        "check",
        &format!("{FIXTURES}/check-delete"),
        "--policy",
        &format!("{LINT_FIXTURES}/typos.json"),
        "--actor",
        "human",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 3, "{stderr}");
    assert!(
        stderr.contains("did you mean `lambda:CreateFunction`?"),
        "{stderr}"
    );
}

/// A policy AWS stores though it breaks the grammar is linted, not refused:
/// each odd part is a warning with its line and column, and `eval` decides it.
#[test]
fn lint_and_eval_read_stored_policies_as_aws_does() {
    let stored = format!("{LINT_FIXTURES}/stored.json");
    let out = plugctl(&["policy", "lint", &stored]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    insta::assert_snapshot!("lint_stored", text(&out.stderr));
    let policy: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join(&stored)).expect("fixture"))
            .expect("json");
    let request = serde_json::json!({
        "request": {"principal": "arn:aws:iam::111122223333:user/alice", "action": "s3:GetObject", "resource": "*"},
        "identityPolicies": [policy],
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("request.json");
    std::fs::write(&file, request.to_string()).expect("write");
    let out = plugctl(&["policy", "eval", "--request", &file.display().to_string()]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the comma action grants nothing"
    );
    assert!(
        text(&out.stdout).contains("ImplicitDeny"),
        "{}",
        text(&out.stdout)
    );
}
