//! Static checks of an AWS call against the model, without network: unknown
//! service or operation (with a suggestion), unknown or mistyped members,
//! missing required members.
//!
//! `plugctl validate` runs these on every `aws_api` step, where values may
//! still be placeholders (`<function_name>`): a placeholder fits any type.
//! The invoker runs the same checks on resolved params before sending.

use std::fmt;

use plug_core::Value;
use serde::Serialize;

use crate::model::{ModelError, Models, Operation, ServiceModel, ShapeRef, suggest};
use crate::timestamp;

/// What kind of problem a call has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// No bundled model has this service.
    UnknownService,
    /// The service has no such operation.
    UnknownOperation,
    /// The params name a member the input shape lacks.
    UnknownMember,
    /// A value does not fit its member's type.
    WrongType,
    /// A required member is absent.
    MissingRequired,
}

/// One problem with a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallProblem {
    /// The kind.
    pub kind: ProblemKind,
    /// The member path (`Code.ZipFile`, `Tags[0].Key`); empty for the call itself.
    pub path: String,
    /// A one-line explanation.
    pub message: String,
    /// The closest valid name, when one is close.
    pub suggestion: Option<String>,
}

impl fmt::Display for CallProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)?;
        if let Some(s) = &self.suggestion {
            write!(f, " (did you mean `{s}`?)")?;
        }
        Ok(())
    }
}

/// Checks one call as a skill writes it: `service`, `operation` (either naming
/// style) and JSON params whose strings may be placeholders.
pub fn validate_call(
    service: &str,
    operation: &str,
    params: &serde_json::Value,
) -> Vec<CallProblem> {
    let model = match Models::global().get(service) {
        Ok(model) => model,
        Err(ModelError::UnknownService { suggestion, .. }) => {
            return vec![CallProblem {
                kind: ProblemKind::UnknownService,
                path: String::new(),
                message: format!("unknown AWS service `{service}`"),
                suggestion,
            }];
        }
        Err(other) => {
            return vec![CallProblem {
                kind: ProblemKind::UnknownService,
                path: String::new(),
                message: other.to_string(),
                suggestion: None,
            }];
        }
    };
    let Some(op) = model.operation(operation) else {
        return vec![CallProblem {
            kind: ProblemKind::UnknownOperation,
            path: String::new(),
            message: format!("service `{service}` has no operation `{operation}`"),
            suggestion: suggest(operation, model.operation_names())
                .map(|s| botocore_style_like(operation, &s)),
        }];
    };
    check_params(&model, op, &Value::from(params.clone()), true)
}

/// Suggests in the style the user wrote: `update_function_code` for snake_case input.
pub(crate) fn botocore_style_like(written: &str, api_name: &str) -> String {
    if written.contains('_')
        || written
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase())
    {
        to_snake_case(api_name)
    } else {
        api_name.to_owned()
    }
}

/// botocore's `xform_name`: `ListObjectsV2` -> `list_objects_v2`, `GetAPIKey` -> `get_api_key`.
pub fn to_snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1).copied();
        let boundary = match prev {
            None => false,
            Some(p) if c.is_ascii_uppercase() => {
                p.is_ascii_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_ascii_uppercase() && next.is_some_and(|n| n.is_ascii_lowercase()))
            }
            Some(p) => c.is_ascii_digit() && p.is_ascii_lowercase() && i + 1 == chars.len(),
        };
        if boundary {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// Checks params against an operation's input. With `placeholders`, strings
/// that contain `<...>` fit any type (they are resolved at run time).
pub fn check_params(
    model: &ServiceModel,
    operation: &Operation,
    params: &Value,
    placeholders: bool,
) -> Vec<CallProblem> {
    let mut checker = Checker {
        model,
        placeholders,
        problems: Vec::new(),
    };
    match &operation.input {
        Some(input) => checker.value(input, params, ""),
        None => {
            if let Value::Map(map) = params
                && let Some(key) = map.keys().next()
            {
                checker.problem(
                    ProblemKind::UnknownMember,
                    key,
                    "the operation takes no params".into(),
                    None,
                );
            }
        }
    }
    checker.problems
}

struct Checker<'m> {
    model: &'m ServiceModel,
    placeholders: bool,
    problems: Vec<CallProblem>,
}

