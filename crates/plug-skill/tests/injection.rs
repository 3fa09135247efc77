//! Params reach commands only as data: in exec form as whole argv elements,
//! in shell form through environment variables. A real shell and real
//! processes prove that no injected command ran.
#![allow(missing_docs)]

mod support;

use plug_skill::RunOutcome;
use support::*;

const ATTACKS: &[&str] = &[
    "; touch pwned1",
    "$(touch pwned2)",
    "`touch pwned3`",
    "x\ntouch pwned4",
    "' ; touch pwned5 ; '",
    "\" && touch pwned6 #",
];

fn files_created(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("read")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("pwned"))
        .collect()
}

#[tokio::test]
async fn exec_form_passes_each_param_as_one_literal_argument() {
    for attack in ATTACKS {
        let world = World::new().real_commands();
        let s = skill(
            "skill:\n  name: echo-it\n  description: d\n  steps:\n    - name: echo\n      action: run_command\n      command: printf '%s|' <name> second\n      outputs:\n        out: $.stdout\n    - name: check\n      action: assert\n      that: steps.echo.out == params.name ~ '|second|'\n",
        );
        let report = world.run(&world.request(s, &[("name", attack)])).await;
        assert_eq!(
            report.outcome,
            RunOutcome::Succeeded,
            "{attack:?}: {report:?}"
        );
        assert!(
            files_created(world.workdir.path()).is_empty(),
            "{attack:?} ran"
        );
    }
}

#[tokio::test]
async fn shell_form_passes_params_through_the_environment() {
    for attack in ATTACKS {
        let world = World::new().real_commands();
        let s = skill(
            "skill:\n  name: shell-it\n  description: d\n  steps:\n    - name: echo\n      action: run_command\n      shell: true\n      command: printf '%s' <name> | wc -c\n      outputs:\n        out: $.stdout\n",
        );
        let report = world.run(&world.request(s, &[("name", attack)])).await;
        assert_eq!(
            report.outcome,
            RunOutcome::Succeeded,
            "{attack:?}: {report:?}"
        );
        assert!(
            files_created(world.workdir.path()).is_empty(),
            "{attack:?} ran"
        );
    }
}

/// Hardening issue, item 1: a placeholder inside double quotes stays one
/// word. It used to become `"sub/""$PLUGCTL_ARG_0"""`, leaving the variable
/// unquoted, so `x <victim>` made `rm -rf` delete the victim too.
#[tokio::test]
async fn a_double_quoted_placeholder_is_never_split() {
    let world = World::new().real_commands();
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let victim = elsewhere.path().join("victim");
    std::fs::create_dir(&victim).expect("victim");
    std::fs::create_dir(world.workdir.path().join("sub")).expect("sub");
    let s = skill(
        "skill:\n  name: clean\n  description: d\n  steps:\n    - name: clean\n      action: run_command\n      shell: true\n      command: 'rm -rf \"sub/<name>\" && printf \"[%s]\" \"<name>\"'\n      outputs:\n        out: $.stdout\n    - name: check\n      action: assert\n      that: steps.clean.out == '[' ~ params.name ~ ']'\n",
    );
    let name = format!("x {}", victim.display());
    let report = world.run(&world.request(s, &[("name", &name)])).await;
    assert_eq!(report.outcome, RunOutcome::Succeeded, "{report:?}");
    assert!(victim.exists(), "the param split into a second path");
}

/// A list `command` with `shell: true` keeps each element one word, with a
/// placeholder anywhere inside it, whatever the value holds.
#[tokio::test]
async fn a_shell_list_keeps_each_element_one_word() {
    for attack in ATTACKS {
        let world = World::new().real_commands();
        let s = skill(
            "skill:\n  name: shell-list\n  description: d\n  steps:\n    - name: echo\n      action: run_command\n      shell: true\n      command: [printf, '%s|', \"it's <name> here\", '$HOME']\n      outputs:\n        out: $.stdout\n    - name: check\n      action: assert\n      that: steps.echo.out == \"it's \" ~ params.name ~ ' here|$HOME|'\n",
        );
        let report = world.run(&world.request(s, &[("name", attack)])).await;
        assert_eq!(
            report.outcome,
            RunOutcome::Succeeded,
            "{attack:?}: {report:?}"
        );
        assert!(
            files_created(world.workdir.path()).is_empty(),
            "{attack:?} ran"
        );
    }
}

/// Inside single quotes a value cannot be passed as data: `validate`
/// refuses the line, with the place named.
#[test]
fn a_single_quoted_placeholder_is_refused_at_validate() {
    let (_, findings) = plug_manifest::load::load_skill_text(
        None,
        None,
        "skill.yaml".into(),
        "skill:\n  name: q\n  description: d\n  steps:\n    - name: s\n      action: run_command\n      shell: true\n      command: \"echo '<name>' \\\\<name>\"\n".to_owned(),
    );
    let messages: Vec<String> = findings.iter().map(|f| f.to_record().to_string()).collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(
        messages[0].contains("shell-placeholder") && messages[0].contains("inside single quotes"),
        "{messages:?}"
    );
    assert!(
        messages[1].contains("right after a backslash"),
        "{messages:?}"
    );
}
