//! The step engine.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use plug_core::event::{EventKind, RunEvent};
use plug_core::ports::{
    AwsInvoker, AwsSessions, CommandRunner, DecidingStatement, Decision, HookHost,
    PermissionChecker, Prompter, TelemetrySink, ToolCaller,
};
use plug_core::{Actor, RunId, TraceContext, Value};
use plug_manifest::native::model::Skill;
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, watch};

use crate::journal::{Entry, Resume, RunLog, to_tagged};
use crate::template::Scope;

/// The ports a run uses.
#[derive(Clone)]
pub struct Ports {
    /// AWS sessions per actor.
    pub aws: Arc<dyn AwsSessions>,
    /// MCP tools.
    pub tools: Arc<dyn ToolCaller>,
    /// Lifecycle hooks.
    pub hooks: Arc<dyn HookHost>,
    /// Telemetry.
    pub telemetry: Arc<dyn TelemetrySink>,
    /// Commands.
    pub commands: Arc<dyn CommandRunner>,
    /// Human approvals.
    pub approver: Arc<dyn plug_core::ports::Approver>,
    /// Operator input for `prompt` steps.
    pub prompter: Arc<dyn Prompter>,
    /// The permission gate; `None` skips it (no policies configured).
    pub permissions: Option<Arc<dyn PermissionChecker>>,
}

/// One run to perform.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// The run.
    pub run_id: RunId,
    /// Plugin name.
    pub plugin: String,
    /// Plugin version.
    pub plugin_version: String,
    /// The skill.
    pub skill: Skill,
    /// Params, defaults applied (see [`RunRequest::apply_defaults`]).
    pub params: BTreeMap<String, Value>,
    /// Params whose values must never leave the run.
    pub sensitive: BTreeSet<String>,
    /// Operator configuration values.
    pub config: BTreeMap<String, String>,
    /// Who the run starts acting for.
    pub actor: Actor,
    /// The operator (session `SourceIdentity` of agent runs).
    pub operator: String,
    /// The principal ARN the permission gate asks about.
    pub principal: String,
    /// Every IAM action the skill needs, checked before step 1.
    pub actions: Vec<String>,
    /// The working directory for commands and `read_file`.
    pub workdir: PathBuf,
    /// Where the plugin was loaded from (journaled so `resume` can reload it).
    pub plugin_root: PathBuf,
    /// Builtins the caller knows (`region`, `account_id`); the engine adds
    /// `run_id`, `actor`, `plugin`, `skill`, `timestamp` and `date`.
    pub builtins: BTreeMap<String, Value>,
    /// What of deny-by-default the run waived; journaled and in the audit log.
    pub governance: plug_core::Governance,
    /// The calls (`service`, `operation` as the skill writes them) whose IAM
    /// actions the skill does not declare: counted as unexpected API calls.
    pub undeclared_calls: BTreeSet<(String, String)>,
}

impl RunRequest {
    /// Adds declared defaults for params not given.
    pub fn apply_defaults(&mut self) {
        for param in &self.skill.params {
            if let Some(default) = &param.default {
                self.params
                    .entry(param.name.clone())
                    .or_insert_with(|| Value::from(default.clone()));
            }
            if param.sensitive {
                self.sensitive.insert(param.name.clone());
            }
        }
    }
}

/// Knobs with defaults that tests shorten.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Timeout of a step that sets none.
    pub default_step_timeout: Duration,
    /// Timeout of the whole skill.
    pub skill_timeout: Duration,
    /// First retry delay; doubles per attempt.
    pub retry_base_delay: Duration,
    /// Delay between `wait_for` polls when the step sets none.
    pub wait_interval: Duration,
    /// Output kept per command stream.
    pub max_output: usize,
    /// The environment every command gets (an allow-list of the runtime's own).
    pub command_env: BTreeMap<String, String>,
    /// Environment variables `<env:NAME>` may read.
    pub env_allow: Vec<String>,
    /// Flips to `true` on Ctrl-C: the run stops at the next step boundary.
    pub interrupt: Option<watch::Receiver<bool>>,
    /// Values nothing the run writes may show, besides its sensitive
    /// params': sensitive configuration values and the like. They are
    /// replaced in step results, errors and hook reasons before the journal
    /// or the report gets them.
    pub secrets: Vec<String>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            default_step_timeout: Duration::from_secs(600),
            skill_timeout: Duration::from_secs(3600),
            retry_base_delay: Duration::from_secs(1),
            wait_interval: Duration::from_secs(5),
            max_output: 1 << 20,
            command_env: BTreeMap::new(),
            env_allow: Vec::new(),
            interrupt: None,
            secrets: Vec::new(),
        }
    }
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepOutcome {
    /// The action succeeded.
    Succeeded,
    /// The action failed and its fallback succeeded.
    FellBack,
    /// The action failed (the run went on only with `on_failure: continue`).
    Failed,
    /// `when` was false.
    Skipped,
}

