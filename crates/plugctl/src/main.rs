//! `plugctl`: the command-line entry point. It parses arguments, wires the
//! library crates together and turns their results into output and an exit
//! code; the work itself happens in the `plug-*` crates.

mod cli;
mod commands;
mod exit;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let code = commands::run(cli);
    std::process::ExitCode::from(code as u8)
}