impl Checker<'_> {
    fn problem(
        &mut self,
        kind: ProblemKind,
        path: &str,
        message: String,
        suggestion: Option<String>,
    ) {
        self.problems.push(CallProblem {
            kind,
            path: path.to_owned(),
            message,
            suggestion,
        });
    }

    fn is_placeholder(&self, value: &Value) -> bool {
        self.placeholders
            && value
                .as_str()
                .is_some_and(|s| s.find('<').is_some_and(|open| s[open..].contains('>')))
    }

    fn value(&mut self, shape_ref: &ShapeRef, value: &Value, path: &str) {
        if *value == Value::Null || self.is_placeholder(value) {
            return;
        }
        let Some(shape) = self.model.shape(&shape_ref.shape) else {
            return;
        };
        if shape.document {
            return;
        }
        let fits = match (shape.kind.as_str(), value) {
            ("structure", Value::Map(_)) => {
                self.structure(shape_ref, value, path);
                true
            }
            ("list", Value::List(items)) => {
                if let Some(member) = shape.member.as_deref() {
                    for (i, item) in items.iter().enumerate() {
                        self.value(member, item, &format!("{path}[{i}]"));
                    }
                }
                true
            }
            ("map", Value::Map(entries)) => {
                if let Some(value_ref) = shape.value.as_deref() {
                    for (key, item) in entries {
                        self.value(value_ref, item, &join(path, key));
                    }
                }
                true
            }
            ("string", v) => matches!(v, Value::String(_) | Value::Bytes(_)),
            ("integer" | "long", Value::Number(n)) => n.is_i64() || n.is_u64(),
            ("integer" | "long", Value::String(s)) => s.trim().parse::<i64>().is_ok(),
            ("float" | "double", Value::Number(_)) => true,
            ("float" | "double", Value::String(s)) => s.trim().parse::<f64>().is_ok(),
            ("boolean", Value::Bool(_)) => true,
            ("boolean", Value::String(s)) => {
                s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false")
            }
            ("timestamp", Value::Number(_)) => true,
            ("timestamp", Value::String(s)) => timestamp::parse_any(s).is_some(),
            ("blob", v) => matches!(v, Value::Bytes(_) | Value::String(_)),
            _ => false,
        };
        if !fits {
            let message = format!(
                "expected {}, got {}",
                describe_kind(&shape.kind),
                describe_value(value)
            );
            self.problem(ProblemKind::WrongType, path, message, None);
        }
    }

    fn structure(&mut self, shape_ref: &ShapeRef, value: &Value, path: &str) {
        let (Some(shape), Value::Map(map)) = (self.model.shape(&shape_ref.shape), value) else {
            return;
        };
        for (key, item) in map {
            match shape.members.get(key) {
                Some(member) => self.value(member, item, &join(path, key)),
                None => {
                    let suggestion = suggest(key, shape.members.keys().map(String::as_str));
                    self.problem(
                        ProblemKind::UnknownMember,
                        &join(path, key),
                        "unknown member".into(),
                        suggestion,
                    );
                }
            }
        }
        for required in &shape.required {
            let present = map.get(required).is_some_and(|v| *v != Value::Null);
            let auto_filled = shape
                .members
                .get(required)
                .is_some_and(|m| m.idempotency_token);
            if !present && !auto_filled {
                self.problem(
                    ProblemKind::MissingRequired,
                    &join(path, required),
                    "required member is missing".into(),
                    None,
                );
            }
            // The serializer refuses an empty URI label (it would change the
            // path), so the check must refuse it too.
            let in_uri = shape
                .members
                .get(required)
                .is_some_and(|m| m.location.as_deref() == Some("uri"));
            let empty = matches!(map.get(required), Some(Value::String(s)) if s.is_empty());
            if in_uri && empty {
                self.problem(
                    ProblemKind::MissingRequired,
                    &join(path, required),
                    "required member is empty, and the request URI needs it".into(),
                    None,
                );
            }
        }
    }
}

fn join(path: &str, member: &str) -> String {
    if path.is_empty() {
        member.to_owned()
    } else {
        format!("{path}.{member}")
    }
}

fn describe_kind(kind: &str) -> &'static str {
    match kind {
        "structure" => "a map of members",
        "list" => "a list",
        "map" => "a map",
        "string" => "a string",
        "integer" | "long" => "an integer",
        "float" | "double" => "a number",
        "boolean" => "true or false",
        "timestamp" => "a timestamp",
        "blob" => "bytes or base64 text",
        _ => "a supported value",
    }
}

