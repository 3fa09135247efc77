//! What the catalogue says about an action or a condition key: unknown (with
//! the closest known name), a wildcard that matches nothing, a key the
//! statement's actions do not support.

use std::fmt;

use super::{Action, Catalogue, Service};
use crate::diagnostic::{Code, Sink};

/// Below this Jaro-Winkler similarity a name is not offered as a suggestion.
const SUGGEST_ABOVE: f64 = 0.8;

/// Shown at most this many actions when listing where a key applies.
const LISTED: usize = 3;

/// Something wrong with an action or action pattern. Its `Display` says what;
/// [`ActionProblem::suggestion`] offers the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionProblem {
    /// No service has this prefix.
    UnknownService {
        /// The action as written.
        action: String,
        /// The closest known action (or `prefix:*`), if any is close.
        suggestion: Option<String>,
    },
    /// The service has no such action.
    UnknownAction {
        /// The action as written.
        action: String,
        /// The closest action of the service, if any is close.
        suggestion: Option<String>,
    },
    /// A pattern with wildcards that matches no action.
    MatchesNothing {
        /// The pattern as written.
        pattern: String,
    },
}

impl ActionProblem {
    /// The replacement to offer, if there is one.
    pub fn suggestion(&self) -> Option<&str> {
        match self {
            ActionProblem::UnknownService { suggestion, .. }
            | ActionProblem::UnknownAction { suggestion, .. } => suggestion.as_deref(),
            ActionProblem::MatchesNothing { .. } => None,
        }
    }
}

impl fmt::Display for ActionProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ActionProblem::UnknownService { action, .. } => {
                let prefix = action.split(':').next().unwrap_or_default();
                write!(f, "`{action}`: no AWS service has the prefix `{prefix}`")
            }
            ActionProblem::UnknownAction { action, .. } => {
                let prefix = action.split(':').next().unwrap_or_default();
                write!(f, "`{action}` is not an action of {prefix}")
            }
            ActionProblem::MatchesNothing { pattern } => {
                write!(f, "`{pattern}` matches no AWS action")
            }
        }
    }
}

/// Something wrong with a condition key in a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyProblem {
    /// The key's service has no key of this name.
    UnknownKey {
        /// The key as written.
        key: String,
        /// The closest key of the service, if any is close.
        suggestion: Option<String>,
    },
    /// None of the statement's actions supports the key, so a condition
    /// on it sees no value (and only `...IfExists` or `Null` tests pass).
    NotApplicable {
        /// The key as written.
        key: String,
        /// Some of the statement's actions.
        actions: Vec<String>,
        /// Some actions that do support the key.
        supported_by: Vec<String>,
    },
}

impl fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyProblem::UnknownKey { key, suggestion } => {
                let prefix = key.split(':').next().unwrap_or_default();
                write!(f, "`{key}` is not a condition key of {prefix}")?;
                match suggestion {
                    Some(s) => write!(f, "; did you mean `{s}`?"),
                    None => Ok(()),
                }
            }
            KeyProblem::NotApplicable {
                key,
                actions,
                supported_by,
            } => {
                write!(
                    f,
                    "condition key `{key}` does not apply to {}: their requests never carry it, so the condition always sees it missing",
                    actions.join(", ")
                )?;
                if !supported_by.is_empty() {
                    write!(f, "; it applies to {}", supported_by.join(", "))?;
                }
                Ok(())
            }
        }
    }
}

impl Catalogue {
    /// What is wrong with an action or action pattern (`*` and `?` allowed),
    /// or `None` when it names or matches actions. Text that is not
    /// `service:name` is left to the parser.
    pub fn check_action(&self, action: &str) -> Option<ActionProblem> {
        let (prefix, name) = action.split_once(':')?;
        let prefix_has_wildcard = prefix.contains(['*', '?']);
        if !prefix_has_wildcard && self.service(prefix).is_none() {
            return Some(ActionProblem::UnknownService {
                action: action.to_owned(),
                suggestion: self.suggest_service(prefix, name),
            });
        }
        if action.contains(['*', '?']) {
            return self
                .matching(action)
                .is_empty()
                .then(|| ActionProblem::MatchesNothing {
                    pattern: action.to_owned(),
                });
        }
        let service = self.service(prefix)?;
        if service.action(name).is_some() {
            return None;
        }
        let suggestion = closest(name, service.actions.iter().map(|a| a.name.as_str()))
            .map(|n| format!("{}:{n}", service.prefix));
        Some(ActionProblem::UnknownAction {
            action: action.to_owned(),
            suggestion,
        })
    }

    /// The closest service prefix, with the action name corrected within it
    /// when that is possible too.
    fn suggest_service(&self, prefix: &str, name: &str) -> Option<String> {
        let best = closest(prefix, self.services.iter().map(|s| s.prefix.as_str()))?;
        let service = self.service(best)?;
        if name.contains(['*', '?']) || service.action(name).is_some() {
            return Some(format!("{}:{name}", service.prefix));
        }
        let fixed = closest(name, service.actions.iter().map(|a| a.name.as_str()));
        Some(format!("{}:{}", service.prefix, fixed.unwrap_or("*")))
    }

