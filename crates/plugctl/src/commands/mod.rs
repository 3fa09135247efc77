//! One module per subcommand.

pub(crate) mod audit;
mod aws;
mod check;
mod hooks;
mod inspect;
pub(crate) mod mcp;
mod policy;
pub(crate) mod run;
pub(crate) mod serve;
pub(crate) mod store;
pub(crate) mod telemetry;
mod validate;

use crate::cli::{Cli, Command};
use crate::exit::Exit;

/// Runs the parsed command and returns its exit code.
pub fn run(mut cli: Cli) -> Exit {
    if let Err(exit) = store::resolve_installed_names(&mut cli.command) {
        return exit;
    }
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::Plan(args) => run::plan(args),
        Command::Resume(args) => run::resume(args),
        Command::Runs(args) => run::runs(args),
        Command::Approve(args) => run::answer(args, true),
        Command::Reject(args) => run::answer(args, false),
        Command::Validate {
            paths,
            strict,
            output,
        } => validate::run(&paths, strict, output),
        Command::Inspect { path, set, output } => {
            inspect::run(&path, set.into_iter().collect(), output)
        }
        Command::Policy { command } => policy::run(command),
        Command::Check {
            plugin,
            skill,
            policies,
            role,
            profile,
            region,
            actor,
            context,
            output,
        } => {
            let sources = check::PolicySources {
                files: policies,
                role: role.map(|role| check::RoleSource {
                    role,
                    profile,
                    region,
                }),
            };
            check::run(
                &plugin,
                skill.as_deref(),
                &sources,
                &actor,
                &context,
                output,
            )
        }
        Command::Hooks { command } => hooks::run(command),
        Command::Aws { command } => aws::run(command),
        Command::Mcp { command } => mcp::run(command),
        Command::Serve(args) => serve::run(args),
        Command::Telemetry { command } => telemetry::run(command),
        Command::Audit(args) => audit::run(&args),
        Command::Install(args) => store::install(args),
        Command::List(args) => store::list(args),
        Command::Update(args) => store::update(args),
        Command::Remove(args) => store::remove(args),
        Command::Marketplace { command } => store::marketplace(command),
        Command::Config { command } => store::config(command),
    }
}

/// Prints `error: message` and returns the usage exit code.
pub(crate) fn usage(message: &str) -> Exit {
    eprintln!("error: {message}");
    Exit::Usage
}

/// The async runtime a command's AWS or MCP work runs on.
pub(crate) fn async_runtime() -> Result<tokio::runtime::Runtime, Exit> {
    tokio::runtime::Runtime::new()
        .map_err(|e| usage(&format!("cannot start the async runtime: {e}")))
}

/// Prints a load error (the plugin could not be read at all).
fn report_load_error(error: &plug_manifest::LoadError) {
    eprintln!("{:?}", miette::Report::msg(error.to_string()));
}
