//! Validation cost of host-format plugins.
//!
//! Issue target: validate 100 plugins holding 1,000 `SKILL.md` skills in
//! total in at most 50 ms, single process, reads included. Each plugin is a
//! Claude Code layout with a manifest, an `.mcp.json`, a hooks file and ten
//! skills whose bodies link to reference files, so every check runs.
#![allow(missing_docs)]

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use plug_manifest::load_plugin;

const PLUGINS: usize = 100;
const SKILLS_PER_PLUGIN: usize = 10;

fn skill_md(plugin: usize, skill: usize) -> String {
    let mut s = format!(
        "---
name: skill-{skill}
description: \"Handles task {skill} of plugin {plugin}: reads the inputs, checks them and reports. Use when the user asks for task {skill}.\"
argument-hint: \"[target]\"
allowed-tools: Bash, Read, Grep
metadata:
  owner: team-{plugin}
  version: \"1.{skill}\"
---

# Task {skill}

Read [the guide](references/guide.md) and [the checklist](references/checklist.md#steps) first.
"
    );
    for line in 0..30 {
        let _ = writeln!(
            s,
            "- Step {line}: inspect the target, compare with the expected state, note any drift."
        );
    }
    s.push_str("\n```bash\nscripts/run.sh --check\n```\n");
    s
}

fn write_plugin(root: &Path, plugin: usize) {
    let dir = root.join(format!("plugin-{plugin}"));
    let mkdir = |p: &Path| std::fs::create_dir_all(p).expect("mkdir");
    mkdir(&dir.join(".claude-plugin"));
    mkdir(&dir.join("hooks"));
    std::fs::write(
        dir.join(".claude-plugin/plugin.json"),
        format!("{{\"name\": \"plugin-{plugin}\", \"version\": \"1.0.{plugin}\", \"description\": \"Plugin {plugin}\", \"author\": {{\"name\": \"Team\"}}, \"keywords\": [\"a\", \"b\"]}}"),
    )
    .expect("write");
    std::fs::write(
        dir.join(".mcp.json"),
        r#"{"mcpServers": {"tools": {"command": "uvx", "args": ["tools-server@1.0.0"], "env": {"LOG": "error"}}, "docs": {"type": "http", "url": "https://docs.example.test/mcp"}}}"#,
    )
    .expect("write");
    std::fs::write(
        dir.join("hooks/hooks.json"),
        r#"{"hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "\"${CLAUDE_PLUGIN_ROOT}/hooks/check.sh\"", "timeout": 10}]}]}}"#,
    )
    .expect("write");
    for skill in 0..SKILLS_PER_PLUGIN {
        let skill_dir = dir.join(format!("skills/skill-{skill}"));
        mkdir(&skill_dir.join("references"));
        std::fs::write(skill_dir.join("SKILL.md"), skill_md(plugin, skill)).expect("write");
        for reference in ["guide.md", "checklist.md"] {
            std::fs::write(skill_dir.join("references").join(reference), "# ref\n").expect("write");
        }
    }
}

fn validate_all(dirs: &[PathBuf]) -> usize {
    let mut skills = 0;
    for dir in dirs {
        let plugin = load_plugin(black_box(dir)).expect("loads");
        assert!(
            plugin.findings.is_empty(),
            "{:?}",
            plugin.findings.first().map(|f| f.to_record())
        );
        skills += plugin.skills.len();
    }
    skills
}

fn benches(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dirs: Vec<PathBuf> = (0..PLUGINS)
        .map(|i| {
            write_plugin(tmp.path(), i);
            tmp.path().join(format!("plugin-{i}"))
        })
        .collect();
    assert_eq!(validate_all(&dirs), PLUGINS * SKILLS_PER_PLUGIN);
    let mut group = c.benchmark_group("ecosystem_validate");
    group.sample_size(30);
    group.throughput(Throughput::Elements((PLUGINS * SKILLS_PER_PLUGIN) as u64));
    group.bench_function("100_plugins_1000_skill_md", |b| {
        b.iter(|| validate_all(&dirs));
    });
    group.finish();
}

criterion_group!(ecosystem, benches);
criterion_main!(ecosystem);
