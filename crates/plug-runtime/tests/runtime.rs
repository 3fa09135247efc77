//! `Runtime` performs real runs (real policy files, the real audit log and
//! journal, the real approval mailbox) with plug-skill's in-memory ports in
//! place of AWS, MCP servers, hooks and commands.

// plug-skill's in-memory ports, shared rather than written twice.
#[path = "../../plug-skill/tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use plug_core::ports::{ApprovalAnswer, AwsError, TelemetrySink};
use plug_core::{Actor, RunId, Value};
use plug_runtime::approval::{AnswerFile, Mailbox, MailboxApprover};
use plug_runtime::config_file::TelemetrySettings;
use plug_runtime::prepare::PrepareError;
use plug_runtime::{
    ParamValue, Prepared, RunHost, RunInput, RunSettings, Runtime, RuntimeError, StateDir, World,
    WorldPorts,
};
use plug_skill::RunOutcome;
use support::{FakeAws, FakeCommands, FakeHooks, FakeSessions, FakeTools, NoPrompter};

/// The in-memory outside world, kept so a test can look at what it saw.
#[derive(Default)]
struct Memory {
    aws: Arc<FakeAws>,
    commands: Arc<FakeCommands>,
}

impl World for Memory {
    fn ports(
        &self,
        _prepared: &Prepared,
        _identity: plug_aws::IdentityConfig,
        _telemetry: Arc<dyn TelemetrySink>,
    ) -> Result<WorldPorts, RuntimeError> {
        Ok(WorldPorts {
            aws: Arc::new(FakeSessions(self.aws.clone())),
            tools: Arc::new(FakeTools::default()),
            hooks: Arc::new(FakeHooks::default()),
            commands: self.commands.clone(),
            servers: None,
        })
    }
}

/// A plugin in a temporary folder: one skill that deletes a function, one
/// that runs two AWS calls.
struct Fixture {
    dir: tempfile::TempDir,
    state: tempfile::TempDir,
    memory: Arc<Memory>,
}

const MANIFEST: &str = "plugin:
  name: runtime-tests
  version: 1.0.0
  skills:
    - name: delete-function
      path: ./skills/delete-function.yaml
      required_permissions: [lambda:DeleteFunction]
    - name: two-calls
      path: ./skills/two-calls.yaml
    - name: create-function
      path: ./skills/create-function.yaml
      required_permissions: [lambda:CreateFunction]
";

const CREATE: &str = "skill:
  name: create-function
  description: Creates a function that runs as a role
  steps:
    - name: create
      action: aws_api
      service: lambda
      method: create_function
      params:
        FunctionName: f
        Role: arn:aws:iam::111122223333:role/runner
        Code: {ZipFile: abc}
";

const DELETE: &str = "skill:
  name: delete-function
  description: Deletes a function
  params:
    function_name:
      type: string
      required: true
  steps:
    - name: delete
      action: aws_api
      service: lambda
      method: delete_function
      params:
        FunctionName: <function_name>
";

const TWO_CALLS: &str = "skill:
  name: two-calls
  description: Reads twice
  params:
    retries:
      type: integer
      default: 1
  steps:
    - name: first
      action: aws_api
      service: lambda
      method: list_functions
      params: {}
    - name: second
      action: aws_api
      service: lambda
      method: get_account_settings
      params: {}
