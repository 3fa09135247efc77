//! `plugctl validate`'s least-privilege lint on `required_permissions`:
//! actions the IAM catalogue does not know, and declared actions no step needs.
#![allow(missing_docs)]

mod support;
use support::{plugctl, text};

const FIXTURE: &str = "crates/plugctl/tests/fixtures/least-privilege";

#[test]
fn misspelt_matchless_and_unused_declarations_are_warnings_at_their_lines() {
    let out = plugctl(&["validate", FIXTURE]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "least-privilege: 0 error(s), 5 warning(s)\n"
    );
    insta::assert_snapshot!("least_privilege_human", text(&out.stderr));
}

#[test]
fn json_names_each_finding_with_its_declaration() {
    let out = plugctl(&["validate", "--output", "json", FIXTURE]);
    let records: Vec<serde_json::Value> =
        serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let found: Vec<(String, u64, String)> = records
        .iter()
        .map(|r| {
            let file = r["file"].as_str().unwrap_or_default();
            let file = file.rsplit('/').next().unwrap_or_default().to_owned();
            let line = r["line"].as_u64().unwrap_or_default();
            (
                file,
                line,
                r["code"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("plugin.yaml", 11, "unknown-permission"),
        ("plugin.yaml", 13, "unused-permission"),
        ("plugin.yaml", 14, "unknown-permission"),
        ("plugin.yaml", 19, "unused-permission"),
        ("deploy-function.yaml", 13, "undeclared-permission"),
    ]
    .map(|(f, l, c)| (f.to_owned(), l, c.to_owned()));
    assert_eq!(found, expected);
    assert!(
        records[0]["message"]
            .as_str()
            .is_some_and(|h| h.contains("`lambda:CreateFunction`")),
        "{}",
        records[0]
    );
}

#[test]
fn the_seed_keeps_its_one_warning() {
    // Its commands need no AWS permission; iam:PassRole is needed because the
    // fallback passes a Role; lambda:TagResource stays undeclared.
    let out = plugctl(&[
        "validate",
        "--output",
        "json",
        "plugins/aws-deployment-assistant",
    ]);
    let records: Vec<serde_json::Value> =
        serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let codes: Vec<&str> = records.iter().filter_map(|r| r["code"].as_str()).collect();
    assert_eq!(codes, ["undeclared-permission"]);
}
