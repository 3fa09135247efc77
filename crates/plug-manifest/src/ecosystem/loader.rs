//! Loading a host-format plugin into the same model as a native one: the
//! manifest (if any), then hooks files, MCP files, skills, commands and
//! agents from the format's default places plus what the manifest declares.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::SourceSpan;

use crate::decode::Spanned;
use crate::diagnostic::{Code, Finding, Findings, Severity, SourceFile};
use crate::ecosystem::detect::{Combine, Detected, Locations, MCP_SCHEMA, layout};
use crate::ecosystem::extensions;
use crate::ecosystem::hooks_json::{self, HooksFile, sorted};
use crate::ecosystem::instructions::{self, Component};
use crate::ecosystem::json::parse_json;
use crate::ecosystem::mcp_json;
use crate::ecosystem::plugin_json::{self, Declared, PathRef, check_schema};
use crate::load::{LoadError, LoadedSkill, Plugin};
use crate::native::model::{
    ClientExtension, Hook, InstructionKind, Instructions, Manifest, McpServer, PluginFormat,
    SkillEntry,
};
use crate::paths::{PathError, resolve_inside};
use crate::yaml::Node;

/// Loads the plugin `detected` found in `given`.
pub fn load(given: &Path, detected: &Detected) -> Result<Plugin, LoadError> {
    let root = given.canonicalize().map_err(|source| LoadError::Io {
        path: given.to_path_buf(),
        source,
    })?;
    let mut l = Loader {
        root,
        shown: given.to_path_buf(),
        findings: Vec::new(),
        seen: HashSet::new(),
    };
    let (manifest_file, declared) = l.manifest(detected.format, detected.manifest);
    let mut loader_layout = layout(detected.format);
    if detected.format == PluginFormat::Codex && declared.mcp.is_some() {
        loader_layout.mcp.defaults = &[];
    }
    let hooks = l.hooks(loader_layout.hooks, &declared);
    let servers = l.servers(detected.format, loader_layout.mcp, &declared);
    let skills = l.skills(loader_layout.skills, declared.skills.as_deref());
    let commands = l.markdown(
        InstructionKind::Command,
        loader_layout.commands,
        declared.commands.as_deref(),
    );
    let agents = l.markdown(
        InstructionKind::Agent,
        loader_layout.agents,
        declared.agents.as_deref(),
    );
    let extensions = match detected.format {
        PluginFormat::AgentPlugins => l.extensions(&declared.extensions),
        _ => Vec::new(),
    };
    for (format, path) in &detected.also {
        l.secondary(*format, path);
    }
    let name = declared.name.clone().unwrap_or_else(|| {
        let folder = l.root.file_name().map(|n| n.to_string_lossy().into_owned());
        Spanned::new(folder.unwrap_or_default(), SourceSpan::new(0.into(), 0))
    });
    let manifest = Manifest {
        name,
        version: declared.version,
        description: declared.description,
        skills: skills.iter().filter_map(|s| entry(&l.root, s)).collect(),
        mcp_servers: servers,
        hooks,
        config: declared.config,
        format: detected.format,
        commands: commands.into_iter().flatten().collect(),
        agents: agents.into_iter().flatten().collect(),
        extensions,
    };
    Ok(Plugin {
        root: l.root,
        manifest_file,
        manifest: Some(manifest),
        skills,
        findings: l.findings,
    })
}

struct Loader {
    root: PathBuf,
    shown: PathBuf,
    findings: Vec<Finding>,
    /// Canonical paths of the files loaded so far (each is loaded once).
    seen: HashSet<PathBuf>,
}

impl Loader {
    fn shown(&self, rel: &str) -> PathBuf {
        self.shown.join(rel.trim_start_matches("./"))
    }

    fn rel(&self, path: &Path) -> String {
        let rel = path.strip_prefix(&self.root).unwrap_or(path);
        rel.to_string_lossy().replace('\\', "/")
    }

