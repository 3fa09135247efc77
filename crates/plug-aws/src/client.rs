//! [`AwsClient`]: the real [`AwsInvoker`]. It looks the operation up in the
//! bundled model, checks and serializes the params, resolves the endpoint,
//! signs with the session's current credentials, sends, retries throttling and
//! transient failures, and parses the answer.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use percent_encoding::utf8_percent_encode;
use plug_core::Value;
use plug_core::ports::{AwsCall, AwsError, AwsInvoker, AwsResponse};

use crate::endpoint::{self, Endpoint};
use crate::identity::Session;
use crate::model::{Models, Operation, ServiceModel};
use crate::protocol::{self, HttpRequest, HttpResponse, ServiceError};
use crate::retry::{self, RetryPolicy};
use crate::signing::{self, PreparedRequest, SigningScope};
use crate::validate;

/// Timeouts of the invoker's HTTP client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing the connection (TCP and TLS).
    pub connect: Duration,
    /// Waiting for any bytes of the answer.
    pub read: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            read: Duration::from_secs(60),
        }
    }
}

/// Calls any operation of the bundled models with the session's identity.
#[derive(Debug)]
pub struct AwsClient {
    session: Arc<Session>,
    http: reqwest::Client,
    retry: RetryPolicy,
}

impl AwsClient {
    /// A client with the standard retry policy (`AWS_MAX_ATTEMPTS` honoured) and default timeouts.
    pub fn new(session: Arc<Session>) -> Result<AwsClient, AwsError> {
        AwsClient::with_settings(session, RetryPolicy::from_env(), Timeouts::default())
    }

    /// A client with explicit retry and timeout settings.
    pub fn with_settings(
        session: Arc<Session>,
        retry: RetryPolicy,
        timeouts: Timeouts,
    ) -> Result<AwsClient, AwsError> {
        let http = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .read_timeout(timeouts.read)
            .build()
            .map_err(|e| AwsError::Transport(format!("cannot build the HTTP client: {e}")))?;
        Ok(AwsClient {
            session,
            http,
            retry,
        })
    }

    /// The session calls are made with.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// One operation of `service` in the session's region; its output. For
    /// the crates that drive AWS themselves (the registry, the fleet).
    pub async fn operation(
        &self,
        service: &str,
        operation: &str,
        params: Value,
    ) -> Result<Value, AwsError> {
        let call = AwsCall {
            service: service.to_owned(),
            operation: operation.to_owned(),
            params,
            region: None,
        };
        self.call(&call).await.map(|response| response.output)
    }

