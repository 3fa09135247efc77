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
