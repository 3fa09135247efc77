//! The run's AWS identity.
//!
//! Base credentials, region and endpoints come from the standard chain
//! (`aws-config`: environment, shared config and credentials files, profiles,
//! SSO, `AWS_ENDPOINT_URL[_<SERVICE>]`). When a role is configured the run
//! works in an assumed-role session whose tags say who acts
//! (`ActorType=agent|human`), whose `SourceIdentity` names the operator and
//! whose name is `plugctl-<run-id>`, so CloudTrail attributes every call. The
//! session is refreshed before it expires, and `GetCallerIdentity` of the
//! session is recorded.
//!
//! Credentials never reach logs, errors or `Debug` output: every type here
//! that holds them prints without them.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials as _;
use aws_sdk_sts::error::ProvideErrorMetadata as _;
use aws_sdk_sts::types::Tag;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use plug_core::{Actor, RunId};
use tokio::sync::Mutex;

use crate::endpoint::EndpointOverrides;

/// Sessions are renewed this long before they expire, so no call starts with
/// credentials that lapse mid-flight.
const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// What the operator configured.
#[derive(Clone, Default)]
pub struct IdentityConfig {
    /// A named profile instead of `AWS_PROFILE`/`default`.
    pub profile: Option<String>,
    /// A region instead of the chain's.
    pub region: Option<String>,
    /// The role to assume for the run, if any.
    pub role: Option<RoleConfig>,
    /// Connect timeout for STS and the chain's own calls.
    pub connect_timeout: Option<Duration>,
    /// Read timeout for STS and the chain's own calls.
    pub read_timeout: Option<Duration>,
    /// An endpoint for every service, beating `AWS_ENDPOINT_URL` (per-service
    /// variables still win for their service).
    pub endpoint_url: Option<String>,
    /// Base credentials instead of the chain's (tests, embedding).
    pub base_credentials: Option<Credentials>,
}

impl fmt::Debug for IdentityConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityConfig")
            .field("profile", &self.profile)
            .field("region", &self.region)
            .field("role", &self.role)
            .field("endpoint_url", &self.endpoint_url)
            .field(
                "base_credentials",
                &self.base_credentials.as_ref().map(|_| "<set>"),
            )
            .finish_non_exhaustive()
    }
}

/// The role a run assumes, and how its session is tagged.
#[derive(Debug, Clone)]
pub struct RoleConfig {
    /// The role's ARN.
    pub role_arn: String,
    /// Who acts: becomes the `ActorType` session tag.
    pub actor: Actor,
    /// The run: names the session `plugctl-<run-id>`.
    pub run_id: RunId,
    /// The operator, as `SourceIdentity` (persists through role chaining).
    pub source_identity: Option<String>,
    /// Further session tags set by the operator.
    pub tags: Vec<(String, String)>,
    /// Make every session tag transitive (kept through role chaining).
    pub transitive: bool,
    /// Session length (STS default: one hour).
    pub duration: Option<Duration>,
    /// The role's required external id, if its trust policy asks for one.
    pub external_id: Option<String>,
    /// An inline session policy (JSON): the session may do only what both
    /// the role and this policy allow, enforced by AWS.
    pub session_policy: Option<String>,
}

/// Why the identity could not be established.
#[derive(Debug, Clone, thiserror::Error)]
pub enum IdentityError {
    /// The chain found no credentials.
    #[error("no AWS credentials: {0}")]
    NoCredentials(String),
    /// The chain found no region.
    #[error("no AWS region configured (set AWS_REGION, a profile region or --region)")]
    NoRegion,
    /// A session tag or name is not acceptable to STS.
    #[error("invalid session setting: {0}")]
    Invalid(String),
    /// STS refused or failed.
    #[error("sts:{operation} failed: {code}: {message}")]
    Sts {
        /// `AssumeRole` or `GetCallerIdentity`.
        operation: &'static str,
        /// The AWS error code, or `Transport`.
        code: String,
        /// The message.
        message: String,
    },
}

