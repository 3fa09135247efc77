//! Where a request goes: a configured endpoint (`AWS_ENDPOINT_URL_<SERVICE>`,
//! `AWS_ENDPOINT_URL`, a profile's `endpoint_url`) or the regional endpoint
//! derived from botocore's partitions; IAM is global; S3 uses virtual-host
//! addressing only on AWS's own endpoints.

use std::collections::HashMap;

use crate::model::{self, ServiceModel};

/// A resolved endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `scheme://host[:port][/base]`, without a trailing slash.
    pub url: String,
    /// The region SigV4 signs for.
    pub signing_region: String,
    /// Whether it came from configuration (then S3 uses path-style addressing
    /// and host prefixes are not applied).
    pub custom: bool,
}

/// Why no endpoint could be found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// No region was configured.
    #[error("no AWS region configured (set AWS_REGION or a profile region)")]
    NoRegion,
    /// A configured endpoint is not an http(s) URL.
    #[error("endpoint `{0}` is not an http:// or https:// URL")]
    BadUrl(String),
    /// The partitions file is unreadable.
    #[error("{0}")]
    Model(String),
}

/// Endpoints configured by the operator, per service and for all services.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointOverrides {
    /// `AWS_ENDPOINT_URL` or the profile's `endpoint_url`.
    pub all: Option<String>,
    /// By env suffix (`LAMBDA`, `CLOUDWATCH_LOGS`): `AWS_ENDPOINT_URL_<SUFFIX>`.
    pub per_service: HashMap<String, String>,
}

impl EndpointOverrides {
    /// Reads `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_*` from the environment,
    /// unless `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is true.
    pub fn from_env() -> EndpointOverrides {
        Self::from_vars(std::env::vars())
    }

    /// Like [`EndpointOverrides::from_env`], from explicit variables.
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> EndpointOverrides {
        let vars: Vec<(String, String)> = vars.into_iter().collect();
        let ignored = vars.iter().any(|(k, v)| {
            k == "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS" && v.eq_ignore_ascii_case("true")
        });
        let mut overrides = EndpointOverrides::default();
        if ignored {
            return overrides;
        }
        for (key, value) in vars {
            if value.trim().is_empty() {
                continue;
            }
            if key == "AWS_ENDPOINT_URL" {
                overrides.all = Some(value);
            } else if let Some(service) = key.strip_prefix("AWS_ENDPOINT_URL_") {
                overrides.per_service.insert(service.to_owned(), value);
            }
        }
        overrides
    }

    /// The configured endpoint for a service, by its SDK service id (`CloudWatch Logs`).
    pub fn for_service(&self, service_id: &str) -> Option<&str> {
        self.per_service
            .get(&env_suffix(service_id))
            .or(self.all.as_ref())
            .map(String::as_str)
    }
}

/// `CloudWatch Logs` -> `CLOUDWATCH_LOGS`, the suffix of its endpoint variable.
pub fn env_suffix(service_id: &str) -> String {
    service_id
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("_")
        .replace('-', "_")
        .to_ascii_uppercase()
}

/// The endpoint for `model` in `region`.
pub fn resolve(
    model: &ServiceModel,
    region: &str,
    overrides: &EndpointOverrides,
) -> Result<Endpoint, EndpointError> {
    if region.is_empty() {
        return Err(EndpointError::NoRegion);
    }
    if let Some(url) = overrides.for_service(&model.metadata.service_id) {
        let url = url.trim_end_matches('/');
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(EndpointError::BadUrl(url.to_owned()));
        }
        return Ok(Endpoint {
            url: url.to_owned(),
            signing_region: region.to_owned(),
            custom: true,
        });
    }
    let partition = partition_for(region)?;
    let prefix = &model.metadata.endpoint_prefix;
    if prefix == "iam" {
        let host = if partition.id == "aws" {
            "iam.amazonaws.com".to_owned()
        } else {
            format!("iam.{}", partition.dns_suffix)
        };
        return Ok(Endpoint {
            url: format!("https://{host}"),
            signing_region: partition.global_region,
            custom: false,
        });
    }
    Ok(Endpoint {
        url: format!("https://{prefix}.{region}.{}", partition.dns_suffix),
        signing_region: region.to_owned(),
        custom: false,
    })
}

/// The parts of a partition that endpoints need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// `aws`, `aws-cn`, ...
    pub id: String,
    /// `amazonaws.com`, ...
    pub dns_suffix: String,
    /// Where global services sign (`us-east-1` in `aws`).
    pub global_region: String,
}

