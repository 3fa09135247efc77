//! `plugctl check`: decide every skill's required permissions against
//! identity policies, for an agent or a human actor.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use plug_core::ports::{ContextValue, Decision, PermissionRequest, PermissionVerdict};
use plug_policy::{NamedPolicy, PolicySet, Severity, parse_policy};
use serde::Serialize;

use crate::cli::Output;
use crate::exit::Exit;

/// The caller a check pretends to be: a role session, as plugctl runs do.
/// Only the `ActorType` tag differs between agent and human.
const CHECK_PRINCIPAL: &str = "arn:aws:sts::000000000000:assumed-role/plugctl/check";

/// One decided action.
#[derive(Debug, Serialize)]
struct Row {
    skill: String,
    action: String,
    #[serde(flatten)]
    verdict: PermissionVerdict,
}

/// Runs the check; exit 1 when any action is denied.
pub fn run(
    plugin: &Path,
    skill: Option<&str>,
    policy_files: &[PathBuf],
    actor: &str,
    context: &[(String, String)],
    output: Output,
) -> Exit {
    let Some(policies) = load_policies(policy_files, output) else {
        return Exit::Usage;
    };
    let plugin = match plug_manifest::load_plugin(plugin) {
        Ok(p) => p,
        Err(e) => {
            super::report_load_error(&e);
            return Exit::Usage;
        }
    };
    let skills = skill_permissions(&plugin);
    if let Some(wanted) = skill
        && !skills.iter().any(|(name, _)| name == wanted)
    {
        eprintln!("error: the plugin has no skill `{wanted}`");
        return Exit::Usage;
    }
    let mut ctx = BTreeMap::new();
    ctx.insert(
        "aws:PrincipalTag/ActorType".to_owned(),
        ContextValue::One(actor.to_owned()),
    );
    for (k, v) in context {
        ctx.insert(k.clone(), ContextValue::One(v.clone()));
    }
    let mut rows = Vec::new();
    for (name, actions) in skills.iter().filter(|(n, _)| skill.is_none_or(|s| s == n)) {
        for action in actions {
            let request = PermissionRequest {
                principal: CHECK_PRINCIPAL.to_owned(),
                action: action.clone(),
                resource: "*".to_owned(),
                resource_account: None,
                context: ctx.clone(),
            };
            match policies.evaluate(&request) {
                Ok(verdict) => rows.push(Row {
                    skill: name.clone(),
                    action: action.clone(),
                    verdict,
                }),
                Err(e) => {
                    eprintln!("error: {e}");
                    return Exit::Usage;
                }
            }
        }
    }
    print_rows(&rows, output);
    if rows.iter().all(|r| r.verdict.decision == Decision::Allow) {
        Exit::Success
    } else {
        Exit::Findings
    }
}

/// Each skill's name and declared actions, in manifest order.
fn skill_permissions(plugin: &plug_manifest::Plugin) -> Vec<(String, Vec<String>)> {
    let names = plugin
        .manifest
        .as_ref()
        .map(|m| {
            m.skills
                .iter()
                .map(|s| s.name.value.clone())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    plugin
        .skills
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let name = s
                .skill
                .as_ref()
                .map(|k| k.name.value.clone())
                .or_else(|| names.get(i).cloned())
                .unwrap_or_else(|| format!("skill #{i}"));
            (name, s.required_permissions.clone())
        })
        .collect()
}

/// Parses identity policy files, printing their diagnostics; `None` if any is unusable.
pub(crate) fn load_policies(files: &[PathBuf], output: Output) -> Option<PolicySet> {
    let mut set = PolicySet::default();
    let mut ok = true;
    for file in files {
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {}: {e}", file.display());
                ok = false;
                continue;
            }
        };
        let name = file.file_name().map_or_else(
            || file.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        match parse_policy(&text) {
            Ok(policy) => {
                if output == Output::Human {
                    for w in policy
                        .warnings
                        .iter()
                        .filter(|w| w.severity == Severity::Warning)
                    {
                        eprintln!("{}:{w}", file.display());
                    }
                }
                set.identity.push(NamedPolicy::new(name, Arc::new(policy)));
            }
            Err(diagnostics) => {
                for d in diagnostics {
                    eprintln!("{}:{d}", file.display());
                }
                ok = false;
            }
        }
    }
    ok.then_some(set)
}

fn print_rows(rows: &[Row], output: Output) {
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
