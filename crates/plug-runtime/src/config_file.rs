//! The operator's configuration file: the lowest layer of
//! [`RunSettings`](crate::RunSettings) before built-in defaults.
//!
//! The file is YAML, found at `--config FILE`, else `$PLUGCTL_CONFIG`, else
//! `$XDG_CONFIG_HOME/plugctl/config.yaml` (or `~/.config/plugctl/config.yaml`)
//! when it exists:
//!
//! ```yaml
//! role_arn: arn:aws:iam::111122223333:role/plugctl-agent
//! region: eu-west-1
//! profile: platform
//! operator: alice@example.com
//! policies: [/etc/plugctl/agent-policy.json]
//! role_policies: true        # also decide with the role's own policies from IAM (default)
//! identity: role             # `base`: let agent runs without a role use the base credentials
//! allow: [deploy-lambda, aws-deployment-assistant/rollback]   # skills agents may run
//! allow_all: false
//! set:
//!   mcp-server-endpoint: https://pricing.example.com/mcp
//! telemetry:
//!   cloudwatch: true          # metrics and log events (default: on when a region is known)
//!   namespace: plugctl
//!   log_group: /plugctl/runs
//!   endpoint_url: http://127.0.0.1:4566   # e.g. LocalStack
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use plug_manifest::yaml::{self, Node};

/// What the configuration file may set.
#[derive(Debug, Default, PartialEq)]
pub struct ConfigFile {
    /// The role runs assume.
    pub role_arn: Option<String>,
    /// The AWS region.
    pub region: Option<String>,
    /// The AWS profile.
    pub profile: Option<String>,
    /// The operator (`SourceIdentity`).
    pub operator: Option<String>,
    /// Identity policy files for the permission gate.
    pub policies: Vec<PathBuf>,
    /// Whether the role's own policies decide too (`None`: the default, yes).
    pub role_policies: Option<bool>,
    /// `identity: base`: agent runs without a role may act with the base credentials.
    pub base_identity: bool,
    /// The skills agents may run (`allow:`).
    pub allow: Option<Vec<String>>,
    /// Every skill may be run by agents (`allow_all: true`).
    pub allow_all: bool,
    /// Plugin configuration values.
    pub set: BTreeMap<String, String>,
    /// The `telemetry:` section.
    pub telemetry: Option<TelemetrySettings>,
}

/// Why the configuration file cannot be used; the message names the file,
/// and the line and column where it can.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

const FIELDS: &[&str] = &[
    "role_arn",
    "region",
    "profile",
    "operator",
    "policies",
    "role_policies",
    "identity",
    "allow",
    "allow_all",
    "set",
    "telemetry",
];

const TELEMETRY_FIELDS: &[&str] = &[
    "cloudwatch",
    "metrics",
    "logs",
    "namespace",
    "log_group",
    "endpoint_url",
];

/// The `telemetry:` section: where runs report besides the local audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct TelemetrySettings {
    /// Publish to CloudWatch at all (`PLUGCTL_TELEMETRY=local` turns it off).
    pub cloudwatch: bool,
    /// Namespace, log group, endpoint and which of metrics/logs.
    pub target: plug_telemetry::CloudWatchConfig,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        TelemetrySettings {
            cloudwatch: true,
            target: plug_telemetry::CloudWatchConfig::default(),
        }
    }
}

fn load_telemetry(value: &Node, at: &dyn Fn(&Node) -> String) -> Result<TelemetrySettings, String> {
    let Some(entries) = value.as_map() else {
        return Err(format!("{}: `telemetry` must be a mapping", at(value)));
    };
    let mut settings = TelemetrySettings::default();
    for (key, value) in entries {
        let name = key.as_str().unwrap_or_default();
        let text = || string(value, &format!("telemetry.{name}"), at);
        let flag = || flag(value, &format!("telemetry.{name}"), at);
        match name {
            "cloudwatch" => settings.cloudwatch = flag()?,
            "metrics" => settings.target.metrics = flag()?,
            "logs" => settings.target.logs = flag()?,
            "namespace" => settings.target.namespace = text()?,
            "log_group" => settings.target.log_group = text()?,
            "endpoint_url" => settings.target.endpoint_url = Some(text()?),
            other => {
                let help = plug_manifest::diagnostic::did_you_mean(
                    other,
                    TELEMETRY_FIELDS.iter().copied(),
                )
                .unwrap_or_else(|| format!("known settings: {}", TELEMETRY_FIELDS.join(", ")));
                return Err(format!(
                    "{}: unknown telemetry setting `{other}` ({help})",
                    at(key)
                ));
            }
        }
    }
    Ok(settings)
}

