//! `plugctl inspect`.

use std::collections::BTreeMap;
use std::path::Path;

use plug_manifest::inspect::summarize;
use plug_manifest::load_plugin;

use crate::cli::Output;
use crate::exit::Exit;

/// Prints a plugin's summary; a plugin with errors gets its findings instead.
pub fn run(path: &Path, supplied: BTreeMap<String, String>, output: Output) -> Exit {
    let plugin = match load_plugin(path) {
        Ok(plugin) => plugin,
        Err(e) => {
            crate::diagnostics::report_load_error(&e);
            return Exit::Usage;
        }
    };
    if plugin.has_failures(false) {
        crate::diagnostics::report_findings(&plugin.findings);
        return Exit::Findings;
    }
    let Some(mut summary) = summarize(&plugin, &supplied) else {
        return Exit::Findings;
    };
    let allow = match crate::setup::settings(plug_runtime::Flags::default()) {
        Ok(settings) => settings.governance.allow,
        Err(exit) => return exit,
    };
    for skill in &mut summary.skills {
        skill.allowed_for_agents = allow.names(&summary.name, &skill.name);
    }
    match output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&summary).unwrap_or_default()
        ),
        Output::Human => print!("{summary}"),
    }
    Exit::Success
}