fn describe_value(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Bytes(_) => "bytes",
        Value::List(_) => "a list",
        Value::Map(_) => "a map",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kinds(problems: &[CallProblem]) -> Vec<(ProblemKind, &str)> {
        problems.iter().map(|p| (p.kind, p.path.as_str())).collect()
    }

    #[test]
    fn a_correct_call_with_placeholders_has_no_problems() {
        let params = json!({"FunctionName": "<function_name>", "ZipFile": "<read_file:function.zip>", "Publish": true});
        assert_eq!(
            validate_call("lambda", "update_function_code", &params),
            vec![]
        );
    }

    #[test]
    fn the_seed_skill_calls_validate_clean() {
        // plugins/aws-deployment-assistant/skills/deploy-lambda.yaml, as written.
        let calls = [
            (
                "update_function_code",
                json!({"FunctionName": "<function_name>", "ZipFile": "<read_file:function.zip>"}),
            ),
            (
                "create_function",
                json!({"FunctionName": "<function_name>", "Runtime": "python3.11", "Role": "<iam_role_arn>",
                       "Handler": "index.handler", "Code": {"ZipFile": "<read_file:function.zip>"}}),
            ),
            (
                "tag_resource",
                json!({"Resource": "<function_arn>", "Tags": {"DeployedBy": "agent", "DeployedAt": "<timestamp>"}}),
            ),
        ];
        for (operation, params) in calls {
            assert_eq!(
                validate_call("lambda", operation, &params),
                vec![],
                "{operation}"
            );
        }
    }

    #[test]
    fn misspelled_operation_is_suggested_in_the_same_style() {
        let problems = validate_call("lambda", "update_function_cod", &json!({}));
        assert_eq!(problems[0].kind, ProblemKind::UnknownOperation);
        assert_eq!(
            problems[0].suggestion.as_deref(),
            Some("update_function_code")
        );
        let problems = validate_call("lambda", "UpdateFunctionCod", &json!({}));
        assert_eq!(
            problems[0].suggestion.as_deref(),
            Some("UpdateFunctionCode")
        );
    }

    #[test]
    fn unknown_service_is_suggested() {
        let problems = validate_call("lamda", "list_functions", &json!({}));
        assert_eq!(problems[0].kind, ProblemKind::UnknownService);
        assert_eq!(problems[0].suggestion.as_deref(), Some("lambda"));
    }

    #[test]
    fn members_are_checked_deeply() {
        let params = json!({
            "FunctionName": "f",
            "Role": "arn:aws:iam::1:role/r",
            "Code": {"ZipFle": "UEs="},
            "MemorySize": "lots",
            "Tags": {"team": 3},
        });
        let problems = validate_call("lambda", "CreateFunction", &params);
        assert_eq!(
            kinds(&problems),
            vec![
                (ProblemKind::UnknownMember, "Code.ZipFle"),
                (ProblemKind::WrongType, "MemorySize"),
                (ProblemKind::WrongType, "Tags.team"),
            ]
        );
        assert_eq!(problems[0].suggestion.as_deref(), Some("ZipFile"));
    }

    #[test]
    fn required_members_are_reported_and_idempotency_tokens_are_not() {
        let problems = validate_call("lambda", "update_function_code", &json!({}));
        assert_eq!(
            kinds(&problems),
            vec![(ProblemKind::MissingRequired, "FunctionName")]
        );
        // ClientToken is required by the model but filled in automatically.
        let params = json!({"Source": "eni-1", "Protocol": "tcp"});
        assert_eq!(
            validate_call("ec2", "create_network_insights_path", &params),
            vec![]
        );
    }

    #[test]
    fn an_empty_uri_label_is_refused_as_the_serializer_would() {
        let problems = validate_call(
            "lambda",
            "update_function_code",
            &json!({"FunctionName": ""}),
        );
        assert_eq!(
            kinds(&problems),
            vec![(ProblemKind::MissingRequired, "FunctionName")]
        );
    }

    #[test]
    fn snake_case_matches_botocore() {
        for (api, snake) in [
            ("ListObjectsV2", "list_objects_v2"),
            ("UpdateFunctionCode", "update_function_code"),
            ("DescribeVpcs", "describe_vpcs"),
            ("GetCallerIdentity", "get_caller_identity"),
        ] {
            assert_eq!(to_snake_case(api), snake);
        }
    }
}
