//! The IAM actions an operation needs, for the permission checker and
//! `plugctl check`.
//!
//! botocore has no such mapping. For most operations the action is the
//! service's IAM prefix and the operation name (`lambda:UpdateFunctionCode`);
//! the known exceptions are listed here. Where the actions depend on the
//! params (DynamoDB transactions and PartiQL), [`iam_actions_for_call`] looks
//! at them.

use plug_core::Value;

use crate::model::{ModelError, Models};

/// Why actions could not be derived.
pub type ActionError = ModelError;

/// The IAM actions of an operation, without looking at params.
///
/// For DynamoDB transactions and PartiQL this lists every action the call
/// could need; [`iam_actions_for_call`] narrows them using the params.
pub fn iam_actions(service: &str, operation: &str) -> Result<Vec<String>, ActionError> {
    let (prefix, name) = resolve(service, operation)?;
    Ok(actions(&prefix, &name, None))
}

/// The IAM actions of a concrete call.
pub fn iam_actions_for_call(
    service: &str,
    operation: &str,
    params: &Value,
) -> Result<Vec<String>, ActionError> {
    let (prefix, name) = resolve(service, operation)?;
    Ok(actions(&prefix, &name, Some(params)))
}

/// The IAM prefix and the operation's API name.
fn resolve(service: &str, operation: &str) -> Result<(String, String), ActionError> {
    let model = Models::global().get(service)?;
    let op = model
        .operation(operation)
        .ok_or_else(|| ModelError::UnknownOperation {
            service: service.to_owned(),
            name: operation.to_owned(),
            suggestion: crate::model::suggest(operation, model.operation_names()),
        })?;
    let prefix = match model.metadata.signing_name() {
        "monitoring" => "cloudwatch",
        other => other,
    };
    Ok((prefix.to_owned(), op.name.clone()))
}

fn actions(prefix: &str, name: &str, params: Option<&Value>) -> Vec<String> {
    let named = |names: &[&str]| {
        names
            .iter()
            .map(|n| format!("{prefix}:{n}"))
            .collect::<Vec<_>>()
    };
    if let Some(special) = exception(prefix, name) {
        return named(special);
    }
    if prefix == "dynamodb"
        && let Some(list) = dynamodb_actions(name, params)
    {
        return list.into_iter().map(|n| format!("dynamodb:{n}")).collect();
    }
    if (prefix == "sqs" || prefix == "sns") && name.ends_with("Batch") {
        return named(&[name.trim_end_matches("Batch")]);
    }
    named(&[name])
}

/// Operations whose action is not their own name.
fn exception(prefix: &str, name: &str) -> Option<&'static [&'static str]> {
    Some(match (prefix, name) {
        ("s3", "ListObjects" | "ListObjectsV2" | "HeadBucket") => &["ListBucket"],
        ("s3", "ListObjectVersions") => &["ListBucketVersions"],
        ("s3", "ListBuckets") => &["ListAllMyBuckets"],
        ("s3", "HeadObject" | "GetObjectAttributes") => &["GetObject"],
        ("s3", "CreateMultipartUpload" | "UploadPart" | "CompleteMultipartUpload") => {
            &["PutObject"]
        }
        ("s3", "UploadPartCopy" | "CopyObject") => &["PutObject", "GetObject"],
        ("s3", "ListParts") => &["ListMultipartUploadParts"],
        ("s3", "ListMultipartUploads") => &["ListBucketMultipartUploads"],
        ("s3", "DeleteObjects") => &["DeleteObject"],
        ("s3", "PutBucketLifecycleConfiguration" | "DeleteBucketLifecycle") => {
            &["PutLifecycleConfiguration"]
        }
        ("s3", "GetBucketLifecycleConfiguration") => &["GetLifecycleConfiguration"],
        ("s3", "PutBucketNotificationConfiguration") => &["PutBucketNotification"],
        ("s3", "GetBucketNotificationConfiguration") => &["GetBucketNotification"],
        ("s3", "PutBucketEncryption" | "DeleteBucketEncryption") => &["PutEncryptionConfiguration"],
        ("s3", "GetBucketEncryption") => &["GetEncryptionConfiguration"],
        ("s3", "PutBucketReplication" | "DeleteBucketReplication") => {
            &["PutReplicationConfiguration"]
        }
        ("s3", "GetBucketReplication") => &["GetReplicationConfiguration"],
        ("s3", "PutBucketCors" | "DeleteBucketCors") => &["PutBucketCORS"],
        ("s3", "GetBucketCors") => &["GetBucketCORS"],
        ("s3", "DeleteBucketTagging") => &["PutBucketTagging"],
        ("s3", "DeleteBucketWebsite") => &["DeleteBucketWebsite"],
        ("lambda", "Invoke" | "InvokeWithResponseStream") => &["InvokeFunction"],
        ("lambda", "InvokeAsync") => &["InvokeAsync", "InvokeFunction"],
        ("kms", "ReEncrypt") => &["ReEncryptFrom", "ReEncryptTo"],
        _ => return None,
    })
}

