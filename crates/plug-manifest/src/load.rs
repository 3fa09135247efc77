//! Loading a native plugin from disk: the manifest, then each skill file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::{Code, Finding, Findings, Severity, SourceFile};
use crate::ecosystem::{Detected, detect, detect_preferring};
use crate::native::model::{Instructions, Manifest, Skill};
use crate::native::{
    ImplicitParam, check_plugin, decode_manifest, decode_skill, skill_placeholders,
};
use crate::yaml::{self, Node};

/// The manifest file names looked for in a plugin folder, in order.
pub const MANIFEST_NAMES: &[&str] = &["plugin.yaml", "plugin.yml"];

/// What `load_plugin` looks for, for messages.
const LOOKED_FOR: &str = "plugin.yaml, .claude-plugin/plugin.json, .codex-plugin/plugin.json, .cursor-plugin/plugin.json, plugin.json, or a folder with skills/*/SKILL.md, hooks/hooks.json or .mcp.json";

/// Why a plugin could not be read at all (as opposed to read with findings).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The path names no plugin.
    #[error("{0}: no plugin here (looked for {LOOKED_FOR})")]
    NoManifest(PathBuf),
    /// The file or folder could not be read.
    #[error("{path}: {source}")]
    Io {
        /// What could not be read.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// A plugin as loaded: whatever could be decoded, and every finding.
#[derive(Debug)]
pub struct Plugin {
    /// The canonical plugin root.
    pub root: PathBuf,
    /// The manifest's source (for a host-format folder without a manifest,
    /// an empty file named after the folder).
    pub manifest_file: Arc<SourceFile>,
    /// The decoded manifest, unless it was too broken to decode.
    pub manifest: Option<Manifest>,
    /// The skills the manifest lists, in order.
    pub skills: Vec<LoadedSkill>,
    /// Every finding across the manifest and skill files.
    pub findings: Vec<Finding>,
}

/// One skill file as loaded.
#[derive(Debug)]
pub struct LoadedSkill {
    /// Its source.
    pub file: Arc<SourceFile>,
    /// The decoded skill, unless it was too broken to decode.
    pub skill: Option<Skill>,
    /// `<names>` the run must be given.
    pub implicit_params: Vec<ImplicitParam>,
    /// The IAM actions the manifest declares for it.
    pub required_permissions: Vec<String>,
    /// For an instructions-only skill (an Agent Skills `SKILL.md`): what it
    /// holds. `skill` is then `None`, since there are no steps to run.
    pub instructions: Option<Instructions>,
}

impl Plugin {
    /// Whether any finding is an error (or, with `strict`, a warning).
    pub fn has_failures(&self, strict: bool) -> bool {
        self.findings
            .iter()
            .any(|f| f.severity == Severity::Error || strict)
    }
}

/// Loads a plugin from its folder or its manifest file.
///
/// A folder is read in plugctl's own format when it has a `plugin.yaml`,
/// else in the first host format detected (see [`crate::ecosystem`]).
pub fn load_plugin(path: &Path) -> Result<Plugin, LoadError> {
    if let Some((root, detected)) = host_format(path)? {
        return crate::ecosystem::load(&root, &detected);
    }
    let manifest_path = find_manifest(path)?;
    let io = |source| LoadError::Io {
        path: manifest_path.clone(),
        source,
    };
    let root = manifest_path
        .parent()
        .unwrap_or(Path::new("."))
        .canonicalize()
        .map_err(io)?;
    let text = crate::paths::read_inside(&root, &manifest_path).map_err(io)?;
    Ok(load_from_text(
        &root,
        display_name(path, &manifest_path),
        text,
    ))
}

/// The host-format plugin `path` names, if it names one: a folder without
/// `plugin.yaml`, or a host format's `plugin.json` itself.
fn host_format(path: &Path) -> Result<Option<(PathBuf, Detected)>, LoadError> {
    let io = |source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = path.metadata().map_err(io)?;
    if meta.is_dir() {
        let native = MANIFEST_NAMES.iter().any(|n| path.join(n).is_file());
        return Ok((!native)
            .then(|| detect(path).map(|d| (path.to_path_buf(), d)))
            .flatten());
    }
    if path.file_name().is_none_or(|n| n != "plugin.json") {
        return Ok(None);
    }
    let parent = path.parent().unwrap_or(Path::new("."));
    let dot_folder = parent
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| n.ends_with("-plugin"));
    let (root, named) = match &dot_folder {
        Some(folder) => (
            parent.parent().unwrap_or(Path::new(".")),
            format!("{folder}/plugin.json"),
        ),
        None => (parent, "plugin.json".to_owned()),
    };
    let root = if root.as_os_str().is_empty() {
        Path::new(".")
    } else {
        root
    };
    Ok(detect_preferring(root, Some(&named)).map(|d| (root.to_path_buf(), d)))
}

fn find_manifest(path: &Path) -> Result<PathBuf, LoadError> {
    let meta = path.metadata().map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if meta.is_file() {
        return Ok(path.to_path_buf());
    }
    MANIFEST_NAMES
        .iter()
        .map(|name| path.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| LoadError::NoManifest(path.to_path_buf()))
}

/// How to show the manifest path: as the user named it.
fn display_name(given: &Path, manifest: &Path) -> PathBuf {
    if given.is_file() {
        given.to_path_buf()
    } else {
        manifest.to_path_buf()
    }
}

