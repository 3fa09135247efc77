//! YAML front matter of Markdown files (`SKILL.md`, `commands/*.md`,
//! `agents/*.md`): the block between a first line `---` and the next `---`.
//!
//! The YAML is parsed with the crate's spanned parser and every span is moved
//! by the block's offset, so findings point into the Markdown file itself.

use miette::SourceSpan;

use crate::yaml::{self, Node, NodeKind, SyntaxError};

/// Where the parts of a Markdown file with front matter are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    /// Byte range of the YAML between the fences.
    pub yaml: (usize, usize),
    /// Byte offset where the Markdown body starts.
    pub body: usize,
}

/// Why front matter could not be read.
#[derive(Debug, Clone, PartialEq)]
pub enum FrontMatterError {
    /// The file does not start with a `---` line.
    Missing,
    /// The opening `---` has no closing `---`.
    Unclosed,
    /// The YAML does not parse (span already in file offsets).
    Syntax(SyntaxError),
}

/// Splits `text` into front matter and body.
pub fn split(text: &str) -> Result<Parts, FrontMatterError> {
    let start = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let mut lines = line_starts(text, start);
    let Some((first, first_end)) = lines.next() else {
        return Err(FrontMatterError::Missing);
    };
    if text[first..first_end].trim_end() != "---" {
        return Err(FrontMatterError::Missing);
    }
    let yaml_start = next_line(text, first_end);
    for (at, end) in lines {
        let line = text[at..end].trim_end();
        if line == "---" || line == "..." {
            return Ok(Parts {
                yaml: (yaml_start, at),
                body: next_line(text, end),
            });
        }
    }
    Err(FrontMatterError::Unclosed)
}

/// `(start, end)` of each line from `from`, without its line break.
fn line_starts(text: &str, from: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut at = from;
    std::iter::from_fn(move || {
        if at >= text.len() {
            return None;
        }
        let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
        let line = (at, end);
        at = end + 1;
        Some(line)
    })
}

fn next_line(text: &str, line_end: usize) -> usize {
    (line_end + 1).min(text.len())
}

/// Parses the front matter of `text`: its YAML node (spans in file offsets;
/// an empty block is an empty mapping) and where the body starts.
pub fn parse(text: &str) -> Result<(Node, usize), FrontMatterError> {
    let parts = split(text)?;
    let (from, to) = parts.yaml;
    let mut node = yaml::parse(&text[from..to]).map_err(|e| {
        FrontMatterError::Syntax(SyntaxError {
            message: e.message,
            span: shifted(e.span, from),
        })
    })?;
    shift(&mut node, from);
    if matches!(node.kind, NodeKind::Scalar(yaml::Scalar::Null)) {
        node.kind = NodeKind::Map(Vec::new());
    }
    Ok((node, parts.body))
}

fn shifted(span: SourceSpan, by: usize) -> SourceSpan {
    SourceSpan::new((span.offset() + by).into(), span.len())
}

fn shift(node: &mut Node, by: usize) {
    node.span = shifted(node.span, by);
    match &mut node.kind {
        NodeKind::Scalar(_) => {}
        NodeKind::Seq(items) => items.iter_mut().for_each(|n| shift(n, by)),
        NodeKind::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
            shift(k, by);
            shift(v, by);
        }),
    }
}

/// A value with an unquoted `: ` that [`parse_lenient`] read as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnquotedColon {
    /// The key whose value holds it.
    pub key: String,
    /// Byte offset of the inner `: ` in the file.
    pub at: usize,
}

/// Like [`parse`], but reads a one-line `key: value` whose value holds an
/// unquoted `: ` the way lenient hosts (Claude Code) do: the rest of the
/// line is the value. Returns what it read leniently, so the caller can warn
/// that strict hosts drop the file. Any other syntax error stays an error.
pub fn parse_lenient(text: &str) -> Result<(Node, usize, Vec<UnquotedColon>), FrontMatterError> {
    let parts = split(text)?;
    let mut repaired = std::borrow::Cow::Borrowed(text);
    let mut found: Vec<UnquotedColon> = Vec::new();
    loop {
        let error = match parse(&repaired) {
            Ok((mut node, body)) => {
                return restore_values(text, &mut node, &found).map(|()| (node, body, found));
            }
            Err(FrontMatterError::Syntax(e)) => e,
            Err(other) => return Err(other),
        };
        let fail = || Err(FrontMatterError::Syntax(error.clone()));
        let Some((key, at)) = unquoted_colon(&repaired, parts, error.span.offset()) else {
            return fail();
        };
        // Each round fixes one line; a line already fixed that still fails
        // is a different problem.
        if found.iter().any(|f| f.at == at) || found.len() > 64 {
            return fail();
        }
        let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
        // `;` for `:` keeps every offset, so later findings still point
        // at the right columns; the value's text is restored after parsing.
        let mut bytes = repaired.into_owned().into_bytes();
        for b in &mut bytes[at..line_end] {
            if *b == b':' {
                *b = b';';
            }
        }
        repaired = std::borrow::Cow::Owned(String::from_utf8(bytes).unwrap_or_default());
        found.push(UnquotedColon { key, at });
    }
}

