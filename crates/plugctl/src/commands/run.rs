//! `plugctl run`, `plan`, `resume`, `runs`, `approve`, `reject`.

use super::usage;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use plug_core::ports::{Approver, PermissionChecker, Prompter, TelemetrySink};
use plug_core::{Actor, RunId, Value};
use plug_manifest::native::model::{Action, ParamType};
use plug_manifest::{Plugin, load_plugin};
use plug_skill::journal::{Entry, Resume};
use plug_skill::{Interpreter, Journal, Ports, RunOptions, RunOutcome, RunReport, RunRequest};

use crate::cli::Output;
use crate::cli_run::{AnswerArgs, IdentityArgs, ResumeArgs, RunArgs, RunsArgs};
use crate::exit::Exit;
use crate::plugin_settings::PluginSettings;
use crate::wiring::{AnswerFile, Progress, RunApprover, TerminalPrompter};

/// A plugin, a skill and a request, ready to run or plan.
pub(crate) struct Prepared {
    /// The loaded plugin (its hooks and MCP servers serve the run).
    pub plugin: Plugin,
    /// What to run.
    pub request: RunRequest,
    /// The plugin's user configuration and data folder, for its hooks and servers.
    pub settings: PluginSettings,
}

/// Wraps the audit log in whatever shows a run's progress (a terminal
/// display, MCP progress notifications).
pub(crate) type Observe = Box<dyn FnOnce(Arc<dyn TelemetrySink>) -> Arc<dyn TelemetrySink> + Send>;

/// What differs between the front ends that run skills (`plugctl run` and
/// `resume` on a terminal, `plugctl serve` for an MCP client): who answers
/// approvals and prompts, who watches the events, and what stops the run.
pub(crate) struct RunHost {
    /// Answers approval gates.
    pub approver: Arc<dyn Approver>,
    /// Answers `prompt` steps.
    pub prompter: Arc<dyn Prompter>,
    /// Sees every event on its way to the audit log.
    pub observe: Observe,
    /// Flips to `true` to stop the run at the next step boundary.
    pub interrupt: tokio::sync::watch::Receiver<bool>,
}

/// `plugctl run`.
pub fn run(mut args: RunArgs) -> Exit {
    if let Err(exit) = apply_config(&mut args) {
        return exit;
    }
    let prepared = match prepare(&args, RunId::new(new_run_id()).ok()) {
        Ok(p) => p,
        Err(message) => return usage(&message),
    };
    let checker = match policies(&args.policies) {
        Ok(c) => c,
        Err(exit) => return exit,
    };
    let approver = match RunApprover::choose(args.approve_from.as_deref(), args.approval_timeout) {
        Ok(a) => a,
        Err(e) => return usage(&e),
    };
    let journal = match Journal::create(&crate::state::state_dir(), &prepared.request.run_id) {
        Ok(j) => j,
        Err(e) => return usage(&e.to_string()),
    };
    execute(
        prepared,
        journal,
        None,
        checker,
        approver,
        &args.identity,
        args.output,
    )
}

/// `plugctl plan`: the run, without side effects.
pub fn plan(mut args: RunArgs) -> Exit {
    if let Err(exit) = apply_config(&mut args) {
        return exit;
    }
    let prepared = match prepare(&args, RunId::new("plan").ok()) {
        Ok(p) => p,
        Err(message) => return usage(&message),
    };
    let checker = match policies(&args.policies) {
        Ok(c) => c,
        Err(exit) => return exit,
    };
    let hooks = prepared
        .plugin
        .manifest
        .as_ref()
        .map(|m| m.hooks.clone())
        .unwrap_or_default();
    let plan = plug_skill::plan::plan(&prepared.request, &hooks, checker.as_deref());
    match args.output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&plan).unwrap_or_default()
        ),
        Output::Human => print_plan(&prepared.request, &plan),
    }
    Exit::Success
}

