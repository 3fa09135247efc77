//! The registry in its bucket: reading and writing the index with S3's
//! conditional writes, and the archives, through plug-aws's model-driven
//! client as the operator.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use plug_aws::AwsClient;
use plug_aws::identity::{IdentityConfig, Session};
use plug_core::Value;
use plug_core::ports::{AwsError, AwsInvoker};
use serde_json::json;

use crate::RegistryError;
use crate::archive::{pack, sha256};
use crate::index::{INDEX_SCHEMA, Index, Release};

/// How many times an index update is tried against other publishers.
const INDEX_ATTEMPTS: u32 = 16;

/// `s3://BUCKET/PREFIX`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryUrl {
    /// The bucket.
    pub bucket: String,
    /// The prefix inside it, without slashes at either end (may be empty).
    pub prefix: String,
}

impl RegistryUrl {
    /// Reads `s3://BUCKET` or `s3://BUCKET/PREFIX`.
    pub fn parse(text: &str) -> Result<RegistryUrl, RegistryError> {
        let bad = || RegistryError::BadUrl(text.to_owned());
        let rest = text.strip_prefix("s3://").ok_or_else(bad)?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !valid_bucket || prefix.split('/').any(|p| p == ".." || p == ".") {
            return Err(bad());
        }
        Ok(RegistryUrl {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
        })
    }

    /// The key of `rest` under the prefix.
    pub fn key(&self, rest: &str) -> String {
        match self.prefix.is_empty() {
            true => rest.to_owned(),
            false => format!("{}/{rest}", self.prefix),
        }
    }
}

impl fmt::Display for RegistryUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.prefix.is_empty() {
            true => write!(f, "s3://{}", self.bucket),
            false => write!(f, "s3://{}/{}", self.bucket, self.prefix),
        }
    }
}

/// A registry, reached as the operator.
pub struct Registry {
    url: RegistryUrl,
    client: AwsClient,
}

/// What [`Registry::publish`] recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Published {
    /// The plugin.
    pub name: String,
    /// Its version.
    pub version: String,
    /// The archive's sha256.
    pub sha256: String,
    /// Where the archive is.
    pub url: String,
    /// Whether this exact archive was already published (nothing changed).
    pub unchanged: bool,
}

impl fmt::Display for Published {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, version, url) = (&self.name, &self.version, &self.url);
        match self.unchanged {
            true => write!(f, "{name} {version} is already published ({url})"),
            false => write!(
                f,
                "published {name} {version} to {url} (sha256 {})",
                self.sha256
            ),
        }
    }
}

/// An archive fetched and checked against the index.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The version fetched.
    pub version: String,
    /// Its sha256, as recorded and as computed.
    pub sha256: String,
    /// The `tar.gz` bytes.
    pub bytes: Vec<u8>,
}

impl Registry {
    /// The registry at `url`, with the operator's AWS configuration.
    pub async fn connect(
        url: RegistryUrl,
        operator: IdentityConfig,
    ) -> Result<Registry, RegistryError> {
        let session = Session::establish(operator)
            .await
            .map_err(|e| AwsError::Transport(e.to_string()))?;
        Ok(Registry {
            url,
            client: AwsClient::new(Arc::new(session))?,
        })
    }

    fn index_key(&self) -> String {
        self.url.key("index.json")
    }

    async fn s3(&self, operation: &str, params: Value) -> Result<Value, AwsError> {
        self.client.operation("s3", operation, params).await
    }

    /// The index and its ETag (`None`: no index yet).
    pub async fn read_index(&self) -> Result<(Index, Option<String>), RegistryError> {
        let key = self.index_key();
        let params = Value::from(json!({"Bucket": self.url.bucket, "Key": key}));
        let output = match self.s3("get_object", params).await {
            Ok(output) => output,
            Err(AwsError::Service { code, .. }) if code == "NoSuchKey" => {
                return Ok((
                    Index {
                        schema: INDEX_SCHEMA,
                        ..Index::default()
                    },
                    None,
                ));
            }
            Err(e) => return Err(e.into()),
        };
        let bad = |detail: String| RegistryError::BadIndex {
            bucket: self.url.bucket.clone(),
            key: key.clone(),
            detail,
        };
        let Some(Value::Bytes(body)) = output.get("Body") else {
            return Err(bad("no body".into()));
        };
        let index: Index = serde_json::from_slice(body).map_err(|e| bad(e.to_string()))?;
        let etag = output
            .get("ETag")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok((index, etag))
    }

