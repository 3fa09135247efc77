//! Parser diagnostics: every problem found, located, snapshotted.
#![allow(missing_docs)]

use plug_policy::{Catalogue, Code, parse_policy, parse_policy_linted};

fn diagnostics(text: &str) -> String {
    match parse_policy(text) {
        Ok(p) => p.warnings.iter().map(|d| format!("{d}\n")).collect(),
        Err(ds) => ds.iter().map(|d| format!("{d}\n")).collect(),
    }
}

fn codes(text: &str) -> Vec<Code> {
    match parse_policy(text) {
        Ok(p) => p.warnings.iter().map(|d| d.code).collect(),
        Err(ds) => ds.iter().map(|d| d.code).collect(),
    }
}

const MANY_PROBLEMS: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "One",
      "Effect": "Allow",
      "Action": ["s3:GetObject", ""],
      "Resource": "arn:aws:s3",
      "Condition": {
        "StringEqual": {"aws:PrincipalTag/Team": "red"},
        "NumericLessThan": {"s3:max-keys": "ten"},
        "IpAddress": {"aws:SourceIp": "300.1.1.1/8"}
      }
    },
    {
      "Sid": "One",
      "Effect": "allow",
      "Actions": "s3:*",
      "Resource": "*"
    }
  ]
}"#;

#[test]
fn every_problem_is_reported_with_line_and_column() {
    insta::assert_snapshot!("many_problems", diagnostics(MANY_PROBLEMS));
}

#[test]
fn syntax_error_is_located() {
    let text = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Effect\": \"Allow\",}\n  ]\n}";
    insta::assert_snapshot!("syntax_error", diagnostics(text));
}

#[test]
fn variable_in_old_version_is_an_error() {
    let text = r#"{"Version": "2008-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*",
      "Resource": "arn:aws:s3:::bucket/${aws:username}/*"}}"#;
    insta::assert_snapshot!("variable_in_2008", diagnostics(text));
    let missing = r#"{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/${aws:username}"}}"#;
    assert!(codes(missing).contains(&Code::VariableInOldVersion));
    assert!(codes(missing).contains(&Code::MissingVersion));
}

#[test]
fn seed_policy_loads_with_only_a_warning() {
    let seed = include_str!(
        "../../../plugins/aws-deployment-assistant/policies/policy-delete-human-only.json"
    );
    let policy = parse_policy(seed).expect("the seed policy loads unchanged");
    assert_eq!(policy.statements.len(), 1);
    assert_eq!(codes(seed), vec![Code::BareStatement]);
}

#[test]
fn principal_problems() {
    let text = r#"{"Version": "2012-10-17", "Statement": [
      {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1234:user/x"}, "Action": "s3:*", "Resource": "*"},
      {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:user/dev-*"}, "Action": "s3:*", "Resource": "*"},
      {"Effect": "Allow", "Principal": {"Robot": "x"}, "Action": "s3:*", "Resource": "*"},
      {"Effect": "Deny", "Principal": "*", "NotPrincipal": "*", "Action": "s3:*", "Resource": "*"}
    ]}"#;
    insta::assert_snapshot!("principal_problems", diagnostics(text));
}

#[test]
fn operator_rules() {
    let table: &[(&str, Code)] = &[
        (
            r#"{"NullIfExists": {"aws:x": "true"}}"#,
            Code::UnknownOperator,
        ),
        (
            r#"{"ForAnyValue:Null": {"aws:x": "true"}}"#,
            Code::UnknownOperator,
        ),
        (
            r#"{"ForSomeValues:StringEquals": {"aws:x": "a"}}"#,
            Code::UnknownOperator,
        ),
        (
            r#"{"DateLessThan": {"aws:CurrentTime": "yesterday"}}"#,
            Code::BadConditionValue,
        ),
        (
            r#"{"Bool": {"aws:SecureTransport": "yes"}}"#,
            Code::BadConditionValue,
        ),
        (
            r#"{"StringEquals": {"aws:x": []}}"#,
            Code::BadConditionValue,
        ),
        (r#"{"StringEquals": {"aws:x": {"a": 1}}}"#, Code::WrongType),
        (
            r#"{"StringEquals": {"aws:x": "${aws:username"}}"#,
            Code::BadVariable,
        ),
        (
            r#"{"StringEquals": {"aws:x": "a", "aws:x": "b"}}"#,
            Code::DuplicateKey,
        ),
    ];
    for (condition, code) in table {
        let text = format!(
            r#"{{"Version": "2012-10-17", "Statement": {{"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {condition}}}}}"#
        );
        assert!(
            codes(&text).contains(code),
            "{condition}: {:?}",
            codes(&text)
        );
    }
}

#[test]
fn element_rules() {
    let table: &[(&str, Code)] = &[
        (
            r#"{"Version": "2012-10-18", "Statement": []}"#,
            Code::BadVersion,
        ),
        (r#"{"Version": "2012-10-17"}"#, Code::MissingElement),
        (
            r#"{"Version": "2012-10-17", "Statement": {"Action": "s3:*", "Resource": "*"}}"#,
            Code::MissingElement,
        ),
        (
            r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Resource": "*"}}"#,
            Code::MissingElement,
        ),
        (
            r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": []}}"#,
            Code::EmptyAction,
        ),
        (
            r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3", "Resource": "*"}}"#,
            Code::BadAction,
        ),
        (
            r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "NotAction": "s3:*", "Resource": "*"}}"#,
            Code::ConflictingElements,
        ),
        (
            r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*"}}"#,
            Code::MissingElement,
        ),
        (
            r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "bucket"}}"#,
            Code::BadArn,
        ),
        (
            r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": 3, "Resource": "*"}}"#,
            Code::WrongType,
        ),
        (
            r#"{"Version": "2012-10-17", "Id": "x", "Statment": []}"#,
            Code::UnknownElement,
        ),
        (r#"[1, 2]"#, Code::WrongType),
        (
            r#"{"Version": "2012-10-17", "Statement": [] } // comment"#,
            Code::JsonSyntax,
        ),
    ];
    for (text, code) in table {
        assert!(codes(text).contains(code), "{text}: {:?}", codes(text));
    }
}