    async fn attempt(&self, request: PreparedRequest) -> Result<HttpResponse, AwsError> {
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| AwsError::Invalid(format!("bad HTTP method {}", request.method)))?;
        let mut builder = self.http.request(method, &request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let response = builder
            .body(request.body)
            .send()
            .await
            .map_err(|e| AwsError::Transport(transport_message(&e)))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = response
            .bytes()
            .await
            .map_err(|e| AwsError::Transport(transport_message(&e)))?
            .to_vec();
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

#[async_trait]
impl AwsInvoker for AwsClient {
    fn caller_arn(&self) -> Option<String> {
        self.session.caller_identity().map(|c| c.arn)
    }

    async fn child_env(&self) -> Result<std::collections::BTreeMap<String, String>, AwsError> {
        let credentials = self
            .session
            .credentials()
            .await
            .map_err(|e| AwsError::Transport(e.to_string()))?;
        Ok(self.session.child_env(&credentials))
    }

    async fn call(&self, call: &AwsCall) -> Result<AwsResponse, AwsError> {
        let model = Models::global()
            .get(&call.service)
            .map_err(|e| AwsError::Invalid(e.to_string()))?;
        let operation = find_operation(&model, &call.service, &call.operation)?;
        let problems = validate::check_params(&model, operation, &call.params, false);
        if let Some(first) = problems.first() {
            return Err(AwsError::Invalid(first.to_string()));
        }
        let region = call.region.as_deref().unwrap_or(self.session.region());
        let endpoint = endpoint::resolve(&model, region, self.session.endpoints())
            .map_err(|e| AwsError::Invalid(e.to_string()))?;
        let unsigned = build_request(&model, operation, &call.params, &endpoint)?;
        let mut attempt = 1;
        loop {
            let credentials = self
                .session
                .credentials()
                .await
                .map_err(|e| AwsError::Transport(e.to_string()))?;
            let mut request = unsigned.clone();
            let scope = SigningScope {
                region: &endpoint.signing_region,
                service: model.metadata.signing_name(),
                time: SystemTime::now(),
            };
            signing::sign_request(&mut request, &credentials, scope)
                .map_err(|e| AwsError::Invalid(e.to_string()))?;
            let outcome = match self.attempt(request).await {
                Ok(response) => interpret(&model, operation, &response),
                Err(error) => Err(error),
            };
            match outcome {
                Err(error) if attempt < self.retry.max_attempts && retryable(&error) => {
                    tokio::time::sleep(self.retry.backoff(attempt)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

fn retryable(error: &AwsError) -> bool {
    match error {
        AwsError::Service { code, status, .. } => retry::retryable_service_error(code, *status),
        AwsError::Transport(_) => true,
        AwsError::Invalid(_) => false,
    }
}

fn interpret(
    model: &ServiceModel,
    operation: &Operation,
    response: &HttpResponse,
) -> Result<AwsResponse, AwsError> {
    let parsed = protocol::parse(model, operation, response).map_err(|e| AwsError::Service {
        code: "UnreadableResponse".into(),
        message: e.to_string(),
        status: response.status,
        request_id: response.request_id_header(),
    })?;
    match parsed {
        Ok(output) => Ok(AwsResponse {
            request_id: response
                .request_id_header()
                .or_else(|| body_request_id(&response.body)),
            output,
            status: response.status,
        }),
        Err(ServiceError {
            code,
            message,
            status,
            request_id,
        }) => Err(AwsError::Service {
            code,
            message,
            status,
            request_id,
        }),
    }
}

/// query and ec2 responses may carry the id only in the body
/// (`<RequestId>` in `ResponseMetadata`, `<requestId>` at the ec2 root).
fn body_request_id(body: &[u8]) -> Option<String> {
    let head = &body[..body.len().min(64 * 1024)];
    let text = std::str::from_utf8(head).ok()?;
    ["<RequestId>", "<requestId>", "<RequestID>"]
        .iter()
        .find_map(|open| {
            let start = text.find(open)? + open.len();
            let end = start + text[start..].find('<')?;
            Some(text[start..end].trim().to_owned()).filter(|id| !id.is_empty())
        })
}

/// The operation, or an `Invalid` error with a suggestion.
pub fn find_operation<'m>(
    model: &'m ServiceModel,
    service: &str,
    name: &str,
) -> Result<&'m Operation, AwsError> {
    model.operation(name).ok_or_else(|| {
        let suggestion = crate::model::suggest(name, model.operation_names())
            .map(|api_name| validate::botocore_style_like(name, &api_name));
        AwsError::Invalid(
            crate::model::ModelError::UnknownOperation {
                service: service.to_owned(),
                name: name.to_owned(),
                suggestion,
            }
            .to_string(),
        )
    })
}

/// Serializes a call and addresses it at `endpoint`, unsigned. Public so the
/// benchmark and tests can measure and inspect exactly what would be sent.
pub fn build_request(
    model: &ServiceModel,
    operation: &Operation,
    params: &Value,
    endpoint: &Endpoint,
) -> Result<PreparedRequest, AwsError> {
    let request = protocol::serialize(model, operation, params)
        .map_err(|e| AwsError::Invalid(e.to_string()))?;
    Ok(PreparedRequest {
        url: request_url(endpoint, &request),
        method: request.method,
        headers: request.headers,
        body: request.body,
    })
}

fn request_url(endpoint: &Endpoint, request: &HttpRequest) -> String {
    let (scheme, rest) = endpoint
        .url
        .split_once("://")
        .unwrap_or(("https", &endpoint.url));
    let (authority, base_path) = match rest.split_once('/') {
        Some((authority, base)) => (
            authority.to_owned(),
            format!("/{}", base.trim_end_matches('/')),
        ),
        None => (rest.to_owned(), String::new()),
    };
    let mut host = authority;
    let mut path = request.path.clone();
    if !endpoint.custom {
        if let Some(prefix) = &request.host_prefix {
            host = format!("{prefix}{host}");
        }
        if let Some(bucket) = request
            .bucket
            .as_deref()
            .filter(|b| endpoint::virtual_host_compatible(b))
        {
            host = format!("{bucket}.{host}");
            let rest = path.strip_prefix(&format!("/{bucket}")).unwrap_or(&path);
            path = if rest.is_empty() {
                "/".to_owned()
            } else {
                rest.to_owned()
            };
        }
    }
    let mut url = format!("{scheme}://{host}{base_path}{path}");
    if !request.query.is_empty() {
        url.push('?');
        for (i, (key, value)) in request.query.iter().enumerate() {
            if i > 0 {
                url.push('&');
            }
            url.extend(utf8_percent_encode(key, protocol::UNRESERVED));
            url.push('=');
            url.extend(utf8_percent_encode(value, protocol::UNRESERVED));
        }
    }
    url
}

/// reqwest's error with its causes (the top level alone says only "error sending request").
fn transport_message(error: &reqwest::Error) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: &str, bucket: Option<&str>) -> HttpRequest {
        HttpRequest {
            method: "GET".into(),
            path: path.into(),
            query: vec![
                ("list-type".into(), "2".into()),
                ("prefix".into(), "a b/".into()),
            ],
            headers: vec![],
            body: vec![],
            host_prefix: None,
            bucket: bucket.map(str::to_owned),
        }
    }

    #[test]
    fn request_ids_are_found_in_query_and_ec2_bodies() {
        let query =
            b"<R><Result/><ResponseMetadata><RequestId>abc-1</RequestId></ResponseMetadata></R>";
        assert_eq!(body_request_id(query).as_deref(), Some("abc-1"));
        let ec2 =
            b"<DescribeVpcsResponse><requestId>7a62</requestId><vpcSet/></DescribeVpcsResponse>";
        assert_eq!(body_request_id(ec2).as_deref(), Some("7a62"));
        assert_eq!(body_request_id(b"{\"a\":1}"), None);
    }

    #[test]
    fn s3_uses_virtual_hosts_on_aws_and_path_style_on_custom_endpoints() {
        let aws = Endpoint {
            url: "https://s3.us-east-1.amazonaws.com".into(),
            signing_region: "us-east-1".into(),
            custom: false,
        };
        assert_eq!(
            request_url(&aws, &request("/my-bucket", Some("my-bucket"))),
            "https://my-bucket.s3.us-east-1.amazonaws.com/?list-type=2&prefix=a%20b%2F"
        );
        assert_eq!(
            request_url(&aws, &request("/my.bucket/k", Some("my.bucket"))),
            "https://s3.us-east-1.amazonaws.com/my.bucket/k?list-type=2&prefix=a%20b%2F"
        );
        let local = Endpoint {
            url: "http://127.0.0.1:4566/base".into(),
            signing_region: "us-east-1".into(),
            custom: true,
        };
        assert_eq!(
            request_url(&local, &request("/my-bucket/k", Some("my-bucket"))),
            "http://127.0.0.1:4566/base/my-bucket/k?list-type=2&prefix=a%20b%2F"
        );
    }
}
