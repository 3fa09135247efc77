//! `plugctl`: the command-line entry point. It parses arguments, wires the
//! library crates together and turns their results into output and an exit
//! code; the work itself happens in the `plug-*` crates.

mod cli;
mod cli_run;
mod commands;
mod config;
mod exit;
mod plugin_settings;
mod serve;
mod state;
mod wiring;

use clap::Parser;

fn main() -> std::process::ExitCode {
    install_report_style();
    let cli = cli::Cli::parse();
    let code = commands::run(cli);
    std::process::ExitCode::from(code as u8)
}

/// Diagnostics look the same in a terminal, a CI log and a snapshot test:
/// colour only on a terminal that did not opt out, a fixed width elsewhere.
fn install_report_style() {
    use std::io::IsTerminal;
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = miette::set_hook(Box::new(move |_| {
        let opts = miette::MietteHandlerOpts::new()
            .terminal_links(false)
            .unicode(true)
            .color(color);
        let opts = if color { opts } else { opts.width(100) };
        Box::new(opts.build())
    }));
}
