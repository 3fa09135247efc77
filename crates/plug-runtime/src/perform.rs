//! [`Runtime`]: the one assembly of a governed run. It holds the resolved
//! settings and the permission checker, prepares and plans runs, and
//! performs them: telemetry started, the real ports built (AWS sessions
//! for the run's actor, MCP servers, hooks, commands) and the interpreter
//! driven. Front ends add only what differs between them ([`RunHost`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use plug_core::RunId;
use plug_core::ports::{
    Approver, AwsSessions, CommandRunner, HookHost, PermissionChecker, Prompter, TelemetrySink,
    ToolCaller,
};
use plug_skill::journal::{Entry, JournalError, Resume, from_tagged};
use plug_skill::{Interpreter, Journal, Ports, RunOptions, RunOutcome, RunReport};

use crate::governance::Refusal;
use crate::policies::{LoadedPolicies, PolicyError, PolicyFinding};
use crate::prepare::{ParamValue, PrepareError, Prepared, RunInput, prepare};
use crate::scratch::Scratch;
use crate::settings::RunSettings;
use crate::telemetry::{TelemetryError, start_for_run};
use plug_policy::PolicySet;

/// Wraps the audit log in whatever shows a run's progress (a terminal
/// display, MCP progress notifications).
pub type Observe = Box<dyn FnOnce(Arc<dyn TelemetrySink>) -> Arc<dyn TelemetrySink> + Send>;

/// What differs between the front ends that run skills (`plugctl run` and
/// `resume` on a terminal, `plugctl serve` for an MCP client): who answers
/// approvals and prompts, who watches the events, and what stops the run.
pub struct RunHost {
    /// Answers approval gates.
    pub approver: Arc<dyn Approver>,
    /// Answers `prompt` steps.
    pub prompter: Arc<dyn Prompter>,
    /// Sees every event on its way to the audit log.
    pub observe: Observe,
    /// Flips to `true` to stop the run at the next step boundary.
    pub interrupt: tokio::sync::watch::Receiver<bool>,
}

/// The ports that reach outside the process, built for one run.
pub struct WorldPorts {
    /// AWS sessions per actor.
    pub aws: Arc<dyn AwsSessions>,
    /// MCP tools.
    pub tools: Arc<dyn ToolCaller>,
    /// Lifecycle hooks.
    pub hooks: Arc<dyn HookHost>,
    /// Commands.
    pub commands: Arc<dyn CommandRunner>,
    /// The MCP servers to stop once the run ends.
    pub servers: Option<Arc<plug_mcp::Registry>>,
}

/// Builds a run's outside-world ports. [`RealWorld`] is the one every front
/// end uses; tests put in-memory ports in its place.
pub trait World: Send + Sync {
    /// The ports of `prepared`, acting as `identity`, with hook events to `telemetry`.
    fn ports(
        &self,
        prepared: &Prepared,
        identity: plug_aws::IdentityConfig,
        telemetry: Arc<dyn TelemetrySink>,
    ) -> Result<WorldPorts, RuntimeError>;
}

/// The real ports: STS sessions, the plugin's MCP servers, isolated hook
/// processes and commands.
pub struct RealWorld;