/// `plugctl resume <run-id>`.
pub fn resume(args: ResumeArgs) -> Exit {
    let state = crate::state::state_dir();
    let Ok(run_id) = RunId::new(args.run_id.clone()) else {
        return usage(&format!("`{}` is not a run id", args.run_id));
    };
    let (journal, entries) = match Journal::reopen(&state, &run_id) {
        Ok(found) => found,
        Err(e) => return usage(&e.to_string()),
    };
    let Some(Entry::Started {
        plugin_root,
        skill,
        actor,
        params,
        config,
        workdir,
        ..
    }) = entries.first().cloned()
    else {
        return usage("the run's journal has no start entry");
    };
    if let Some(Entry::Finished { state, .. }) = entries.last()
        && state == "succeeded"
    {
        eprintln!("run {run_id} already succeeded; nothing to resume");
        return Exit::Success;
    }
    let mut all_params: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.clone(), json_text(v)))
        .collect();
    all_params.extend(args.params.clone());
    let mut run_args = RunArgs {
        plugin: plugin_root,
        skill,
        params: all_params,
        set: config.into_iter().collect(),
        actor: actor.to_string(),
        policies: args.policies.clone(),
        approve_from: args.approve_from.clone(),
        approval_timeout: args.approval_timeout,
        workdir,
        identity: args.identity.clone(),
        config: None,
        output: args.output,
    };
    if let Err(exit) = apply_config(&mut run_args) {
        return exit;
    }
    let prepared = match prepare(&run_args, Some(run_id)) {
        Ok(p) => p,
        Err(message) => return usage(&message),
    };
    let checker = match policies(&run_args.policies) {
        Ok(c) => c,
        Err(exit) => return exit,
    };
    let approver = match RunApprover::choose(args.approve_from.as_deref(), args.approval_timeout) {
        Ok(a) => a,
        Err(e) => return usage(&e),
    };
    let resume = Resume::from_entries(&entries);
    eprintln!(
        "resuming {} after {} completed step(s)",
        prepared.request.run_id,
        resume.completed.len()
    );
    execute(
        prepared,
        journal,
        Some(resume),
        checker,
        approver,
        &run_args.identity,
        args.output,
    )
}

/// Fills unset arguments from the configuration file, if there is one.
pub(crate) fn apply_config(args: &mut RunArgs) -> Result<(), Exit> {
    let Some(path) = crate::config::locate(args.config.as_deref()) else {
        return Ok(());
    };
    crate::config::load(&path)
        .map(|config| config.apply(args))
        .map_err(|e| usage(&e))
}

/// `plugctl runs`.
pub fn runs(args: RunsArgs) -> Exit {
    let runs = match plug_skill::journal::list(&crate::state::state_dir()) {
        Ok(r) => r,
        Err(e) => return usage(&e.to_string()),
    };
    match args.output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&runs).unwrap_or_default()
        ),
        Output::Human => {
            for r in runs {
                println!(
                    "{:<30} {:<18} {:<26} {:<16} {} step(s) done",
                    r.run_id, r.state, r.plugin, r.skill, r.steps_done
                );
            }
        }
    }
    Exit::Success
}

/// `plugctl approve` / `plugctl reject`.
pub fn answer(args: AnswerArgs, approve: bool) -> Exit {
    let dir = crate::state::approvals_dir();
    let (request, answer) = crate::wiring::mailbox(&dir, &args.run_id);
    if !request.exists() {
        return usage(&format!(
            "run {} is not waiting for an approval",
            args.run_id
        ));
    }
    let file = AnswerFile {
        approver: args.approver.unwrap_or_else(crate::state::current_user),
        approve,
        reason: args.reason,
    };
    match std::fs::write(&answer, serde_json::to_vec(&file).unwrap_or_default()) {
        Ok(()) => {
            println!(
                "{} run {}",
                if approve { "approved" } else { "refused" },
                args.run_id
            );
            Exit::Success
        }
        Err(e) => usage(&format!("{}: {e}", answer.display())),
    }
}

fn execute(
    prepared: Prepared,
    mut journal: Journal,
    resume: Option<Resume>,
    checker: Option<Arc<dyn PermissionChecker>>,
    approver: RunApprover,
    identity: &IdentityArgs,
    output: Output,
) -> Exit {
    let runtime = match super::async_runtime() {
        Ok(rt) => rt,
        Err(exit) => return exit,
    };
    runtime.block_on(async move {
        let (stop, interrupt) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!(
                    "interrupt: stopping at the next step boundary (resume with `plugctl resume`)"
                );
                let _ = stop.send(true);
            }
        });
        let host = RunHost {
            approver: Arc::new(approver),
            prompter: Arc::new(TerminalPrompter),
            observe: Box::new(move |audit| Arc::new(Progress::new(audit, output == Output::Json))),
            interrupt,
        };
        match perform(prepared, &mut journal, resume, checker, identity, host).await {
            Ok(report) => {
                print_report(&report, output, &crate::state::audit_log());
                exit_for(&report.outcome)
            }
            Err(message) => usage(&message),
        }
    })
}