#[test]
fn valid_policies_have_no_findings() {
    for text in [
        r#"{"Version": "2012-10-17", "Id": "p", "Statement": [{"Sid": "A", "Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/${aws:username}/*"], "Condition": {"ForAllValues:StringLikeIfExists": {"aws:TagKeys": ["a*", 1, true]}}}]}"#,
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}}"#,
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Deny", "NotPrincipal": {"AWS": ["123456789012", "arn:aws:iam::123456789012:role/r"]}, "NotAction": "iam:*", "NotResource": "*"}}"#,
    ] {
        assert_eq!(diagnostics(text), "", "{text}");
    }
}

fn linted(text: &str) -> String {
    let catalogue = Catalogue::bundled().expect("embedded catalogue reads");
    match parse_policy_linted(text, catalogue) {
        Ok(p) => p.warnings.iter().map(|d| format!("{d}\n")).collect(),
        Err(ds) => ds.iter().map(|d| format!("{d}\n")).collect(),
    }
}

const CATALOGUE_PROBLEMS: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["lambda:CreateFuntion", "lamda:GetFunction", "s3:Fetch*", "lambda:UpdateFunctionCode"],
      "Resource": "*"
    },
    {
      "Effect": "Allow",
      "Action": "lambda:ListFunctions",
      "Resource": "*",
      "Condition": {
        "StringEquals": {"lambda:Layer": "x", "lambda:Layers": "y", "aws:PrincipalTag/ActorType": "agent"}
      }
    },
    {
      "Effect": "Allow",
      "Action": ["lambda:CreateFunction", "iam:PassRole"],
      "Resource": "*",
      "Condition": {
        "StringEquals": {"lambda:Layer": "x", "iam:PassedToService": "lambda.amazonaws.com"},
        "StringLike": {"aws:RequestTag/team": "*"}
      }
    }
  ]
}"#;

#[test]
fn the_catalogue_flags_unknown_actions_and_keys_that_do_not_apply() {
    insta::assert_snapshot!("catalogue_problems", linted(CATALOGUE_PROBLEMS));
}

#[test]
fn catalogue_warnings_only_when_asked_for() {
    assert_eq!(diagnostics(CATALOGUE_PROBLEMS), "");
}

#[test]
fn catalogue_warnings_join_the_errors_of_a_broken_policy() {
    let text = r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "lambda:CreateFuntion", "Resource": "arn:bad"}}"#;
    let catalogue = Catalogue::bundled().expect("embedded catalogue reads");
    let found = parse_policy_linted(text, catalogue).expect_err("bad ARN");
    let codes: Vec<Code> = found.iter().map(|d| d.code).collect();
    assert_eq!(codes, [Code::BadArn, Code::UnknownAction]);
}

#[test]
fn valid_policies_pass_the_catalogue_too() {
    for text in [
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*", "Condition": {"StringEquals": {"s3:prefix": "home/"}}}]}"#,
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Deny", "NotAction": "iam:*", "Resource": "*", "Condition": {"StringEquals": {"lambda:Layer": "x"}}}}"#,
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {"ec2:Region": "us-east-1"}}}}"#,
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"Federated": "accounts.google.com"}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringEquals": {"accounts.google.com:aud": "x"}}}}"#,
    ] {
        assert_eq!(linted(text), "", "{text}");
    }
}

#[test]
fn the_seed_policy_passes_the_catalogue() {
    let seed = include_str!(
        "../../../plugins/aws-deployment-assistant/policies/policy-delete-human-only.json"
    );
    let catalogue = Catalogue::bundled().expect("embedded catalogue reads");
    let policy = parse_policy_linted(seed, catalogue).expect("loads");
    let codes: Vec<Code> = policy.warnings.iter().map(|d| d.code).collect();
    assert_eq!(codes, [Code::BareStatement]);
}

/// Policies AWS stores though they break the grammar load, with a located
/// warning saying what AWS does with each part.
#[test]
fn stored_but_odd_policies_load_with_warnings() {
    let text = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": ["s3:GetObject,PutObject", " s3:ListBucket"], "Resource": "*"},
    {"Effect": "Deny", "NotAction": "iam:", "Resource": "*"},
    {"Effect": "Allow", "Principal": "arn:aws:iam::444455556666:root", "Action": "s3:GetObject", "Resource": "*"}
  ]
}"#;
    let policy = parse_policy(text).expect("stored policies are evaluated, not refused");
    assert!(
        policy
            .warnings
            .iter()
            .all(|w| w.severity == plug_policy::Severity::Warning)
    );
    insta::assert_snapshot!("stored_but_odd", diagnostics(text));
    let empty = r#"{"Version": "2012-10-17", "Statement": []}"#;
    let policy = parse_policy(empty).expect("an empty SCP is stored");
    assert!(policy.statements.is_empty());
    assert_eq!(codes(empty), vec![Code::MissingElement]);
}
