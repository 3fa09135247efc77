//! `plugctl check`: decide every skill's required permissions against
//! identity policies (files, or a role's real policies fetched from IAM),
//! for an agent or a human actor.

mod role;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use plug_core::ports::{ContextValue, Decision, PermissionRequest, PermissionVerdict};
use plug_policy::{
    Catalogue, NamedPolicy, Policy, PolicySet, Severity, parse_policy, parse_policy_linted,
};
use serde::Serialize;

use crate::cli::Output;
use crate::exit::Exit;

pub use role::RoleSource;

/// Where the policies come from: files, and optionally a role in IAM.
#[derive(Debug, Clone)]
pub struct PolicySources {
    /// Identity-based policy files.
    pub files: Vec<PathBuf>,
    /// A role whose inline, attached managed and boundary policies are fetched.
    pub role: Option<RoleSource>,
}

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
    sources: &PolicySources,
    actor: &str,
    context: &[(String, String)],
    output: Output,
) -> Exit {
    let catalogue = Catalogue::bundled().ok();
    let Some(mut policies) = load_files(&sources.files, output, catalogue) else {
        return Exit::Usage;
    };
    let mut principal = CHECK_PRINCIPAL.to_owned();
    if let Some(source) = &sources.role {
        match add_role_policies(&mut policies, source, output, catalogue) {
            Some(arn) => principal = session_of(&arn),
            None => return Exit::Usage,
        }
    }
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
                principal: principal.clone(),
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
    load_files(files, output, None)
}

/// [`load_policies`], with the catalogue's warnings when one is given.
fn load_files(
    files: &[PathBuf],
    output: Output,
    catalogue: Option<&Catalogue>,
) -> Option<PolicySet> {
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
        match parse_reporting(&text, &file.display().to_string(), output, catalogue) {
            Some(policy) => set.identity.push(NamedPolicy::new(name, Arc::new(policy))),
            None => ok = false,
        }
    }
    ok.then_some(set)
}

/// Parses one policy, printing its warnings (human output) or errors as
/// `shown:line:column: ...`; `None` when it has errors.
fn parse_reporting(
    text: &str,
    shown: &str,
    output: Output,
    catalogue: Option<&Catalogue>,
) -> Option<Policy> {
    let parsed = match catalogue {
        Some(c) => parse_policy_linted(text, c),
        None => parse_policy(text),
    };
    match parsed {
        Ok(policy) => {
            if output == Output::Human {
                let warnings = policy.warnings.iter();
                for w in warnings.filter(|w| w.severity == Severity::Warning) {
                    eprintln!("{shown}:{w}");
                }
            }
            Some(policy)
        }
        Err(diagnostics) => {
            for d in diagnostics {
                eprintln!("{shown}:{d}");
            }
            None
        }
    }
}

/// Adds the role's policies from IAM: inline and attached managed ones as
/// identity policies, its permissions boundary as the boundary layer.
/// Returns the role's ARN; `None` (after saying why) when it cannot.
fn add_role_policies(
    set: &mut PolicySet,
    source: &RoleSource,
    output: Output,
    catalogue: Option<&Catalogue>,
) -> Option<String> {
    let fetched = match role::fetch_blocking(source) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: --role {}: {e}", source.role);
            return None;
        }
    };
    let mut parse = |p: &role::FetchedPolicy| {
        let policy = parse_reporting(&p.document, &p.name, output, catalogue)?;
        Some(NamedPolicy::new(p.name.clone(), Arc::new(policy)))
    };
    let identity: Option<Vec<NamedPolicy>> = fetched.identity.iter().map(&mut parse).collect();
    set.identity.extend(identity?);
    if let Some(boundary) = &fetched.boundary {
        set.boundaries = Some(vec![parse(boundary)?]);
    }
    Some(fetched.arn)
}

/// The session a run of the role would have: `arn:aws:sts::ACCOUNT:assumed-role/NAME/plugctl-check`.
fn session_of(role_arn: &str) -> String {
    let mut parts = role_arn.splitn(6, ':');
    let partition = parts.nth(1).unwrap_or("aws");
    let account = parts.nth(2).unwrap_or("000000000000");
    let name = role_arn.rsplit('/').next().unwrap_or(role_arn);
    format!("arn:{partition}:sts::{account}:assumed-role/{name}/plugctl-check")
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
