//! Verified humans: who a person acting on a run (`run --actor human`,
//! `plugctl approve|reject`) is, as AWS says (`GetCallerIdentity` of the
//! credentials they use), not as they claim. The verified name becomes the
//! session's `SourceIdentity`, so CloudTrail shows the real person. A
//! plugctl run's own session (`.../plugctl-<run-id>`) is never a human: an
//! agent handed its session (`aws: true`) cannot approve its own run.

use plug_core::ids::{ROLE_SESSION_PREFIX, is_session_name_char};

use crate::settings::IdentitySettings;

/// A person AWS vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedHuman {
    /// Their principal ARN.
    pub arn: String,
    /// A `SourceIdentity`-safe name from it (`alice` for `user/alice`).
    pub name: String,
}

/// Why someone could not be verified as a human.
#[derive(Debug, thiserror::Error)]
pub enum HumanError {
    /// AWS could not say who the caller is.
    #[error("cannot verify who you are (sts:GetCallerIdentity): {0}")]
    Unverified(String),
    /// The caller is a plugctl run's session, i.e. an agent.
    #[error("{0} is a plugctl run's session, not a person: a run cannot act as a human for itself")]
    RunSession(String),
    /// The caller claimed another name.
    #[error("you are {verified} ({arn}), not `{claimed}`")]
    Mismatch {
        /// What `--as` said.
        claimed: String,
        /// What AWS said.
        verified: String,
        /// The ARN.
        arn: String,
    },
}

/// Who the operator's credentials (the base chain, no role) belong to.
/// `claimed` (`--as NAME`), when given, must be that person's name.
pub async fn verify(
    identity: &IdentitySettings,
    claimed: Option<&str>,
) -> Result<VerifiedHuman, HumanError> {
    let session = plug_aws::Session::establish(identity.operator_config())
        .await
        .map_err(|e| HumanError::Unverified(e.to_string()))?;
    let arn = session
        .caller_identity()
        .map(|c| c.arn)
        .ok_or_else(|| HumanError::Unverified("no caller identity".to_owned()))?;
    let human = human_of(&arn)?;
    match claimed {
        Some(claimed) if claimed != human.name => Err(HumanError::Mismatch {
            claimed: claimed.to_owned(),
            verified: human.name,
            arn,
        }),
        _ => Ok(human),
    }
}

/// The person behind `arn`, unless it is a plugctl run's session.
pub fn human_of(arn: &str) -> Result<VerifiedHuman, HumanError> {
    let resource = arn.splitn(6, ':').nth(5).unwrap_or(arn);
    let last = resource.rsplit('/').next().unwrap_or(resource);
    if resource.starts_with("assumed-role/") && last.starts_with(ROLE_SESSION_PREFIX) {
        return Err(HumanError::RunSession(arn.to_owned()));
    }
    let mut name: String = last
        .chars()
        .map(|c| if is_session_name_char(c) { c } else { '-' })
        .take(64)
        .collect();
    if name.len() < 2 {
        name = format!("{name}--");
    }
    Ok(VerifiedHuman {
        arn: arn.to_owned(),
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_principal_and_run_sessions_are_refused() {
        let name = |arn: &str| human_of(arn).map(|h| h.name).map_err(|e| e.to_string());
        assert_eq!(
            name("arn:aws:iam::1:user/team/alice").as_deref(),
            Ok("alice")
        );
        assert_eq!(name("arn:aws:iam::1:root").as_deref(), Ok("root"));
        assert_eq!(
            name("arn:aws:sts::1:assumed-role/Admin/bob@example.com").as_deref(),
            Ok("bob@example.com")
        );
        assert!(name("arn:aws:sts::1:assumed-role/Deployer/plugctl-20261207T1-abc").is_err());
    }
}
