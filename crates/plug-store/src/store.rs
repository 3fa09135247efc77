//! The store: install, resolve (with the digest check), update, remove, and
//! the marketplaces plugins are installed from.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use plug_manifest::ecosystem::marketplace::{self, PluginSource};
use plug_manifest::native::model::Manifest;
use plug_manifest::paths::resolve_inside;
use plug_manifest::{Severity, load_plugin};

use crate::digest::tree_sha256;
use crate::error::StoreError;
use crate::fetch::{clone, copy_tree};
use crate::guard::StoreGuard;
use crate::lock::{Installed, Lockfile, MarketplaceRecord};
use crate::source::{Source, is_name};
use crate::user_config::split_config;

/// The plugins installed under one folder.
#[derive(Clone)]
pub struct Store {
    root: PathBuf,
    /// Where registry sources are fetched from (none: they cannot be).
    archives: Option<std::sync::Arc<dyn ArchiveSource>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

/// Fetches plugin archives from a registry (plug-registry implements it
/// for S3): the archive must already be checked against the digest the
/// registry records; the store unpacks it entry by entry.
pub trait ArchiveSource: Send + Sync {
    /// The `tar.gz` of `name` at `version` (its highest when `None`) in
    /// `registry`.
    fn fetch(
        &self,
        registry: &str,
        name: &str,
        version: Option<&str>,
    ) -> Result<FetchedArchive, StoreError>;
}

/// An archive a registry handed over, verified.
#[derive(Debug, Clone)]
pub struct FetchedArchive {
    /// The version it holds.
    pub version: String,
    /// Its sha256.
    pub sha256: String,
    /// The `tar.gz` bytes.
    pub bytes: Vec<u8>,
}

/// What [`Store::update`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// The plugin.
    pub name: String,
    /// Its version before.
    pub from: Option<String>,
    /// Its version after.
    pub to: Option<String>,
    /// Whether its files changed.
    pub changed: bool,
}

/// A plugin fetched into staging: its folder and the commit (or registry
/// archive) it came from.
struct Fetched {
    dir: PathBuf,
    commit: Option<String>,
    archive: Option<String>,
}

/// Operator configuration values by key.
pub(crate) type Config = BTreeMap<String, String>;

impl Store {
    /// The store at `root` (created on first write).
    pub fn open(root: impl Into<PathBuf>) -> Store {
        Store {
            root: root.into(),
            archives: None,
        }
    }

    /// The same store, fetching registry sources through `archives`.
    pub fn with_archives(mut self, archives: std::sync::Arc<dyn ArchiveSource>) -> Store {
        self.archives = Some(archives);
        self
    }

    /// The store at [`crate::location::default_root`].
    pub fn open_default() -> Option<Store> {
        crate::location::default_root().map(Store::open)
    }

