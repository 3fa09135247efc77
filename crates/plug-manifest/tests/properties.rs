//! Invariants that hold for any input, checked with proptest.
#![allow(missing_docs)]

use std::path::PathBuf;

use plug_manifest::ecosystem::{front_matter, hooks_json, json, mcp_json, vars};
use plug_manifest::load::load_skill_text;
use plug_manifest::{Code, Finding, placeholder, yaml};
use proptest::prelude::*;

const SEED_SKILL: &str =
    include_str!("../../../plugins/aws-deployment-assistant/skills/deploy-lambda.yaml");

/// YAML-shaped text: indentation, keys, scalars, flow collections and stray symbols.
fn yamlish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("skill:".to_owned()),
        Just("steps:".to_owned()),
        Just("- ".to_owned()),
        Just("  ".to_owned()),
        Just("\n".to_owned()),
        Just("name: x".to_owned()),
        Just("action: aws_api".to_owned()),
        Just("<a.b>".to_owned()),
        Just("<read_file:../x>".to_owned()),
        Just("{a: [1, 2]}".to_owned()),
        Just("'q'".to_owned()),
        Just("&a ".to_owned()),
        Just("*a".to_owned()),
        Just("é".to_owned()),
        "[ -~]{0,8}",
    ];
    prop::collection::vec(token, 0..60).prop_map(|tokens| tokens.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics_and_spans_stay_in_the_source(text in yamlish()) {
        match yaml::parse(&text) {
            Ok(node) => check_spans(&node, &text)?,
            Err(e) => prop_assert!(e.span.offset() <= text.len() && text.is_char_boundary(e.span.offset())),
        }
    }

    #[test]
    fn loading_any_text_reports_located_findings(text in yamlish()) {
        let (_, findings) = load_skill_text(None, None, PathBuf::from("s.yaml"), text.clone());
        for finding in findings {
            let end = finding.span.offset() + finding.span.len();
            prop_assert!(end <= text.len(), "{:?} outside {} bytes", finding.span, text.len());
            let (line, column) = finding.line_col();
            prop_assert!(line >= 1 && column >= 1);
        }
    }

    #[test]
    fn placeholder_ranges_are_bracketed_words(text in "[ -~é]{0,40}") {
        for (range, inner) in placeholder::scan(&text) {
            prop_assert!(text[range.clone()].starts_with('<') && text[range.clone()].ends_with('>'));
            prop_assert_eq!(&text[range.start + 1..range.end - 1], inner);
            prop_assert!(!inner.contains(char::is_whitespace));
        }
    }

    /// Renaming any key of the seed skill to a word the format does not know
    /// produces an unknown-field finding on exactly that line.
    #[test]
    fn a_misspelled_key_is_reported_on_its_line(line_index in 0usize..40, word in "zz[a-z]{3,8}") {
        let lines: Vec<&str> = SEED_SKILL.lines().collect();
        let key_lines: Vec<usize> = lines.iter().enumerate().filter(|(_, l)| is_format_key(l)).map(|(i, _)| i).collect();
        let target = key_lines[line_index % key_lines.len()];
        let mut edited: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
        let line = &lines[target];
        let key_start = line.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(0);
        let key_end = line.find(':').unwrap_or(line.len());
        edited[target] = format!("{}{}{}", &line[..key_start], word, &line[key_end..]);
        let text = edited.join("\n");
        let (_, findings) = load_skill_text(None, None, PathBuf::from("s.yaml"), text);
        let hit = findings.iter().any(|f| f.code == Code::UnknownField && f.line_col() == (target + 1, key_start + 1));
        prop_assert!(hit, "line {}: {:?}", target + 1, findings.iter().map(|f| f.to_record().to_string()).collect::<Vec<_>>());
    }
}

/// Markdown with front-matter-shaped pieces: fences, keys, colons, quotes, lists.
fn markdownish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("---\n".to_owned()),
        Just("name: a\n".to_owned()),
        Just("description: ".to_owned()),
        Just(": ".to_owned()),
        Just("\"".to_owned()),
        Just("  - x\n".to_owned()),
        Just("[link](ref/a.md)".to_owned()),
        Just("```\n".to_owned()),
        Just("\r\n".to_owned()),
        Just("\u{feff}".to_owned()),
        Just("é".to_owned()),
        "[ -~]{0,8}",
    ];
    prop::collection::vec(token, 0..40).prop_map(|tokens| tokens.concat())
}

