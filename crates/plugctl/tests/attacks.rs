//! The attack suite: each test tries, as a plugin author or a caller would,
//! to get around one of plugctl's governance guarantees, through real
//! processes against LocalStack. Each one fails when its guarantee is
//! removed. Without `LOCALSTACK_ENDPOINT` they print why and pass, unless
//! `PLUGCTL_REQUIRE_LOCALSTACK` is set (as in CI).
#![allow(missing_docs)]

use std::path::Path;

use serde_json::{Value, json};

mod support;
use support::aws::{Aws, allow, operator_home};
use support::{fixture, repo, text, unique};

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
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("hook key []"),
        "a hook that does not declare AWS gets no credentials: {stderr}"
    );
}

/// A forwarding proxy for STS in front of LocalStack that keeps each request
/// body (form-encoded, decoded here) and appends the credentials of each
/// session it hands out to `issued` (JSON lines); returns its endpoint.
fn recording_sts(
    localstack: &str,
    issued: Option<std::path::PathBuf>,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
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
            if let Some(issued) = &issued {
                record_credentials(&String::from_utf8_lossy(&answer), issued);
            }
            let _ = reader.get_mut().write_all(&answer);
        }
    });
    (endpoint, seen)
}

/// Appends the credentials in an AssumeRole answer (XML) to `file`.
fn record_credentials(answer: &str, file: &Path) {
    use std::io::Write as _;
    let field = |name: &str| {
        let start = answer.find(&format!("<{name}>"))? + name.len() + 2;
        let end = answer[start..].find(&format!("</{name}>"))? + start;
        Some(answer[start..end].to_owned())
    };
    let (Some(key), Some(secret), Some(token)) = (
        field("AccessKeyId"),
        field("SecretAccessKey"),
        field("SessionToken"),
    ) else {
        return;
    };
    let line = json!({"AccessKeyId": key, "SecretAccessKey": secret, "SessionToken": token});
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .expect("credentials file");
    let _ = writeln!(f, "{line}");
}

/// The SigV4-checking MCP server (`support/sigv4_mcp_server.py`), on a free
/// loopback port; stopped on drop.
struct SigV4Server {
    child: std::process::Child,
    dir: tempfile::TempDir,
    url: String,
}

impl SigV4Server {
    fn start() -> SigV4Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let python = repo().join("target/py-venv/bin/python");
        let script = repo().join("crates/plugctl/tests/support/sigv4_mcp_server.py");
        let child = std::process::Command::new(python)
            .arg(script)
            .arg(dir.path().join("credentials.jsonl"))
            .arg(dir.path().join("port"))
            .arg(dir.path().join("seen"))
            .stdin(std::process::Stdio::null())
            .spawn()
            .expect("the SigV4 server starts (the test venv has the AWS CLI)");
        let port_file = dir.path().join("port");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let port = loop {
            if let Some(port) = std::fs::read_to_string(&port_file)
                .ok()
                .filter(|p| !p.is_empty())
            {
                break port;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the SigV4 server never listened"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        SigV4Server {
            child,
            url: format!("http://127.0.0.1:{port}/mcp"),
            dir,
        }
    }

    fn credentials_file(&self) -> std::path::PathBuf {
        self.dir.path().join("credentials.jsonl")
    }

