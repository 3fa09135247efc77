//! Plugins through S3 registries, for every front end: the plugin store
//! with registry access (`install s3://BUCKET/PREFIX#NAME@VERSION`), and
//! publishing. Both act as the operator (the configured profile, region
//! and endpoint), never as a run's session.

use std::path::Path;
use std::sync::Arc;

use plug_registry::{Published, Registry, RegistryError, RegistryUrl, S3Archives};
use plug_store::Store;

use crate::settings::RunSettings;

/// The default store, able to fetch registry sources as the operator.
pub fn plugin_store(settings: &RunSettings) -> Option<Store> {
    let archives = S3Archives {
        operator: settings.identity.operator_config(),
    };
    Store::open_default().map(|store| store.with_archives(Arc::new(archives)))
}

/// Packs the plugin folder at `plugin` and publishes it to `registry`.
pub async fn publish(
    settings: &RunSettings,
    plugin: &Path,
    registry: &str,
) -> Result<Published, RegistryError> {
    let url = RegistryUrl::parse(registry)?;
    let registry = Registry::connect(url, settings.identity.operator_config()).await?;
    registry.publish(plugin).await
}

/// What an installed plugin still needs before it runs (required user
/// configuration without a value), as a warning to show; `None` when ready.
pub fn missing_config(store: &Store, name: &str) -> Option<String> {
    let dir = store.resolve(name).ok()?;
    let plugin = plug_manifest::load_plugin(&dir).ok()?;
    crate::PluginSettings::load(&plugin, &[])
        .err()
        .map(|e| e.to_string())
}