/// Runs a prepared skill through the interpreter with the real ports (AWS
/// sessions, MCP servers, hooks, commands, the audit log): the one path that
/// `plugctl run`, `resume` and `serve` share. `Err` means the run could not
/// start (the audit log or the hook host could not be set up).
pub(crate) async fn perform(
    prepared: Prepared,
    journal: &mut Journal,
    resume: Option<Resume>,
    checker: Option<Arc<dyn PermissionChecker>>,
    identity: &IdentityArgs,
    host: RunHost,
) -> Result<RunReport, String> {
    let Prepared {
        plugin,
        request,
        settings,
    } = prepared;
    let base = identity_config(identity, &request);
    let mut secrets: Vec<String> = request
        .sensitive
        .iter()
        .filter_map(|name| request.params.get(name)?.as_str().map(str::to_owned))
        .collect();
    secrets.extend(settings.secrets().iter().cloned());
    let telemetry = crate::commands::telemetry::start_for_run(&base, &secrets).await?;
    let hooks = plug_hooks::ProcessHookHost::for_plugin(&plugin, settings.host_config())
        .map_err(|e| settings.redact(&e.to_string()))?
        .with_telemetry(telemetry.clone());
    let mcp = Arc::new(settings.registry(&plugin));
    let ports = Ports {
        aws: Arc::new(plug_aws::RunSessions::new(base)),
        tools: mcp.clone(),
        hooks: Arc::new(hooks),
        telemetry: (host.observe)(telemetry.clone() as Arc<dyn TelemetrySink>),
        commands: Arc::new(plug_skill::command::ProcessRunner),
        approver: host.approver,
        prompter: host.prompter,
        permissions: checker,
    };
    let options = RunOptions {
        command_env: command_env(),
        interrupt: Some(host.interrupt),
        ..RunOptions::default()
    };
    eprintln!(
        "run {} ({} / {}), journal {}",
        request.run_id,
        request.plugin,
        request.skill.name.value,
        journal.path().display()
    );
    let report = Interpreter::new(ports, options)
        .run(&request, journal, resume)
        .await;
    mcp.shutdown().await;
    Ok(report)
}

/// The run's AWS identity: the standard chain, plus the role to assume with
/// the run's attribution (actor tag, operator as SourceIdentity, session name).
fn identity_config(identity: &IdentityArgs, request: &RunRequest) -> plug_aws::IdentityConfig {
    let role = identity
        .role_arn
        .as_ref()
        .map(|role_arn| plug_aws::RoleConfig {
            role_arn: role_arn.clone(),
            actor: request.actor,
            run_id: request.run_id.clone(),
            source_identity: Some(request.operator.clone()),
            tags: Vec::new(),
            transitive: false,
            duration: None,
            external_id: None,
        });
    plug_aws::IdentityConfig {
        profile: identity.profile.clone(),
        region: identity.region.clone(),
        role,
        ..Default::default()
    }
}

/// What commands may see of plugctl's own environment: enough to find
/// programs and speak the locale; never credentials.
fn command_env() -> BTreeMap<String, String> {
    ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR"]
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| ((*k).to_owned(), v)))
        .collect()
}

