//! Serialize + sign one request: the per-call overhead plug-aws adds before
//! the network (target: at most 50 µs median).

use std::hint::black_box;
use std::time::SystemTime;

use aws_credential_types::Credentials;
use criterion::{Criterion, criterion_group, criterion_main};
use plug_aws::client::build_request;
use plug_aws::endpoint::{self, EndpointOverrides};
use plug_aws::model::Models;
use plug_aws::signing::{SigningScope, sign_request};
use plug_core::Value;

fn serialize_and_sign(c: &mut Criterion) {
    let credentials = Credentials::new(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        Some("token".into()),
        None,
        "bench",
    );
    let cases = [
        ("lambda", "update_function_code", {
            let mut params =
                Value::from(serde_json::json!({"FunctionName": "my-function", "Publish": true}));
            if let Value::Map(map) = &mut params {
                map.insert("ZipFile".into(), Value::Bytes(vec![7u8; 4096]));
            }
            params
        }),
        ("sts", "get_caller_identity", Value::Map(Default::default())),
        (
            "ec2",
            "describe_vpcs",
            Value::from(
                serde_json::json!({"Filters": [{"Name": "tag:ActorType", "Values": ["agent"]}]}),
            ),
        ),
    ];
    for (service, operation, params) in cases {
        let model = Models::global().get(service).expect("bundled model");
        let op = model.operation(operation).expect("operation");
        let endpoint = endpoint::resolve(&model, "us-east-1", &EndpointOverrides::default())
            .expect("endpoint");
        let signing_name = model.metadata.signing_name().to_owned();
        c.bench_function(&format!("serialize+sign {service}:{operation}"), |b| {
            b.iter(|| {
                let mut request =
                    build_request(&model, op, black_box(&params), &endpoint).expect("serializes");
                let scope = SigningScope {
                    region: &endpoint.signing_region,
                    service: &signing_name,
                    time: SystemTime::now(),
                };
                sign_request(&mut request, &credentials, scope).expect("signs");
                request
            })
        });
    }
}

criterion_group!(benches, serialize_and_sign);
criterion_main!(benches);
