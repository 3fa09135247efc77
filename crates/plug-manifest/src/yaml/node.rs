//! The spanned YAML node tree.

use miette::SourceSpan;

/// A YAML node with the byte range of the source it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// What the node holds.
    pub kind: NodeKind,
    /// Byte offset and length in the source file.
    pub span: SourceSpan,
}

/// The shape of a node.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// A scalar, resolved with the YAML 1.2 core schema.
    Scalar(Scalar),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order. Keys are kept as nodes so findings can
    /// point at a misspelled key itself.
    Map(Vec<(Node, Node)>),
}

/// A scalar after YAML 1.2 core-schema resolution.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// `null`, `~` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// Anything else, and every quoted or block scalar.
    Str(String),
}

impl Node {
    /// The text of a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar(Scalar::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// The entries of a mapping.
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            NodeKind::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The items of a sequence.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// The value under `key` in a mapping (the first, if the key repeats).
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// A short name of the node's type, for "expected X, found Y" messages.
    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            NodeKind::Scalar(Scalar::Null) => "null",
            NodeKind::Scalar(Scalar::Bool(_)) => "a boolean",
            NodeKind::Scalar(Scalar::Int(_)) => "an integer",
            NodeKind::Scalar(Scalar::Float(_)) => "a number",
            NodeKind::Scalar(Scalar::Str(_)) => "a string",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }

    /// The node as JSON, for schema checks and for values passed on verbatim.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.kind {
            NodeKind::Scalar(Scalar::Null) => J::Null,
            NodeKind::Scalar(Scalar::Bool(b)) => J::Bool(*b),
            NodeKind::Scalar(Scalar::Int(i)) => J::from(*i),
            NodeKind::Scalar(Scalar::Float(f)) => {
                serde_json::Number::from_f64(*f).map_or(J::Null, J::Number)
            }
            NodeKind::Scalar(Scalar::Str(s)) => J::String(s.clone()),
            NodeKind::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            NodeKind::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.key_text(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// The text of a node used as a mapping key (non-string keys are rendered).
    pub fn key_text(&self) -> String {
        match &self.kind {
            NodeKind::Scalar(Scalar::Str(s)) => s.clone(),
            NodeKind::Scalar(Scalar::Null) => "null".into(),
            NodeKind::Scalar(Scalar::Bool(b)) => b.to_string(),
            NodeKind::Scalar(Scalar::Int(i)) => i.to_string(),
            NodeKind::Scalar(Scalar::Float(f)) => f.to_string(),
            NodeKind::Seq(_) | NodeKind::Map(_) => "<complex key>".into(),
        }
    }
}

/// A key a mapping holds twice: where it first was, and where again.
#[derive(Debug, Clone, PartialEq)]
pub struct RepeatedKey {
    /// The key, as text.
    pub key: String,
    /// The first occurrence.
    pub first: SourceSpan,
    /// The later one, which a reader would let win.
    pub again: SourceSpan,
}

impl Node {
    /// Every key repeated within one mapping, anywhere in the tree: YAML
    /// requires keys to be unique, and a repeated one silently replaces
    /// the first in every reader.
    pub fn repeated_keys(&self) -> Vec<RepeatedKey> {
        let mut found = Vec::new();
        let mut pending = vec![self];
        while let Some(node) = pending.pop() {
            match &node.kind {
                NodeKind::Scalar(_) => {}
                NodeKind::Seq(items) => pending.extend(items.iter().rev()),
                NodeKind::Map(entries) => {
                    let mut seen = std::collections::HashMap::with_capacity(entries.len());
                    for (key, value) in entries {
                        if let Some(text) = key_text(key)
                            && let Some(first) = seen.insert(text.clone(), key.span)
                        {
                            found.push(RepeatedKey {
                                key: text[2..].to_owned(),
                                first,
                                again: key.span,
                            });
                        }
                        pending.push(value);
                    }
                }
            }
        }
        found.sort_by_key(|r| r.again.offset());
        found
    }
}

/// A scalar key as YAML compares it (`1` and `"1"` differ: the tag is kept).
fn key_text(key: &Node) -> Option<String> {
    match &key.kind {
        NodeKind::Scalar(Scalar::Str(s)) => Some(format!("s:{s}")),
        NodeKind::Scalar(Scalar::Int(n)) => Some(format!("i:{n}")),
        NodeKind::Scalar(Scalar::Bool(b)) => Some(format!("b:{b}")),
        NodeKind::Scalar(Scalar::Null) => Some("n:".to_owned()),
        _ => None,
    }
}