    /// The store's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn lock_path(&self) -> PathBuf {
        self.root.join("plugctl.lock")
    }

    fn plugin_dir(&self, name: &str) -> PathBuf {
        self.root.join("plugins").join(name)
    }

    fn marketplace_dir(&self, name: &str) -> PathBuf {
        self.root.join("marketplaces").join(name)
    }

    pub(crate) fn secrets_path(&self, name: &str) -> PathBuf {
        self.root.join("secrets").join(format!("{name}.json"))
    }

    /// Where an installed plugin keeps its persistent data (`CLAUDE_PLUGIN_DATA`):
    /// beside the plugin's folder, not in it, so the tree digest ignores it
    /// and `update` (which replaces the folder) keeps it.
    fn data_path(&self, name: &str) -> PathBuf {
        self.root.join("data").join(name)
    }

    fn staging(&self) -> Result<tempfile::TempDir, StoreError> {
        let dir = self.root.join("staging");
        std::fs::create_dir_all(&dir).map_err(StoreError::io(&dir))?;
        tempfile::tempdir_in(&dir).map_err(StoreError::io(&dir))
    }

    /// The lock file as it is now.
    pub fn lock(&self) -> Result<Lockfile, StoreError> {
        Lockfile::read(&self.lock_path())
    }

    /// Every installed plugin, by name.
    pub fn list(&self) -> Result<Vec<Installed>, StoreError> {
        Ok(self.lock()?.plugins.into_values().collect())
    }

    /// Installs (or reinstalls) a plugin from `source` as [`Source::parse`]
    /// reads it, with the operator's `config` values.
    pub fn install(
        &self,
        source: &str,
        config: &[(String, String)],
    ) -> Result<Installed, StoreError> {
        let source = absolute(Source::parse(source))?;
        let _guard = StoreGuard::exclusive(&self.root)?;
        self.install_from(source, config.iter().cloned().collect())
    }

    fn install_from(&self, source: Source, config: Config) -> Result<Installed, StoreError> {
        let staging = self.staging()?;
        let fetched = self.fetch(&source, staging.path())?;
        let manifest = checked_manifest(&fetched.dir)?;
        let name = manifest.name.value.clone();
        if !is_name(&name) {
            let detail = format!("its name `{name}` cannot be a folder name");
            return Err(StoreError::Invalid { name, detail });
        }
        let (plain, secret) = split_config(&manifest, config)?;
        let fresh = staging.path().join("installed");
        copy_tree(&fetched.dir, &fresh)?;
        let installed = Installed {
            name: name.clone(),
            version: manifest.version.as_ref().map(ToString::to_string),
            sha256: tree_sha256(&fresh)?,
            source,
            commit: fetched.commit,
            archive: fetched.archive,
            config: plain,
            sensitive: secret.keys().cloned().collect(),
        };
        self.replace_dir(&fresh, &self.plugin_dir(&name), staging.path())?;
        self.write_secrets(&name, &secret)?;
        let mut lock = self.lock()?;
        lock.plugins.insert(name, installed.clone());
        lock.write(&self.lock_path())?;
        Ok(installed)
    }

    /// Puts `fresh` at `dest`, moving a previous tree aside first.
    fn replace_dir(&self, fresh: &Path, dest: &Path, staging: &Path) -> Result<(), StoreError> {
        let parent = dest.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(parent).map_err(StoreError::io(parent))?;
        if dest.exists() {
            let old = staging.join("previous");
            std::fs::rename(dest, &old).map_err(StoreError::io(dest))?;
        }
        std::fs::rename(fresh, dest).map_err(StoreError::io(dest))
    }

    fn fetch(&self, source: &Source, staging: &Path) -> Result<Fetched, StoreError> {
        match source {
            Source::Local { path } => Ok(Fetched {
                dir: path.clone(),
                commit: None,
                archive: None,
            }),
            Source::Registry {
                registry,
                name,
                version,
            } => self.fetch_archive(registry, name, version.as_deref(), staging),
            Source::Git {
                url,
                reference,
                path,
            } => {
                let repo = staging.join("repo");
                let commit = clone(url, reference.as_deref(), &repo)?;
                let dir = match path {
                    Some(path) => inside(&repo, path)?,
                    None => repo,
                };
                Ok(Fetched {
                    dir,
                    commit: Some(commit),
                    archive: None,
                })
            }
            Source::Marketplace {
                plugin,
                marketplace,
            } => self.fetch_entry(plugin, marketplace, staging),
        }
    }

    /// A marketplace entry: a folder of the marketplace, or a git source it names.
    fn fetch_entry(
        &self,
        plugin: &str,
        market: &str,
        staging: &Path,
    ) -> Result<Fetched, StoreError> {
        let record = self.lock()?.marketplaces.remove(market).ok_or_else(|| {
            StoreError::Marketplace(format!(
                "no marketplace named `{market}`; add it with `plugctl marketplace add`"
            ))
        })?;
        let dir = self.marketplace_dir(market);
        let git = |url: String, reference: Option<String>, path: Option<String>| Source::Git {
            url,
            reference,
            path,
        };
        match find_entry(&dir, plugin, market)? {
            PluginSource::Local(path) => Ok(Fetched {
                dir: inside(&dir, &path)?,
                commit: record.commit,
                archive: None,
            }),
            PluginSource::GitHub {
                repo,
                reference,
                path,
            } => {
                let url = format!("https://github.com/{repo}.git");
                self.fetch(&git(url, reference, path), staging)
            }
            PluginSource::Git {
                url,
                reference,
                path,
            } => self.fetch(&git(url, reference, path), staging),
            PluginSource::Npm { package, version } => Ok(Fetched {
                dir: crate::npm::fetch(&package, version.as_deref(), staging)?,
                commit: None,
                archive: None,
            }),
        }
    }

    /// A registry's archive, unpacked into staging.
    fn fetch_archive(
        &self,
        registry: &str,
        name: &str,
        version: Option<&str>,
        staging: &Path,
    ) -> Result<Fetched, StoreError> {
        let archives = self.archives.as_ref().ok_or_else(|| {
            StoreError::BadSource(format!("{registry}#{name} (no registry access here)"))
        })?;
        let fetched = archives.fetch(registry, name, version)?;
        let dir = staging.join("archive");
        crate::archive::unpack(fetched.bytes.as_slice(), Path::new(registry), &dir)?;
        Ok(Fetched {
            dir,
            commit: None,
            archive: Some(fetched.sha256),
        })
    }

    /// The folder of an installed plugin, after checking that its files still
    /// have the digest recorded at install: a tampered plugin is refused.
    pub fn resolve(&self, name: &str) -> Result<PathBuf, StoreError> {
        let _guard = StoreGuard::shared(&self.root)?;
        self.resolve_unlocked(name)
    }

    pub(crate) fn resolve_unlocked(&self, name: &str) -> Result<PathBuf, StoreError> {
        let installed = self.installed(name)?;
        let dir = self.plugin_dir(name);
        let actual = tree_sha256(&dir)?;
        if actual != installed.sha256 {
            return Err(StoreError::Tampered {
                name: name.to_owned(),
                locked: installed.sha256,
                actual,
            });
        }
        Ok(dir)
    }

    pub(crate) fn installed(&self, name: &str) -> Result<Installed, StoreError> {
        self.lock()?
            .plugins
            .remove(name)
            .ok_or_else(|| StoreError::NotInstalled(name.to_owned()))
    }

    /// The name of the installed plugin whose folder is `dir`, if `dir` is one
    /// (so a plugin given by path is recognised as installed too).
    pub fn installed_at(&self, dir: &Path) -> Option<String> {
        let plugins = self.root.join("plugins").canonicalize().ok()?;
        let dir = dir.canonicalize().ok()?;
        let name = dir.strip_prefix(&plugins).ok()?.to_str()?;
        let lock = self.lock().ok()?;
        (is_name(name) && lock.plugins.contains_key(name)).then(|| name.to_owned())
    }

    /// The persistent data folder of an installed plugin, created (owner-only)
    /// if needed. It survives `update` and goes with `remove` unless kept.
    pub fn data_dir(&self, name: &str) -> Result<PathBuf, StoreError> {
        self.installed(name)?;
        let dir = self.data_path(name);
        create_private_dir(&dir)?;
        Ok(dir)
    }

    /// Fetches an installed plugin's source again (refreshing its marketplace
    /// first) and reinstalls it with the same configuration.
    pub fn update(&self, name: &str) -> Result<Update, StoreError> {
        let _guard = StoreGuard::exclusive(&self.root)?;
        let before = self.installed(name)?;
        if let Source::Marketplace { marketplace, .. } = &before.source {
            let record = self.lock()?.marketplaces.remove(marketplace);
            let record = record.ok_or_else(|| {
                StoreError::Marketplace(format!("the marketplace `{marketplace}` was removed"))
            })?;
            self.add_marketplace_from(record.source)?;
        }
        let config = self.config_unlocked(name)?;
        let after = self.install_from(before.source.clone(), config)?;
        Ok(Update {
            name: name.to_owned(),
            changed: after.sha256 != before.sha256,
            from: before.version,
            to: after.version,
        })
    }

    /// Removes an installed plugin: its files, its lock entry, its secrets
    /// and its data folder (as Claude Code's uninstall does).
    pub fn remove(&self, name: &str) -> Result<Installed, StoreError> {
        self.remove_with(name, false)
    }

    /// [`Store::remove`], keeping the data folder when `keep_data` (like
    /// `claude plugin uninstall --keep-data`), for a later reinstall.
    pub fn remove_with(&self, name: &str, keep_data: bool) -> Result<Installed, StoreError> {
        let _guard = StoreGuard::exclusive(&self.root)?;
        let mut lock = self.lock()?;
        let installed = lock
            .plugins
            .remove(name)
            .ok_or_else(|| StoreError::NotInstalled(name.to_owned()))?;
        // Data first: if it cannot go, the plugin stays installed and whole.
        let data = self.data_path(name);
        if !keep_data {
            remove_dir_if_present(&data)?;
        }
        remove_dir_if_present(&self.plugin_dir(name))?;
        self.write_secrets(name, &Config::new())?;
        lock.write(&self.lock_path())?;
        Ok(installed)
    }

    /// Adds (or refreshes) a marketplace from a folder or a git URL.
    pub fn add_marketplace(&self, source: &str) -> Result<MarketplaceRecord, StoreError> {
        match absolute(Source::parse(source))? {
            Source::Marketplace { .. } => Err(StoreError::BadSource(source.to_owned())),
            source => {
                let _guard = StoreGuard::exclusive(&self.root)?;
                self.add_marketplace_from(source)
            }
        }
    }

    fn add_marketplace_from(&self, source: Source) -> Result<MarketplaceRecord, StoreError> {
        let staging = self.staging()?;
        let fetched = self.fetch(&source, staging.path())?;
        let name = marketplace_name(&fetched.dir)?;
        let fresh = staging.path().join("marketplace");
        copy_tree(&fetched.dir, &fresh)?;
        self.replace_dir(&fresh, &self.marketplace_dir(&name), staging.path())?;
        let record = MarketplaceRecord {
            name: name.clone(),
            source,
            commit: fetched.commit,
        };
        let mut lock = self.lock()?;
        lock.marketplaces.insert(name, record.clone());
        lock.write(&self.lock_path())?;
        Ok(record)
    }
}