/// Puts back the original text of each leniently read value, which must be
/// a one-line plain scalar (anything else means the guess was wrong).
fn restore_values(
    text: &str,
    node: &mut Node,
    found: &[UnquotedColon],
) -> Result<(), FrontMatterError> {
    if found.is_empty() {
        return Ok(());
    }
    let NodeKind::Map(entries) = &mut node.kind else {
        return Err(wrong_guess(found));
    };
    for colon in found {
        let value = entries
            .iter_mut()
            .find(|(k, _)| k.as_str() == Some(colon.key.as_str()))
            .map(|(_, v)| v)
            .ok_or_else(|| wrong_guess(found))?;
        let start = value.span.offset();
        let end = start + value.span.len();
        let on_one_line = start <= colon.at && colon.at < end && !text[start..end].contains('\n');
        if !on_one_line || !matches!(value.kind, NodeKind::Scalar(yaml::Scalar::Str(_))) {
            return Err(wrong_guess(found));
        }
        value.kind = NodeKind::Scalar(yaml::Scalar::Str(text[start..end].trim_end().to_owned()));
    }
    Ok(())
}

fn wrong_guess(found: &[UnquotedColon]) -> FrontMatterError {
    let at = found.first().map_or(0, |f| f.at);
    FrontMatterError::Syntax(SyntaxError {
        message: "mapping values are not allowed in this context".to_owned(),
        span: SourceSpan::new(at.into(), 1),
    })
}

/// For a syntax error at `offset`: when a front-matter line is `key: value`
/// with an unquoted `: ` inside the value (the classic way a skill silently
/// disappears), the key and the byte offset of that inner `: `.
pub fn unquoted_colon(text: &str, parts: Parts, offset: usize) -> Option<(String, usize)> {
    let (from, to) = parts.yaml;
    let lines: Vec<(usize, usize)> = line_starts(&text[..to], from).collect();
    let on_error_line = lines
        .iter()
        .filter(|(start, end)| *start <= offset && offset <= *end)
        .find_map(|&(start, end)| colon_in_value(text, start, end));
    on_error_line.or_else(|| {
        lines
            .iter()
            .find_map(|&(start, end)| colon_in_value(text, start, end))
    })
}

fn colon_in_value(text: &str, start: usize, end: usize) -> Option<(String, usize)> {
    let line = text[start..end].trim_end();
    let key_end = line.find(": ")?;
    let key = line[..key_end].trim();
    let plain_key = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let after = &line[key_end + 2..];
    let value_start = key_end + 2 + (after.len() - after.trim_start().len());
    let value = &line[value_start..];
    let quoted = value.starts_with(['"', '\'', '|', '>', '[', '{', '&', '*', '!', '#']);
    let inner = value
        .find(": ")
        .or_else(|| value.ends_with(':').then(|| value.len() - 1))?;
    (plain_key && !quoted).then(|| (key.to_owned(), start + value_start + inner))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_front_matter_and_body_with_file_offsets() {
        let text = "---\nname: a\ndescription: b\n---\n# Body\n";
        let (node, body) = parse(text).expect("front matter");
        assert_eq!(&text[body..], "# Body\n");
        let name = node.get("name").expect("name");
        let at = name.span.offset();
        assert_eq!(&text[at..at + name.span.len()], "a");
    }

    #[test]
    fn missing_unclosed_and_empty_blocks() {
        assert_eq!(split("# Title\n"), Err(FrontMatterError::Missing));
        assert_eq!(split("---\nname: a\n"), Err(FrontMatterError::Unclosed));
        let (node, _) = parse("---\n---\nbody").expect("empty block");
        assert_eq!(node.as_map().map(<[_]>::len), Some(0));
        assert!(parse("\u{feff}---\r\nname: a\r\n---\r\n").is_ok());
    }

    #[test]
    fn an_unquoted_colon_in_a_value_is_located() {
        let text = "---\nname: a\ndescription: Use it: always\n---\n";
        let Err(FrontMatterError::Syntax(e)) = parse(text) else {
            panic!("a YAML error expected");
        };
        let parts = split(text).expect("fenced");
        let (key, at) = unquoted_colon(text, parts, e.span.offset()).expect("found");
        assert_eq!(key, "description");
        assert_eq!(&text[at..at + 2], ": ");
        assert!(text[..at].ends_with("Use it"));
    }

    #[test]
    fn an_unquoted_colon_is_read_as_text_and_reported() {
        let text =
            "---\nname: a\ndescription: Sorts things. Use when: asked: twice\nmodel: x\n---\nbody";
        assert!(matches!(parse(text), Err(FrontMatterError::Syntax(_))));
        let (node, body, found) = parse_lenient(text).expect("lenient");
        assert_eq!(&text[body..], "body");
        let description = node.get("description").and_then(Node::as_str);
        assert_eq!(description, Some("Sorts things. Use when: asked: twice"));
        assert_eq!(node.get("model").and_then(Node::as_str), Some("x"));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].key, "description");
        assert!(text[..found[0].at].ends_with("Use when"));
    }

    #[test]
    fn several_lines_are_each_read_leniently() {
        let text = "---\nname: a\ndescription: one: two\nargument-hint: key: value\n---\n";
        let (node, _, found) = parse_lenient(text).expect("lenient");
        let keys: Vec<&str> = found.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, ["description", "argument-hint"]);
        assert_eq!(
            node.get("argument-hint").and_then(Node::as_str),
            Some("key: value")
        );
    }

    #[test]
    fn other_syntax_errors_stay_errors() {
        for text in [
            "---\nname: a\ntools: [Read, Grep\nmodel: x\n---\n",
            "---\nname: a\n  bad: indent: here\n---\n",
        ] {
            assert!(
                matches!(parse_lenient(text), Err(FrontMatterError::Syntax(_))),
                "{text}"
            );
        }
        let fine = "---\nname: a\n---\n";
        let (strict, _) = parse(fine).expect("parses");
        let (lenient, _, found) = parse_lenient(fine).expect("parses");
        assert_eq!((strict, found.len()), (lenient, 0));
    }
}