/// A setting's boolean, or where it is not one.
fn flag(value: &Node, name: &str, at: &dyn Fn(&Node) -> String) -> Result<bool, String> {
    match &value.kind {
        yaml::NodeKind::Scalar(yaml::Scalar::Bool(b)) => Ok(*b),
        _ => Err(format!("{}: `{name}` must be true or false", at(value))),
    }
}

/// A list setting's strings; `not_list` and `not_item` say what is wrong where.
fn strings(
    value: &Node,
    not_list: &str,
    not_item: &str,
    at: &dyn Fn(&Node) -> String,
) -> Result<Vec<String>, String> {
    let items = value
        .as_seq()
        .ok_or_else(|| format!("{}: {not_list}", at(value)))?;
    items
        .iter()
        .map(|i| {
            i.as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("{}: {not_item}", at(i)))
        })
        .collect()
}

/// A setting's text, or where it is not text.
fn string(value: &Node, name: &str, at: &dyn Fn(&Node) -> String) -> Result<String, String> {
    value
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("{}: `{name}` must be a string", at(value)))
}

/// The file to read: explicit, else `$PLUGCTL_CONFIG`, else the default one if present.
pub fn locate(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = explicit {
        return Some(path.to_path_buf());
    }
    if let Some(path) = std::env::var_os("PLUGCTL_CONFIG") {
        return Some(PathBuf::from(path));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("plugctl/config.yaml")).filter(|p| p.is_file())
}

/// Reads and checks the file; errors name the file, line and column.
pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
    read(path).map_err(ConfigError)
}

fn read(path: &Path) -> Result<ConfigFile, String> {
    let text =
        plug_manifest::paths::read_source(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file = plug_manifest::SourceFile::new(path, text.as_str());
    let at = |node: &Node| {
        let (line, column) = file.line_col(node.span.offset());
        format!("{}:{line}:{column}", path.display())
    };
    let doc = yaml::parse(&text)
        .map_err(|e| format!("{}: invalid YAML: {}", path.display(), e.message))?;
    let Some(entries) = doc.as_map() else {
        return Err(format!("{}: expected a mapping of settings", at(&doc)));
    };
    let mut config = ConfigFile::default();
    for (key, value) in entries {
        let name = key.as_str().unwrap_or_default();
        let text = || string(value, name, &at);
        match name {
            "role_arn" => config.role_arn = Some(text()?),
            "region" => config.region = Some(text()?),
            "profile" => config.profile = Some(text()?),
            "operator" => config.operator = Some(text()?),
            "policies" => {
                let files = strings(
                    value,
                    "`policies` must be a list of files",
                    "a policy file name",
                    &at,
                )?;
                config.policies = files.into_iter().map(PathBuf::from).collect();
            }
            "set" => {
                let pairs = value
                    .as_map()
                    .ok_or_else(|| format!("{}: `set` must map names to values", at(value)))?;
                for (k, v) in pairs {
                    config.set.insert(
                        k.key_text(),
                        v.as_str().map_or_else(|| v.key_text(), str::to_owned),
                    );
                }
            }
            "telemetry" => config.telemetry = Some(load_telemetry(value, &at)?),
            "role_policies" => config.role_policies = Some(flag(value, name, &at)?),
            "allow_all" => config.allow_all = flag(value, name, &at)?,
            "identity" => {
                config.base_identity = match text()?.as_str() {
                    "role" => false,
                    "base" => true,
                    _ => return Err(format!("{}: `identity` is `role` or `base`", at(value))),
                }
            }
            "allow" => {
                let skills = strings(
                    value,
                    "`allow` must be a list of skills",
                    "a skill name",
                    &at,
                )?;
                config.allow = Some(skills);
            }
            other => {
                let help = plug_manifest::diagnostic::did_you_mean(other, FIELDS.iter().copied())
                    .unwrap_or_else(|| format!("known settings: {}", FIELDS.join(", ")));
                return Err(format!("{}: unknown setting `{other}` ({help})", at(key)));
            }
        }
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_load_and_unknown_ones_are_located() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.yaml");
        std::fs::write(
            &path,
            "region: eu-west-1\npolicies: [a.json]\nset:\n  endpoint: https://x\n",
        )
        .expect("write");
        let config = load(&path).expect("loads");
        assert_eq!(config.region.as_deref(), Some("eu-west-1"));
        assert_eq!(config.policies, [PathBuf::from("a.json")]);
        assert_eq!(
            config.set.get("endpoint").map(String::as_str),
            Some("https://x")
        );
        std::fs::write(&path, "region: x\nrole_rn: y\n").expect("write");
        let error = load(&path).expect_err("unknown setting");
        assert!(
            error.0.contains("config.yaml:2:1") && error.0.contains("role_arn"),
            "{error}"
        );
    }
}
