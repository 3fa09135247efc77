//! Every fixture under `fixtures/ecosystem`: the valid plugins of each host
//! layout load without a single finding, and each invalid one reports exactly
//! the findings it announces (errors and warnings, with their positions), in
//! `# expect: L:C CODE` / `# expect-warning: L:C CODE` lines of its Markdown
//! files and in a sidecar `expect.txt` for JSON files. The rendered
//! diagnostics of every invalid fixture are snapshotted.
#![allow(missing_docs)]

use std::path::{Path, PathBuf};

use plug_manifest::ecosystem::marketplace;
use plug_manifest::native::model::PluginFormat;
use plug_manifest::{Code, Finding, FindingRecord, Severity, load_plugin};

/// `(file relative to the fixture, line, column, severity, code)`.
type Expected = (String, usize, usize, Severity, String);

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/ecosystem")
        .join(kind);
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture dir")
        .map(|e| e.expect("entry").path())
        .collect();
    dirs.sort();
    dirs
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn position(text: &str) -> (usize, usize) {
    let (l, c) = text.split_once(':').expect("L:C");
    (l.parse().expect("line"), c.parse().expect("column"))
}

/// The findings a fixture announces, sorted.
fn expectations(dir: &Path) -> Vec<Expected> {
    let mut out = Vec::new();
    let mut all = Vec::new();
    files(dir, &mut all);
    for file in all
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "md"))
    {
        let rel = rel_path(file, dir);
        let text = std::fs::read_to_string(file).expect("read fixture");
        for line in text.lines() {
            let (severity, rest) = match line.split_once(": ") {
                Some(("# expect", rest)) => (Severity::Error, rest),
                Some(("# expect-warning", rest)) => (Severity::Warning, rest),
                _ => continue,
            };
            let (pos, code) = rest.split_once(' ').expect("`L:C CODE`");
            let (l, c) = position(pos);
            out.push((rel.clone(), l, c, severity, code.trim().to_owned()));
        }
    }
    if let Ok(text) = std::fs::read_to_string(dir.join("expect.txt")) {
        for line in text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let words: Vec<&str> = line.split_whitespace().collect();
            let [file, pos, severity, code] = words[..] else {
                panic!("`FILE L:C SEVERITY CODE` expected, got `{line}`");
            };
            let severity = match severity {
                "error" => Severity::Error,
                "warning" => Severity::Warning,
                other => panic!("unknown severity `{other}`"),
            };
            let (l, c) = position(pos);
            out.push((file.to_owned(), l, c, severity, code.to_owned()));
        }
    }
    out.sort();
    out
}

fn rel_path(path: &Path, dir: &Path) -> String {
    path.strip_prefix(dir)
        .expect("inside the fixture")
        .display()
        .to_string()
}

fn rel(path: &str, dir: &Path) -> String {
    let canonical = dir.canonicalize().expect("canonical");
    let p = Path::new(path);
    p.strip_prefix(dir)
        .or_else(|_| p.strip_prefix(&canonical))
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| path.to_owned())
}

