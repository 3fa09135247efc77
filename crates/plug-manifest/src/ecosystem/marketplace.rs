//! Marketplaces: catalogues of plugins a host installs from.
//! `.claude-plugin/marketplace.json` (Claude Code), `.agents/plugins/marketplace.json`
//! (Codex) and `.cursor-plugin/marketplace.json` (Cursor).
//!
//! Each entry names a plugin and where it comes from. A local entry (a folder
//! of the marketplace's repository) is checked against the plugin it points
//! at: the folder must exist (else the host cannot install it, an error), and
//! its name, folder name and version should agree with the plugin's manifest
//! (the hosts install anyway, so disagreements are warnings).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::decode::{Spanned, Unknown, object_with};
use crate::diagnostic::{Code, Finding, Findings, SourceFile};
use crate::ecosystem::hooks_json::sorted;
use crate::ecosystem::json::parse_json;
use crate::load::{LoadError, Plugin, load_plugin};
use crate::native::model::PluginFormat;
use crate::paths::{PathError, resolve_inside};
use crate::yaml::Node;

/// Where each host keeps its marketplace file.
pub const MARKETPLACE_FILES: &[(PluginFormat, &str)] = &[
    (PluginFormat::ClaudeCode, ".claude-plugin/marketplace.json"),
    (PluginFormat::Codex, ".agents/plugins/marketplace.json"),
    (PluginFormat::Cursor, ".cursor-plugin/marketplace.json"),
];

const FILE_FIELDS: &[&str] = &[
    "$schema",
    "name",
    "owner",
    "metadata",
    "plugins",
    "description",
    "version",
    "interface",
];
const ENTRY_FIELDS: &[&str] = &[
    "name",
    "source",
    "description",
    "version",
    "author",
    "homepage",
    "repository",
    "license",
    "keywords",
    "category",
    "tags",
    "strict",
    "commands",
    "agents",
    "hooks",
    "mcpServers",
    "lspServers",
    "skills",
    "policy",
    "displayName",
    "logo",
];
const SOURCE_FIELDS: &[&str] = &[
    "source", "repo", "url", "ref", "sha", "path", "package", "version", "registry",
];

/// Where a marketplace entry's plugin comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginSource {
    /// A folder of the marketplace's own repository, relative to its root.
    Local(String),
    /// A GitHub repository (`owner/name`), at a ref, in a sub-folder.
    GitHub {
        /// `owner/name`.
        repo: String,
        /// Branch, tag or commit.
        reference: Option<String>,
        /// Folder inside the repository.
        path: Option<String>,
    },
    /// A git repository by URL, at a ref, in a sub-folder.
    Git {
        /// The clone URL.
        url: String,
        /// Branch, tag or commit.
        reference: Option<String>,
        /// Folder inside the repository.
        path: Option<String>,
    },
    /// An npm package.
    Npm {
        /// The package name.
        package: String,
        /// A version or range.
        version: Option<String>,
    },
}

/// One plugin of a marketplace.
#[derive(Debug, Clone)]
pub struct MarketplaceEntry {
    /// The name the host installs it under.
    pub name: Spanned<String>,
    /// Where it comes from.
    pub source: PluginSource,
    /// The version the marketplace announces.
    pub version: Option<Spanned<String>>,
    /// What it is for.
    pub description: Option<String>,
}

/// A marketplace file as loaded.
#[derive(Debug)]
pub struct Marketplace {
    /// Its source.
    pub file: Arc<SourceFile>,
    /// Whose format it is.
    pub format: PluginFormat,
    /// Its name (`plugin@<name>` in the hosts).
    pub name: Option<String>,
    /// Its plugins, in file order.
    pub entries: Vec<MarketplaceEntry>,
    /// Findings in the file, in source order.
    pub findings: Vec<Finding>,
}

/// A marketplace folder checked whole: its files and every local plugin.
#[derive(Debug)]
pub struct CheckedMarketplace {
    /// The marketplace files found, each with its findings (including
    /// disagreements with the plugins they list).
    pub marketplaces: Vec<Marketplace>,
    /// Each local plugin, loaded, by entry name.
    pub plugins: Vec<(String, Plugin)>,
}

