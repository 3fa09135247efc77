//! End to end against a real LocalStack: the seed plugin runs unchanged and
//! deploys, attribution goes through an assumed-role session, and the
//! permission gate turns the seed's human-only action into an approval.
//!
//! LocalStack comes from `LOCALSTACK_ENDPOINT` (`cargo xtask test` starts one).
//! Without it these tests print why and pass, unless
//! `PLUGCTL_REQUIRE_LOCALSTACK=1` (set by `cargo xtask test`), where its
//! absence fails them.
#![allow(missing_docs)]

use std::path::Path;
use std::process::Command;

use serde_json::json;

mod support;
use support::aws::{Aws, allow};
use support::{function_project, repo, text, unique};

fn localstack() -> Option<Aws> {
    Aws::start()
}

/// A role whose own policies let an agent deploy the seed's function.
fn deployer(aws: &Aws) -> String {
    aws.role(
        "seed-deployer",
        json!([allow(&["lambda:*", "iam:PassRole"])]),
    )
}

const SEED: &str = "plugins/aws-deployment-assistant";
const ROLE: &str = "arn:aws:iam::000000000000:role/lambda-role";

#[test]
fn the_seed_creates_then_updates_and_tags_the_function() {
    let Some(aws) = localstack() else { return };
    let name = unique("seed");
    let project = function_project();
    let seed = repo().join(SEED).display().to_string();
    let role = deployer(&aws);
    let args = [
        "run",
        seed.as_str(),
        "deploy-lambda",
        "--param",
        &format!("function_name={name}"),
        "--param",
        &format!("iam_role_arn={ROLE}"),
        "--role-arn",
        &role,
    ];

    let first = aws.plugctl(project.path(), &args);
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}\n{}",
        text(&first.stdout),
        text(&first.stderr)
    );
    let function = aws
        .call("lambda", "get_function", json!({"FunctionName": name}))
        .expect("function exists");
    let arn = function["Configuration"]["FunctionArn"]
        .as_str()
        .expect("arn")
        .to_owned();
    let tags = aws
        .call("lambda", "list_tags", json!({"Resource": arn}))
        .expect("tags");
    assert_eq!(tags["Tags"]["DeployedBy"], "agent");
    assert!(
        tags["Tags"]["DeployedAt"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{tags}"
    );
    assert!(
        text(&first.stderr).contains("create_function: HTTP 201"),
        "first run takes the fallback"
    );

    let second = aws.plugctl(project.path(), &args);
    assert_eq!(
        second.status.code(),
        Some(0),
        "{}\n{}",
        text(&second.stdout),
        text(&second.stderr)
    );
    let stderr = text(&second.stderr);
    assert!(
        stderr.contains("update_function_code: HTTP 200") && !stderr.contains("create_function"),
        "second run updates: {stderr}"
    );

    // The bundled pre_deploy hook ran (in isolation) and reported its estimate.
    assert!(
        text(&first.stderr).contains(&format!("Estimated Lambda cost for {name}")),
        "{}",
        text(&first.stderr)
    );
}

#[test]
fn a_failing_validate_code_aborts_before_any_aws_call() {
    let Some(aws) = localstack() else { return };
    let name = unique("broken");
    let project = function_project();
    std::fs::write(
        project.path().join("tests/test_broken.py"),
        "def test_broken():\n    assert 1 == 2\n",
    )
    .expect("write");
    let seed = repo().join(SEED).display().to_string();
    let role = deployer(&aws);
    let out = aws.plugctl(
        project.path(),
        &[
            "run",
            &seed,
            "deploy-lambda",
            "--param",
            &format!("function_name={name}"),
            "--param",
            &format!("iam_role_arn={ROLE}"),
            "--role-arn",
            &role,
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("failed at step validate_code"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        !text(&out.stderr).contains("aws lambda"),
        "no AWS call was made"
    );
    assert!(
        aws.call("lambda", "get_function", json!({"FunctionName": name}))
            .is_err()
    );
}

#[test]
fn calls_go_through_a_role_session_named_for_the_run() {
    let Some(aws) = localstack() else { return };
    let role_arn = aws.role("plugctl-agent", json!([allow(&["sts:GetCallerIdentity"])]));
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/run-basics")
        .display()
        .to_string();
    let out = aws.plugctl(
        &repo(),
        &[
            "run",
            &fixture,
            "whoami",
            "--role-arn",
            &role_arn,
            "--operator",
            "alice",
            "--output",
            "json",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json report");
    assert_eq!(report["outcome"], "succeeded");
}

#[test]
fn the_seed_policy_gates_deletion_behind_a_human() {
    let Some(aws) = localstack() else { return };
    let name = unique("doomed");
    let zip = Command::new("sh")
        .args(["-c", "cd \"$1\" && zip -q - index.py", "sh"])
        .arg(repo().join("plugins/aws-deployment-assistant/examples/hello-function"))
        .output()
        .expect("zip");
    assert!(zip.status.success());
    use base64::Engine as _;
    let code = base64::engine::general_purpose::STANDARD.encode(&zip.stdout);
    aws.call("lambda", "create_function", json!({"FunctionName": name, "Runtime": "python3.11", "Role": ROLE, "Handler": "index.handler", "Code": {"ZipFile": code}})).expect("create");

    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/run-basics")
        .display()
        .to_string();
    let policy = repo()
        .join("plugins/aws-deployment-assistant/policies/policy-delete-human-only.json")
        .display()
        .to_string();
    // The role's own policy is the seed's: deleting is for humans only.
    let seed_statement: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&policy).expect("seed policy"))
            .expect("JSON");
    let role = aws.role("seed-deleter", json!([seed_statement]));
    let answers = tempfile::tempdir().expect("tempdir");
    let refuse = answers.path().join("no.json");
    let approve = answers.path().join("yes.json");
    std::fs::write(&refuse, r#"{"approver": "bob", "approve": false}"#).expect("write");
    std::fs::write(&approve, r#"{"approver": "alice", "approve": true}"#).expect("write");
    let run = |answer: &Path| {
        aws.plugctl(
            &repo(),
            &[
                "run",
                &fixture,
                "delete-lambda",
                "--param",
                &format!("function_name={name}"),
                "--policy",
                &policy,
                "--role-arn",
                &role,
                "--approve-from",
                &answer.display().to_string(),
            ],
        )
    };

    let refused = run(&refuse);
    assert_eq!(refused.status.code(), Some(4), "{}", text(&refused.stderr));
    assert!(
        aws.call("lambda", "get_function", json!({"FunctionName": name}))
            .is_ok(),
        "refusal changes nothing"
    );

    let approved = run(&approve);
    assert_eq!(
        approved.status.code(),
        Some(0),
        "{}\n{}",
        text(&approved.stdout),
        text(&approved.stderr)
    );
    assert!(
        aws.call("lambda", "get_function", json!({"FunctionName": name}))
            .is_err(),
        "the function is gone"
    );
    assert!(aws.audit().contains("\"approval_granted\""));
}
