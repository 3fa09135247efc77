//! Markdown components with YAML front matter: Agent Skills `SKILL.md`,
//! slash commands (`commands/*.md`) and subagents (`agents/*.md`).
//!
//! Hosts read these leniently: an unknown key, a long description or a name
//! that differs from its folder costs a feature, not the plugin, so those are
//! warnings. Front matter that does not parse is an error: the host drops the
//! skill or command without a word, and loads an agent with every field
//! (tools, model, permissions) dropped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::SourceSpan;

use crate::decode::{Obj, Unknown, kebab_problem, object_with};
use crate::diagnostic::{Code, Finding, Findings, SourceFile};
use crate::ecosystem::front_matter::{self, FrontMatterError};
use crate::ecosystem::hooks_json::sorted;
use crate::ecosystem::links::check_links;
use crate::native::model::{InstructionKind, Instructions};
use crate::yaml::{Node, NodeKind, Scalar};

/// Front-matter keys of `SKILL.md` (Agent Skills plus Claude Code's own);
/// commands take the same keys, since Claude Code merged commands into skills.
pub const SKILL_FIELDS: &[&str] = &[
    "name",
    "description",
    "license",
    "compatibility",
    "metadata",
    "allowed-tools",
    "argument-hint",
    "user-invocable",
    "disable-model-invocation",
    "model",
    "context",
    "agent",
    "hooks",
    "paths",
];

/// Front-matter keys of a Claude Code subagent.
pub const AGENT_FIELDS: &[&str] = &[
    "name",
    "description",
    "tools",
    "disallowedTools",
    "model",
    "permissionMode",
    "skills",
    "hooks",
    "color",
    "mcpServers",
    "maxTurns",
    "memory",
    "background",
    "isolation",
    "effort",
    "initialPrompt",
    "capabilities",
];

const STRINGS: &[&str] = &[
    "license",
    "compatibility",
    "argument-hint",
    "model",
    "context",
    "agent",
    "color",
    "permissionMode",
    "effort",
    "initialPrompt",
    "isolation",
    "memory",
];
const BOOLS: &[&str] = &["user-invocable", "disable-model-invocation", "background"];
const STRING_OR_LIST: &[&str] = &[
    "allowed-tools",
    "paths",
    "tools",
    "disallowedTools",
    "skills",
    "capabilities",
];
const MAPS: &[&str] = &["metadata", "hooks"];

/// The longest description the Agent Skills rules allow, in characters.
pub const MAX_DESCRIPTION: usize = 1024;

/// One Markdown component to load.
pub(crate) struct Component<'a> {
    /// Skill, command or agent.
    pub kind: InstructionKind,
    /// The canonical plugin root.
    pub root: &'a Path,
    /// The file, relative to the root, with `/` separators.
    pub rel: String,
    /// The path to show in findings.
    pub shown: PathBuf,
    /// The name when the front matter has none: the skill's folder or the file's stem.
    pub fallback_name: String,
}

/// A component as loaded.
pub(crate) struct LoadedComponent {
    /// Its source.
    pub file: Arc<SourceFile>,
    /// What the host would load, unless its front matter is broken.
    pub instructions: Option<Instructions>,
    /// Findings in this file, in source order.
    pub findings: Vec<Finding>,
}

/// Reads and checks one component.
pub(crate) fn load(c: &Component<'_>) -> LoadedComponent {
    let text = match crate::paths::read_inside(c.root, &c.root.join(&c.rel)) {
        Ok(text) => text,
        Err(e) => {
            let file = SourceFile::new(c.shown.clone(), "");
            let mut f = Findings::new(file.clone());
            let message = format!("cannot read `{}`: {e}", c.rel);
            f.error(SourceSpan::new(0.into(), 0), Code::Io, message);
            return LoadedComponent {
                file,
                instructions: None,
                findings: f.list,
            };
        }
    };
    decode_text(c, text)
}

/// Checks one component whose text is in memory.
pub(crate) fn decode_text(c: &Component<'_>, text: String) -> LoadedComponent {
    let file = SourceFile::new(c.shown.clone(), text);
    let mut f = Findings::new(file.clone());
    let instructions = decode(&mut f, c);
    LoadedComponent {
        file,
        instructions,
        findings: sorted(f.list),
    }
}

