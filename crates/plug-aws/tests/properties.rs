//! No panic on user input: any JSON params, for operations of every protocol,
//! are either validated and serialized or refused with an error.

use plug_aws::client::build_request;
use plug_aws::endpoint::{self, EndpointOverrides};
use plug_aws::model::Models;
use plug_aws::validate_call;
use plug_core::Value;
use proptest::prelude::*;
use serde_json::Value as Json;

const OPERATIONS: &[(&str, &str)] = &[
    ("lambda", "CreateFunction"),
    ("lambda", "UpdateFunctionCode"),
    ("s3", "PutObject"),
    ("s3", "PutBucketTagging"),
    ("sts", "AssumeRole"),
    ("sns", "Publish"),
    ("ec2", "DescribeVpcs"),
    ("dynamodb", "PutItem"),
    ("cloudwatch", "PutMetricData"),
];

fn json() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(Json::from),
        any::<f64>().prop_map(Json::from),
        "\\PC{0,16}".prop_map(Json::String),
        Just(Json::String("<placeholder>".into())),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
            prop::collection::btree_map(
                prop_oneof![
                    "\\PC{0,8}",
                    Just("FunctionName".to_owned()),
                    Just("Tags".to_owned()),
                    Just("Bucket".to_owned()),
                    Just("Key".to_owned()),
                    Just("Filters".to_owned())
                ],
                inner,
                0..5
            )
            .prop_map(|m| Json::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn any_params_are_checked_or_refused_without_panicking(
        params in json(),
        which in 0..OPERATIONS.len(),
    ) {
        let (service, operation) = OPERATIONS[which];
        let problems = validate_call(service, operation, &params);
        let model = Models::global().get(service).expect("bundled");
        let op = model.operation(operation).expect("operation");
        let endpoint = endpoint::resolve(&model, "us-east-1", &EndpointOverrides::default()).expect("endpoint");
        let serialized = build_request(&model, op, &Value::from(params.clone()), &endpoint);
        // A call that validates clean (and has no placeholders) must serialize.
        // The validator takes any `<...>` in a string for a placeholder
        // resolved later (`"<>"` included), so such params are left out here.
        let text = params.to_string();
        let has_placeholder = text.find('<').is_some_and(|open| text[open..].contains('>'));
        if problems.is_empty() && !has_placeholder {
            prop_assert!(serialized.is_ok() || params.is_null(), "{service}:{operation} {params} -> {serialized:?}");
        }
    }
}
