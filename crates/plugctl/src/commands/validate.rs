//! `plugctl validate`: the manifest's own findings plus plug-runtime's lint
//! (AWS calls against the models, least privilege), printed; on a
//! marketplace repository, its marketplace files and every local plugin.

use std::path::{Path, PathBuf};

use plug_manifest::ecosystem::marketplace::{self, Marketplace};
use plug_manifest::{FindingRecord, load_plugin};

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
    match unreadable {
        true => Exit::Usage,
        false => crate::exit::findings_if(failed),
    }
}

fn print_human(plugin: &plug_manifest::Plugin, path: &std::path::Path) {
    crate::diagnostics::report_findings(&plugin.findings);
    let name = (plugin.manifest.as_ref())
        .map_or_else(|| path.display().to_string(), |m| m.name.value.clone());
    let skills = (plugin.skills.len(), "skills");
    println!(
        "{}",
        plug_manifest::diagnostic::verdict(&name, &plugin.findings, skills)
    );
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
        failed |= plug_manifest::diagnostic::fails(&market.findings, strict);
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

fn print_market(market: &Marketplace, path: &Path) {
    crate::diagnostics::report_findings(&market.findings);
    let name = (market.name.clone()).unwrap_or_else(|| path.display().to_string());
    let what = market.format.label().trim_end_matches(" plugin");
    let name = format!("{name} ({what} marketplace)");
    let plugins = (market.entries.len(), "plugins");
    println!(
        "{}",
        plug_manifest::diagnostic::verdict(&name, &market.findings, plugins)
    );
}