fn found(findings: &[Finding], dir: &Path) -> Vec<Expected> {
    let mut out: Vec<Expected> = findings
        .iter()
        .map(|f| f.to_record())
        .map(|r| {
            (
                rel(&r.file, dir),
                r.line,
                r.column,
                r.severity,
                r.code.to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

fn rendered(findings: &[Finding], dir: &Path) -> String {
    let lines: Vec<String> = findings
        .iter()
        .map(|f| {
            let r = f.to_record();
            FindingRecord {
                file: rel(&r.file, dir),
                ..r
            }
            .to_string()
        })
        .collect();
    lines.join("\n")
}

fn name(dir: &Path) -> String {
    dir.file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn valid_fixtures_of_every_layout_load_without_findings() {
    let mut formats = Vec::new();
    for dir in fixtures("valid") {
        let plugin = load_plugin(&dir).expect("loads");
        assert!(
            plugin.findings.is_empty(),
            "{}:\n{}",
            dir.display(),
            rendered(&plugin.findings, &dir)
        );
        let manifest = plugin.manifest.as_ref().expect("manifest");
        formats.push(manifest.format);
        assert!(!plugin.skills.is_empty(), "{} has skills", dir.display());
        for skill in &plugin.skills {
            let instructions = skill.instructions.as_ref().expect("instructions");
            assert!(instructions.description.is_some(), "{}", instructions.path);
        }
    }
    for format in [
        PluginFormat::ClaudeCode,
        PluginFormat::Codex,
        PluginFormat::Cursor,
        PluginFormat::AgentPlugins,
        PluginFormat::Bare,
    ] {
        assert!(formats.contains(&format), "no valid fixture for {format:?}");
    }
}

#[test]
fn invalid_fixtures_report_exactly_what_they_announce() {
    let mut mismatches = Vec::new();
    for dir in fixtures("invalid") {
        let plugin = load_plugin(&dir).expect("loads");
        let expected = expectations(&dir);
        assert!(!expected.is_empty(), "{} announces nothing", dir.display());
        let got = found(&plugin.findings, &dir);
        if got != expected {
            mismatches.push(format!(
                "{}\n  expected {expected:?}\n  found    {got:?}",
                dir.display()
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn invalid_fixture_diagnostics_snapshots() {
    for dir in fixtures("invalid") {
        let plugin = load_plugin(&dir).expect("loads");
        insta::assert_snapshot!(name(&dir), rendered(&plugin.findings, &dir));
    }
}

/// Every finding of a marketplace folder: its files', then each local plugin's.
fn marketplace_findings(dir: &Path) -> Vec<Finding> {
    let checked = marketplace::check(dir)
        .expect("loads")
        .expect("a marketplace");
    let mut all: Vec<Finding> = checked
        .marketplaces
        .into_iter()
        .flat_map(|m| m.findings)
        .collect();
    all.extend(checked.plugins.into_iter().flat_map(|(_, p)| p.findings));
    all
}

#[test]
fn marketplaces_are_checked_against_their_plugins() {
    for dir in fixtures("marketplaces/valid") {
        let findings = marketplace_findings(&dir);
        assert!(findings.is_empty(), "{}", rendered(&findings, &dir));
        let checked = marketplace::check(&dir).expect("loads").expect("found");
        assert_eq!(checked.marketplaces.len(), 2, "Claude Code and Codex files");
        let entries = &checked.marketplaces[0].entries;
        assert!(matches!(
            &entries[1].source,
            marketplace::PluginSource::GitHub { repo, reference: Some(r), .. }
                if repo == "example/remote-tool" && r == "v2.0.0"
        ));
    }
    for dir in fixtures("marketplaces/invalid") {
        let findings = marketplace_findings(&dir);
        assert_eq!(
            found(&findings, &dir),
            expectations(&dir),
            "{}",
            dir.display()
        );
        insta::assert_snapshot!(
            format!("marketplace-{}", name(&dir)),
            rendered(&findings, &dir)
        );
    }
}

/// The codes this layer adds, each of which some fixture must produce.
const ECOSYSTEM_CODES: &[Code] = &[
    Code::JsonSyntax,
    Code::FrontMatterSyntax,
    Code::MissingFrontMatter,
    Code::NameFolderMismatch,
    Code::DescriptionLength,
    Code::UnquotedPluginRoot,
    Code::McpMissingType,
    Code::MarketplaceMismatch,
    Code::VersionMismatch,
    Code::Unsupported,
    Code::SchemaMismatch,
    Code::DuplicateFile,
    Code::PathStyle,
];

#[test]
fn every_ecosystem_code_has_a_fixture() {
    let mut announced: Vec<String> = fixtures("invalid")
        .iter()
        .chain(&fixtures("marketplaces/invalid"))
        .flat_map(|dir| expectations(dir))
        .map(|(_, _, _, _, code)| code)
        .collect();
    announced.sort();
    announced.dedup();
    for code in ECOSYSTEM_CODES {
        assert!(
            announced.iter().any(|c| c == code.as_str()),
            "no fixture produces `{code}`"
        );
    }
}

#[test]
fn errors_only_where_the_host_refuses() {
    // Warnings cost a feature; every error must be one of these kinds.
    let refused = [
        "json-syntax",
        "front-matter-syntax",
        "duplicate-key",
        "wrong-type",
        "missing-field",
        "invalid-name",
        "unknown-value",
        "conflicting-fields",
        "path-outside-root",
        "path-not-found",
    ];
    for dir in fixtures("invalid") {
        let plugin = load_plugin(&dir).expect("loads");
        for f in plugin
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
        {
            assert!(
                refused.contains(&f.code.as_str()),
                "{}: `{}` is an error: {}",
                dir.display(),
                f.code,
                f.message
            );
        }
    }
}

#[cfg(unix)]
#[test]
fn symlinks_that_leave_the_plugin_are_refused_not_followed() {
    let outside = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(outside.path().join("secret-skill")).expect("mkdir");
    std::fs::write(
        outside.path().join("secret-skill/SKILL.md"),
        "---\nname: secret-skill\ndescription: d\n---\n",
    )
    .expect("write");
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::create_dir(root.join("skills")).expect("mkdir");
    std::os::unix::fs::symlink(
        outside.path().join("secret-skill"),
        root.join("skills/leak"),
    )
    .expect("symlink");
    std::os::unix::fs::symlink(outside.path(), root.join("agents")).expect("symlink");
    std::fs::create_dir(root.join(".claude-plugin")).expect("mkdir");
    std::fs::write(root.join(".claude-plugin/plugin.json"), r#"{"name": "p"}"#).expect("write");
    let plugin = load_plugin(root).expect("loads");
    assert!(plugin.skills.is_empty(), "the outside skill was read");
    let codes: Vec<&str> = plugin.findings.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(codes, ["path-outside-root", "path-outside-root"]);
}

#[test]
fn inspect_lists_skill_md_skills_with_their_metadata() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ecosystem/valid/claude-full");
    let plugin = load_plugin(&dir).expect("loads");
    let supplied = [("api_token".to_owned(), "s3cret-token".to_owned())].into();
    let summary = plug_manifest::inspect::summarize(&plugin, &supplied).expect("summary");
    let json = serde_json::to_value(&summary).expect("serializes");
    assert_eq!(json["format"], "claude-code");
    let notes = &json["skills"][0];
    assert_eq!(notes["name"], "release-notes");
    assert_eq!(notes["kind"], "instructions");
    assert_eq!(
        notes["instructions"]["path"],
        "skills/release-notes/SKILL.md"
    );
    assert_eq!(notes["instructions"]["metadata"]["license"], "Apache-2.0");
    assert_eq!(
        notes["instructions"]["metadata"]["metadata"]["owner"],
        "platform"
    );
    assert_eq!(json["commands"][0]["name"], "ship");
    assert_eq!(json["agents"][0]["name"], "release-reviewer");
    let token = json["config"]
        .as_array()
        .and_then(|c| c.iter().find(|v| v["name"] == "api_token"))
        .expect("api_token");
    assert_eq!(
        (token["sensitive"].clone(), token["supplied"].clone()),
        (true.into(), true.into())
    );
    let docs = json["mcp_servers"]
        .as_array()
        .and_then(|s| s.iter().find(|v| v["name"] == "docs"))
        .expect("docs server");
    assert_eq!(docs["headers"], serde_json::json!(["Authorization"]));
    let text = json.to_string();
    assert!(
        !text.contains("s3cret-token") && !text.contains("Bearer"),
        "{text}"
    );
}

#[test]
fn a_named_host_manifest_is_the_one_read() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ecosystem/valid/aws-style");
    let claude = load_plugin(&dir.join(".claude-plugin/plugin.json")).expect("loads");
    let codex = load_plugin(&dir.join(".codex-plugin/plugin.json")).expect("loads");
    let format = |p: &plug_manifest::Plugin| p.manifest.as_ref().map(|m| m.format);
    assert_eq!(format(&claude), Some(PluginFormat::ClaudeCode));
    assert_eq!(format(&codex), Some(PluginFormat::Codex));
    let servers = |p: &plug_manifest::Plugin| {
        let mut names: Vec<String> = p
            .manifest
            .iter()
            .flat_map(|m| m.mcp_servers.iter().map(|s| s.name.clone()))
            .collect();
        names.sort();
        names
    };
    // Codex reads its own server file instead of `.mcp.json`.
    assert_eq!(servers(&codex), ["knowledge"]);
    assert_eq!(servers(&claude).len(), 4);
}

/// An Agent Plugins plugin's client folders: Claude Code's is loaded (its
/// hooks, agents and commands join the plugin), Codex's and Cursor's hooks
/// are counted but not run, the others are listed with what they hold.
#[test]
fn agent_plugins_client_extensions_are_recognised_and_claude_codes_loaded() {
    let dir = fixtures("valid")
        .into_iter()
        .find(|d| d.ends_with("agent-plugins-clients"))
        .expect("fixture");
    let plugin = load_plugin(&dir).expect("loads");
    let manifest = plugin.manifest.as_ref().expect("manifest");
    assert_eq!(manifest.hooks.len(), 2, "only Claude Code's hooks run");
    assert_eq!(
        manifest.agents[0].path,
        "com.anthropic.claude-code/agents/notes-reviewer.md"
    );
    assert_eq!(manifest.commands[0].name, "draft-notes");
    let summary = plug_manifest::inspect::summarize(&plugin, &Default::default());
    insta::assert_json_snapshot!(
        "agent_plugins_client_extensions",
        summary.expect("summary").extensions
    );
}
