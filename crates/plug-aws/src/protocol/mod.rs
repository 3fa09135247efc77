//! Serializers and parsers for the AWS wire protocols, driven by the model.
//!
//! [`serialize`] turns an operation's params into an unsigned [`HttpRequest`]
//! (path and query relative to the endpoint); [`parse`] turns an
//! [`HttpResponse`] into the output value or a [`ServiceError`]. Neither does
//! I/O, so both are tested against recorded request/response pairs.

mod error;
mod json;
mod query;
mod rest;
mod scalar;
mod xml;

use std::borrow::Cow;

use plug_core::Value;

use crate::model::{Operation, Protocol, ServiceModel};

pub use error::ServiceError;
pub use query::UNRESERVED;

/// An HTTP request before the endpoint, host and signature are added.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, already percent-encoded, starting with `/`.
    pub path: String,
    /// Query parameters, not yet encoded, in order.
    pub query: Vec<(String, String)>,
    /// Headers (names as the model spells them).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// The operation's host prefix with its labels filled (`123456789012.`).
    pub host_prefix: Option<String>,
    /// S3: the bucket, for virtual-host addressing.
    pub bucket: Option<String>,
}

impl HttpRequest {
    fn new(method: &str, path: &str) -> HttpRequest {
        HttpRequest {
            method: method.to_owned(),
            path: path.to_owned(),
            query: Vec::new(),
            headers: Vec::new(),
            body: Vec::new(),
            host_prefix: None,
            bucket: None,
        }
    }

    /// The value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP response as received.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Headers; names compared case-insensitively.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// AWS's request id, from whichever header the service uses.
    pub fn request_id_header(&self) -> Option<String> {
        ["x-amzn-requestid", "x-amz-request-id", "x-amzn-request-id"]
            .iter()
            .find_map(|h| self.header(h))
            .map(str::to_owned)
    }
}

/// Why params could not be turned into a request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SerializeError {
    /// The service speaks no protocol plug-aws supports.
    #[error("service `{0}` speaks no supported protocol")]
    UnsupportedProtocol(String),
    /// A value does not fit its member's shape.
    #[error("{path}: {reason}")]
    BadValue {
        /// Where, e.g. `Code.ZipFile`.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The params name a member the shape does not have.
    #[error("{path}: unknown member")]
    UnknownMember {
        /// Where.
        path: String,
    },
    /// A member the URI needs is absent or empty.
    #[error("{0}: required for the request URI")]
    MissingLabel(String),
    /// The model refers to a shape it does not define.
    #[error("the model has no shape `{0}`")]
    MissingShape(String),
    /// A URI member has a `.` or `..` segment, which URL parsing would
    /// resolve into another resource's path (`Key: ../other-bucket/x`).
    #[error(
        "{0}: a `.` or `..` path segment cannot be sent without naming another resource; rename it"
    )]
    DotSegment(String),
}

/// Why a successful response could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("unreadable response: {0}")]
pub struct ParseError(pub String);

/// Serializes `params` for `operation` in the service's protocol.
pub fn serialize(
    model: &ServiceModel,
    operation: &Operation,
    params: &Value,
) -> Result<HttpRequest, SerializeError> {
    let protocol = model
        .metadata
        .wire_protocol()
        .ok_or_else(|| SerializeError::UnsupportedProtocol(model.metadata.service_id.clone()))?;
    let params = with_idempotency_tokens(model, operation, params);
    let mut request = match protocol {
        Protocol::Json => json::serialize_request(model, operation, &params)?,
        Protocol::Query | Protocol::Ec2 => {
            query::serialize_request(model, operation, &params, protocol)?
        }
        Protocol::RestJson | Protocol::RestXml => {
            rest::serialize_request(model, operation, &params, protocol)?
        }
    };
    request.host_prefix = host_prefix(operation, &params);
    if needs_checksum(operation) && !has_checksum(&request) {
        let crc = crc32fast::hash(&request.body).to_be_bytes();
        request.headers.push((
            "x-amz-checksum-crc32".into(),
            plug_core::value::base64_encode(&crc),
        ));
    }
    Ok(request)
}

/// Parses a response: the output on 2xx, else the service's error.
pub fn parse(
    model: &ServiceModel,
    operation: &Operation,
    response: &HttpResponse,
) -> Result<Result<Value, ServiceError>, ParseError> {
    let Some(protocol) = model.metadata.wire_protocol() else {
        return Err(ParseError("unsupported protocol".into()));
    };
    if !(200..300).contains(&response.status) {
        return Ok(Err(error::parse_error(model, protocol, response)));
    }
    let output = match protocol {
        Protocol::Json => json::parse_response(model, operation, response)?,
        Protocol::Query | Protocol::Ec2 => xml::parse_query_response(model, operation, response)?,
        Protocol::RestJson | Protocol::RestXml => {
            rest::parse_response(model, operation, response, protocol)?
        }
    };
    Ok(Ok(output))
}