/// Loads the plugin and turns `args` into a run request; `Err` says why it
/// cannot run (findings, unknown skill, missing params, bad values).
pub(crate) fn prepare(args: &RunArgs, run_id: Option<RunId>) -> Result<Prepared, String> {
    let run_id = run_id.ok_or("cannot make a run id")?;
    let plugin = load_plugin(&args.plugin).map_err(|e| e.to_string())?;
    if plugin.has_failures(false) {
        for finding in &plugin.findings {
            eprintln!("{:?}", finding.to_report());
        }
        return Err(format!(
            "{} does not validate; fix it first (plugctl validate)",
            args.plugin.display()
        ));
    }
    let manifest = plugin.manifest.as_ref().ok_or("no manifest")?;
    let loaded = plugin
        .skills
        .iter()
        .find(|s| s.skill.as_ref().is_some_and(|k| k.name.value == args.skill));
    let Some(loaded) = loaded else {
        let names: Vec<_> = plugin
            .skills
            .iter()
            .filter_map(|s| s.skill.as_ref())
            .map(|s| s.name.value.clone())
            .collect();
        return Err(format!(
            "no skill `{}` in {} (skills: {})",
            args.skill,
            manifest.name.value,
            names.join(", ")
        ));
    };
    let skill = loaded.skill.clone().ok_or("skill did not load")?;
    let params = typed_params(&skill, &args.params)?;
    let missing: Vec<&str> = loaded
        .implicit_params
        .iter()
        .filter(|p| p.may_come_from.is_none() && !params.contains_key(&p.name))
        .map(|p| p.name.as_str())
        .collect();
    let missing_declared: Vec<&str> = skill
        .params
        .iter()
        .filter(|p| p.required && p.default.is_none() && !params.contains_key(&p.name))
        .map(|p| p.name.as_str())
        .collect();
    let missing: Vec<&str> = missing.into_iter().chain(missing_declared).collect();
    if !missing.is_empty() {
        let flags: Vec<String> = missing.iter().map(|m| format!("--param {m}=...")).collect();
        return Err(format!("skill {} needs: {}", args.skill, flags.join(" ")));
    }
    let settings = PluginSettings::load(&plugin, &args.set).map_err(|e| e.to_string())?;
    let config = settings.journal_values();
    let actor: Actor = args
        .actor
        .parse()
        .map_err(|e: plug_core::actor::UnknownActor| e.to_string())?;
    let workdir = args
        .workdir
        .canonicalize()
        .map_err(|e| format!("{}: {e}", args.workdir.display()))?;
    let operator = args
        .identity
        .operator
        .clone()
        .unwrap_or_else(crate::state::current_user);
    let principal = principal_for(args.identity.role_arn.as_deref(), &run_id, &operator);
    let actions = required_actions(&loaded.required_permissions, &skill);
    let mut builtins = BTreeMap::new();
    if let Some(region) = &args.identity.region {
        builtins.insert("region".to_owned(), Value::String(region.clone()));
    }
    let mut request = RunRequest {
        run_id,
        plugin: manifest.name.value.clone(),
        plugin_version: manifest
            .version
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        skill,
        params,
        sensitive: BTreeSet::new(),
        config,
        actor,
        operator,
        principal,
        actions,
        workdir,
        plugin_root: plugin.root.clone(),
        builtins,
    };
    request.apply_defaults();
    Ok(Prepared {
        plugin,
        request,
        settings,
    })
}

/// `--param` values typed by their declaration (undeclared ones stay text).
fn typed_params(
    skill: &plug_manifest::native::model::Skill,
    given: &[(String, String)],
) -> Result<BTreeMap<String, Value>, String> {
    let mut params = BTreeMap::new();
    for (name, text) in given {
        let ty = skill
            .params
            .iter()
            .find(|p| &p.name == name)
            .map_or(ParamType::String, |p| p.ty);
        let value = match ty {
            ParamType::String | ParamType::Bytes => Value::String(text.clone()),
            _ => serde_json::from_str::<serde_json::Value>(text)
                .map(Value::from)
                .map_err(|_| format!("--param {name}: `{text}` is not a valid {}", ty.as_str()))?,
        };
        params.insert(name.clone(), value);
    }
    Ok(params)
}

/// Every IAM action the skill needs: what the manifest declares plus what its
/// `aws_api` and `wait_for` steps (and fallbacks) imply.
pub(crate) fn required_actions(
    declared: &[String],
    skill: &plug_manifest::native::model::Skill,
) -> Vec<String> {
    let mut actions: Vec<String> = declared.to_vec();
    let calls = skill
        .steps
        .iter()
        .flat_map(|s| std::iter::once(&s.action).chain(s.fallback.as_ref().map(|f| &f.action)));
    for action in calls {
        if let Action::AwsApi {
            service, method, ..
        }
        | Action::WaitFor {
            service, method, ..
        } = action
        {
            actions.extend(plug_aws::iam_actions(service, method).unwrap_or_default());
        }
    }
    let mut seen = BTreeSet::new();
    actions.retain(|a| seen.insert(a.to_ascii_lowercase()));
    actions
}

/// The principal the permission gate asks about: the run's role session when a
/// role is assumed, else the operator as an IAM user of an unknown account.
fn principal_for(role_arn: Option<&str>, run_id: &RunId, operator: &str) -> String {
    if let Some(role) = role_arn
        && let Some((head, name)) = role.split_once(":role/")
    {
        let role_name = name.rsplit('/').next().unwrap_or(name);
        return format!(
            "{}:assumed-role/{role_name}/{}",
            head.replacen(":iam:", ":sts:", 1),
            run_id.role_session_name()
        );
    }
    format!("arn:aws:iam::000000000000:user/{operator}")
}

