//! XML for the query, ec2 and restXml protocols: a small element tree read with
//! quick-xml, shape-guided conversion of that tree to output values, and the
//! writer for restXml request bodies.

use std::collections::BTreeMap;

use plug_core::Value;
use quick_xml::events::Event;

use super::scalar::{self, resolve};
use super::{HttpResponse, ParseError, SerializeError, join_path};
use crate::model::{Operation, ServiceModel, Shape, ShapeRef};
use crate::timestamp::TimestampFormat;

/// An element: local name (namespace prefixes dropped), attributes, children, text.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Element {
    /// Local name.
    pub name: String,
    /// Attributes by local name.
    pub attributes: Vec<(String, String)>,
    /// Child elements in order.
    pub children: Vec<Element>,
    /// The concatenated text directly inside this element.
    pub text: String,
}

impl Element {
    /// The first child with this name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child with this name.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// Text of the first descendant with this name, searched depth first.
    pub fn find_text(&self, name: &str) -> Option<&str> {
        self.children.iter().find_map(|c| {
            if c.name == name {
                Some(c.text.as_str())
            } else {
                c.find_text(name)
            }
        })
    }
}

/// Parses a document into its root element.
pub fn parse_document(bytes: &[u8]) -> Result<Element, ParseError> {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    let mut stack: Vec<Element> = vec![Element::default()];
    loop {
        let event = reader
            .read_event()
            .map_err(|e| ParseError(format!("XML at byte {}: {e}", reader.buffer_position())))?;
        match event {
            Event::Start(start) => stack.push(open(&start)),
            Event::Empty(start) => {
                let element = open(&start);
                top(&mut stack)?.children.push(element);
            }
            Event::End(_) => {
                let done = stack
                    .pop()
                    .ok_or_else(|| ParseError("unbalanced XML".into()))?;
                top(&mut stack)?.children.push(done);
            }
            Event::Text(text) => {
                let text = text.decode().map_err(|e| ParseError(e.to_string()))?;
                top(&mut stack)?.text.push_str(&text);
            }
            Event::CData(data) => {
                let text = data.decode().map_err(|e| ParseError(e.to_string()))?;
                top(&mut stack)?.text.push_str(&text);
            }
            Event::GeneralRef(reference) => {
                let resolved = resolve_reference(&reference)?;
                top(&mut stack)?.text.push(resolved);
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    let document = stack.pop().filter(|_| stack.is_empty());
    document
        .and_then(|d| d.children.into_iter().next())
        .ok_or_else(|| ParseError("XML without a root element".into()))
}

fn top(stack: &mut [Element]) -> Result<&mut Element, ParseError> {
    stack
        .last_mut()
        .ok_or_else(|| ParseError("unbalanced XML".into()))
}

fn open(start: &quick_xml::events::BytesStart<'_>) -> Element {
    let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
    let attributes = start
        .attributes()
        .filter_map(Result::ok)
        .map(|a| {
            let key = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
            let value = a
                .unescape_value()
                .map(|v| v.into_owned())
                .unwrap_or_default();
            (key, value)
        })
        .collect();
    Element {
        name,
        attributes,
        ..Element::default()
    }
}

fn resolve_reference(reference: &quick_xml::events::BytesRef<'_>) -> Result<char, ParseError> {
    if let Some(c) = reference
        .resolve_char_ref()
        .map_err(|e| ParseError(format!("XML character reference: {e}")))?
    {
        return Ok(c);
    }
    match reference.as_ref() {
        b"amp" => Ok('&'),
        b"lt" => Ok('<'),
        b"gt" => Ok('>'),
        b"quot" => Ok('"'),
        b"apos" => Ok('\''),
        other => Err(ParseError(format!(
            "unknown XML entity &{};",
            String::from_utf8_lossy(other)
        ))),
    }
}

// ------------------------------------------------------------------ reading

/// query/ec2 success: the members sit under `<OpResult>` (query, `resultWrapper`)
/// or directly under the root (ec2).
pub fn parse_query_response(
    model: &ServiceModel,
    operation: &Operation,
    response: &HttpResponse,
) -> Result<Value, ParseError> {
    let Some(output) = &operation.output else {
        return Ok(Value::Map(BTreeMap::new()));
    };
    if response.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Map(BTreeMap::new()));
    }
    let root = parse_document(&response.body)?;
    let node = match &output.result_wrapper {
        Some(wrapper) => match root.child(wrapper) {
            Some(node) => node,
            None => return Ok(Value::Map(BTreeMap::new())),
        },
        None => &root,
    };
    Ok(from_xml(model, output, node))
}

/// An element as a value of `shape_ref`.
pub fn from_xml(model: &ServiceModel, shape_ref: &ShapeRef, node: &Element) -> Value {
    let Some(shape) = model.shape(&shape_ref.shape) else {
        return Value::String(node.text.clone());
    };
    match shape.kind.as_str() {
        "structure" => structure_from_xml(model, shape, node, |_| true),
        "list" => match &shape.member {
            // Wrapped list: every child element is one item (`member`, `item`, ...).
            Some(member) => Value::List(
                node.children
                    .iter()
                    .map(|c| from_xml(model, member, c))
                    .collect(),
            ),
            None => Value::List(Vec::new()),
        },
        "map" => map_from_entries(model, shape, node.children_named("entry")),
        _ => scalar::parse_text(shape, &node.text),
    }
}

/// The members of `shape` selected by `keep`, found among `node`'s children and attributes.
pub fn structure_from_xml(
    model: &ServiceModel,
    shape: &Shape,
    node: &Element,
    keep: impl Fn(&ShapeRef) -> bool,
) -> Value {
    let mut out = BTreeMap::new();
    for (name, member) in &shape.members {
        if !keep(member) {
            continue;
        }
        let Some(member_shape) = model.shape(&member.shape) else {
            continue;
        };
        let wire = scalar::location_name(member, member_shape).unwrap_or(name);
        if member.xml_attribute {
            if let Some((_, v)) = node.attributes.iter().find(|(k, _)| k == wire) {
                out.insert(name.clone(), scalar::parse_text(member_shape, v));
            }
            continue;
        }
        if scalar::flattened(member, member_shape) {
            if let Some(value) = flattened_from_xml(model, member_shape, name, node) {
                out.insert(name.clone(), value);
            }
        } else if let Some(child) = node.child(wire) {
            out.insert(name.clone(), from_xml(model, member, child));
        }
    }
    Value::Map(out)
}

/// A flattened list or map: its items are repeated elements of the parent.
fn flattened_from_xml(
    model: &ServiceModel,
    shape: &Shape,
    member_name: &str,
    parent: &Element,
) -> Option<Value> {
    match shape.kind.as_str() {
        "list" => {
            let item_ref = shape.member.as_deref()?;
            let item_name = item_ref
                .location_name
                .as_deref()
                .or(shape.location_name.as_deref())
                .unwrap_or(member_name);
            let items: Vec<Value> = parent
                .children_named(item_name)
                .map(|c| from_xml(model, item_ref, c))
                .collect();
            (!items.is_empty()).then_some(Value::List(items))
        }
        "map" => {
            let name = shape.location_name.as_deref().unwrap_or(member_name);
            let entries: Vec<&Element> = parent.children_named(name).collect();
            (!entries.is_empty()).then(|| map_from_entries(model, shape, entries.into_iter()))
        }
        _ => None,
    }
}

fn map_from_entries<'a>(
    model: &ServiceModel,
    shape: &Shape,
    entries: impl Iterator<Item = &'a Element>,
) -> Value {
    let (Some(key_ref), Some(value_ref)) = (shape.key.as_deref(), shape.value.as_deref()) else {
        return Value::Map(BTreeMap::new());
    };
    let key_name = key_ref.location_name.as_deref().unwrap_or("key");
    let value_name = value_ref.location_name.as_deref().unwrap_or("value");
    let mut out = BTreeMap::new();
    for entry in entries {
        let Some(key) = entry.child(key_name) else {
            continue;
        };
        let value = entry
            .child(value_name)
            .map_or(Value::Null, |v| from_xml(model, value_ref, v));
        out.insert(key.text.clone(), value);
    }
    Value::Map(out)
}

