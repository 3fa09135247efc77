//! One module per subcommand.

mod inspect;
mod validate;

use crate::cli::{Cli, Command};
use crate::exit::Exit;

/// Runs the parsed command and returns its exit code.
pub fn run(cli: Cli) -> Exit {
    match cli.command {
        Command::Validate {
            paths,
            strict,
            output,
        } => validate::run(&paths, strict, output),
        Command::Inspect { path, set, output } => {
            inspect::run(&path, set.into_iter().collect(), output)
        }
    }
}

/// Prints a load error (the plugin could not be read at all).
fn report_load_error(error: &plug_manifest::LoadError) {
    eprintln!("{:?}", miette::Report::msg(error.to_string()));
}