/// The permission checker over `files`, or `None` when there are none.
pub(crate) fn policies(files: &[PathBuf]) -> Result<Option<Arc<dyn PermissionChecker>>, Exit> {
    if files.is_empty() {
        return Ok(None);
    }
    match super::check::load_policies(files, Output::Human) {
        Some(set) => Ok(Some(Arc::new(set))),
        None => Err(Exit::Usage),
    }
}

fn print_plan(request: &RunRequest, plan: &plug_skill::plan::Plan) {
    println!(
        "plan for {} / {} as {}",
        request.plugin, request.skill.name.value, request.actor
    );
    for (i, step) in plan.steps.iter().enumerate() {
        let fallback = step
            .fallback
            .as_ref()
            .map(|f| format!(" (fallback: {f})"))
            .unwrap_or_default();
        println!(
            "  {}. {:<20} {:<12} {}{fallback}",
            i + 1,
            step.name,
            step.action,
            step.target
        );
        if !step.inputs.is_null() {
            println!("       inputs: {}", step.inputs);
        }
    }
    if !plan.actions.is_empty() {
        println!("IAM actions:");
        for a in &plan.actions {
            let decision = a.decision.map_or_else(
                || "not checked (no --policy)".to_owned(),
                |d| format!("{d:?}"),
            );
            let approval = if a.needs_approval {
                " -> needs a human approval"
            } else {
                ""
            };
            println!("  {:<32} {decision}{approval}", a.action);
        }
    }
    for hook in &plan.hooks {
        println!(
            "hook {} ({})",
            hook.event,
            if hook.critical {
                "critical"
            } else {
                "best-effort"
            }
        );
    }
    if !plan.missing_params.is_empty() {
        println!("missing params: {}", plan.missing_params.join(", "));
    }
}

fn print_report(report: &RunReport, output: Output, audit: &Path) {
    if output == Output::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(report).unwrap_or_default()
        );
        return;
    }
    for message in &report.messages {
        eprintln!("hook: {message}");
    }
    println!("run {}: {}", report.run_id, summary(report));
    println!("audit log: {}", audit.display());
}

/// One line saying how a run ended and why (the statements behind a denial).
pub(crate) fn summary(report: &RunReport) -> String {
    match &report.outcome {
        RunOutcome::Succeeded => "succeeded".to_owned(),
        RunOutcome::StepFailed { step, error } => format!("failed at step {step}: {error}"),
        RunOutcome::Denied {
            action,
            decision,
            statements,
        } => {
            let by: Vec<String> = statements
                .iter()
                .map(|s| {
                    format!(
                        "{}#{}{}",
                        s.policy,
                        s.index,
                        s.sid
                            .as_ref()
                            .map(|sid| format!(" ({sid})"))
                            .unwrap_or_default()
                    )
                })
                .collect();
            format!(
                "denied before any step: {action} is {decision:?}{}",
                if by.is_empty() {
                    String::new()
                } else {
                    format!(" by {}", by.join(", "))
                }
            )
        }
        RunOutcome::ApprovalRefused { reason, .. } => {
            format!("stopped: approval refused ({reason})")
        }
        RunOutcome::Blocked { reasons } => format!("blocked by a hook: {}", reasons.join("; ")),
        RunOutcome::Interrupted { reason } => format!(
            "interrupted: {reason}; continue with `plugctl resume {}`",
            report.run_id
        ),
    }
}

fn exit_for(outcome: &RunOutcome) -> Exit {
    match outcome {
        RunOutcome::Succeeded => Exit::Success,
        RunOutcome::StepFailed { .. } => Exit::Findings,
        RunOutcome::Denied { .. } => Exit::Denied,
        RunOutcome::ApprovalRefused { .. } => Exit::ApprovalRefused,
        RunOutcome::Blocked { .. } => Exit::Blocked,
        RunOutcome::Interrupted { .. } => Exit::Interrupted,
    }
}

/// A JSON value as a `--param` text: strings bare, anything else as JSON.
pub(crate) fn json_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A sortable, session-name-safe id: UTC time plus randomness.
pub(crate) fn new_run_id() -> String {
    let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        .to_string()
        .replace(['-', ':'], "");
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{}-{}", stamp.trim_end_matches('Z'), &random[..6])
}