    /// Reads a JSON file: its source and document, with a finding when it does not parse.
    fn json(&mut self, rel: &str) -> (Findings, Option<Node>) {
        let shown = self.shown(rel);
        let text = match crate::paths::read_inside(&self.root, &self.root.join(rel)) {
            Ok(text) => text,
            Err(e) => {
                let mut f = Findings::new(SourceFile::new(shown, ""));
                f.error(
                    SourceSpan::new(0.into(), 0),
                    Code::Io,
                    format!("cannot read `{rel}`: {e}"),
                );
                return (f, None);
            }
        };
        let mut f = Findings::new(SourceFile::new(shown, text));
        let doc = match parse_json(&f.file().text.clone()) {
            Ok(doc) => Some(doc),
            Err(e) => {
                let message = format!("invalid JSON: {}", e.message);
                f.error(e.span, Code::JsonSyntax, message);
                None
            }
        };
        (f, doc)
    }

    fn keep(&mut self, f: Findings) {
        self.findings.extend(sorted(f.list));
    }

    fn manifest(&mut self, format: PluginFormat, rel: Option<&str>) -> (Arc<SourceFile>, Declared) {
        let Some(rel) = rel else {
            return (SourceFile::new(self.shown.clone(), ""), Declared::default());
        };
        self.seen.insert(self.root.join(rel));
        let (mut f, doc) = self.json(rel);
        let declared = doc
            .map(|doc| plugin_json::decode(&mut f, &doc, &self.root, format))
            .unwrap_or_default();
        let file = f.file().clone();
        self.keep(f);
        (file, declared)
    }

    /// Every file a component kind comes from: defaults (that exist), then declared paths.
    fn sources(&mut self, at: Locations, declared: Option<&[PathRef]>) -> Vec<PathBuf> {
        let defaults = match (at.combine, declared) {
            (Combine::Replace, Some(_)) => &[][..],
            _ => at.defaults,
        };
        let mut found: Vec<PathBuf> = defaults.iter().filter_map(|d| self.inside(d)).collect();
        found.extend(
            declared
                .unwrap_or_default()
                .iter()
                .filter_map(|r| r.resolved.clone()),
        );
        found.retain(|p| self.seen.insert(p.clone()));
        found
    }

    /// `rel` when it exists and stays inside the root (symlinks included);
    /// one that leaves the root is reported and never read.
    fn inside(&mut self, rel: &str) -> Option<PathBuf> {
        match plain_path(&self.root, rel) {
            Plain::Missing => return None,
            Plain::Inside(path) => return Some(path),
            Plain::Symlink => {}
        }
        match resolve_inside(&self.root, rel) {
            Ok(path) => Some(path),
            Err(PathError::NotFound(_)) => None,
            Err(e) => {
                let mut f = Findings::new(SourceFile::new(self.shown(rel), ""));
                f.error(
                    SourceSpan::new(0.into(), 0),
                    Code::PathOutsideRoot,
                    e.to_string(),
                );
                self.keep(f);
                None
            }
        }
    }

    /// A directory entry as a path inside the root: plain entries as they are,
    /// symlinks only when they resolve inside.
    fn entry_inside(&mut self, path: PathBuf, is_symlink: bool) -> Option<PathBuf> {
        if !is_symlink {
            return Some(path);
        }
        let rel = self.rel(&path);
        self.inside(&rel)
    }

    fn hooks(&mut self, at: Locations, declared: &Declared) -> Vec<Hook> {
        let mut hooks = Vec::new();
        for path in self.sources(at, declared.hooks.as_deref()) {
            let rel = self.rel(&path);
            let (mut f, doc) = self.json(&rel);
            if let Some(doc) = doc {
                hooks.extend(hooks_json::decode_hooks_file(&mut f, &doc).hooks);
            }
            self.keep(f);
        }
        let HooksFile { hooks: inline, .. } = &declared.inline_hooks;
        hooks.extend(inline.iter().cloned());
        hooks
    }

    fn servers(
        &mut self,
        format: PluginFormat,
        at: Locations,
        declared: &Declared,
    ) -> Vec<McpServer> {
        let mut servers = declared.inline_servers.clone();
        for path in self.sources(at, declared.mcp.as_deref()) {
            let rel = self.rel(&path);
            let (mut f, doc) = self.json(&rel);
            if let Some(doc) = doc {
                if format == PluginFormat::AgentPlugins && rel == "mcp.json" {
                    check_schema(&mut f, &doc, MCP_SCHEMA);
                }
                servers.extend(mcp_json::decode_mcp_file(&mut f, &doc));
            }
            self.keep(f);
        }
        servers
    }

