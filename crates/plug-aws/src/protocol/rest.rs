//! restJson1 and restXml: members travel in the URI (`{Label}`, greedy
//! `{Key+}`), the query string, headers (`headers` = a prefixed map), or the
//! body, which is either one `payload` member or the remaining members.

use std::collections::BTreeMap;

use percent_encoding::{AsciiSet, utf8_percent_encode};
use plug_core::Value;

use super::query::UNRESERVED;
use super::scalar::{self, resolve};
use super::{HttpRequest, HttpResponse, ParseError, SerializeError, join_path, json, xml};
use crate::model::{Operation, Protocol, ServiceModel, Shape, ShapeRef};
use crate::timestamp::{self, TimestampFormat};

/// A greedy label keeps its slashes.
const GREEDY: &AsciiSet = &UNRESERVED.remove(b'/');

pub fn serialize_request(
    model: &ServiceModel,
    operation: &Operation,
    params: &Value,
    protocol: Protocol,
) -> Result<HttpRequest, SerializeError> {
    let (path_template, literal_query) = match operation.http.request_uri.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (operation.http.request_uri.as_str(), None),
    };
    let mut request = HttpRequest::new(&operation.http.method, path_template);
    if let Some(literal) = literal_query {
        for pair in literal.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            request.query.push((k.to_owned(), v.to_owned()));
        }
    }
    let Some(input_ref) = &operation.input else {
        request.path = fill_labels(path_template, &BTreeMap::new())?;
        return Ok(request);
    };
    let input = resolve(model, input_ref)?;
    let mut labels = BTreeMap::new();
    for (name, member, value) in scalar::members(input, params, "")? {
        let shape = resolve(model, member)?;
        let wire = member.wire_name(name);
        match member.location.as_deref() {
            Some("uri") => {
                let text = scalar::text(member, shape, value, name, TimestampFormat::Iso8601)?;
                labels.insert(wire.to_owned(), text);
            }
            Some("querystring") => {
                query_member(member, shape, model, value, wire, name, &mut request)?
            }
            Some("header") => {
                let text = header_text(member, shape, model, value, name)?;
                request.headers.push((wire.to_owned(), text));
            }
            Some("headers") => prefixed_headers(model, shape, value, wire, name, &mut request)?,
            _ => {}
        }
    }
    if model.metadata.endpoint_prefix == "s3" {
        request.bucket = labels.get("Bucket").cloned();
    }
    request.path = fill_labels(path_template, &labels)?;
    write_body(model, input, params, protocol, &mut request)?;
    Ok(request)
}

