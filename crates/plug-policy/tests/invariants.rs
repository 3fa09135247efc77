//! Properties that hold for every policy set and request.
#![allow(missing_docs)]

use std::sync::Arc;

use plug_core::ports::{ContextValue, Decision, PermissionRequest};
use plug_policy::{NamedPolicy, PolicySet, parse_policy};
use proptest::prelude::*;
use serde_json::{Value, json};

const ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:PutObject",
    "s3:*",
    "ec2:RunInstances",
    "ec2:*",
    "*",
    "s3:Get*",
];
const RESOURCES: &[&str] = &[
    "*",
    "arn:aws:s3:::b/*",
    "arn:aws:s3:::b/k",
    "arn:aws:ec2:us-east-1:111122223333:instance/*",
];
const PRINCIPALS: &[&str] = &[
    "arn:aws:iam::111122223333:user/alice",
    "arn:aws:sts::111122223333:assumed-role/agent/s1",
    "arn:aws:iam::444455556666:user/bob",
];

fn statement() -> impl Strategy<Value = Value> {
    (
        any::<bool>(),
        any::<bool>(),
        prop::sample::subsequence(ACTIONS.to_vec(), 1..3),
        prop::sample::select(RESOURCES.to_vec()),
        prop::option::of(prop::sample::select(vec!["agent", "human"])),
    )
        .prop_map(|(allow, not_action, actions, resource, tag)| {
            let mut s = json!({"Effect": if allow {"Allow"} else {"Deny"}, "Resource": resource});
            s[if not_action { "NotAction" } else { "Action" }] = json!(actions);
            if let Some(tag) = tag {
                s["Condition"] = json!({"StringEquals": {"aws:PrincipalTag/ActorType": tag}});
            }
            s
        })
}

fn policy() -> impl Strategy<Value = Vec<Value>> {
    prop::collection::vec(statement(), 1..5)
}

fn compile(name: &str, statements: &[Value]) -> NamedPolicy {
    let text = json!({"Version": "2012-10-17", "Statement": statements}).to_string();
    NamedPolicy::new(
        name,
        Arc::new(parse_policy(&text).expect("generated policies are valid")),
    )
}

#[derive(Debug, Clone)]
struct Setup {
    identity: Vec<Vec<Value>>,
    boundary: Option<Vec<Value>>,
    scp: Option<Vec<Value>>,
    request: PermissionRequest,
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        prop::collection::vec(policy(), 0..3),
        prop::option::of(policy()),
        prop::option::of(policy()),
        prop::sample::select(PRINCIPALS.to_vec()),
        prop::sample::select(vec![
            "s3:GetObject",
            "s3:PutObject",
            "ec2:RunInstances",
            "iam:CreateUser",
        ]),
        prop::sample::select(vec![
            "arn:aws:s3:::b/k",
            "arn:aws:ec2:us-east-1:111122223333:instance/i-1",
        ]),
        prop::option::of(prop::sample::select(vec!["agent", "human"])),
    )
        .prop_map(
            |(identity, boundary, scp, principal, action, resource, tag)| {
                let mut context = std::collections::BTreeMap::new();
                if let Some(tag) = tag {
                    context.insert(
                        "aws:PrincipalTag/ActorType".into(),
                        ContextValue::One(tag.into()),
                    );
                }
                Setup {
                    identity,
                    boundary,
                    scp,
                    request: PermissionRequest {
                        principal: principal.into(),
                        action: action.into(),
                        resource: resource.into(),
                        resource_account: Some("111122223333".into()),
                        context,
                    },
                }
            },
        )
}

fn build(s: &Setup) -> PolicySet {
    build_with(s, None)
}

/// The set, with `beside` (a policy read leniently) added next to each
/// identity policy and SCP when given.
fn build_with(s: &Setup, beside: Option<&NamedPolicy>) -> PolicySet {
    let mut identity: Vec<NamedPolicy> = s
        .identity
        .iter()
        .enumerate()
        .map(|(i, p)| compile(&format!("id{i}"), p))
        .collect();
    identity.extend(beside.cloned());
    PolicySet {
        identity,
        boundaries: s.boundary.as_ref().map(|b| vec![compile("boundary", b)]),
        scps: s.scp.as_ref().map(|p| {
            let mut level = vec![compile("scp", p)];
            level.extend(beside.cloned());
            vec![level]
        }),
        ..PolicySet::default()
    }
}

