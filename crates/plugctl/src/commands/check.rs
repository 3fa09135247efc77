//! `plugctl check`: decide every skill's required actions against identity
//! policies (files, or a role's real policies fetched from IAM), for an
//! agent or a human actor. The deciding is plug-runtime's; this prints it.

use std::fmt::Write as _;

use plug_core::ports::{Decision, PermissionVerdict};
use plug_runtime::check::{CheckRequest, CheckRow, decide, load};

use super::{policy_error, report_load_error, settings};
use crate::cli::{Command, Output};
use crate::exit::{Exit, usage};

/// Runs the check; exit 1 when any action is denied.
pub fn run(command: Command) -> Exit {
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
        return Exit::Usage;
    };
    let flags = plug_runtime::Flags {
        profile,
        region,
        ..plug_runtime::Flags::default()
    };
    let settings = match settings(flags) {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    let request = CheckRequest {
        files: policies,
        role,
        actor,
        context,
    };
    let tokio = match super::async_runtime() {
        Ok(rt) => rt,
        Err(exit) => return exit,
    };
    let (loaded, principal) = match tokio.block_on(load(&settings, &request)) {
        Ok(loaded) => loaded,
        Err(e) => return policy_error(&e),
    };
    if output == Output::Human {
        loaded.warnings.iter().for_each(|w| eprintln!("{w}"));
    }
    let plugin = match plug_manifest::load_plugin(&plugin) {
        Ok(p) => p,
        Err(e) => {
            report_load_error(&e);
            return Exit::Usage;
        }
    };
    let rows = match decide(&plugin, skill.as_deref(), &loaded.set, &principal, &request) {
        Ok(rows) => rows,
        Err(e) => return usage(&e.to_string()),
    };
    print_rows(&rows, output);
    if rows.iter().all(|r| r.verdict.decision == Decision::Allow) {
        Exit::Success
    } else {
        Exit::Findings
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
                explain(&r.verdict),
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

/// The deciding statement, or for an implicit deny the layers that did not allow.
fn explain(v: &PermissionVerdict) -> String {
    match v.statements.first() {
        Some(s) => {
            let sid = s
                .sid
                .as_deref()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default();
            format!("{} statement {}{sid}: {}", s.policy, s.index, s.effect)
        }
        None => {
            let layers: Vec<String> = v
                .blocked_by
                .iter()
                .map(|l| {
                    serde_json::to_value(l)
                        .ok()
                        .and_then(|j| j.as_str().map(String::from))
                        .unwrap_or_default()
                })
                .collect();
            format!("no statement allows it (blocked by: {})", layers.join(", "))
        }
    }
}
