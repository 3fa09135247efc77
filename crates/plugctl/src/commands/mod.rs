//! One module per subcommand. Each turns its arguments into what the
//! libraries take (plug-runtime for anything that runs or decides), calls
//! them, and prints the result; commands never call each other.

mod audit;
mod aws;
mod check;
mod fleet;
mod hooks;
mod inspect;
mod mcp;
mod policy;
mod run;
mod serve;
mod store;
mod telemetry;
mod validate;

use crate::cli::{Cli, Command};
use crate::exit::{Exit, Outcome};

/// Runs the parsed command and returns its exit code.
pub fn run(mut cli: Cli) -> Exit {
    if let Err(exit) = crate::installed::resolve_installed_names(&mut cli.command) {
        return exit;
    }
    match cli.command {
        Command::Run(args) => finish(run::run(&args)),
        Command::Plan(args) => finish(run::plan(&args)),
        Command::Resume(args) => finish(run::resume(&args)),
        Command::Runs(args) => finish(run::runs(&args)),
        Command::Approve(args) => finish(run::answer(args, true)),
        Command::Reject(args) => finish(run::answer(args, false)),
        Command::Validate {
            paths,
            strict,
            output,
        } => validate::run(&paths, strict, output),
        Command::Inspect { path, set, output } => {
            inspect::run(&path, set.into_iter().collect(), output)
        }
        Command::Policy { command } => policy::run(command),
        Command::Check { .. } => finish(check::run(cli.command)),
        Command::Hooks { command } => hooks::run(command),
        Command::Aws { command } => finish(aws::run(command)),
        Command::Mcp { command } => finish(mcp::run(command)),
        Command::Serve(args) => finish(serve::run(&args)),
        Command::Telemetry { command } => finish(telemetry::run(command)),
        Command::Audit(args) => finish(audit::run(&args)),
        Command::Install(args) => finish(store::install(args)),
        Command::Publish(args) => finish(store::publish(args)),
        Command::Worker(args) => finish(fleet::worker(args)),
        Command::Submit(args) => finish(fleet::submit(args)),
        Command::Store { command } => finish(fleet::store(command)),
        Command::List(args) => finish(store::list(args)),
        Command::Update(args) => finish(store::update(args)),
        Command::Remove(args) => finish(store::remove(args)),
        Command::Marketplace { command } => finish(store::marketplace(command)),
        Command::Config { command } => finish(store::config(command)),
    }
}

/// The exit code of a command's outcome, success or failure.
fn finish(outcome: Outcome) -> Exit {
    outcome.unwrap_or_else(|exit| exit)
}
