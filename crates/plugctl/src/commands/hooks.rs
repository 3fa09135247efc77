//! `plugctl hooks run`: fire one event's hooks of a plugin (plug-runtime's
//! `hooks::fire`), isolated as in a real run, and print what they did.

use plug_core::ports::HookDecision;
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
        Output::Human => fired.render(),
    };
    // The plugin's sensitive values never show, whatever a hook printed.
    print!("{}", fired.settings.redact(&shown));
    match fired.decision {
        Ok(HookDecision::Continue { .. }) => Exit::Success,
        Ok(HookDecision::Block { .. }) | Err(_) => Exit::Findings,
    }
}
