//! [`RunSessions`]: the real [`AwsSessions`]. A run starts as the agent; when
//! a human approves a gated step, the interpreter asks for a session tagged
//! `ActorType=human` with the approver as `SourceIdentity`. Each distinct
//! (actor, source identity) gets its own assumed-role session, established
//! once and reused.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};
use plug_core::Actor;
use plug_core::ports::{AwsError, AwsInvoker, AwsSessions};
use tokio::sync::Mutex;

use crate::client::{AwsClient, Timeouts};
use crate::identity::{IdentityConfig, IdentityError, Session};
use crate::retry::RetryPolicy;

/// Hands out invokers bound to per-actor sessions of one run.
pub struct RunSessions {
    base: IdentityConfig,
    retry: RetryPolicy,
    timeouts: Timeouts,
    invokers: Mutex<HashMap<(Actor, String), Arc<AwsClient>>>,
}

impl std::fmt::Debug for RunSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunSessions")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl RunSessions {
    /// Sessions derived from `base`. Its role (if any) is the template: the
    /// actor and source identity of each request replace the template's.
    /// Without a role every actor shares the base identity, since only an
    /// assumed-role session can carry tags.
    pub fn new(base: IdentityConfig) -> RunSessions {
        RunSessions {
            base,
            retry: RetryPolicy::from_env(),
            timeouts: Timeouts::default(),
            invokers: Mutex::new(HashMap::new()),
        }
    }

    /// The same, with explicit retry and timeout settings for the invokers.
    pub fn with_settings(
        base: IdentityConfig,
        retry: RetryPolicy,
        timeouts: Timeouts,
    ) -> RunSessions {
        RunSessions {
            retry,
            timeouts,
            ..RunSessions::new(base)
        }
    }

    /// The session settings for one actor.
    fn config_for(&self, actor: Actor, source_identity: &str) -> IdentityConfig {
        let mut config = self.base.clone();
        if let Some(role) = &mut config.role {
            role.actor = actor;
            if !source_identity.is_empty() {
                role.source_identity = Some(source_identity.to_owned());
            }
        }
        config
    }

    /// The client for `actor`, establishing its session on first use.
    pub async fn client(
        &self,
        actor: Actor,
        source_identity: &str,
    ) -> Result<Arc<AwsClient>, AwsError> {
        let key = if self.base.role.is_some() {
            (actor, source_identity.to_owned())
        } else {
            (Actor::Agent, String::new())
        };
        let mut invokers = self.invokers.lock().await;
        if let Some(client) = invokers.get(&key) {
            return Ok(Arc::clone(client));
        }
        let session = Session::establish(self.config_for(actor, source_identity))
            .await
            .map_err(identity_error)?;
        let client = Arc::new(AwsClient::with_settings(
            Arc::new(session),
            self.retry,
            self.timeouts,
        )?);
        invokers.insert(key, Arc::clone(&client));
        Ok(client)
    }

    /// `actor`'s session credentials as a provider for other signers (an
    /// `auth: iam` MCP server): the same session the run's calls use,
    /// established on first use, never the base chain.
    pub fn credentials_provider(self: &Arc<Self>, actor: Actor) -> SharedCredentialsProvider {
        SharedCredentialsProvider::new(SessionCredentials {
            sessions: Arc::clone(self),
            actor,
        })
    }

    /// The region of `actor`'s session.
    pub async fn region(&self, actor: Actor) -> Result<String, AwsError> {
        Ok(self.client(actor, "").await?.session().region().to_owned())
    }
}

/// A run session's credentials, for signers outside [`AwsClient`].
#[derive(Debug)]
struct SessionCredentials {
    sessions: Arc<RunSessions>,
    actor: Actor,
}

impl ProvideCredentials for SessionCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            let client = self
                .sessions
                .client(self.actor, "")
                .await
                .map_err(|e| CredentialsError::provider_error(e.to_string()))?;
            client
                .session()
                .credentials()
                .await
                .map_err(|e| CredentialsError::provider_error(e.to_string()))
        })
    }
}

#[async_trait]
impl AwsSessions for RunSessions {
    async fn invoker(
        &self,
        actor: Actor,
        source_identity: &str,
    ) -> Result<Arc<dyn AwsInvoker>, AwsError> {
        let client: Arc<dyn AwsInvoker> = self.client(actor, source_identity).await?;
        Ok(client)
    }
}

fn identity_error(error: IdentityError) -> AwsError {
    match error {
        IdentityError::Invalid(_) | IdentityError::NoRegion => AwsError::Invalid(error.to_string()),
        IdentityError::Sts {
            ref code,
            ref message,
            ..
        } if code != "Transport" => AwsError::Service {
            code: code.clone(),
            message: message.clone(),
            status: 0,
            request_id: None,
        },
        other => AwsError::Transport(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::RoleConfig;
    use plug_core::RunId;

    #[test]
    fn each_actor_gets_its_own_tags_and_source_identity() {
        let base = IdentityConfig {
            role: Some(RoleConfig {
                role_arn: "arn:aws:iam::000000000000:role/Deployer".into(),
                actor: Actor::Agent,
                run_id: RunId::new("r1").expect("valid"),
                source_identity: Some("operator".into()),
                tags: vec![],
                transitive: false,
                duration: None,
                external_id: None,
                session_policy: None,
            }),
            ..IdentityConfig::default()
        };
        let sessions = RunSessions::new(base);
        let human = sessions.config_for(Actor::Human, "bob");
        let role = human.role.expect("role kept");
        assert_eq!(
            (role.actor, role.source_identity.as_deref()),
            (Actor::Human, Some("bob"))
        );
        let agent = sessions
            .config_for(Actor::Agent, "")
            .role
            .expect("role kept");
        assert_eq!(
            (agent.actor, agent.source_identity.as_deref()),
            (Actor::Agent, Some("operator"))
        );
    }
}
