//! In-memory ports for interpreter tests: scripted, and recording what they saw.
#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use plug_core::event::{EventKind, RunEvent};
use plug_core::ports::*;
use plug_core::{Actor, RunId, TraceContext, Value};
use plug_manifest::load::load_skill_text;
use plug_manifest::native::model::Skill;
use plug_skill::{Interpreter, Journal, Ports, RunOptions, RunReport, RunRequest};

/// Scripted AWS: answers per operation are queued; calls are recorded with their actor.
#[derive(Default)]
pub struct FakeAws {
    pub answers: Mutex<BTreeMap<String, VecDeque<Result<Value, AwsError>>>>,
    pub calls: Mutex<Vec<(Actor, String, AwsCall)>>,
}

impl FakeAws {
    pub fn answer(&self, operation: &str, answer: Result<serde_json::Value, AwsError>) {
        self.answers
            .lock()
            .expect("lock")
            .entry(operation.to_owned())
            .or_default()
            .push_back(answer.map(Value::from));
    }

    pub fn operations(&self) -> Vec<String> {
        self.calls
            .lock()
            .expect("lock")
            .iter()
            .map(|(_, _, c)| c.operation.clone())
            .collect()
    }
}

pub fn not_found() -> AwsError {
    AwsError::Service {
        code: "ResourceNotFoundException".into(),
        message: "Function not found".into(),
        status: 404,
        request_id: Some("r-1".into()),
    }
}

struct BoundAws {
    fake: Arc<FakeAws>,
    actor: Actor,
    source: String,
}

#[async_trait]
impl AwsInvoker for BoundAws {
    async fn call(&self, call: &AwsCall) -> Result<AwsResponse, AwsError> {
        self.fake
            .calls
            .lock()
            .expect("lock")
            .push((self.actor, self.source.clone(), call.clone()));
        let next = self
            .fake
            .answers
            .lock()
            .expect("lock")
            .get_mut(&call.operation)
            .and_then(VecDeque::pop_front);
        match next {
            Some(Ok(output)) => Ok(AwsResponse {
                output,
                request_id: Some("req-1".into()),
                status: 200,
            }),
            Some(Err(e)) => Err(e),
            None => Ok(AwsResponse {
                output: Value::Map(BTreeMap::new()),
                request_id: None,
                status: 200,
            }),
        }
    }
}

/// Hands out invokers bound to an actor, all backed by one `FakeAws`.
pub struct FakeSessions(pub Arc<FakeAws>);

#[async_trait]
impl AwsSessions for FakeSessions {
    async fn invoker(
        &self,
        actor: Actor,
        source_identity: &str,
    ) -> Result<Arc<dyn AwsInvoker>, AwsError> {
        Ok(Arc::new(BoundAws {
            fake: self.0.clone(),
            actor,
            source: source_identity.to_owned(),
        }))
    }
}

/// Records hook events; blocks the ones listed.
#[derive(Default)]
pub struct FakeHooks {
    pub seen: Mutex<Vec<(String, Option<String>)>>,
    /// The trace context each dispatch carried, in order.
    pub traces: Mutex<Vec<Option<TraceContext>>>,
    pub block: Vec<String>,
}

#[async_trait]
impl HookHost for FakeHooks {
    async fn dispatch(&self, input: &HookInput) -> Result<HookDecision, HookError> {
        self.seen
            .lock()
            .expect("lock")
            .push((input.event.clone(), input.step.clone()));
        self.traces.lock().expect("lock").push(input.trace);
        if self.block.contains(&input.event) {
            return Ok(HookDecision::Block {
                reasons: vec![format!("{} says no", input.event)],
            });
        }
        Ok(HookDecision::Continue {
            updated_input: None,
            messages: Vec::new(),
        })
    }
}

#[derive(Default)]
pub struct MemTelemetry(pub Mutex<Vec<RunEvent>>);

#[async_trait]
impl TelemetrySink for MemTelemetry {
    fn record(&self, event: RunEvent) {
        self.0.lock().expect("lock").push(event);
    }
    async fn flush(&self) {}
}