/// The partition of a region: listed regions first, then the region patterns
/// (the longest literal prefix wins, so `us-gov-` beats `us-`).
pub fn partition_for(region: &str) -> Result<Partition, EndpointError> {
    let doc = model::partitions_json().map_err(|e| EndpointError::Model(e.to_string()))?;
    let partitions = doc
        .get("partitions")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| EndpointError::Model("partitions.json has no partitions".into()))?;
    let listed = partitions
        .iter()
        .find(|p| p.get("regions").and_then(|r| r.get(region)).is_some());
    let by_pattern = || {
        partitions
            .iter()
            .filter_map(|p| {
                let pattern = p.get("regionRegex")?.as_str()?;
                let best = region_prefixes(pattern)
                    .into_iter()
                    .filter(|prefix| region.starts_with(prefix.as_str()))
                    .map(|prefix| prefix.len())
                    .max()?;
                Some((best, p))
            })
            .max_by_key(|(len, _)| *len)
            .map(|(_, p)| p)
    };
    let chosen = listed
        .or_else(by_pattern)
        .or_else(|| partitions.first())
        .ok_or_else(|| EndpointError::Model("no partitions".into()))?;
    let outputs = chosen.get("outputs");
    let text = |key: &str, default: &str| {
        outputs
            .and_then(|o| o.get(key))
            .and_then(serde_json::Value::as_str)
            .unwrap_or(default)
            .to_owned()
    };
    Ok(Partition {
        id: chosen
            .get("id")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("aws")
            .to_owned(),
        dns_suffix: text("dnsSuffix", "amazonaws.com"),
        global_region: text("implicitGlobalRegion", "us-east-1"),
    })
}

/// The literal region prefixes a pattern such as `^(us|eu)\-\w+\-\d+$` or
/// `^cn\-\w+\-\d+$` admits: `us-`, `eu-`, `cn-`.
fn region_prefixes(pattern: &str) -> Vec<String> {
    let body = pattern.trim_start_matches('^');
    let head = body.split("\\-").next().unwrap_or("");
    let head = head.trim_start_matches('(').trim_end_matches(')');
    let mut prefixes: Vec<String> = head.split('|').map(|alt| format!("{alt}-")).collect();
    // `^us\-gov\-\w+\-\d+$`: keep the literal second segment too.
    let segments: Vec<&str> = body.split("\\-").collect();
    if segments.len() > 3 && !segments[1].contains('\\') && prefixes.len() == 1 {
        prefixes = vec![format!("{}-{}-", head, segments[1])];
    }
    prefixes
}

/// Whether a bucket can be addressed as `bucket.s3.region.amazonaws.com`
/// (no dots, so the TLS wildcard certificate matches).
pub fn virtual_host_compatible(bucket: &str) -> bool {
    (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !bucket.starts_with('-')
        && !bucket.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Models;

    fn model(service: &str) -> std::sync::Arc<ServiceModel> {
        Models::global().get(service).expect("bundled")
    }

    #[test]
    fn regional_endpoints_follow_the_partition() {
        let none = EndpointOverrides::default();
        let lambda = resolve(&model("lambda"), "eu-west-1", &none).expect("resolves");
        assert_eq!(lambda.url, "https://lambda.eu-west-1.amazonaws.com");
        let cw = resolve(&model("cloudwatch"), "cn-north-1", &none).expect("resolves");
        assert_eq!(cw.url, "https://monitoring.cn-north-1.amazonaws.com.cn");
        let sts = resolve(&model("sts"), "us-west-2", &none).expect("resolves");
        assert_eq!(sts.url, "https://sts.us-west-2.amazonaws.com");
    }

    #[test]
    fn unlisted_regions_match_by_pattern() {
        assert_eq!(
            partition_for("us-gov-east-9").expect("partition").id,
            "aws-us-gov"
        );
        assert_eq!(partition_for("eu-south-9").expect("partition").id, "aws");
        assert_eq!(partition_for("cn-west-9").expect("partition").id, "aws-cn");
    }

    #[test]
    fn iam_is_global_and_signed_in_us_east_1() {
        let iam = resolve(&model("iam"), "eu-central-1", &EndpointOverrides::default())
            .expect("resolves");
        assert_eq!(iam.url, "https://iam.amazonaws.com");
        assert_eq!(iam.signing_region, "us-east-1");
    }

    #[test]
    fn service_specific_overrides_beat_the_global_one() {
        let overrides = EndpointOverrides::from_vars([
            (
                "AWS_ENDPOINT_URL".to_owned(),
                "http://127.0.0.1:4566/".to_owned(),
            ),
            (
                "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS".to_owned(),
                "http://logs.local:1".to_owned(),
            ),
        ]);
        let logs = resolve(&model("logs"), "us-east-1", &overrides).expect("resolves");
        assert_eq!(logs.url, "http://logs.local:1");
        let s3 = resolve(&model("s3"), "us-east-1", &overrides).expect("resolves");
        assert_eq!(
            (s3.url.as_str(), s3.custom),
            ("http://127.0.0.1:4566", true)
        );
        let ignored = EndpointOverrides::from_vars([
            ("AWS_ENDPOINT_URL".to_owned(), "http://x:1".to_owned()),
            (
                "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS".to_owned(),
                "true".to_owned(),
            ),
        ]);
        assert_eq!(ignored, EndpointOverrides::default());
    }

    #[test]
    fn dotted_buckets_are_not_virtual_hosted() {
        assert!(virtual_host_compatible("my-bucket-1"));
        assert!(!virtual_host_compatible("my.bucket"));
        assert!(!virtual_host_compatible("My_Bucket"));
    }
}
