//! AWS service models (botocore's `service-2.json`), embedded gzipped and
//! decompressed on first use, one service at a time.
//!
//! Only the parts the serializers, parsers and validator need are decoded;
//! documentation strings are skipped by serde.

pub mod bundled;
mod names;

use std::collections::HashMap;
use std::io::Read as _;
use std::sync::{Arc, Mutex, OnceLock};

use indexmap::IndexMap;
use serde::Deserialize;

pub use bundled::BOTOCORE_VERSION;
pub use names::{normalize_operation, suggest};

/// Why a model could not be found or read.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ModelError {
    /// No bundled model has this name.
    #[error("unknown AWS service `{name}`{}", did_you_mean(suggestion.as_deref()))]
    UnknownService {
        /// What was asked for.
        name: String,
        /// The closest bundled service.
        suggestion: Option<String>,
    },
    /// The service has no such operation.
    #[error("service `{service}` has no operation `{name}`{}", did_you_mean(suggestion.as_deref()))]
    UnknownOperation {
        /// The service.
        service: String,
        /// What was asked for.
        name: String,
        /// The closest operation, as the API names it.
        suggestion: Option<String>,
    },
    /// The embedded bytes did not decode (a broken build, not user input).
    #[error("the bundled model for `{service}` is unreadable: {reason}")]
    Corrupt {
        /// The service.
        service: String,
        /// The decoder's message.
        reason: String,
    },
}

fn did_you_mean(suggestion: Option<&str>) -> String {
    suggestion.map_or_else(String::new, |s| format!(" (did you mean `{s}`?)"))
}

/// One service's model.
#[derive(Debug, Deserialize)]
pub struct ServiceModel {
    /// Service-wide settings.
    pub metadata: Metadata,
    /// Operations by API name (`UpdateFunctionCode`).
    pub operations: HashMap<String, Operation>,
    /// Shapes by name.
    pub shapes: HashMap<String, Shape>,
}

/// `metadata` of a model.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// `YYYY-MM-DD`, sent as `Version` by the query protocols.
    pub api_version: String,
    /// The host label of the endpoint (`monitoring` for CloudWatch).
    pub endpoint_prefix: String,
    /// The preferred protocol.
    pub protocol: String,
    /// Every protocol the service speaks, in order of preference.
    #[serde(default)]
    pub protocols: Vec<String>,
    /// The SigV4 service name, when it differs from the endpoint prefix.
    pub signing_name: Option<String>,
    /// The SDK service id (`CloudWatch Logs`): names `AWS_ENDPOINT_URL_<ID>`.
    pub service_id: String,
    /// json protocol: `X-Amz-Target` prefix.
    pub target_prefix: Option<String>,
    /// json protocol: the `application/x-amz-json-<v>` version.
    pub json_version: Option<String>,
    /// A partition-global endpoint host.
    pub global_endpoint: Option<String>,
    /// Present when a json service still reports query-protocol error codes.
    pub aws_query_compatible: Option<serde_json::Value>,
}

/// The wire protocols plug-aws speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// awsJson 1.0/1.1: POST with `X-Amz-Target`.
    Json,
    /// restJson1.
    RestJson,
    /// restXml (S3).
    RestXml,
    /// awsQuery.
    Query,
    /// ec2Query.
    Ec2,
}

impl Metadata {
    /// The first protocol of the model's list that plug-aws speaks.
    pub fn wire_protocol(&self) -> Option<Protocol> {
        let parse = |p: &str| match p {
            "json" => Some(Protocol::Json),
            "rest-json" => Some(Protocol::RestJson),
            "rest-xml" => Some(Protocol::RestXml),
            "query" => Some(Protocol::Query),
            "ec2" => Some(Protocol::Ec2),
            _ => None,
        };
        self.protocols
            .iter()
            .find_map(|p| parse(p))
            .or_else(|| parse(&self.protocol))
    }

    /// The name SigV4 signs with.
    pub fn signing_name(&self) -> &str {
        self.signing_name
            .as_deref()
            .unwrap_or(&self.endpoint_prefix)
    }
}

/// One operation.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    /// The API name.
    pub name: String,
    /// Method and URI template.
    pub http: Http,
    /// The input shape.
    pub input: Option<ShapeRef>,
    /// The output shape (with `resultWrapper` for query).
    pub output: Option<ShapeRef>,
    /// `endpoint.hostPrefix`.
    pub endpoint: Option<OperationEndpoint>,
    /// Older checksum trait: the body needs an integrity checksum.
    #[serde(default)]
    pub http_checksum_required: bool,
    /// Newer checksum trait.
    pub http_checksum: Option<HttpChecksum>,
}

