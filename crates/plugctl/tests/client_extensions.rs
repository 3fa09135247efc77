//! `plugctl inspect` and `validate` of an Agent Plugins 1.0 plugin that ships
//! a folder per client: Claude Code's is loaded, the others are listed.
#![allow(missing_docs)]

use std::path::{Path, PathBuf};

mod support;
use support::{plugctl_in, text};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plug-manifest/fixtures/ecosystem/valid/agent-plugins-clients")
}

#[test]
fn inspect_lists_each_client_folder_and_what_plugctl_does_with_it() {
    let validated = plugctl_in(&fixture(), &["validate", "."]);
    assert_eq!(
        text(&validated.stdout),
        "release-notes: ok (1 skills)\n",
        "{}",
        text(&validated.stderr)
    );
    let out = plugctl_in(&fixture(), &["inspect", "."]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    insta::assert_snapshot!("inspect_agent_plugins_clients", text(&out.stdout));
    let json = plugctl_in(&fixture(), &["inspect", ".", "--output", "json"]);
    let summary: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    let loaded: Vec<&str> = summary["extensions"]
        .as_array()
        .expect("extensions")
        .iter()
        .filter(|e| e["loaded"] == true)
        .filter_map(|e| e["namespace"].as_str())
        .collect();
    assert_eq!(loaded, ["com.anthropic.claude-code"]);
}
