//! Strict JSON read into the same spanned node tree as YAML, so one set of
//! decoders (and one way of locating findings) serves both.
//!
//! `jsonc-parser` is used as plug-policy uses it: it gives a byte range for
//! every value and property name, limits nesting depth, and with every
//! extension switched off it accepts exactly what `JSON.parse` accepts, which
//! is what the hosts (Claude Code, Codex, Cursor) read these files with.

use jsonc_parser::ast::{ObjectPropName, Value};
use jsonc_parser::common::Ranged;
use jsonc_parser::{CollectOptions, ParseOptions, parse_to_ast};
use miette::SourceSpan;

use crate::yaml::{Node, NodeKind, Scalar, SyntaxError};

/// Parses a JSON document into spanned nodes (objects become mappings in
/// source order, so repeated keys stay visible to the decoders).
pub fn parse_json(text: &str) -> Result<Node, SyntaxError> {
    let ast =
        parse_to_ast(text, &CollectOptions::default(), &strict()).map_err(|e| SyntaxError {
            message: e.kind().to_string(),
            span: SourceSpan::new(e.range().start.into(), 0),
        })?;
    match ast.value {
        Some(value) => Ok(node(&value)),
        None => Err(SyntaxError {
            message: "the file is empty; it should hold a JSON object".into(),
            span: SourceSpan::new(0.into(), 0),
        }),
    }
}

fn strict() -> ParseOptions {
    ParseOptions {
        allow_comments: false,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    }
}

fn span(range: jsonc_parser::common::Range) -> SourceSpan {
    SourceSpan::new(range.start.into(), range.end.saturating_sub(range.start))
}

fn node(value: &Value<'_>) -> Node {
    let kind = match value {
        Value::StringLit(s) => NodeKind::Scalar(Scalar::Str(s.value.to_string())),
        Value::NumberLit(n) => NodeKind::Scalar(number(n.value)),
        Value::BooleanLit(b) => NodeKind::Scalar(Scalar::Bool(b.value)),
        Value::NullKeyword(_) => NodeKind::Scalar(Scalar::Null),
        Value::Array(a) => NodeKind::Seq(a.elements.iter().map(node).collect()),
        Value::Object(o) => NodeKind::Map(
            o.properties
                .iter()
                .map(|p| (key(&p.name), node(&p.value)))
                .collect(),
        ),
    };
    Node {
        kind,
        span: span(value.range()),
    }
}

fn key(name: &ObjectPropName<'_>) -> Node {
    let range = match name {
        ObjectPropName::String(s) => s.range,
        ObjectPropName::Word(w) => w.range,
    };
    Node {
        kind: NodeKind::Scalar(Scalar::Str(name.as_str().to_owned())),
        span: span(range),
    }
}

/// A JSON number: an integer when it is one that fits, else a float.
fn number(text: &str) -> Scalar {
    if let Ok(i) = text.parse::<i64>() {
        return Scalar::Int(i);
    }
    text.parse::<f64>().map_or(Scalar::Null, Scalar::Float)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at<'t>(text: &'t str, node: &Node) -> &'t str {
        &text[node.span.offset()..node.span.offset() + node.span.len()]
    }

    #[test]
    fn keys_and_values_keep_their_byte_ranges() {
        let text = "{\n  \"name\": \"héllo\",\n  \"n\": [1, 2.5, true, null]\n}";
        let root = parse_json(text).expect("valid");
        let entries = root.as_map().expect("object");
        assert_eq!(at(text, &entries[0].0), "\"name\"");
        assert_eq!(at(text, &entries[0].1), "\"héllo\"");
        assert_eq!(entries[0].1.as_str(), Some("héllo"));
        let items = entries[1].1.as_seq().expect("array");
        assert_eq!(items[0].kind, NodeKind::Scalar(Scalar::Int(1)));
        assert_eq!(items[1].kind, NodeKind::Scalar(Scalar::Float(2.5)));
        assert_eq!(at(text, &items[2]), "true");
    }

    #[test]
    fn json5_extensions_are_refused_with_a_position() {
        for bad in ["{\"a\": 1,}", "{// c\n}", "{'a': 1}", "", "{\"a\" 1}"] {
            let err = parse_json(bad).expect_err(bad);
            assert!(err.span.offset() <= bad.len(), "{bad}");
        }
    }

    #[test]
    fn repeated_keys_are_kept_in_order() {
        let root = parse_json(r#"{"a": 1, "a": 2}"#).expect("valid");
        assert_eq!(root.as_map().map(<[_]>::len), Some(2));
    }
}
