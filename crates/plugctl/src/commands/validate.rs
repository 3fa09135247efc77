//! `plugctl validate`: the manifest's own findings plus plug-runtime's lint
//! (AWS calls against the models, least privilege), printed; on a
//! marketplace repository, its marketplace files and every local plugin.

use std::path::{Path, PathBuf};

use plug_manifest::ecosystem::marketplace::{self, Marketplace};
use plug_manifest::{FindingRecord, Severity, load_plugin};

use crate::cli::Output;
use crate::exit::Exit;

/// Validates each path; all findings of all plugins are reported.
pub fn run(paths: &[PathBuf], strict: bool, output: Output) -> Exit {
    let mut records = Vec::new();
    let mut failed = false;
    let mut unreadable = false;
    for path in paths {
        let plugin = match load_plugin(path) {
            Ok(mut plugin) => {
                plug_runtime::lint::check_plugin(&mut plugin);
                plugin
            }
            Err(e) => {
                if let Some(market_failed) =
                    validate_marketplace(path, strict, output, &mut records)
                {
                    failed |= market_failed;
                    continue;
                }
                crate::diagnostics::report_load_error(&e);
                unreadable = true;
                continue;
            }
        };
        failed |= plugin.has_failures(strict);
        match output {
            Output::Human => print_human(&plugin, path),
            Output::Json => records.extend(plugin.findings.iter().map(|f| f.to_record())),
        }
    }
    if output == Output::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(&records).unwrap_or_else(|_| "[]".into())
        );
    }
    if unreadable {
        Exit::Usage
    } else if failed {
        Exit::Findings
    } else {
        Exit::Success
    }
}

fn print_human(plugin: &plug_manifest::Plugin, path: &std::path::Path) {
    crate::diagnostics::report_findings(&plugin.findings);
    let errors = plugin
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = plugin.findings.len() - errors;
    let name = plugin
        .manifest
        .as_ref()
        .map_or_else(|| path.display().to_string(), |m| m.name.value.clone());
    if plugin.findings.is_empty() {
        println!("{name}: ok ({} skills)", plugin.skills.len());
    } else {
        println!("{name}: {errors} error(s), {warnings} warning(s)");
    }
}

/// Validates the marketplace at `path`; `None` when there is none there.
/// Otherwise returns whether it fails (errors, or warnings under `strict`).
fn validate_marketplace(
    path: &Path,
    strict: bool,
    output: Output,
    records: &mut Vec<FindingRecord>,
) -> Option<bool> {
    let checked = match marketplace::check(path) {
        Ok(Some(checked)) => checked,
        Ok(None) => return None,
        Err(e) => {
            crate::diagnostics::report_load_error(&e);
            return Some(true);
        }
    };
    let mut failed = false;
    for market in &checked.marketplaces {
        failed |= fails(market, strict);
        match output {
            Output::Human => print_market(market, path),
            Output::Json => records.extend(market.findings.iter().map(|f| f.to_record())),
        }
    }
    for (_, plugin) in &checked.plugins {
        failed |= plugin.has_failures(strict);
        match output {
            Output::Human => print_human(plugin, path),
            Output::Json => records.extend(plugin.findings.iter().map(|f| f.to_record())),
        }
    }
    Some(failed)
}

fn fails(market: &Marketplace, strict: bool) -> bool {
    market
        .findings
        .iter()
        .any(|f| strict || f.severity == Severity::Error)
}

fn print_market(market: &Marketplace, path: &Path) {
    for finding in &market.findings {
        eprintln!("{:?}", finding.to_report());
    }
    let name = market
        .name
        .clone()
        .unwrap_or_else(|| path.display().to_string());
    let errors = market
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = market.findings.len() - errors;
    let what = format!(
        "{} marketplace",
        market.format.label().trim_end_matches(" plugin")
    );
    if market.findings.is_empty() {
        println!("{name} ({what}): ok ({} plugins)", market.entries.len());
    } else {
        println!("{name} ({what}): {errors} error(s), {warnings} warning(s)");
    }
}
