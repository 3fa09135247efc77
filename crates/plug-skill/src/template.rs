//! Resolving the `<placeholder>` values written in a skill.
//!
//! A string that is exactly one placeholder becomes that value with its type
//! (bytes stay bytes, so `ZipFile: <read_file:function.zip>` sends the zip's
//! bytes; numbers stay numbers). A string with placeholders inside text gets
//! their text substituted. Resolution order for `<name>`: run params, then
//! operator configuration, then builtins, then named outputs of earlier steps,
//! then a field of an earlier step's response (`<function_arn>` matches
//! `FunctionArn`), latest step first.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use plug_core::Value;
use plug_manifest::placeholder::{self, Placeholder, pascal_case};

/// What placeholders can refer to during a run.
#[derive(Debug, Default, Clone)]
pub struct Scope {
    /// Run params (`--param`), after defaults.
    pub params: BTreeMap<String, Value>,
    /// Operator configuration values.
    pub config: BTreeMap<String, String>,
    /// Builtins: `timestamp`, `run_id`, `actor`, ...
    pub builtins: BTreeMap<String, Value>,
    /// Completed steps in order: name, full result, named outputs.
    pub steps: Vec<StepResult>,
    /// The run's working directory; `read_file` stays inside it.
    pub workdir: PathBuf,
    /// Environment variables `<env:NAME>` may read.
    pub env_allow: Vec<String>,
}

/// The result of a completed step, as later steps see it.
#[derive(Debug, Clone, PartialEq)]
pub struct StepResult {
    /// Step name.
    pub name: String,
    /// The action's whole result.
    pub result: Value,
    /// Named outputs (`outputs:` selectors applied to the result).
    pub outputs: BTreeMap<String, Value>,
}

/// Why a value could not be resolved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ResolveError {
    /// `<name>` matched nothing: the run must be given `--param name=...`.
    #[error("no value for `<{0}>`: pass --param {0}=VALUE")]
    Missing(String),
    /// `<step.Field>` named a field the step's result lacks.
    #[error("step `{step}` has no output `{path}`")]
    NoSuchOutput {
        /// The step.
        step: String,
        /// The path asked for.
        path: String,
    },
    /// A file could not be read.
    #[error("cannot read `{path}`: {reason}")]
    File {
        /// The path as written.
        path: String,
        /// Why.
        reason: String,
    },
    /// Malformed placeholder, forbidden path or variable.
    #[error("{0}")]
    Invalid(String),
}

impl Scope {
    /// Resolves a template written in the skill into a value.
    pub fn resolve(&self, template: &serde_json::Value) -> Result<Value, ResolveError> {
        match template {
            serde_json::Value::String(text) => self.resolve_str(text),
            serde_json::Value::Array(items) => items
                .iter()
                .map(|i| self.resolve(i))
                .collect::<Result<_, _>>()
                .map(Value::List),
            serde_json::Value::Object(map) => map
                .iter()
                .map(|(k, v)| Ok((k.clone(), self.resolve(v)?)))
                .collect::<Result<_, _>>()
                .map(Value::Map),
            other => Ok(Value::from(other.clone())),
        }
    }

    /// Resolves one string: typed when it is exactly one placeholder, text otherwise.
    pub fn resolve_str(&self, text: &str) -> Result<Value, ResolveError> {
        let found: Vec<_> = placeholder::scan(text).collect();
        if let [(range, inner)] = found.as_slice()
            && range.start == 0
            && range.end == text.len()
        {
            return self.lookup(inner);
        }
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for (range, inner) in found {
            out.push_str(&text[last..range.start]);
            out.push_str(&as_text(&self.lookup(inner)?, inner)?);
            last = range.end;
        }
        out.push_str(&text[last..]);
        Ok(Value::String(out))
    }

    /// The value of one placeholder's inside.
    pub fn lookup(&self, inner: &str) -> Result<Value, ResolveError> {
        match placeholder::classify(inner).map_err(|e| ResolveError::Invalid(e.to_string()))? {
            Placeholder::Name(name) => self.name(name),
            Placeholder::StepOutput { step, path } => self.step_output(step, path),
            Placeholder::Function {
                name: "read_file",
                arg,
            } => self.read_file(arg),
            Placeholder::Function { name: "env", arg } => self.env(arg),
            Placeholder::Function { name, .. } => {
                Err(ResolveError::Invalid(format!("unknown function `{name}`")))
            }
        }
    }

    fn name(&self, name: &str) -> Result<Value, ResolveError> {
        if let Some(v) = self.params.get(name).or_else(|| self.builtins.get(name)) {
            return Ok(v.clone());
        }
        if let Some(v) = self.config.get(name) {
            return Ok(Value::String(v.clone()));
        }
        if let Some(v) = self.steps.iter().rev().find_map(|s| s.outputs.get(name)) {
            return Ok(v.clone());
        }
        let field = pascal_case(name);
        self.steps
            .iter()
            .rev()
            .find_map(|s| s.result.get(&field))
            .cloned()
            .ok_or_else(|| ResolveError::Missing(name.to_owned()))
    }

