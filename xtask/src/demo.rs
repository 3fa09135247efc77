//! `cargo xtask demo`: the seed plugin, unchanged, deployed to LocalStack by
//! `plugctl run`, twice (create, then update), through an assumed-role
//! session tagged as the agent.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::run::status;

/// The execution role written into the created function (LocalStack does not check it).
pub const LAMBDA_ROLE: &str = "arn:aws:iam::000000000000:role/lambda-role";

/// A demo's environment: where state goes and how plugctl reaches LocalStack.
pub struct Demo {
    plugctl: PathBuf,
    state: PathBuf,
    project: PathBuf,
    path: String,
    endpoint: String,
}

impl Demo {
    /// Prepares a fresh state dir and a copy of the example function under `target/demo`.
    pub fn new(root: &Path, venv: &Path, endpoint: &str) -> Result<Self, String> {
        let base = root.join("target/demo");
        let _ = std::fs::remove_dir_all(&base);
        let project = base.join("hello-function");
        std::fs::create_dir_all(&project).map_err(|e| format!("{}: {e}", project.display()))?;
        let example = root.join("plugins/aws-deployment-assistant/examples/hello-function");
        status(
            Command::new("cp")
                .arg("-r")
                .arg(example.join("."))
                .arg(&project),
        )?;
        // The seed's first step runs `pytest`: put the pinned one first on PATH.
        let path = format!(
            "{}:{}",
            venv.join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Ok(Demo {
            plugctl: root.join("target/debug/plugctl"),
            state: base.join("state"),
            project,
            path,
            endpoint: endpoint.to_owned(),
        })
    }

    /// The copy of the example function the skill packages.
    pub fn project(&self) -> &Path {
        &self.project
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.plugctl);
        command
            .args(args)
            .env("PATH", &self.path)
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("PLUGCTL_STATE_DIR", &self.state)
            .env_remove("AWS_PROFILE");
        command
    }

    /// Runs plugctl with the demo's environment.
    pub fn plugctl(&self, args: &[&str]) -> Result<(), String> {
        status(&mut self.command(args))
    }

    fn output(&self, args: &[&str]) -> Result<String, String> {
        let out = self.command(args).output().map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// `plugctl check` for an agent (denied: exit 1 is the expected answer) and a human.
    pub fn check_policy(&self, plugin: &str) -> Result<(), String> {
        let policy = format!("{plugin}/policies/policy-delete-human-only.json");
        let fixture = Path::new(plugin).join("../../crates/plugctl/tests/fixtures/check-delete");
        let fixture = fixture.to_string_lossy();
        let agent = self
            .command(&["check", &fixture, "--policy", &policy, "--actor", "agent"])
            .status()
            .map_err(|e| e.to_string())?;
        if agent.code() != Some(1) {
            return Err("the seed policy should deny lambda:DeleteFunction to an agent".into());
        }
        self.plugctl(&["check", &fixture, "--policy", &policy, "--actor", "human"])
    }

    /// Creates the role the run assumes; its trust policy allows session tags and source identity.
    pub fn create_role(&self) -> Result<String, String> {
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]}]}"#;
        let params = format!(
            r#"{{"RoleName":"plugctl-agent","AssumeRolePolicyDocument":{}}}"#,
            json_string(trust)
        );
        let out = self.output(&["aws", "call", "iam", "create_role", "--params", &params])?;
        let arn = out
            .split("\"Arn\": \"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .ok_or("no role ARN in the answer")?;
        // The role's own policy is what plugctl decides runs with (deny by
        // default): the deployment's actions, and deleting for humans only.
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["lambda:CreateFunction","lambda:UpdateFunctionCode","lambda:TagResource","iam:PassRole"],"Resource":"*"},{"Effect":"Allow","Action":"lambda:DeleteFunction","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/ActorType":"human"}}}]}"#;
        let params = format!(
            r#"{{"RoleName":"plugctl-agent","PolicyName":"deploy","PolicyDocument":{}}}"#,
            json_string(policy)
        );
        self.output(&["aws", "call", "iam", "put_role_policy", "--params", &params])?;
        println!("role {arn} (inline policy `deploy`: what its runs may do)");
        Ok(arn.to_owned())
    }

    /// A function name unique to this demo run.
    pub fn function_name(&self) -> String {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        format!("hello-{secs}")
    }

    /// Prints the deployed function's state and tags.
    pub fn show_function(&self, name: &str) -> Result<(), String> {
        let function = self.output(&[
            "aws",
            "call",
            "lambda",
            "get_function",
            "--params",
            &format!(r#"{{"FunctionName":"{name}"}}"#),
        ])?;
        let arn = function
            .split("\"FunctionArn\": \"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .ok_or("no function ARN")?;
        println!("function {arn}");
        print!(
            "{}",
            self.output(&[
                "aws",
                "call",
                "lambda",
                "list_tags",
                "--params",
                &format!(r#"{{"Resource":"{arn}"}}"#)
            ])?
        );
        Ok(())
    }

    /// Delivers the runs' telemetry and shows what CloudWatch and the audit log hold.
    pub fn show_telemetry(&self) -> Result<(), String> {
        self.plugctl(&["telemetry", "flush"])?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let query = format!(
            r#"{{"Namespace":"plugctl","MetricName":"Invocations","Dimensions":[{{"Name":"Plugin","Value":"aws-deployment-assistant"}},{{"Name":"Skill","Value":"deploy-lambda"}},{{"Name":"ActorType","Value":"agent"}}],"StartTime":{},"EndTime":{},"Period":3600,"Statistics":["Sum"]}}"#,
            now - 3600,
            now + 600
        );
        println!("CloudWatch metric plugctl/Invocations (Plugin, Skill, ActorType=agent):");
        print!(
            "{}",
            self.output(&[
                "aws",
                "call",
                "cloudwatch",
                "get_metric_statistics",
                "--params",
                &query
            ])?
        );
        println!("the audit log, one line per run (plugctl audit):");
        self.plugctl(&["audit"])
    }

    /// Where to look next, and how to do the same against a real account.
    pub fn summary(&self, endpoint: &str) {
        let state = self.state.display();
        println!("\nDone. LocalStack ran at {endpoint} and stops now.");
        println!(
            "audit log:    {state}/audit.jsonl  (PLUGCTL_STATE_DIR={state} plugctl audit --run <id>)"
        );
        println!(
            "metrics:      CloudWatch namespace plugctl; log events: log group /plugctl/runs, one stream per run"
        );
        println!("run journals: {state}/runs/  (PLUGCTL_STATE_DIR={state} plugctl runs)");
        println!(
            "\nAgainst a real account: unset AWS_ENDPOINT_URL, use your usual credentials, and run"
        );
        println!(
            "  plugctl run plugins/aws-deployment-assistant deploy-lambda --role-arn <role that allows sts:TagSession> \\"
        );
        println!("    --param function_name=<name> --param iam_role_arn=<execution role>");
        println!(
            "  (plugctl decides with the role's own policies, read from IAM; add --policy FILE to decide with more)"
        );
    }
}

/// `text` as a JSON string literal.
fn json_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}
