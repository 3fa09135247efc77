//! LocalStack as an operator meets it: plugctl run with base credentials
//! from the environment, and IAM roles made for one test.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

use super::{localstack_endpoint, path_with_pytest, repo, text, unique};

/// The suite's LocalStack and a state folder of this test's own.
pub struct Aws {
    /// LocalStack's URL.
    pub endpoint: String,
    /// `PLUGCTL_STATE_DIR`.
    pub state: tempfile::TempDir,
    /// Extra environment for every plugctl this test starts.
    pub vars: Vec<(String, String)>,
}

impl Aws {
    /// `None` (the test returns early) when the suite runs without LocalStack.
    pub fn start() -> Option<Aws> {
        localstack_endpoint().map(|endpoint| Aws {
            endpoint,
            state: tempfile::tempdir().expect("tempdir"),
            vars: Vec::new(),
        })
    }

    /// plugctl in `workdir` as the operator: base credentials `test`.
    pub fn command(&self, workdir: &Path, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_plugctl"));
        command
            .args(args)
            .current_dir(workdir)
            .env("PATH", path_with_pytest())
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("PLUGCTL_STATE_DIR", self.state.path())
            .env("NO_COLOR", "1")
            .env_remove("AWS_PROFILE")
            .env_remove("PLUGCTL_ROLE_ARN")
            .envs(self.vars.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null());
        command
    }

    /// Runs plugctl to its end.
    pub fn plugctl(&self, workdir: &Path, args: &[&str]) -> Output {
        self.command(workdir, args).output().expect("plugctl runs")
    }

    /// One AWS call as the operator, through `plugctl aws call`.
    pub fn call(&self, service: &str, operation: &str, params: Value) -> Result<Value, String> {
        let params = params.to_string();
        let args = ["aws", "call", service, operation, "--params", &params];
        let out = self.plugctl(&repo(), &args);
        if out.status.success() {
            serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
        } else {
            Err(text(&out.stderr))
        }
    }

    /// A role anyone in the account may assume, with `statements` as its
    /// inline policy; returns its ARN.
    pub fn role(&self, prefix: &str, statements: Value) -> String {
        let name = unique(prefix);
        let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
            "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]}]});
        let created = self
            .call(
                "iam",
                "CreateRole",
                json!({"RoleName": name, "AssumeRolePolicyDocument": trust.to_string()}),
            )
            .expect("role created");
        let policy = json!({"Version": "2012-10-17", "Statement": statements});
        self.call(
            "iam",
            "PutRolePolicy",
            json!({"RoleName": name, "PolicyName": "inline",
                   "PolicyDocument": policy.to_string()}),
        )
        .expect("inline policy");
        created["Role"]["Arn"]
            .as_str()
            .expect("role ARN")
            .to_owned()
    }

    /// The audit log's text.
    pub fn audit(&self) -> String {
        std::fs::read_to_string(self.state.path().join("audit.jsonl")).unwrap_or_default()
    }
}

/// A statement allowing `actions` on everything.
pub fn allow(actions: &[&str]) -> Value {
    json!({"Effect": "Allow", "Action": actions, "Resource": "*"})
}

/// The environment of a person: an IAM user `name` of LocalStack with a
/// fresh access key (made, or its old keys replaced), so `plugctl approve`
/// verifies them as `name`. `None` without LocalStack.
pub fn person(name: &str) -> Option<Vec<(String, String)>> {
    let aws = Aws::start()?;
    let _ = aws.call("iam", "CreateUser", json!({"UserName": name}));
    let keys = aws
        .call("iam", "ListAccessKeys", json!({"UserName": name}))
        .expect("keys");
    for key in keys["AccessKeyMetadata"].as_array().into_iter().flatten() {
        let _ = aws.call(
            "iam",
            "DeleteAccessKey",
            json!({"UserName": name, "AccessKeyId": key["AccessKeyId"]}),
        );
    }
    let key = aws
        .call("iam", "CreateAccessKey", json!({"UserName": name}))
        .expect("access key");
    let field = |f: &str| key["AccessKey"][f].as_str().expect("key field").to_owned();
    Some(vec![
        ("AWS_ENDPOINT_URL".to_owned(), aws.endpoint.clone()),
        ("AWS_ACCESS_KEY_ID".to_owned(), field("AccessKeyId")),
        ("AWS_SECRET_ACCESS_KEY".to_owned(), field("SecretAccessKey")),
        ("AWS_REGION".to_owned(), "us-east-1".to_owned()),
    ])
}

/// A home folder whose `~/.aws` holds the operator's long-lived keys and
/// points the CLI at LocalStack, as a developer's machine would.
pub fn operator_home(endpoint: &str) -> tempfile::TempDir {
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
