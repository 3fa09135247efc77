//! `plugctl check`: decide every skill's required actions against identity
//! policies (files, or a role's real policies fetched from IAM), for an
//! agent or a human actor. The deciding is plug-runtime's; this prints it.

use std::fmt::Write as _;

use plug_core::ports::Decision;
use plug_runtime::check::{CheckRequest, CheckRow, decide, load};

use crate::cli::{Command, Output};
use crate::diagnostics::{policy_error, report_load_error};
use crate::exit::{Exit, OrUsage, Outcome};
use crate::setup::settings;

/// Runs the check; exit 1 when any action is denied.
pub fn run(command: Command) -> Outcome {
    let Command::Check {
        plugin,
        skill,
        policies,
        role,
        profile,
        region,
        actor,
        context,
        output,
    } = command
    else {
        return Err(Exit::Usage);
    };
    let flags = plug_runtime::Flags {
        profile,
        region,
        ..plug_runtime::Flags::default()
    };
    let settings = settings(flags)?;
    let request = CheckRequest {
        files: policies,
        role,
        actor: actor.into(),
        context,
    };
    let loaded = crate::setup::async_runtime()?.block_on(load(&settings, &request));
    let (loaded, principal) = loaded.map_err(|e| policy_error(&e))?;
    if output == Output::Human {
        loaded.warnings.iter().for_each(|w| eprintln!("{w}"));
    }
    let plugin = plug_manifest::load_plugin(&plugin).map_err(|e| {
        report_load_error(&e);
        Exit::Usage
    })?;
    let rows = decide(&plugin, skill.as_deref(), &loaded.set, &principal, &request).or_usage()?;
    print_rows(&rows, output);
    match rows.iter().all(|r| r.verdict.decision == Decision::Allow) {
        true => Ok(Exit::Success),
        false => Err(Exit::Findings),
    }
}

fn print_rows(rows: &[CheckRow], output: Output) {
    if output == Output::Json {
        match serde_json::to_string_pretty(rows) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("error: {e}"),
        }
        return;
    }
    let cells: Vec<[String; 4]> = rows
        .iter()
        .map(|r| {
            [
                r.skill.clone(),
                r.action.clone(),
                format!("{:?}", r.verdict.decision),
                r.because(),
            ]
        })
        .collect();
    let header = ["SKILL", "ACTION", "DECISION", "BECAUSE"].map(String::from);
    let mut widths = [0; 3];
    for row in std::iter::once(&header).chain(&cells) {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&cells) {
        let _ = writeln!(
            out,
            "{:w0$}  {:w1$}  {:w2$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
    }
    print!("{out}");
}