/// `http` of an operation.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Http {
    /// `GET`, `PUT`, ...
    pub method: String,
    /// Path template, possibly with a literal query (`/{Bucket}?tagging`).
    pub request_uri: String,
    /// The success status, when not 200.
    pub response_code: Option<u16>,
}

/// `endpoint` of an operation.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationEndpoint {
    /// A template prepended to the host, e.g. `{AccountId}.`.
    pub host_prefix: String,
}

/// `httpChecksum` of an operation.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpChecksum {
    /// Whether a checksum must be sent.
    #[serde(default)]
    pub request_checksum_required: bool,
}

/// A reference to a shape, with the traits the reference adds.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShapeRef {
    /// The target shape.
    pub shape: String,
    /// `uri`, `querystring`, `header`, `headers`, `statusCode`.
    pub location: Option<String>,
    /// The wire name.
    pub location_name: Option<String>,
    /// ec2: the query key.
    pub query_name: Option<String>,
    /// XML/query lists and maps without a wrapper element.
    pub flattened: Option<bool>,
    /// XML namespace of the element.
    pub xml_namespace: Option<XmlNamespace>,
    /// Serialized as an XML attribute.
    #[serde(default)]
    pub xml_attribute: bool,
    /// Filled with a UUID when absent.
    #[serde(default)]
    pub idempotency_token: bool,
    /// Overrides the protocol's timestamp format.
    pub timestamp_format: Option<String>,
    /// A header holding base64 JSON.
    #[serde(default)]
    pub jsonvalue: bool,
    /// query: the element that wraps the output.
    pub result_wrapper: Option<String>,
    /// Fills a label of the operation's host prefix.
    #[serde(default)]
    pub host_label: bool,
    /// A streaming blob (S3 object bodies).
    #[serde(default)]
    pub streaming: bool,
}

/// An XML namespace declaration.
#[derive(Debug, Clone, Deserialize)]
pub struct XmlNamespace {
    /// The namespace URI.
    pub uri: String,
    /// The prefix, when not the default namespace.
    pub prefix: Option<String>,
}

/// A shape.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shape {
    /// `structure`, `list`, `map`, `string`, `integer`, `long`, `double`,
    /// `float`, `boolean`, `timestamp`, `blob`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Structure members, in model order (XML serializes in this order).
    #[serde(default)]
    pub members: IndexMap<String, ShapeRef>,
    /// Required structure members.
    #[serde(default)]
    pub required: Vec<String>,
    /// List element.
    pub member: Option<Box<ShapeRef>>,
    /// Map key.
    pub key: Option<Box<ShapeRef>>,
    /// Map value.
    pub value: Option<Box<ShapeRef>>,
    /// Lists and maps without a wrapper element.
    #[serde(default)]
    pub flattened: bool,
    /// The element name.
    pub location_name: Option<String>,
    /// The default timestamp format of this shape.
    pub timestamp_format: Option<String>,
    /// The member that is the whole HTTP body.
    pub payload: Option<String>,
    /// Allowed string values.
    #[serde(rename = "enum")]
    pub enum_values: Option<Vec<String>>,
    /// Error shapes: their code and status.
    pub error: Option<ErrorTrait>,
    /// Whether this is an error shape.
    #[serde(default)]
    pub exception: bool,
    /// XML namespace of the element.
    pub xml_namespace: Option<XmlNamespace>,
    /// A streaming blob.
    #[serde(default)]
    pub streaming: bool,
    /// A free-form JSON document.
    #[serde(default)]
    pub document: bool,
    /// Exactly one member may be set.
    #[serde(default)]
    pub union: bool,
    /// Holds secrets.
    #[serde(default)]
    pub sensitive: bool,
}

/// `error` of an error shape.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorTrait {
    /// The wire code when it differs from the shape name.
    pub code: Option<String>,
    /// The HTTP status.
    pub http_status_code: Option<u16>,
}

impl ServiceModel {
    /// Looks up a shape; models are self-consistent, but a missing shape must not panic.
    pub fn shape(&self, name: &str) -> Option<&Shape> {
        self.shapes.get(name)
    }

    /// Finds an operation by its API name or its botocore (snake_case) name.
    pub fn operation(&self, name: &str) -> Option<&Operation> {
        if let Some(op) = self.operations.get(name) {
            return Some(op);
        }
        let wanted = normalize_operation(name);
        self.operations
            .values()
            .find(|op| normalize_operation(&op.name) == wanted)
    }

    /// The operation names, sorted.
    pub fn operation_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.operations.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }
}

impl ShapeRef {
    /// The wire name of a member: `locationName`, else the member's own name.
    pub fn wire_name<'a>(&'a self, member: &'a str) -> &'a str {
        self.location_name.as_deref().unwrap_or(member)
    }
}