/// A local source with its folder made absolute (the lock outlives the cwd).
fn absolute(source: Source) -> Result<Source, StoreError> {
    match source {
        Source::Local { path } => Ok(Source::Local {
            path: path.canonicalize().map_err(StoreError::io(&path))?,
        }),
        other => Ok(other),
    }
}

fn remove_dir_if_present(dir: &Path) -> Result<(), StoreError> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::io(dir)(e)),
        _ => Ok(()),
    }
}

/// Creates `dir` (and its parents); on Unix the folder itself is owner-only.
fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    std::fs::create_dir_all(dir).map_err(StoreError::io(dir))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(StoreError::io(dir))?;
    }
    Ok(())
}

/// The manifest of the plugin in `dir`, refused when it has errors.
pub(crate) fn checked_manifest(dir: &Path) -> Result<Manifest, StoreError> {
    let shown = dir.display().to_string();
    let plugin = load_plugin(dir).map_err(|e| StoreError::Invalid {
        name: shown.clone(),
        detail: e.to_string(),
    })?;
    let errors = plugin.findings.iter();
    if let Some(error) = errors.clone().find(|f| f.severity == Severity::Error) {
        let detail = error.to_record().to_string();
        return Err(StoreError::Invalid {
            name: shown,
            detail,
        });
    }
    plugin.manifest.ok_or(StoreError::Invalid {
        name: shown,
        detail: "no manifest".into(),
    })
}