/// JSON-shaped text for the hooks and MCP files.
fn jsonish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just(",".to_owned()),
        Just(":".to_owned()),
        Just("\"hooks\"".to_owned()),
        Just("\"mcpServers\"".to_owned()),
        Just("\"PreToolUse\"".to_owned()),
        Just("\"type\"".to_owned()),
        Just("\"command\"".to_owned()),
        Just("\"url\"".to_owned()),
        Just("\"${CLAUDE_PLUGIN_ROOT}/x\"".to_owned()),
        Just("\"\\u00e9\"".to_owned()),
        Just("12".to_owned()),
        Just("true".to_owned()),
        "[ -~é]{0,6}",
    ];
    prop::collection::vec(token, 0..50).prop_map(|tokens| tokens.concat())
}

fn spans_inside(findings: &[Finding], text: &str) -> Result<(), TestCaseError> {
    for finding in findings {
        let (start, end) = (
            finding.span.offset(),
            finding.span.offset() + finding.span.len(),
        );
        prop_assert!(
            end <= text.len() && text.is_char_boundary(start) && text.is_char_boundary(end),
            "{:?}",
            finding.to_record()
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn front_matter_never_panics_and_spans_stay_in_the_file(text in markdownish()) {
        match front_matter::parse(&text) {
            Ok((node, body)) => {
                prop_assert!(body <= text.len());
                check_spans(&node, &text)?;
            }
            Err(front_matter::FrontMatterError::Syntax(e)) => {
                prop_assert!(e.span.offset() <= text.len() && text.is_char_boundary(e.span.offset()));
            }
            Err(_) => {}
        }
    }

    #[test]
    fn lenient_front_matter_agrees_with_strict_where_strict_parses(text in markdownish()) {
        match (front_matter::parse(&text), front_matter::parse_lenient(&text)) {
            (Ok((strict, body)), Ok((lenient, lenient_body, found))) => {
                prop_assert_eq!(strict, lenient);
                prop_assert_eq!(body, lenient_body);
                prop_assert!(found.is_empty());
            }
            (Ok(_), Err(e)) => prop_assert!(false, "lenient refused what strict read: {e:?}"),
            (Err(_), Ok((node, body, found))) => {
                prop_assert!(!found.is_empty());
                prop_assert!(body <= text.len());
                check_spans(&node, &text)?;
                for colon in found {
                    prop_assert_eq!(text.get(colon.at..colon.at + 1), Some(":"));
                }
            }
            (Err(_), Err(_)) => {}
        }
    }

    #[test]
    fn hooks_and_mcp_files_never_panic_and_locate_every_finding(text in jsonish()) {
        if let Ok(node) = json::parse_json(&text) {
            check_spans(&node, &text)?;
        }
        let (_, findings) = hooks_json::parse_hooks_json(&text, "hooks.json");
        spans_inside(&findings, &text)?;
        let (_, findings) = mcp_json::parse_mcp_json(&text, ".mcp.json");
        spans_inside(&findings, &text)?;
    }

    /// Expanding with every name known gives text without references; with
    /// none known, only references with a default can be expanded.
    #[test]
    fn expansion_replaces_every_reference(text in "[ -~]{0,30}") {
        let opening = "${";
        if let Ok(expanded) = vars::expand(&text, |_| Some("v".to_owned())) {
            prop_assert!(!expanded.contains(opening), "{}", expanded);
        }
        let none = vars::expand(&text, |_| None);
        let refs = vars::references(&text);
        if refs.iter().any(|r| r.default.is_none()) {
            prop_assert!(none.is_err());
        }
    }
}

/// Keys defined by the skill format (not free-form data such as AWS params).
fn is_format_key(line: &str) -> bool {
    let trimmed = line.trim_start().trim_start_matches("- ");
    let key = trimmed.split(':').next().unwrap_or("");
    [
        "skill",
        "name",
        "description",
        "steps",
        "action",
        "command",
        "on_failure",
        "service",
        "method",
        "params",
        "fallback",
    ]
    .contains(&key)
        && trimmed.contains(':')
}

fn check_spans(node: &yaml::Node, text: &str) -> Result<(), TestCaseError> {
    let (start, end) = (node.span.offset(), node.span.offset() + node.span.len());
    prop_assert!(end <= text.len() && text.is_char_boundary(start) && text.is_char_boundary(end));
    match &node.kind {
        yaml::NodeKind::Scalar(_) => {}
        yaml::NodeKind::Seq(items) => items.iter().try_for_each(|n| check_spans(n, text))?,
        yaml::NodeKind::Map(entries) => entries
            .iter()
            .try_for_each(|(k, v)| check_spans(k, text).and_then(|()| check_spans(v, text)))?,
    }
    Ok(())
}
