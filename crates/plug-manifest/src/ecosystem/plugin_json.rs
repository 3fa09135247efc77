//! A host format's `plugin.json`: metadata, component paths, inline hooks and
//! MCP servers, and `userConfig`.
//!
//! As Claude Code reads it: only `name` is required, an unknown top-level
//! field is a warning and a wrong type on a known field is an error. A
//! component path that is missing is a warning (the host loads the rest); one
//! that leaves the plugin root is an error (plugctl never reads outside it).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::decode::{Obj, Spanned, Unknown, kebab_problem, object_with, scalar_text, string_list};
use crate::diagnostic::{Code, Findings};
use crate::ecosystem::detect::{PLUGIN_SCHEMA, manifest_fields};
use crate::ecosystem::hooks_json::{self, HooksFile};
use crate::ecosystem::mcp_json;
use crate::native::model::{ConfigValue, McpServer, PluginFormat};
use crate::paths::{PathError, resolve_inside};
use crate::yaml::{Node, NodeKind};

const AUTHOR_FIELDS: &[&str] = &["name", "email", "url"];
const USER_CONFIG_FIELDS: &[&str] = &[
    "type",
    "title",
    "description",
    "sensitive",
    "required",
    "default",
    "multiple",
    "min",
    "max",
    "placeholder",
    "options",
];
const INTERFACE_FIELDS: &[&str] = &[
    "displayName",
    "shortDescription",
    "longDescription",
    "defaultPrompt",
    "developerName",
    "category",
    "capabilities",
    "websiteURL",
    "privacyPolicyURL",
    "termsOfServiceURL",
    "brandColor",
    "composerIcon",
    "logo",
    "screenshots",
];
const STRINGS: &[&str] = &[
    "description",
    "homepage",
    "repository",
    "license",
    "displayName",
];

/// A component path as written, and the file or folder it names when it
/// exists inside the root.
#[derive(Debug, Clone)]
pub(crate) struct PathRef {
    pub written: Spanned<String>,
    pub resolved: Option<PathBuf>,
}

/// What a `plugin.json` declares.
#[derive(Debug, Default)]
pub(crate) struct Declared {
    pub name: Option<Spanned<String>>,
    pub version: Option<semver::Version>,
    pub description: Option<String>,
    pub skills: Option<Vec<PathRef>>,
    pub commands: Option<Vec<PathRef>>,
    pub agents: Option<Vec<PathRef>>,
    pub hooks: Option<Vec<PathRef>>,
    pub mcp: Option<Vec<PathRef>>,
    pub inline_hooks: HooksFile,
    pub inline_servers: Vec<McpServer>,
    pub config: BTreeMap<String, ConfigValue>,
    /// The namespaces of `extensions` (Agent Plugins client extension data).
    pub extensions: Vec<String>,
}

/// Decodes a `plugin.json` document; `root` is the canonical plugin root.
pub(crate) fn decode(f: &mut Findings, doc: &Node, root: &Path, format: PluginFormat) -> Declared {
    let mut out = Declared::default();
    let Some(obj) = object_with(
        f,
        doc,
        "plugin.json",
        manifest_fields(format),
        Unknown::Warning,
    ) else {
        return out;
    };
    out.name = name(f, &obj);
    out.version = obj.get("version").and_then(|n| version(f, n));
    for key in STRINGS {
        let value = obj.opt_string(f, key);
        if *key == "description" {
            out.description = value.map(|d| d.value);
        }
    }
    metadata_fields(f, &obj, format);
    out.skills = obj.get("skills").map(|n| paths(f, root, n, "skills"));
    out.commands = obj.get("commands").map(|n| paths(f, root, n, "commands"));
    out.agents = obj.get("agents").map(|n| paths(f, root, n, "agents"));
    if let Some(node) = obj.get("hooks") {
        let (refs, inline) = hooks(f, root, node);
        if format == PluginFormat::ClaudeCode {
            duplicate_default_hooks(f, root, &refs);
        }
        out.hooks = Some(refs);
        out.inline_hooks = inline;
    }
    if let Some(node) = obj.get("mcpServers") {
        let (refs, inline) = servers(f, root, node);
        out.mcp = Some(refs);
        out.inline_servers = inline;
    }
    out.config = obj
        .get("userConfig")
        .map(|n| user_config(f, n))
        .unwrap_or_default();
    out.extensions = obj
        .get("extensions")
        .map(|n| extension_namespaces(f, n))
        .unwrap_or_default();
    out
}

