//! The inline session policy a run's role sessions are assumed with: it
//! allows exactly the skill's required actions (the one list of
//! [`crate::actions`]), so AWS itself refuses anything else, whatever the
//! role allows. A command given the session (`aws: true`) or an `auth: iam`
//! MCP server signing with it is held to the same actions.
//!
//! AWS caps a session policy at 2,048 characters of plain text. A longer
//! list is collapsed to one wildcard per service (`lambda:*`), which `plan`
//! says, rather than failing the run.

use serde::Serialize;

use crate::actions::unique_actions;
use serde_json::json;

/// AWS's limit on the plain text of inline session policies.
pub const MAX_SESSION_POLICY_CHARS: usize = 2048;

/// A run's session policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionPolicy {
    /// The policy document (compact JSON).
    #[serde(skip)]
    pub document: String,
    /// The actions it allows.
    pub actions: Vec<String>,
    /// Whether the skill's actions were collapsed to service wildcards to fit.
    pub collapsed: bool,
}

impl SessionPolicy {
    /// The session policy allowing `required` (case-insensitive duplicates once).
    pub fn for_actions(required: &[String]) -> SessionPolicy {
        let exact = unique_actions(required.iter().cloned());
        let exact_document = document(&exact);
        if exact_document.len() <= MAX_SESSION_POLICY_CHARS {
            return SessionPolicy {
                document: exact_document,
                actions: exact,
                collapsed: false,
            };
        }
        let services = unique_actions(required.iter().map(|a| match a.split_once(':') {
            Some((service, _)) => format!("{service}:*"),
            None => a.clone(),
        }));
        SessionPolicy {
            document: document(&services),
            actions: services,
            collapsed: true,
        }
    }
}

/// A policy allowing `actions`; with none, one that allows nothing (an
/// empty statement list is not a valid policy).
fn document(actions: &[String]) -> String {
    let statement = if actions.is_empty() {
        json!({"Effect": "Deny", "Action": "*", "Resource": "*"})
    } else {
        json!({"Effect": "Allow", "Action": actions, "Resource": "*"})
    };
    json!({"Version": "2012-10-17", "Statement": [statement]}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn it_allows_exactly_the_skills_actions() {
        let policy = SessionPolicy::for_actions(&[
            "lambda:CreateFunction".into(),
            "iam:PassRole".into(),
            "Lambda:createfunction".into(),
        ]);
        assert!(!policy.collapsed);
        assert_eq!(policy.actions, ["lambda:CreateFunction", "iam:PassRole"]);
        let parsed: serde_json::Value = serde_json::from_str(&policy.document).expect("JSON");
        assert_eq!(
            parsed["Statement"][0]["Action"],
            json!(["lambda:CreateFunction", "iam:PassRole"])
        );
    }

    #[test]
    fn no_actions_allows_nothing() {
        let policy = SessionPolicy::for_actions(&[]);
        assert!(policy.document.contains(r#""Effect":"Deny""#));
    }

    proptest! {
        /// Whatever the skill needs, the policy fits AWS's limit and covers
        /// every required action.
        #[test]
        fn it_always_fits_and_covers_every_action(
            actions in proptest::collection::vec(("[a-z]{2,12}", "[A-Z][a-zA-Z]{3,40}"), 0..400)
        ) {
            let required: Vec<String> = actions.iter().map(|(s, a)| format!("{s}:{a}")).collect();
            let policy = SessionPolicy::for_actions(&required);
            prop_assert!(policy.document.len() <= MAX_SESSION_POLICY_CHARS || policy.collapsed);
            for action in &required {
                prop_assert!(
                    policy.actions.iter().any(|a| crate::actions::action_matches(a, action)),
                    "{} not covered", action
                );
            }
        }
    }
}