/// Fills absent `idempotencyToken` members with a fresh UUID, as the SDKs do,
/// so a retried create cannot create twice. Borrows when nothing is missing,
/// so large blobs are not copied.
fn with_idempotency_tokens<'p>(
    model: &ServiceModel,
    operation: &Operation,
    params: &'p Value,
) -> Cow<'p, Value> {
    let Some(input) = operation.input.as_ref().and_then(|r| model.shape(&r.shape)) else {
        return Cow::Borrowed(params);
    };
    let missing: Vec<&String> = input
        .members
        .iter()
        .filter(|(name, member)| {
            member.idempotency_token && params.get(name).is_none_or(|v| *v == Value::Null)
        })
        .map(|(name, _)| name)
        .collect();
    if missing.is_empty() || !matches!(params, Value::Map(_) | Value::Null) {
        return Cow::Borrowed(params);
    }
    let mut filled = match params {
        Value::Map(map) => map.clone(),
        _ => std::collections::BTreeMap::new(),
    };
    for name in missing {
        filled.insert(
            name.clone(),
            Value::String(uuid::Uuid::new_v4().to_string()),
        );
    }
    Cow::Owned(Value::Map(filled))
}

fn host_prefix(operation: &Operation, params: &Value) -> Option<String> {
    let template = &operation.endpoint.as_ref()?.host_prefix;
    let mut prefix = template.clone();
    while let Some(start) = prefix.find('{') {
        let end = start + prefix[start..].find('}')?;
        let label = &prefix[start + 1..end];
        let value = params.get(label).and_then(scalar::as_text)?;
        prefix.replace_range(start..=end, &value);
    }
    Some(prefix)
}

fn needs_checksum(operation: &Operation) -> bool {
    operation.http_checksum_required
        || operation
            .http_checksum
            .as_ref()
            .is_some_and(|c| c.request_checksum_required)
}

fn has_checksum(request: &HttpRequest) -> bool {
    request.headers.iter().any(|(name, _)| {
        let name = name.to_ascii_lowercase();
        name == "content-md5" || name.starts_with("x-amz-checksum-")
    })
}

/// Joins a member path for messages: `Code` + `ZipFile` = `Code.ZipFile`.
fn join_path(parent: &str, member: &str) -> String {
    if parent.is_empty() {
        member.to_owned()
    } else {
        format!("{parent}.{member}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Models;

    fn form(request: &HttpRequest) -> Vec<(String, String)> {
        String::from_utf8_lossy(&request.body)
            .split('&')
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    #[test]
    fn absent_idempotency_tokens_get_a_uuid_and_given_ones_are_kept() {
        let ec2 = Models::global().get("ec2").expect("ec2");
        let op = ec2.operation("CreateNetworkInsightsPath").expect("op");
        let params = Value::from(serde_json::json!({"Source": "eni-1", "Protocol": "tcp"}));
        let first = serialize(&ec2, op, &params).expect("serializes");
        let second = serialize(&ec2, op, &params).expect("serializes");
        let token = |r: &HttpRequest| {
            form(r)
                .into_iter()
                .find(|(k, _)| k == "ClientToken")
                .map(|(_, v)| v)
        };
        let generated = token(&first).expect("token filled");
        assert!(uuid::Uuid::parse_str(&generated).is_ok(), "{generated}");
        assert_ne!(
            token(&first),
            token(&second),
            "each call gets its own token"
        );
        let given = Value::from(
            serde_json::json!({"Source": "eni-1", "Protocol": "tcp", "ClientToken": "mine"}),
        );
        let kept = serialize(&ec2, op, &given).expect("serializes");
        assert_eq!(token(&kept).as_deref(), Some("mine"));
    }

    #[test]
    fn unknown_members_are_refused_by_every_protocol() {
        for (service, op) in [
            ("sts", "GetCallerIdentity"),
            ("lambda", "ListFunctions"),
            ("s3", "ListBuckets"),
            ("ssm", "GetParameter"),
            ("ec2", "DescribeVpcs"),
        ] {
            let model = Models::global().get(service).expect("model");
            let operation = model.operation(op).expect("op");
            let params = Value::from(serde_json::json!({"Bogus": 1}));
            assert!(
                matches!(
                    serialize(&model, operation, &params),
                    Err(SerializeError::UnknownMember { .. })
                ),
                "{service}:{op}"
            );
        }
    }
}
