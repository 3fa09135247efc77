//! The attack suite: each test tries, as a plugin author or a caller would,
//! to get around one of plugctl's governance guarantees, through real
//! processes against LocalStack. Each one fails when its guarantee is
//! removed. Without `LOCALSTACK_ENDPOINT` they print why and pass, unless
//! `PLUGCTL_REQUIRE_LOCALSTACK` is set (as in CI).
#![allow(missing_docs)]

use std::path::Path;

use serde_json::Value;

mod support;
use support::aws::{Aws, allow};
use support::{fixture, text};

/// A home folder whose `~/.aws` holds the operator's long-lived keys and
/// points the CLI at LocalStack, as a developer's machine would.
fn operator_home(endpoint: &str) -> tempfile::TempDir {
    let home = tempfile::tempdir().expect("tempdir");
    let aws = home.path().join(".aws");
    std::fs::create_dir(&aws).expect(".aws");
    std::fs::write(
        aws.join("credentials"),
        "[default]\naws_access_key_id = AKIAOPERATORKEY\naws_secret_access_key = operator-secret\n",
    )
    .expect("credentials");
    std::fs::write(
        aws.join("config"),
        format!("[default]\nregion = us-east-1\nendpoint_url = {endpoint}\n"),
    )
    .expect("config");
    home
}

fn caller(workdir: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(workdir.join("caller.json")).ok()?;
    serde_json::from_str(&text).ok()
}

#[test]
fn a_command_declared_aws_acts_as_the_runs_tagged_session() {
    let Some(aws) = Aws::start() else { return };
    let role = aws.role(
        "attack-who",
        serde_json::json!([allow(&["lambda:ListFunctions"])]),
    );
    let work = tempfile::tempdir().expect("tempdir");
    let out = aws.plugctl(
        work.path(),
        &["run", &fixture("attacks"), "who-am-i", "--role-arn", &role],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let caller = caller(work.path()).expect("the AWS CLI answered");
    let arn = caller["Arn"].as_str().unwrap_or_default();
    let role_name = role.rsplit('/').next().expect("role name");
    assert!(
        arn.contains(&format!(":assumed-role/{role_name}/plugctl-")),
        "the command acted as {arn}, not the run's session"
    );
}

#[test]
fn a_command_finds_none_of_the_operators_credentials() {
    let Some(mut aws) = Aws::start() else { return };
    let home = operator_home(&aws.endpoint);
    aws.vars
        .push(("HOME".to_owned(), home.path().display().to_string()));
    let work = tempfile::tempdir().expect("tempdir");
    let out = aws.plugctl(
        work.path(),
        &["run", &fixture("attacks"), "operator-credentials"],
    );
    let found = caller(work.path());
    assert!(found.is_none(), "the step acted as the operator: {found:?}");
    assert_ne!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let error = std::fs::read_to_string(work.path().join("error.txt")).unwrap_or_default();
    assert!(error.contains("Unable to locate credentials"), "{error}");
}
