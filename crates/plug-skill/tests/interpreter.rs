//! The interpreter's logic with in-memory ports (and real child processes
//! where commands matter).
#![allow(missing_docs)]

mod support;

use plug_core::event::EventKind;
use plug_core::ports::ApprovalAnswer;
use plug_core::{TraceContext, Value};
use plug_skill::journal::{self, Entry, Resume};
use plug_skill::{Interpreter, Journal, RunOutcome, StepOutcome};
use support::*;

fn function_arn() -> serde_json::Value {
    serde_json::json!({"FunctionName": "f", "FunctionArn": "arn:aws:lambda:us-east-1:000000000000:function:f", "State": "Pending"})
}

#[tokio::test]
async fn the_seed_skill_falls_back_to_create_then_tags_the_new_function() {
    let world = World::new();
    std::fs::write(world.workdir.path().join("function.zip"), b"PK\x03\x04zip").expect("zip");
    world.aws.answer("update_function_code", Err(not_found()));
    world.aws.answer("create_function", Ok(function_arn()));
    let req = world.request(
        seed_skill(),
        &[
            ("function_name", "f"),
            ("iam_role_arn", "arn:aws:iam::000000000000:role/r"),
        ],
    );
    let report = world.run(&req).await;

    assert_eq!(report.outcome, RunOutcome::Succeeded, "{report:?}");
    let outcomes: Vec<_> = report.steps.iter().map(|s| s.outcome).collect();
    assert_eq!(
        outcomes,
        [
            StepOutcome::Succeeded,
            StepOutcome::Succeeded,
            StepOutcome::FellBack,
            StepOutcome::Succeeded
        ]
    );
    assert_eq!(
        *world.fake_commands.argv.lock().expect("lock"),
        [
            vec!["pytest", "tests/"],
            vec!["zip", "-r", "function.zip", "."]
        ]
    );
    let calls = world.aws.calls.lock().expect("lock");
    assert_eq!(
        calls
            .iter()
            .map(|(_, _, c)| c.operation.as_str())
            .collect::<Vec<_>>(),
        ["update_function_code", "create_function", "tag_resource"]
    );
    let create = &calls[1].2.params;
    assert_eq!(
        create.get("Code").and_then(|c| c.get("ZipFile")),
        Some(&Value::Bytes(b"PK\x03\x04zip".to_vec())),
        "bytes stay bytes"
    );
    assert_eq!(
        create.get("Role").and_then(Value::as_str),
        Some("arn:aws:iam::000000000000:role/r")
    );
    let tag = &calls[2].2.params;
    assert_eq!(
        tag.get("Resource").and_then(Value::as_str),
        Some("arn:aws:lambda:us-east-1:000000000000:function:f")
    );
    let deployed_at = tag
        .get("Tags")
        .and_then(|t| t.get("DeployedAt"))
        .and_then(Value::as_str)
        .expect("timestamp");
    assert!(
        deployed_at.len() == 20 && deployed_at.ends_with('Z'),
        "{deployed_at}"
    );
    assert!(
        calls
            .iter()
            .all(|(actor, source, _)| *actor == plug_core::Actor::Agent
                && source == "operator@example.com")
    );
}

#[tokio::test]
async fn hooks_fire_around_the_skill_and_each_step_and_a_block_stops_it() {
    let mut world = World::new();
    std::fs::write(world.workdir.path().join("function.zip"), b"z").expect("zip");
    let req = world.request(
        seed_skill(),
        &[
            ("function_name", "f"),
            ("iam_role_arn", "r"),
            ("function_arn", "a"),
        ],
    );
    world.run(&req).await;
    let seen = world.hooks.seen.lock().expect("lock").clone();
    assert_eq!(
        seen[..3],
        [
            ("pre_skill".to_owned(), None),
            ("pre_deploy".to_owned(), None),
            ("pre_step".to_owned(), Some("validate_code".to_owned()))
        ]
    );
    assert_eq!(seen.last(), Some(&("post_skill".to_owned(), None)));

    world = World::new();
    world.hooks = std::sync::Arc::new(FakeHooks {
        block: vec!["pre_deploy".into()],
        ..FakeHooks::default()
    });
    let report = world.run(&world.request(seed_skill(), &[])).await;
    assert_eq!(
        report.outcome,
        RunOutcome::Blocked {
            reasons: vec!["pre_deploy says no".into()]
        }
    );
    assert!(
        world.fake_commands.argv.lock().expect("lock").is_empty(),
        "nothing ran"
    );
}