// ------------------------------------------------------------------ writing

/// Writes `value` as the restXml element `name` of `shape_ref`.
pub fn write_element(
    model: &ServiceModel,
    shape_ref: &ShapeRef,
    value: &Value,
    name: &str,
    path: &str,
    out: &mut String,
) -> Result<(), SerializeError> {
    let shape = resolve(model, shape_ref)?;
    let namespace = shape_ref
        .xml_namespace
        .as_ref()
        .or(shape.xml_namespace.as_ref());
    let mut open_tag = format!("<{name}");
    if let Some(ns) = namespace {
        match &ns.prefix {
            Some(prefix) => open_tag.push_str(&format!(" xmlns:{prefix}=\"{}\"", escape(&ns.uri))),
            None => open_tag.push_str(&format!(" xmlns=\"{}\"", escape(&ns.uri))),
        }
    }
    match shape.kind.as_str() {
        "structure" => {
            let members = scalar::members(shape, value, path)?;
            let mut inner = String::new();
            for (member_name, member, item) in members {
                let member_shape = resolve(model, member)?;
                let wire = scalar::location_name(member, member_shape).unwrap_or(member_name);
                let member_path = join_path(path, member_name);
                if member.xml_attribute {
                    let text = scalar::text(
                        member,
                        member_shape,
                        item,
                        &member_path,
                        TimestampFormat::Iso8601,
                    )?;
                    open_tag.push_str(&format!(" {wire}=\"{}\"", escape(&text)));
                } else if scalar::flattened(member, member_shape) && member_shape.kind == "list" {
                    write_list_items(model, member_shape, item, wire, &member_path, &mut inner)?;
                } else {
                    write_element(model, member, item, wire, &member_path, &mut inner)?;
                }
            }
            out.push_str(&format!("{open_tag}>{inner}</{name}>"));
        }
        "list" => {
            let item_name = shape
                .member
                .as_deref()
                .and_then(|m| m.location_name.as_deref())
                .unwrap_or("member");
            let mut inner = String::new();
            write_list_items(model, shape, value, item_name, path, &mut inner)?;
            out.push_str(&format!("{open_tag}>{inner}</{name}>"));
        }
        "map" => {
            let Value::Map(entries) = value else {
                return Err(bad(path, "expected a map"));
            };
            let (Some(key_ref), Some(value_ref)) = (shape.key.as_deref(), shape.value.as_deref())
            else {
                return Err(SerializeError::MissingShape(format!(
                    "{}.key/value",
                    shape_ref.shape
                )));
            };
            let key_name = key_ref.location_name.as_deref().unwrap_or("key");
            let value_name = value_ref.location_name.as_deref().unwrap_or("value");
            let mut inner = String::new();
            for (key, item) in entries {
                inner.push_str(&format!("<entry><{key_name}>{}</{key_name}>", escape(key)));
                write_element(
                    model,
                    value_ref,
                    item,
                    value_name,
                    &join_path(path, key),
                    &mut inner,
                )?;
                inner.push_str("</entry>");
            }
            out.push_str(&format!("{open_tag}>{inner}</{name}>"));
        }
        _ => {
            let text = scalar::text(shape_ref, shape, value, path, TimestampFormat::Iso8601)?;
            out.push_str(&format!("{open_tag}>{}</{name}>", escape(&text)));
        }
    }
    Ok(())
}