    fn step_output(&self, step: &str, path: &str) -> Result<Value, ResolveError> {
        let missing = || ResolveError::NoSuchOutput {
            step: step.to_owned(),
            path: path.to_owned(),
        };
        let result = self
            .steps
            .iter()
            .find(|s| s.name == step)
            .ok_or_else(missing)?;
        let mut parts = path.split('.');
        let first = parts.next().unwrap_or_default();
        let mut value = result
            .outputs
            .get(first)
            .or_else(|| result.result.get(first))
            .ok_or_else(missing)?;
        for part in parts {
            value = match value {
                Value::List(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
                other => other.get(part),
            }
            .ok_or_else(missing)?;
        }
        Ok(value.clone())
    }

    fn read_file(&self, path: &str) -> Result<Value, ResolveError> {
        let full = inside(&self.workdir, path)?;
        std::fs::read(&full)
            .map(Value::Bytes)
            .map_err(|e| ResolveError::File {
                path: path.to_owned(),
                reason: e.to_string(),
            })
    }

    fn env(&self, name: &str) -> Result<Value, ResolveError> {
        if !self.env_allow.iter().any(|allowed| allowed == name) {
            return Err(ResolveError::Invalid(format!(
                "environment variable `{name}` is not in the allow-list"
            )));
        }
        Ok(std::env::var(name)
            .map(Value::String)
            .unwrap_or(Value::Null))
    }
}

/// A value embedded in text.
fn as_text(value: &Value, inner: &str) -> Result<String, ResolveError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Bytes(_) => Err(ResolveError::Invalid(format!(
            "`<{inner}>` is binary and cannot be embedded in text; use it as the whole value"
        ))),
        Value::Null => Ok(String::new()),
        other => Ok(other.to_json().to_string()),
    }
}

/// Joins `relative` to `base`, refusing absolute paths, `..` escapes and
/// symlinks that resolve outside `base`: the same containment rule plugin
/// paths follow (`plug_manifest::paths::resolve_inside`).
pub fn inside(base: &Path, relative: &str) -> Result<PathBuf, ResolveError> {
    use plug_manifest::paths::{PathError, resolve_inside};
    let base = base.canonicalize().map_err(|e| ResolveError::File {
        path: base.display().to_string(),
        reason: e.to_string(),
    })?;
    resolve_inside(&base, relative).map_err(|e| match e {
        PathError::NotFound(_) => ResolveError::File {
            path: relative.to_owned(),
            reason: "no such file or directory".into(),
        },
        PathError::OutsideRoot(_) | PathError::SymlinkEscape(_) => {
            ResolveError::Invalid(format!("`{relative}` leaves the run's working directory"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        let mut scope = Scope::default();
        scope
            .params
            .insert("function_name".into(), Value::String("f".into()));
        scope
            .params
            .insert("memory".into(), Value::from(serde_json::json!(256)));
        scope.steps.push(StepResult {
            name: "create".into(),
            result: Value::from(serde_json::json!({"FunctionArn": "arn:aws:lambda:us-east-1:1:function:f", "Layers": [{"Arn": "l1"}]})),
            outputs: BTreeMap::new(),
        });
        scope
    }

    #[test]
    fn single_placeholders_keep_their_type_and_text_interpolates() {
        let s = scope();
        assert_eq!(
            s.resolve_str("<memory>"),
            Ok(Value::from(serde_json::json!(256)))
        );
        assert_eq!(
            s.resolve_str("fn-<function_name>-<memory>"),
            Ok(Value::String("fn-f-256".into()))
        );
        assert_eq!(
            s.resolve_str("<function_arn>"),
            Ok(Value::String(
                "arn:aws:lambda:us-east-1:1:function:f".into()
            ))
        );
        assert_eq!(
            s.resolve_str("<create.Layers.0.Arn>"),
            Ok(Value::String("l1".into()))
        );
        assert_eq!(
            s.resolve_str("<nope>"),
            Err(ResolveError::Missing("nope".into()))
        );
        assert_eq!(s.resolve_str("a < b"), Ok(Value::String("a < b".into())));
    }

    #[test]
    fn read_file_gives_bytes_and_stays_inside_the_workdir() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("f.zip"), [0u8, 159, 146, 150]).expect("write");
        let s = Scope {
            workdir: dir.path().to_path_buf(),
            ..Scope::default()
        };
        assert_eq!(
            s.resolve_str("<read_file:f.zip>"),
            Ok(Value::Bytes(vec![0, 159, 146, 150]))
        );
        assert!(
            s.resolve_str("x<read_file:f.zip>").is_err(),
            "bytes cannot be embedded in text"
        );
        assert!(s.resolve_str("<read_file:../etc/passwd>").is_err());
    }

    #[test]
    fn env_reads_only_allowed_variables() {
        let s = Scope {
            env_allow: vec!["PATH".into()],
            ..Scope::default()
        };
        assert!(matches!(s.resolve_str("<env:PATH>"), Ok(Value::String(_))));
        assert!(s.resolve_str("<env:AWS_SECRET_ACCESS_KEY>").is_err());
    }
}
