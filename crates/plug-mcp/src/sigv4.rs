//! `auth: iam`: a Streamable HTTP client that signs every request with SigV4.
//!
//! rmcp hands the client a JSON-RPC message, not bytes. The wrapper
//! serializes it exactly as the inner reqwest client will (`serde_json::to_vec`
//! of the same value), signs those bytes, and passes the signature headers on
//! as custom headers. The inner client keeps its own size limits because the
//! `*_with_response_limits` and `*_max_sse_event_size` methods are forwarded.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use futures_core::stream::BoxStream;
use http::{HeaderName, HeaderValue};
use rmcp::model::ClientJsonRpcMessage;
use rmcp::transport::streamable_http_client::{
    SseError, StreamableHttpClient, StreamableHttpError, StreamableHttpPostResponse,
    StreamableHttpResponseLimits,
};
use sse_stream::Sse;
use tokio::sync::Mutex;

/// Credentials are refreshed this long before they expire.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// Who `auth: iam` requests are signed as. In a run it is the run's own
/// agent session (never the operator's chain); `plugctl mcp` signs as the
/// operator. Without one, an `auth: iam` server does not start.
#[async_trait::async_trait]
pub trait SigningSource: Send + Sync {
    /// The credentials to sign with (refreshed by the provider).
    fn credentials(&self) -> SharedCredentialsProvider;
    /// The region for servers whose settings name none.
    async fn region(&self) -> Result<String, String>;
}

/// Fixed credentials and region (tests, embedding).
#[derive(Debug, Clone)]
pub struct StaticSigning {
    /// The credentials.
    pub credentials: SharedCredentialsProvider,
    /// The default region.
    pub region: String,
}

#[async_trait::async_trait]
impl SigningSource for StaticSigning {
    fn credentials(&self) -> SharedCredentialsProvider {
        self.credentials.clone()
    }

    async fn region(&self) -> Result<String, String> {
        Ok(self.region.clone())
    }
}

/// Signs requests for one service and region.
pub struct Signer {
    provider: SharedCredentialsProvider,
    region: String,
    service: String,
    cached: Mutex<Option<Credentials>>,
    clock: fn() -> SystemTime,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("region", &self.region)
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer using `provider` (normally the standard chain).
    pub fn new(provider: SharedCredentialsProvider, region: &str, service: &str) -> Signer {
        Signer {
            provider,
            region: region.to_owned(),
            service: service.to_owned(),
            cached: Mutex::new(None),
            clock: SystemTime::now,
        }
    }

    /// Uses `clock` for the signature time (tests).
    pub fn with_clock(mut self, clock: fn() -> SystemTime) -> Signer {
        self.clock = clock;
        self
    }

    async fn credentials(&self) -> Result<Credentials, String> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref() {
            let fresh = c
                .expiry()
                .is_none_or(|at| at > SystemTime::now() + REFRESH_MARGIN);
            if fresh {
                return Ok(c.clone());
            }
        }
        let c = self
            .provider
            .provide_credentials()
            .await
            .map_err(|e| format!("no AWS credentials: {e}"))?;
        *cached = Some(c.clone());
        Ok(c)
    }

    /// The headers that sign `method uri` with `body`: `authorization`,
    /// `x-amz-date` and, for temporary credentials, `x-amz-security-token`.
    pub async fn headers(
        &self,
        method: &str,
        uri: &str,
        body: &[u8],
    ) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
        let credentials = self.credentials().await?;
        let identity: Identity = credentials.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(&self.service)
            .time((self.clock)())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| e.to_string())?
            .into();
        let signable = SignableRequest::new(
            method,
            uri,
            std::iter::empty::<(&str, &str)>(),
            SignableBody::Bytes(body),
        )
        .map_err(|e| e.to_string())?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| e.to_string())?
            .into_parts();
        let (headers, _) = instructions.into_parts();
        headers
            .into_iter()
            .map(|h| {
                let name =
                    HeaderName::from_bytes(h.name().as_bytes()).map_err(|e| e.to_string())?;
                let mut value = HeaderValue::from_str(h.value()).map_err(|e| e.to_string())?;
                value.set_sensitive(true);
                Ok((name, value))
            })
            .collect()
    }
}

/// A [`StreamableHttpClient`] that adds SigV4 headers, then delegates to `C`.
#[derive(Clone)]
pub struct SigV4Client<C> {
    inner: C,
    signer: Arc<Signer>,
}

impl<C> SigV4Client<C> {
    /// Wraps `inner`.
    pub fn new(inner: C, signer: Arc<Signer>) -> SigV4Client<C> {
        SigV4Client { inner, signer }
    }
}

fn sign_error<E: std::error::Error + Send + Sync + 'static>(e: String) -> StreamableHttpError<E> {
    StreamableHttpError::Io(std::io::Error::other(format!("SigV4 signing failed: {e}")))
}

impl<C: StreamableHttpClient + Sync> SigV4Client<C> {
    async fn signed(
        &self,
        method: &str,
        uri: &str,
        body: &[u8],
        mut headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<HashMap<HeaderName, HeaderValue>, StreamableHttpError<C::Error>> {
        let signature = self
            .signer
            .headers(method, uri, body)
            .await
            .map_err(sign_error)?;
        headers.extend(signature);
        Ok(headers)
    }
}

impl<C: StreamableHttpClient + Sync> StreamableHttpClient for SigV4Client<C> {
    type Error = C::Error;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        self.post_message_with_response_limits(
            uri,
            message,
            session_id,
            auth_header,
            custom_headers,
            StreamableHttpResponseLimits::default(),
        )
        .await
    }