impl MemTelemetry {
    pub fn kinds(&self) -> Vec<String> {
        self.0
            .lock()
            .expect("lock")
            .iter()
            .map(|e| {
                serde_json::to_value(&e.kind).expect("json")["event"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    }
}

/// Records commands and answers them with a scripted exit code (0 by default).
#[derive(Default)]
pub struct FakeCommands {
    pub argv: Mutex<Vec<Vec<String>>>,
    pub exit_codes: Mutex<VecDeque<i32>>,
}

#[async_trait]
impl CommandRunner for FakeCommands {
    async fn run(&self, spec: &CommandSpec) -> Result<CommandOutput, CommandError> {
        self.argv.lock().expect("lock").push(spec.argv.clone());
        let code = self
            .exit_codes
            .lock()
            .expect("lock")
            .pop_front()
            .unwrap_or(0);
        Ok(CommandOutput {
            exit_code: Some(code),
            stdout: b"ok\n".to_vec(),
            stderr: b"boom\n".to_vec(),
            truncated: false,
            timed_out: false,
        })
    }
}

pub struct FixedApprover(pub ApprovalAnswer, pub Mutex<Vec<ApprovalRequest>>);

#[async_trait]
impl Approver for FixedApprover {
    async fn ask(&self, request: &ApprovalRequest) -> ApprovalAnswer {
        self.1.lock().expect("lock").push(request.clone());
        self.0.clone()
    }
}

/// Answers every prompt with its answer (none: nobody can be asked).
pub struct NoPrompter(pub Option<String>);

#[async_trait]
impl Prompter for NoPrompter {
    async fn prompt(&self, _message: &str, _sensitive: bool) -> Option<String> {
        self.0.clone()
    }
}

/// Answers the `price` tool; records every call.
#[derive(Default)]
pub struct FakeTools {
    pub calls: Mutex<Vec<ToolCall>>,
}

#[async_trait]
impl ToolCaller for FakeTools {
    async fn call_tool(&self, call: &ToolCall) -> Result<ToolResult, ToolError> {
        self.calls.lock().expect("lock").push(call.clone());
        if call.tool == "price" {
            return Ok(ToolResult {
                content: vec![],
                structured: Some(serde_json::json!({"usd": 1.5, "echo": call.arguments})),
                is_error: false,
                cached_age: None,
            });
        }
        Err(ToolError::UnknownServer(call.server.clone()))
    }
}

/// The seed's policy, as a fake checker: `human_only` actions need ActorType=human.
pub struct HumanOnly {
    pub human_only: Vec<String>,
    pub never: Vec<String>,
}

impl PermissionChecker for HumanOnly {
    fn check(&self, request: &PermissionRequest) -> Result<PermissionVerdict, PermissionError> {
        let human = request.context.get("aws:PrincipalTag/ActorType")
            == Some(&ContextValue::One("human".into()));
        let statement = |effect: &str| {
            vec![DecidingStatement {
                policy: "policy.json".into(),
                index: 0,
                sid: Some("HumanOnly".into()),
                effect: effect.into(),
            }]
        };
        let verdict = if self.never.contains(&request.action) {
            PermissionVerdict {
                decision: Decision::ExplicitDeny,
                blocked_by: vec![PolicyLayer::Identity],
                statements: statement("Deny"),
            }
        } else if self.human_only.contains(&request.action) && !human {
            PermissionVerdict {
                decision: Decision::ImplicitDeny,
                blocked_by: vec![PolicyLayer::Identity],
                statements: Vec::new(),
            }
        } else {
            PermissionVerdict {
                decision: Decision::Allow,
                blocked_by: Vec::new(),
                statements: statement("Allow"),
            }
        };
        Ok(verdict)
    }
}

pub struct World {
    pub aws: Arc<FakeAws>,
    pub hooks: Arc<FakeHooks>,
    pub tools: Arc<FakeTools>,
    pub telemetry: Arc<MemTelemetry>,
    pub commands: Arc<dyn CommandRunner>,
    pub fake_commands: Arc<FakeCommands>,
    pub approver: Arc<FixedApprover>,
    pub permissions: Option<Arc<dyn PermissionChecker>>,
    pub state: tempfile::TempDir,
    pub workdir: tempfile::TempDir,
    pub options: RunOptions,
    /// What a `prompt` step is answered.
    pub answer: Option<String>,
}

impl World {
    pub fn new() -> Self {
        let fake_commands = Arc::new(FakeCommands::default());
        let options = RunOptions {
            retry_base_delay: std::time::Duration::from_millis(1),
            wait_interval: std::time::Duration::from_millis(1),
            ..RunOptions::default()
        };
        World {
            aws: Arc::new(FakeAws::default()),
            hooks: Arc::new(FakeHooks::default()),
            tools: Arc::new(FakeTools::default()),
            telemetry: Arc::new(MemTelemetry::default()),
            commands: fake_commands.clone(),
            fake_commands,
            approver: Arc::new(FixedApprover(
                ApprovalAnswer::Unanswered,
                Mutex::new(Vec::new()),
            )),
            permissions: None,
            state: tempfile::tempdir().expect("tempdir"),
            workdir: tempfile::tempdir().expect("tempdir"),
            options,
            answer: None,
        }
    }

    pub fn real_commands(mut self) -> Self {
        self.commands = Arc::new(plug_skill::command::ProcessRunner::default());
        self.options.command_env = [("PATH".to_owned(), std::env::var("PATH").unwrap_or_default())]
            .into_iter()
            .collect();
        self
    }

    pub fn ports(&self) -> Ports {
        Ports {
            aws: Arc::new(FakeSessions(self.aws.clone())),
            tools: self.tools.clone(),
            hooks: self.hooks.clone(),
            telemetry: self.telemetry.clone(),
            commands: self.commands.clone(),
            approver: self.approver.clone(),
            prompter: Arc::new(NoPrompter(self.answer.clone())),
            permissions: self.permissions.clone(),
        }
    }

    pub fn request(&self, skill: Skill, params: &[(&str, &str)]) -> RunRequest {
        let mut req = RunRequest {
            run_id: RunId::new(format!("t{}", std::process::id())).expect("id"),
            plugin: "test-plugin".into(),
            plugin_version: "1.0.0".into(),
            skill,
            params: params
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
                .collect(),
            sensitive: Default::default(),
            config: Default::default(),
            actor: Actor::Agent,
            operator: "operator@example.com".into(),
            principal: "arn:aws:sts::000000000000:assumed-role/agent/plugctl-t".into(),
            actions: Vec::new(),
            workdir: self.workdir.path().to_path_buf(),
            plugin_root: self.workdir.path().to_path_buf(),
            builtins: Default::default(),
            governance: Default::default(),
            undeclared_calls: Default::default(),
        };
        req.apply_defaults();
        req
    }

    pub async fn run(&self, req: &RunRequest) -> RunReport {
        let mut journal = Journal::create(self.state.path(), &req.run_id).expect("journal");
        Interpreter::new(self.ports(), self.options.clone())
            .run(req, &mut journal, None)
            .await
    }
}

pub fn skill(text: &str) -> Skill {
    let (loaded, findings) = load_skill_text(None, None, "skill.yaml".into(), text.to_owned());
    assert!(
        findings.is_empty(),
        "{:?}",
        findings
            .iter()
            .map(|f| f.to_record().to_string())
            .collect::<Vec<_>>()
    );
    loaded.skill.expect("skill decodes")
}

pub fn seed_skill() -> Skill {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../plugins/aws-deployment-assistant/skills/deploy-lambda.yaml");
    skill(&std::fs::read_to_string(path).expect("seed skill"))
}

pub fn event_names(world: &World) -> Vec<String> {
    world.telemetry.kinds()
}

pub fn kinds_contain(world: &World, kind: &str) -> bool {
    world.telemetry.0.lock().expect("lock").iter().any(|e| {
        matches!(
            (&e.kind, kind),
            (EventKind::ApprovalRequested { .. }, "approval_requested")
        )
    })
}