";

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("skills")).expect("mkdir");
        for (path, text) in [
            ("plugin.yaml", MANIFEST),
            ("skills/delete-function.yaml", DELETE),
            ("skills/two-calls.yaml", TWO_CALLS),
            ("skills/create-function.yaml", CREATE),
        ] {
            std::fs::write(dir.path().join(path), text).expect("write");
        }
        Fixture {
            dir,
            state: tempfile::tempdir().expect("tempdir"),
            memory: Arc::new(Memory::default()),
        }
    }

    fn settings(&self, policies: Vec<PathBuf>) -> RunSettings {
        RunSettings {
            // The in-memory world has no role to assume: `identity: base`.
            identity: plug_runtime::IdentitySettings {
                operator: "alice".into(),
                base_allowed: true,
                ..Default::default()
            },
            policies,
            set: Vec::new(),
            telemetry: TelemetrySettings {
                cloudwatch: false,
                ..TelemetrySettings::default()
            },
            state: StateDir::new(self.state.path()),
            workdir: self.dir.path().to_path_buf(),
            approval_timeout: Duration::from_secs(10),
            governance: Default::default(),
        }
    }

    fn runtime(&self, policies: Vec<PathBuf>) -> Runtime {
        let (runtime, warnings) = Runtime::new(self.settings(policies)).expect("runtime");
        // The seed's policy is a bare statement, which AWS reads and we warn about.
        assert!(warnings.len() <= 1, "{warnings:?}");
        runtime.with_world(self.memory.clone())
    }

    /// No permission source, run with `--unchecked`.
    fn unchecked_runtime(&self) -> Runtime {
        let mut settings = self.settings(Vec::new());
        settings.governance.unchecked = true;
        let (runtime, _) = Runtime::new(settings).expect("runtime");
        runtime.with_world(self.memory.clone())
    }

    fn input(&self, skill: &str, params: &[(&str, ParamValue)]) -> RunInput {
        RunInput {
            plugin: self.dir.path().to_path_buf(),
            skill: skill.to_owned(),
            params: params
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
            actor: Actor::Agent,
            workdir: None,
            set: Vec::new(),
        }
    }

    fn audit_events(&self) -> Vec<String> {
        let text =
            std::fs::read_to_string(self.state.path().join("audit.jsonl")).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["event"].as_str().map(str::to_owned))
            .collect()
    }
}

fn host(approver: Arc<dyn plug_core::ports::Approver>) -> RunHost {
    let (_stop, interrupt) = tokio::sync::watch::channel(false);
    RunHost {
        approver,
        prompter: Arc::new(NoPrompter(None)),
        observe: Box::new(|audit| audit),
        interrupt,
    }
}

fn nobody() -> Arc<dyn plug_core::ports::Approver> {
    Arc::new(support::FixedApprover(
        ApprovalAnswer::Unanswered,
        std::sync::Mutex::new(Vec::new()),
    ))
}

fn seed_policy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../plugins/aws-deployment-assistant/policies/policy-delete-human-only.json")
}

fn text(value: &str) -> ParamValue {
    ParamValue::Text(value.to_owned())
}

async fn perform(
    runtime: &Runtime,
    input: RunInput,
    approver: Arc<dyn plug_core::ports::Approver>,
) -> plug_skill::RunReport {
    let run_id = plug_runtime::new_run_id().expect("run id");
    let prepared = runtime.prepare(input, run_id.clone()).expect("prepares");
    let mut journal = runtime.create_journal(&run_id).expect("journal");
    runtime
        .perform(prepared, &mut journal, None, host(approver))
        .await
        .expect("the run starts")
}

#[tokio::test]
async fn the_gate_refuses_before_any_call_and_the_audit_log_says_so() {
    let fixture = Fixture::new();
    let runtime = fixture.runtime(vec![seed_policy()]);
    let input = fixture.input("delete-function", &[("function_name", text("f"))]);
    let report = perform(&runtime, input, nobody()).await;
    assert!(
        matches!(report.outcome, RunOutcome::ApprovalRefused { .. }),
        "an agent may not delete: {:?}",
        report.outcome
    );
    assert!(
        fixture.memory.aws.operations().is_empty(),
        "nothing was called"
    );
    let events = fixture.audit_events();
    for wanted in [
        "run_started",
        "permission_checked",
        "approval_requested",
        "run_finished",
    ] {
        assert!(events.iter().any(|e| e == wanted), "{wanted} in {events:?}");
    }
}

