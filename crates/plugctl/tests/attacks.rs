//! The attack suite: each test tries, as a plugin author or a caller would,
//! to get around one of plugctl's governance guarantees, through real
//! processes against LocalStack. Each one fails when its guarantee is
//! removed. Without `LOCALSTACK_ENDPOINT` they print why and pass, unless
//! `PLUGCTL_REQUIRE_LOCALSTACK` is set (as in CI).
#![allow(missing_docs)]

use std::path::Path;

use serde_json::{Value, json};

mod support;
use support::aws::{Aws, allow};
use support::{fixture, repo, text, unique};

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

/// A function to attack, created as the operator; returns its name.
fn victim(aws: &Aws) -> String {
    let name = unique("victim");
    let zip = std::process::Command::new("sh")
        .args(["-c", "cd \"$1\" && zip -q - index.py", "sh"])
        .arg(repo().join("plugins/aws-deployment-assistant/examples/hello-function"))
        .output()
        .expect("zip");
    use base64::Engine as _;
    let code = base64::engine::general_purpose::STANDARD.encode(&zip.stdout);
    aws.call(
        "lambda",
        "create_function",
        json!({"FunctionName": name, "Runtime": "python3.11",
               "Role": "arn:aws:iam::000000000000:role/lambda-role",
               "Handler": "index.handler", "Code": {"ZipFile": code}}),
    )
    .expect("function created");
    name
}

fn exists(aws: &Aws, function: &str) -> bool {
    aws.call("lambda", "get_function", json!({"FunctionName": function}))
        .is_ok()
}

/// The seed's statement: deleting functions is for humans only.
fn seed_statement() -> Value {
    let path =
        repo().join("plugins/aws-deployment-assistant/policies/policy-delete-human-only.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("seed policy")).expect("JSON")
}

#[test]
fn without_policy_files_the_roles_own_policies_still_gate_the_run() {
    let Some(aws) = Aws::start() else { return };
    let function = victim(&aws);
    let role = aws.role("attack-nopolicy", json!([seed_statement()]));
    let work = tempfile::tempdir().expect("tempdir");
    let out = aws.plugctl(
        work.path(),
        &[
            "run",
            &fixture("attacks"),
            "delete-function",
            "--param",
            &format!("function_name={function}"),
            "--role-arn",
            &role,
            "--approval-timeout",
            "1s",
        ],
    );
    assert!(
        exists(&aws, &function),
        "an agent deleted it: {}",
        text(&out.stderr)
    );
    assert_eq!(
        out.status.code(),
        Some(4),
        "it waits for a human: {}",
        text(&out.stderr)
    );
}

#[test]
fn an_agent_run_on_aws_without_a_role_is_refused_before_anything_runs() {
    let Some(aws) = Aws::start() else { return };
    let function = victim(&aws);
    let work = tempfile::tempdir().expect("tempdir");
    let policy = work.path().join("allow-all.json");
    std::fs::write(
        &policy,
        json!({"Version": "2012-10-17", "Statement": [allow(&["*"])]}).to_string(),
    )
    .expect("policy");
    let out = aws.plugctl(
        work.path(),
        &[
            "run",
            &fixture("attacks"),
            "delete-function",
            "--param",
            &format!("function_name={function}"),
            "--policy",
            &policy.display().to_string(),
        ],
    );
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("no role is configured"),
        "{}",
        text(&out.stderr)
    );
    assert!(exists(&aws, &function));
    assert!(
        !aws.state.path().join("runs").exists(),
        "nothing was journaled"
    );
}

#[test]
fn without_any_permission_source_only_unchecked_runs_and_it_is_recorded() {
    let Some(mut aws) = Aws::start() else { return };
    let function = victim(&aws);
    // The operator allows the base identity; no policy files, no role policies.
    aws.vars
        .push(("PLUGCTL_IDENTITY".to_owned(), "base".to_owned()));
    let work = tempfile::tempdir().expect("tempdir");
    let param = format!("function_name={function}");
    let args = [
        "run",
        &fixture("attacks"),
        "delete-function",
        "--param",
        &param,
    ];
    let refused = aws.plugctl(work.path(), &args);
    assert_eq!(refused.status.code(), Some(7), "{}", text(&refused.stderr));
    assert!(exists(&aws, &function));

    let mut unchecked = args.to_vec();
    unchecked.push("--unchecked");
    let out = aws.plugctl(work.path(), &unchecked);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!exists(&aws, &function));
    assert!(
        aws.audit()
            .contains(r#""governance":{"unchecked":true,"base_identity":true}"#),
        "{}",
        aws.audit()
    );
    let runs = aws.plugctl(work.path(), &["runs"]);
    assert!(
        text(&runs.stdout).contains("(unchecked,base-identity)"),
        "{}",
        text(&runs.stdout)
    );
}