/// The embedded models, decoded on first use and kept for the life of the process.
pub struct Models {
    decoded: Mutex<HashMap<&'static str, Arc<ServiceModel>>>,
}

impl Models {
    /// The process-wide registry.
    pub fn global() -> &'static Models {
        static MODELS: OnceLock<Models> = OnceLock::new();
        MODELS.get_or_init(|| Models {
            decoded: Mutex::new(HashMap::new()),
        })
    }

    /// botocore's names of the bundled services, sorted.
    pub fn service_names() -> impl Iterator<Item = &'static str> {
        bundled::MODELS.iter().map(|m| m.service)
    }

    /// The model of `service` (botocore's name, e.g. `logs`; a few aliases such as
    /// `monitoring` are accepted).
    pub fn get(&self, service: &str) -> Result<Arc<ServiceModel>, ModelError> {
        let wanted = canonical_service(service);
        let Some(bundled) = bundled::MODELS.iter().find(|m| m.service == wanted) else {
            return Err(ModelError::UnknownService {
                name: service.to_owned(),
                suggestion: suggest(service, Self::service_names()),
            });
        };
        if let Some(model) = self.lock().get(bundled.service) {
            return Ok(Arc::clone(model));
        }
        // Decode outside the lock: ec2 takes a while and other services need not wait.
        let model = Arc::new(decode(bundled.service, bundled.gzipped)?);
        self.lock().insert(bundled.service, Arc::clone(&model));
        Ok(model)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<&'static str, Arc<ServiceModel>>> {
        // A panic while holding the lock leaves the map intact (inserts are atomic).
        self.decoded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Maps names people use for a service onto botocore's.
fn canonical_service(name: &str) -> String {
    let lower = name.trim().to_ascii_lowercase();
    match lower.as_str() {
        "monitoring" => "cloudwatch".into(),
        "cloudwatchlogs" | "cloudwatch-logs" | "cloudwatch_logs" => "logs".into(),
        "eventbridge" => "events".into(),
        "secrets-manager" | "secrets_manager" => "secretsmanager".into(),
        _ => lower,
    }
}

fn gunzip(service: &str, gzipped: &[u8]) -> Result<Vec<u8>, ModelError> {
    let mut json = Vec::with_capacity(gzipped.len() * 8);
    flate2::read::GzDecoder::new(gzipped)
        .read_to_end(&mut json)
        .map_err(|e| ModelError::Corrupt {
            service: service.to_owned(),
            reason: e.to_string(),
        })?;
    Ok(json)
}

fn decode(service: &str, gzipped: &[u8]) -> Result<ServiceModel, ModelError> {
    let json = gunzip(service, gzipped)?;
    serde_json::from_slice(&json).map_err(|e| ModelError::Corrupt {
        service: service.to_owned(),
        reason: e.to_string(),
    })
}

/// botocore's `partitions.json`, decoded once.
pub fn partitions_json() -> Result<&'static serde_json::Value, ModelError> {
    static PARTITIONS: OnceLock<Result<serde_json::Value, ModelError>> = OnceLock::new();
    PARTITIONS
        .get_or_init(|| {
            let json = gunzip("partitions", bundled::PARTITIONS)?;
            serde_json::from_slice(&json).map_err(|e| ModelError::Corrupt {
                service: "partitions".into(),
                reason: e.to_string(),
            })
        })
        .as_ref()
        .map_err(Clone::clone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_model_decodes_and_has_a_supported_protocol() {
        for service in Models::service_names() {
            let model = Models::global()
                .get(service)
                .expect("bundled model decodes");
            assert!(
                model.metadata.wire_protocol().is_some(),
                "{service} speaks no protocol plug-aws supports"
            );
            assert!(!model.operations.is_empty(), "{service} has no operations");
        }
    }

    #[test]
    fn operations_resolve_by_api_or_botocore_name() {
        let lambda = Models::global().get("lambda").expect("lambda model");
        for name in ["UpdateFunctionCode", "update_function_code"] {
            let op = lambda.operation(name).expect("operation found");
            assert_eq!(op.name, "UpdateFunctionCode");
        }
        assert!(lambda.operation("update_function_codes").is_none());
    }

    #[test]
    fn unknown_service_suggests_the_closest() {
        let err = Models::global().get("lamda").expect_err("no such service");
        assert!(matches!(
            err,
            ModelError::UnknownService { suggestion: Some(ref s), .. } if s == "lambda"
        ));
    }

    #[test]
    fn cloudwatch_is_spoken_as_json() {
        let cw = Models::global().get("monitoring").expect("alias resolves");
        assert_eq!(cw.metadata.wire_protocol(), Some(Protocol::Json));
    }
}
