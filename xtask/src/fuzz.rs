//! `cargo xtask fuzz [SECONDS] [TARGET...]`: runs the cargo-fuzz targets in
//! `fuzz/` one after the other, each for SECONDS (300 by default), on one
//! core, from its seed corpus. Needs the nightly toolchain (installed with
//! rustup if missing) and cargo-fuzz (installed with `cargo install
//! --locked cargo-fuzz` if missing). Not part of `cargo xtask test`: five
//! minutes a target is not a CI budget.

use std::process::Command;

use crate::run::{status, step};
use crate::workspace_root;

/// Every target in `fuzz/Cargo.toml`, in the order they run.
const TARGETS: &[&str] = &["yaml_parse", "load_skill", "load_manifest", "parse_policy"];

/// Runs the fuzz targets.
pub fn run(args: &[String]) -> Result<(), String> {
    let seconds: u64 = args.first().and_then(|n| n.parse().ok()).unwrap_or(300);
    let named: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| TARGETS.contains(a))
        .collect();
    let unknown: Vec<&String> = args
        .iter()
        .filter(|a| a.parse::<u64>().is_err() && !TARGETS.contains(&a.as_str()))
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "unknown fuzz target {unknown:?}; targets: {TARGETS:?}"
        ));
    }
    let targets = if named.is_empty() {
        TARGETS.to_vec()
    } else {
        named
    };
    prerequisites()?;
    let fuzz_dir = workspace_root().join("fuzz");
    for target in targets {
        step(&format!("fuzz {target} for {seconds} s"));
        // A copy of the seeds: what the fuzzer adds stays out of the repository.
        let corpus = workspace_root().join("target/fuzz-corpus").join(target);
        std::fs::create_dir_all(&corpus).map_err(|e| format!("{}: {e}", corpus.display()))?;
        copy_seeds(&fuzz_dir.join("corpus").join(target), &corpus)?;
        status(
            Command::new("cargo")
                .args(["+nightly", "fuzz", "run", target])
                .arg(&corpus)
                .arg("--")
                .arg(format!("-max_total_time={seconds}"))
                .arg("-rss_limit_mb=2048")
                .arg("-timeout=10")
                .current_dir(&fuzz_dir),
        )?;
    }
    Ok(())
}

/// The nightly toolchain and cargo-fuzz, installed when missing.
fn prerequisites() -> Result<(), String> {
    let has_nightly = Command::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_nightly {
        step("rustup toolchain install nightly");
        status(Command::new("rustup").args([
            "toolchain",
            "install",
            "nightly",
            "--profile",
            "minimal",
        ]))?;
    }
    let has_fuzz = Command::new("cargo")
        .args(["+nightly", "fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_fuzz {
        step("cargo install --locked cargo-fuzz");
        status(Command::new("cargo").args(["install", "--locked", "cargo-fuzz"]))?;
    }
    Ok(())
}

fn copy_seeds(from: &std::path::Path, to: &std::path::Path) -> Result<(), String> {
    let entries = std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?;
    for entry in entries.filter_map(Result::ok) {
        let target = to.join(entry.file_name());
        std::fs::copy(entry.path(), &target).map_err(|e| format!("{}: {e}", target.display()))?;
    }
    Ok(())
}