/// The marketplace files in `dir`, by host.
pub fn find(dir: &Path) -> Vec<(PluginFormat, &'static str)> {
    MARKETPLACE_FILES
        .iter()
        .copied()
        .filter(|(_, rel)| dir.join(rel).is_file())
        .collect()
}

/// Loads one marketplace file of the repository at `dir`.
pub fn load(dir: &Path, rel: &str, format: PluginFormat) -> Result<Marketplace, LoadError> {
    let path = dir.join(rel);
    let text = crate::paths::read_inside(dir, &path).map_err(|source| LoadError::Io {
        path: path.clone(),
        source,
    })?;
    let mut f = Findings::new(SourceFile::new(path, text));
    let mut market = Marketplace {
        file: f.file().clone(),
        format,
        name: None,
        entries: Vec::new(),
        findings: Vec::new(),
    };
    match parse_json(&f.file().text.clone()) {
        Ok(doc) => decode(&mut f, &doc, &mut market),
        Err(e) => f.error(
            e.span,
            Code::JsonSyntax,
            format!("invalid JSON: {}", e.message),
        ),
    }
    market.findings = f.list;
    Ok(market)
}

fn decode(f: &mut Findings, doc: &Node, market: &mut Marketplace) {
    let Some(obj) = object_with(f, doc, "the marketplace", FILE_FIELDS, Unknown::Warning) else {
        return;
    };
    market.name = obj.req_string(f, "name").map(|n| n.value);
    if market.format == PluginFormat::ClaudeCode {
        let _ = obj.require(f, "owner");
    }
    let plugin_root = obj
        .get("metadata")
        .and_then(|m| m.get("pluginRoot"))
        .and_then(Node::as_str)
        .map(str::to_owned);
    let Some(plugins) = obj.require(f, "plugins") else {
        return;
    };
    for item in crate::decode::list(f, plugins, "plugins") {
        if let Some(entry) = entry(f, item, plugin_root.as_deref()) {
            duplicate(f, &market.entries, &entry);
            market.entries.push(entry);
        }
    }
}

fn duplicate(f: &mut Findings, entries: &[MarketplaceEntry], entry: &MarketplaceEntry) {
    if entries.iter().any(|e| e.name.value == entry.name.value) {
        let message = format!(
            "two entries are named `{}`; the host installs only one of them",
            entry.name.value
        );
        f.warning(entry.name.span, Code::DuplicateName, message);
    }
}

fn entry(f: &mut Findings, node: &Node, plugin_root: Option<&str>) -> Option<MarketplaceEntry> {
    let obj = object_with(
        f,
        node,
        "a marketplace entry",
        ENTRY_FIELDS,
        Unknown::Warning,
    )?;
    let name = obj.req_string(f, "name");
    let source = obj
        .require(f, "source")
        .and_then(|s| source(f, s, plugin_root));
    let version = obj.opt_string(f, "version");
    let description = obj.opt_string(f, "description").map(|d| d.value);
    Some(MarketplaceEntry {
        name: name?,
        source: source?,
        version,
        description,
    })
}

fn source(f: &mut Findings, node: &Node, plugin_root: Option<&str>) -> Option<PluginSource> {
    if let Some(path) = node.as_str() {
        let path = match (plugin_root, path.starts_with("./")) {
            (Some(root), false) => format!("{}/{path}", root.trim_end_matches('/')),
            _ => path.to_owned(),
        };
        return Some(PluginSource::Local(path));
    }
    let obj = object_with(f, node, "a plugin source", SOURCE_FIELDS, Unknown::Warning)?;
    let kind = obj.req_string(f, "source")?;
    let text = |f: &mut Findings, key| obj.opt_string(f, key).map(|v| v.value);
    let reference = text(f, "ref").or_else(|| text(f, "sha"));
    match kind.value.as_str() {
        "local" => obj
            .req_string(f, "path")
            .map(|p| PluginSource::Local(p.value)),
        "github" => Some(PluginSource::GitHub {
            repo: obj.req_string(f, "repo")?.value,
            reference,
            path: text(f, "path"),
        }),
        "url" | "git" | "git-subdir" => Some(PluginSource::Git {
            url: obj.req_string(f, "url")?.value,
            reference,
            path: text(f, "path"),
        }),
        "npm" => Some(PluginSource::Npm {
            package: obj.req_string(f, "package")?.value,
            version: text(f, "version"),
        }),
        other => {
            let message = format!(
                "unknown plugin source `{other}`; expected local, github, url, git-subdir or npm"
            );
            f.error(kind.span, Code::UnknownValue, message);
            None
        }
    }
}