/// Who AWS says the session is (`sts:GetCallerIdentity`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallerIdentity {
    /// The account.
    pub account: String,
    /// The principal's ARN, e.g. `arn:aws:sts::123:assumed-role/Deployer/plugctl-r1`.
    pub arn: String,
    /// The unique id.
    pub user_id: String,
}

/// The run's identity: a region, endpoint overrides and fresh credentials.
pub struct Session {
    sdk: SdkConfig,
    region: String,
    endpoints: EndpointOverrides,
    role: Option<RoleConfig>,
    current: Mutex<Option<Credentials>>,
    caller: std::sync::Mutex<Option<CallerIdentity>>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("region", &self.region)
            .field("role_arn", &self.role.as_ref().map(|r| &r.role_arn))
            .field("actor", &self.role.as_ref().map(|r| r.actor))
            .field("caller", &self.caller_identity())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Loads the standard chain, assumes the role if one is configured, and
    /// records the session's `GetCallerIdentity`.
    pub async fn establish(config: IdentityConfig) -> Result<Session, IdentityError> {
        let sdk = load_chain(&config).await;
        let region = sdk
            .region()
            .map(|r| r.as_ref().to_owned())
            .ok_or(IdentityError::NoRegion)?;
        let mut endpoints = EndpointOverrides::from_env();
        if config.endpoint_url.is_some() || endpoints.all.is_none() {
            endpoints.all = sdk.endpoint_url().map(str::to_owned);
        }
        if let Some(role) = &config.role {
            check_role_config(role)?;
        }
        let session = Session {
            sdk,
            region,
            endpoints,
            role: config.role,
            current: Mutex::new(None),
            caller: std::sync::Mutex::new(None),
        };
        let credentials = session.credentials().await?;
        let caller = session.get_caller_identity(&credentials).await?;
        *session.caller_lock() = Some(caller);
        Ok(session)
    }

    /// A session with fixed credentials (tests, benchmarks, embedding).
    pub fn with_static_credentials(
        credentials: Credentials,
        region: &str,
        endpoints: EndpointOverrides,
    ) -> Session {
        Session {
            sdk: SdkConfig::builder()
                .region(Region::new(region.to_owned()))
                .build(),
            region: region.to_owned(),
            endpoints,
            role: None,
            current: Mutex::new(Some(credentials)),
            caller: std::sync::Mutex::new(None),
        }
    }

    /// The run's default region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The configured endpoints.
    pub fn endpoints(&self) -> &EndpointOverrides {
        &self.endpoints
    }

    /// `credentials`, the region and the endpoints as the standard AWS
    /// environment variables, for a child process acting as this session.
    pub fn child_env(&self, credentials: &Credentials) -> BTreeMap<String, String> {
        let mut env = BTreeMap::from([
            (
                "AWS_ACCESS_KEY_ID".to_owned(),
                credentials.access_key_id().to_owned(),
            ),
            (
                "AWS_SECRET_ACCESS_KEY".to_owned(),
                credentials.secret_access_key().to_owned(),
            ),
            ("AWS_REGION".to_owned(), self.region.clone()),
            ("AWS_DEFAULT_REGION".to_owned(), self.region.clone()),
        ]);
        if let Some(token) = credentials.session_token() {
            env.insert("AWS_SESSION_TOKEN".to_owned(), token.to_owned());
        }
        if let Some(expiry) = credentials.expiry() {
            let expiry = crate::timestamp::to_iso8601(expiry.into());
            env.insert("AWS_CREDENTIAL_EXPIRATION".to_owned(), expiry);
        }
        if let Some(all) = &self.endpoints.all {
            env.insert("AWS_ENDPOINT_URL".to_owned(), all.clone());
        }
        for (suffix, url) in &self.endpoints.per_service {
            env.insert(format!("AWS_ENDPOINT_URL_{suffix}"), url.clone());
        }
        env
    }

