//! The IAM actions a skill needs: what its manifest entry declares, what its
//! `aws_api` and `wait_for` steps (and fallbacks) imply, and `iam:PassRole`
//! where a call hands a role to a service. The permission gate, `plan`,
//! `check`, `serve`'s tool hints and `validate`'s least-privilege lint all
//! take their actions from here, so they can never disagree.

use std::collections::BTreeSet;

use plug_manifest::native::model::{Action, Skill, Step};

/// One AWS call of a skill and the IAM actions it implies.
#[derive(Debug, Clone)]
pub struct ImpliedCall<'s> {
    /// The step making the call.
    pub step: &'s Step,
    /// Whether it is the step's fallback call rather than its own.
    pub fallback: bool,
    /// The service, as botocore names it.
    pub service: &'s str,
    /// The operation, as the skill writes it.
    pub method: &'s str,
    /// The call's params, as the skill writes them.
    pub params: &'s serde_json::Value,
    /// The actions it needs; `None` when the operation is unknown (the
    /// validator reports that call on its own).
    pub actions: Option<Vec<String>>,
}

/// Every AWS call of the skill's steps and fallbacks, in step order, with
/// the IAM actions each implies.
pub fn implied_calls(skill: &Skill) -> Vec<ImpliedCall<'_>> {
    let mut calls = Vec::new();
    for step in &skill.steps {
        for (n, action) in step.actions().enumerate() {
            let (Action::AwsApi {
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
            }) = action
            else {
                continue;
            };
            let actions = plug_aws::iam_actions(service, method).ok().map(|mut a| {
                if passes_role(service, params) {
                    a.push("iam:PassRole".to_owned());
                }
                a
            });
            calls.push(ImpliedCall {
                step,
                fallback: n == 1,
                service,
                method,
                params,
                actions,
            });
        }
    }
    calls
}

/// The actions `call` needs that no declared action covers.
pub fn undeclared(call: &ImpliedCall, declared: &[String]) -> Vec<String> {
    let needed = call.actions.iter().flatten();
    needed
        .filter(|action| !declared.iter().any(|d| action_matches(d, action)))
        .cloned()
        .collect()
}

/// Every IAM action the skill needs: the declared ones first, then those its
/// calls imply, each once (IAM action names are case-insensitive).
pub fn required_actions(declared: &[String], skill: &Skill) -> Vec<String> {
    let implied = implied_calls(skill)
        .into_iter()
        .flat_map(|call| call.actions.unwrap_or_default());
    unique_actions(declared.iter().cloned().chain(implied))
}

/// `actions` in order, each once (IAM action names are case-insensitive).
pub fn unique_actions(actions: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    actions
        .filter(|a| seen.insert(a.to_ascii_lowercase()))
        .collect()
}

/// Whether a run of the skill acts on AWS: it needs actions, or one of its
/// commands is declared `aws: true`. Only such runs need a permission source
/// and a tagged role session.
pub fn needs_aws(required: &[String], skill: &Skill) -> bool {
    !required.is_empty()
        || (skill.steps.iter())
            .flat_map(|step| step.actions())
            .any(|a| matches!(a, Action::RunCommand { aws: true, .. }))
}

/// Whether a call hands a role to the service (`Role`, `RoleArn`,
/// `ExecutionRoleArn`, `IamInstanceProfile`...), which needs `iam:PassRole`.
/// STS and IAM name roles to act on them, not to pass them.
pub fn passes_role(service: &str, params: &serde_json::Value) -> bool {
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

/// Whether a declared IAM action (`*` and `?` allowed) covers `action`;
/// actions match case-insensitively, as IAM matches them.
pub fn action_matches(declared: &str, action: &str) -> bool {
    plug_policy::glob::Glob::new(&declared.to_ascii_lowercase())
        .matches(&action.to_ascii_lowercase())
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

    #[test]
    fn declared_globs_cover_actions_case_insensitively() {
        assert!(action_matches("lambda:*", "lambda:CreateFunction"));
        assert!(action_matches(
            "Lambda:createfunction",
            "lambda:CreateFunction"
        ));
        assert!(!action_matches("lambda:Get*", "lambda:CreateFunction"));
    }
}
