//! Operator configuration of installed plugins: plain values in the lock
//! file, values the plugin marks sensitive in an owner-only secrets file
//! (never in the lock, never in `Debug`, never in an error).

use plug_manifest::native::model::Manifest;

use crate::error::StoreError;
use crate::guard::StoreGuard;
use crate::lock::{Installed, write_atomic};
use crate::store::{Config, Store, checked_manifest};

impl Store {
    /// The operator configuration given at install, sensitive values included.
    pub fn config(&self, name: &str) -> Result<Config, StoreError> {
        let _guard = StoreGuard::shared(self.root())?;
        self.config_unlocked(name)
    }

    pub(crate) fn config_unlocked(&self, name: &str) -> Result<Config, StoreError> {
        let mut config = self.installed(name)?.config;
        config.extend(self.read_secrets(name)?);
        Ok(config)
    }

    /// Sets configuration values of an installed plugin (as `install --set`
    /// would have), keeping the others; the plugin's files are checked first.
    pub fn set_config(
        &self,
        name: &str,
        values: &[(String, String)],
    ) -> Result<Installed, StoreError> {
        let _guard = StoreGuard::exclusive(self.root())?;
        let dir = self.resolve_unlocked(name)?;
        let manifest = checked_manifest(&dir)?;
        let mut config = self.config_unlocked(name)?;
        config.extend(values.iter().cloned());
        let (plain, secret) = split_config(&manifest, config)?;
        let mut lock = self.lock()?;
        let installed = lock
            .plugins
            .get_mut(name)
            .ok_or_else(|| StoreError::NotInstalled(name.to_owned()))?;
        installed.config = plain;
        installed.sensitive = secret.keys().cloned().collect();
        let updated = installed.clone();
        self.write_secrets(name, &secret)?;
        lock.write(&self.root().join("plugctl.lock"))?;
        Ok(updated)
    }

    pub(crate) fn write_secrets(&self, name: &str, secrets: &Config) -> Result<(), StoreError> {
        let path = self.secrets_path(name);
        if secrets.is_empty() {
            return match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::io(&path)(e)),
                _ => Ok(()),
            };
        }
        let text = serde_json::to_vec_pretty(secrets).map_err(|e| StoreError::Lock {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        write_atomic(&path, &text, Some(0o600))
    }

    fn read_secrets(&self, name: &str) -> Result<Config, StoreError> {
        let path = self.secrets_path(name);
        match std::fs::read(&path) {
            // Only the position: serde_json's own message may quote a value.
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| StoreError::Lock {
                path,
                detail: format!(
                    "not a JSON object of strings (line {}, column {})",
                    e.line(),
                    e.column()
                ),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::new()),
            Err(e) => Err(StoreError::io(&path)(e)),
        }
    }
}

/// Operator values split into plain and sensitive ones; a key the plugin
/// neither declares nor uses as `<server>.<setting>` is refused.
pub(crate) fn split_config(
    manifest: &Manifest,
    config: Config,
) -> Result<(Config, Config), StoreError> {
    let (mut plain, mut secret) = (Config::new(), Config::new());
    for (key, value) in config {
        let server_setting = key
            .split_once('.')
            .is_some_and(|(server, _)| manifest.mcp_servers.iter().any(|s| s.name == server));
        match manifest.config.get(&key) {
            Some(declared) if declared.sensitive => secret.insert(key, value),
            Some(_) => plain.insert(key, value),
            None if server_setting => plain.insert(key, value),
            None => {
                let declared: Vec<&str> = manifest.config.keys().map(String::as_str).collect();
                return Err(StoreError::UnknownConfig {
                    plugin: manifest.name.value.clone(),
                    key,
                    declared: declared.join(", "),
                });
            }
        };
    }
    Ok((plain, secret))
}
