//! Deny by default: whether a run may start at all, decided once, here,
//! for every front end. An agent run of a skill that acts on AWS needs
//!
//! - to be allowed: named by the allow-list (`--allow`, `allow:`), when one
//!   is configured (`serve` always needs one, or `--allow-all`);
//! - a role to act as, so CloudTrail can tell its calls apart, unless the
//!   operator configured `identity: base` (recorded as such);
//! - a permission source: policy files, or the role's own policies fetched
//!   from IAM, unless the run is `--unchecked` (recorded as such).
//!
//! A skill that only runs local commands needs none of the last two.

use plug_core::{Actor, Governance};
use plug_manifest::native::model::Skill;

use crate::actions::needs_aws;
use crate::settings::RunSettings;

/// Which skills agents may run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AllowList {
    /// Nothing configured: `run` admits the skill the operator names;
    /// `serve` exposes nothing.
    #[default]
    Unset,
    /// Only these: `SKILL`, `PLUGIN/SKILL` or `PLUGIN/*`.
    Only(Vec<String>),
    /// Every skill (`--allow-all`, `allow_all: true`).
    All,
}

impl AllowList {
    /// Whether the list names `plugin`'s `skill`; `None` when no list is set.
    pub fn names(&self, plugin: &str, skill: &str) -> Option<bool> {
        match self {
            AllowList::Unset => None,
            AllowList::All => Some(true),
            AllowList::Only(entries) => Some(entries.iter().any(|entry| {
                entry == skill
                    || entry
                        .split_once('/')
                        .is_some_and(|(p, s)| p == plugin && (s == skill || s == "*"))
            })),
        }
    }
}

/// What decides and limits runs beyond the identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GovernanceSettings {
    /// `--unchecked`: run without a permission source.
    pub unchecked: bool,
    /// Decide with the role's own policies from IAM too (default).
    pub role_policies: bool,
    /// The skills agents may run.
    pub allow: AllowList,
}

impl Default for GovernanceSettings {
    fn default() -> Self {
        GovernanceSettings {
            unchecked: false,
            role_policies: true,
            allow: AllowList::Unset,
        }
    }
}

/// Why a run is refused before it starts (exit code 7).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The allow-list does not name the skill.
    #[error(
        "skill `{plugin}/{skill}` is not allowed for agents; allow it with --allow {skill} \
         or the configuration file's `allow:` list"
    )]
    NotAllowed {
        /// The plugin.
        plugin: String,
        /// The skill.
        skill: String,
    },
    /// An agent run on AWS without a role to be told apart by.
    #[error(
        "skill `{skill}` acts on AWS and no role is configured: its calls could not be told \
         apart from yours in CloudTrail. Pass --role-arn (or PLUGCTL_ROLE_ARN, `role_arn:`); \
         `identity: base` in the configuration file allows the base credentials"
    )]
    NoRole {
        /// The skill.
        skill: String,
    },
    /// Nothing would decide the run's actions.
    #[error(
        "skill `{skill}` needs AWS permissions and nothing decides them: give --policy FILE, \
         or a role (--role-arn) whose policies plugctl reads from IAM; --unchecked runs \
         without a check and is recorded as such"
    )]
    NoPermissionSource {
        /// The skill.
        skill: String,
    },
}

/// Whether a run of `skill` (needing `required` actions) as `actor` may
/// start, and what it waives if so.
pub fn admit(
    settings: &RunSettings,
    plugin: &str,
    skill: &Skill,
    required: &[String],
    actor: Actor,
) -> Result<Governance, Refusal> {
    let name = &skill.name.value;
    let mut waived = Governance::default();
    if actor != Actor::Agent {
        return Ok(waived);
    }
    if settings.governance.allow.names(plugin, name) == Some(false) {
        return Err(Refusal::NotAllowed {
            plugin: plugin.to_owned(),
            skill: name.clone(),
        });
    }
    if !needs_aws(required, skill) {
        return Ok(waived);
    }
    if settings.identity.role_arn.is_none() {
        if !settings.identity.base_allowed {
            return Err(Refusal::NoRole {
                skill: name.clone(),
            });
        }
        waived.base_identity = true;
    }
    if !has_permission_source(settings) {
        if !settings.governance.unchecked {
            return Err(Refusal::NoPermissionSource {
                skill: name.clone(),
            });
        }
        waived.unchecked = true;
    }
    Ok(waived)
}

/// Whether anything would decide a run's actions: policy files, or the
/// role's own policies.
pub fn has_permission_source(settings: &RunSettings) -> bool {
    !settings.policies.is_empty()
        || (settings.identity.role_arn.is_some() && settings.governance.role_policies)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_name_a_skill_alone_with_its_plugin_or_all_of_a_plugin() {
        let list = AllowList::Only(vec![
            "deploy".into(),
            "ops/rollback".into(),
            "tools/*".into(),
        ]);
        assert_eq!(list.names("any", "deploy"), Some(true));
        assert_eq!(list.names("ops", "rollback"), Some(true));
        assert_eq!(list.names("other", "rollback"), Some(false));
        assert_eq!(list.names("tools", "anything"), Some(true));
        assert_eq!(AllowList::Unset.names("p", "s"), None);
        assert_eq!(AllowList::All.names("p", "s"), Some(true));
    }
}