/// Replaces `{Name}` and `{Name+}` in the path template with encoded values.
fn fill_labels(
    template: &str,
    labels: &BTreeMap<String, String>,
) -> Result<String, SerializeError> {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .map(|e| start + e)
            .ok_or_else(|| SerializeError::MissingShape(format!("label in {template}")))?;
        let label = &rest[start + 1..end];
        let (name, greedy) = match label.strip_suffix('+') {
            Some(name) => (name, true),
            None => (label, false),
        };
        let value = labels
            .get(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| SerializeError::MissingLabel(name.to_owned()))?;
        // URL parsing resolves dot segments, even percent-encoded ones
        // (WHATWG URL: `%2e%2e` is `..`), so a request whose label holds one
        // would reach another resource (path-style S3: another bucket). AWS
        // SDKs send such keys literally over their own URI type; our HTTP
        // stack cannot, so they are refused rather than redirected.
        let dot = |s: &str| s == "." || s == "..";
        let has_dot_segment = if greedy {
            value.split('/').any(dot)
        } else {
            dot(value)
        };
        if has_dot_segment {
            return Err(SerializeError::DotSegment(name.to_owned()));
        }
        let set = if greedy { GREEDY } else { UNRESERVED };
        out.extend(utf8_percent_encode(value, set));
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn query_member(
    member: &ShapeRef,
    shape: &Shape,
    model: &ServiceModel,
    value: &Value,
    wire: &str,
    path: &str,
    request: &mut HttpRequest,
) -> Result<(), SerializeError> {
    match (shape.kind.as_str(), value) {
        ("list", Value::List(items)) => {
            let item_ref = shape
                .member
                .as_deref()
                .ok_or_else(|| SerializeError::MissingShape(member.shape.clone()))?;
            let item_shape = resolve(model, item_ref)?;
            for (i, item) in items.iter().enumerate() {
                let text = scalar::text(
                    item_ref,
                    item_shape,
                    item,
                    &format!("{path}[{i}]"),
                    TimestampFormat::Iso8601,
                )?;
                request.query.push((wire.to_owned(), text));
            }
        }
        // A map in the query string: each entry is its own parameter.
        ("map", Value::Map(entries)) => {
            for (key, item) in entries {
                let text = scalar::as_text(item).ok_or_else(|| SerializeError::BadValue {
                    path: join_path(path, key),
                    reason: "expected text".into(),
                })?;
                request.query.push((key.clone(), text));
            }
        }
        _ => {
            let text = scalar::text(member, shape, value, path, TimestampFormat::Iso8601)?;
            request.query.push((wire.to_owned(), text));
        }
    }
    Ok(())
}

fn header_text(
    member: &ShapeRef,
    shape: &Shape,
    model: &ServiceModel,
    value: &Value,
    path: &str,
) -> Result<String, SerializeError> {
    if member.jsonvalue {
        let json = serde_json::to_string(&value.to_json()).unwrap_or_default();
        return Ok(plug_core::value::base64_encode(json.as_bytes()));
    }
    if let ("list", Value::List(items)) = (shape.kind.as_str(), value) {
        let item_ref = shape
            .member
            .as_deref()
            .ok_or_else(|| SerializeError::MissingShape(member.shape.clone()))?;
        let item_shape = resolve(model, item_ref)?;
        let texts = items
            .iter()
            .map(|item| scalar::text(item_ref, item_shape, item, path, TimestampFormat::Rfc822))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(texts.join(","));
    }
    scalar::text(member, shape, value, path, TimestampFormat::Rfc822)
}

fn prefixed_headers(
    model: &ServiceModel,
    shape: &Shape,
    value: &Value,
    prefix: &str,
    path: &str,
    request: &mut HttpRequest,
) -> Result<(), SerializeError> {
    let Value::Map(entries) = value else {
        return Err(SerializeError::BadValue {
            path: path.to_owned(),
            reason: "expected a map".into(),
        });
    };
    let value_ref = shape
        .value
        .as_deref()
        .ok_or_else(|| SerializeError::MissingShape("map value".into()))?;
    let value_shape = resolve(model, value_ref)?;
    for (key, item) in entries {
        let text = scalar::text(
            value_ref,
            value_shape,
            item,
            &join_path(path, key),
            TimestampFormat::Rfc822,
        )?;
        request.headers.push((format!("{prefix}{key}"), text));
    }
    Ok(())
}

fn write_body(
    model: &ServiceModel,
    input: &Shape,
    params: &Value,
    protocol: Protocol,
    request: &mut HttpRequest,
) -> Result<(), SerializeError> {
    if let Some(payload_name) = &input.payload {
        let Some(member) = input.members.get(payload_name) else {
            return Err(SerializeError::MissingShape(payload_name.clone()));
        };
        let Some(value) = params.get(payload_name).filter(|v| **v != Value::Null) else {
            return Ok(());
        };
        let shape = resolve(model, member)?;
        match shape.kind.as_str() {
            "blob" | "string" => request.body = scalar::raw_bytes(value, payload_name)?,
            _ if protocol == Protocol::RestXml => {
                let name = scalar::location_name(member, shape).unwrap_or(payload_name);
                let mut out = String::new();
                xml::write_element(model, member, value, name, payload_name, &mut out)?;
                request.body = out.into_bytes();
            }
            _ => {
                let json = json::to_json(model, member, value, payload_name)?;
                request.body = serde_json::to_vec(&json).unwrap_or_default();
                request
                    .headers
                    .push(("Content-Type".into(), "application/json".into()));
            }
        }
        return Ok(());
    }
    let in_body = |m: &ShapeRef| m.location.is_none();
    if !input.members.values().any(in_body) {
        return Ok(());
    }
    match protocol {
        Protocol::RestXml => {
            // Without a payload trait the body element is named after the input shape.
            let has_body = scalar::members(input, params, "")?
                .iter()
                .any(|(_, m, _)| in_body(m));
            if has_body {
                let mut body_only = BTreeMap::new();
                if let Value::Map(map) = params {
                    for (k, v) in map {
                        if input.members.get(k).is_some_and(in_body) {
                            body_only.insert(k.clone(), v.clone());
                        }
                    }
                }
                let root = input
                    .location_name
                    .clone()
                    .unwrap_or_else(|| "Request".into());
                let mut out = String::new();
                write_structure_root(model, input, &Value::Map(body_only), &root, &mut out)?;
                request.body = out.into_bytes();
            }
        }
        _ => {
            let body = json::structure_to_json(model, input, params, "", in_body)?;
            request.body = serde_json::to_vec(&body).unwrap_or_default();
            request
                .headers
                .push(("Content-Type".into(), "application/json".into()));
        }
    }
    Ok(())
}

/// Writes an input structure that has no shape reference of its own as an element.
fn write_structure_root(
    model: &ServiceModel,
    input: &Shape,
    value: &Value,
    root: &str,
    out: &mut String,
) -> Result<(), SerializeError> {
    let mut inner = String::new();
    for (name, member, item) in scalar::members(input, value, "")? {
        let shape = resolve(model, member)?;
        let wire = scalar::location_name(member, shape).unwrap_or(name);
        xml::write_element(model, member, item, wire, name, &mut inner)?;
    }
    match &input.xml_namespace {
        Some(ns) => out.push_str(&format!(
            "<{root} xmlns=\"{}\">{inner}</{root}>",
            xml::escape(&ns.uri)
        )),
        None => out.push_str(&format!("<{root}>{inner}</{root}>")),
    }
    Ok(())
}

// ------------------------------------------------------------------ responses

pub fn parse_response(
    model: &ServiceModel,
    operation: &Operation,
    response: &HttpResponse,
    protocol: Protocol,
) -> Result<Value, ParseError> {
    let Some(output_ref) = &operation.output else {
        return Ok(Value::Map(BTreeMap::new()));
    };
    let Some(output) = model.shape(&output_ref.shape) else {
        return Ok(Value::Map(BTreeMap::new()));
    };
    let mut out = match &output.payload {
        Some(payload) => payload_member(model, output, payload, response, protocol)?,
        None => body_members(model, output, response, protocol)?,
    };
    for (name, member) in &output.members {
        let Some(shape) = model.shape(&member.shape) else {
            continue;
        };
        let wire = member.wire_name(name);
        let value = match member.location.as_deref() {
            Some("statusCode") => Some(Value::Number(response.status.into())),
            Some("header") => response
                .header(wire)
                .map(|text| header_value(member, shape, text)),
            Some("headers") => Some(prefixed_header_map(response, wire)),
            _ => None,
        };
        if let Some(value) = value {
            out.insert(name.clone(), value);
        }
    }
    Ok(Value::Map(out))
}

fn payload_member(
    model: &ServiceModel,
    output: &Shape,
    payload: &str,
    response: &HttpResponse,
    protocol: Protocol,
) -> Result<BTreeMap<String, Value>, ParseError> {
    let mut out = BTreeMap::new();
    let Some(member) = output.members.get(payload) else {
        return Ok(out);
    };
    let Some(shape) = model.shape(&member.shape) else {
        return Ok(out);
    };
    let value = match shape.kind.as_str() {
        "blob" => Value::Bytes(response.body.clone()),
        "string" => Value::String(String::from_utf8_lossy(&response.body).into_owned()),
        _ if response.body.is_empty() => return Ok(out),
        _ if protocol == Protocol::RestXml => {
            xml::from_xml(model, member, &xml::parse_document(&response.body)?)
        }
        _ => {
            let doc: serde_json::Value = serde_json::from_slice(&response.body)
                .map_err(|e| ParseError(format!("JSON body: {e}")))?;
            json::from_json(model, member, &doc)
        }
    };
    out.insert(payload.to_owned(), value);
    Ok(out)
}

fn body_members(
    model: &ServiceModel,
    output: &Shape,
    response: &HttpResponse,
    protocol: Protocol,
) -> Result<BTreeMap<String, Value>, ParseError> {
    if response.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(BTreeMap::new());
    }
    let in_body = |m: &ShapeRef| m.location.is_none();
    let value = if protocol == Protocol::RestXml {
        let root = xml::parse_document(&response.body)?;
        xml::structure_from_xml(model, output, &root, in_body)
    } else {
        let doc: serde_json::Value = serde_json::from_slice(&response.body)
            .map_err(|e| ParseError(format!("JSON body: {e}")))?;
        match &doc {
            serde_json::Value::Object(object) => {
                json::structure_from_json(model, output, object, in_body)
            }
            _ => Value::Map(BTreeMap::new()),
        }
    };
    Ok(match value {
        Value::Map(map) => map,
        _ => BTreeMap::new(),
    })
}

