//! The checks of `plugctl validate` that need more than the manifest crate
//! knows: every AWS call against the service models, and each skill's
//! `required_permissions` against the actions its calls need (least
//! privilege both ways). The actions come from [`crate::actions`], the same
//! set the permission gate decides.
//!
//! Commands and hooks start without the run's AWS credentials, so only
//! `aws_api` and `wait_for` steps use the declared actions. MCP tools are
//! different: an `auth: iam` server is called with the run's credentials, and
//! a stdio server may be given AWS configuration of its own, for needs
//! plugctl cannot see. So a declared action no call needs is reported, unless
//! the skill has an `mcp_call` step; such a skill is not judged, rather than
//! warned about actions its tools do use.

use std::sync::Arc;

use plug_manifest::decode::Spanned;
use plug_manifest::native::model::{Action, SkillEntry};
use plug_manifest::{Code, Finding, LoadedSkill, Plugin, Severity, SourceFile};
use plug_policy::Catalogue;

pub use crate::actions::undeclared;
use crate::actions::{action_matches, implied_calls};

/// Adds every finding of these checks to the plugin, then puts all of them
/// in source order, file by file.
pub fn check_plugin(plugin: &mut Plugin) {
    let mut found = Vec::new();
    for loaded in &plugin.skills {
        found.extend(call_findings(loaded));
    }
    plugin.findings.extend(found);
    permission_findings(plugin);
    in_source_order(plugin);
}

/// Each call's problems against the model, and each action it needs that
/// the manifest does not declare.
fn call_findings(loaded: &LoadedSkill) -> Vec<Finding> {
    let Some(skill) = &loaded.skill else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for call in implied_calls(skill) {
        let span = method_span(&loaded.file, call.step.span, usize::from(call.fallback));
        for action in undeclared(&call, &loaded.required_permissions) {
            found.push(Finding::warning(
                loaded.file.clone(),
                span,
                Code::UndeclaredPermission,
                format!(
                    "step `{}` calls {} {}, which needs `{action}`, but the manifest does not list it in this skill's required_permissions",
                    call.step.name, call.service, call.method
                ),
                Some(format!(
                    "add `{action}` to required_permissions (least privilege: declare exactly what the skill uses)"
                )),
            ));
        }
        for problem in plug_aws::validate_call(call.service, call.method, call.params) {
            let member = if problem.path.is_empty() {
                String::new()
            } else {
                format!(", `{}`", problem.path)
            };
            found.push(Finding::error(
                loaded.file.clone(),
                span,
                Code::AwsCall,
                format!("step `{}`{member}: {}", call.step.name, problem.message),
                problem
                    .suggestion
                    .as_ref()
                    .map(|s| format!("did you mean `{s}`?")),
            ));
        }
    }
    found
}

/// The `n`-th `method:` value inside a step (0: the step's, 1: its fallback's),
/// or the whole step when it cannot be found.
fn method_span(file: &SourceFile, step: miette::SourceSpan, n: usize) -> miette::SourceSpan {
    let start = step.offset();
    let text = file.text.get(start..start + step.len()).unwrap_or_default();
    let Some((at, _)) = text.match_indices("method:").nth(n) else {
        return step;
    };
    let value = at + "method:".len();
    let skip = text[value..].len() - text[value..].trim_start().len();
    let len = text[value + skip..]
        .find(['\n', ' ', '#'])
        .unwrap_or(text.len() - value - skip);
    miette::SourceSpan::new((start + value + skip).into(), len)
}

/// Actions the IAM catalogue does not know, and declared actions no call needs.
fn permission_findings(plugin: &mut Plugin) {
    let Some(manifest) = &plugin.manifest else {
        return;
    };
    // The catalogue is embedded; if it cannot be read the other checks still run.
    let catalogue = Catalogue::bundled().ok();
    let mut found = Vec::new();
    for entry in &manifest.skills {
        for declared in &entry.required_permissions {
            if let Some(problem) = catalogue.and_then(|c| c.check_action(&declared.value)) {
                found.push(Finding::warning(
                    plugin.manifest_file.clone(),
                    declared.span,
                    Code::UnknownPermission,
                    problem.to_string(),
                    problem.suggestion().map(|s| format!("did you mean `{s}`?")),
                ));
            }
        }
        let Some(needed) = needed_actions(plugin, entry) else {
            continue;
        };
        for declared in &entry.required_permissions {
            let used = needed.iter().any(|a| action_matches(&declared.value, a));
            // A malformed or unknown declaration has its own finding already.
            let reported =
                plugin.findings.iter().chain(&found).any(|f| {
                    f.span == declared.span && Arc::ptr_eq(&f.file, &plugin.manifest_file)
                });
            if !used && !reported {
                found.push(unused_permission(&plugin.manifest_file, entry, declared));
            }
        }
    }
    plugin.findings.extend(found);
}

fn unused_permission(
    file: &Arc<SourceFile>,
    entry: &SkillEntry,
    declared: &Spanned<String>,
) -> Finding {
    Finding::warning(
        file.clone(),
        declared.span,
        Code::UnusedPermission,
        format!(
            "skill `{}` declares `{}`, but none of its aws_api or wait_for steps needs it",
            entry.name.value, declared.value
        ),
        Some(
            "remove it from required_permissions; only aws_api and wait_for steps, and commands declared `aws: true`, get the run's AWS session"
                .to_owned(),
        ),
    )
}

/// The actions the skill's calls need, or `None` when that cannot be known:
/// the skill file has errors (its steps may be partly decoded), a call names
/// an unknown operation, or a step calls an MCP tool or runs a command
/// declared `aws: true`.
fn needed_actions(plugin: &Plugin, entry: &SkillEntry) -> Option<Vec<String>> {
    let (loaded, skill) = plugin
        .skills
        .iter()
        .filter_map(|l| l.skill.as_ref().map(|s| (l, s)))
        .find(|(_, s)| s.name.value == entry.name.value)?;
    let broken = plugin
        .findings
        .iter()
        .any(|f| f.severity == Severity::Error && Arc::ptr_eq(&f.file, &loaded.file));
    // A tool call or an `aws: true` command may use any action: unknowable here.
    let opaque = (skill.steps.iter())
        .flat_map(|step| step.actions())
        .any(|a| {
            matches!(
                a,
                Action::McpCall { .. } | Action::RunCommand { aws: true, .. }
            )
        });
    if broken || opaque {
        return None;
    }
    let mut needed = Vec::new();
    for call in implied_calls(skill) {
        needed.extend(call.actions?);
    }
    Some(needed)
}

/// Puts the findings the checks above appended back in source order, file
/// by file (the manifest first, then files as they first appear).
fn in_source_order(plugin: &mut Plugin) {
    let mut files = vec![Arc::as_ptr(&plugin.manifest_file)];
    for finding in &plugin.findings {
        let file = Arc::as_ptr(&finding.file);
        if !files.contains(&file) {
            files.push(file);
        }
    }
    plugin.findings.sort_by_key(|f| {
        let file = Arc::as_ptr(&f.file);
        (files.iter().position(|&p| p == file), f.span.offset())
    });
}