/// A step's line in the run report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepReport {
    /// Name.
    pub name: String,
    /// Action.
    pub action: &'static str,
    /// How it ended.
    pub outcome: StepOutcome,
    /// Attempts made (0 when skipped or restored from the journal).
    pub attempts: u32,
    /// The error, when it failed.
    pub error: Option<String>,
    /// Wall time.
    pub duration_ms: u64,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RunOutcome {
    /// Every step succeeded, fell back, was skipped or was allowed to fail.
    Succeeded,
    /// A step failed and aborted the run.
    StepFailed {
        /// The step.
        step: String,
        /// Why.
        error: String,
    },
    /// The permission gate denied an action for every actor.
    Denied {
        /// The action.
        action: String,
        /// The decision.
        decision: Decision,
        /// The statements that decided.
        statements: Vec<DecidingStatement>,
    },
    /// A human refused (or nobody answered).
    ApprovalRefused {
        /// The step, or `None` for the permission gate.
        step: Option<String>,
        /// Why.
        reason: String,
    },
    /// A hook blocked the run.
    Blocked {
        /// The hooks' reasons.
        reasons: Vec<String>,
    },
    /// Ctrl-C, or the skill timeout.
    Interrupted {
        /// Why.
        reason: String,
    },
    /// The journal could not be written (a full disk, say): the run stops
    /// rather than go on without a record it could be resumed from.
    JournalFailed {
        /// The I/O error.
        error: String,
    },
}