impl World for RealWorld {
    fn ports(
        &self,
        prepared: &Prepared,
        identity: plug_aws::IdentityConfig,
        telemetry: Arc<dyn TelemetrySink>,
    ) -> Result<WorldPorts, RuntimeError> {
        let Prepared {
            plugin, settings, ..
        } = prepared;
        // One session per actor per run: hooks and the MCP signer share the run's.
        let sessions = Arc::new(plug_aws::RunSessions::new(identity));
        let hooks = plug_hooks::ProcessHookHost::for_plugin(plugin, settings.host_config())
            .map_err(|e| RuntimeError::Hooks(settings.redact(&e.to_string())))?
            .with_telemetry(telemetry)
            .with_aws(sessions.clone());
        let signing = Arc::new(crate::mcp_signing::RunSigning(sessions.clone()));
        let servers = Arc::new(settings.registry(plugin).with_signing(signing));
        Ok(WorldPorts {
            aws: sessions,
            tools: servers.clone(),
            hooks: Arc::new(hooks),
            commands: Arc::new(plug_skill::command::ProcessRunner::default()),
            servers: Some(servers),
        })
    }
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The policies cannot be used.
    #[error(transparent)]
    Policies(#[from] PolicyError),
    /// The run cannot be prepared.
    #[error(transparent)]
    Prepare(#[from] PrepareError),
    /// The journal cannot be created or read.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The journal has no start entry to resume from.
    #[error("the run's journal has no start entry")]
    NoStart,
    /// Telemetry could not start.
    #[error(transparent)]
    Telemetry(#[from] TelemetryError),
    /// The hook host could not be set up (sensitive values redacted).
    #[error("{0}")]
    Hooks(String),
    /// The run's scratch folder could not be made.
    #[error("cannot prepare the run's scratch folder: {0}")]
    Scratch(std::io::Error),
    /// Deny by default: the run may not start (exit code 7).
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// A human run whose person AWS does not vouch for (exit code 7).
    #[error(transparent)]
    Human(#[from] crate::humans::HumanError),
}

/// A run found in its journal, ready to go on.
pub struct Resumption {
    /// The journal, open for appending.
    pub journal: Journal,
    /// What the run was started with.
    pub input: RunInput,
    /// The steps already done.
    pub resume: Resume,
    /// Whether it already succeeded (nothing to do).
    pub succeeded: bool,
    /// The step it stopped in (begun, never finished), which runs again.
    pub interrupted_in: Option<String>,
}

impl Resumption {
    /// What resuming means for this run, in a line.
    pub fn describe(&self, run_id: &RunId) -> String {
        let done = self.resume.completed.len();
        match &self.interrupted_in {
            Some(step) => format!(
                "resuming {run_id}: it was interrupted in step `{step}`, which runs again after {done} completed step(s)"
            ),
            None => format!("resuming {run_id} after {done} completed step(s)"),
        }
    }
}

/// The last step a journal shows begun and not finished.
fn step_in_flight(entries: &[Entry]) -> Option<String> {
    let (index, name) = entries.iter().rev().find_map(|e| match e {
        Entry::StepStarted { index, name, .. } => Some((*index, name.clone())),
        _ => None,
    })?;
    let finished = entries
        .iter()
        .any(|e| matches!(e, Entry::StepFinished { index: i, .. } if *i == index));
    (!finished).then_some(name)
}

/// The governed run, assembled once for every front end.
pub struct Runtime {
    settings: RunSettings,
    /// The policy files, read once.
    files: PolicySet,
    world: Arc<dyn World>,
}

impl Runtime {
    /// A runtime with `settings`; the policy files are read once, here.
    /// Returns their warnings with it.
    pub fn new(settings: RunSettings) -> Result<(Runtime, Vec<PolicyFinding>), RuntimeError> {
        let loaded = LoadedPolicies::from_files(&settings.policies, None)?;
        let runtime = Runtime {
            settings,
            files: loaded.set,
            world: Arc::new(RealWorld),
        };
        Ok((runtime, loaded.warnings))
    }

    /// The same runtime building its outside-world ports with `world`.
    pub fn with_world(mut self, world: Arc<dyn World>) -> Runtime {
        self.world = world;
        self
    }

    /// The resolved settings.
    pub fn settings(&self) -> &RunSettings {
        &self.settings
    }

    /// The permission source: the policy files plus, when a role is
    /// configured (and `role_policies` is not off), the role's identity
    /// policies and boundary fetched from IAM as the operator. Fetched for
    /// each run (a long-lived `serve` sees a role's policies change) and held
    /// by that run. `None` when nothing decides.
    pub async fn checker(&self) -> Result<Option<Arc<dyn PermissionChecker>>, RuntimeError> {
        let identity = &self.settings.identity;
        let role = identity
            .role_arn
            .as_ref()
            .filter(|_| self.settings.governance.role_policies);
        let Some(role) = role else {
            let files = (!self.settings.policies.is_empty())
                .then(|| Arc::new(self.files.clone()) as Arc<dyn PermissionChecker>);
            return Ok(files);
        };
        let fetched =
            plug_aws::role_policies::fetch_role_policies(identity.operator_config(), role)
                .await
                .map_err(|source| PolicyError::Fetch {
                    role: role.clone(),
                    source,
                })?;
        let loaded = LoadedPolicies {
            set: self.files.clone(),
            warnings: Vec::new(),
        }
        .add_role(&fetched, None)?;
        Ok(Some(Arc::new(loaded.set) as Arc<dyn PermissionChecker>))
    }

    /// Loads and checks a run (see [`prepare`]).
    pub fn prepare(&self, input: RunInput, run_id: RunId) -> Result<Prepared, PrepareError> {
        prepare(&self.settings, input, run_id)
    }

    /// What the run would do: steps, IAM decisions, hooks, approvals. Whether
    /// deny-by-default lets it start at all is [`Prepared::admission`].
    pub async fn plan(&self, prepared: &Prepared) -> Result<plug_skill::plan::Plan, RuntimeError> {
        let hooks = prepared
            .plugin
            .manifest
            .as_ref()
            .map(|m| m.hooks.clone())
            .unwrap_or_default();
        let checker = self.checker().await?;
        Ok(plug_skill::plan::plan(
            &prepared.request,
            &hooks,
            checker.as_deref(),
        ))
    }

    /// A new journal for `run_id` in the state folder.
    pub fn create_journal(&self, run_id: &RunId) -> Result<Journal, JournalError> {
        Journal::create(self.settings.state.root(), run_id)
    }

    /// Reopens `run_id`'s journal: what it was started with and what is done.
    /// `params` are given again (sensitive ones are never journaled).
    pub fn reopen(
        &self,
        run_id: &RunId,
        params: BTreeMap<String, ParamValue>,
    ) -> Result<Resumption, RuntimeError> {
        let (journal, entries) = Journal::reopen(self.settings.state.root(), run_id)?;
        let Some(Entry::Started {
            plugin_root,
            skill,
            actor,
            params: journaled,
            config,
            workdir,
            ..
        }) = entries.first().cloned()
        else {
            return Err(RuntimeError::NoStart);
        };
        let succeeded = matches!(entries.last(),
            Some(Entry::Finished { state, .. }) if state == RunOutcome::Succeeded.state());
        let mut all: BTreeMap<String, ParamValue> = journaled
            .iter()
            .map(|(k, v)| (k.clone(), ParamValue::Typed(from_tagged(v))))
            .collect();
        all.extend(params);
        let input = RunInput {
            plugin: plugin_root,
            skill,
            params: all,
            actor,
            workdir: Some(workdir),
            set: config.into_iter().collect(),
        };
        Ok(Resumption {
            journal,
            input,
            interrupted_in: step_in_flight(&entries),
            resume: Resume::from_entries(&entries),
            succeeded,
        })
    }

    /// Runs a prepared skill: telemetry started, the ports built for the
    /// run's identity, the interpreter driven. `Err` means the run could not
    /// start; how it ended otherwise is in the report.
    pub async fn perform(
        &self,
        mut prepared: Prepared,
        journal: &mut dyn plug_skill::journal::RunLog,
        resume: Option<Resume>,
        host: RunHost,
    ) -> Result<RunReport, RuntimeError> {
        if let Err(refusal) = &prepared.admission {
            return Err(refusal.clone().into());
        }
        if prepared.request.actor == plug_core::Actor::Human {
            // A human run acts as the person AWS vouches for, not a name given.
            let human = crate::humans::verify(&self.settings.identity, None).await?;
            prepared.request.operator = human.name;
            prepared.request.governance.verified_human = Some(human.arn);
        }
        let permissions = self.checker().await?;
        let request = &prepared.request;
        let mut secrets: Vec<String> = request
            .sensitive
            .iter()
            .filter_map(|name| request.params.get(name)?.as_str().map(str::to_owned))
            .collect();
        secrets.extend(prepared.settings.secrets().iter().cloned());
        let telemetry = start_for_run(&self.settings, &secrets).await?;
        let mut identity = self
            .settings
            .identity
            .run_config(&request.run_id, request.actor);
        if let Some(role) = &mut identity.role {
            role.session_policy = (prepared.session_policy.as_ref()).map(|p| p.document.clone());
            role.source_identity = Some(request.operator.clone());
        }
        let world = self.world.ports(&prepared, identity, telemetry.clone())?;
        let ports = Ports {
            aws: world.aws,
            tools: world.tools,
            hooks: world.hooks,
            telemetry: (host.observe)(telemetry.clone() as Arc<dyn TelemetrySink>),
            commands: world.commands,
            approver: host.approver,
            prompter: host.prompter,
            permissions,
        };
        let scratch = Scratch::create(&self.settings.state, &request.run_id)
            .map_err(RuntimeError::Scratch)?;
        let options = RunOptions {
            command_env: scratch.command_env(|k| std::env::var(k).ok()),
            interrupt: Some(host.interrupt),
            secrets,
            ..RunOptions::default()
        };
        let report = Interpreter::new(ports, options)
            .run(&prepared.request, journal, resume)
            .await;
        if let Some(servers) = world.servers {
            servers.shutdown().await;
        }
        Ok(report)
    }
}
