//! `plugctl validate`: the manifest's own findings plus plug-runtime's lint
//! (AWS calls against the models, least privilege), printed.

mod marketplace;

use std::path::PathBuf;

use plug_manifest::{Severity, load_plugin};

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
                    marketplace::validate(path, strict, output, &mut records)
                {
                    failed |= market_failed;
                    continue;
                }
                super::report_load_error(&e);
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
    for finding in &plugin.findings {
        eprintln!("{:?}", finding.to_report());
    }
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
