//! The values that flow between steps.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A JSON-like value that can also hold raw bytes.
///
/// Step outputs and action parameters are mostly JSON, but a skill such as the
/// seed's passes a zip archive (`ZipFile: <read_file:function.zip>`) to an AWS
/// call: bytes must stay bytes until a serializer decides how to encode them
/// (base64 in JSON protocols, raw in a REST payload).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// No value.
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, kept as JSON keeps it (integer or float).
    Number(serde_json::Number),
    /// UTF-8 text.
    String(String),
    /// Raw bytes (file contents, blobs).
    Bytes(Vec<u8>),
    /// An ordered list.
    List(Vec<Value>),
    /// A map with sorted keys, so serialization is deterministic.
    Map(BTreeMap<String, Value>),
}

impl Value {
    /// Converts to JSON; bytes become base64 text, the encoding AWS JSON protocols use.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => serde_json::Value::Number(n.clone()),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::Bytes(b) => serde_json::Value::String(base64_encode(b)),
            Value::List(items) => items.iter().map(Value::to_json).collect(),
            Value::Map(map) => serde_json::Value::Object(
                map.iter().map(|(k, v)| (k.clone(), v.to_json())).collect(),
            ),
        }
    }

    /// The text of a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// A member of a map value.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(map) => map.get(key),
            _ => None,
        }
    }
}

impl From<serde_json::Value> for Value {
    fn from(json: serde_json::Value) -> Self {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => Value::Number(n),
            serde_json::Value::String(s) => Value::String(s),
            serde_json::Value::Array(items) => {
                Value::List(items.into_iter().map(Value::from).collect())
            }
            serde_json::Value::Object(map) => {
                Value::Map(map.into_iter().map(|(k, v)| (k, Value::from(v))).collect())
            }
        }
    }
}

impl Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde_json::Value::deserialize(deserializer).map(Value::from)
    }
}

/// Standard base64 with padding (RFC 4648 section 4), the encoding AWS JSON protocols use for blobs.
pub fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64_encode(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn bytes_serialize_as_base64_and_json_round_trips() {
        let json = serde_json::json!({"a": [1, "x", null, true], "b": {"c": 2.5}});
        assert_eq!(Value::from(json.clone()).to_json(), json);
        assert_eq!(
            Value::Bytes(b"hi".to_vec()).to_json(),
            serde_json::json!("aGk=")
        );
    }
}
