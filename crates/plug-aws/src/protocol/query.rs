//! awsQuery and ec2Query requests: a form body of `Action`, `Version` and the
//! params flattened into dotted keys.
//!
//! query: lists are `Name.member.N` (or `Name.N` when flattened), maps
//! `Name.entry.N.key` / `.value`. ec2: lists are always `Name.N`, and a
//! member's key is its `queryName`, else its capitalised `locationName`.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use plug_core::Value;

use super::scalar::{self, resolve};
use super::{HttpRequest, SerializeError, join_path};
use crate::model::{Operation, Protocol, ServiceModel, ShapeRef};
use crate::timestamp::TimestampFormat;

/// RFC 3986 unreserved characters stay; everything else is escaped.
pub const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

pub fn serialize_request(
    model: &ServiceModel,
    operation: &Operation,
    params: &Value,
    protocol: Protocol,
) -> Result<HttpRequest, SerializeError> {
    let mut pairs = vec![
        ("Action".to_owned(), operation.name.clone()),
        ("Version".to_owned(), model.metadata.api_version.clone()),
    ];
    if let Some(input) = &operation.input {
        let writer = Writer {
            model,
            ec2: protocol == Protocol::Ec2,
        };
        writer.structure(input, params, "", "", &mut pairs)?;
    }
    let mut request = HttpRequest::new("POST", "/");
    request.headers.push((
        "Content-Type".into(),
        "application/x-www-form-urlencoded; charset=utf-8".into(),
    ));
    request.body = form_encode(&pairs).into_bytes();
    Ok(request)
}

/// `k=v&k=v` with RFC 3986 escaping (what SigV4 and AWS expect; no `+` for space).
pub fn form_encode(pairs: &[(String, String)]) -> String {
    let mut out = String::new();
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.extend(utf8_percent_encode(key, UNRESERVED));
        out.push('=');
        out.extend(utf8_percent_encode(value, UNRESERVED));
    }
    out
}

struct Writer<'m> {
    model: &'m ServiceModel,
    ec2: bool,
}

impl Writer<'_> {
    /// `prefix` is the wire key so far, `path` the member path for messages.
    fn value(
        &self,
        shape_ref: &ShapeRef,
        value: &Value,
        prefix: &str,
        path: &str,
        out: &mut Vec<(String, String)>,
    ) -> Result<(), SerializeError> {
        let shape = resolve(self.model, shape_ref)?;
        match shape.kind.as_str() {
            "structure" => self.structure(shape_ref, value, prefix, path, out),
            "list" => self.list(shape_ref, value, prefix, path, out),
            "map" => self.map(shape_ref, value, prefix, path, out),
            _ => {
                let text = scalar::text(shape_ref, shape, value, path, TimestampFormat::Iso8601)?;
                out.push((prefix.to_owned(), text));
                Ok(())
            }
        }
    }

    fn structure(
        &self,
        shape_ref: &ShapeRef,
        value: &Value,
        prefix: &str,
        path: &str,
        out: &mut Vec<(String, String)>,
    ) -> Result<(), SerializeError> {
        let shape = resolve(self.model, shape_ref)?;
        for (name, member, item) in scalar::members(shape, value, path)? {
            let key = self.member_key(name, member);
            let full = if prefix.is_empty() {
                key
            } else {
                format!("{prefix}.{key}")
            };
            self.value(member, item, &full, &join_path(path, name), out)?;
        }
        Ok(())
    }

    fn member_key(&self, name: &str, member: &ShapeRef) -> String {
        if !self.ec2 {
            return member.wire_name(name).to_owned();
        }
        if let Some(query_name) = &member.query_name {
            return query_name.clone();
        }
        match &member.location_name {
            Some(location) => capitalise(location),
            None => name.to_owned(),
        }
    }

    fn list(
        &self,
        shape_ref: &ShapeRef,
        value: &Value,
        prefix: &str,
        path: &str,
        out: &mut Vec<(String, String)>,
    ) -> Result<(), SerializeError> {
        let shape = resolve(self.model, shape_ref)?;
        let Value::List(items) = value else {
            return Err(SerializeError::BadValue {
                path: path.to_owned(),
                reason: "expected a list".into(),
            });
        };
        let Some(member) = shape.member.as_deref() else {
            return Err(SerializeError::MissingShape(format!(
                "{}.member",
                shape_ref.shape
            )));
        };
        if items.is_empty() {
            // query says "present but empty" with a bare key; ec2 sends nothing.
            if !self.ec2 {
                out.push((prefix.to_owned(), String::new()));
            }
            return Ok(());
        }
        let list_prefix = if self.ec2 {
            prefix.to_owned()
        } else if scalar::flattened(shape_ref, shape) {
            match &member.location_name {
                Some(name) => replace_last(prefix, name),
                None => prefix.to_owned(),
            }
        } else {
            format!(
                "{prefix}.{}",
                member.location_name.as_deref().unwrap_or("member")
            )
        };
        for (i, item) in items.iter().enumerate() {
            let key = format!("{list_prefix}.{}", i + 1);
            self.value(member, item, &key, &format!("{path}[{i}]"), out)?;
        }
        Ok(())
    }

    fn map(
        &self,
        shape_ref: &ShapeRef,
        value: &Value,
        prefix: &str,
        path: &str,
        out: &mut Vec<(String, String)>,
    ) -> Result<(), SerializeError> {
        let shape = resolve(self.model, shape_ref)?;
        let Value::Map(entries) = value else {
            return Err(SerializeError::BadValue {
                path: path.to_owned(),
                reason: "expected a map".into(),
            });
        };
        let (Some(key_ref), Some(value_ref)) = (shape.key.as_deref(), shape.value.as_deref())
        else {
            return Err(SerializeError::MissingShape(format!(
                "{}.key/value",
                shape_ref.shape
            )));
        };
        let base = if scalar::flattened(shape_ref, shape) {
            prefix.to_owned()
        } else {
            format!("{prefix}.entry")
        };
        let key_name = key_ref.location_name.as_deref().unwrap_or("key");
        let value_name = value_ref.location_name.as_deref().unwrap_or("value");
        for (i, (key, item)) in entries.iter().enumerate() {
            let n = i + 1;
            out.push((format!("{base}.{n}.{key_name}"), key.clone()));
            self.value(
                value_ref,
                item,
                &format!("{base}.{n}.{value_name}"),
                &join_path(path, key),
                out,
            )?;
        }
        Ok(())
    }
}

fn capitalise(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `A.B.Old` with last segment replaced: `A.B.New`.
fn replace_last(prefix: &str, name: &str) -> String {
    match prefix.rsplit_once('.') {
        Some((head, _)) => format!("{head}.{name}"),
        None => name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use percent_encoding::percent_decode_str;

    proptest::proptest! {
        #[test]
        fn form_encoding_round_trips(pairs in proptest::collection::vec(("\\PC{0,12}", "\\PC{0,24}"), 0..6)) {
            let encoded = form_encode(&pairs);
            proptest::prop_assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%=&".contains(&b)));
            let decoded: Vec<(String, String)> = if pairs.is_empty() {
                Vec::new()
            } else {
                encoded
                    .split('&')
                    .map(|p| {
                        let (k, v) = p.split_once('=').unwrap_or((p, ""));
                        let d = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
                        (d(k), d(v))
                    })
                    .collect()
            };
            proptest::prop_assert_eq!(decoded, pairs);
        }
    }
}
