//! `plugctl serve`: plug-serve's MCP server, on the runtime these flags
//! resolve to. Served runs always act as the agent.

use plug_serve::{Ended, ServeError, ServeOptions};

use crate::cli::run::ServeArgs;
use crate::exit::{Exit, Outcome, usage};

/// Serves until the client goes away (stdio, exit 0) or SIGINT or SIGTERM
/// (exit 6: its runs were interrupted).
pub fn run(args: &ServeArgs) -> Outcome {
    let runtime = crate::setup::runtime(args.flags())?;
    let options = ServeOptions {
        plugins: args.plugins.clone(),
        http: args.http,
        token_file: args.token_file.clone(),
    };
    let ended = plug_serve::serve(runtime, &options).map_err(|e| {
        if let ServeError::Invalid { findings, .. } = &e {
            crate::diagnostics::report_findings(findings);
        }
        usage(&e.to_string())
    })?;
    Ok(match ended {
        Ended::ClientLeft => Exit::Success,
        Ended::Signalled => Exit::Interrupted,
    })
}