/// Checks the marketplaces of `dir` and every local plugin they list;
/// `None` when `dir` has no marketplace file.
pub fn check(dir: &Path) -> Result<Option<CheckedMarketplace>, LoadError> {
    let found = find(dir);
    if found.is_empty() {
        return Ok(None);
    }
    let root = dir.canonicalize().map_err(|source| LoadError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut checked = CheckedMarketplace {
        marketplaces: Vec::new(),
        plugins: Vec::new(),
    };
    for (format, rel) in found {
        let mut market = load(dir, rel, format)?;
        let mut f = Findings::new(market.file.clone());
        for entry in &market.entries {
            let PluginSource::Local(path) = &entry.source else {
                continue;
            };
            if checked.plugins.iter().any(|(n, _)| n == &entry.name.value) {
                continue;
            }
            if let Some(plugin) = local_plugin(&mut f, &root, dir, entry, path) {
                checked.plugins.push((entry.name.value.clone(), plugin));
            }
        }
        market.findings.append(&mut f.list);
        market.findings = sorted(market.findings);
        checked.marketplaces.push(market);
    }
    Ok(Some(checked))
}

fn local_plugin(
    f: &mut Findings,
    root: &Path,
    dir: &Path,
    entry: &MarketplaceEntry,
    path: &str,
) -> Option<Plugin> {
    let span = entry.name.span;
    let folder: PathBuf = match resolve_inside(root, path) {
        Ok(_) => dir.join(path.trim_start_matches("./")),
        Err(PathError::NotFound(_)) => {
            let message = format!(
                "entry `{}`: the folder `{path}` does not exist, so the host cannot install it",
                entry.name.value
            );
            f.error(span, Code::PathNotFound, message);
            return None;
        }
        Err(e) => {
            f.error(
                span,
                Code::PathOutsideRoot,
                format!("entry `{}`: {e}", entry.name.value),
            );
            return None;
        }
    };
    let plugin = match load_plugin(&folder) {
        Ok(plugin) => plugin,
        Err(e) => {
            f.warning(
                span,
                Code::NotAPlugin,
                format!("entry `{}`: {e}", entry.name.value),
            );
            return None;
        }
    };
    agree(f, entry, path, &plugin);
    Some(plugin)
}

/// The entry's name, folder and version against the plugin's manifest.
fn agree(f: &mut Findings, entry: &MarketplaceEntry, path: &str, plugin: &Plugin) {
    let Some(manifest) = &plugin.manifest else {
        return;
    };
    let name = &entry.name.value;
    let declared = manifest.format != PluginFormat::Bare && !manifest.name.value.is_empty();
    if declared && manifest.name.value != *name {
        let message = format!(
            "entry `{name}` points at a plugin whose manifest names it `{}`",
            manifest.name.value
        );
        f.warning(entry.name.span, Code::MarketplaceMismatch, message);
    }
    let folder = Path::new(path.trim_end_matches('/')).file_name();
    if let Some(folder) = folder.map(|n| n.to_string_lossy())
        && folder != *name
        && folder != "."
    {
        let message = format!(
            "entry `{name}` lives in a folder named `{folder}`; hosts and people expect the two to match"
        );
        f.warning(entry.name.span, Code::MarketplaceMismatch, message);
    }
    if let (Some(listed), Some(actual)) = (&entry.version, &manifest.version)
        && semver::Version::parse(&listed.value).ok().as_ref() != Some(actual)
    {
        let message = format!(
            "the marketplace lists `{name}` at version {} but its manifest says {actual}",
            listed.value
        );
        f.warning(listed.span, Code::VersionMismatch, message);
    }
}