/// `extensions`: client data by namespace. Its contents are each client's
/// own, so only the shape is checked; a non-object is reported and ignored
/// (Agent Plugins §8.1), never fatal.
fn extension_namespaces(f: &mut Findings, node: &Node) -> Vec<String> {
    let Some(entries) = node.as_map() else {
        let message = format!(
            "`extensions` must map client namespaces to objects, found {}; it is ignored",
            node.type_name()
        );
        f.warning(node.span, Code::WrongType, message);
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|(key, _)| key.as_str().map(str::to_owned))
        .collect()
}

fn name(f: &mut Findings, obj: &Obj<'_>) -> Option<Spanned<String>> {
    let name = obj.req_string(f, "name")?;
    if name.value.contains(char::is_whitespace) {
        let message = format!(
            "plugin name `{}` has a space; hosts refuse it (use kebab-case)",
            name.value
        );
        f.error(name.span, Code::InvalidName, message);
    } else if let Some(why) = kebab_problem(&name.value) {
        f.warning(
            name.span,
            Code::InvalidName,
            format!("plugin name `{}` {why}", name.value),
        );
    }
    Some(name)
}

fn version(f: &mut Findings, node: &Node) -> Option<semver::Version> {
    let Some(text) = node.as_str() else {
        let message = format!(
            "`version` must be a string such as \"1.0.0\", found {}",
            node.type_name()
        );
        f.error(node.span, Code::WrongType, message);
        return None;
    };
    match semver::Version::parse(text) {
        Ok(v) => Some(v),
        Err(e) => {
            let message = format!(
                "`{text}` is not a semantic version ({e}); hosts compare versions as semver"
            );
            f.warning(node.span, Code::InvalidVersion, message);
            None
        }
    }
}

/// Checks the metadata fields that do not reach the model.
fn metadata_fields(f: &mut Findings, obj: &Obj<'_>, format: PluginFormat) {
    let author = obj.get("author");
    if let Some(a) =
        author.and_then(|n| object_with(f, n, "`author`", AUTHOR_FIELDS, Unknown::Warning))
    {
        for key in AUTHOR_FIELDS {
            let _ = a.opt_string(f, key);
        }
    }
    let _ = obj.opt_string_list(f, "keywords");
    for key in ["metadata", "settings", "interface"] {
        if let Some(node) = obj.get(key)
            && node.as_map().is_none()
        {
            let message = format!("`{key}` must be an object, found {}", node.type_name());
            f.error(node.span, Code::WrongType, message);
        }
    }
    if let Some(interface) = obj.get("interface") {
        f.warnings_only(|f| {
            object_with(
                f,
                interface,
                "`interface`",
                INTERFACE_FIELDS,
                Unknown::Warning,
            )
        });
    }
    if format == PluginFormat::AgentPlugins {
        check_schema(f, obj.node, PLUGIN_SCHEMA);
    }
}

/// An Agent Plugins file names the schema it follows.
pub(crate) fn check_schema(f: &mut Findings, doc: &Node, expected: &str) {
    match doc.get("$schema") {
        Some(node) if node.as_str() == Some(expected) => {}
        Some(node) => f.warning_with_help(
            node.span,
            Code::SchemaMismatch,
            "this is not the Agent Plugins 1.0 schema",
            Some(format!("expected \"{expected}\"")),
        ),
        None => {
            let head = doc
                .as_map()
                .and_then(|e| e.first())
                .map_or(doc.span, |(k, _)| k.span);
            f.warning_with_help(
                head,
                Code::SchemaMismatch,
                "an Agent Plugins file names its schema in `$schema`",
                Some(format!("add \"$schema\": \"{expected}\"")),
            );
        }
    }
}

/// A path or a list of paths.
fn paths(f: &mut Findings, root: &Path, node: &Node, key: &str) -> Vec<PathRef> {
    let written = match node.as_str() {
        Some(one) => vec![Spanned::new(one.to_owned(), node.span)],
        None if node.as_seq().is_some() => string_list(f, node, key),
        None => {
            let message = format!(
                "`{key}` must be a path or a list of paths, found {}",
                node.type_name()
            );
            f.error(node.span, Code::WrongType, message);
            Vec::new()
        }
    };
    written.into_iter().map(|w| path_ref(f, root, w)).collect()
}