    async fn post_message_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        let mut limits = StreamableHttpResponseLimits::default();
        limits.max_sse_event_size = max_sse_event_size;
        self.post_message_with_response_limits(
            uri,
            message,
            session_id,
            auth_header,
            custom_headers,
            limits,
        )
        .await
    }

    async fn post_message_with_response_limits(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        limits: StreamableHttpResponseLimits,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        let body = serde_json::to_vec(&message)?;
        let headers = self.signed("POST", &uri, &body, custom_headers).await?;
        self.inner
            .post_message_with_response_limits(
                uri,
                message,
                session_id,
                auth_header,
                headers,
                limits,
            )
            .await
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<(), StreamableHttpError<Self::Error>> {
        let headers = self.signed("DELETE", &uri, b"", custom_headers).await?;
        self.inner
            .delete_session(uri, session_id, auth_header, headers)
            .await
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, StreamableHttpError<Self::Error>> {
        let headers = self.signed("GET", &uri, b"", custom_headers).await?;
        self.inner
            .get_stream(uri, session_id, last_event_id, auth_header, headers)
            .await
    }

    async fn get_stream_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, StreamableHttpError<Self::Error>> {
        let headers = self.signed("GET", &uri, b"", custom_headers).await?;
        self.inner
            .get_stream_with_max_sse_event_size(
                uri,
                session_id,
                last_event_id,
                auth_header,
                headers,
                max_sse_event_size,
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::Credentials;
    use rmcp::model::{ClientRequest, PingRequest, RequestId};
    use std::sync::Mutex as StdMutex;
    use std::time::UNIX_EPOCH;

    /// A body and the custom headers sent with it.
    type Sent = (Vec<u8>, HashMap<HeaderName, HeaderValue>);

    /// Records what it was asked to send instead of sending it.
    #[derive(Clone, Default)]
    struct Recorder {
        sent: Arc<StdMutex<Vec<Sent>>>,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("recorded")]
    struct Recorded;

    impl StreamableHttpClient for Recorder {
        type Error = Recorded;

        async fn post_message(
            &self,
            _uri: Arc<str>,
            message: ClientJsonRpcMessage,
            _session_id: Option<Arc<str>>,
            _auth_header: Option<String>,
            custom_headers: HashMap<HeaderName, HeaderValue>,
        ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Recorded>> {
            // What reqwest's `.json(&message)` puts on the wire.
            let body = serde_json::to_vec(&message)?;
            self.sent.lock().expect("lock").push((body, custom_headers));
            Err(StreamableHttpError::Client(Recorded))
        }

        async fn delete_session(
            &self,
            _uri: Arc<str>,
            _session_id: Arc<str>,
            _auth_header: Option<String>,
            _custom_headers: HashMap<HeaderName, HeaderValue>,
        ) -> Result<(), StreamableHttpError<Recorded>> {
            Ok(())
        }

        async fn get_stream(
            &self,
            _uri: Arc<str>,
            _session_id: Option<Arc<str>>,
            _last_event_id: Option<String>,
            _auth_header: Option<String>,
            _custom_headers: HashMap<HeaderName, HeaderValue>,
        ) -> Result<BoxStream<'static, Result<Sse, SseError>>, StreamableHttpError<Recorded>>
        {
            Err(StreamableHttpError::Client(Recorded))
        }
    }

    fn fixed_time() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_767_225_600)
    }

    fn signer() -> Signer {
        let creds = Credentials::new(
            "AKIDEXAMPLE",
            "secret-key",
            Some("session-tok".into()),
            None,
            "t",
        );
        Signer::new(
            SharedCredentialsProvider::new(creds),
            "eu-west-1",
            "execute-api",
        )
        .with_clock(fixed_time)
    }

    #[tokio::test]
    async fn signature_covers_the_exact_body_the_inner_client_sends() {
        let recorder = Recorder::default();
        let signer = Arc::new(signer());
        let client = SigV4Client::new(recorder.clone(), signer.clone());
        let message = ClientJsonRpcMessage::request(
            ClientRequest::PingRequest(PingRequest::default()),
            RequestId::Number(7),
        );
        let uri: Arc<str> = Arc::from("https://mcp.example.test/mcp");
        let _ = client
            .post_message(uri.clone(), message, None, None, HashMap::new())
            .await;
        let sent = recorder.sent.lock().expect("lock").clone();
        let (body, headers) = sent.first().expect("one request");
        let authorization = headers
            .get(&HeaderName::from_static("authorization"))
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .expect("authorization header");
        let authorization = authorization.as_str();
        assert!(authorization.starts_with(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/eu-west-1/execute-api/aws4_request"
        ));
        assert_eq!(
            headers
                .get(&HeaderName::from_static("x-amz-security-token"))
                .map(|v| v.as_bytes()),
            Some(&b"session-tok"[..])
        );
        assert!(
            headers
                .get(&HeaderName::from_static("authorization"))
                .is_some_and(HeaderValue::is_sensitive)
        );

        // Re-signing the bytes the inner client sent yields the same signature;
        // a different body does not.
        let again = signer.headers("POST", &uri, body).await.expect("sign");
        let same = again
            .iter()
            .find(|(n, _)| n == "authorization")
            .map(|(_, v)| v.clone());
        assert_eq!(
            same.as_ref().map(|v| v.as_bytes()),
            Some(authorization.as_bytes())
        );
        let other = signer.headers("POST", &uri, b"{}").await.expect("sign");
        let differs = other
            .iter()
            .find(|(n, _)| n == "authorization")
            .map(|(_, v)| v.clone());
        assert_ne!(
            differs.as_ref().map(|v| v.as_bytes()),
            Some(authorization.as_bytes())
        );
    }

    #[test]
    fn debug_shows_no_credentials() {
        let shown = format!("{:?}", signer());
        assert!(
            !shown.contains("secret-key") && !shown.contains("session-tok"),
            "{shown}"
        );
    }
}
