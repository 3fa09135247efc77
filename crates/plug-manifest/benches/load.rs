//! Load + validate cost of skill files.
//!
//! Issue target: at most 20 µs per 40-line skill file, median. `one_skill`
//! measures parse + decode + placeholder checks of one file held in memory;
//! `plugin_1000_skills` loads a plugin of 1,000 such files from disk (reads
//! included) and reports the time for all of them.
#![allow(missing_docs)]

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use plug_manifest::load::load_skill_text;
use plug_manifest::load_plugin;

/// A realistic 40-line skill: commands, AWS calls with a fallback, placeholders.
fn skill_text(i: usize) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "skill:
  name: deploy-service-{i}
  description: Deploy service {i} with checks and tags
  params:
    function_name:
      type: string
      description: The function to deploy
    memory_mb:
      type: integer
      default: 256
  steps:
    - name: validate_code
      action: run_command
      command: pytest tests/
      on_failure: abort
      timeout: 5m
    - name: package_function
      action: run_command
      command: [zip, -r, function.zip, .]
    - name: create_or_update
      action: aws_api
      service: lambda
      method: update_function_code
      params:
        FunctionName: <function_name>
        ZipFile: <read_file:function.zip>
      fallback:
        method: create_function
        on_errors: [ResourceNotFoundException]
        params:
          FunctionName: <function_name>
          Role: <iam_role_arn>
    - name: tag_deployment
      action: aws_api
      service: lambda
      method: tag_resource
      retries: 2
      params:
        Resource: <create_or_update.FunctionArn>
        Tags: {{DeployedBy: agent, DeployedAt: <timestamp>}}
"
    );
    s
}

fn benches(c: &mut Criterion) {
    let text = skill_text(7);
    assert_eq!(
        text.lines().count(),
        40,
        "the target is stated for 40-line files"
    );
    let mut group = c.benchmark_group("load_validate");
    group.throughput(Throughput::Elements(1));
    group.bench_function("one_skill", |b| {
        b.iter(|| {
            let (loaded, findings) = load_skill_text(
                None,
                None,
                PathBuf::from("skill.yaml"),
                black_box(text.clone()),
            );
            assert!(findings.is_empty() && loaded.skill.is_some());
        });
    });
    group.finish();

    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::create_dir(root.join("skills")).expect("mkdir");
    let mut manifest = String::from("plugin:\n  name: bench\n  version: 1.0.0\n  skills:\n");
    for i in 0..1000 {
        std::fs::write(root.join(format!("skills/s{i}.yaml")), skill_text(i)).expect("write");
        let _ = writeln!(
            manifest,
            "    - name: deploy-service-{i}\n      path: skills/s{i}.yaml"
        );
    }
    std::fs::write(root.join("plugin.yaml"), manifest).expect("write");
    let mut group = c.benchmark_group("load_validate");
    group.sample_size(20);
    group.throughput(Throughput::Elements(1000));
    group.bench_function("plugin_1000_skills", |b| {
        b.iter(|| {
            let plugin = load_plugin(black_box(root)).expect("loads");
            assert!(
                plugin.findings.is_empty(),
                "{:?}",
                plugin.findings.first().map(|f| f.to_record())
            );
        });
    });
    group.finish();
}

/// Hardening issue, item 16: validating a skill of 40,000 steps (each
/// using a placeholder) took 17 s, from quadratic name and step lookups.
fn huge_skill(c: &mut Criterion) {
    let mut text = String::from(
        "skill:\n  name: huge\n  description: d\n  params:\n    target:\n      type: string\n  steps:\n",
    );
    for i in 0..40_000 {
        let _ = write!(
            text,
            "    - name: s{i}\n      action: run_command\n      command: [deploy, <target>, '{i}']\n"
        );
    }
    let mut group = c.benchmark_group("load_validate");
    group.sample_size(10);
    group.throughput(Throughput::Elements(40_000));
    group.bench_function("skill_40000_steps", |b| {
        b.iter(|| {
            let (loaded, findings) = load_skill_text(
                None,
                None,
                PathBuf::from("skill.yaml"),
                black_box(text.clone()),
            );
            assert!(findings.is_empty() && loaded.skill.is_some());
        });
    });
    group.finish();
}

criterion_group!(load, benches, huge_skill);
criterion_main!(load, parse);

fn parse_only(c: &mut Criterion) {
    let text = skill_text(7);
    c.bench_function("yaml_parse_only", |b| {
        b.iter(|| plug_manifest::yaml::parse(black_box(&text)).expect("parses"))
    });
    c.bench_function("saphyr_events_only", |b| {
        b.iter(|| {
            let mut p = saphyr_parser::Parser::new_from_str(black_box(&text));
            let mut n = 0;
            while let Some(Ok(_)) = p.next_event() {
                n += 1;
            }
            n
        })
    });
}
criterion_group!(parse, parse_only);
