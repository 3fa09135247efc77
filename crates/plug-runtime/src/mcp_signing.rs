//! Who `auth: iam` MCP servers are signed as. A run's servers sign with the
//! run's own agent session, the one its AWS calls use: never the operator's
//! credential chain. `plugctl mcp`, a debugging command outside any run,
//! signs as the operator, through plug-aws's one `SdkConfig`.

use std::sync::Arc;

use aws_credential_types::provider::SharedCredentialsProvider;
use plug_core::Actor;
use plug_mcp::SigningSource;

/// A run's agent session.
pub struct RunSigning(pub Arc<plug_aws::RunSessions>);

#[async_trait::async_trait]
impl SigningSource for RunSigning {
    fn credentials(&self) -> SharedCredentialsProvider {
        self.0.credentials_provider(Actor::Agent)
    }

    async fn region(&self) -> Result<String, String> {
        self.0
            .region(Actor::Agent)
            .await
            .map_err(|e| format!("the run's AWS session: {e}"))
    }
}

/// `plugin`'s servers with its settings (manifest defaults, values stored
/// at install, then `set`), signing as the operator: what `plugctl mcp`
/// talks to, outside any run.
pub async fn operator_registry(
    identity: &crate::IdentitySettings,
    plugin: &plug_manifest::Plugin,
    set: &[(String, String)],
) -> Result<(plug_mcp::Registry, crate::PluginSettings), crate::plugin_settings::SettingsError> {
    let settings = crate::PluginSettings::load(plugin, set)?;
    let signing = Arc::new(OperatorSigning::load(identity).await);
    Ok((settings.registry(plugin).with_signing(signing), settings))
}

/// The operator's own configuration (`plugctl mcp`).
pub struct OperatorSigning(pub aws_config::SdkConfig);

impl OperatorSigning {
    /// The operator's configuration of `settings`.
    pub async fn load(settings: &crate::IdentitySettings) -> OperatorSigning {
        OperatorSigning(plug_aws::identity::sdk_config(&settings.operator_config()).await)
    }
}

#[async_trait::async_trait]
impl SigningSource for OperatorSigning {
    fn credentials(&self) -> SharedCredentialsProvider {
        self.0.credentials_provider().unwrap_or_else(|| {
            // No provider in the chain: every signing attempt says so.
            SharedCredentialsProvider::new(NoCredentials)
        })
    }

    async fn region(&self) -> Result<String, String> {
        self.0
            .region()
            .map(ToString::to_string)
            .ok_or_else(|| "no AWS region: set `<server>.iam_region` or AWS_REGION".to_owned())
    }
}

#[derive(Debug)]
struct NoCredentials;

impl aws_credential_types::provider::ProvideCredentials for NoCredentials {
    fn provide_credentials<'a>(
        &'a self,
    ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        aws_credential_types::provider::future::ProvideCredentials::ready(Err(
            aws_credential_types::provider::error::CredentialsError::not_loaded(
                "no AWS credentials in the operator's chain",
            ),
        ))
    }
}