/// Resolves one component path inside the root.
pub(crate) fn path_ref(f: &mut Findings, root: &Path, written: Spanned<String>) -> PathRef {
    let escapes = written.value.starts_with(['/', '\\']) || written.value.starts_with("..");
    if !written.value.starts_with("./") && !escapes {
        f.warning_with_help(
            written.span,
            Code::PathStyle,
            format!("`{}` does not start with `./`; hosts expect paths relative to the plugin root written that way", written.value),
            Some(format!("write \"./{}\"", written.value.trim_start_matches('/'))),
        );
    }
    let resolved = match resolve_inside(root, &written.value) {
        Ok(path) => Some(path),
        Err(PathError::NotFound(_)) => {
            let message = format!(
                "`{}` does not exist; hosts load the plugin without it",
                written.value
            );
            f.warning(written.span, Code::PathNotFound, message);
            None
        }
        Err(e) => {
            f.error(written.span, Code::PathOutsideRoot, e.to_string());
            None
        }
    };
    PathRef { written, resolved }
}

/// `hooks`: a path, a list of paths and inline configurations, or one inline configuration.
fn hooks(f: &mut Findings, root: &Path, node: &Node) -> (Vec<PathRef>, HooksFile) {
    let mut refs = Vec::new();
    let mut inline = HooksFile::default();
    let items: Vec<&Node> = match &node.kind {
        NodeKind::Seq(items) => items.iter().collect(),
        _ => vec![node],
    };
    for item in items {
        match &item.kind {
            NodeKind::Scalar(_) if item.as_str().is_some() => {
                let written = Spanned::new(item.as_str().unwrap_or_default().to_owned(), item.span);
                refs.push(path_ref(f, root, written));
            }
            NodeKind::Map(_) => {
                let found = match item.get("hooks") {
                    Some(_) => hooks_json::decode_hooks_file(f, item),
                    None => hooks_json::decode_events(f, item),
                };
                inline.hooks.extend(found.hooks);
                inline.ignored_events.extend(found.ignored_events);
            }
            _ => {
                let message = format!(
                    "`hooks` must be a path, a list or an object, found {}",
                    item.type_name()
                );
                f.error(item.span, Code::WrongType, message);
            }
        }
    }
    (refs, inline)
}

/// Claude Code loads `hooks/hooks.json` by default and reports naming it again as a duplicate.
fn duplicate_default_hooks(f: &mut Findings, root: &Path, refs: &[PathRef]) {
    let default = root.join("hooks/hooks.json");
    for r in refs
        .iter()
        .filter(|r| r.resolved.as_deref() == Some(default.as_path()))
    {
        f.warning_with_help(
            r.written.span,
            Code::DuplicateFile,
            "Claude Code loads `hooks/hooks.json` by default; naming it here makes it report a duplicate hooks file",
            Some("remove this entry; list only additional hooks files".into()),
        );
    }
}

/// `mcpServers`: a path, a list of paths, or an inline map of servers.
fn servers(f: &mut Findings, root: &Path, node: &Node) -> (Vec<PathRef>, Vec<McpServer>) {
    match &node.kind {
        NodeKind::Map(_) => (Vec::new(), mcp_json::decode_mcp_file(f, node)),
        _ => (paths(f, root, node, "mcpServers"), Vec::new()),
    }
}

/// `userConfig`: the values an operator sets when installing the plugin.
fn user_config(f: &mut Findings, node: &Node) -> BTreeMap<String, ConfigValue> {
    let Some(entries) = node.as_map() else {
        let message = format!(
            "`userConfig` must map keys to declarations, found {}",
            node.type_name()
        );
        f.error(node.span, Code::WrongType, message);
        return BTreeMap::new();
    };
    let mut values = BTreeMap::new();
    for (key, value) in entries {
        let Some(name) = key.as_str() else { continue };
        let Some(obj) = object_with(
            f,
            value,
            "a userConfig entry",
            USER_CONFIG_FIELDS,
            Unknown::Warning,
        ) else {
            continue;
        };
        let default = obj.get("default").and_then(|d| match &d.kind {
            NodeKind::Scalar(_) => scalar_text(f, d, "default"),
            _ => Some(d.to_json().to_string()),
        });
        let config = ConfigValue {
            description: obj.opt_string(f, "description").map(|d| d.value),
            sensitive: obj.opt_bool(f, "sensitive").unwrap_or(false),
            required: obj.opt_bool(f, "required").unwrap_or(false),
            default,
            declared: true,
        };
        values.insert(name.to_owned(), config);
    }
    values
}
