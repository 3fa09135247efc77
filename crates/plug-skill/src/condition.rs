//! Conditions (`when`, `assert`'s `that`, `wait_for`'s `until`) are
//! expressions in minijinja's syntax, evaluated against the run's data:
//!
//! - `params.NAME`, `config.NAME`, and the builtins by name (`actor`, `run_id`, ...);
//! - `steps.STEP.FIELD` for a completed step's result and named outputs;
//! - `result.FIELD` for the response being tested by `wait_for`.
//!
//! Examples: `params.environment == "prod"`,
//! `steps.create_or_update.State != "Failed"`, `result.Configuration.State == "Active"`.
//! minijinja was chosen over a hand-written evaluator: it is kept, sandboxed
//! (no I/O, no code execution) and its expression grammar is documented.

use plug_core::Value;

use crate::template::Scope;

/// Why a condition could not be evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot evaluate `{expression}`: {reason}")]
pub struct ConditionError {
    /// The expression as written.
    pub expression: String,
    /// What went wrong.
    pub reason: String,
}

/// Evaluates `expression` against the scope (and `result`, for `wait_for`).
pub fn holds(
    expression: &str,
    scope: &Scope,
    result: Option<&Value>,
) -> Result<bool, ConditionError> {
    let error = |e: minijinja::Error| ConditionError {
        expression: expression.to_owned(),
        reason: e.to_string(),
    };
    let env = minijinja::Environment::new();
    let compiled = env.compile_expression(expression).map_err(error)?;
    let value = compiled.eval(context(scope, result)).map_err(error)?;
    Ok(value.is_true())
}

/// The data an expression sees, as JSON (bytes become base64 text).
fn context(scope: &Scope, result: Option<&Value>) -> minijinja::Value {
    let mut root = serde_json::Map::new();
    let to_obj = |pairs: Vec<(String, serde_json::Value)>| {
        serde_json::Value::Object(pairs.into_iter().collect())
    };
    root.insert(
        "params".into(),
        to_obj(
            scope
                .params
                .iter()
                .map(|(k, v)| (k.clone(), v.to_json()))
                .collect(),
        ),
    );
    root.insert(
        "config".into(),
        to_obj(
            scope
                .config
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect(),
        ),
    );
    let steps = scope
        .steps
        .iter()
        .map(|s| {
            if s.result == Value::Null && s.outputs.is_empty() {
                return (s.name.clone(), serde_json::Value::Null); // skipped: `steps.x is none`
            }
            let mut fields = match s.result.to_json() {
                serde_json::Value::Object(map) => map,
                other => std::iter::once(("value".to_owned(), other)).collect(),
            };
            fields.extend(s.outputs.iter().map(|(k, v)| (k.clone(), v.to_json())));
            (s.name.clone(), serde_json::Value::Object(fields))
        })
        .collect();
    root.insert("steps".into(), to_obj(steps));
    for (name, value) in &scope.builtins {
        root.insert(name.clone(), value.to_json());
    }
    if let Some(result) = result {
        root.insert("result".into(), result.to_json());
    }
    to_jinja(&serde_json::Value::Object(root))
}

/// JSON into minijinja's value model.
fn to_jinja(json: &serde_json::Value) -> minijinja::Value {
    use minijinja::Value as V;
    match json {
        serde_json::Value::Null => V::from(()),
        serde_json::Value::Bool(b) => V::from(*b),
        serde_json::Value::Number(n) => n
            .as_i64()
            .map(V::from)
            .or_else(|| n.as_f64().map(V::from))
            .unwrap_or_default(),
        serde_json::Value::String(s) => V::from(s.as_str()),
        serde_json::Value::Array(items) => V::from(items.iter().map(to_jinja).collect::<Vec<_>>()),
        serde_json::Value::Object(map) => {
            V::from_pairs(map.iter().map(|(k, v)| (k.as_str(), to_jinja(v))))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::template::StepResult;

    #[test]
    fn expressions_see_params_steps_and_results() {
        let mut scope = Scope::default();
        scope
            .params
            .insert("env".into(), Value::String("prod".into()));
        scope.steps.push(StepResult {
            name: "build".into(),
            result: Value::from(serde_json::json!({"exit_code": 0})),
            outputs: BTreeMap::new(),
        });
        assert_eq!(holds("params.env == 'prod'", &scope, None), Ok(true));
        assert_eq!(holds("steps.build.exit_code != 0", &scope, None), Ok(false));
        let result = Value::from(serde_json::json!({"State": "Active"}));
        assert_eq!(
            holds("result.State == 'Active'", &scope, Some(&result)),
            Ok(true)
        );
        assert_eq!(holds("params.missing is defined", &scope, None), Ok(false));
        assert!(holds("params.env ==", &scope, None).is_err());
    }
}
