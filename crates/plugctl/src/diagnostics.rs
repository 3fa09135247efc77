//! How problems in what the user wrote are shown: plugin findings as
//! annotated source excerpts, policy diagnostics with line and column.

use plug_runtime::policies::PolicyError;

use crate::exit::Exit;

/// Shows every finding of unusable policies (or why they could not be read).
pub fn policy_error(error: &PolicyError) -> Exit {
    match error {
        PolicyError::Invalid(findings) => findings.iter().for_each(|f| eprintln!("{f}")),
        other => eprintln!("error: {other}"),
    }
    Exit::Usage
}

/// Shows a plugin's findings as annotated source excerpts.
pub fn report_findings(findings: &[plug_manifest::Finding]) {
    findings
        .iter()
        .for_each(|f| eprintln!("{:?}", f.to_report()));
}

/// Prints a load error (the plugin could not be read at all).
pub fn report_load_error(error: &plug_manifest::LoadError) {
    eprintln!("{:?}", miette::Report::msg(error.to_string()));
}
