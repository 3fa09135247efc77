//! `plugctl hooks run`: fire one event's hooks of a plugin (plug-runtime's
//! `hooks::fire`), isolated as in a real run, and print what they did.

use std::fmt::Write as _;

use plug_core::ports::{HookDecision, HookError, HookInput};
use plug_hooks::{HookReport, Verdict};
use plug_runtime::hooks::{FireError, Moment, fire};

use crate::cli::{HooksCommand, Output};
use crate::exit::Exit;

/// Runs a `plugctl hooks` subcommand.
pub fn run(command: HooksCommand) -> Exit {
    let HooksCommand::Run {
        plugin,
        event,
        input,
        step,
        action,
        set,
        output,
    } = command;
    let moment = Moment {
        event,
        step,
        action,
    };
    let tokio = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return crate::exit::usage(&format!("cannot start the async runtime: {e}")),
    };
    let fired = match tokio.block_on(fire(&plugin, moment, input.as_deref(), &set)) {
        Ok(fired) => fired,
        Err(FireError::Load(e)) => {
            crate::diagnostics::report_load_error(&e);
            return Exit::Usage;
        }
        Err(FireError::Invalid { findings, .. }) => {
            crate::diagnostics::report_findings(&findings);
            return Exit::Findings;
        }
        Err(e) => return crate::exit::usage(&e.to_string()),
    };
    let shown = match output {
        Output::Json => serde_json::to_string_pretty(&fired.to_json()).unwrap_or_default() + "\n",
        Output::Human => render(&fired.input, &fired.reports, &fired.decision),
    };
    // The plugin's sensitive values never show, whatever a hook printed.
    print!("{}", fired.settings.redact(&shown));
    match fired.decision {
        Ok(HookDecision::Continue { .. }) => Exit::Success,
        Ok(HookDecision::Block { .. }) | Err(_) => Exit::Findings,
    }
}

fn render(
    input: &HookInput,
    reports: &[HookReport],
    decision: &Result<HookDecision, HookError>,
) -> String {
    let mut out = String::new();
    let what = match &input.action {
        Some(action) => format!("{} (action {action})", input.event),
        None => input.event.clone(),
    };
    let _ = writeln!(
        out,
        "{}: {} hook(s) for {what}",
        input.plugin,
        reports.len()
    );
    for report in reports {
        render_report(&mut out, report);
    }
    let _ = writeln!(out);
    match decision {
        Ok(HookDecision::Continue {
            updated_input,
            messages,
        }) => {
            let _ = writeln!(out, "decision: continue");
            for message in messages {
                let _ = writeln!(out, "  - {message}");
            }
            if let Some(updated) = updated_input {
                let _ = writeln!(out, "  updated input: {updated}");
            }
        }
        Ok(HookDecision::Block { reasons }) => {
            let _ = writeln!(out, "decision: block");
            for reason in reasons {
                let _ = writeln!(out, "  - {reason}");
            }
        }
        Err(e) => {
            let _ = writeln!(out, "decision: abort: {e}");
        }
    }
    out
}

fn render_report(out: &mut String, r: &HookReport) {
    let critical = if r.critical {
        "critical"
    } else {
        "best-effort"
    };
    let _ = writeln!(out, "\n[{}] {} ({critical})", r.index + 1, r.handler);
    let result = match &r.verdict {
        Verdict::Allowed => "allowed".to_owned(),
        Verdict::Blocked { reason } => format!("blocked: {reason}"),
        Verdict::Failed { reason } => format!("failed: {reason}"),
    };
    let _ = writeln!(out, "    result:  {result}");
    let _ = writeln!(out, "    sandbox: {}", r.sandbox.landlock);
    if let Some(message) = &r.advice.system_message {
        let _ = writeln!(out, "    message: {message}");
    }
    if let Some(context) = &r.advice.additional_context {
        let _ = writeln!(out, "    context: {context}");
    }
    let stderr = r.stderr.trim();
    if !stderr.is_empty() && !matches!(r.verdict, Verdict::Blocked { .. } | Verdict::Failed { .. })
    {
        let _ = writeln!(
            out,
            "    stderr:  {}",
            stderr.replace('\n', "\n             ")
        );
    }
}
