//! awsJson 1.0/1.1 (`POST /` with `X-Amz-Target`), and the JSON documents
//! that restJson1 bodies share with it.

use plug_core::Value;
use serde_json::Value as Json;

use super::scalar::{self, resolve};
use super::{HttpRequest, HttpResponse, ParseError, SerializeError, join_path};
use crate::model::{Operation, ServiceModel, Shape, ShapeRef};
use crate::timestamp::{self, TimestampFormat};

pub fn serialize_request(
    model: &ServiceModel,
    operation: &Operation,
    params: &Value,
) -> Result<HttpRequest, SerializeError> {
    let meta = &model.metadata;
    let mut request = HttpRequest::new("POST", "/");
    let version = meta.json_version.as_deref().unwrap_or("1.0");
    request.headers.push((
        "Content-Type".into(),
        format!("application/x-amz-json-{version}"),
    ));
    let target = match &meta.target_prefix {
        Some(prefix) => format!("{prefix}.{}", operation.name),
        None => operation.name.clone(),
    };
    request.headers.push(("X-Amz-Target".into(), target));
    if meta.aws_query_compatible.is_some() {
        request
            .headers
            .push(("x-amzn-query-mode".into(), "true".into()));
    }
    let body = match &operation.input {
        Some(input) => to_json(model, input, params, "")?,
        None => Json::Object(serde_json::Map::new()),
    };
    request.body = serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec());
    Ok(request)
}

pub fn parse_response(
    model: &ServiceModel,
    operation: &Operation,
    response: &HttpResponse,
) -> Result<Value, ParseError> {
    let Some(output) = &operation.output else {
        return Ok(Value::Map(Default::default()));
    };
    if response.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Map(Default::default()));
    }
    let json: Json = serde_json::from_slice(&response.body)
        .map_err(|e| ParseError(format!("JSON body: {e}")))?;
    Ok(from_json(model, output, &json))
}

/// A value as the JSON document of `shape_ref` (members by wire name,
/// timestamps as epoch seconds unless the model says otherwise, blobs base64).
pub fn to_json(
    model: &ServiceModel,
    shape_ref: &ShapeRef,
    value: &Value,
    path: &str,
) -> Result<Json, SerializeError> {
    let shape = resolve(model, shape_ref)?;
    if shape.document {
        return Ok(value.to_json());
    }
    match shape.kind.as_str() {
        "structure" => structure_to_json(model, shape, value, path, |_| true),
        "list" => {
            let Value::List(items) = value else {
                return Err(bad(path, "expected a list"));
            };
            let member = element(shape, &shape.member, path)?;
            items
                .iter()
                .enumerate()
                .map(|(i, item)| to_json(model, member, item, &format!("{path}[{i}]")))
                .collect::<Result<Vec<_>, _>>()
                .map(Json::Array)
        }
        "map" => {
            let Value::Map(entries) = value else {
                return Err(bad(path, "expected a map"));
            };
            let value_ref = element(shape, &shape.value, path)?;
            let mut out = serde_json::Map::new();
            for (key, item) in entries {
                out.insert(
                    key.clone(),
                    to_json(model, value_ref, item, &join_path(path, key))?,
                );
            }
            Ok(Json::Object(out))
        }
        "string" => {
            scalar::text(shape_ref, shape, value, path, TimestampFormat::Epoch).map(Json::String)
        }
        "integer" | "long" => scalar::integer(value, path).map(Json::from),
        "float" | "double" => {
            let f = scalar::float(value, path)?;
            Ok(serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number))
        }
        "boolean" => scalar::boolean(value, path).map(Json::Bool),
        "timestamp" => {
            let time = scalar::timestamp_value(value, path)?;
            Ok(
                match scalar::timestamp_format(shape_ref, shape, TimestampFormat::Epoch) {
                    TimestampFormat::Epoch => Json::Number(timestamp::epoch_number(time)),
                    other => Json::String(timestamp::format_text(time, other)),
                },
            )
        }
        "blob" => scalar::blob_base64(value, path).map(Json::String),
        other => Err(bad(path, format!("unsupported shape type {other}"))),
    }
}

