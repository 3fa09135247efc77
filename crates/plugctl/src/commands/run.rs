//! `plugctl run`, `plan`, `resume`, `runs`, `approve`, `reject`: the
//! arguments become a [`RunInput`] for plug-runtime, the results output.

use std::collections::BTreeMap;
use std::sync::Arc;

use plug_core::RunId;
use plug_runtime::approval::{AnswerFile, Mailbox};
use plug_runtime::prepare::PrepareError;
use plug_runtime::state::current_user;
use plug_runtime::{ParamValue, Prepared, RunHost, RunInput, Runtime, new_run_id, report};
use plug_skill::journal::Resume;
use plug_skill::{Journal, RunReport};

use super::{runtime, settings};
use crate::cli::Output;
use crate::cli::run::{AnswerArgs, ResumeArgs, RunArgs, RunsArgs};
use crate::exit::{Exit, for_outcome, usage};
use crate::terminal::{Progress, TerminalPrompter};

/// `plugctl run`.
pub fn run(args: &RunArgs) -> Exit {
    let runtime = match runtime(args.flags()) {
        Ok(r) => r,
        Err(exit) => return exit,
    };
    let prepared = match new_run_id()
        .map_err(|e| usage(&e.to_string()))
        .and_then(|id| prepared(&runtime, input(args), id))
    {
        Ok(p) => p,
        Err(exit) => return exit,
    };
    let journal = match runtime.create_journal(&prepared.request.run_id) {
        Ok(j) => j,
        Err(e) => return usage(&e.to_string()),
    };
    execute(
        &runtime,
        prepared,
        journal,
        None,
        args.approve_from.as_deref(),
        args.output,
    )
}

/// `plugctl plan`: the run, without side effects.
pub fn plan(args: &RunArgs) -> Exit {
    let runtime = match runtime(args.flags()) {
        Ok(r) => r,
        Err(exit) => return exit,
    };
    let prepared = match RunId::new("plan")
        .map_err(|e| usage(&e.to_string()))
        .and_then(|id| prepared(&runtime, input(args), id))
    {
        Ok(p) => p,
        Err(exit) => return exit,
    };
    let plan = runtime.plan(&prepared);
    match args.output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&plan).unwrap_or_default()
        ),
        Output::Human => print_plan(&prepared, &plan),
    }
    Exit::Success
}

/// What `run` and `plan` ask for.
fn input(args: &RunArgs) -> RunInput {
    RunInput {
        plugin: args.plugin.clone(),
        skill: args.skill.clone(),
        params: text_params(&args.params),
        actor: args.actor,
        workdir: None,
        set: Vec::new(),
    }
}

/// `--param` texts: plug-runtime types them by their declarations.
fn text_params(given: &[(String, String)]) -> BTreeMap<String, ParamValue> {
    given
        .iter()
        .map(|(k, v)| (k.clone(), ParamValue::Text(v.clone())))
        .collect()
}

/// Prepares the run, showing a plugin's findings when it does not validate.
fn prepared(runtime: &Runtime, input: RunInput, run_id: RunId) -> Result<Prepared, Exit> {
    runtime.prepare(input, run_id).map_err(|e| {
        if let PrepareError::Invalid { findings, .. } = &e {
            findings
                .iter()
                .for_each(|f| eprintln!("{:?}", f.to_report()));
        }
        usage(&e.to_string())
    })
}

/// `plugctl resume <run-id>`.
pub fn resume(args: &ResumeArgs) -> Exit {
    let Ok(run_id) = RunId::new(args.run_id.clone()) else {
        return usage(&format!("`{}` is not a run id", args.run_id));
    };
    let runtime = match runtime(args.flags()) {
        Ok(r) => r,
        Err(exit) => return exit,
    };
    let found = match runtime.reopen(&run_id, text_params(&args.params)) {
        Ok(found) => found,
        Err(e) => return usage(&e.to_string()),
    };
    if found.succeeded {
        eprintln!("run {run_id} already succeeded; nothing to resume");
        return Exit::Success;
    }
    let prepared = match prepared(&runtime, found.input, run_id) {
        Ok(p) => p,
        Err(exit) => return exit,
    };
    eprintln!(
        "resuming {} after {} completed step(s)",
        prepared.request.run_id,
        found.resume.completed.len()
    );
    let resume = Some(found.resume);
    execute(
        &runtime,
        prepared,
        found.journal,
        resume,
        args.approve_from.as_deref(),
        args.output,
    )
}

/// `plugctl runs`.
pub fn runs(args: &RunsArgs) -> Exit {
    let settings = match settings(plug_runtime::Flags::default()) {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    let runs = match plug_skill::journal::list(settings.state.root()) {
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
    let state = plug_runtime::StateDir::from_env();
    let answer = AnswerFile {
        approver: args.approver.unwrap_or_else(current_user),
        approve,
        reason: args.reason,
    };
    match Mailbox::new(state.approvals()).answer(&args.run_id, &answer) {
        Ok(()) => {
            let done = if approve { "approved" } else { "refused" };
            println!("{done} run {}", args.run_id);
            Exit::Success
        }
        Err(e) => usage(&e.to_string()),
    }
}

/// Runs on this terminal: approvals and prompts here, progress on stderr,
/// Ctrl-C stops at the next step boundary.
fn execute(
    runtime: &Runtime,
    prepared: Prepared,
    mut journal: Journal,
    resume: Option<Resume>,
    approve_from: Option<&std::path::Path>,
    output: Output,
) -> Exit {
    let settings = runtime.settings();
    let mailbox = Mailbox::new(settings.state.approvals());
    let approver = match crate::terminal::approver(approve_from, mailbox, settings.approval_timeout)
    {
        Ok(a) => a,
        Err(e) => return usage(&e),
    };
    let tokio = match super::async_runtime() {
        Ok(rt) => rt,
        Err(exit) => return exit,
    };
    tokio.block_on(async move {
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
            approver,
            prompter: Arc::new(TerminalPrompter),
            observe: Box::new(move |audit| Arc::new(Progress::new(audit, output == Output::Json))),
            interrupt,
        };
        eprintln!("{}", report::started(&prepared, &journal));
        match runtime.perform(prepared, &mut journal, resume, host).await {
            Ok(report) => {
                print_report(&report, output, &runtime.settings().state.audit_log());
                for_outcome(&report.outcome)
            }
            Err(e) => usage(&e.to_string()),
        }
    })
}

fn print_plan(prepared: &Prepared, plan: &plug_skill::plan::Plan) {
    let request = &prepared.request;
    println!(
        "plan for {} / {} as {}",
        request.plugin, request.skill.name.value, request.actor
    );
    for (i, step) in plan.steps.iter().enumerate() {
        let fallback = step.fallback.as_ref().map(|f| format!(" (fallback: {f})"));
        println!(
            "  {}. {:<20} {:<12} {}{}",
            i + 1,
            step.name,
            step.action,
            step.target,
            fallback.unwrap_or_default()
        );
        if !step.inputs.is_null() {
            println!("       inputs: {}", step.inputs);
        }
    }
    if !plan.actions.is_empty() {
        println!("IAM actions:");
    }
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
    for hook in &plan.hooks {
        let how = if hook.critical {
            "critical"
        } else {
            "best-effort"
        };
        println!("hook {} ({how})", hook.event);
    }
    if !plan.missing_params.is_empty() {
        println!("missing params: {}", plan.missing_params.join(", "));
    }
}

fn print_report(report: &RunReport, output: Output, audit: &std::path::Path) {
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
    println!("run {}: {}", report.run_id, report::summary(report));
    println!("audit log: {}", audit.display());
}