/// Action strings AWS stores but that never match a request.
const INVALID_ACTIONS: &[&str] = &[
    "s3:GetObject,PutObject",
    " s3:GetObject",
    "s3:",
    "",
    "ec2:Run Instances",
    "GetObject",
];

fn decide(s: &Setup) -> (Decision, Vec<String>) {
    let v = build(s).evaluate(&s.request).expect("valid request");
    let mut layers: Vec<String> = v.blocked_by.iter().map(|l| format!("{l:?}")).collect();
    layers.sort();
    (v.decision, layers)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// A matching, unconditional Deny anywhere decides, whatever else allows.
    #[test]
    fn explicit_deny_always_wins(mut s in setup(), layer in 0..3usize) {
        let deny = json!({"Effect": "Deny", "Action": s.request.action, "Resource": s.request.resource});
        match layer {
            0 => s.identity.push(vec![deny]),
            1 => s.boundary.get_or_insert_with(Vec::new).push(deny),
            _ => s.scp.get_or_insert_with(Vec::new).push(deny),
        }
        prop_assert_eq!(decide(&s).0, Decision::ExplicitDeny);
    }

    /// Reordering statements inside policies changes nothing.
    #[test]
    fn statement_order_never_matters(s in setup(), seed in any::<u64>()) {
        let before = decide(&s);
        let mut shuffled = s.clone();
        let rotate = |v: &mut Vec<Value>| { let n = v.len(); if n > 0 { v.rotate_left((seed as usize) % n); v.reverse(); } };
        shuffled.identity.iter_mut().for_each(rotate);
        shuffled.identity.reverse();
        if let Some(b) = shuffled.boundary.as_mut() { rotate(b); }
        if let Some(p) = shuffled.scp.as_mut() { rotate(p); }
        prop_assert_eq!(before, decide(&shuffled));
    }

    /// An Allow for actions the request is not about cannot turn a deny into an allow.
    #[test]
    fn unrelated_allow_never_changes_a_deny(mut s in setup(), layer in 0..3usize) {
        let before = decide(&s).0;
        let unrelated = json!({"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"});
        match layer {
            0 => s.identity.push(vec![unrelated]),
            1 => if let Some(b) = s.boundary.as_mut() { b.push(unrelated) },
            _ => if let Some(p) = s.scp.as_mut() { p.push(unrelated) },
        }
        let after = decide(&s).0;
        if before != Decision::Allow {
            prop_assert_eq!(before, after);
        }
    }

    /// What a lenient reading accepts (invalid action strings, an empty
    /// Statement list) never changes the decision of policies that parse
    /// strictly: invalid actions match nothing and exclude nothing, and an
    /// empty policy beside others allows and denies nothing.
    #[test]
    fn lenient_additions_never_change_a_strict_decision(
        s in setup(),
        which in any::<prop::sample::Index>(),
        invalid in prop::sample::subsequence(INVALID_ACTIONS.to_vec(), 1..3),
        empty_beside in any::<bool>(),
    ) {
        let before = decide(&s);
        let mut lenient = s.clone();
        let statements: Vec<&mut Value> = lenient
            .identity
            .iter_mut()
            .chain(lenient.boundary.iter_mut())
            .chain(lenient.scp.iter_mut())
            .flatten()
            .collect();
        if !statements.is_empty() {
            let n = statements.len();
            let statement = statements.into_iter().nth(which.index(n)).expect("in range");
            let key = if statement.get("NotAction").is_some() { "NotAction" } else { "Action" };
            let list = statement[key].as_array_mut().expect("actions are a list");
            list.extend(invalid.iter().map(|a| json!(a)));
        }
        let empty = NamedPolicy::new(
            "empty",
            Arc::new(parse_policy(r#"{"Version": "2012-10-17", "Statement": []}"#).expect("lenient")),
        );
        let beside = empty_beside.then_some(&empty);
        let v = build_with(&lenient, beside).evaluate(&lenient.request).expect("valid request");
        let mut layers: Vec<String> = v.blocked_by.iter().map(|l| format!("{l:?}")).collect();
        layers.sort();
        prop_assert_eq!(before, (v.decision, layers));
    }

    /// The parser never panics, whatever the input.
    #[test]
    fn parser_never_panics(text in "\\PC{0,200}") {
        let _ = parse_policy(&text);
    }
}
