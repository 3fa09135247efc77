//! One AWS operation by name (`plugctl aws call`), as the operator or as a
//! role session tagged with the actor, the same way a run's sessions are.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use plug_aws::AwsClient;
use plug_aws::identity::{RoleConfig, Session};
use plug_core::ports::{AwsCall, AwsError, AwsInvoker};
use plug_core::{Actor, RunId};

use crate::settings::RunSettings;

/// The role to assume first, and the session's attribution.
#[derive(Debug, Clone)]
pub struct CallRole {
    /// The role.
    pub role_arn: String,
    /// The `ActorType` session tag.
    pub actor: Actor,
    /// The session's `SourceIdentity`.
    pub source_identity: Option<String>,
    /// Further session tags.
    pub tags: Vec<(String, String)>,
}

/// Why the call failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// No session: no credentials, or STS refused the role.
    #[error("{0}")]
    Session(String),
    /// The call is not one the models accept.
    #[error("{0}")]
    Invalid(String),
    /// AWS (or the transport) answered with an error.
    #[error(transparent)]
    Aws(AwsError),
}

/// Makes `call` and returns AWS's answer as JSON.
pub async fn call(
    settings: &RunSettings,
    role: Option<CallRole>,
    call: &AwsCall,
) -> Result<serde_json::Value, CallError> {
    let mut config = settings.identity.operator_config();
    config.role = role.map(role_config).transpose()?;
    let session = Session::establish(config)
        .await
        .map_err(|e| CallError::Session(e.to_string()))?;
    let client =
        AwsClient::new(Arc::new(session)).map_err(|e| CallError::Invalid(e.to_string()))?;
    match client.call(call).await {
        Ok(response) => Ok(response.output.to_json()),
        Err(e @ AwsError::Invalid(_)) => Err(CallError::Invalid(e.to_string())),
        Err(e) => Err(CallError::Aws(e)),
    }
}

/// A session named after the moment of the call (`plugctl-call-<ms>`).
fn role_config(role: CallRole) -> Result<RoleConfig, CallError> {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let run_id =
        RunId::new(format!("call-{millis}")).map_err(|e| CallError::Invalid(e.to_string()))?;
    Ok(RoleConfig {
        role_arn: role.role_arn,
        actor: role.actor,
        run_id,
        source_identity: role.source_identity,
        tags: role.tags,
        transitive: false,
        duration: None,
        external_id: None,
        session_policy: None,
    })
}