fn decode(f: &mut Findings, c: &Component<'_>) -> Option<Instructions> {
    let text = f.file().text.clone();
    let (node, body) = match front_matter::parse_lenient(&text) {
        Ok((node, body, lenient)) => {
            lenient_values(f, c.kind, &lenient);
            (node, body)
        }
        Err(FrontMatterError::Missing) => {
            missing_front_matter(f, c);
            check_links(f, 0, c.root, dir_of(&c.rel));
            return Some(instructions(
                c,
                c.fallback_name.clone(),
                None,
                BTreeMap::new(),
                1,
            ));
        }
        Err(e) => {
            broken_front_matter(f, c.kind, &text, e);
            return None;
        }
    };
    check_links(f, body, c.root, dir_of(&c.rel));
    let fields = match c.kind {
        InstructionKind::Agent => AGENT_FIELDS,
        _ => SKILL_FIELDS,
    };
    let what = match c.kind {
        InstructionKind::Skill => "the skill's front matter",
        InstructionKind::Command => "the command's front matter",
        InstructionKind::Agent => "the agent's front matter",
    };
    let body_line = f.file().line_col(body).0;
    if node.as_map().is_none() {
        let message = format!(
            "{what} must be a mapping of keys to values, found {}",
            node.type_name()
        );
        f.warning(node.span, Code::WrongType, message);
        return Some(instructions(
            c,
            c.fallback_name.clone(),
            None,
            BTreeMap::new(),
            body_line,
        ));
    }
    // Repeated keys stay errors: the hosts' YAML readers throw on them, which drops the file.
    let obj = object_with(f, &node, what, fields, Unknown::Warning)?;
    let name = f.warnings_only(|f| check_name(f, c, &obj));
    let description = f.warnings_only(|f| check_description(f, c.kind, &obj));
    f.warnings_only(|f| check_types(f, &obj));
    let metadata = metadata(&node);
    Some(instructions(c, name, description, metadata, body_line))
}

/// The folder part of a root-relative path (`skills/a` for `skills/a/SKILL.md`).
fn dir_of(rel: &str) -> &str {
    rel.rsplit_once('/').map_or("", |(dir, _)| dir)
}

fn instructions(
    c: &Component<'_>,
    name: String,
    description: Option<String>,
    metadata: BTreeMap<String, serde_json::Value>,
    body_line: usize,
) -> Instructions {
    Instructions {
        kind: c.kind,
        name,
        description,
        metadata,
        path: c.rel.clone(),
        body_line,
    }
}

fn missing_front_matter(f: &mut Findings, c: &Component<'_>) {
    let (what, effect) = match c.kind {
        InstructionKind::Skill => (
            "skill",
            "hosts fall back to the folder name and cannot tell when to use it",
        ),
        InstructionKind::Command => ("command", "hosts show it without a description"),
        InstructionKind::Agent => ("agent", "hosts cannot tell when to delegate to it"),
    };
    f.warning_with_help(
        SourceSpan::new(0.into(), 0),
        Code::MissingFrontMatter,
        format!("this {what} has no YAML front matter: {effect}"),
        Some("start the file with `---`, `name: ...`, `description: ...`, `---`".into()),
    );
}

/// Values with an unquoted `: ` that parse only the lenient way: a warning,
/// not an error, because Claude Code loads the file; strict hosts do not.
fn lenient_values(f: &mut Findings, kind: InstructionKind, found: &[front_matter::UnquotedColon]) {
    let what = match kind {
        InstructionKind::Skill => "skill",
        InstructionKind::Command => "command",
        InstructionKind::Agent => "agent",
    };
    for colon in found {
        let message = format!(
            "the value of `{}` contains an unquoted `: `: strict YAML readers (Codex, the Agent Skills tools) take it for a nested key and drop this {what}; Claude Code reads the line as text",
            colon.key
        );
        f.warning_with_help(
            SourceSpan::new(colon.at.into(), 1),
            Code::UnquotedColon,
            message,
            Some("put the whole value in double quotes".into()),
        );
    }
}

