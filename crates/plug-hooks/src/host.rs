//! The hook host: picks the hooks of an event, runs them in parallel, combines their answers.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use plug_core::TraceContext;
use plug_core::ports::{HookDecision, HookError, HookHost, HookInput};
use plug_manifest::native::model::{Hook, HookHandler};
use serde_json::{Map, Value};

use crate::answer::{Advice, Termination, Verdict, interpret, text};
use crate::environment::{EnvSources, hook_env, is_forbidden};
use crate::http::HttpClient;
use crate::input::{stdin_object, with_cwd};
use crate::process::{self, RunSpec, launch_for};
use crate::report::{HookReport, SandboxReport, combine};
use crate::sandbox::{
    LandlockLevel, ResourceLimits, SYSTEM_READ_PATHS, SYSTEM_WRITE_PATHS, SandboxPolicy,
};
use plug_manifest::matcher::Matcher;

/// How hooks are run. The defaults follow Claude Code where it says something
/// (600 s timeout) and are conservative elsewhere.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// The timeout of a hook that declares none.
    pub default_timeout: Duration,
    /// The largest input a hook is sent; a larger one is not sent and the hook fails.
    pub max_input_bytes: usize,
    /// The most a hook may write to stdout, and to stderr; past it, it is killed.
    pub max_output_bytes: usize,
    /// Variables declared for hooks, on top of the allow-list. Names that look
    /// like credentials, `AWS_*` and `PLUGCTL_*` are refused.
    pub declared_env: BTreeMap<String, String>,
    /// Confine hooks with Landlock where the kernel has it.
    pub landlock: bool,
    /// More paths hooks may read, besides system paths and the plugin root.
    pub extra_read_paths: Vec<PathBuf>,
    /// Resource limits of hook processes.
    pub limits: ResourceLimits,
    /// Where hooks' temp dirs are made (default: the system temp dir).
    pub temp_root: Option<PathBuf>,
    /// Params (top-level keys of `params`) redacted before any hook sees them,
    /// on top of the redaction the caller already did.
    pub sensitive_params: BTreeSet<String>,
    /// The plugin's user configuration (its `userConfig` values): exported as
    /// `CLAUDE_PLUGIN_OPTION_<KEY>` and substituted, as data, for
    /// `${user_config.KEY}` in commands (see [`crate::plugin_options`]).
    pub plugin_options: BTreeMap<String, String>,
    /// The plugin's persistent data folder: exported as `CLAUDE_PLUGIN_DATA`
    /// and, under Landlock, readable and writable by hooks.
    pub plugin_data: Option<PathBuf>,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            default_timeout: Duration::from_secs(600),
            max_input_bytes: 1 << 20,
            max_output_bytes: 1 << 20,
            declared_env: BTreeMap::new(),
            landlock: true,
            extra_read_paths: Vec::new(),
            limits: ResourceLimits::default(),
            temp_root: None,
            sensitive_params: BTreeSet::new(),
            plugin_options: BTreeMap::new(),
            plugin_data: None,
        }
    }
}

/// Why a host could not be built from a plugin's hooks.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// A matcher is neither a name list nor a valid regex.
    #[error("hook {index} (`{event}`): matcher `{matcher}` is not a valid regex: {source}")]
    InvalidMatcher {
        /// The hook's position in the manifest.
        index: usize,
        /// Its event.
        event: String,
        /// The matcher as written.
        matcher: String,
        /// The regex error.
        source: regex::Error,
    },
    /// A declared variable would hand a secret or plugctl's own settings to hooks.
    #[error(
        "`{0}` may not be passed to hooks: AWS_*, PLUGCTL_* and credential-like names are refused"
    )]
    ForbiddenVariable(String),
    /// A command uses `${user_config.KEY}` but the plugin's user config has no `KEY`.
    #[error(
        "hook {index} (`{event}`) uses `${{user_config.{key}}}`, but the plugin's user config `{key}` has no value"
    )]
    MissingOption {
        /// The hook's position in the manifest.
        index: usize,
        /// Its event.
        event: String,
        /// The key without a value.
        key: String,
    },
    /// The plugin root cannot be resolved.
    #[error("plugin root {path}: {source}")]
    Root {
        /// The root as given.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// A hook ready to run.
#[derive(Debug)]
struct Prepared {
    hook: Hook,
    matcher: Matcher,
    label: String,
    critical: bool,
}

struct Inner {
    root: PathBuf,
    hooks: Vec<Prepared>,
    config: HostConfig,
    read_paths: Vec<PathBuf>,
    http: HttpClient,
    /// The run's sessions, for hooks that declare `aws: true`.
    aws: std::sync::OnceLock<Arc<dyn plug_core::ports::AwsSessions>>,
}

/// The real [`HookHost`]: runs a plugin's hooks as isolated processes (or http calls).
#[derive(Clone)]
pub struct ProcessHookHost {
    inner: Arc<Inner>,
    /// Receives a `hook_ran` event per hook that ran.
    telemetry: Option<Arc<dyn plug_core::ports::TelemetrySink>>,
}

impl std::fmt::Debug for ProcessHookHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessHookHost")
            .field("root", &self.inner.root)
            .field("hooks", &self.inner.hooks.len())
            .finish_non_exhaustive()
    }
}