#[tokio::test]
async fn without_a_permission_source_an_agent_run_is_refused_before_anything() {
    let fixture = Fixture::new();
    let runtime = fixture.runtime(Vec::new());
    assert!(runtime.checker().await.expect("no fetch").is_none());
    let input = fixture.input("delete-function", &[("function_name", text("f"))]);
    let run_id = plug_runtime::new_run_id().expect("run id");
    let prepared = runtime.prepare(input, run_id.clone()).expect("prepares");
    assert!(matches!(
        prepared.admission,
        Err(plug_runtime::governance::Refusal::NoPermissionSource { .. })
    ));
    let mut journal = runtime.create_journal(&run_id).expect("journal");
    let refused = runtime
        .perform(prepared, &mut journal, None, host(nobody()))
        .await;
    assert!(
        matches!(refused, Err(plug_runtime::RuntimeError::Refused(_))),
        "perform enforces it whatever the front end did"
    );
    assert!(fixture.memory.aws.operations().is_empty());
}

#[tokio::test]
async fn unchecked_runs_without_a_gate_and_says_so_in_the_audit_log() {
    let fixture = Fixture::new();
    let runtime = fixture.unchecked_runtime();
    let input = fixture.input("delete-function", &[("function_name", text("f"))]);
    let report = perform(&runtime, input, nobody()).await;
    assert_eq!(report.outcome, RunOutcome::Succeeded);
    assert_eq!(fixture.memory.aws.operations(), ["delete_function"]);
    let audit = std::fs::read_to_string(fixture.state.path().join("audit.jsonl")).expect("audit");
    let started = audit.lines().next().expect("run_started");
    assert!(
        started.contains(r#""governance":{"unchecked":true,"base_identity":true}"#),
        "{started}"
    );
}

#[tokio::test]
async fn an_answer_in_the_mailbox_lets_the_run_go_on_as_the_approver() {
    let fixture = Fixture::new();
    let runtime = fixture.runtime(vec![seed_policy()]);
    let mailbox = Mailbox::new(fixture.state.path().join("approvals"));
    let approver = Arc::new(MailboxApprover {
        mailbox: mailbox.clone(),
        timeout: Duration::from_secs(20),
    });
    let run_id = plug_runtime::new_run_id().expect("run id");
    let answering = {
        let id = run_id.as_str().to_owned();
        tokio::spawn(async move {
            let answer = AnswerFile {
                approver: "bob".into(),
                approve: true,
                reason: None,
                verified_arn: None,
                nonce: None,
            };
            // The run leaves its request first; answering before is refused.
            while mailbox.answer(&id, &answer).is_err() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let input = fixture.input("delete-function", &[("function_name", text("f"))]);
    let prepared = runtime.prepare(input, run_id.clone()).expect("prepares");
    let mut journal = runtime.create_journal(&run_id).expect("journal");
    let report = runtime
        .perform(prepared, &mut journal, None, host(approver))
        .await
        .expect("starts");
    answering.await.expect("answered");
    assert_eq!(report.outcome, RunOutcome::Succeeded);
    let calls = fixture.memory.aws.calls.lock().expect("lock").clone();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].0,
        Actor::Human,
        "the approved call acts as a human"
    );
    assert_eq!(calls[0].1, "bob", "and as the approver");
}

#[tokio::test]
async fn a_failed_run_resumes_after_its_last_completed_step() {
    let fixture = Fixture::new();
    let runtime = fixture.unchecked_runtime();
    let denied = AwsError::Service {
        code: "AccessDeniedException".into(),
        message: "no".into(),
        status: 403,
        request_id: None,
    };
    fixture
        .memory
        .aws
        .answer("get_account_settings", Err(denied));
    let run_id = plug_runtime::new_run_id().expect("run id");
    let input = fixture.input("two-calls", &[("retries", text("2"))]);
    let prepared = runtime.prepare(input, run_id.clone()).expect("prepares");
    let mut journal = runtime.create_journal(&run_id).expect("journal");
    let report = runtime
        .perform(prepared, &mut journal, None, host(nobody()))
        .await
        .expect("starts");
    assert!(
        matches!(report.outcome, RunOutcome::StepFailed { .. }),
        "{:?}",
        report.outcome
    );
    drop(journal);

    let found = runtime.reopen(&run_id, BTreeMap::new()).expect("reopens");
    assert!(!found.succeeded);
    assert_eq!(
        found.input.params.get("retries"),
        Some(&ParamValue::Typed(Value::from(serde_json::json!(2)))),
        "params come back from the journal typed"
    );
    let prepared = runtime
        .prepare(found.input, run_id.clone())
        .expect("prepares again");
    let mut journal = found.journal;
    let report = runtime
        .perform(prepared, &mut journal, Some(found.resume), host(nobody()))
        .await
        .expect("starts");
    assert_eq!(report.outcome, RunOutcome::Succeeded);
    assert_eq!(
        fixture.memory.aws.operations(),
        [
            "list_functions",
            "get_account_settings",
            "get_account_settings"
        ],
        "the completed first step is not run again"
    );
    assert!(
        runtime.reopen(&run_id, BTreeMap::new()).is_err(),
        "one driver at a time: the open journal holds the run"
    );
    drop(journal);
    let reopened = runtime.reopen(&run_id, BTreeMap::new()).expect("reopens");
    assert!(reopened.succeeded);
}

#[test]
fn typed_params_must_have_their_declared_type() {
    let fixture = Fixture::new();
    let runtime = fixture.runtime(Vec::new());
    let id = || RunId::new("plan").expect("id");
    let json = |v: serde_json::Value| ParamValue::Typed(Value::from(v));
    let as_text = fixture.input("two-calls", &[("retries", text("3"))]);
    let prepared = runtime
        .prepare(as_text, id())
        .expect("text is read as JSON");
    assert_eq!(
        prepared.request.params["retries"],
        Value::from(serde_json::json!(3))
    );
    // A JSON string is not an integer, even when it reads as one.
    let as_string = fixture.input("two-calls", &[("retries", json(serde_json::json!("3")))]);
    let refused = runtime.prepare(as_string, id()).err();
    assert!(
        matches!(refused, Some(PrepareError::BadParam { .. })),
        "{refused:?}"
    );
    // A string param given an object keeps no text form of it.
    let object = fixture.input(
        "delete-function",
        &[("function_name", json(serde_json::json!({"a": 1})))],
    );
    let refused = runtime.prepare(object, id()).err();
    assert!(
        matches!(refused, Some(PrepareError::BadParam { .. })),
        "{refused:?}"
    );
    let missing = fixture.input("delete-function", &[]);
    let refused = runtime.prepare(missing, id()).err().map(|e| e.to_string());
    assert_eq!(
        refused.as_deref(),
        Some("skill delete-function needs: --param function_name=...")
    );
}

/// A call that hands a role to a service needs `iam:PassRole`, declared or
/// not: a policy that allows only the declared action stops the run.
#[tokio::test]
async fn passing_a_role_needs_pass_role_at_the_gate() {
    let fixture = Fixture::new();
    let policy = fixture.dir.path().join("create-only.json");
    let allow = r#"{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "lambda:CreateFunction", "Resource": "*"}]}"#;
    std::fs::write(&policy, allow).expect("policy");
    let runtime = fixture.runtime(vec![policy]);
    let input = fixture.input("create-function", &[]);
    let prepared = runtime
        .prepare(input.clone(), RunId::new("plan").expect("id"))
        .expect("prepares");
    assert_eq!(
        prepared.request.actions,
        ["lambda:CreateFunction", "iam:PassRole"]
    );
    let report = perform(&runtime, input, nobody()).await;
    match &report.outcome {
        RunOutcome::Denied { action, .. } => assert_eq!(action, "iam:PassRole"),
        other => panic!("expected a denial, got {other:?}"),
    }
    assert!(fixture.memory.aws.operations().is_empty());
}
