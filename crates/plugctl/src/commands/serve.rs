//! `plugctl serve`: plug-serve's MCP server, on the runtime these flags
//! resolve to. Served runs always act as the agent.

use plug_serve::{ServeError, ServeOptions};

use crate::cli::run::ServeArgs;
use crate::exit::Exit;

/// Serves until the client goes away (stdio) or Ctrl-C (HTTP).
pub fn run(args: &ServeArgs) -> Exit {
    let runtime = match super::runtime(args.flags()) {
        Ok(r) => r,
        Err(exit) => return exit,
    };
    let options = ServeOptions {
        plugins: args.plugins.clone(),
        http: args.http,
        token_file: args.token_file.clone(),
    };
    match plug_serve::serve(runtime, &options) {
        Ok(()) => Exit::Success,
        Err(e) => {
            if let ServeError::Invalid { findings, .. } = &e {
                findings
                    .iter()
                    .for_each(|f| eprintln!("{:?}", f.to_report()));
            }
            eprintln!("error: {e}");
            Exit::Usage
        }
    }
}
