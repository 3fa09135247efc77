//! Typed reading of spanned YAML that reports every problem instead of
//! stopping at the first (serde would stop at the first).

use std::collections::BTreeMap;
use std::time::Duration;

use miette::SourceSpan;

use crate::diagnostic::{Code, Findings, did_you_mean};
use crate::yaml::{Node, NodeKind, Scalar};

/// A value with the span of the node it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub span: SourceSpan,
}

impl<T> Spanned<T> {
    /// Pairs a value with its span.
    pub fn new(value: T, span: SourceSpan) -> Self {
        Spanned { value, span }
    }
}

/// A mapping whose keys were checked against the fields a format defines.
pub(crate) struct Obj<'n> {
    pub node: &'n Node,
    entries: &'n [(Node, Node)],
    what: &'static str,
}

/// Reads `node` as a mapping of `what`, reporting unknown and repeated keys.
pub(crate) fn object<'n>(
    f: &mut Findings,
    node: &'n Node,
    what: &'static str,
    known: &[&str],
) -> Option<Obj<'n>> {
    object_with(f, node, what, known, Unknown::Error)
}

/// How a mapping's unknown keys are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unknown {
    /// As errors: the format is ours and strict.
    Error,
    /// As warnings: the host ignores keys it does not know.
    Warning,
}

/// Reads `node` as a mapping of `what`, reporting repeated keys as errors and
/// unknown keys as `unknown` says.
pub(crate) fn object_with<'n>(
    f: &mut Findings,
    node: &'n Node,
    what: &'static str,
    known: &[&str],
    unknown: Unknown,
) -> Option<Obj<'n>> {
    let Some(entries) = node.as_map() else {
        f.error(
            node.span,
            Code::WrongType,
            format!("{what} must be a mapping, found {}", node.type_name()),
        );
        return None;
    };
    for (i, (key, _)) in entries.iter().enumerate() {
        let Some(name) = key.as_str() else {
            f.error(
                key.span,
                Code::WrongType,
                format!("keys of {what} must be strings, found {}", key.type_name()),
            );
            continue;
        };
        if !known.contains(&name) {
            let help = did_you_mean(name, known.iter().copied());
            let fields = known.join(", ");
            let help = help.or_else(|| Some(format!("known fields: {fields}")));
            let message = format!("unknown field `{name}` in {what}");
            match unknown {
                Unknown::Error => f.error_with_help(key.span, Code::UnknownField, message, help),
                Unknown::Warning => {
                    f.warning_with_help(key.span, Code::UnknownField, message, help);
                }
            }
        }
        if entries[..i].iter().any(|(k, _)| k.as_str() == Some(name)) {
            f.error(
                key.span,
                Code::DuplicateKey,
                format!("`{name}` appears twice in {what}; the second would silently win"),
            );
        }
    }
    Some(Obj {
        node,
        entries,
        what,
    })
}

impl<'n> Obj<'n> {
    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// The span of `key` itself, if present.
    pub fn key_span(&self, key: &str) -> Option<SourceSpan> {
        self.entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(k, _)| k.span)
    }

    /// Where to point when a field is missing: the mapping's first key.
    pub fn head_span(&self) -> SourceSpan {
        self.entries.first().map_or(self.node.span, |(k, _)| k.span)
    }

    /// The value of a required `key`; reports it when absent.
    pub fn require(&self, f: &mut Findings, key: &str) -> Option<&'n Node> {
        let value = self.get(key);
        if value.is_none() {
            f.error(
                self.head_span(),
                Code::MissingField,
                format!("{} is missing the required field `{key}`", self.what),
            );
        }
        value
    }

    /// A required string field.
    pub fn req_string(&self, f: &mut Findings, key: &str) -> Option<Spanned<String>> {
        self.require(f, key).and_then(|n| string(f, n, key))
    }

    /// An optional string field.
    pub fn opt_string(&self, f: &mut Findings, key: &str) -> Option<Spanned<String>> {
        self.get(key).and_then(|n| string(f, n, key))
    }

    /// An optional boolean field.
    pub fn opt_bool(&self, f: &mut Findings, key: &str) -> Option<bool> {
        let node = self.get(key)?;
        match node.kind {
            NodeKind::Scalar(Scalar::Bool(b)) => Some(b),
            _ => {
                f.error(
                    node.span,
                    Code::WrongType,
                    format!("`{key}` must be true or false, found {}", node.type_name()),
                );
                None
            }
        }
    }

    /// An optional duration field (seconds as an integer, or `30s`, `2m`, `500ms`).
    pub fn opt_duration(&self, f: &mut Findings, key: &str) -> Option<Duration> {
        self.get(key).and_then(|n| duration(f, n, key))
    }

    /// An optional list of strings.
    pub fn opt_string_list(&self, f: &mut Findings, key: &str) -> Vec<Spanned<String>> {
        self.get(key)
            .map(|n| string_list(f, n, key))
            .unwrap_or_default()
    }

    /// An optional map of strings to strings.
    pub fn opt_string_map(&self, f: &mut Findings, key: &str) -> BTreeMap<String, String> {
        let Some(node) = self.get(key) else {
            return BTreeMap::new();
        };
        let Some(entries) = node.as_map() else {
            f.error(
                node.span,
                Code::WrongType,
                format!(
                    "`{key}` must be a mapping of names to strings, found {}",
                    node.type_name()
                ),
            );
            return BTreeMap::new();
        };
        let mut map = BTreeMap::new();
        for (k, v) in entries {
            if let (Some(k), Some(v)) = (string(f, k, key), scalar_text(f, v, key)) {
                map.insert(k.value, v);
            }
        }
        map
    }
}

