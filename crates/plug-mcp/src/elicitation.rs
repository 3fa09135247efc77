//! Servers asking the user for input in the middle of a call
//! (`elicitation/create`, form mode).
//!
//! Off unless the embedding application supplies an [`ElicitFn`]: without
//! one plugctl does not announce the capability and declines every request,
//! so a server cannot block a non-interactive run waiting for a human.
//! URL-mode requests are always declined: plugctl opens no browsers.

use std::sync::Arc;

use futures_core::future::BoxFuture;
use serde_json::{Map, Value};

/// One form-mode request from a server.
#[derive(Debug, Clone, PartialEq)]
pub struct ElicitationRequest {
    /// The server's name in the plugin.
    pub server: String,
    /// What the server asks, for a human.
    pub message: String,
    /// The requested schema (`requestedSchema`): an object of primitive properties.
    pub schema: Value,
}

/// What the user decided.
#[derive(Debug, Clone, PartialEq)]
pub enum ElicitationAnswer {
    /// Submitted these fields; omitted ones are filled from the schema's defaults.
    Accept(Map<String, Value>),
    /// Refused to answer; the server's operation continues without it.
    Decline,
    /// Dismissed the request; the server should stop the operation.
    Cancel,
}

/// Asks the user. Called on the connection's task: answer through the future,
/// not by blocking.
pub type ElicitFn =
    Arc<dyn Fn(ElicitationRequest) -> BoxFuture<'static, ElicitationAnswer> + Send + Sync>;

/// Fills each property the user left out with its schema `default`
/// (SEP-1034: the form showed the default, so accepting it means that value).
pub fn with_defaults(schema: &Value, mut content: Map<String, Value>) -> Map<String, Value> {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return content;
    };
    for (name, property) in properties {
        if let Some(default) = property.get("default")
            && !content.contains_key(name)
        {
            content.insert(name.clone(), default.clone());
        }
    }
    content
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn omitted_fields_take_their_defaults_and_given_ones_stay() {
        let schema = json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "default": "John Doe"},
                "age": {"type": "integer", "default": 30},
                "verified": {"type": "boolean", "default": true},
                "status": {"type": "string", "enum": ["active", "inactive"], "default": "active"},
                "nickname": {"type": "string"}
            }
        });
        let given = json!({"age": 41}).as_object().cloned().unwrap_or_default();
        let filled = with_defaults(&schema, given);
        assert_eq!(
            Value::Object(filled),
            json!({"name": "John Doe", "age": 41, "verified": true, "status": "active"})
        );
    }

    #[test]
    fn a_schema_without_properties_leaves_the_content_alone() {
        let given = json!({"x": 1}).as_object().cloned().unwrap_or_default();
        assert_eq!(
            with_defaults(&json!({"type": "object"}), given.clone()),
            given
        );
    }
}