fn write_list_items(
    model: &ServiceModel,
    shape: &Shape,
    value: &Value,
    item_name: &str,
    path: &str,
    out: &mut String,
) -> Result<(), SerializeError> {
    let Value::List(items) = value else {
        return Err(bad(path, "expected a list"));
    };
    let Some(member) = shape.member.as_deref() else {
        return Err(SerializeError::MissingShape("list member".into()));
    };
    for (i, item) in items.iter().enumerate() {
        write_element(model, member, item, item_name, &format!("{path}[{i}]"), out)?;
    }
    Ok(())
}

fn bad(path: &str, reason: &str) -> SerializeError {
    SerializeError::BadValue {
        path: path.to_owned(),
        reason: reason.to_owned(),
    }
}

/// Escapes text for element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_entities_cdata_and_namespaces() {
        let doc = br#"<?xml version="1.0"?><a:Root xmlns:a="urn:x"><B k="1 &amp; 2">x &lt; y &#65;</B><C><![CDATA[<raw>]]></C><D/></a:Root>"#;
        let root = parse_document(doc).expect("parses");
        assert_eq!(root.name, "Root");
        let b = root.child("B").expect("B");
        assert_eq!(b.text, "x < y A");
        assert_eq!(b.attributes, vec![("k".to_owned(), "1 & 2".to_owned())]);
        assert_eq!(root.child("C").map(|c| c.text.as_str()), Some("<raw>"));
        assert!(root.child("D").is_some());
    }

    #[test]
    fn rejects_broken_documents() {
        assert!(parse_document(b"<a><b></a>").is_err());
        assert!(parse_document(b"").is_err());
        assert!(parse_document(b"<a>&bogus;</a>").is_err());
    }

    proptest::proptest! {
        #[test]
        fn escaped_text_reads_back_unchanged(text in "[\\t\\n\\r -\u{D7FF}\u{E000}-\u{FFFD}]{0,64}") {
            let doc = format!("<a k=\"{}\">{}</a>", escape(&text), escape(&text));
            let root = parse_document(doc.as_bytes()).expect("escaped text parses");
            proptest::prop_assert_eq!(&root.text, &text);
            proptest::prop_assert_eq!(&root.attributes[0].1, &text);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let _ = parse_document(&bytes);
        }
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;"
        );
    }
}