/// A string scalar.
pub(crate) fn string(f: &mut Findings, node: &Node, key: &str) -> Option<Spanned<String>> {
    match node.as_str() {
        Some(s) => Some(Spanned::new(s.to_owned(), node.span)),
        None => {
            f.error(
                node.span,
                Code::WrongType,
                format!("`{key}` must be a string, found {}", node.type_name()),
            );
            None
        }
    }
}

/// Any scalar as text (environment values are often written as numbers or booleans).
pub(crate) fn scalar_text(f: &mut Findings, node: &Node, key: &str) -> Option<String> {
    match &node.kind {
        NodeKind::Scalar(Scalar::Str(s)) => Some(s.clone()),
        NodeKind::Scalar(Scalar::Null) | NodeKind::Seq(_) | NodeKind::Map(_) => {
            f.error(
                node.span,
                Code::WrongType,
                format!(
                    "values of `{key}` must be strings, found {}",
                    node.type_name()
                ),
            );
            None
        }
        NodeKind::Scalar(_) => Some(node.key_text()),
    }
}

/// A list of strings.
pub(crate) fn string_list(f: &mut Findings, node: &Node, key: &str) -> Vec<Spanned<String>> {
    let Some(items) = node.as_seq() else {
        f.error(
            node.span,
            Code::WrongType,
            format!("`{key}` must be a list, found {}", node.type_name()),
        );
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| string(f, item, key))
        .collect()
}

/// A list of anything; reports a non-list.
pub(crate) fn list<'n>(f: &mut Findings, node: &'n Node, key: &str) -> &'n [Node] {
    match node.as_seq() {
        Some(items) => items,
        None => {
            f.error(
                node.span,
                Code::WrongType,
                format!("`{key}` must be a list, found {}", node.type_name()),
            );
            &[]
        }
    }
}

/// A duration: whole seconds as an integer, or humantime text (`30s`, `2m`, `1h 30m`).
pub(crate) fn duration(f: &mut Findings, node: &Node, key: &str) -> Option<Duration> {
    match &node.kind {
        NodeKind::Scalar(Scalar::Int(secs)) if *secs >= 0 => {
            u64::try_from(*secs).ok().map(Duration::from_secs)
        }
        NodeKind::Scalar(Scalar::Str(text)) => match humantime::parse_duration(text) {
            Ok(d) => Some(d),
            Err(e) => {
                f.error(node.span, Code::InvalidDuration, format!("`{key}` is not a duration: {e}; write e.g. `30s`, `5m` or a number of seconds"));
                None
            }
        },
        _ => {
            f.error(
                node.span,
                Code::InvalidDuration,
                format!(
                    "`{key}` must be a duration such as `30s` or a number of seconds, found {}",
                    node.type_name()
                ),
            );
            None
        }
    }
}

/// Checks a name against kebab-case (`^[a-z0-9]+(-[a-z0-9]+)*$`, at most 64 characters).
pub(crate) fn check_kebab(f: &mut Findings, name: &Spanned<String>, what: &str) {
    if let Some(why) = kebab_problem(&name.value) {
        f.error(
            name.span,
            Code::InvalidName,
            format!("{what} name `{}` {why}", name.value),
        );
    }
}

/// Why `name` is not kebab-case of at most 64 characters (the Agent Skills
/// rule: `[a-z0-9-]`, no leading, trailing or double hyphen), if it is not.
pub(crate) fn kebab_problem(name: &str) -> Option<String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    match ok {
        true => None,
        false if name.len() > 64 => Some(format!(
            "is {} characters long; the limit is 64",
            name.len()
        )),
        false => {
            Some("is not kebab-case (lowercase letters, digits and single hyphens)".to_owned())
        }
    }
}

/// Checks an identifier (params, outputs): a letter first, then letters, digits, `_` or `-`.
pub(crate) fn check_identifier(f: &mut Findings, name: &Spanned<String>, what: &str) {
    let n = &name.value;
    let mut chars = n.chars();
    let ok = n.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !ok {
        f.error(name.span, Code::InvalidName, format!("{what} name `{n}` must start with a letter and use only letters, digits, `_` and `-` (at most 64)"));
    }
}

/// Checks a step name: lowercase `snake_case` or `kebab-case`, so that
/// `<step.Field>` references read the same way everywhere.
pub(crate) fn check_step_name(f: &mut Findings, name: &Spanned<String>) {
    let n = &name.value;
    let mut chars = n.chars();
    let ok = n.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !ok {
        f.error(name.span, Code::InvalidName, format!("step name `{n}` must be lowercase snake_case or kebab-case (a letter first; letters, digits, `_`, `-`; at most 64)"));
    }
}

/// Reports the second and later uses of a name.
pub(crate) fn check_unique<'a>(
    f: &mut Findings,
    names: impl IntoIterator<Item = &'a Spanned<String>>,
    what: &str,
) {
    // A set: a skill of 40,000 steps must not take a quadratic scan.
    let mut seen = std::collections::HashSet::new();
    for name in names {
        if !seen.insert(name.value.as_str()) {
            f.error(
                name.span,
                Code::DuplicateName,
                format!("{what} `{}` is defined twice", name.value),
            );
        }
    }
}