/// `path` inside `root` (no escape, symlinks included).
fn inside(root: &Path, path: &str) -> Result<PathBuf, StoreError> {
    let root = root.canonicalize().map_err(StoreError::io(root))?;
    resolve_inside(&root, path).map_err(|e| StoreError::Marketplace(e.to_string()))
}

/// The name a marketplace folder declares (in its first marketplace file).
fn marketplace_name(dir: &Path) -> Result<String, StoreError> {
    let found = marketplace::find(dir);
    let (format, rel) = found.first().copied().ok_or_else(|| {
        StoreError::Marketplace(format!("{}: no marketplace file here", dir.display()))
    })?;
    let market =
        marketplace::load(dir, rel, format).map_err(|e| StoreError::Marketplace(e.to_string()))?;
    let errors = market.findings.iter();
    if let Some(error) = errors.clone().find(|f| f.severity == Severity::Error) {
        return Err(StoreError::Marketplace(error.to_record().to_string()));
    }
    market.name.filter(|n| is_name(n)).ok_or_else(|| {
        StoreError::Marketplace(format!("{rel}: the marketplace needs a plain `name`"))
    })
}

/// The source of entry `plugin` in the marketplace at `dir`.
fn find_entry(dir: &Path, plugin: &str, market: &str) -> Result<PluginSource, StoreError> {
    for (format, rel) in marketplace::find(dir) {
        let loaded = marketplace::load(dir, rel, format)
            .map_err(|e| StoreError::Marketplace(e.to_string()))?;
        if let Some(entry) = loaded.entries.into_iter().find(|e| e.name.value == plugin) {
            return Ok(entry.source);
        }
    }
    Err(StoreError::Marketplace(format!(
        "the marketplace `{market}` has no plugin `{plugin}`"
    )))
}
