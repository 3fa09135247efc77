//! `plugctl check`: decide every action each skill needs (see
//! [`crate::actions`]) against identity policies, from files or fetched
//! from IAM for a role, as an agent or a human would be decided.

use std::collections::BTreeMap;
use std::path::PathBuf;

use plug_core::Actor;
use plug_core::ports::{ContextValue, PermissionRequest, PermissionVerdict};
use plug_manifest::Plugin;
use plug_policy::{Catalogue, PolicySet};
use serde::Serialize;

use crate::actions::required_actions;
use crate::policies::{LoadedPolicies, PolicyError};
use crate::settings::RunSettings;

/// The caller a check pretends to be: a role session, as plugctl runs do.
/// Only the `ActorType` tag differs between agent and human.
const CHECK_PRINCIPAL: &str = "arn:aws:sts::000000000000:assumed-role/plugctl/check";

/// What to check.
#[derive(Debug, Clone)]
pub struct CheckRequest {
    /// Identity-based policy files.
    pub files: Vec<PathBuf>,
    /// A role (name or ARN) whose inline, attached and boundary policies are fetched from IAM.
    pub role: Option<String>,
    /// Who acts: sets `aws:PrincipalTag/ActorType`.
    pub actor: Actor,
    /// Further condition keys of the request context.
    pub context: Vec<(String, String)>,
}

/// One decided action.
#[derive(Debug, Serialize)]
pub struct CheckRow {
    /// The skill.
    pub skill: String,
    /// The IAM action.
    pub action: String,
    /// The decision and the statements behind it.
    #[serde(flatten)]
    pub verdict: PermissionVerdict,
}

impl CheckRow {
    /// The deciding statement, or for an implicit deny the layers that did not allow.
    pub fn because(&self) -> String {
        let v = &self.verdict;
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
}

/// Why a check could not decide.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The policies cannot be used.
    #[error(transparent)]
    Policies(#[from] PolicyError),
    /// The plugin has no such skill.
    #[error("the plugin has no skill `{0}`")]
    UnknownSkill(String),
    /// A request could not be evaluated.
    #[error("{0}")]
    Evaluate(String),
}

/// The policies of `request`: its files, then the role's from IAM (read as
/// the operator of `settings`). Returns the principal to decide for too.
pub async fn load(
    settings: &RunSettings,
    request: &CheckRequest,
) -> Result<(LoadedPolicies, String), PolicyError> {
    let catalogue = Catalogue::bundled().ok();
    let loaded = LoadedPolicies::from_files(&request.files, catalogue)?;
    let Some(role) = &request.role else {
        return Ok((loaded, CHECK_PRINCIPAL.to_owned()));
    };
    let identity = settings.identity.operator_config();
    let fetched = plug_aws::role_policies::fetch_role_policies(identity, role)
        .await
        .map_err(|source| PolicyError::Fetch {
            role: role.clone(),
            source,
        })?;
    let loaded = loaded.add_role(&fetched, catalogue)?;
    Ok((loaded, session_of(&fetched.arn)))
}

/// Decides each skill's actions (only `skill`'s when given), in manifest order.
pub fn decide(
    plugin: &Plugin,
    skill: Option<&str>,
    policies: &PolicySet,
    principal: &str,
    request: &CheckRequest,
) -> Result<Vec<CheckRow>, CheckError> {
    let skills = skill_actions(plugin);
    if let Some(wanted) = skill
        && !skills.iter().any(|(name, _)| name == wanted)
    {
        return Err(CheckError::UnknownSkill(wanted.to_owned()));
    }
    let mut context = BTreeMap::new();
    context.insert(
        "aws:PrincipalTag/ActorType".to_owned(),
        ContextValue::One(request.actor.to_string()),
    );
    for (k, v) in &request.context {
        context.insert(k.clone(), ContextValue::One(v.clone()));
    }
    let mut rows = Vec::new();
    for (name, actions) in skills.iter().filter(|(n, _)| skill.is_none_or(|s| s == n)) {
        for action in actions {
            let asked = PermissionRequest {
                principal: principal.to_owned(),
                action: action.clone(),
                resource: "*".to_owned(),
                resource_account: None,
                context: context.clone(),
            };
            let verdict = policies
                .evaluate(&asked)
                .map_err(|e| CheckError::Evaluate(e.to_string()))?;
            rows.push(CheckRow {
                skill: name.clone(),
                action: action.clone(),
                verdict,
            });
        }
    }
    Ok(rows)
}

/// Each skill's name and required actions (declared ones only when its
/// file did not load), in manifest order.
pub fn skill_actions(plugin: &Plugin) -> Vec<(String, Vec<String>)> {
    let names: Vec<String> = plugin
        .manifest
        .iter()
        .flat_map(|m| m.skills.iter().map(|s| s.name.value.clone()))
        .collect();
    plugin
        .skills
        .iter()
        .enumerate()
        .map(|(i, s)| match &s.skill {
            Some(skill) => (
                skill.name.value.clone(),
                required_actions(&s.required_permissions, skill),
            ),
            None => (
                names
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| format!("skill #{i}")),
                s.required_permissions.clone(),
            ),
        })
        .collect()
}

/// The session a run of the role would have: `arn:aws:sts::ACCOUNT:assumed-role/NAME/plugctl-check`.
fn session_of(role_arn: &str) -> String {
    let mut parts = role_arn.splitn(6, ':');
    let partition = parts.nth(1).unwrap_or("aws");
    let account = parts.nth(2).unwrap_or("000000000000");
    let name = role_arn.rsplit('/').next().unwrap_or(role_arn);
    format!("arn:{partition}:sts::{account}:assumed-role/{name}/plugctl-check")
}
