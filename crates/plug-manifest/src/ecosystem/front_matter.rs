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
}