fn broken_front_matter(f: &mut Findings, kind: InstructionKind, text: &str, e: FrontMatterError) {
    let effect = match kind {
        InstructionKind::Skill => "the host drops this skill without a word",
        InstructionKind::Command => "the host drops this command without a word",
        InstructionKind::Agent => {
            "the host loads this agent with every field (tools, model, permissions) dropped"
        }
    };
    match e {
        FrontMatterError::Syntax(syntax) => {
            let help = front_matter::split(text)
                .ok()
                .and_then(|parts| front_matter::unquoted_colon(text, parts, syntax.span.offset()));
            let (span, help) = match help {
                Some((key, at)) => (
                    SourceSpan::new(at.into(), 1),
                    Some(format!(
                        "the value of `{key}` contains `: `, which YAML reads as a nested key; put the whole value in double quotes"
                    )),
                ),
                None => (syntax.span, None),
            };
            let message = format!("invalid YAML front matter ({}): {effect}", syntax.message);
            f.error_with_help(span, Code::FrontMatterSyntax, message, help);
        }
        FrontMatterError::Unclosed | FrontMatterError::Missing => {
            let message =
                format!("the front matter opened here is never closed with a `---` line: {effect}");
            f.error(
                SourceSpan::new(0.into(), 3),
                Code::FrontMatterSyntax,
                message,
            );
        }
    }
}

fn check_name(f: &mut Findings, c: &Component<'_>, obj: &Obj<'_>) -> String {
    let Some(node) = obj.get("name") else {
        if c.kind != InstructionKind::Command {
            let message = format!("`name` is missing; hosts use `{}` instead", c.fallback_name);
            f.warning(obj.head_span(), Code::MissingField, message);
        }
        return c.fallback_name.clone();
    };
    let Some(name) = node.as_str() else {
        let message = format!("`name` must be a string, found {}", node.type_name());
        f.warning(node.span, Code::WrongType, message);
        return c.fallback_name.clone();
    };
    if let Some(why) = kebab_problem(name) {
        f.warning(node.span, Code::InvalidName, format!("name `{name}` {why}"));
    }
    if c.kind == InstructionKind::Skill && name != c.fallback_name {
        f.warning_with_help(
            node.span,
            Code::NameFolderMismatch,
            format!(
                "the skill is named `{name}` but its folder is `{}`",
                c.fallback_name
            ),
            Some("the Agent Skills rules want the two to be equal; rename one".into()),
        );
    }
    name.to_owned()
}

fn check_description(f: &mut Findings, kind: InstructionKind, obj: &Obj<'_>) -> Option<String> {
    let Some(node) = obj.get("description") else {
        if kind != InstructionKind::Command {
            let message = "`description` is missing: the model cannot tell when to use this";
            f.warning(obj.head_span(), Code::MissingField, message);
        }
        return None;
    };
    let text = match &node.kind {
        NodeKind::Scalar(Scalar::Str(s)) => s.clone(),
        NodeKind::Scalar(Scalar::Null) => String::new(),
        _ => {
            let message = format!("`description` must be a string, found {}", node.type_name());
            f.warning(node.span, Code::WrongType, message);
            return None;
        }
    };
    let chars = text.trim().chars().count();
    if chars == 0 || chars > MAX_DESCRIPTION {
        let message = match chars {
            0 => "`description` is empty: the model cannot tell when to use this".to_owned(),
            n => format!(
                "`description` is {n} characters long; the limit is {MAX_DESCRIPTION} (hosts may cut or refuse it)"
            ),
        };
        f.warning(node.span, Code::DescriptionLength, message);
    }
    (chars > 0).then_some(text)
}

fn check_types(f: &mut Findings, obj: &Obj<'_>) {
    for key in STRINGS {
        let _ = obj.opt_string(f, key);
    }
    for key in BOOLS {
        let _ = obj.opt_bool(f, key);
    }
    for key in STRING_OR_LIST {
        if let Some(node) = obj.get(key)
            && node.as_str().is_none()
        {
            let _ = crate::decode::string_list(f, node, key);
        }
    }
    for key in MAPS {
        if let Some(node) = obj.get(key)
            && node.as_map().is_none()
        {
            let message = format!("`{key}` must be a mapping, found {}", node.type_name());
            f.warning(node.span, Code::WrongType, message);
        }
    }
    if let Some(node) = obj.get("maxTurns")
        && !matches!(node.kind, NodeKind::Scalar(Scalar::Int(_)))
    {
        let message = format!(
            "`maxTurns` must be a whole number, found {}",
            node.type_name()
        );
        f.warning(node.span, Code::WrongType, message);
    }
}

/// Every front-matter field but `name` and `description`, as JSON.
fn metadata(node: &Node) -> BTreeMap<String, serde_json::Value> {
    node.as_map()
        .unwrap_or_default()
        .iter()
        .map(|(k, v)| (k.key_text(), v.to_json()))
        .filter(|(k, _)| k != "name" && k != "description")
        .collect()
}
