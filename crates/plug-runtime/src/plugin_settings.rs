//! What a plugin's hooks and MCP servers get from the operator: its user
//! configuration and, once installed, its persistent data folder.
//!
//! Values come, later ones winning, from the manifest's defaults, the values
//! stored with an installed plugin (`plugctl install --set`, `plugctl config
//! set`) and the command's own `--set`. A plugin counts as installed when its
//! folder is one of the store's, whether it was named or given by path; its
//! digest is checked again here. Sensitive values stored at install never go
//! into a run's journal, and every sensitive value is redacted from what
//! plugctl prints about the plugin.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use plug_hooks::HostConfig;
use plug_manifest::Plugin;
use plug_manifest::native::model::{ConfigValue, Manifest};
use plug_store::{Store, StoreError};
use plug_telemetry::Redactor;

/// Why a plugin's settings cannot be assembled.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The store refused (a tampered tree, an unreadable lock or secrets file).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A value the plugin requires has none.
    #[error("{plugin} needs its user config `{key}`{about}; {how}")]
    MissingRequired {
        /// The plugin.
        plugin: String,
        /// The key.
        key: String,
        /// ` (its description)`, when it has one.
        about: String,
        /// How to give it a value.
        how: String,
    },
}

/// A plugin's user configuration and data folder, ready for its hooks and servers.
pub struct PluginSettings {
    /// Every value by key (defaults, stored, `--set`).
    values: BTreeMap<String, String>,
    /// Keys whose value is a sensitive one stored at install.
    stored_secrets: BTreeSet<String>,
    /// Keys the manifest declares: what hooks get as `CLAUDE_PLUGIN_OPTION_*`.
    declared: BTreeSet<String>,
    /// Values of sensitive keys, whatever their source.
    secrets: Vec<String>,
    /// The installed plugin's data folder.
    data_dir: Option<PathBuf>,
}

impl PluginSettings {
    /// The settings of `plugin` with the command's `set` values.
    pub fn load(plugin: &Plugin, set: &[(String, String)]) -> Result<Self, SettingsError> {
        let Some(manifest) = &plugin.manifest else {
            return Ok(PluginSettings::empty());
        };
        let mut values: BTreeMap<String, String> = manifest
            .config
            .iter()
            .filter_map(|(k, v)| v.default.clone().map(|d| (k.clone(), d)))
            .collect();
        let mut stored_secrets = BTreeSet::new();
        let mut data_dir = None;
        let store = Store::open_default();
        let installed = store
            .as_ref()
            .and_then(|s| Some((s, s.installed_at(&plugin.root)?)));
        if let Some((store, name)) = &installed {
            store.resolve(name)?;
            for (key, value) in store.config(name)? {
                if is_sensitive(manifest, &key) {
                    stored_secrets.insert(key.clone());
                }
                values.insert(key, value);
            }
            data_dir = Some(store.data_dir(name)?);
        }
        for (key, value) in set {
            stored_secrets.remove(key);
            values.insert(key.clone(), value.clone());
        }
        let name = installed.as_ref().map(|(_, name)| name.as_str());
        check_required(manifest, &values, name)?;
        Ok(PluginSettings {
            secrets: secret_values(manifest, &values),
            declared: declared_keys(manifest),
            values,
            stored_secrets,
            data_dir,
        })
    }

    /// Settings with nothing in them (a plugin without a manifest).
    pub fn empty() -> Self {
        PluginSettings {
            values: BTreeMap::new(),
            stored_secrets: BTreeSet::new(),
            declared: BTreeSet::new(),
            secrets: Vec::new(),
            data_dir: None,
        }
    }

    /// The values a run may record in its journal: all but the sensitive
    /// ones stored at install (the store gives them again on resume).
    pub fn journal_values(&self) -> BTreeMap<String, String> {
        let mut values = self.values.clone();
        values.retain(|k, _| !self.stored_secrets.contains(k));
        values
    }

    /// The installed plugin's data folder.
    pub fn data_dir(&self) -> Option<&std::path::Path> {
        self.data_dir.as_deref()
    }

    /// The values of sensitive keys, for the audit log's redactor.
    pub fn secrets(&self) -> &[String] {
        &self.secrets
    }

    /// The hook host's configuration: the declared values as plugin options
    /// and the data folder.
    pub fn host_config(&self) -> HostConfig {
        let options = self
            .values
            .iter()
            .filter(|(k, _)| self.declared.contains(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        HostConfig {
            plugin_options: options,
            plugin_data: self.data_dir.clone(),
            ..HostConfig::default()
        }
    }

    /// The plugin's MCP servers with these values and data folder.
    pub fn registry(&self, plugin: &Plugin) -> plug_mcp::Registry {
        plug_mcp::Registry::from_plugin_with_data(plugin, &self.values, self.data_dir())
    }

    /// `text` with every sensitive value replaced, for anything printed.
    pub fn redact(&self, text: &str) -> String {
        let mut redactor = Redactor::new();
        for secret in &self.secrets {
            redactor.add_secret(secret);
        }
        redactor.text(text).into_owned()
    }
}

fn is_sensitive(manifest: &Manifest, key: &str) -> bool {
    manifest.config.get(key).is_some_and(|c| c.sensitive)
}

fn declared_keys(manifest: &Manifest) -> BTreeSet<String> {
    manifest
        .config
        .iter()
        .filter(|(_, c)| c.declared)
        .map(|(k, _)| k.clone())
        .collect()
}

fn secret_values(manifest: &Manifest, values: &BTreeMap<String, String>) -> Vec<String> {
    values
        .iter()
        .filter(|(k, _)| is_sensitive(manifest, k))
        .map(|(_, v)| v.clone())
        .collect()
}

/// A host-format plugin's `userConfig` entries marked `required` need a
/// value. (Native plugins keep their lazy check: a missing `<name>` fails
/// the server or step that uses it, not the whole plugin.)
fn check_required(
    manifest: &Manifest,
    values: &BTreeMap<String, String>,
    installed: Option<&str>,
) -> Result<(), SettingsError> {
    if manifest.format.is_native() {
        return Ok(());
    }
    let missing = manifest
        .config
        .iter()
        .find(|(k, c)| c.declared && c.required && !values.contains_key(*k));
    let Some((key, value)) = missing else {
        return Ok(());
    };
    Err(SettingsError::MissingRequired {
        plugin: manifest.name.value.clone(),
        key: key.clone(),
        about: about(value),
        how: how_to_set(key, installed),
    })
}

fn about(value: &ConfigValue) -> String {
    value
        .description
        .as_deref()
        .map(|d| format!(" ({d})"))
        .unwrap_or_default()
}

fn how_to_set(key: &str, installed: Option<&str>) -> String {
    match installed {
        Some(name) => format!(
            "set it with `plugctl config set {name} {key}=...` (or reinstall with `plugctl install <source> --set {key}=...`)"
        ),
        None => format!(
            "pass `--set {key}=...`, or install the plugin with `plugctl install <source> --set {key}=...`"
        ),
    }
}