impl ProcessHookHost {
    /// A host for `hooks` (in manifest order) of the plugin at `root`.
    pub fn new(root: &Path, hooks: Vec<Hook>, config: HostConfig) -> Result<Self, HostError> {
        let root = root.canonicalize().map_err(|source| HostError::Root {
            path: root.to_path_buf(),
            source,
        })?;
        if let Some(name) = config.declared_env.keys().find(|n| is_forbidden(n)) {
            return Err(HostError::ForbiddenVariable(name.clone()));
        }
        let hooks = hooks
            .into_iter()
            .enumerate()
            .map(|(index, hook)| prepare(index, hook, &config.plugin_options))
            .collect::<Result<Vec<_>, _>>()?;
        let read_paths = SYSTEM_READ_PATHS
            .iter()
            .map(PathBuf::from)
            .chain(config.extra_read_paths.iter().cloned())
            .chain(config.plugin_data.iter().cloned())
            .chain([root.clone()])
            .collect();
        Ok(ProcessHookHost {
            inner: Arc::new(Inner {
                root,
                hooks,
                config,
                read_paths,
                http: HttpClient::default(),
                aws: std::sync::OnceLock::new(),
            }),
            telemetry: None,
        })
    }

    /// Records a `hook_ran` event for every hook that runs.
    #[must_use]
    pub fn with_telemetry(mut self, sink: Arc<dyn plug_core::ports::TelemetrySink>) -> Self {
        self.telemetry = Some(sink);
        self
    }

    /// Gives hooks that declare `aws: true` the run's session (of the actor
    /// in their input); without it such hooks do not start. Other hooks
    /// never get AWS credentials.
    #[must_use]
    pub fn with_aws(self, sessions: Arc<dyn plug_core::ports::AwsSessions>) -> Self {
        // Set once, right after construction; a second call keeps the first.
        let _ = self.inner.aws.set(sessions);
        self
    }

    /// A host for a loaded plugin: its hooks, with its skills' sensitive params
    /// added to `config.sensitive_params`.
    pub fn for_plugin(
        plugin: &plug_manifest::Plugin,
        mut config: HostConfig,
    ) -> Result<Self, HostError> {
        let hooks = plugin
            .manifest
            .as_ref()
            .map(|m| m.hooks.clone())
            .unwrap_or_default();
        let sensitive = plugin
            .skills
            .iter()
            .filter_map(|s| s.skill.as_ref())
            .flat_map(|s| s.params.iter())
            .filter(|p| p.sensitive)
            .map(|p| p.name.clone());
        config.sensitive_params.extend(sensitive);
        Self::new(&plugin.root, hooks, config)
    }