    /// Writes the index if it is still the one read (`etag`), or still
    /// absent; `false` when another publisher changed it first.
    async fn write_index(&self, index: &Index, etag: Option<&str>) -> Result<bool, RegistryError> {
        let body = serde_json::to_vec_pretty(index).unwrap_or_default();
        let mut params = json!({"Bucket": self.url.bucket, "Key": self.index_key(), "ContentType": "application/json"});
        match etag {
            Some(etag) => params["IfMatch"] = json!(etag),
            None => params["IfNoneMatch"] = json!("*"),
        }
        match self.s3("put_object", with_body(params, body)).await {
            Ok(_) => Ok(true),
            Err(AwsError::Service {
                status: 412 | 409, ..
            }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Packs and publishes the plugin folder at `root`.
    pub async fn publish(&self, root: &Path) -> Result<Published, RegistryError> {
        let (name, version) = name_and_version(root)?;
        let bytes = pack(root)?;
        let sha256 = sha256(&bytes);
        let key = self
            .url
            .key(&format!("archives/{name}/{version}/{sha256}.tar.gz"));
        let put = json!({"Bucket": self.url.bucket, "Key": key, "IfNoneMatch": "*", "ContentType": "application/gzip"});
        match self.s3("put_object", with_body(put, bytes)).await {
            // Content-addressed: an archive already there has these very bytes.
            Ok(_) | Err(AwsError::Service { status: 412, .. }) => {}
            Err(e) => return Err(e.into()),
        }
        let published = |unchanged| Published {
            name: name.clone(),
            version: version.clone(),
            sha256: sha256.clone(),
            url: format!("s3://{}/{key}", self.url.bucket),
            unchanged,
        };
        for attempt in 0..INDEX_ATTEMPTS {
            let (mut index, etag) = self.read_index().await?;
            let versions = index.plugins.entry(name.clone()).or_default();
            match versions.get(&version) {
                Some(r) if r.sha256 == sha256 => return Ok(published(true)),
                Some(r) => {
                    return Err(RegistryError::Exists {
                        name,
                        version,
                        existing: r.sha256.clone(),
                    });
                }
                None => {}
            }
            let release = Release {
                sha256: sha256.clone(),
                key: key.clone(),
                published_ms: plug_core::event::now_ms(),
            };
            versions.insert(version.clone(), release);
            index.schema = INDEX_SCHEMA;
            if self.write_index(&index, etag.as_deref()).await? {
                return Ok(published(false));
            }
            tokio::time::sleep(backoff(attempt)).await;
        }
        Err(RegistryError::Contended(INDEX_ATTEMPTS))
    }

    /// The archive of `name` at `version` (its highest when `None`),
    /// checked against the digest the index records.
    pub async fn fetch(&self, name: &str, version: Option<&str>) -> Result<Fetched, RegistryError> {
        let (index, _) = self.read_index().await?;
        let Some((version, release)) = index.find(name, version) else {
            let what = version.map_or_else(|| name.to_owned(), |v| format!("{name} {v}"));
            return Err(RegistryError::NotFound(format!(
                "{what} is not in the registry {}",
                self.url
            )));
        };
        let params = Value::from(json!({"Bucket": self.url.bucket, "Key": release.key}));
        let output = self.s3("get_object", params).await?;
        let Some(Value::Bytes(bytes)) = output.get("Body") else {
            return Err(RegistryError::NotFound(format!(
                "{} has no body",
                release.key
            )));
        };
        let actual = sha256(bytes);
        if actual != release.sha256 || !release.key.contains(&release.sha256) {
            return Err(RegistryError::Digest {
                name: name.to_owned(),
                version,
                recorded: release.sha256.clone(),
                actual,
            });
        }
        Ok(Fetched {
            version,
            sha256: actual,
            bytes: bytes.clone(),
        })
    }

    /// The principal publishing or fetching, when known.
    pub fn caller(&self) -> Option<String> {
        self.client.caller_arn()
    }
}

/// `params` with `Body` set to `bytes`.
fn with_body(params: serde_json::Value, bytes: Vec<u8>) -> Value {
    let mut params = Value::from(params);
    if let Value::Map(map) = &mut params {
        map.insert("Body".to_owned(), Value::Bytes(bytes));
    }
    params
}

/// A plugin's name and version, from a folder that validates.
fn name_and_version(root: &Path) -> Result<(String, String), RegistryError> {
    let plugin =
        plug_manifest::load_plugin(root).map_err(|e| RegistryError::Plugin(e.to_string()))?;
    if let Some(error) = plugin
        .findings
        .iter()
        .find(|f| f.severity == plug_manifest::Severity::Error)
    {
        return Err(RegistryError::Plugin(format!(
            "{}: the plugin does not validate ({}); run `plugctl validate` on it",
            root.display(),
            error.to_record()
        )));
    }
    let manifest = plugin
        .manifest
        .ok_or_else(|| RegistryError::Plugin("no manifest".into()))?;
    let version = manifest
        .version
        .as_ref()
        .map(ToString::to_string)
        .ok_or_else(|| {
            RegistryError::Plugin(format!(
                "{}: a published plugin needs a `version`",
                root.display()
            ))
        })?;
    Ok((manifest.name.value, version))
}

/// 50 ms doubling, with jitter from the clock, capped at 2 s.
fn backoff(attempt: u32) -> Duration {
    let base = 50u64.saturating_mul(1 << attempt.min(5)).min(2000);
    let jitter = u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos()),
    ) % base.max(1);
    Duration::from_millis(base / 2 + jitter / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_addresses_name_a_bucket_and_a_prefix() {
        let url = RegistryUrl::parse("s3://team-plugins/prod/").expect("valid");
        assert_eq!(
            (url.bucket.as_str(), url.prefix.as_str()),
            ("team-plugins", "prod")
        );
        assert_eq!(url.key("index.json"), "prod/index.json");
        assert_eq!(url.to_string(), "s3://team-plugins/prod");
        assert_eq!(
            RegistryUrl::parse("s3://b-1x").expect("valid").key("i"),
            "i"
        );
        for bad in [
            "https://x/y",
            "s3://",
            "s3://UPPER/x",
            "s3://ok-bucket/../x",
        ] {
            assert!(RegistryUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