#[tokio::test]
async fn a_failing_first_step_aborts_before_any_aws_call() {
    let world = World::new();
    world
        .fake_commands
        .exit_codes
        .lock()
        .expect("lock")
        .push_back(1);
    let report = world
        .run(&world.request(seed_skill(), &[("function_name", "f")]))
        .await;
    assert!(
        matches!(&report.outcome, RunOutcome::StepFailed { step, error } if step == "validate_code" && error.contains("exited with 1") && error.contains("boom")),
        "{report:?}"
    );
    assert!(world.aws.operations().is_empty());
    assert_eq!(
        world
            .hooks
            .seen
            .lock()
            .expect("lock")
            .last()
            .map(|(e, _)| e.as_str()),
        Some("on_failure")
    );
}

#[tokio::test]
async fn continue_keeps_going_and_retries_back_off_until_success() {
    let world = World::new();
    world
        .fake_commands
        .exit_codes
        .lock()
        .expect("lock")
        .extend([3, 1, 1, 0]);
    let s = skill(
        "skill:\n  name: flaky\n  description: d\n  steps:\n    - name: optional\n      action: run_command\n      command: lint\n      on_failure: continue\n    - name: flaky\n      action: run_command\n      command: deploy\n      retries: 2\n",
    );
    let report = world.run(&world.request(s, &[])).await;
    assert_eq!(report.outcome, RunOutcome::Succeeded);
    assert_eq!(report.steps[0].outcome, StepOutcome::Failed);
    assert_eq!(
        (report.steps[1].outcome, report.steps[1].attempts),
        (StepOutcome::Succeeded, 3)
    );
}

#[tokio::test]
async fn retries_are_bounded() {
    let world = World::new();
    world
        .fake_commands
        .exit_codes
        .lock()
        .expect("lock")
        .extend([1, 1, 1, 1]);
    let s = skill(
        "skill:\n  name: flaky\n  description: d\n  steps:\n    - name: flaky\n      action: run_command\n      command: deploy\n      retries: 1\n",
    );
    let report = world.run(&world.request(s, &[])).await;
    assert!(matches!(report.outcome, RunOutcome::StepFailed { .. }));
    assert_eq!(report.steps[0].attempts, 2);
}

