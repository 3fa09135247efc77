//! `${VAR}` and `${VAR:-default}` references, as Claude Code, Codex and
//! Cursor expand them in hook commands and MCP server settings.

use std::ops::Range;

/// One `${...}` reference in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarRef<'t> {
    /// Byte range of the whole reference, `${` to `}`.
    pub range: Range<usize>,
    /// The variable's name (`CLAUDE_PLUGIN_ROOT`, `user_config.api_url`).
    pub name: &'t str,
    /// The text after `:-`, if any.
    pub default: Option<&'t str>,
}

/// Why a text could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VarError {
    /// `${NAME}` without a default, and nothing gives `NAME` a value.
    #[error("`${{{0}}}` is used but `{0}` is not set")]
    Unset(String),
    /// `${` with no closing `}`.
    #[error("unclosed `${{` in `{0}`")]
    Unclosed(String),
}

/// Every reference in `text`, in order; stops at an unclosed `${`.
pub fn references(text: &str) -> Vec<VarRef<'_>> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find("${").map(|i| i + from) {
        let Some(len) = text[at + 2..].find('}') else {
            break;
        };
        let inner = &text[at + 2..at + 2 + len];
        let (name, default) = match inner.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (inner, None),
        };
        let end = at + 2 + len + 1;
        found.push(VarRef {
            range: at..end,
            name,
            default,
        });
        from = end;
    }
    found
}

/// Expands every reference with `lookup`; an unset name falls back to its
/// default, and without one the whole expansion fails.
pub fn expand(text: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, VarError> {
    expand_with(text, |r| match (lookup(r.name), r.default) {
        (Some(value), _) => Ok(value),
        (None, Some(default)) => Ok(default.to_owned()),
        (None, None) => Err(VarError::Unset(r.name.to_owned())),
    })
}

/// Like [`expand`], but a reference that cannot be resolved is kept as
/// written: for text a shell or another layer may still expand.
pub fn expand_known(text: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let kept = expand_with(text, |r| {
        Ok(match (lookup(r.name), r.default) {
            (Some(value), _) => value,
            (None, Some(default)) => default.to_owned(),
            (None, None) => text[r.range.clone()].to_owned(),
        })
    });
    kept.unwrap_or_else(|_| text.to_owned())
}

fn expand_with(
    text: &str,
    mut value: impl FnMut(&VarRef<'_>) -> Result<String, VarError>,
) -> Result<String, VarError> {
    let refs = references(text);
    let last = refs.last().map_or(0, |r| r.range.end);
    if text[last..].contains("${") {
        return Err(VarError::Unclosed(text.to_owned()));
    }
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    for r in &refs {
        out.push_str(&text[from..r.range.start]);
        out.push_str(&value(r)?);
        from = r.range.end;
    }
    out.push_str(&text[from..]);
    Ok(out)
}

/// Where a shell command line uses `$NAME` or `${NAME}` (or `${NAME:-...}`)
/// outside double quotes, so that a value with a space splits into two words.
/// Inside single quotes nothing expands, so those are not reported.
pub fn unquoted_uses(command: &str, name: &str) -> Vec<Range<usize>> {
    shell_quoting(command)
        .filter(|&(_, c, quoting)| c == '$' && quoting == ShellQuoting::Unquoted)
        .filter_map(|(i, _, _)| variable_at(&command[i..], name).map(|len| i..i + len))
        .collect()
}

/// The quoting in force at a character of a shell command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShellQuoting {
    /// Outside any quotes.
    Unquoted,
    /// Right after a backslash.
    Escaped,
    /// Inside `'...'`.
    SingleQuoted,
    /// Inside `"..."`.
    DoubleQuoted,
}

/// Each character of a shell command line (byte offset, character) with
/// the quoting in force before it: the one scanner the lint for unquoted
/// variables and the hook host's option quoting share.
pub fn shell_quoting(command: &str) -> impl Iterator<Item = (usize, char, ShellQuoting)> + '_ {
    let (mut single, mut double, mut escaped) = (false, false, false);
    command.char_indices().map(move |(i, c)| {
        let quoting = match (escaped, single, double) {
            (true, _, _) => ShellQuoting::Escaped,
            (_, true, _) => ShellQuoting::SingleQuoted,
            (_, _, true) => ShellQuoting::DoubleQuoted,
            _ => ShellQuoting::Unquoted,
        };
        if escaped {
            escaped = false;
        } else {
            match c {
                '\\' if !single => escaped = true,
                '\'' if !double => single = !single,
                '"' if !single => double = !double,
                _ => {}
            }
        }
        (i, c, quoting)
    })
}

/// The length of `$NAME`, `${NAME}` or `${NAME:-...}` at the start of `text`.
fn variable_at(text: &str, name: &str) -> Option<usize> {
    let rest = text.strip_prefix('$')?;
    if let Some(braced) = rest.strip_prefix('{') {
        let after = braced.strip_prefix(name)?;
        return match after.chars().next() {
            Some('}') => Some(name.len() + 3),
            Some(':') => after.find('}').map(|end| name.len() + 3 + end),
            _ => None,
        };
    }
    let after = rest.strip_prefix(name)?;
    let continues = after
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    (!continues).then_some(name.len() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "SET").then(|| "v".to_owned())
    }

    #[test]
    fn expands_values_and_defaults_and_refuses_unset_names() {
        assert_eq!(expand("a ${SET} ${NOPE:-d} b", env), Ok("a v d b".into()));
        assert_eq!(expand("${NOPE}", env), Err(VarError::Unset("NOPE".into())));
        assert!(matches!(expand("x ${SET", env), Err(VarError::Unclosed(_))));
        assert_eq!(expand_known("${NOPE}/${SET}", env), "${NOPE}/v");
    }

    #[test]
    fn references_carry_names_defaults_and_ranges() {
        let text = "run ${user_config.url:-http://x} ${A}";
        let refs = references(text);
        assert_eq!(refs.len(), 2);
        assert_eq!(refs[0].name, "user_config.url");
        assert_eq!(refs[0].default, Some("http://x"));
        assert_eq!(&text[refs[1].range.clone()], "${A}");
    }

    #[test]
    fn only_unquoted_uses_are_reported() {
        let name = "CLAUDE_PLUGIN_ROOT";
        let bad = "python3 ${CLAUDE_PLUGIN_ROOT}/x.py && $CLAUDE_PLUGIN_ROOT/y";
        let found = unquoted_uses(bad, name);
        assert_eq!(found.len(), 2);
        assert_eq!(&bad[found[0].clone()], "${CLAUDE_PLUGIN_ROOT}");
        assert_eq!(&bad[found[1].clone()], "$CLAUDE_PLUGIN_ROOT");
        for good in [
            "python3 \"${CLAUDE_PLUGIN_ROOT}/x.py\"",
            "sh '${CLAUDE_PLUGIN_ROOT}'",
            "echo \\${CLAUDE_PLUGIN_ROOT}",
            "echo $CLAUDE_PLUGIN_ROOTS",
        ] {
            assert!(unquoted_uses(good, name).is_empty(), "{good}");
        }
        let with_default = "${CLAUDE_PLUGIN_ROOT:-.}/run";
        assert_eq!(unquoted_uses(with_default, name), vec![0..24]);
    }
}