    /// What is wrong with condition key `key` in a statement whose actions
    /// are `actions` (the catalogue's entries for them). Global `aws:` keys
    /// apply everywhere; keys of prefixes that are no service (identity
    /// providers' `saml:`, `accounts.google.com:` ...) are not judged.
    pub fn check_key(&self, key: &str, actions: &[(&Service, &Action)]) -> Option<KeyProblem> {
        let (prefix, _) = key.split_once(':')?;
        if prefix.eq_ignore_ascii_case("aws") {
            return None;
        }
        let service = self.service(prefix)?;
        if service.key(key).is_none() {
            let names = service.keys.iter().map(|k| k.name.as_str());
            return Some(KeyProblem::UnknownKey {
                key: key.to_owned(),
                suggestion: closest(key, names).map(str::to_owned),
            });
        }
        let supported = |(s, a): &(&Service, &Action)| s.keys_of(a).any(|k| k.matches(key));
        if actions.is_empty() || actions.iter().any(supported) {
            return None;
        }
        let supported_by = service
            .actions
            .iter()
            .filter(|a| supported(&(service, a)))
            .take(LISTED)
            .map(|a| format!("{}:{}", service.prefix, a.name))
            .collect();
        let mut names: Vec<String> = actions
            .iter()
            .take(LISTED)
            .map(|(s, a)| format!("{}:{}", s.prefix, a.name))
            .collect();
        if actions.len() > LISTED {
            names.push(format!("and {} more", actions.len() - LISTED));
        }
        Some(KeyProblem::NotApplicable {
            key: key.to_owned(),
            actions: names,
            supported_by,
        })
    }
}

/// Warns, in a statement, about actions the catalogue does not know and
/// condition keys its actions do not support. `actions` and `keys` are the
/// texts with their offsets; `negated` is `NotAction`, whose actions are
/// "everything else" and so not judged against keys.
pub(crate) fn lint_statement(
    sink: &mut Sink<'_>,
    catalogue: &Catalogue,
    actions: &[(&str, usize)],
    negated: bool,
    keys: &[(&str, usize)],
) {
    let mut all_known = !negated;
    for &(action, offset) in actions {
        all_known &= !action
            .split(':')
            .next()
            .is_some_and(|p| p.contains(['*', '?']));
        let Some(problem) = catalogue.check_action(action) else {
            continue;
        };
        all_known = false;
        let code = match problem {
            ActionProblem::MatchesNothing { .. } => Code::NoMatchingAction,
            _ => Code::UnknownAction,
        };
        let message = match problem.suggestion() {
            Some(s) => format!("{problem}; did you mean `{s}`?"),
            None => problem.to_string(),
        };
        sink.warning(offset, code, message);
    }
    // With an unknown action or a service wildcard the statement's actions
    // are not all known, so only unknown keys are reported.
    let mut matched: Vec<(&Service, &Action)> = Vec::new();
    if all_known {
        for &(action, _) in actions {
            matched.extend(catalogue.matching(action));
        }
        matched.sort_by_key(|(s, a)| (s.prefix.as_str(), a.name.as_str()));
        matched.dedup_by_key(|(s, a)| (s.prefix.as_str(), a.name.as_str()));
    }
    for &(key, offset) in keys {
        match catalogue.check_key(key, &matched) {
            Some(p @ KeyProblem::UnknownKey { .. }) => {
                sink.warning(offset, Code::UnknownConditionKey, p.to_string());
            }
            Some(p) => sink.warning(offset, Code::InapplicableConditionKey, p.to_string()),
            None => {}
        }
    }
}

/// The most similar name (case-insensitive), if it is similar enough.
fn closest<'n>(wanted: &str, names: impl Iterator<Item = &'n str>) -> Option<&'n str> {
    let wanted = wanted.to_ascii_lowercase();
    names
        .map(|n| (strsim::jaro_winkler(&wanted, &n.to_ascii_lowercase()), n))
        .filter(|(score, _)| *score > SUGGEST_ABOVE)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundled() -> &'static Catalogue {
        Catalogue::bundled().expect("embedded catalogue reads")
    }

    #[test]
    fn a_misspelt_action_gets_the_real_one() {
        let problem = bundled().check_action("lambda:CreateFuntion");
        assert_eq!(
            problem.as_ref().and_then(ActionProblem::suggestion),
            Some("lambda:CreateFunction")
        );
        assert!(matches!(problem, Some(ActionProblem::UnknownAction { .. })));
        assert_eq!(bundled().check_action("lambda:createfunction"), None);
    }

    #[test]
    fn a_misspelt_service_gets_the_real_one() {
        let problem = bundled().check_action("lamda:CreateFunction");
        assert_eq!(
            problem.as_ref().and_then(ActionProblem::suggestion),
            Some("lambda:CreateFunction")
        );
        assert_eq!(
            problem.map(|p| p.to_string()).as_deref(),
            Some("`lamda:CreateFunction`: no AWS service has the prefix `lamda`")
        );
    }

    #[test]
    fn wildcards_must_match_something() {
        assert_eq!(bundled().check_action("s3:Get*"), None);
        assert_eq!(bundled().check_action("*"), None);
        assert_eq!(
            bundled().check_action("s3:Fetch*"),
            Some(ActionProblem::MatchesNothing {
                pattern: "s3:Fetch*".into()
            })
        );
        assert!(bundled().check_action("zzz*:Get*").is_some());
    }

    #[test]
    fn keys_must_apply_to_some_action_of_the_statement() {
        let c = bundled();
        let create = c.matching("lambda:CreateFunction");
        let list = c.matching("lambda:ListFunctions");
        assert_eq!(c.check_key("lambda:Layer", &create), None);
        assert_eq!(c.check_key("aws:PrincipalTag/ActorType", &list), None);
        assert_eq!(c.check_key("saml:aud", &list), None);
        let problem = c.check_key("lambda:Layer", &list).expect("not applicable");
        let message = problem.to_string();
        assert!(
            message.contains("does not apply to lambda:ListFunctions"),
            "{message}"
        );
        assert!(message.contains("lambda:CreateFunction"), "{message}");
        let unknown = c.check_key("lambda:Layers", &create).expect("unknown");
        assert_eq!(
            unknown,
            KeyProblem::UnknownKey {
                key: "lambda:Layers".into(),
                suggestion: Some("lambda:Layer".into())
            }
        );
    }
}
