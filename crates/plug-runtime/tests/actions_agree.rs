//! The permission gate, `plan`, `check` and `validate`'s least-privilege lint
//! see the same IAM actions for every skill of every native fixture plugin.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use plug_core::RunId;
use plug_manifest::native::model::ParamType;
use plug_manifest::{Code, Plugin};
use plug_runtime::actions::{action_matches, implied_calls};
use plug_runtime::config_file::TelemetrySettings;
use plug_runtime::{ParamValue, RunInput, RunSettings, Runtime, StateDir};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every plugin folder among the fixtures and bundled plugins.
fn plugin_dirs() -> Vec<PathBuf> {
    let parents = [
        "fixtures/native/valid",
        "plugins",
        "crates/plugctl/tests/fixtures",
        "crates/plug-skill/tests/fixtures",
    ];
    let mut dirs = Vec::new();
    for parent in parents {
        let Ok(entries) = std::fs::read_dir(repo().join(parent)) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.path().join("plugin.yaml").is_file() {
                dirs.push(entry.path());
            }
        }
    }
    dirs.sort();
    dirs
}

fn lowercase(actions: impl IntoIterator<Item = String>) -> BTreeSet<String> {
    actions
        .into_iter()
        .map(|a| a.to_ascii_lowercase())
        .collect()
}

/// A value of the declared type for every param, so the run prepares.
fn params_for(plugin: &Plugin, skill: &str) -> Vec<(String, ParamValue)> {
    let Some(loaded) = plugin
        .skills
        .iter()
        .find(|s| s.skill.as_ref().is_some_and(|k| k.name.value == skill))
    else {
        return Vec::new();
    };
    let Some(decoded) = &loaded.skill else {
        return Vec::new();
    };
    let text = |ty: ParamType| match ty {
        ParamType::Boolean => "true",
        ParamType::Number | ParamType::Integer => "1",
        ParamType::List => "[]",
        ParamType::Object => "{}",
        ParamType::String | ParamType::Bytes => "x",
    };
    let declared = decoded.params.iter().map(|p| (p.name.clone(), text(p.ty)));
    let implicit = loaded.implicit_params.iter().map(|p| (p.name.clone(), "x"));
    declared
        .chain(implicit)
        .map(|(k, v)| (k, ParamValue::Text(v.to_owned())))
        .collect()
}

#[tokio::test]
async fn gate_plan_check_and_lint_agree_on_every_fixture_skill() {
    let state = tempfile::tempdir().expect("tempdir");
    let settings = RunSettings {
        identity: Default::default(),
        policies: Vec::new(),
        set: Vec::new(),
        telemetry: TelemetrySettings::default(),
        state: StateDir::new(state.path()),
        workdir: repo(),
        approval_timeout: std::time::Duration::from_secs(1),
        governance: Default::default(),
    };
    let (runtime, _) = Runtime::new(settings).expect("runtime");
    let mut compared = 0;
    for dir in plugin_dirs() {
        let Ok(plugin) = plug_manifest::load_plugin(&dir) else {
            continue;
        };
        if plugin.has_failures(false)
            || !plugin
                .manifest
                .as_ref()
                .is_some_and(|m| m.format.is_native())
        {
            continue;
        }
        let checked = plug_runtime::check::skill_actions(&plugin);
        let lint = lint_sets(&dir);
        for (skill, check_actions) in checked {
            let input = RunInput {
                plugin: dir.clone(),
                skill: skill.clone(),
                params: params_for(&plugin, &skill).into_iter().collect(),
                actor: plug_core::Actor::Agent,
                workdir: None,
                set: Vec::new(),
            };
            let prepared = runtime
                .prepare(input, RunId::new("plan").expect("id"))
                .unwrap_or_else(|e| panic!("{} {skill}: {e}", dir.display()));
            let gate = lowercase(prepared.request.actions.clone());
            let plan = lowercase(
                runtime
                    .plan(&prepared)
                    .await
                    .expect("plan")
                    .actions
                    .into_iter()
                    .map(|a| a.action),
            );
            let what = format!("{} / {skill}", dir.display());
            assert_eq!(gate, plan, "{what}: gate and plan");
            assert_eq!(gate, lowercase(check_actions), "{what}: gate and check");
            let linted = lint.iter().find(|(s, _)| *s == skill).map(|(_, a)| a);
            let linted = linted.unwrap_or_else(|| panic!("{what}: not linted"));
            // The lint holds a skill to what it declares (globs included) plus
            // what it warns is missing; the gate decides each action itself.
            assert!(
                linted.is_subset(&gate),
                "{what}: lint {linted:?} beyond gate {gate:?}"
            );
            for action in &gate {
                assert!(
                    linted.iter().any(|l| action_matches(l, action)),
                    "{what}: the lint lets `{action}` through undeclared"
                );
            }
            compared += 1;
        }
    }
    assert!(compared >= 10, "only {compared} skills compared");
}

/// What the lint holds each skill to: its declared actions plus every action
/// it warns is undeclared. Checked against the warnings it really emits.
fn lint_sets(dir: &Path) -> Vec<(String, BTreeSet<String>)> {
    let mut plugin = plug_manifest::load_plugin(dir).expect("loads");
    plug_runtime::lint::check_plugin(&mut plugin);
    let warned = plugin.findings[..]
        .iter()
        .filter(|f| f.code == Code::UndeclaredPermission)
        .count();
    let mut sets = Vec::new();
    let mut undeclared_total = 0;
    for loaded in &plugin.skills {
        let Some(skill) = &loaded.skill else { continue };
        let mut set = lowercase(loaded.required_permissions.clone());
        for call in implied_calls(skill) {
            let undeclared = plug_runtime::lint::undeclared(&call, &loaded.required_permissions);
            undeclared_total += undeclared.len();
            set.extend(lowercase(undeclared));
        }
        sets.push((skill.name.value.clone(), set));
    }
    assert_eq!(
        warned, undeclared_total,
        "one warning per undeclared action"
    );
    sets
}
