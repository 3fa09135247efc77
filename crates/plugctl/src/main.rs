//! `plugctl`: the command-line entry point. It parses arguments into what
//! the libraries take (plug-runtime assembles every run), and turns their
//! results into output and an exit code; the work happens in the `plug-*`
//! crates.

mod cli;
mod commands;
mod diagnostics;
mod exit;
mod installed;
mod setup;
mod terminal;

use clap::Parser;

/// A run allocates small strings on one thread that the telemetry worker
/// reads on another; mimalloc keeps that cheaper than glibc's malloc, and
/// the interpreter's benchmarks measure with it too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    install_report_style();
    quiet_broken_pipe();
    let cli = cli::Cli::parse();
    // A closed stdout makes `println!` panic. Unwinding (rather than exiting
    // on the spot) still runs destructors, so telemetry is flushed.
    let code = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| commands::run(cli))) {
        Ok(code) => code,
        Err(payload) if is_broken_pipe(payload.as_ref()) => exit::Exit::BrokenPipe,
        Err(payload) => std::panic::resume_unwind(payload),
    };
    std::process::ExitCode::from(code as u8)
}

/// Rust ignores SIGPIPE, so a reader that goes away (`plugctl audit | head`)
/// turns the next write into a panic; that is not a bug worth a backtrace.
fn quiet_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !is_broken_pipe(info.payload()) {
            default(info);
        }
    }));
}

/// Whether a panic is `print!`'s "failed printing to stdout: Broken pipe".
fn is_broken_pipe(payload: &(dyn std::any::Any + Send)) -> bool {
    let message = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or_default();
    // The OS's wording of EPIPE ("Broken pipe (os error 32)" on Linux).
    message.starts_with("failed printing to std")
        && message.to_ascii_lowercase().contains("broken pipe")
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