    /// Every `SKILL.md` under the skill folders, in folder-name order.
    fn skills(&mut self, at: Locations, declared: Option<&[PathRef]>) -> Vec<LoadedSkill> {
        let mut files = Vec::new();
        for dir in self.sources(at, declared) {
            if dir.join("SKILL.md").is_file() {
                files.push(dir.join("SKILL.md"));
                continue;
            }
            files.extend(self.skill_folders(&dir));
        }
        let mut skills = Vec::new();
        for path in files {
            if self.seen.insert(path.clone()) {
                skills.push(self.skill(&path));
            }
        }
        skills
    }

    fn skill_folders(&mut self, dir: &Path) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for (folder, is_symlink) in entries(dir) {
            let Some(folder) = self.entry_inside(folder, is_symlink) else {
                continue;
            };
            let file = folder.join("SKILL.md");
            match file.symlink_metadata() {
                Ok(m) if m.is_file() => files.push(file),
                Ok(m) if m.file_type().is_symlink() => {
                    let rel = self.rel(&file);
                    files.extend(self.inside(&rel).filter(|p| p.is_file()));
                }
                _ if folder.join("skill.md").is_file() || folder.join("Skill.md").is_file() => {
                    self.misnamed_skill(&folder);
                }
                _ => {}
            }
        }
        files
    }

    fn misnamed_skill(&mut self, folder: &Path) {
        let rel = self.rel(folder);
        let mut f = Findings::new(SourceFile::new(self.shown(&rel), ""));
        let message = format!(
            "`{rel}` has a skill file not named `SKILL.md` (hosts look for that exact name), so it is skipped"
        );
        f.warning(SourceSpan::new(0.into(), 0), Code::PathNotFound, message);
        self.keep(f);
    }

    fn skill(&mut self, path: &Path) -> LoadedSkill {
        let rel = self.rel(path);
        let folder = path
            .parent()
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned());
        let component = Component {
            kind: InstructionKind::Skill,
            root: &self.root,
            shown: self.shown(&rel),
            rel,
            fallback_name: folder.unwrap_or_default(),
        };
        let loaded = instructions::load(&component);
        self.findings.extend(loaded.findings);
        LoadedSkill {
            file: loaded.file,
            skill: None,
            implicit_params: Vec::new(),
            required_permissions: Vec::new(),
            instructions: loaded.instructions,
        }
    }

    /// Commands or agents: Markdown files in the given folders (recursively) or named directly.
    fn markdown(
        &mut self,
        kind: InstructionKind,
        at: Locations,
        declared: Option<&[PathRef]>,
    ) -> Vec<Option<Instructions>> {
        let mut files = Vec::new();
        for source in self.sources(at, declared) {
            match source.is_dir() {
                true => self.markdown_files(&source, &mut files),
                false => files.push(source),
            }
        }
        let mut loaded = Vec::new();
        for path in files {
            if self.seen.insert(path.clone()) {
                loaded.push(self.component(kind, &path));
            }
        }
        loaded
    }

    fn component(&mut self, kind: InstructionKind, path: &Path) -> Option<Instructions> {
        let rel = self.rel(path);
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        let component = Component {
            kind,
            root: &self.root,
            shown: self.shown(&rel),
            rel,
            fallback_name: stem.unwrap_or_default(),
        };
        let loaded = instructions::load(&component);
        self.findings.extend(loaded.findings);
        loaded.instructions
    }

    /// Every `*.md` under `dir` (recursively), sorted, inside the root.
    fn markdown_files(&mut self, dir: &Path, out: &mut Vec<PathBuf>) {
        for (path, is_symlink) in entries(dir) {
            let Some(path) = self.entry_inside(path, is_symlink) else {
                continue;
            };
            if path.is_dir() {
                self.markdown_files(&path, out);
            } else if path.extension().is_some_and(|x| x == "md") {
                out.push(path);
            }
        }
    }

    /// The client extensions: every namespace folder at the root and every
    /// namespace of `plugin.json`'s `extensions`, in name order.
    fn extensions(&mut self, declared: &[String]) -> Vec<ClientExtension> {
        let mut namespaces = extensions::folders(&self.root);
        namespaces.extend(declared.iter().cloned());
        namespaces.sort();
        namespaces.dedup();
        namespaces
            .into_iter()
            .map(|namespace| {
                let manifest_data = declared.contains(&namespace);
                self.extension(namespace, manifest_data)
            })
            .collect()
    }

    fn extension(&mut self, namespace: String, manifest_data: bool) -> ClientExtension {
        let known = extensions::known(&namespace);
        let dir = self.root.join(&namespace);
        let entries = match dir.is_dir() {
            true => extensions::entries(&dir),
            false => Vec::new(),
        };
        let hooks_file = known
            .into_iter()
            .flat_map(|k| k.hooks_files)
            .map(|file| format!("{namespace}/{file}"))
            .find(|rel| self.root.join(rel).is_file());
        let loaded = namespace == extensions::CLAUDE_CODE;
        let hooks = hooks_file.map(|rel| self.extension_hooks(&rel, loaded));
        ClientExtension {
            client: known.map(|k| k.client.to_owned()),
            namespace,
            loaded,
            entries,
            hooks,
            manifest_data,
        }
    }

    /// The number of hooks in another client's hooks file. Claude Code's was
    /// loaded (and reported) already; the others are checked here, their
    /// errors lowered to warnings, since plugctl does not run them and their
    /// client, not plugctl, would refuse them.
    fn extension_hooks(&mut self, rel: &str, loaded: bool) -> usize {
        if loaded {
            let (_, doc) = self.json(rel);
            let mut quiet = Findings::new(SourceFile::new(self.shown(rel), ""));
            return doc.map_or(0, |doc| {
                hooks_json::decode_hooks_file(&mut quiet, &doc).hooks.len()
            });
        }
        let Some(path) = self.inside(rel) else {
            return 0;
        };
        self.seen.insert(path);
        let (mut f, doc) = self.json(rel);
        let count = doc.map_or(0, |doc| {
            f.warnings_only(|f| hooks_json::decode_hooks_file(f, &doc).hooks.len())
        });
        for finding in &mut f.list {
            finding.severity = Severity::Warning;
        }
        self.keep(f);
        count
    }

    /// Another host's manifest in the same folder: checked with the files it
    /// names that were not loaded already, not merged into the model.
    fn secondary(&mut self, format: PluginFormat, rel: &str) {
        let (_, declared) = self.manifest(format, Some(rel));
        let at = Locations {
            defaults: &[],
            combine: Combine::Replace,
        };
        let _ = self.hooks(
            at,
            &Declared {
                hooks: declared.hooks,
                ..Declared::default()
            },
        );
        let _ = self.servers(
            format,
            at,
            &Declared {
                mcp: declared.mcp,
                ..Declared::default()
            },
        );
    }
}

