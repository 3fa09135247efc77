//! One module per subcommand. Each turns its arguments into what the
//! libraries take (plug-runtime for anything that runs or decides), calls
//! them, and prints the result; commands never call each other.

mod audit;
mod aws;
mod check;
mod hooks;
mod inspect;
mod mcp;
mod policy;
mod run;
mod serve;
mod store;
mod telemetry;
mod validate;

use plug_runtime::policies::PolicyError;
use plug_runtime::{Flags, RunSettings, Runtime, RuntimeError};

use crate::cli::{Cli, Command};
use crate::exit::{Exit, usage};

/// Runs the parsed command and returns its exit code.
pub fn run(mut cli: Cli) -> Exit {
    if let Err(exit) = crate::cli::resolve_installed_names(&mut cli.command) {
        return exit;
    }
    match cli.command {
        Command::Run(args) => run::run(&args),
        Command::Plan(args) => run::plan(&args),
        Command::Resume(args) => run::resume(&args),
        Command::Runs(args) => run::runs(&args),
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
        Command::Check { .. } => check::run(cli.command),
        Command::Hooks { command } => hooks::run(command),
        Command::Aws { command } => aws::run(command),
        Command::Mcp { command } => mcp::run(command),
        Command::Serve(args) => serve::run(&args),
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

/// The resolved settings; a broken configuration file is a usage error.
fn settings(flags: Flags) -> Result<RunSettings, Exit> {
    RunSettings::resolve(flags).map_err(|e| usage(&e.to_string()))
}

/// The runtime for `flags`, with its policies' warnings shown.
fn runtime(flags: Flags) -> Result<Runtime, Exit> {
    match Runtime::new(settings(flags)?) {
        Ok((runtime, warnings)) => {
            warnings.iter().for_each(|w| eprintln!("{w}"));
            Ok(runtime)
        }
        Err(RuntimeError::Policies(e)) => Err(policy_error(&e)),
        Err(e) => Err(usage(&e.to_string())),
    }
}

/// Shows every finding of unusable policies (or why they could not be read).
fn policy_error(error: &PolicyError) -> Exit {
    match error {
        PolicyError::Invalid(findings) => findings.iter().for_each(|f| eprintln!("{f}")),
        other => eprintln!("error: {other}"),
    }
    Exit::Usage
}

/// The async runtime a command's AWS or MCP work runs on.
fn async_runtime() -> Result<tokio::runtime::Runtime, Exit> {
    tokio::runtime::Runtime::new()
        .map_err(|e| usage(&format!("cannot start the async runtime: {e}")))
}

/// Prints a load error (the plugin could not be read at all).
fn report_load_error(error: &plug_manifest::LoadError) {
    eprintln!("{:?}", miette::Report::msg(error.to_string()));
}