    /// The access key ids of the requests whose signature held.
    fn seen(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("seen"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for SigV4Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn an_iam_mcp_server_sees_requests_signed_by_the_runs_session_only() {
    let Some(mut aws) = Aws::start() else { return };
    let server = SigV4Server::start();
    let (sts, _) = recording_sts(&aws.endpoint, Some(server.credentials_file()));
    aws.vars.push(("AWS_ENDPOINT_URL_STS".to_owned(), sts));
    let role = aws.role("attack-signed", json!([allow(&["execute-api:Invoke"])]));
    let work = tempfile::tempdir().expect("tempdir");
    let out = aws.plugctl(
        work.path(),
        &[
            "run",
            &fixture("attacks"),
            "call-signed",
            "--role-arn",
            &role,
            "--set",
            &format!("sigv4-endpoint={}", server.url),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let issued = std::fs::read_to_string(server.credentials_file()).expect("a session was issued");
    let session: Value = serde_json::from_str(issued.lines().next().expect("one")).expect("JSON");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "hook key [{}]",
            session["AccessKeyId"].as_str().unwrap_or("?")
        )),
        "the hook declared `aws: true` acts as the run's session: {stderr}"
    );
    let seen = server.seen();
    assert!(!seen.is_empty(), "the server verified no request");
    assert!(
        seen.iter().all(|k| *k == session["AccessKeyId"]),
        "signed with {seen:?}, not the run's session {}",
        session["AccessKeyId"]
    );
}

#[test]
fn the_seeds_pricing_server_configuration_loads_and_signs_without_a_crash() {
    let Some(aws) = Aws::start() else { return };
    let server = SigV4Server::start();
    // `plugctl mcp` is outside any run: it signs as the operator (`test`).
    std::fs::write(
        server.credentials_file(),
        json!({"AccessKeyId": "test", "SecretAccessKey": "test"}).to_string() + "\n",
    )
    .expect("credentials");
    let out = aws.plugctl(
        &repo(),
        &[
            "mcp",
            "tools",
            "plugins/aws-deployment-assistant",
            "aws-pricing",
            "--set",
            &format!("mcp-server-endpoint={}", server.url),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("whoami"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(server.seen().first().map(String::as_str), Some("test"));
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
    let (sts, seen) = recording_sts(&aws.endpoint, None);
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

/// A run of `release-by-alice` waiting for its approval; returns the run id.
fn waiting_for_alice(aws: &Aws, work: &Path) -> (std::process::Child, String) {
    let mut child = aws
        .command(
            work,
            &[
                "run",
                &fixture("approvers"),
                "release-by-alice",
                "--approval-timeout",
                "60s",
            ],
        )
        .env("PLUGCTL_IDENTITY", "base")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run starts");
    let approvals = aws.state.path().join("approvals");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let pending = std::fs::read_dir(&approvals).ok().and_then(|d| {
            d.flatten().find_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_suffix(".request.json").map(str::to_owned)
            })
        });
        if let Some(id) = pending {
            return (child, id);
        }
        assert!(std::time::Instant::now() < deadline, "no approval request");
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the run ended first: {status}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn an_approver_is_who_aws_says_not_who_they_claim() {
    let Some(aws) = Aws::start() else { return };
    let work = tempfile::tempdir().expect("tempdir");
    let (child, id) = waiting_for_alice(&aws, work.path());
    let mallory = support::aws::person(&unique("mallory")).expect("LocalStack");
    let claimed = aws
        .command(work.path(), &["approve", &id, "--as", "alice"])
        .envs(mallory)
        .output()
        .expect("approve");
    refused_approval(&claimed, "not `alice`", work.path(), child);
}

#[test]
fn a_plugctl_run_session_cannot_approve() {
    let Some(aws) = Aws::start() else { return };
    let role = aws.role("attack-self", json!([allow(&["lambda:*"])]));
    // The credentials an agent holds inside an `aws: true` step: a session
    // named for a run.
    let session = aws
        .call(
            "sts",
            "AssumeRole",
            json!({"RoleArn": role, "RoleSessionName": "plugctl-20261207T000000-abcdef"}),
        )
        .expect("session");
    let field = |f: &str| {
        session["Credentials"][f]
            .as_str()
            .expect("field")
            .to_owned()
    };
    let work = tempfile::tempdir().expect("tempdir");
    let (child, id) = waiting_for_alice(&aws, work.path());
    let out = aws
        .command(work.path(), &["approve", &id])
        .env("AWS_ACCESS_KEY_ID", field("AccessKeyId"))
        .env("AWS_SECRET_ACCESS_KEY", field("SecretAccessKey"))
        .env("AWS_SESSION_TOKEN", field("SessionToken"))
        .output()
        .expect("approve");
    refused_approval(&out, "plugctl run's session", work.path(), child);
}

/// `approve` (its output `out`) was refused (exit 7) saying `says`, and the
/// run waiting in `work` released nothing; the run is then stopped.
fn refused_approval(
    out: &std::process::Output,
    says: &str,
    work: &Path,
    mut run: std::process::Child,
) {
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{said}");
    assert!(said.contains(says), "{said}");
    assert!(!work.join("released").exists());
    let _ = run.kill();
    let _ = run.wait();
}

#[test]
fn a_human_run_records_the_person_aws_vouches_for() {
    let Some(aws) = Aws::start() else { return };
    let carol = unique("carol");
    let person = support::aws::person(&carol).expect("LocalStack");
    let role = aws.role("attack-human", json!([allow(&["lambda:*"])]));
    let work = tempfile::tempdir().expect("tempdir");
    let out = aws
        .command(
            work.path(),
            &[
                "run",
                &fixture("attacks"),
                "who-am-i",
                "--role-arn",
                &role,
                "--actor",
                "human",
                "--operator",
                "someone-else",
            ],
        )
        .envs(person)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let started = aws.audit().lines().next().unwrap_or_default().to_owned();
    assert!(
        started.contains(&format!(
            r#""verified_human":"arn:aws:iam::000000000000:user/{carol}""#
        )),
        "{started}"
    );
}
