//! Least-privilege checks on each skill's `required_permissions`: actions the
//! IAM catalogue does not know, and declared actions no step needs.
//!
//! Commands and hooks start without the run's AWS credentials, so only
//! `aws_api` and `wait_for` steps use the declared actions, and plugctl knows
//! which actions those imply. MCP tools are different: an `auth: iam` server
//! is called with the run's credentials, and a stdio server may be given AWS
//! configuration of its own (the Cost Explorer server, say), for needs plugctl
//! cannot see. So a declared action that no `aws_api` or `wait_for` step
//! implies is reported, unless the skill has an `mcp_call` step; such a skill
//! is not judged, rather than warned about actions its tools do use.

use std::sync::Arc;

use plug_manifest::decode::Spanned;
use plug_manifest::native::model::{Action, SkillEntry};
use plug_manifest::{Code, Finding, Plugin, Severity, SourceFile};
use plug_policy::Catalogue;

/// Adds the findings about every skill's declared permissions.
pub(crate) fn check_permissions(plugin: &mut Plugin) {
    let Some(manifest) = &plugin.manifest else {
        return;
    };
    // The catalogue is embedded; if it cannot be read the other checks still run.
    let catalogue = Catalogue::bundled().ok();
    let mut found = Vec::new();
    for entry in &manifest.skills {
        for declared in &entry.required_permissions {
            if let Some(problem) = catalogue.and_then(|c| c.check_action(&declared.value)) {
                found.push(unknown_permission(
                    &plugin.manifest_file,
                    declared,
                    &problem,
                ));
            }
        }
        let Some(needed) = needed_actions(plugin, entry) else {
            continue;
        };
        for declared in &entry.required_permissions {
            let used = needed
                .iter()
                .any(|a| super::action_matches(&declared.value, a));
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

fn unknown_permission(
    file: &Arc<SourceFile>,
    declared: &Spanned<String>,
    problem: &plug_policy::catalogue::ActionProblem,
) -> Finding {
    Finding::warning(
        file.clone(),
        declared.span,
        Code::UnknownPermission,
        problem.to_string(),
        problem.suggestion().map(|s| format!("did you mean `{s}`?")),
    )
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
            "remove it from required_permissions; commands and hooks never get the run's AWS credentials, so only aws_api and wait_for steps use these actions"
                .to_owned(),
        ),
    )
}

/// The actions the skill's steps (and fallbacks) need, or `None` when that
/// cannot be known: the skill file has errors (its steps may be partly
/// decoded), or a step calls an MCP tool.
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
    if broken {
        return None;
    }
    let mut needed = Vec::new();
    for step in &skill.steps {
        let fallback = step.fallback.as_ref().map(|f| &f.action);
        for action in std::iter::once(&step.action).chain(fallback) {
            match action {
                Action::AwsApi {
                    service,
                    method,
                    params,
                    ..
                }
                | Action::WaitFor {
                    service,
                    method,
                    params,
                    ..
                } => {
                    needed.extend(plug_aws::iam_actions(service, method).ok()?);
                    if passes_role(service, params) {
                        needed.push("iam:PassRole".to_owned());
                    }
                }
                Action::McpCall { .. } => return None,
                _ => {}
            }
        }
    }
    Some(needed)
}

/// Whether a call hands a role to the service (`Role`, `RoleArn`,
/// `ExecutionRoleArn`, `IamInstanceProfile`...), which needs `iam:PassRole`.
/// STS and IAM name roles to act on them, not to pass them.
fn passes_role(service: &str, params: &serde_json::Value) -> bool {
    if matches!(service, "sts" | "iam") {
        return false;
    }
    match params {
        serde_json::Value::Object(map) => map.iter().any(|(name, value)| {
            let name = name.to_ascii_lowercase();
            name.ends_with("role")
                || name.ends_with("rolearn")
                || name == "iaminstanceprofile"
                || passes_role(service, value)
        }),
        serde_json::Value::Array(items) => items.iter().any(|v| passes_role(service, v)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn role_members_anywhere_in_the_params_pass_a_role() {
        assert!(passes_role(
            "lambda",
            &json!({"FunctionName": "f", "Role": "arn"})
        ));
        assert!(passes_role(
            "ecs",
            &json!({"containerDefinitions": [], "executionRoleArn": "arn"})
        ));
        assert!(passes_role(
            "ec2",
            &json!({"LaunchTemplateData": {"IamInstanceProfile": {"Arn": "a"}}})
        ));
        assert!(!passes_role(
            "lambda",
            &json!({"FunctionName": "f", "ZipFile": "x"})
        ));
        assert!(!passes_role("iam", &json!({"RoleArn": "arn"})));
        assert!(!passes_role("sts", &json!({"RoleArn": "arn"})));
        assert!(!passes_role("iam", &json!({"RoleName": "r"})));
    }
}
