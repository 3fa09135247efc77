//! The CLI as a user runs it: exit codes and exact output, snapshotted.
#![allow(missing_docs)]

use std::path::Path;
use std::process::{Command, Output};

mod support;
use support::{plugctl, repo, text};

#[test]
fn a_reader_that_went_away_ends_the_command_quietly() {
    // The read end is closed before plugctl starts, so its first write fails.
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_plugctl"))
        .args(["validate", "plugins/aws-deployment-assistant"])
        .current_dir(repo())
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("plugctl runs")
        .wait_with_output()
        .expect("plugctl ends");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("undeclared-permission"),
        "diagnostics still go to stderr"
    );
}

#[test]
fn bundled_plugin_validates_with_only_the_least_privilege_warning() {
    let out = plugctl(&["validate", "plugins/aws-deployment-assistant"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "aws-deployment-assistant: 0 error(s), 1 warning(s)\n"
    );
    let json = plugctl(&[
        "validate",
        "--output",
        "json",
        "plugins/aws-deployment-assistant",
    ]);
    let records: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON on stdout");
    // The seed's tag_deployment step calls lambda:TagResource, which its manifest does not declare.
    let warning = &records[0];
    assert_eq!(records.as_array().map(Vec::len), Some(1));
    assert_eq!(
        (warning["code"].as_str(), warning["severity"].as_str()),
        (Some("undeclared-permission"), Some("warning"))
    );
    assert_eq!(
        (warning["line"].as_u64(), warning["column"].as_u64()),
        (Some(31), Some(15))
    );
    assert!(
        warning["message"]
            .as_str()
            .is_some_and(|m| m.contains("lambda:TagResource"))
    );
    assert_eq!(
        plugctl(&["validate", "--strict", "plugins/aws-deployment-assistant"])
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn three_problems_are_all_reported_with_source_excerpts() {
    let out = plugctl(&["validate", "fixtures/native/invalid/46-three-problems"]);
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!("three_problems_human", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "Lambda_Deployer: 3 error(s), 2 warning(s)\n"
    );
}

#[test]
fn json_output_lists_every_finding() {
    let out = plugctl(&[
        "validate",
        "--output",
        "json",
        "fixtures/native/invalid/46-three-problems",
        "fixtures/native/invalid/03-unknown-field-step-timout",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let records: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    // Three errors in 46 (its two unused permissions are warnings), one in 03.
    assert_eq!(records.as_array().map(Vec::len), Some(6));
    insta::assert_json_snapshot!("validate_json", records);
}

#[test]
fn warnings_fail_only_under_strict() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("skills")).expect("mkdir");
    std::fs::write(root.join("skills/deploy-x.yaml"), "skill:\n  name: deploy-x\n  description: d\n  steps:\n    - name: s\n      action: assert\n      that: 'true'\n").expect("write");
    std::fs::write(root.join("plugin.yaml"), "plugin:\n  name: p\n  version: 1.0.0\n  skills:\n    - name: deploy-x\n      path: skills/deploy-x.yaml\n  hooks:\n    - event: pre_build\n      command: [echo, hi]\n").expect("write");
    let root = root.to_str().expect("utf-8 path");
    assert_eq!(plugctl(&["validate", root]).status.code(), Some(0));
    let strict = plugctl(&["validate", "--strict", root]);
    assert_eq!(strict.status.code(), Some(1));
    assert!(
        text(&strict.stderr).contains("hook-never-fires"),
        "{}",
        text(&strict.stderr)
    );
}

#[test]
fn unreadable_input_is_a_usage_error() {
    let out = plugctl(&["validate", "no/such/plugin"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no/such/plugin"));
    assert_eq!(plugctl(&["validate"]).status.code(), Some(2));
}

#[test]
fn inspect_shows_implicit_params_permissions_and_config() {
    let out = plugctl(&["inspect", "plugins/aws-deployment-assistant"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    insta::assert_snapshot!("inspect_human", text(&out.stdout));
    let out = plugctl(&[
        "inspect",
        "--output",
        "json",
        "--set",
        "mcp-server-endpoint=https://example.com/mcp",
        "plugins/aws-deployment-assistant",
    ]);
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert!(
        !text(&out.stdout).contains("example.com"),
        "supplied values are not echoed"
    );
    insta::assert_json_snapshot!("inspect_json", summary);
}

#[test]
fn aws_calls_are_checked_against_the_service_models() {
    let out = plugctl(&[
        "validate",
        "--output",
        "json",
        "crates/plugctl/tests/fixtures/aws-typo",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let records: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    insta::assert_json_snapshot!("aws_typo_json", records);
    let first = &records[0];
    assert_eq!(
        (first["line"].as_u64(), first["column"].as_u64()),
        (Some(8), Some(15)),
        "points at the method"
    );
    assert!(
        first["message"]
            .as_str()
            .is_some_and(|m| m.contains("update_function_code")),
        "{first}"
    );
}

const ECOSYSTEM: &str = "crates/plug-manifest/fixtures/ecosystem";

#[test]
fn host_format_plugins_validate_and_inspect() {
    for layout in [
        "claude-full",
        "codex-plugin",
        "cursor-plugin",
        "agent-plugins",
        "skills-folder",
        "aws-style",
    ] {
        let out = plugctl(&[
            "validate",
            "--strict",
            &format!("{ECOSYSTEM}/valid/{layout}"),
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{layout}: {}",
            text(&out.stderr)
        );
    }
    // An unquoted `: ` is a warning (Claude Code loads the skill, strict
    // hosts drop it): validate passes unless --strict.
    let colon = format!("{ECOSYSTEM}/invalid/01-skill-unquoted-colon");
    let out = plugctl(&["validate", &colon]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "colon-trap: 0 error(s), 1 warning(s)\n");
    let out = plugctl(&["validate", "--strict", &colon]);
    assert_eq!(out.status.code(), Some(1));
    let json = plugctl(&["validate", "--output", "json", &colon]);
    let records: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(
        (
            records[0]["code"].as_str(),
            records[0]["severity"].as_str(),
            records[0]["line"].as_u64(),
            records[0]["column"].as_u64()
        ),
        (Some("unquoted-colon"), Some("warning"), Some(3), Some(57))
    );
    // Front matter no host can read is an error.
    let broken = format!("{ECOSYSTEM}/invalid/02-agent-front-matter-broken");
    let out = plugctl(&["validate", &broken]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "agent-trap: 1 error(s), 0 warning(s)\n");
    let json = plugctl(&["validate", "--output", "json", &broken]);
    let records: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(
        (
            records[0]["code"].as_str(),
            records[0]["line"].as_u64(),
            records[0]["column"].as_u64()
        ),
        (Some("front-matter-syntax"), Some(5), Some(6))
    );
    let out = plugctl(&["inspect", &format!("{ECOSYSTEM}/valid/claude-full")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    insta::assert_snapshot!("inspect_claude_code_plugin", text(&out.stdout));
    let json = plugctl(&[
        "inspect",
        "--output",
        "json",
        &format!("{ECOSYSTEM}/valid/claude-full"),
    ]);
    let summary: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(summary["skills"][0]["kind"], "instructions");
    assert_eq!(
        summary["skills"][0]["instructions"]["metadata"]["license"],
        "Apache-2.0"
    );
}

#[test]
fn a_marketplace_validates_with_its_plugins() {
    let out = plugctl(&[
        "validate",
        &format!("{ECOSYSTEM}/marketplaces/valid/team-market"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "team-market (Claude Code marketplace): ok (2 plugins)\n\
         team-market (Codex marketplace): ok (1 plugins)\n\
         changelog: ok (1 skills)\n"
    );
    let bad = plugctl(&[
        "validate",
        &format!("{ECOSYSTEM}/marketplaces/invalid/mismatches"),
    ]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stdout)
            .contains("mismatches (Claude Code marketplace): 3 error(s), 3 warning(s)")
    );
}

fn plugctl_home(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_plugctl"))
        .args(args)
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .env("PLUGCTL_HOME", home)
        .output()
        .expect("plugctl runs")
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.test"])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn install_from_a_git_marketplace_then_use_update_tamper_and_remove() {
    let market = tempfile::tempdir().expect("tempdir");
    let fixture = repo().join(format!("{ECOSYSTEM}/marketplaces/valid/team-market"));
    for dir in [
        ".claude-plugin",
        "plugins/changelog/.claude-plugin",
        "plugins/changelog/skills/changelog",
    ] {
        std::fs::create_dir_all(market.path().join(dir)).expect("mkdir");
    }
    for file in [
        ".claude-plugin/marketplace.json",
        "plugins/changelog/.claude-plugin/plugin.json",
        "plugins/changelog/skills/changelog/SKILL.md",
    ] {
        std::fs::copy(fixture.join(file), market.path().join(file)).expect("copy");
    }
    git(market.path(), &["init", "--quiet"]);
    git(market.path(), &["add", "."]);
    git(market.path(), &["commit", "--quiet", "-m", "v1.2.0"]);
    let home = tempfile::tempdir().expect("tempdir");
    let url = format!("file://{}", market.path().display());
    let run = |args: &[&str]| plugctl_home(home.path(), args);

    let added = run(&["marketplace", "add", &url]);
    assert_eq!(added.status.code(), Some(0), "{}", text(&added.stderr));
    let installed = run(&["install", "changelog@team-market"]);
    assert_eq!(
        installed.status.code(),
        Some(0),
        "{}",
        text(&installed.stderr)
    );
    assert!(
        text(&installed.stdout)
            .starts_with("installed changelog 1.2.0 from changelog@team-market @ ")
    );
    let listed = run(&["list", "--output", "json"]);
    let lock: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("JSON");
    assert_eq!(lock[0]["sha256"].as_str().map(str::len), Some(64));
    let by_name = run(&["validate", "changelog"]);
    assert_eq!(
        text(&by_name.stdout),
        "changelog: ok (1 skills)\n",
        "{}",
        text(&by_name.stderr)
    );

    let manifest = market
        .path()
        .join("plugins/changelog/.claude-plugin/plugin.json");
    let bumped = std::fs::read_to_string(&manifest)
        .expect("read")
        .replace("1.2.0", "1.3.0");
    std::fs::write(&manifest, bumped).expect("write");
    git(market.path(), &["commit", "--quiet", "-am", "v1.3.0"]);
    let updated = run(&["update", "changelog"]);
    assert_eq!(
        text(&updated.stdout),
        "changelog: updated 1.2.0 -> 1.3.0\n",
        "{}",
        text(&updated.stderr)
    );

    let skill = home
        .path()
        .join("plugins/changelog/skills/changelog/SKILL.md");
    std::fs::write(
        &skill,
        "---\nname: changelog\ndescription: now does something else\n---\n",
    )
    .expect("tamper");
    let refused = run(&["inspect", "changelog"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("changed since installation"),
        "{}",
        text(&refused.stderr)
    );

    assert_eq!(run(&["remove", "changelog"]).status.code(), Some(0));
    assert_eq!(text(&run(&["list"]).stdout), "no plugins installed\n");
    assert_eq!(run(&["inspect", "changelog"]).status.code(), Some(2));
}

/// Hostile YAML (nested aliases, deep block nesting) is a finding with its
/// place, never an abort (hardening issue, items 10 and 11).
#[test]
fn alias_bombs_and_deep_nesting_are_findings_not_crashes() {
    let mut bomb = String::from(
        "skill:\n  name: s\n  description: d\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n",
    );
    let mut previous = 'a';
    for name in ['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'] {
        let refs = vec![format!("*{previous}"); 10].join(", ");
        bomb.push_str(&format!("  {name}: &{name} [{refs}]\n"));
        previous = name;
    }
    let deep = format!(
        "skill:\n  name: s\n  description: d\n  steps:\n    {}x\n",
        "- ".repeat(5_000)
    );
    for (what, skill) in [("aliases expand", bomb), ("nested deeper", deep)] {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("skills")).expect("mkdir");
        std::fs::write(
            dir.path().join("plugin.yaml"),
            "plugin:\n  name: hostile\n  version: 0.1.0\n  skills:\n    - name: s\n      path: ./skills/s.yaml\n",
        )
        .expect("manifest");
        std::fs::write(dir.path().join("skills/s.yaml"), skill).expect("skill");
        let out = plugctl(&["validate", &dir.path().display().to_string()]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
        assert!(stderr.contains(what), "{stderr}");
        assert!(stderr.contains("s.yaml"), "located: {stderr}");
    }
}

#[test]
fn inspect_says_which_skills_the_allow_list_lets_agents_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.yaml");
    std::fs::write(&config, "allow: [who-am-i]\n").expect("config");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_plugctl"))
        .args(["inspect", "--output", "json", &support::fixture("attacks")])
        .env("PLUGCTL_CONFIG", &config)
        .output()
        .expect("plugctl runs");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let allowed: Vec<(String, bool)> = summary["skills"]
        .as_array()
        .expect("skills")
        .iter()
        .map(|s| {
            let name = s["name"].as_str().unwrap_or_default().to_owned();
            (name, s["allowed_for_agents"] == true)
        })
        .collect();
    assert!(
        allowed.contains(&("who-am-i".to_owned(), true)),
        "{allowed:?}"
    );
    assert!(
        allowed.contains(&("delete-function".to_owned(), false)),
        "{allowed:?}"
    );
}

#[test]
fn plan_shows_the_session_policy_the_role_is_assumed_with() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Decide with a policy file only: nothing is read from IAM.
    let config = dir.path().join("config.yaml");
    std::fs::write(&config, "role_policies: false\n").expect("config");
    let policy = dir.path().join("allow.json");
    std::fs::write(
        &policy,
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "lambda:*", "Resource": "*"}]}"#,
    )
    .expect("policy");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_plugctl"))
        .args(["plan", &support::fixture("attacks"), "list-quietly"])
        .args(["--role-arn", "arn:aws:iam::111122223333:role/agent"])
        .args([
            "--policy",
            &policy.display().to_string(),
            "--output",
            "json",
        ])
        .env("PLUGCTL_CONFIG", &config)
        .env("PLUGCTL_STATE_DIR", dir.path())
        .output()
        .expect("plugctl runs");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(plan["admission"]["allowed"], true);
    assert_eq!(
        plan["admission"]["session_policy"],
        serde_json::json!({
            "actions": ["lambda:GetAccountSettings", "lambda:ListFunctions"],
            "collapsed": false
        })
    );
}

/// Hardening issue, item 17: a finding in a megabyte-long line is shown
/// in an excerpt clipped around it, at its true line and column, instead
/// of the whole line (a 20 MB one-line file used to print 100 MB).
#[test]
fn a_finding_in_a_huge_line_is_shown_clipped_at_its_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let padding = "y".repeat(1 << 20);
    let manifest =
        format!("plugin: {{name: huge, version: 0.1.0, description: \"{padding}\", nope: 1}}\n");
    std::fs::write(dir.path().join("plugin.yaml"), &manifest).expect("manifest");
    let out = support::plugctl_in(dir.path(), &["validate", "."]);
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        &stderr[..stderr.len().min(2000)]
    );
    assert!(stderr.len() < 8 * 1024, "printed {} bytes", stderr.len());
    let column = manifest.find("nope").expect("key") + 1;
    assert!(
        stderr.contains(&format!("plugin.yaml:1:{column}")),
        "{stderr}"
    );
    assert!(stderr.contains("nope"), "{stderr}");
}