/// The members of a structure selected by `keep` (restJson leaves out those
/// that travel in the URI or headers) as a JSON object.
pub fn structure_to_json(
    model: &ServiceModel,
    shape: &Shape,
    value: &Value,
    path: &str,
    keep: impl Fn(&ShapeRef) -> bool,
) -> Result<Json, SerializeError> {
    let mut out = serde_json::Map::new();
    for (name, member, item) in scalar::members(shape, value, path)? {
        if keep(member) {
            let json = to_json(model, member, item, &join_path(path, name))?;
            out.insert(member.wire_name(name).to_owned(), json);
        }
    }
    Ok(Json::Object(out))
}

fn element<'m>(
    shape: &'m Shape,
    part: &'m Option<Box<ShapeRef>>,
    path: &str,
) -> Result<&'m ShapeRef, SerializeError> {
    part.as_deref().ok_or_else(|| {
        bad(
            path,
            format!("model shape of type {} lacks its element", shape.kind),
        )
    })
}

fn bad(path: &str, reason: impl Into<String>) -> SerializeError {
    SerializeError::BadValue {
        path: if path.is_empty() {
            "params".into()
        } else {
            path.to_owned()
        },
        reason: reason.into(),
    }
}

/// A JSON document of `shape_ref` as an output value: members by their model
/// names, timestamps ISO-8601, blobs as bytes. Keys the model does not know
/// are kept as they came, so a newer service's additions are not lost.
pub fn from_json(model: &ServiceModel, shape_ref: &ShapeRef, json: &Json) -> Value {
    let Some(shape) = model.shape(&shape_ref.shape) else {
        return Value::from(json.clone());
    };
    match (shape.kind.as_str(), json) {
        ("structure", Json::Object(object)) if !shape.document => {
            structure_from_json(model, shape, object, |_| true)
        }
        ("list", Json::Array(items)) => match &shape.member {
            Some(member) => {
                Value::List(items.iter().map(|i| from_json(model, member, i)).collect())
            }
            None => Value::from(json.clone()),
        },
        ("map", Json::Object(object)) => match &shape.value {
            Some(value_ref) => Value::Map(
                object
                    .iter()
                    .map(|(k, v)| (k.clone(), from_json(model, value_ref, v)))
                    .collect(),
            ),
            None => Value::from(json.clone()),
        },
        ("timestamp", Json::Number(n)) => {
            n.as_f64().and_then(timestamp::from_epoch_f64).map_or_else(
                || Value::from(json.clone()),
                |t| Value::String(timestamp::to_iso8601(t)),
            )
        }
        ("timestamp", Json::String(s)) => timestamp::parse_any(s).map_or_else(
            || Value::String(s.clone()),
            |t| Value::String(timestamp::to_iso8601(t)),
        ),
        ("blob", Json::String(s)) => scalar::decode_blob(s),
        _ => Value::from(json.clone()),
    }
}

/// A JSON object as the members of `shape` selected by `keep`.
pub fn structure_from_json(
    model: &ServiceModel,
    shape: &Shape,
    object: &serde_json::Map<String, Json>,
    keep: impl Fn(&ShapeRef) -> bool,
) -> Value {
    let mut out = std::collections::BTreeMap::new();
    let mut known = std::collections::HashSet::new();
    for (name, member) in &shape.members {
        let wire = member.wire_name(name);
        known.insert(wire);
        if !keep(member) {
            continue;
        }
        if let Some(json) = object.get(wire) {
            out.insert(name.clone(), from_json(model, member, json));
        }
    }
    for (key, json) in object {
        if !known.contains(key.as_str()) {
            out.insert(key.clone(), Value::from(json.clone()));
        }
    }
    Value::Map(out)
}