/// DynamoDB operations that act per item: transactions, batches and PartiQL.
fn dynamodb_actions(name: &str, params: Option<&Value>) -> Option<Vec<String>> {
    let all = |names: &[&str]| Some(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>());
    match name {
        "TransactWriteItems" => match params.and_then(|p| p.get("TransactItems")) {
            Some(Value::List(items)) => Some(dedup(items.iter().flat_map(|item| {
                [
                    ("Put", "PutItem"),
                    ("Update", "UpdateItem"),
                    ("Delete", "DeleteItem"),
                    ("ConditionCheck", "ConditionCheckItem"),
                ]
                .into_iter()
                .filter(|(key, _)| item.get(key).is_some())
                .map(|(_, action)| action.to_owned())
            }))),
            _ => all(&["PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem"]),
        },
        "TransactGetItems" => all(&["GetItem"]),
        "ExecuteStatement" => Some(partiql(params.and_then(|p| p.get("Statement")).into_iter())),
        "BatchExecuteStatement" => Some(partiql(statements(params, "Statements"))),
        "ExecuteTransaction" => Some(partiql(statements(params, "TransactStatements"))),
        _ => None,
    }
}

fn statements<'a>(params: Option<&'a Value>, list: &str) -> impl Iterator<Item = &'a Value> + 'a {
    let items: Vec<&Value> = match params.and_then(|p| p.get(list)) {
        Some(Value::List(items)) => items.iter().filter_map(|i| i.get("Statement")).collect(),
        _ => Vec::new(),
    };
    items.into_iter()
}

/// PartiQL actions by statement verb; without statements, every verb.
fn partiql<'a>(statements: impl Iterator<Item = &'a Value>) -> Vec<String> {
    let verbs: Vec<String> = statements
        .filter_map(Value::as_str)
        .filter_map(|s| s.split_whitespace().next())
        .filter_map(|verb| match verb.to_ascii_uppercase().as_str() {
            "SELECT" => Some("PartiQLSelect".to_owned()),
            "INSERT" => Some("PartiQLInsert".to_owned()),
            "UPDATE" => Some("PartiQLUpdate".to_owned()),
            "DELETE" => Some("PartiQLDelete".to_owned()),
            _ => None,
        })
        .collect();
    if verbs.is_empty() {
        [
            "PartiQLSelect",
            "PartiQLInsert",
            "PartiQLUpdate",
            "PartiQLDelete",
        ]
        .map(str::to_owned)
        .to_vec()
    } else {
        dedup(verbs.into_iter())
    }
}

fn dedup(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn of(service: &str, op: &str) -> Vec<String> {
        iam_actions(service, op).expect("known operation")
    }

    #[test]
    fn most_operations_are_prefix_and_name() {
        assert_eq!(
            of("lambda", "update_function_code"),
            ["lambda:UpdateFunctionCode"]
        );
        assert_eq!(of("logs", "PutLogEvents"), ["logs:PutLogEvents"]);
        assert_eq!(of("ec2", "describe_vpcs"), ["ec2:DescribeVpcs"]);
    }

    #[test]
    fn cloudwatch_uses_its_iam_prefix_not_the_endpoint_prefix() {
        assert_eq!(
            of("cloudwatch", "PutMetricData"),
            ["cloudwatch:PutMetricData"]
        );
    }

    #[test]
    fn known_exceptions() {
        assert_eq!(of("s3", "list_objects_v2"), ["s3:ListBucket"]);
        assert_eq!(of("s3", "HeadObject"), ["s3:GetObject"]);
        assert_eq!(of("s3", "ListBuckets"), ["s3:ListAllMyBuckets"]);
        assert_eq!(of("s3", "UploadPart"), ["s3:PutObject"]);
        assert_eq!(of("s3", "DeleteObjects"), ["s3:DeleteObject"]);
        assert_eq!(of("lambda", "Invoke"), ["lambda:InvokeFunction"]);
        assert_eq!(of("sqs", "SendMessageBatch"), ["sqs:SendMessage"]);
        assert_eq!(of("sns", "PublishBatch"), ["sns:Publish"]);
        assert_eq!(
            of("kms", "ReEncrypt"),
            ["kms:ReEncryptFrom", "kms:ReEncryptTo"]
        );
    }

    #[test]
    fn dynamodb_item_actions_follow_the_params() {
        let params = Value::from(json!({"TransactItems": [
            {"Put": {"TableName": "t", "Item": {}}},
            {"ConditionCheck": {"TableName": "t", "Key": {}, "ConditionExpression": "x"}},
            {"Put": {"TableName": "t", "Item": {}}},
        ]}));
        assert_eq!(
            iam_actions_for_call("dynamodb", "TransactWriteItems", &params).expect("known"),
            ["dynamodb:PutItem", "dynamodb:ConditionCheckItem"]
        );
        let select = Value::from(json!({"Statement": "select * from t"}));
        assert_eq!(
            iam_actions_for_call("dynamodb", "ExecuteStatement", &select).expect("known"),
            ["dynamodb:PartiQLSelect"]
        );
        assert_eq!(of("dynamodb", "ExecuteStatement").len(), 4);
    }

    #[test]
    fn unknown_operations_are_errors() {
        assert!(iam_actions("lambda", "update_function_cod").is_err());
    }
}