/// Loads a plugin whose manifest text is already in memory (`root` canonical).
pub fn load_from_text(root: &Path, manifest_name: PathBuf, text: String) -> Plugin {
    let display_root = manifest_name
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let manifest_file = SourceFile::new(manifest_name, text);
    let mut f = Findings::new(manifest_file.clone());
    let manifest = parse_doc(&mut f).and_then(|doc| decode_manifest(&mut f, root, &doc));
    let mut findings = sorted(f.list);
    let mut skills = Vec::new();
    if let Some(manifest) = &manifest {
        for entry in &manifest.skills {
            let Some(file) = &entry.file else { continue };
            let shown = display_root.join(entry.path.value.trim_start_matches("./"));
            let (skill, skill_findings) =
                load_skill(manifest, &entry.name.value, (root, file), shown);
            findings.extend(skill_findings);
            skills.push(LoadedSkill {
                required_permissions: entry
                    .required_permissions
                    .iter()
                    .map(|p| p.value.clone())
                    .collect(),
                ..skill
            });
        }
        hooks_without_skills(manifest, &skills, &manifest_file, &mut findings);
    }
    Plugin {
        root: root.to_path_buf(),
        manifest_file,
        manifest,
        skills,
        findings,
    }
}

/// Findings of one file in source order, whatever order the checks ran in.
/// A repeated key is reported once, by the document-wide check (which
/// names both places), though a mapping of known fields finds it too.
fn sorted(mut findings: Vec<Finding>) -> Vec<Finding> {
    findings.sort_by_key(|f| f.span.offset());
    findings.dedup_by(|later, earlier| {
        later.code == Code::DuplicateKey
            && earlier.code == Code::DuplicateKey
            && later.span == earlier.span
    });
    findings
}

fn parse_doc(f: &mut Findings) -> Option<Node> {
    match yaml::parse(&f.file().text) {
        Ok(doc) => {
            for repeated in doc.repeated_keys() {
                let (line, column) = f.file().line_col(repeated.first.offset());
                let message = format!(
                    "`{}` is given twice in this mapping (first at line {line}, column {column}); \
                     the second would silently win",
                    repeated.key
                );
                let first = (repeated.first, "first given here");
                f.error_related(repeated.again, Code::DuplicateKey, message, first);
            }
            Some(doc)
        }
        Err(e) => {
            f.error(
                e.span,
                Code::YamlSyntax,
                format!("invalid YAML: {}", e.message),
            );
            None
        }
    }
}

fn load_skill(
    manifest: &Manifest,
    entry_name: &str,
    (root, path): (&Path, &Path),
    shown: PathBuf,
) -> (LoadedSkill, Vec<Finding>) {
    match crate::paths::read_inside(root, path) {
        Ok(text) => load_skill_text(Some(manifest), Some(entry_name), shown, text),
        Err(e) => {
            let file = SourceFile::new(shown, "");
            let mut f = Findings::new(file.clone());
            f.error(
                miette::SourceSpan::new(0.into(), 0),
                Code::Io,
                format!("cannot read the skill file: {e}"),
            );
            (
                LoadedSkill {
                    file,
                    skill: None,
                    implicit_params: Vec::new(),
                    required_permissions: Vec::new(),
                    instructions: None,
                },
                f.list,
            )
        }
    }
}

/// Decodes and checks one skill file's text.
///
/// With a manifest, the skill is checked against it (its entry name, its MCP
/// servers, its operator configuration values); without one, only on its own.
pub fn load_skill_text(
    manifest: Option<&Manifest>,
    entry_name: Option<&str>,
    shown: PathBuf,
    text: String,
) -> (LoadedSkill, Vec<Finding>) {
    let file = SourceFile::new(shown, text);
    let mut f = Findings::new(file.clone());
    let mut implicit_params = Vec::new();
    let doc = parse_doc(&mut f);
    let skill = doc.as_ref().and_then(|doc| {
        let skill = decode_skill(&mut f, doc)?;
        if let (Some(manifest), Some(entry_name)) = (manifest, entry_name) {
            check_plugin(&mut f, manifest, entry_name, &skill, doc);
        }
        implicit_params = skill_placeholders(&mut f, manifest, &skill, doc);
        Some(skill)
    });
    (
        LoadedSkill {
            file,
            skill,
            implicit_params,
            required_permissions: Vec::new(),
            instructions: None,
        },
        sorted(f.list),
    )
}

/// A `pre_<kind>` hook whose kind no skill has never runs: probably a typo.
fn hooks_without_skills(
    manifest: &Manifest,
    skills: &[LoadedSkill],
    file: &Arc<SourceFile>,
    findings: &mut Vec<Finding>,
) {
    let kinds: Vec<&str> = skills
        .iter()
        .filter_map(|s| s.skill.as_ref())
        .map(|s| s.kind.as_str())
        .collect();
    if kinds.len() < manifest.skills.len() {
        return; // a skill failed to load; its kind is unknown, so stay quiet
    }
    let mut f = Findings::new(file.clone());
    for hook in &manifest.hooks {
        if crate::native::FIXED_EVENTS.contains(&hook.event.as_str()) {
            continue;
        }
        // Events that are neither fixed nor `pre_`/`post_` were reported as unknown already.
        let Some(kind) = hook
            .event
            .strip_prefix("pre_")
            .or_else(|| hook.event.strip_prefix("post_"))
        else {
            continue;
        };
        if !kinds.contains(&kind) {
            let span = hook.event_span;
            f.warning(
                span,
                Code::HookNeverFires,
                format!(
                    "no skill of kind `{kind}` exists, so `{}` never fires (kinds here: {})",
                    hook.event,
                    kinds.join(", ")
                ),
            );
        }
    }
    findings.append(&mut f.list);
}
