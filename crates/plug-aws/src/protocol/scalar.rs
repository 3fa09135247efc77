//! Shape lookups and scalar conversions shared by every protocol.

use plug_core::Value;

use super::{SerializeError, join_path};
use crate::model::{ServiceModel, Shape, ShapeRef};
use crate::timestamp::{self, TimestampFormat};

/// The shape a reference points at.
pub fn resolve<'m>(
    model: &'m ServiceModel,
    shape_ref: &ShapeRef,
) -> Result<&'m Shape, SerializeError> {
    model
        .shape(&shape_ref.shape)
        .ok_or_else(|| SerializeError::MissingShape(shape_ref.shape.clone()))
}

/// Whether a list or map has no wrapper element (the reference may override the shape).
pub fn flattened(shape_ref: &ShapeRef, shape: &Shape) -> bool {
    shape_ref.flattened.unwrap_or(shape.flattened)
}

/// `locationName` of the reference, else of the shape.
pub fn location_name<'a>(shape_ref: &'a ShapeRef, shape: &'a Shape) -> Option<&'a str> {
    shape_ref
        .location_name
        .as_deref()
        .or(shape.location_name.as_deref())
}

/// The timestamp format for a member: reference, then shape, then the protocol default.
pub fn timestamp_format(
    shape_ref: &ShapeRef,
    shape: &Shape,
    default: TimestampFormat,
) -> TimestampFormat {
    let name = shape_ref
        .timestamp_format
        .as_deref()
        .or(shape.timestamp_format.as_deref());
    TimestampFormat::from_model(name, default)
}

/// A scalar as text, without regard to any shape.
pub fn as_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The set members of a structure value, in the model's order; unknown names are errors.
pub fn members<'v, 'm>(
    shape: &'m Shape,
    value: &'v Value,
    path: &str,
) -> Result<Vec<(&'m str, &'m ShapeRef, &'v Value)>, SerializeError> {
    let map = match value {
        Value::Map(map) => map,
        Value::Null => return Ok(Vec::new()),
        _ => {
            return Err(SerializeError::BadValue {
                path: display_path(path),
                reason: "expected a map of members".into(),
            });
        }
    };
    if let Some(unknown) = map.keys().find(|k| !shape.members.contains_key(*k)) {
        return Err(SerializeError::UnknownMember {
            path: join_path(path, unknown),
        });
    }
    Ok(shape
        .members
        .iter()
        .filter_map(|(name, member)| match map.get(name) {
            None | Some(Value::Null) => None,
            Some(v) => Some((name.as_str(), member, v)),
        })
        .collect())
}

fn display_path(path: &str) -> String {
    if path.is_empty() {
        "params".into()
    } else {
        path.to_owned()
    }
}

fn bad(path: &str, reason: impl Into<String>) -> SerializeError {
    SerializeError::BadValue {
        path: display_path(path),
        reason: reason.into(),
    }
}

/// A scalar member as the text the query, header and URI locations carry.
pub fn text(
    shape_ref: &ShapeRef,
    shape: &Shape,
    value: &Value,
    path: &str,
    ts_default: TimestampFormat,
) -> Result<String, SerializeError> {
    match shape.kind.as_str() {
        "string" => match value {
            Value::Bytes(b) => Ok(String::from_utf8_lossy(b).into_owned()),
            other => as_text(other).ok_or_else(|| bad(path, "expected a string")),
        },
        "integer" | "long" => integer(value, path).map(|i| i.to_string()),
        "float" | "double" => float(value, path).map(|f| f.to_string()),
        "boolean" => boolean(value, path).map(|b| b.to_string()),
        "timestamp" => {
            let time = timestamp_value(value, path)?;
            Ok(timestamp::format_text(
                time,
                timestamp_format(shape_ref, shape, ts_default),
            ))
        }
        "blob" => blob_base64(value, path),
        other => Err(bad(path, format!("a {other} cannot be sent here"))),
    }
}

/// An integer member: a JSON integer, or text holding one.
pub fn integer(value: &Value, path: &str) -> Result<i64, SerializeError> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| bad(path, "expected an integer"))
}

/// A floating-point member.
pub fn float(value: &Value, path: &str) -> Result<f64, SerializeError> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|f: &f64| f.is_finite())
    .ok_or_else(|| bad(path, "expected a number"))
}

/// A boolean member: `true`/`false`, or that text.
pub fn boolean(value: &Value, path: &str) -> Result<bool, SerializeError> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
    .ok_or_else(|| bad(path, "expected true or false"))
}

/// A timestamp member: ISO-8601, RFC 822 or epoch seconds.
pub fn timestamp_value(
    value: &Value,
    path: &str,
) -> Result<aws_smithy_types::DateTime, SerializeError> {
    match value {
        Value::Number(n) => n.as_f64().and_then(crate::timestamp::from_epoch_f64),
        Value::String(s) => timestamp::parse_any(s),
        _ => None,
    }
    .ok_or_else(|| bad(path, "expected a timestamp (ISO-8601 or epoch seconds)"))
}

/// A blob embedded in a document: bytes are encoded; text must already be base64.
pub fn blob_base64(value: &Value, path: &str) -> Result<String, SerializeError> {
    use base64::Engine as _;
    match value {
        Value::Bytes(b) => Ok(plug_core::value::base64_encode(b)),
        Value::String(s) => base64::engine::general_purpose::STANDARD
            .decode(s.trim())
            .map(|_| s.trim().to_owned())
            .map_err(|_| bad(path, "expected bytes or base64 text")),
        _ => Err(bad(path, "expected bytes or base64 text")),
    }
}

/// A blob that is the whole body: bytes as they are, text as its UTF-8 bytes
/// (as boto3 sends a `str` body).
pub fn raw_bytes(value: &Value, path: &str) -> Result<Vec<u8>, SerializeError> {
    match value {
        Value::Bytes(b) => Ok(b.clone()),
        Value::String(s) => Ok(s.clone().into_bytes()),
        Value::Number(_) | Value::Bool(_) => Ok(as_text(value).unwrap_or_default().into_bytes()),
        _ => Err(bad(path, "expected bytes or text")),
    }
}

/// Decodes a base64 blob from a response; text that is not base64 is kept as text.
pub fn decode_blob(text: &str) -> Value {
    use base64::Engine as _;
    match base64::engine::general_purpose::STANDARD.decode(text.trim()) {
        Ok(bytes) => Value::Bytes(bytes),
        Err(_) => Value::String(text.to_owned()),
    }
}

/// Reads a scalar of a response from its text.
pub fn parse_text(shape: &Shape, text: &str) -> Value {
    match shape.kind.as_str() {
        "integer" | "long" => text
            .trim()
            .parse::<i64>()
            .map(|i| Value::Number(i.into()))
            .unwrap_or_else(|_| Value::String(text.to_owned())),
        "float" | "double" => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| Value::String(text.to_owned()), Value::Number),
        "boolean" => match text.trim() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            other => Value::String(other.to_owned()),
        },
        "timestamp" => timestamp::parse_any(text).map_or_else(
            || Value::String(text.to_owned()),
            |t| Value::String(timestamp::to_iso8601(t)),
        ),
        "blob" => decode_blob(text),
        _ => Value::String(text.to_owned()),
    }
}
