//! Table-driven cases written from AWS's documentation. Each line of
//! `tests/cases/*.jsonl` is one case: `doc` names the section it encodes,
//! `input` is a `plugctl policy eval` input, and `expect` holds the decision
//! and, where the case is about them, the blocking layers and the Sids of the
//! deciding statements.
#![allow(missing_docs)]

use std::path::Path;

use plug_policy::input::{PolicyCache, evaluate_input};
use serde_json::Value;

fn layer_names(v: &plug_core::ports::PermissionVerdict) -> Vec<String> {
    let mut names: Vec<String> = v
        .blocked_by
        .iter()
        .map(|l| {
            serde_json::to_value(l)
                .expect("layer")
                .as_str()
                .expect("str")
                .to_owned()
        })
        .collect();
    names.sort();
    names
}

fn check_case(case: &Value, cache: &mut PolicyCache) -> Result<(), String> {
    let input = case["input"].to_string();
    let verdict = evaluate_input(&input, cache).map_err(|e| format!("error: {e}"))?;
    let expect = &case["expect"];
    let decision = serde_json::to_value(verdict.decision).expect("decision");
    if decision != expect["decision"] {
        return Err(format!(
            "decision {decision}, expected {}",
            expect["decision"]
        ));
    }
    if let Some(blocked) = expect.get("blockedBy").and_then(Value::as_array) {
        let mut want: Vec<String> = blocked
            .iter()
            .filter_map(|b| b.as_str().map(String::from))
            .collect();
        want.sort();
        let got = layer_names(&verdict);
        if got != want {
            return Err(format!("blockedBy {got:?}, expected {want:?}"));
        }
    }
    if let Some(sids) = expect.get("sids").and_then(Value::as_array) {
        let want: Vec<&str> = sids.iter().filter_map(Value::as_str).collect();
        let got: Vec<&str> = verdict
            .statements
            .iter()
            .filter_map(|s| s.sid.as_deref())
            .collect();
        if got != want {
            return Err(format!("deciding Sids {got:?}, expected {want:?}"));
        }
    }
    Ok(())
}

#[test]
fn documented_cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("cases dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    let mut total = 0;
    let mut failures = Vec::new();
    let mut cache = PolicyCache::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read cases");
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let case: Value = serde_json::from_str(line).expect("case is JSON");
            total += 1;
            if let Err(why) = check_case(&case, &mut cache) {
                failures.push(format!(
                    "{}:{}: {} [{}]: {why}",
                    file.file_name()
                        .map(|f| f.to_string_lossy())
                        .unwrap_or_default(),
                    n + 1,
                    case["name"].as_str().unwrap_or("?"),
                    case["doc"].as_str().unwrap_or("?"),
                ));
            }
        }
    }
    assert!(total >= 300, "only {total} cases");
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The batch reader's reuse of the previous line's policies gives the same
/// answers as reading every line in full.
#[test]
fn batch_reuse_matches_full_reads() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut batch = plug_policy::input::Batch::new();
    let mut cache = PolicyCache::new();
    let mut compared = 0;
    for entry in std::fs::read_dir(&dir).expect("cases dir").flatten() {
        let text = std::fs::read_to_string(entry.path()).expect("read");
        for line in text.lines() {
            let case: Value = serde_json::from_str(line).expect("JSON");
            let mut other = case["input"].clone();
            other["request"]["action"] = Value::from("iam:CreateUser");
            for input in [
                case["input"].to_string(),
                case["input"].to_string(),
                other.to_string(),
            ] {
                let full = evaluate_input(&input, &mut cache).map_err(|e| e.to_string());
                let fast = batch.evaluate_line(&input).map_err(|e| e.to_string());
                assert_eq!(full, fast, "{input}");
                compared += 1;
            }
        }
    }
    assert!(compared > 900);
}