    /// The canonical plugin root.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// The positions (manifest order) of the hooks that `input` triggers.
    pub fn matching(&self, input: &HookInput) -> Vec<usize> {
        self.inner
            .hooks
            .iter()
            .enumerate()
            .filter(|(_, p)| {
                p.hook.event == input.event && p.matcher.matches(input.action.as_deref())
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// Runs every hook that `input` triggers, in parallel, and reports on each in manifest order.
    ///
    /// Must run inside a tokio runtime with I/O and time enabled.
    pub async fn run(&self, input: &HookInput) -> Vec<HookReport> {
        let object = Arc::new(stdin_object(input, &self.inner.config.sensitive_params));
        let matching = self.matching(input);
        if let [index] = matching[..] {
            // One hook: no task to spawn, one thread hand-off less.
            return vec![run_one(&self.inner, index, &object, input.trace).await];
        }
        let mut tasks = tokio::task::JoinSet::new();
        let mut index_of = HashMap::new();
        for index in matching {
            let inner = Arc::clone(&self.inner);
            let object = Arc::clone(&object);
            let trace = input.trace;
            let task = tasks.spawn(async move { run_one(&inner, index, &object, trace).await });
            index_of.insert(task.id(), index);
        }
        let mut reports = Vec::with_capacity(index_of.len());
        while let Some(joined) = tasks.join_next_with_id().await {
            match joined {
                Ok((_, report)) => reports.push(report),
                Err(e) => {
                    if let Some(&index) = index_of.get(&e.id()) {
                        reports.push(self.inner.crashed(index, &e.to_string()));
                    }
                }
            }
        }
        reports.sort_by_key(|r| r.index);
        reports
    }
}

#[async_trait]
impl HookHost for ProcessHookHost {
    async fn dispatch(&self, input: &HookInput) -> Result<HookDecision, HookError> {
        let reports = self.run(input).await;
        if let Some(telemetry) = &self.telemetry {
            for report in &reports {
                telemetry.record(hook_ran(input, report));
            }
        }
        combine(&reports)
    }
}

/// The audit event of one hook run.
fn hook_ran(input: &HookInput, report: &HookReport) -> plug_core::event::RunEvent {
    let outcome = match report.verdict {
        Verdict::Allowed => "ok",
        Verdict::Blocked { .. } => "blocked",
        Verdict::Failed { .. } => "failed",
    };
    plug_core::event::RunEvent::now(
        input.run_id.clone(),
        plug_core::event::EventKind::HookRan {
            hook_event: report.event.clone(),
            handler: report.handler.clone(),
            outcome: outcome.to_owned(),
            duration_ms: report.duration_ms,
        },
    )
}

fn prepare(
    index: usize,
    mut hook: Hook,
    options: &BTreeMap<String, String>,
) -> Result<Prepared, HostError> {
    // Before the label is made, so reports show the variable, never a value.
    hook.handler = crate::plugin_options::rewrite(&hook.handler, options).map_err(|key| {
        HostError::MissingOption {
            index,
            event: hook.event.clone(),
            key,
        }
    })?;
    let matcher =
        Matcher::parse(hook.matcher.as_deref()).map_err(|source| HostError::InvalidMatcher {
            index,
            event: hook.event.clone(),
            matcher: hook.matcher.clone().unwrap_or_default(),
            source,
        })?;
    let label = match &hook.handler {
        HookHandler::File { path } => path.clone(),
        HookHandler::Exec { argv } => argv.join(" "),
        HookHandler::Shell { command } => format!("sh -c {command:?}"),
        HookHandler::Http { url } => format!("POST {url}"),
    };
    Ok(Prepared {
        critical: hook.is_critical(),
        hook,
        matcher,
        label,
    })
}

/// What a run produced, before it becomes a report.
struct Ran {
    end: Termination,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    sandbox: SandboxReport,
}

impl Ran {
    fn not_started(reason: String) -> Self {
        Ran {
            end: Termination::NotStarted { reason },
            stdout: Vec::new(),
            stderr: Vec::new(),
            sandbox: SandboxReport {
                landlock: LandlockLevel::Disabled,
                limits_not_set: Vec::new(),
            },
        }
    }
}

/// Runs one hook. `trace` is the span it runs under, passed on as W3C trace
/// context (`TRACEPARENT` for a process, a `traceparent` header over HTTP)
/// so the hook's own spans join the run's trace.
async fn run_one(
    inner: &Inner,
    index: usize,
    object: &Map<String, Value>,
    trace: Option<TraceContext>,
) -> HookReport {
    let started = Instant::now();
    let prepared = &inner.hooks[index];
    let timeout = prepared
        .hook
        .timeout
        .unwrap_or(inner.config.default_timeout);
    let ran = match &prepared.hook.handler {
        HookHandler::Http { url } => {
            // No process, so no working directory to tell it about.
            let body = serde_json::to_vec(object).unwrap_or_default();
            let out = inner
                .http
                .post(url, body, trace, timeout, inner.config.max_output_bytes)
                .await;
            Ran {
                end: out.end,
                stdout: out.body,
                stderr: Vec::new(),
                sandbox: SandboxReport {
                    landlock: LandlockLevel::Disabled,
                    limits_not_set: Vec::new(),
                },
            }
        }
        handler => {
            let aws = prepared.hook.aws;
            inner
                .run_process(handler, object, trace, timeout, aws)
                .await
        }
    };
    let (verdict, advice) = interpret(&ran.end, &ran.stdout, &ran.stderr);
    inner.report(index, verdict, advice, ran, started.elapsed())
}

impl Inner {
    /// The run's session (for the input's actor) as environment variables.
    async fn session_env(
        &self,
        object: &Map<String, Value>,
    ) -> Result<Vec<(String, std::ffi::OsString)>, String> {
        let sessions = self.aws.get().ok_or(
            "it declares `aws: true` and there is no run's AWS session to give it".to_owned(),
        )?;
        let actor = match object.get("actor").and_then(Value::as_str) {
            Some("human") => plug_core::Actor::Human,
            _ => plug_core::Actor::Agent,
        };
        let invoker = (sessions.invoker(actor, "").await)
            .map_err(|e| format!("the run's AWS session: {e}"))?;
        let env = (invoker.child_env().await).map_err(|e| format!("the run's AWS session: {e}"))?;
        Ok(env.into_iter().map(|(k, v)| (k, v.into())).collect())
    }

    async fn run_process(
        &self,
        handler: &HookHandler,
        object: &Map<String, Value>,
        trace: Option<TraceContext>,
        timeout: Duration,
        aws: bool,
    ) -> Ran {
        let aws = if aws {
            match self.session_env(object).await {
                Ok(env) => env,
                Err(reason) => return Ran::not_started(reason),
            }
        } else {
            Vec::new()
        };
        let temp_root = self
            .config
            .temp_root
            .clone()
            .unwrap_or_else(std::env::temp_dir);
        let workdir = match tempfile::Builder::new()
            .prefix("plugctl-hook-")
            .tempdir_in(&temp_root)
        {
            Ok(dir) => dir,
            Err(e) => {
                return Ran::not_started(format!("no temp dir in {}: {e}", temp_root.display()));
            }
        };
        let stdin = with_cwd(object, workdir.path());
        if stdin.len() > self.config.max_input_bytes {
            return Ran::not_started(format!(
                "its input is {} bytes, over the cap of {}",
                stdin.len(),
                self.config.max_input_bytes
            ));
        }
        let readable = self.config.landlock.then_some(self.read_paths.as_slice());
        let mut env = hook_env(&EnvSources {
            runtime: &|name| std::env::var_os(name),
            declared: &self.config.declared_env,
            plugin_root: &self.root,
            options: &self.config.plugin_options,
            data_dir: self.config.plugin_data.as_deref(),
            temp_dir: workdir.path(),
            readable,
        });
        if let Some(trace) = trace {
            env.push(("TRACEPARENT".into(), trace.traceparent().into()));
        }
        // The session's variables replace the empty AWS set-up of hook_env.
        env.retain(|(name, _)| !aws.iter().any(|(k, _)| k == name));
        env.extend(aws);
        // After the environment: `${VAR}` in an exec-form command expands from what the hook sees.
        let launch = match launch_for(handler, &self.root, &env) {
            Ok(launch) => launch,
            Err(e) => return Ran::not_started(e),
        };
        let sandbox = self.config.landlock.then(|| SandboxPolicy {
            read: self.read_paths.clone(),
            write: SYSTEM_WRITE_PATHS
                .iter()
                .map(PathBuf::from)
                .chain(self.config.plugin_data.iter().cloned())
                .chain([workdir.path().to_path_buf()])
                .collect(),
        });
        let out = process::run(RunSpec {
            launch,
            env,
            workdir: workdir.path(),
            stdin,
            sandbox,
            limits: &self.config.limits,
            timeout,
            max_output: self.config.max_output_bytes,
        })
        .await;
        Ran {
            end: out.end,
            stdout: out.stdout,
            stderr: out.stderr,
            sandbox: SandboxReport {
                landlock: out.landlock,
                limits_not_set: out.limits_not_set,
            },
        }
    }

    fn report(
        &self,
        index: usize,
        verdict: Verdict,
        advice: Advice,
        ran: Ran,
        elapsed: Duration,
    ) -> HookReport {
        let prepared = &self.hooks[index];
        HookReport {
            index,
            event: prepared.hook.event.clone(),
            handler: prepared.label.clone(),
            critical: prepared.critical,
            verdict,
            end: ran.end,
            advice,
            stdout: text(&ran.stdout),
            stderr: text(&ran.stderr),
            sandbox: ran.sandbox,
            duration_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// The report of a hook whose task panicked: a failure like any other.
    fn crashed(&self, index: usize, why: &str) -> HookReport {
        let ran = Ran::not_started(format!("the host task failed: {why}"));
        let (verdict, advice) = interpret(&ran.end, &[], &[]);
        self.report(index, verdict, advice, ran, Duration::ZERO)
    }
}
