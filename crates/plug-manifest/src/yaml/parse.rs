//! Building the node tree from saphyr-parser's event stream.

use std::collections::HashMap;

use miette::SourceSpan;
use saphyr_parser::{Event, Marker, Parser, ScalarStyle, ScanError, Span};

use super::node::{Node, NodeKind, Scalar};

/// A YAML syntax error, located in the source.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct SyntaxError {
    /// What the parser said.
    pub message: String,
    /// Where (zero-length span at the offending character).
    pub span: SourceSpan,
}

/// How deeply collections may nest. Block style has no limit of its own in
/// the parser, and building the tree recurses once per level: 5,000 nested
/// `- ` items would overflow the stack. No plugin file comes near this.
pub const MAX_DEPTH: usize = 256;

/// How many nodes aliases may add in all. Each alias copies its anchor's
/// tree, so nested aliases grow exponentially (a 600-byte "billion laughs"
/// file would need more memory than any machine has).
pub const MAX_ALIAS_NODES: usize = 100_000;

/// Parses the first document of `src`; an empty document is a null node.
pub fn parse(src: &str) -> Result<Node, SyntaxError> {
    let offsets = Offsets::new(src);
    let mut builder = Builder {
        parser: Parser::new_from_str(src),
        offsets: &offsets,
        anchors: HashMap::new(),
        depth: 0,
        expanded: 0,
    };
    builder.document()
}

/// Converts saphyr's character indices into the byte offsets miette needs.
struct Offsets {
    /// Byte offset of each character; empty when the source is ASCII and
    /// indices already are byte offsets (the common case, kept allocation-free).
    byte_of_char: Vec<usize>,
    len: usize,
}

impl Offsets {
    fn new(src: &str) -> Self {
        let byte_of_char = if src.is_ascii() {
            Vec::new()
        } else {
            src.char_indices().map(|(b, _)| b).collect()
        };
        Offsets {
            byte_of_char,
            len: src.len(),
        }
    }

    fn byte(&self, marker: &Marker) -> usize {
        if self.byte_of_char.is_empty() {
            marker.index().min(self.len)
        } else {
            self.byte_of_char
                .get(marker.index())
                .copied()
                .unwrap_or(self.len)
        }
    }

    fn span(&self, start: &Marker, end: &Marker) -> SourceSpan {
        let (s, e) = (self.byte(start), self.byte(end));
        SourceSpan::new(s.into(), e.saturating_sub(s))
    }
}

struct Builder<'a, 'src> {
    parser: Parser<'src, saphyr_parser::StrInput<'src>>,
    offsets: &'a Offsets,
    /// Each anchor's tree and its number of nodes.
    anchors: HashMap<usize, (Node, usize)>,
    /// Collections open around the current event.
    depth: usize,
    /// Nodes aliases have added so far.
    expanded: usize,
}