/// What a relative path is, found with one `lstat` per component (cheaper
/// than canonicalizing, which a thousand skills notice).
enum Plain {
    /// Nothing there.
    Missing,
    /// There, and no component is a symlink: inside the (canonical) root.
    Inside(PathBuf),
    /// A component is a symlink (or `rel` is not plain): canonicalize to decide.
    Symlink,
}

fn plain_path(root: &Path, rel: &str) -> Plain {
    let mut path = root.to_path_buf();
    for component in Path::new(rel).components() {
        match component {
            std::path::Component::Normal(part) => path.push(part),
            std::path::Component::CurDir => continue,
            _ => return Plain::Symlink,
        }
        match path.symlink_metadata() {
            Err(_) => return Plain::Missing,
            Ok(meta) if meta.file_type().is_symlink() => return Plain::Symlink,
            Ok(_) => {}
        }
    }
    Plain::Inside(path)
}

/// The manifest entry of a loaded skill.
fn entry(root: &Path, skill: &LoadedSkill) -> Option<SkillEntry> {
    let instructions = skill.instructions.as_ref()?;
    let span = SourceSpan::new(0.into(), 0);
    Some(SkillEntry {
        name: Spanned::new(instructions.name.clone(), span),
        path: Spanned::new(instructions.path.clone(), span),
        file: Some(root.join(&instructions.path)),
        required_permissions: Vec::new(),
    })
}

/// The entries of `dir` (sorted, hidden ones skipped) and whether each is a symlink.
fn entries(dir: &Path) -> Vec<(PathBuf, bool)> {
    let mut found: Vec<(PathBuf, bool)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| (e.path(), e.file_type().is_ok_and(|t| t.is_symlink())))
        .collect();
    found.sort();
    found
}