    /// Who the session is, as recorded when it was established.
    pub fn caller_identity(&self) -> Option<CallerIdentity> {
        self.caller_lock().clone()
    }

    /// Who acts, when a role session is in use.
    pub fn actor(&self) -> Option<Actor> {
        self.role.as_ref().map(|r| r.actor)
    }

    fn caller_lock(&self) -> std::sync::MutexGuard<'_, Option<CallerIdentity>> {
        self.caller
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Credentials that stay valid for at least a few minutes; renewed as needed.
    pub async fn credentials(&self) -> Result<Credentials, IdentityError> {
        let mut current = self.current.lock().await;
        if let Some(credentials) = current.as_ref().filter(|c| fresh(c)) {
            return Ok(credentials.clone());
        }
        let renewed = match &self.role {
            Some(role) => self.assume_role(role).await?,
            None => self.base_credentials().await?,
        };
        *current = Some(renewed.clone());
        Ok(renewed)
    }

    async fn base_credentials(&self) -> Result<Credentials, IdentityError> {
        let provider = self.sdk.credentials_provider().ok_or_else(|| {
            IdentityError::NoCredentials("no credentials provider in the chain".into())
        })?;
        provider.provide_credentials().await.map_err(|e| {
            IdentityError::NoCredentials(aws_sdk_sts::error::DisplayErrorContext(e).to_string())
        })
    }

    async fn assume_role(&self, role: &RoleConfig) -> Result<Credentials, IdentityError> {
        let client = aws_sdk_sts::Client::new(&self.sdk);
        let mut request = client
            .assume_role()
            .role_arn(&role.role_arn)
            .role_session_name(role.run_id.role_session_name())
            .set_source_identity(role.source_identity.clone())
            .set_external_id(role.external_id.clone())
            .set_policy(role.session_policy.clone())
            .set_duration_seconds(
                role.duration
                    .map(|d| i32::try_from(d.as_secs()).unwrap_or(i32::MAX)),
            );
        for (key, value) in session_tags(role) {
            let tag = Tag::builder()
                .key(&key)
                .value(value)
                .build()
                .map_err(|e| IdentityError::Invalid(e.to_string()))?;
            request = request.tags(tag);
            if role.transitive {
                request = request.transitive_tag_keys(key);
            }
        }
        let output = request
            .send()
            .await
            .map_err(|e| sts_error("AssumeRole", e))?;
        let issued = output.credentials().ok_or_else(|| IdentityError::Sts {
            operation: "AssumeRole",
            code: "MissingCredentials".into(),
            message: "the response carried no credentials".into(),
        })?;
        let expiry = SystemTime::try_from(*issued.expiration()).ok();
        Ok(Credentials::new(
            issued.access_key_id(),
            issued.secret_access_key(),
            Some(issued.session_token().to_owned()),
            expiry,
            "plugctl-assume-role",
        ))
    }

    async fn get_caller_identity(
        &self,
        credentials: &Credentials,
    ) -> Result<CallerIdentity, IdentityError> {
        let config = aws_sdk_sts::config::Builder::from(&self.sdk)
            .credentials_provider(credentials.clone())
            .build();
        let output = aws_sdk_sts::Client::from_conf(config)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| sts_error("GetCallerIdentity", e))?;
        Ok(CallerIdentity {
            account: output.account().unwrap_or_default().to_owned(),
            arn: output.arn().unwrap_or_default().to_owned(),
            user_id: output.user_id().unwrap_or_default().to_owned(),
        })
    }
}

/// `ActorType` first, then the operator's tags (which may not redefine it).
fn session_tags(role: &RoleConfig) -> Vec<(String, String)> {
    let mut tags = vec![("ActorType".to_owned(), role.actor.as_str().to_owned())];
    tags.extend(
        role.tags
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("ActorType"))
            .cloned(),
    );
    tags
}

