//! Policy variables: `${aws:username}`, `${aws:PrincipalTag/Team, 'none'}`,
//! and the escapes `${*}`, `${?}`, `${$}`.
//!
//! AWS substitutes once (a value that itself looks like a variable stays as
//! it is), key names are case-insensitive, and a variable whose key is absent
//! or multi-valued, with no default, makes the element not match.

use crate::context::Context;
use crate::glob::{Glob, GlobBuilder};

/// One piece of a value that may contain variables.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    /// Text as written (wildcards active where the operator has them).
    Text(Box<str>),
    /// An escaped character, always literal.
    Escape(char),
    /// A variable: lowercased key and optional default.
    Var {
        key: Box<str>,
        default: Option<Box<str>>,
    },
}

/// A value that contains at least one `${...}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Box<[Piece]>,
}

/// Why a `${...}` could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariableError(pub String);

impl Template {
    /// Parses `text`; `Ok(None)` when it has no `${`.
    pub fn parse(text: &str) -> Result<Option<Template>, VariableError> {
        if !text.contains("${") {
            return Ok(None);
        }
        let mut pieces = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            if start > 0 {
                pieces.push(Piece::Text(rest[..start].into()));
            }
            let body_and_more = &rest[start + 2..];
            let end = find_close(body_and_more)
                .ok_or_else(|| VariableError(format!("unterminated variable in `{text}`")))?;
            pieces.push(parse_body(&body_and_more[..end])?);
            rest = &body_and_more[end + 1..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.into()));
        }
        Ok(Some(Template {
            pieces: pieces.into(),
        }))
    }

    /// Whether the template refers to a context key (not only escapes).
    pub fn has_variables(&self) -> bool {
        self.pieces.iter().any(|p| matches!(p, Piece::Var { .. }))
    }

    /// The value with variables substituted, or `None` when one cannot be.
    pub fn resolve(&self, ctx: &Context<'_>) -> Option<String> {
        let mut out = String::new();
        for piece in self.pieces.iter() {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Escape(c) => out.push(*c),
                Piece::Var { key, default } => out.push_str(&variable(ctx, key, default)?),
            }
        }
        Some(out)
    }

    /// The value as a wildcard pattern: written text keeps its wildcards,
    /// substituted values and escapes are literal.
    pub fn resolve_glob(&self, ctx: &Context<'_>) -> Option<Glob> {
        let mut b = GlobBuilder::default();
        for piece in self.pieces.iter() {
            match piece {
                Piece::Text(t) => b.pattern(t),
                Piece::Escape(c) => b.literal(c.encode_utf8(&mut [0; 4])),
                Piece::Var { key, default } => b.literal(&variable(ctx, key, default)?),
            }
        }
        Some(b.build())
    }
}

fn variable(ctx: &Context<'_>, key: &str, default: &Option<Box<str>>) -> Option<String> {
    match ctx.single(key) {
        Some(v) => Some(v.into_owned()),
        None => default.as_deref().map(str::to_owned),
    }
}

/// The index of the `}` closing a variable, skipping quoted defaults.
fn find_close(s: &str) -> Option<usize> {
    let mut in_quote = false;
    for (i, c) in s.char_indices() {
        match c {
            '\'' => in_quote = !in_quote,
            '}' if !in_quote => return Some(i),
            _ => {}
        }
    }
    None
}

fn parse_body(body: &str) -> Result<Piece, VariableError> {
    match body {
        "*" => return Ok(Piece::Escape('*')),
        "?" => return Ok(Piece::Escape('?')),
        "$" => return Ok(Piece::Escape('$')),
        _ => {}
    }
    let (key, default) = match body.split_once(',') {
        None => (body.trim(), None),
        Some((k, d)) => (k.trim(), Some(parse_default(d.trim())?)),
    };
    if key.is_empty() || key.contains(char::is_whitespace) {
        return Err(VariableError(format!("`${{{body}}}` names no context key")));
    }
    Ok(Piece::Var {
        key: key.to_ascii_lowercase().into(),
        default: default.map(Into::into),
    })
}

/// A default is single-quoted; `''` inside it is one quote.
fn parse_default(d: &str) -> Result<String, VariableError> {
    let inner = d
        .strip_prefix('\'')
        .and_then(|s| s.strip_suffix('\''))
        .filter(|_| d.len() >= 2)
        .ok_or_else(|| VariableError(format!("default `{d}` must be in single quotes")))?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' && chars.next_if_eq(&'\'').is_none() {
            return Err(VariableError(format!(
                "a quote inside the default `{d}` must be doubled"
            )));
        }
        out.push(c);
    }
    Ok(out)
}