#[test]
fn an_agent_may_run_only_the_skills_the_allow_list_names() {
    let Some(aws) = Aws::start() else { return };
    let function = victim(&aws);
    let role = aws.role("attack-allow", json!([allow(&["lambda:*"])]));
    let work = tempfile::tempdir().expect("tempdir");
    let config = work.path().join("config.yaml");
    std::fs::write(&config, "allow: [who-am-i]\n").expect("config");
    let out = aws.plugctl(
        work.path(),
        &[
            "run",
            &fixture("attacks"),
            "delete-function",
            "--param",
            &format!("function_name={function}"),
            "--role-arn",
            &role,
            "--config",
            &config.display().to_string(),
        ],
    );
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("not allowed"),
        "{}",
        text(&out.stderr)
    );
    assert!(exists(&aws, &function));
}

#[test]
fn a_call_outside_the_declared_permissions_is_counted_as_unexpected() {
    let Some(aws) = Aws::start() else { return };
    let role = aws.role("attack-quiet", json!([allow(&["lambda:*"])]));
    let work = tempfile::tempdir().expect("tempdir");
    let out = aws.plugctl(
        work.path(),
        &[
            "run",
            &fixture("attacks"),
            "list-quietly",
            "--role-arn",
            &role,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let calls: Vec<Value> = aws
        .audit()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["event"] == "aws_api_called")
        .collect();
    let flagged: Vec<(&str, bool)> = calls
        .iter()
        .map(|c| {
            let operation = c["operation"].as_str().unwrap_or_default();
            (operation, c["undeclared"] == true)
        })
        .collect();
    assert_eq!(
        flagged,
        [("get_account_settings", false), ("list_functions", true)]
    );
}

/// A forwarding proxy for STS in front of LocalStack that keeps each request
/// body (form-encoded, decoded here); returns its endpoint.
fn recording_sts(localstack: &str) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    let upstream = localstack.trim_start_matches("http://").to_owned();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = seen.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let mut reader = BufReader::new(client);
            let mut head = String::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                if !lower.starts_with("connection:") {
                    head.push_str(&line);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let decoded = percent_encoding::percent_decode(&body.replace_with_plus())
                .decode_utf8_lossy()
                .into_owned();
            kept.lock().expect("lock").push(decoded);
            let mut server = std::net::TcpStream::connect(&upstream).expect("LocalStack");
            let _ = write!(server, "{head}Connection: close\r\n\r\n");
            let _ = server.write_all(&body);
            let mut answer = Vec::new();
            let _ = server.read_to_end(&mut answer);
            let _ = reader.get_mut().write_all(&answer);
        }
    });
    (endpoint, seen)
}

trait PlusAsSpace {
    fn replace_with_plus(&self) -> Vec<u8>;
}

impl PlusAsSpace for Vec<u8> {
    /// Form encoding writes spaces as `+`.
    fn replace_with_plus(&self) -> Vec<u8> {
        self.iter()
            .map(|&b| if b == b'+' { b' ' } else { b })
            .collect()
    }
}

#[test]
fn the_agent_session_is_limited_by_a_session_policy_of_the_skills_actions() {
    let Some(mut aws) = Aws::start() else { return };
    let role = aws.role("attack-scope", json!([allow(&["lambda:*", "iam:*"])]));
    let (sts, seen) = recording_sts(&aws.endpoint);
    aws.vars.push(("AWS_ENDPOINT_URL_STS".to_owned(), sts));
    let work = tempfile::tempdir().expect("tempdir");
    let out = aws.plugctl(
        work.path(),
        &[
            "run",
            &fixture("attacks"),
            "list-quietly",
            "--role-arn",
            &role,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let bodies = seen.lock().expect("lock").clone();
    let assume = bodies
        .iter()
        .find(|b| b.contains("Action=AssumeRole"))
        .unwrap_or_else(|| panic!("no AssumeRole went through STS: {bodies:?}"));
    let policy = assume
        .split('&')
        .find_map(|p| p.strip_prefix("Policy="))
        .unwrap_or_else(|| panic!("the session was assumed without a session policy: {assume}"));
    let policy: Value = serde_json::from_str(policy).expect("policy JSON");
    assert_eq!(
        policy["Statement"],
        json!([{"Effect": "Allow", "Resource": "*",
                "Action": ["lambda:GetAccountSettings", "lambda:ListFunctions"]}])
    );
}