impl RunOutcome {
    /// The state written to the journal.
    pub fn state(&self) -> &'static str {
        match self {
            RunOutcome::Succeeded => "succeeded",
            RunOutcome::StepFailed { .. } => "failed",
            RunOutcome::Denied { .. } => "denied",
            RunOutcome::ApprovalRefused { .. } => "approval_refused",
            RunOutcome::Blocked { .. } => "blocked",
            RunOutcome::Interrupted { .. } => "interrupted",
            RunOutcome::JournalFailed { .. } => "journal_failed",
        }
    }

    /// The outcome of a journal write that failed.
    pub fn journal_failed(error: crate::journal::JournalError) -> RunOutcome {
        RunOutcome::JournalFailed {
            error: error.to_string(),
        }
    }

    fn reason(&self) -> Option<String> {
        match self {
            RunOutcome::Succeeded => None,
            RunOutcome::StepFailed { step, error } => Some(format!("step {step}: {error}")),
            RunOutcome::Denied {
                action, decision, ..
            } => Some(format!("{action}: {decision:?}")),
            RunOutcome::ApprovalRefused { reason, .. } | RunOutcome::Interrupted { reason } => {
                Some(reason.clone())
            }
            RunOutcome::Blocked { reasons } => Some(reasons.join("; ")),
            RunOutcome::JournalFailed { error } => Some(error.clone()),
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunReport {
    /// The run.
    pub run_id: RunId,
    /// How it ended.
    #[serde(flatten)]
    pub outcome: RunOutcome,
    /// The actor at the end (human after an approval).
    pub actor: Actor,
    /// Each step that started or was restored.
    pub steps: Vec<StepReport>,
    /// Messages from hooks (`systemMessage`, warnings).
    pub messages: Vec<String>,
}

/// A failed step attempt.
#[derive(Debug, Clone, PartialEq)]
enum StepError {
    /// The action failed; retrying may help.
    Failed(String),
    /// A human said no: never retried.
    Refused(String),
}

/// Runs skills through its ports.
pub struct Interpreter {
    ports: Ports,
    options: RunOptions,
}

/// The mutable state of one run.
struct RunState {
    scope: Scope,
    actor: Actor,
    source_identity: String,
    invoker: Mutex<Option<Arc<dyn AwsInvoker>>>,
    steps: Vec<StepReport>,
    messages: Vec<String>,
    /// The span hooks and MCP calls are told is their parent: the open
    /// step's, else the run's. Derived like `plug-telemetry` derives the
    /// spans from the events, so the two agree.
    trace: TraceContext,
    /// What the run must never write.
    redaction: Redaction,
}

/// Ends the run with `outcome` (a macro so it can `return` from `run`).
macro_rules! finish {
    ($self:ident, $req:ident, $journal:ident, $state:ident, $started:ident, $outcome:expr) => {
        return $self
            .finish($req, $journal, $state, $started, $outcome)
            .await
    };
}

impl Interpreter {
    /// An interpreter over `ports`.
    pub fn new(ports: Ports, options: RunOptions) -> Self {
        Interpreter { ports, options }
    }

    /// Runs (or, with `resume`, continues) a skill, journaling every transition.
    pub async fn run(
        &self,
        req: &RunRequest,
        journal: &mut dyn RunLog,
        resume: Option<Resume>,
    ) -> RunReport {
        let started = Instant::now();
        let resume = resume.unwrap_or_default();
        let mut state = self.initial_state(req, &resume);
        if resume.completed.is_empty() && resume.approved_by.is_none() {
            // A run that cannot record its start never starts.
            if let Err(e) = journal.append(&started_entry(req)).await {
                return RunReport {
                    run_id: req.run_id.clone(),
                    outcome: RunOutcome::journal_failed(e),
                    actor: state.actor,
                    steps: Vec::new(),
                    messages: Vec::new(),
                };
            }
        }
        let at_ms = self.record(
            req,
            EventKind::RunStarted {
                plugin: req.plugin.clone(),
                version: req.plugin_version.clone(),
                skill: req.skill.name.value.clone(),
                actor: state.actor,
                governance: req.governance.clone(),
            },
        );
        state.trace = TraceContext::run(&req.run_id, at_ms);
        if let Err(outcome) = self.gate(req, journal, &mut state).await {
            finish!(self, req, journal, state, started, outcome);
        }
        for event in ["pre_skill".to_owned(), format!("pre_{}", req.skill.kind)] {
            if let Err(outcome) = self.hook(req, &mut state, &event, None).await {
                finish!(self, req, journal, state, started, outcome);
            }
        }
        // The skill's own `timeout:` bounds the whole run; else the runtime's.
        let deadline = started + req.skill.timeout.unwrap_or(self.options.skill_timeout);
        for (index, step) in req.skill.steps.iter().enumerate() {
            if let Some((outcome, result)) = resume.completed.get(&index) {
                state.steps.push(StepReport {
                    name: step.name.clone(),
                    action: step.action.name(),
                    outcome: *outcome,
                    attempts: 0,
                    error: None,
                    duration_ms: 0,
                });
                state.scope.steps.push(result.clone());
                continue;
            }
            if let Err(outcome) = self
                .step(req, journal, &mut state, index, step, deadline)
                .await
            {
                let _ = self.hook(req, &mut state, "on_failure", Some(step)).await;
                finish!(self, req, journal, state, started, outcome);
            }
        }
        for event in [format!("post_{}", req.skill.kind), "post_skill".to_owned()] {
            if let Err(outcome) = self.hook(req, &mut state, &event, None).await {
                finish!(self, req, journal, state, started, outcome);
            }
        }
        self.finish(req, journal, state, started, RunOutcome::Succeeded)
            .await
    }

    fn initial_state(&self, req: &RunRequest, resume: &Resume) -> RunState {
        let (actor, source_identity) = match &resume.approved_by {
            Some(approver) => (Actor::Human, approver.clone()),
            None => (req.actor, req.operator.clone()),
        };
        let mut builtins = req.builtins.clone();
        let now = std::time::SystemTime::now();
        let timestamp = humantime::format_rfc3339_seconds(now).to_string();
        builtins.insert(
            "date".to_owned(),
            Value::String(timestamp.get(..10).unwrap_or_default().to_owned()),
        );
        builtins.insert("timestamp".to_owned(), Value::String(timestamp));
        builtins.insert("run_id".to_owned(), Value::String(req.run_id.to_string()));
        builtins.insert("actor".to_owned(), Value::String(actor.to_string()));
        builtins.insert("plugin".to_owned(), Value::String(req.plugin.clone()));
        builtins.insert(
            "skill".to_owned(),
            Value::String(req.skill.name.value.clone()),
        );
        let scope = Scope {
            params: req.params.clone(),
            config: req.config.clone(),
            builtins,
            steps: Vec::new(),
            workdir: req.workdir.clone(),
            env_allow: self.options.env_allow.clone(),
        };
        RunState {
            scope,
            actor,
            source_identity,
            invoker: Mutex::new(None),
            steps: Vec::new(),
            messages: Vec::new(),
            // Replaced once the run's start is recorded.
            trace: TraceContext::run(&req.run_id, 0),
            redaction: Redaction::of(req, &self.options),
        }
    }

    async fn finish(
        &self,
        req: &RunRequest,
        journal: &mut dyn RunLog,
        state: RunState,
        started: Instant,
        outcome: RunOutcome,
    ) -> RunReport {
        let finished = journal
            .append(&Entry::Finished {
                state: outcome.state().to_owned(),
                reason: outcome.reason().map(|r| state.redaction.text(r)),
            })
            .await;
        // A run whose end is not journaled does not claim to have ended well.
        let outcome = match (finished, outcome) {
            (Err(e), outcome) if !matches!(outcome, RunOutcome::JournalFailed { .. }) => {
                RunOutcome::journal_failed(e)
            }
            (_, outcome) => outcome,
        };
        self.record(
            req,
            EventKind::RunFinished {
                outcome: outcome.state().to_owned(),
                duration_ms: millis(started.elapsed()),
            },
        );
        self.ports.telemetry.flush().await;
        RunReport {
            run_id: req.run_id.clone(),
            outcome,
            actor: state.actor,
            steps: state.steps,
            messages: state.messages,
        }
    }

    /// Records an event; its timestamp, which names the span it opens.
    fn record(&self, req: &RunRequest, kind: EventKind) -> u64 {
        let event = RunEvent::now(req.run_id.clone(), kind);
        let at_ms = event.at_ms;
        self.ports.telemetry.record(event);
        at_ms
    }

    fn interrupted(&self) -> bool {
        self.options
            .interrupt
            .as_ref()
            .is_some_and(|rx| *rx.borrow())
    }
}

mod gate;
mod step;

fn started_entry(req: &RunRequest) -> Entry {
    Entry::Started {
        run_id: req.run_id.clone(),
        plugin_root: req.plugin_root.clone(),
        plugin: req.plugin.clone(),
        skill: req.skill.name.value.clone(),
        actor: req.actor,
        params: req
            .params
            .iter()
            .filter(|(k, _)| !req.sensitive.contains(*k))
            .map(|(k, v)| (k.clone(), to_tagged(v)))
            .collect(),
        sensitive: req.sensitive.iter().cloned().collect(),
        config: req.config.clone(),
        workdir: req.workdir.clone(),
        governance: req.governance.clone(),
        at_ms: plug_core::event::now_ms(),
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Shorter values are not replaced: a one- or two-character value would
/// garble every text that holds it, and hides nothing worth hiding.
const MIN_SECRET: usize = 3;

/// What a run must never write: the values of its sensitive params and
/// [`RunOptions::secrets`], longest first so that no secret is left half
/// shown by a shorter one it contains.
pub(crate) struct Redaction(Vec<String>);

impl Redaction {
    pub(crate) fn of(req: &RunRequest, options: &RunOptions) -> Redaction {
        let params = (req.sensitive.iter()).filter_map(|name| req.params.get(name)?.as_str());
        let mut values: Vec<String> = params
            .map(str::to_owned)
            .chain(options.secrets.iter().cloned())
            .filter(|value| value.len() >= MIN_SECRET)
            .collect();
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        values.dedup();
        Redaction(values)
    }

    /// Adds a secret learnt during the run (a sensitive prompt's answer).
    pub(crate) fn add(&mut self, value: String) {
        if value.len() >= MIN_SECRET && !self.0.contains(&value) {
            self.0.push(value);
            self.0.sort_by_key(|v| std::cmp::Reverse(v.len()));
        }
    }

    /// `text` with every secret replaced: error messages quote argv and
    /// stderr, hooks give reasons, and all of it reaches the journal, the
    /// report and the terminal.
    pub(crate) fn text(&self, text: String) -> String {
        self.0
            .iter()
            .fold(text, |text, value| match text.contains(value.as_str()) {
                true => text.replace(value.as_str(), "[redacted]"),
                false => text,
            })
    }

    /// `value` with every string in it redacted, as the journal stores it.
    pub(crate) fn json(&self, value: serde_json::Value) -> serde_json::Value {
        use serde_json::Value as Json;
        if self.0.is_empty() {
            return value;
        }
        match value {
            Json::String(s) => Json::String(self.text(s)),
            Json::Array(items) => Json::Array(items.into_iter().map(|v| self.json(v)).collect()),
            Json::Object(map) => {
                Json::Object(map.into_iter().map(|(k, v)| (k, self.json(v))).collect())
            }
            other => other,
        }
    }
}

fn redacted_params(req: &RunRequest) -> serde_json::Value {
    serde_json::Value::Object(
        req.params
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    if req.sensitive.contains(k) {
                        serde_json::Value::String("[redacted]".into())
                    } else {
                        v.to_json()
                    },
                )
            })
            .collect(),
    )
}
