//! `plugctl aws call`: static checks without network, and a real call against
//! LocalStack when `LOCALSTACK_ENDPOINT` is set.
#![allow(missing_docs)]

use std::process::{Command, Output};

mod support;
use support::{localstack_endpoint, text};

fn plugctl(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_plugctl"));
    command.args(args).env("NO_COLOR", "1");
    // The developer's own AWS setup must not leak into the test.
    for var in [
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_STS",
        "AWS_ROLE_ARN",
    ] {
        command.env_remove(var);
    }
    command.envs(env.iter().copied());
    command.output().expect("plugctl runs")
}

#[test]
fn misspelled_operation_is_refused_with_a_suggestion_before_any_network() {
    let out = plugctl(
        &[
            "aws",
            "call",
            "lambda",
            "update_function_cod",
            "--params",
            r#"{"FunctionName":"f"}"#,
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stdout), "");
    insta::assert_snapshot!("misspelled_operation", text(&out.stderr));
}

#[test]
fn mistyped_and_unknown_params_are_all_reported() {
    let params = r#"{"FunctionName":"f","MemorySize":"lots","Timout":3}"#;
    let out = plugctl(
        &[
            "aws",
            "call",
            "lambda",
            "UpdateFunctionConfiguration",
            "--params",
            params,
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!("bad_params", text(&out.stderr));
}

#[test]
fn params_must_be_a_json_object() {
    let out = plugctl(
        &[
            "aws",
            "call",
            "sts",
            "get_caller_identity",
            "--params",
            "[1]",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr), "error: --params must be a JSON object\n");
}

#[test]
fn get_caller_identity_against_localstack_prints_json() {
    let Some(endpoint) = localstack_endpoint() else {
        return;
    };
    let env = [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
    ];
    let out = plugctl(&["aws", "call", "sts", "get_caller_identity"], &env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(json["Account"], "000000000000");
    let missing = plugctl(
        &[
            "aws",
            "call",
            "lambda",
            "get_function",
            "--params",
            r#"{"FunctionName":"absent-fn"}"#,
        ],
        &env,
    );
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing.stderr).starts_with("error: ResourceNotFoundException: "),
        "{}",
        text(&missing.stderr)
    );
}

/// A key with a `..` segment would reach another bucket once the URL is
/// parsed; it is refused before anything is sent (hardening issue, item 12).
#[test]
fn a_dot_segment_key_is_refused_rather_than_sent_to_another_bucket() {
    let Some(endpoint) = localstack_endpoint() else {
        return;
    };
    let out = plugctl(
        &[
            "aws",
            "call",
            "s3",
            "get_object",
            "--params",
            r#"{"Bucket":"mine","Key":"../other-bucket/secret"}"#,
        ],
        &[
            ("AWS_ENDPOINT_URL", &endpoint),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_REGION", "us-east-1"),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("path segment"),
        "{}",
        text(&out.stderr)
    );
}
