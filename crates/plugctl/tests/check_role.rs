//! `plugctl check --role`: a role's real policies, fetched from IAM (inline,
//! attached managed, permissions boundary), decide the check. Against a real
//! LocalStack from `LOCALSTACK_ENDPOINT`; without it these tests print why and
//! pass, unless `PLUGCTL_REQUIRE_LOCALSTACK` is set, where its absence fails them.
#![allow(missing_docs)]

use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

mod support;
use support::{localstack_endpoint, repo, text, unique};

/// A plugin whose one skill declares `lambda:DeleteFunction`.
const PLUGIN: &str = "crates/plugctl/tests/fixtures/check-delete";

/// The seed's statement (a bare statement) as a policy document IAM accepts.
fn seed_document() -> String {
    let seed = std::fs::read_to_string(
        repo().join("plugins/aws-deployment-assistant/policies/policy-delete-human-only.json"),
    )
    .expect("seed policy");
    let statement: Value = serde_json::from_str(&seed).expect("seed is JSON");
    json!({"Version": "2012-10-17", "Statement": [statement]}).to_string()
}

fn allow_all_document() -> String {
    json!({"Version": "2012-10-17",
           "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    .to_string()
}

struct Iam {
    endpoint: String,
    account: String,
}

impl Iam {
    fn new(endpoint: String) -> Iam {
        Iam {
            endpoint,
            account: "000000000000".to_owned(),
        }
    }

    fn plugctl(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_plugctl"))
            .args(args)
            .current_dir(repo())
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("NO_COLOR", "1")
            .env_remove("AWS_PROFILE")
            .stdin(Stdio::null())
            .output()
            .expect("plugctl runs")
    }

    fn call(&self, operation: &str, params: Value) -> Value {
        let params = params.to_string();
        let out = self.plugctl(&["aws", "call", "iam", operation, "--params", &params]);
        assert!(
            out.status.success(),
            "iam {operation}: {}",
            text(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON answer")
    }

    /// A role that anyone in the account may assume; returns its name.
    fn role(&self, prefix: &str) -> String {
        let name = unique(prefix);
        let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{}:root", self.account)},
            "Action": "sts:AssumeRole"}]});
        self.call(
            "CreateRole",
            json!({"RoleName": name, "AssumeRolePolicyDocument": trust.to_string()}),
        );
        name
    }

    fn managed_policy(&self, prefix: &str, document: &str) -> String {
        let answer = self.call(
            "CreatePolicy",
            json!({"PolicyName": unique(prefix), "PolicyDocument": document}),
        );
        answer["Policy"]["Arn"]
            .as_str()
            .expect("policy ARN")
            .to_owned()
    }

    fn check(&self, role: &str, actor: &str) -> Output {
        self.plugctl(&[
            "check", PLUGIN, "--role", role, "--actor", actor, "--output", "json",
        ])
    }
}

/// The one row's decision and deciding policy.
fn decision(out: &Output) -> (String, Option<String>) {
    let rows: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&out.stderr)));
    assert_eq!(rows[0]["action"], "lambda:DeleteFunction");
    (
        rows[0]["decision"].as_str().unwrap_or_default().to_owned(),
        rows[0]["statements"][0]["policy"]
            .as_str()
            .map(str::to_owned),
    )
}

#[test]
fn inline_seed_policy_denies_delete_for_an_agent_and_allows_it_for_a_human() {
    let Some(endpoint) = localstack_endpoint() else {
        return;
    };
    let iam = Iam::new(endpoint);
    let role = iam.role("check-inline");
    iam.call(
        "PutRolePolicy",
        json!({"RoleName": role, "PolicyName": "delete-human-only", "PolicyDocument": seed_document()}),
    );
    let agent = iam.check(&role, "agent");
    assert_eq!(agent.status.code(), Some(1), "{}", text(&agent.stderr));
    assert_eq!(decision(&agent), ("ImplicitDeny".to_owned(), None));
    let arn = format!("arn:aws:iam::{}:role/{role}", iam.account);
    let human = iam.check(&arn, "human");
    assert_eq!(human.status.code(), Some(0), "{}", text(&human.stderr));
    assert_eq!(
        decision(&human),
        (
            "Allow".to_owned(),
            Some("inline:delete-human-only".to_owned())
        )
    );
}

