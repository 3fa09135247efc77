//! `plugctl validate` on a marketplace repository: the marketplace files
//! (Claude Code, Codex, Cursor) and every local plugin they list.

use std::path::Path;

use plug_manifest::ecosystem::marketplace::{self, Marketplace};
use plug_manifest::{FindingRecord, Severity};

use crate::cli::Output;

/// Validates the marketplace at `path`; `None` when there is none there.
/// Otherwise returns whether it fails (errors, or warnings under `strict`).
pub(super) fn validate(
    path: &Path,
    strict: bool,
    output: Output,
    records: &mut Vec<FindingRecord>,
) -> Option<bool> {
    let checked = match marketplace::check(path) {
        Ok(Some(checked)) => checked,
        Ok(None) => return None,
        Err(e) => {
            super::super::report_load_error(&e);
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
            Output::Human => super::print_human(plugin, path),
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
