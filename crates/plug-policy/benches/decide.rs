//! Decision speed: one request against 20 identity statements (wildcards,
//! three conditions each), a permissions boundary and one SCP level; and the
//! `--requests` batch path including JSON parsing and output.
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use plug_core::ports::{ContextValue, PermissionRequest};
use plug_policy::input::{Batch, output_line};
use plug_policy::{NamedPolicy, PolicySet, parse_policy};
use serde_json::{Value, json};

const SERVICES: &[&str] = &["s3", "ec2", "lambda", "dynamodb", "sqs"];

fn identity_policy() -> Value {
    let statements: Vec<Value> = (0..20)
        .map(|i| {
            let svc = SERVICES[i % SERVICES.len()];
            json!({
                "Sid": format!("S{i}"),
                "Effect": if i % 7 == 6 { "Deny" } else { "Allow" },
                "Action": [format!("{svc}:Get*"), format!("{svc}:List*"), format!("{svc}:*Item{i}")],
                "Resource": format!("arn:aws:{svc}:*:111122223333:*/team-{i}/*"),
                "Condition": {
                    "StringEquals": {"aws:PrincipalTag/ActorType": ["agent", "human"]},
                    "IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "203.0.113.0/24"]},
                    "StringLike": {"aws:RequestedRegion": "us-*"}
                }
            })
        })
        .collect();
    json!({"Version": "2012-10-17", "Statement": statements})
}

fn boundary() -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:*", "ec2:*", "lambda:*", "dynamodb:*"], "Resource": "*"},
        {"Effect": "Deny", "Action": "iam:*", "Resource": "*"}]})
}

fn scp() -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "FullAWSAccess", "Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "NotAction": ["iam:*", "sts:*"], "Resource": "*",
         "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "us-west-2"]}}}]})
}

fn request() -> PermissionRequest {
    let mut context = std::collections::BTreeMap::new();
    context.insert(
        "aws:PrincipalTag/ActorType".into(),
        ContextValue::One("agent".into()),
    );
    context.insert("aws:SourceIp".into(), ContextValue::One("10.1.2.3".into()));
    context.insert(
        "aws:RequestedRegion".into(),
        ContextValue::One("us-east-1".into()),
    );
    PermissionRequest {
        principal: "arn:aws:sts::111122223333:assumed-role/agent/s1".into(),
        action: "dynamodb:GetItem".into(),
        resource: "arn:aws:dynamodb:us-east-1:111122223333:table/team-18/x".into(),
        resource_account: None,
        context,
    }
}

fn compile(name: &str, v: &Value) -> NamedPolicy {
    NamedPolicy::new(name, Arc::new(parse_policy(&v.to_string()).expect("valid")))
}

fn per_decision(c: &mut Criterion) {
    let set = PolicySet {
        identity: vec![compile("identity", &identity_policy())],
        boundaries: Some(vec![compile("boundary", &boundary())]),
        scps: Some(vec![vec![compile("scp", &scp())]]),
        ..PolicySet::default()
    };
    let req = request();
    let verdict = set.evaluate(&req).expect("valid");
    assert_eq!(verdict.decision, plug_core::ports::Decision::Allow);
    c.bench_function("decision/20-statements+boundary+scp", |b| {
        b.iter(|| set.evaluate(black_box(&req)))
    });
}

fn batch(c: &mut Criterion) {
    let identity = identity_policy();
    let (bnd, scp) = (boundary(), scp());
    let actions = [
        "dynamodb:GetItem",
        "s3:GetObject",
        "ec2:DescribeInstances",
        "lambda:ListFunctions",
    ];
    let lines: Vec<String> = (0..1000)
        .map(|i| {
            let svc = actions[i % actions.len()];
            json!({
                "request": {
                    "principal": "arn:aws:sts::111122223333:assumed-role/agent/s1",
                    "action": svc,
                    "resource": format!("arn:aws:{}:us-east-1:111122223333:thing/team-{}/x", svc.split(':').next().unwrap_or("s3"), i % 20),
                    "context": {"aws:PrincipalTag/ActorType": "agent", "aws:SourceIp": "10.1.2.3", "aws:RequestedRegion": "us-east-1"}
                },
                "identityPolicies": [identity],
                "permissionsBoundaries": [bnd],
                "serviceControlPolicies": [[scp]]
            })
            .to_string()
        })
        .collect();
    let mut group = c.benchmark_group("batch");
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.bench_function("jsonl-1000-lines", |b| {
        b.iter(|| {
            let mut batch = Batch::new();
            let mut bytes = 0;
            for line in &lines {
                bytes += output_line(&batch.evaluate_line(line)).len();
            }
            bytes
        })
    });
    group.finish();
}

/// Hardening issue, item 16: one request whose identity policy has
/// `statements` statements, each with its own Sid, as one JSON line (what
/// `plugctl policy eval --requests` reads): 20,000 took 4 s, and 150,000
/// did not finish in two minutes (columns counted from the line's start).
fn huge_policy(c: &mut Criterion) {
    let mut group = c.benchmark_group("huge_policy");
    group.sample_size(10);
    for statements in [20_000, 150_000] {
        let policy: Vec<Value> = (0..statements)
            .map(|i| json!({"Sid": format!("S{i}"), "Effect": "Allow", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::b{i}/*")}))
            .collect();
        let line = json!({
            "request": {"principal": "arn:aws:iam::111122223333:user/alice", "action": "s3:GetObject", "resource": "arn:aws:s3:::b7/x"},
            "identityPolicies": [{"Version": "2012-10-17", "Statement": policy}]
        })
        .to_string();
        group.throughput(Throughput::Elements(statements));
        group.bench_function(format!("eval-{statements}-sids"), |b| {
            b.iter(|| output_line(&Batch::new().evaluate_line(black_box(&line))).len())
        });
    }
    group.finish();
}

criterion_group!(benches, per_decision, batch, huge_policy);
criterion_main!(benches);