#[test]
fn attached_managed_seed_policy_decides_the_same() {
    let Some(endpoint) = localstack_endpoint() else {
        return;
    };
    let iam = Iam::new(endpoint);
    let role = iam.role("check-managed");
    let policy = iam.managed_policy("delete-human-only", &seed_document());
    iam.call(
        "AttachRolePolicy",
        json!({"RoleName": role, "PolicyArn": policy}),
    );
    let agent = iam.check(&role, "agent");
    assert_eq!(agent.status.code(), Some(1), "{}", text(&agent.stderr));
    assert_eq!(decision(&agent).0, "ImplicitDeny");
    let human = iam.check(&role, "human");
    assert_eq!(human.status.code(), Some(0), "{}", text(&human.stderr));
    assert_eq!(decision(&human), ("Allow".to_owned(), Some(policy)));
    // The human-readable table names the managed policy as the deciding one.
    let table = iam.plugctl(&["check", PLUGIN, "--role", &role, "--actor", "human"]);
    let shown = text(&table.stdout)
        .replace(&role, "ROLE")
        .replace(policy_name(&iam, &table), "POLICY");
    insta::assert_snapshot!("check_role_human", shown);
}

/// The unique managed policy name in a table row, to keep the snapshot stable.
fn policy_name<'t>(iam: &Iam, table: &'t Output) -> &'t str {
    let out = std::str::from_utf8(&table.stdout).unwrap_or_default();
    let prefix = format!("arn:aws:iam::{}:policy/", iam.account);
    out.split_whitespace()
        .find_map(|w| w.strip_prefix(prefix.as_str()))
        .unwrap_or("<none>")
}

#[test]
fn permissions_boundary_blocks_what_the_inline_policy_allows() {
    let Some(endpoint) = localstack_endpoint() else {
        return;
    };
    let iam = Iam::new(endpoint);
    let role = iam.role("check-boundary");
    iam.call(
        "PutRolePolicy",
        json!({"RoleName": role, "PolicyName": "everything", "PolicyDocument": allow_all_document()}),
    );
    let boundary = iam.managed_policy("delete-human-only", &seed_document());
    iam.call(
        "PutRolePermissionsBoundary",
        json!({"RoleName": role, "PermissionsBoundary": boundary}),
    );
    let agent = iam.check(&role, "agent");
    assert_eq!(agent.status.code(), Some(1), "{}", text(&agent.stderr));
    let rows: Value = serde_json::from_slice(&agent.stdout).expect("JSON");
    assert_eq!(rows[0]["decision"], "ImplicitDeny");
    assert_eq!(rows[0]["blockedBy"], json!(["permissionsBoundary"]));
    let human = iam.check(&role, "human");
    assert_eq!(human.status.code(), Some(0), "{}", text(&human.stderr));
}

#[test]
fn an_unknown_role_is_a_usage_error_naming_the_role() {
    let Some(endpoint) = localstack_endpoint() else {
        return;
    };
    let iam = Iam::new(endpoint);
    let missing = unique("no-such-role");
    let out = iam.check(&missing, "agent");
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&missing) && stderr.contains("NoSuchEntity"),
        "{stderr}"
    );
}

#[test]
fn a_role_that_is_no_role_arn_is_refused_before_any_call() {
    // No endpoint needed: the ARN is rejected before AWS is reached.
    let out = Command::new(env!("CARGO_BIN_EXE_plugctl"))
        .args([
            "check",
            PLUGIN,
            "--role",
            "arn:aws:iam::111122223333:user/bob",
        ])
        .current_dir(repo())
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .output()
        .expect("plugctl runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("is not a role name or an IAM role ARN"),
        "{}",
        text(&out.stderr)
    );
}