impl<'src> Builder<'_, 'src> {
    fn next(&mut self) -> Result<(Event<'src>, Span), SyntaxError> {
        match self.parser.next_event() {
            Some(Ok(ev)) => Ok(ev),
            Some(Err(e)) => Err(self.scan_error(&e)),
            None => Ok((Event::StreamEnd, Span::default())),
        }
    }

    fn scan_error(&self, e: &ScanError) -> SyntaxError {
        let at = self.offsets.byte(e.marker());
        SyntaxError {
            message: e.info().to_owned(),
            span: SourceSpan::new(at.into(), 0),
        }
    }

    fn document(&mut self) -> Result<Node, SyntaxError> {
        loop {
            let (event, span) = self.next()?;
            match event {
                Event::StreamStart | Event::DocumentStart(_) | Event::Nothing => continue,
                Event::StreamEnd | Event::DocumentEnd => {
                    let at = self.offsets.byte(&span.start);
                    return Ok(Node {
                        kind: NodeKind::Scalar(Scalar::Null),
                        span: SourceSpan::new(at.into(), 0),
                    });
                }
                other => {
                    let root = self.node(other, span)?;
                    self.expect_single_document()?;
                    return Ok(root);
                }
            }
        }
    }

    /// A second document would be silently ignored by most tools; refuse it.
    fn expect_single_document(&mut self) -> Result<(), SyntaxError> {
        loop {
            let (event, span) = self.next()?;
            match event {
                Event::DocumentEnd | Event::Nothing => continue,
                Event::StreamEnd => return Ok(()),
                _ => {
                    let at = self.offsets.byte(&span.start);
                    return Err(SyntaxError {
                        message: "a second YAML document; a plugin file holds exactly one".into(),
                        span: SourceSpan::new(at.into(), 0),
                    });
                }
            }
        }
    }

    fn node(&mut self, event: Event<'src>, span: Span) -> Result<Node, SyntaxError> {
        let (node, anchor) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let forced_str = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let scalar = if style == ScalarStyle::Plain && !forced_str {
                    resolve_plain(&text)
                } else {
                    Scalar::Str(text.into_owned())
                };
                (
                    Node {
                        kind: NodeKind::Scalar(scalar),
                        span: self.offsets.span(&span.start, &span.end),
                    },
                    anchor,
                )
            }
            Event::SequenceStart(anchor, _) => (self.nested(span, Self::sequence)?, anchor),
            Event::MappingStart(anchor, _) => (self.nested(span, Self::mapping)?, anchor),
            Event::Alias(id) => {
                let at = self.offsets.span(&span.start, &span.end);
                let (node, size) = self.anchors.get(&id).ok_or_else(|| SyntaxError {
                    message: "alias to an unknown anchor".into(),
                    span: at,
                })?;
                self.expanded += size;
                if self.expanded > MAX_ALIAS_NODES {
                    return Err(SyntaxError {
                        message: format!(
                            "aliases expand to more than {MAX_ALIAS_NODES} nodes; write the values out instead"
                        ),
                        span: at,
                    });
                }
                let mut node = node.clone();
                node.span = at;
                (node, 0)
            }
            _ => {
                return Err(SyntaxError {
                    message: "unexpected YAML event".into(),
                    span: self.offsets.span(&span.start, &span.end),
                });
            }
        };
        if anchor != 0 {
            self.anchors.insert(anchor, (node.clone(), size_of(&node)));
        }
        Ok(node)
    }

    /// Builds a collection one level deeper, refusing to go past `MAX_DEPTH`.
    fn nested(
        &mut self,
        span: Span,
        build: fn(&mut Self, Span) -> Result<Node, SyntaxError>,
    ) -> Result<Node, SyntaxError> {
        if self.depth >= MAX_DEPTH {
            return Err(SyntaxError {
                message: format!("nested deeper than {MAX_DEPTH} levels"),
                span: self.offsets.span(&span.start, &span.end),
            });
        }
        self.depth += 1;
        let node = build(self, span);
        self.depth -= 1;
        node
    }

    fn sequence(&mut self, start: Span) -> Result<Node, SyntaxError> {
        let mut items = Vec::new();
        loop {
            let (event, span) = self.next()?;
            if let Event::SequenceEnd = event {
                return Ok(Node {
                    kind: NodeKind::Seq(items),
                    span: self.container_span(&start, &span),
                });
            }
            items.push(self.node(event, span)?);
        }
    }

    fn mapping(&mut self, start: Span) -> Result<Node, SyntaxError> {
        let mut entries = Vec::new();
        loop {
            let (event, span) = self.next()?;
            if let Event::MappingEnd = event {
                return Ok(Node {
                    kind: NodeKind::Map(entries),
                    span: self.container_span(&start, &span),
                });
            }
            let key = self.node(event, span)?;
            let (event, span) = self.next()?;
            let value = self.node(event, span)?;
            entries.push((key, value));
        }
    }

    fn container_span(&self, start: &Span, end: &Span) -> SourceSpan {
        self.offsets.span(&start.start, &end.start)
    }
}

/// Resolves a plain scalar with the YAML 1.2 core schema.
fn resolve_plain(text: &str) -> Scalar {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Scalar::Null,
        "true" | "True" | "TRUE" => return Scalar::Bool(true),
        "false" | "False" | "FALSE" => return Scalar::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Scalar::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Scalar::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Scalar::Float(f64::NAN),
        _ => {}
    }
    if let Some(int) = resolve_int(text) {
        return Scalar::Int(int);
    }
    if looks_like_float(text)
        && let Ok(f) = text.parse::<f64>()
    {
        return Scalar::Float(f);
    }
    Scalar::Str(text.to_owned())
}