#[tokio::test]
async fn when_skips_and_assert_fails_with_its_message() {
    let world = World::new();
    let s = skill(
        "skill:\n  name: cond\n  description: d\n  params:\n    env: {default: dev}\n  steps:\n    - name: prod_only\n      action: run_command\n      command: deploy\n      when: params.env == 'prod'\n    - name: check\n      action: assert\n      that: steps.prod_only is none\n      message: prod_only should be skipped\n    - name: must_be_prod\n      action: assert\n      that: params.env == 'prod'\n      message: only prod here\n",
    );
    let report = world.run(&world.request(s, &[])).await;
    assert_eq!(report.steps[0].outcome, StepOutcome::Skipped);
    assert_eq!(report.steps[1].outcome, StepOutcome::Succeeded);
    assert_eq!(
        report.outcome,
        RunOutcome::StepFailed {
            step: "must_be_prod".into(),
            error: "only prod here".into()
        }
    );
    assert!(world.fake_commands.argv.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn fallback_runs_only_for_listed_error_codes() {
    let world = World::new();
    world.aws.answer(
        "get_function",
        Err(plug_core::ports::AwsError::Service {
            code: "AccessDeniedException".into(),
            message: "no".into(),
            status: 403,
            request_id: None,
        }),
    );
    let s = skill(
        "skill:\n  name: fb\n  description: d\n  steps:\n    - name: get\n      action: aws_api\n      service: lambda\n      method: get_function\n      fallback:\n        method: create_function\n        on_errors: [ResourceNotFoundException]\n",
    );
    let report = world.run(&world.request(s, &[])).await;
    assert!(
        matches!(&report.outcome, RunOutcome::StepFailed { error, .. } if error.contains("AccessDeniedException")),
        "{report:?}"
    );
    assert_eq!(world.aws.operations(), ["get_function"]);
}

#[tokio::test]
async fn the_gate_turns_a_human_only_action_into_an_approval() {
    let mut world = World::new();
    world.permissions = Some(std::sync::Arc::new(HumanOnly {
        human_only: vec!["lambda:DeleteFunction".into()],
        never: vec![],
    }));
    world.approver = std::sync::Arc::new(FixedApprover(
        ApprovalAnswer::Approved {
            approver: "alice".into(),
        },
        Default::default(),
    ));
    let s = skill(
        "skill:\n  name: delete-lambda\n  description: d\n  steps:\n    - name: delete\n      action: aws_api\n      service: lambda\n      method: delete_function\n      params: {FunctionName: <function_name>}\n",
    );
    let mut req = world.request(s.clone(), &[("function_name", "f")]);
    req.actions = vec!["lambda:DeleteFunction".into()];
    let report = world.run(&req).await;
    assert_eq!(report.outcome, RunOutcome::Succeeded);
    assert_eq!(report.actor, plug_core::Actor::Human);
    let calls = world.aws.calls.lock().expect("lock");
    assert_eq!(
        (calls[0].0, calls[0].1.as_str()),
        (plug_core::Actor::Human, "alice"),
        "the call runs in alice's human session"
    );
    assert_eq!(
        world.approver.1.lock().expect("lock")[0].actions,
        ["lambda:DeleteFunction"]
    );
}

#[tokio::test]
async fn a_refused_or_unanswered_approval_changes_nothing() {
    for answer in [
        ApprovalAnswer::Refused {
            by: "bob".into(),
            reason: Some("not today".into()),
        },
        ApprovalAnswer::Unanswered,
    ] {
        let mut world = World::new();
        world.permissions = Some(std::sync::Arc::new(HumanOnly {
            human_only: vec!["lambda:DeleteFunction".into()],
            never: vec![],
        }));
        world.approver = std::sync::Arc::new(FixedApprover(answer, Default::default()));
        let s = skill(
            "skill:\n  name: delete-lambda\n  description: d\n  steps:\n    - name: delete\n      action: aws_api\n      service: lambda\n      method: delete_function\n",
        );
        let mut req = world.request(s, &[]);
        req.actions = vec!["lambda:DeleteFunction".into()];
        let report = world.run(&req).await;
        assert!(
            matches!(
                report.outcome,
                RunOutcome::ApprovalRefused { step: None, .. }
            ),
            "{report:?}"
        );
        assert!(world.aws.operations().is_empty());
    }
}

#[tokio::test]
async fn an_action_nobody_may_do_is_denied_before_step_one_naming_the_statement() {
    let mut world = World::new();
    world.permissions = Some(std::sync::Arc::new(HumanOnly {
        human_only: vec![],
        never: vec!["iam:PassRole".into()],
    }));
    let mut req = world.request(seed_skill(), &[]);
    req.actions = vec!["lambda:CreateFunction".into(), "iam:PassRole".into()];
    let report = world.run(&req).await;
    match report.outcome {
        RunOutcome::Denied {
            action, statements, ..
        } => {
            assert_eq!(action, "iam:PassRole");
            assert_eq!(statements[0].sid.as_deref(), Some("HumanOnly"));
        }
        other => panic!("{other:?}"),
    }
    assert!(world.fake_commands.argv.lock().expect("lock").is_empty());
}

/// `approvers` names who may approve: anyone else's approval is a refusal,
/// and the request carries the list (hardening issue, item 3).
#[tokio::test]
async fn an_approval_from_outside_the_approvers_is_a_refusal() {
    let mut world = World::new();
    world.approver = std::sync::Arc::new(FixedApprover(
        ApprovalAnswer::Approved {
            approver: "mallory".into(),
        },
        std::sync::Mutex::new(Vec::new()),
    ));
    let text = "skill:\n  name: gated\n  description: d\n  steps:\n    - name: ok\n      action: approval\n      message: Ship?\n      approvers: [alice, bob]\n    - name: go\n      action: run_command\n      command: deploy\n";
    let report = world.run(&world.request(skill(text), &[])).await;
    match &report.outcome {
        RunOutcome::ApprovalRefused { reason, .. } => {
            assert!(
                reason.contains("not among the step's approvers"),
                "{reason}"
            )
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(
        world.approver.1.lock().expect("lock")[0].approvers,
        ["alice", "bob"]
    );
    assert!(world.fake_commands.argv.lock().expect("lock").is_empty());
    let mut listed = World::new();
    listed.approver = std::sync::Arc::new(FixedApprover(
        ApprovalAnswer::Approved {
            approver: "bob".into(),
        },
        std::sync::Mutex::new(Vec::new()),
    ));
    let report = listed.run(&listed.request(skill(text), &[])).await;
    assert_eq!(report.outcome, RunOutcome::Succeeded);
}

#[tokio::test]
async fn an_approval_step_asks_and_a_refusal_stops_the_run() {
    let world = World::new();
    let s = skill(
        "skill:\n  name: gated\n  description: d\n  steps:\n    - name: ok\n      action: approval\n      message: Deploy <function_name> to prod?\n    - name: go\n      action: run_command\n      command: deploy\n",
    );
    let report = world
        .run(&world.request(s, &[("function_name", "f")]))
        .await;
    assert!(
        matches!(&report.outcome, RunOutcome::ApprovalRefused { step: Some(s), .. } if s == "ok")
    );
    assert_eq!(
        world.approver.1.lock().expect("lock")[0].reason,
        "Deploy f to prod?"
    );
    assert!(world.fake_commands.argv.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn named_outputs_and_mcp_results_feed_later_steps() {
    let world = World::new();
    world.aws.answer(
        "get_function",
        Ok(serde_json::json!({"Configuration": {"FunctionArn": "arn:x", "MemorySize": 256}})),
    );
    let s = skill(
        "skill:\n  name: chain\n  description: d\n  steps:\n    - name: get\n      action: aws_api\n      service: lambda\n      method: get_function\n      outputs:\n        memory: $.Configuration.MemorySize\n    - name: price\n      action: mcp_call\n      server: pricing\n      tool: price\n      arguments: {memory: <memory>, arn: <get.Configuration.FunctionArn>}\n    - name: check\n      action: assert\n      that: steps.price.usd > 1 and steps.price.echo.memory == 256\n",
    );
    let report = world.run(&world.request(s, &[])).await;
    assert_eq!(report.outcome, RunOutcome::Succeeded, "{report:?}");
}

/// The `traceparent` hooks and MCP servers get names the span the
/// telemetry rebuilds from the events: the step's inside a step, the run's
/// around it.
#[tokio::test]
async fn hooks_and_mcp_calls_are_told_the_span_they_run_under() {
    let world = World::new();
    let s = skill(
        "skill:\n  name: traced\n  description: d\n  steps:\n    - name: price\n      action: mcp_call\n      server: pricing\n      tool: price\n      arguments: {memory: 1}\n",
    );
    let req = world.request(s, &[]);
    let report = world.run(&req).await;
    assert_eq!(report.outcome, RunOutcome::Succeeded, "{report:?}");

    let started_at = |wanted: &str| {
        let events = world.telemetry.0.lock().expect("lock");
        events
            .iter()
            .find_map(|e| match &e.kind {
                EventKind::RunStarted { .. } if wanted == "run" => Some(e.at_ms),
                EventKind::StepStarted { step, .. } if step == wanted => Some(e.at_ms),
                _ => None,
            })
            .expect("started")
    };
    let run_span = TraceContext::run(&req.run_id, started_at("run"));
    let step_span = TraceContext::span(&req.run_id, "price", started_at("price"));
    assert_ne!(run_span, step_span);

    let calls = world.tools.calls.lock().expect("lock").clone();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].trace, Some(step_span));
    let traces = world.hooks.traces.lock().expect("lock").clone();
    assert!(!traces.is_empty());
    assert!(traces.iter().all(|t| *t == Some(run_span)), "{traces:?}");
}

#[tokio::test]
async fn resume_restores_outputs_and_skips_completed_steps() {
    let world = World::new();
    world.aws.answer("create_function", Ok(function_arn()));
    world
        .fake_commands
        .exit_codes
        .lock()
        .expect("lock")
        .push_back(7);
    let s = skill(
        "skill:\n  name: two\n  description: d\n  steps:\n    - name: create\n      action: aws_api\n      service: lambda\n      method: create_function\n    - name: smoke\n      action: run_command\n      command: [smoke, <function_arn>]\n",
    );
    let req = world.request(s, &[]);
    let first = world.run(&req).await;
    assert!(matches!(first.outcome, RunOutcome::StepFailed { .. }));

    let (mut journal, entries) = Journal::reopen(world.state.path(), &req.run_id).expect("reopen");
    let resume = Resume::from_entries(&entries);
    assert_eq!(
        resume.completed.len(),
        1,
        "the failed step is not completed"
    );
    let second = Interpreter::new(world.ports(), world.options.clone())
        .run(&req, &mut journal, Some(resume))
        .await;
    assert_eq!(second.outcome, RunOutcome::Succeeded);
    assert_eq!(
        world.aws.operations(),
        ["create_function"],
        "create ran once"
    );
    let argv = world.fake_commands.argv.lock().expect("lock").clone();
    assert_eq!(
        argv[1],
        ["smoke", "arn:aws:lambda:us-east-1:000000000000:function:f"],
        "output restored from the journal"
    );
    let (listed, unreadable) = journal::list(world.state.path());
    assert!(unreadable.is_empty());
    assert_eq!(
        (listed[0].state.as_str(), listed[0].steps_done),
        ("succeeded", 2)
    );
}

#[tokio::test]
async fn a_run_killed_mid_step_resumes_at_that_step() {
    let world = World::new();
    let s = skill(
        "skill:\n  name: two\n  description: d\n  steps:\n    - name: a\n      action: run_command\n      command: one\n    - name: b\n      action: run_command\n      command: two\n",
    );
    let req = world.request(s, &[]);
    let mut journal = Journal::create(world.state.path(), &req.run_id).expect("journal");
    // What a process leaves behind when SIGKILLed during step b.
    journal
        .append(&Entry::StepStarted {
            index: 0,
            name: "a".into(),
            attempt: 1,
        })
        .expect("append");
    journal
        .append(&Entry::StepFinished {
            index: 0,
            name: "a".into(),
            outcome: StepOutcome::Succeeded,
            result: serde_json::json!({}),
            outputs: Default::default(),
            error: None,
        })
        .expect("append");
    journal
        .append(&Entry::StepStarted {
            index: 1,
            name: "b".into(),
            attempt: 1,
        })
        .expect("append");
    let entries = journal::read(journal.path()).expect("read");
    let report = Interpreter::new(world.ports(), world.options.clone())
        .run(&req, &mut journal, Some(Resume::from_entries(&entries)))
        .await;
    assert_eq!(report.outcome, RunOutcome::Succeeded);
    assert_eq!(
        *world.fake_commands.argv.lock().expect("lock"),
        [vec!["two"]]
    );
}

#[tokio::test]
async fn a_step_timeout_kills_the_command() {
    let world = World::new().real_commands();
    let s = skill(
        "skill:\n  name: slow\n  description: d\n  steps:\n    - name: sleepy\n      action: run_command\n      command: sleep 30\n      timeout: 200ms\n",
    );
    let started = std::time::Instant::now();
    let report = world.run(&world.request(s, &[])).await;
    assert!(
        matches!(&report.outcome, RunOutcome::StepFailed { error, .. } if error.contains("timed out")),
        "{report:?}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[tokio::test]
async fn telemetry_records_the_run_steps_and_calls() {
    let world = World::new();
    std::fs::write(world.workdir.path().join("function.zip"), b"z").expect("zip");
    world
        .run(&world.request(
            seed_skill(),
            &[
                ("function_name", "f"),
                ("iam_role_arn", "r"),
                ("function_arn", "a"),
            ],
        ))
        .await;
    let kinds = event_names(&world);
    assert_eq!(kinds.first().map(String::as_str), Some("run_started"));
    assert_eq!(kinds.last().map(String::as_str), Some("run_finished"));
    assert_eq!(kinds.iter().filter(|k| *k == "step_finished").count(), 4);
    assert_eq!(kinds.iter().filter(|k| *k == "aws_api_called").count(), 2);
}

#[tokio::test]
async fn wait_for_polls_until_its_condition_holds() {
    let world = World::new();
    for state in ["Pending", "Pending", "Active"] {
        world.aws.answer(
            "get_function_configuration",
            Ok(serde_json::json!({"State": state})),
        );
    }
    let s = skill(
        "skill:\n  name: waiter\n  description: d\n  steps:\n    - name: ready\n      action: wait_for\n      service: lambda\n      method: get_function_configuration\n      params: {FunctionName: f}\n      until: result.State == 'Active'\n      interval: 1ms\n",
    );
    let report = world.run(&world.request(s, &[])).await;
    assert_eq!(report.outcome, RunOutcome::Succeeded, "{report:?}");
    assert_eq!(world.aws.operations().len(), 3, "polled until Active");
}

#[tokio::test]
async fn wait_for_gives_up_at_the_step_timeout() {
    let world = World::new();
    for _ in 0..10_000 {
        world.aws.answer(
            "get_function_configuration",
            Ok(serde_json::json!({"State": "Pending"})),
        );
    }
    let s = skill(
        "skill:\n  name: waiter\n  description: d\n  steps:\n    - name: ready\n      action: wait_for\n      service: lambda\n      method: get_function_configuration\n      until: result.State == 'Active'\n      interval: 5ms\n      timeout: 100ms\n",
    );
    let report = world.run(&world.request(s, &[])).await;
    assert!(
        matches!(&report.outcome, RunOutcome::StepFailed { error, .. } if error.contains("timed out")),
        "{report:?}"
    );
}

/// A `prompt` step's answer fills the param it names: later steps use it
/// as `<param>` (visible-runs issue, rough edges); a sensitive answer is
/// used but never journaled.
#[tokio::test]
async fn a_prompt_answer_fills_its_param_for_later_steps() {
    for sensitive in [false, true] {
        let mut world = World::new().real_commands();
        world.answer = Some("eu-west-3-answer".into());
        let s = skill(&format!(
            "skill:\n  name: ask\n  description: d\n  params:\n    target:\n      type: string\n      required: false\n      sensitive: {sensitive}\n  steps:\n    - name: choose\n      action: prompt\n      message: Which target?\n      param: target\n    - name: use\n      action: run_command\n      command: [printf, '%s', <target>]\n      outputs:\n        used: $.stdout\n    - name: check\n      action: assert\n      that: \"steps.use.used == 'eu-west-3-answer'\"\n"
        ));
        let req = world.request(s, &[]);
        let report = world.run(&req).await;
        assert_eq!(report.outcome, RunOutcome::Succeeded, "{report:?}");
        let journal = std::fs::read_to_string(Journal::path_for(world.state.path(), &req.run_id))
            .expect("journal");
        assert_eq!(
            journal.contains("eu-west-3-answer"),
            !sensitive,
            "sensitive {sensitive}: {journal}"
        );
    }
}