fn header_value(member: &ShapeRef, shape: &Shape, text: &str) -> Value {
    if member.jsonvalue {
        use base64::Engine as _;
        return base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .ok()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .map_or_else(|| Value::String(text.to_owned()), Value::from);
    }
    match shape.kind.as_str() {
        "list" => Value::List(
            text.split(',')
                .map(|item| Value::String(item.trim().to_owned()))
                .collect(),
        ),
        "timestamp" => timestamp::parse_any(text).map_or_else(
            || Value::String(text.to_owned()),
            |t| Value::String(timestamp::to_iso8601(t)),
        ),
        _ => scalar::parse_text(shape, text),
    }
}

fn prefixed_header_map(response: &HttpResponse, prefix: &str) -> Value {
    let prefix = prefix.to_ascii_lowercase();
    Value::Map(
        response
            .headers
            .iter()
            .filter_map(|(name, value)| {
                let lower = name.to_ascii_lowercase();
                lower
                    .strip_prefix(&prefix)
                    .map(|key| (key.to_owned(), Value::String(value.clone())))
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_encoded_and_greedy_labels_keep_slashes() {
        let labels: BTreeMap<String, String> = [
            ("Bucket".to_owned(), "my bucket".to_owned()),
            ("Key".to_owned(), "a/b c+d.txt".to_owned()),
        ]
        .into();
        assert_eq!(
            fill_labels("/{Bucket}/{Key+}", &labels).expect("filled"),
            "/my%20bucket/a/b%20c%2Bd.txt"
        );
        assert_eq!(
            fill_labels("/{Bucket}/{Missing}", &labels),
            Err(SerializeError::MissingLabel("Missing".into()))
        );
    }

    /// `Key: ../other-bucket/x` would become a request for another bucket
    /// once the URL is parsed (hardening issue, item 12).
    #[test]
    fn dot_segments_in_labels_are_refused_not_resolved() {
        for key in ["../other-bucket/x", "a/./b", "a/..", ".", ".."] {
            let labels: BTreeMap<String, String> = [
                ("Bucket".to_owned(), "b".to_owned()),
                ("Key".to_owned(), key.to_owned()),
            ]
            .into();
            assert_eq!(
                fill_labels("/{Bucket}/{Key+}", &labels),
                Err(SerializeError::DotSegment("Key".into())),
                "{key}"
            );
        }
        let labels: BTreeMap<String, String> = [
            ("Bucket".to_owned(), "..".to_owned()),
            ("Key".to_owned(), "a..b/.c/d.".to_owned()),
        ]
        .into();
        assert_eq!(
            fill_labels("/{Bucket}/{Key+}", &labels),
            Err(SerializeError::DotSegment("Bucket".into()))
        );
        let labels: BTreeMap<String, String> = [
            ("Bucket".to_owned(), "b".to_owned()),
            ("Key".to_owned(), "a..b/.c/d.".to_owned()),
        ]
        .into();
        assert_eq!(
            fill_labels("/{Bucket}/{Key+}", &labels).as_deref(),
            Ok("/b/a..b/.c/d.")
        );
    }
}