fn check_role_config(role: &RoleConfig) -> Result<(), IdentityError> {
    if let Some(source) = &role.source_identity {
        let ok = (2..=64).contains(&source.len())
            && source.chars().all(plug_core::ids::is_session_name_char);
        if !ok {
            return Err(IdentityError::Invalid(format!(
                "SourceIdentity `{source}`: use 2 to 64 characters from [A-Za-z0-9_+=,.@-]"
            )));
        }
    }
    if role.tags.len() + 1 > 50 {
        return Err(IdentityError::Invalid(
            "STS accepts at most 50 session tags".into(),
        ));
    }
    Ok(())
}

fn fresh(credentials: &Credentials) -> bool {
    credentials
        .expiry()
        .is_none_or(|expiry| expiry > SystemTime::now() + REFRESH_MARGIN)
}

fn sts_error<E, R>(
    operation: &'static str,
    error: aws_sdk_sts::error::SdkError<E, R>,
) -> IdentityError
where
    E: aws_sdk_sts::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug,
{
    let code = error.code().unwrap_or("Transport").to_owned();
    let message = error
        .message()
        .map(str::to_owned)
        .unwrap_or_else(|| aws_sdk_sts::error::DisplayErrorContext(&error).to_string());
    IdentityError::Sts {
        operation,
        code,
        message,
    }
}

/// The operator's own AWS configuration (the standard chain, no role
/// assumed): what the runtime uses for its own calls, such as publishing
/// telemetry, as opposed to the calls a run makes as its actor.
pub async fn sdk_config(config: &IdentityConfig) -> SdkConfig {
    load_chain(config).await
}

async fn load_chain(config: &IdentityConfig) -> SdkConfig {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(config.connect_timeout.unwrap_or(Duration::from_secs(10)))
        .read_timeout(config.read_timeout.unwrap_or(Duration::from_secs(60)))
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .timeout_config(timeouts);
    if let Some(profile) = &config.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &config.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &config.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let Some(credentials) = &config.base_credentials {
        loader = loader.credentials_provider(credentials.clone());
    }
    loader.load().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(tags: Vec<(String, String)>) -> RoleConfig {
        RoleConfig {
            role_arn: "arn:aws:iam::000000000000:role/Deployer".into(),
            actor: Actor::Agent,
            run_id: RunId::new("r1").expect("valid"),
            source_identity: Some("alice@example.com".into()),
            tags,
            transitive: false,
            duration: None,
            external_id: None,
            session_policy: None,
        }
    }

    #[test]
    fn actor_tag_comes_first_and_cannot_be_overridden() {
        let tags = session_tags(&role(vec![
            ("ActorType".into(), "human".into()),
            ("Team".into(), "payments".into()),
        ]));
        assert_eq!(
            tags,
            vec![
                ("ActorType".to_owned(), "agent".to_owned()),
                ("Team".to_owned(), "payments".to_owned())
            ]
        );
    }

    #[test]
    fn source_identity_must_fit_sts_rules() {
        assert!(check_role_config(&role(vec![])).is_ok());
        let mut bad = role(vec![]);
        bad.source_identity = Some("has space".into());
        assert!(check_role_config(&bad).is_err());
    }

    #[test]
    fn debug_output_never_shows_credentials() {
        let credentials =
            Credentials::new("AKIDSECRETID", "SECRETKEY", Some("TOKEN".into()), None, "t");
        let session = Session::with_static_credentials(
            credentials,
            "us-east-1",
            EndpointOverrides::default(),
        );
        let shown = format!("{session:?}");
        assert!(
            !shown.contains("SECRETKEY") && !shown.contains("TOKEN") && !shown.contains("AKID"),
            "{shown}"
        );
    }

    #[test]
    fn credentials_near_expiry_are_not_fresh() {
        let soon = Credentials::new(
            "a",
            "b",
            None,
            Some(SystemTime::now() + Duration::from_secs(60)),
            "t",
        );
        let later = Credentials::new(
            "a",
            "b",
            None,
            Some(SystemTime::now() + Duration::from_secs(3600)),
            "t",
        );
        assert!(!fresh(&soon));
        assert!(fresh(&later));
    }
}
