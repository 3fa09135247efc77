//! `plugctl run`, `plan`, `resume`, `runs`, `approve`, `reject`: the
//! arguments become a [`RunInput`] for plug-runtime, the results output.

use std::collections::BTreeMap;
use std::sync::Arc;

use plug_core::RunId;
use plug_runtime::approval::{AnswerFile, Mailbox};
use plug_runtime::prepare::PrepareError;
use plug_runtime::{ParamValue, Prepared, RunHost, RunInput, Runtime, new_run_id, report};
use plug_skill::journal::Resume;
use plug_skill::{Journal, RunReport};

use crate::cli::Output;
use crate::cli::run::{AnswerArgs, ResumeArgs, RunArgs, RunsArgs};
use crate::exit::{Exit, OrUsage, Outcome, for_outcome, usage};
use crate::setup::runtime;
use crate::terminal::{Progress, TerminalPrompter};

/// `plugctl run`.
pub fn run(args: &RunArgs) -> Outcome {
    let runtime = runtime(args.flags())?;
    let prepared = prepared(&runtime, input(args), new_run_id().or_usage()?)?;
    admitted(&prepared)?;
    let journal = runtime
        .create_journal(&prepared.request.run_id)
        .or_usage()?;
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
pub fn plan(args: &RunArgs) -> Outcome {
    let runtime = runtime(args.flags())?;
    let prepared = prepared(&runtime, input(args), RunId::new("plan").or_usage()?)?;
    let plan = crate::setup::async_runtime()?
        .block_on(runtime.plan(&prepared))
        .or_usage()?;
    match args.output {
        Output::Json => {
            let json = report::plan_json(&plan, &prepared);
            println!(
                "{}",
                serde_json::to_string_pretty(&json).unwrap_or_default()
            );
        }
        Output::Human => {
            let request = &prepared.request;
            let (plugin, skill) = (&request.plugin, &request.skill.name.value);
            print!("plan for {plugin} / {skill} as {}\n{plan}", request.actor);
            println!("{}", report::admission(&prepared));
        }
    }
    Ok(Exit::Success)
}

/// Refuses (exit 7) a run deny-by-default does not let start, before
/// anything of it is journaled.
fn admitted(prepared: &Prepared) -> Result<(), Exit> {
    match &prepared.admission {
        Ok(()) => Ok(()),
        Err(refusal) => {
            eprintln!("error: {refusal}");
            Err(Exit::Refused)
        }
    }
}

/// What `run` and `plan` ask for.
fn input(args: &RunArgs) -> RunInput {
    RunInput {
        plugin: args.plugin.clone(),
        skill: args.skill.clone(),
        params: text_params(&args.params),
        actor: args.actor.into(),
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
            crate::diagnostics::report_findings(findings);
        }
        usage(&e.to_string())
    })
}

/// `plugctl resume <run-id>`.
pub fn resume(args: &ResumeArgs) -> Outcome {
    let Ok(run_id) = RunId::new(args.run_id.clone()) else {
        return Err(usage(&format!("`{}` is not a run id", args.run_id)));
    };
    let runtime = runtime(args.flags())?;
    let found = runtime
        .reopen(&run_id, text_params(&args.params))
        .or_usage()?;
    if found.succeeded {
        eprintln!("run {run_id} already succeeded; nothing to resume");
        return Ok(Exit::Success);
    }
    eprintln!("{}", found.describe(&run_id));
    let prepared = prepared(&runtime, found.input, run_id)?;
    admitted(&prepared)?;
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
pub fn runs(args: &RunsArgs) -> Outcome {
    let (runs, unreadable) = plug_runtime::StateDir::from_env().runs();
    unreadable
        .iter()
        .for_each(|e| eprintln!("warning: skipped {e}"));
    match args.output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&runs).unwrap_or_default()
        ),
        Output::Human => {
            for r in runs {
                println!(
                    "{:<30} {:<20} {:<26} {:<16} {} step(s) done{}",
                    r.run_id,
                    r.state,
                    r.plugin,
                    r.skill,
                    r.steps_done,
                    r.notes()
                );
            }
        }
    }
    Ok(Exit::Success)
}

/// `plugctl approve` / `plugctl reject`: the answer is the verified
/// person's (AWS says who), never a name taken on its word.
pub fn answer(args: AnswerArgs, approve: bool) -> Outcome {
    let settings = crate::setup::settings(plug_runtime::Flags::default())?;
    let verify = plug_runtime::humans::verify(&settings.identity, args.approver.as_deref());
    let human = crate::setup::async_runtime()?
        .block_on(verify)
        .map_err(|e| {
            eprintln!("error: {e}");
            Exit::Refused
        })?;
    let answer = AnswerFile {
        approver: human.name,
        approve,
        reason: args.reason,
        verified_arn: Some(human.arn),
        nonce: None,
    };
    Mailbox::new(settings.state.approvals())
        .answer(&args.run_id, &answer)
        .or_usage()?;
    let done = if approve { "approved" } else { "refused" };
    println!("{done} run {} as {}", args.run_id, answer.approver);
    Ok(Exit::Success)
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
) -> Outcome {
    let settings = runtime.settings();
    let mailbox = Mailbox::new(settings.state.approvals());
    let approver =
        crate::terminal::approver(approve_from, mailbox, settings.approval_timeout).or_usage()?;
    crate::setup::async_runtime()?.block_on(async move {
        let (stop, interrupt) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            plug_runtime::signals::stop_requested().await;
            eprintln!("interrupt: stopping the run (resume with `plugctl resume`)");
            let _ = stop.send(true);
        });
        let host = RunHost {
            approver,
            prompter: Arc::new(TerminalPrompter),
            observe: Box::new(move |audit| Arc::new(Progress::new(audit, output == Output::Json))),
            interrupt,
        };
        eprintln!("{}", report::started(&prepared, &journal));
        let report = runtime
            .perform(prepared, &mut journal, resume, host)
            .await
            .map_err(|e| crate::exit::runtime_failed(&e))?;
        print_report(&report, output, &runtime.settings().state.audit_log());
        Ok(for_outcome(&report.outcome))
    })
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
