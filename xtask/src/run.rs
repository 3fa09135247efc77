//! Running child commands with a visible header and a clear failure.

use std::process::Command;

use crate::workspace_root;

/// Prints a section header so a long CI log is easy to scan.
pub fn step(title: &str) {
    eprintln!("\n==> {title}");
}

/// Runs `cargo <args>` in the workspace root.
pub fn cargo(args: &[&str]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    step(&format!("cargo {}", args.join(" ")));
    status(Command::new(cargo).args(args).current_dir(workspace_root()))
}

/// Runs `cargo <args>` with extra environment variables.
pub fn cargo_env(args: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    step(&format!("cargo {}", args.join(" ")));
    status(
        Command::new(cargo)
            .args(args)
            .envs(env.iter().copied())
            .current_dir(workspace_root()),
    )
}

/// Runs a prepared command and turns a non-zero exit into an error.
pub fn status(command: &mut Command) -> Result<(), String> {
    let shown = format!("{:?}", command);
    let status = command
        .status()
        .map_err(|e| format!("cannot start {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed: {status}"))
    }
}

/// Whether `cargo nextest` is installed (it is on these machines; not everywhere).
pub fn has_nextest() -> bool {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    Command::new(cargo)
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}