fn resolve_int(text: &str) -> Option<i64> {
    if let Some(hex) = text.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok();
    }
    if let Some(oct) = text.strip_prefix("0o") {
        return i64::from_str_radix(oct, 8).ok();
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        text.parse().ok()
    } else {
        None
    }
}

/// `[-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`
fn looks_like_float(text: &str) -> bool {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int_part, frac_part) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = digits(int_part)
        && frac_part.is_none_or(digits)
        && !(int_part.is_empty() && frac_part.is_none_or(str::is_empty));
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

/// The number of nodes in a tree (its depth is bounded by `MAX_DEPTH`).
fn size_of(node: &Node) -> usize {
    1 + match &node.kind {
        NodeKind::Seq(items) => items.iter().map(size_of).sum(),
        NodeKind::Map(entries) => entries.iter().map(|(k, v)| size_of(k) + size_of(v)).sum(),
        NodeKind::Scalar(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(src: &str, node: &Node) -> String {
        src[node.span.offset()..node.span.offset() + node.span.len()].to_owned()
    }

    #[test]
    fn spans_cover_keys_and_values_even_after_multibyte_text() {
        let src = "a: héllo\nb:\n  - x: 1\n";
        let root = parse(src).expect("valid yaml");
        let entries = root.as_map().expect("map");
        assert_eq!(at(src, &entries[1].0), "b");
        let item = &entries[1].1.as_seq().expect("seq")[0];
        let (k, v) = &item.as_map().expect("map")[0];
        assert_eq!((at(src, k).as_str(), at(src, v).as_str()), ("x", "1"));
        assert_eq!(v.kind, NodeKind::Scalar(Scalar::Int(1)));
    }

    #[test]
    fn core_schema_resolution() {
        let cases = [
            ("1.2.0", Scalar::Str("1.2.0".into())),
            ("1.5", Scalar::Float(1.5)),
            ("-3", Scalar::Int(-3)),
            ("0x1f", Scalar::Int(31)),
            ("yes", Scalar::Str("yes".into())),
            ("True", Scalar::Bool(true)),
            ("~", Scalar::Null),
            ("1e3", Scalar::Float(1000.0)),
            (".", Scalar::Str(".".into())),
        ];
        for (text, expected) in cases {
            assert_eq!(resolve_plain(text), expected, "{text}");
        }
        let quoted = parse("v: '1'").expect("valid yaml");
        assert_eq!(quoted.get("v").and_then(Node::as_str), Some("1"));
    }

    #[test]
    fn syntax_errors_are_located_and_extra_documents_refused() {
        let err = parse("a: [1, 2\nb: 3\n").expect_err("unclosed flow sequence");
        assert!(err.span.offset() > 0);
        assert!(parse("a: 1\n---\nb: 2\n").is_err());
        assert_eq!(
            parse("").expect("empty is null").kind,
            NodeKind::Scalar(Scalar::Null)
        );
    }

    #[test]
    fn an_alias_bomb_is_refused_not_expanded() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        let mut previous = 'a';
        for name in ['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'] {
            let refs = vec![format!("*{previous}"); 10].join(", ");
            text.push_str(&format!("{name}: &{name} [{refs}]\n"));
            previous = name;
        }
        let error = parse(&text).expect_err("refused");
        assert!(
            error.message.contains("aliases expand"),
            "{}",
            error.message
        );
    }

    #[test]
    fn deep_block_nesting_is_refused_without_overflowing_the_stack() {
        let text = format!("{}x\n", "- ".repeat(5_000));
        let error = parse(&text).expect_err("refused");
        assert!(error.message.contains("nested deeper"), "{}", error.message);
        let fine = format!("{}x\n", "- ".repeat(100));
        assert!(parse(&fine).is_ok());
    }

    #[test]
    fn aliases_copy_their_anchor() {
        let root = parse("a: &x {k: v}\nb: *x\n").expect("valid yaml");
        assert_eq!(
            root.get("b")
                .and_then(|b| b.get("k"))
                .and_then(Node::as_str),
            Some("v")
        );
    }
}
