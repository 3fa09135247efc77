//! The seed plugin's `pre_deploy` hook (`./hooks/cost_estimate.py`) through the real host.
#![allow(missing_docs)]

use std::path::Path;

use plug_core::ports::{HookDecision, HookHost, HookInput};
use plug_core::{Actor, RunId};
use plug_hooks::{HostConfig, ProcessHookHost, Termination};

fn host() -> ProcessHookHost {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins/aws-deployment-assistant");
    let plugin = plug_manifest::load_plugin(&root).expect("bundled plugin loads");
    ProcessHookHost::for_plugin(&plugin, HostConfig::default()).expect("host")
}

fn pre_deploy(params: serde_json::Value) -> HookInput {
    HookInput {
        event: "pre_deploy".into(),
        run_id: RunId::new("seed-run").expect("run id"),
        plugin: "aws-deployment-assistant".into(),
        skill: "deploy-lambda".into(),
        step: None,
        action: None,
        params,
        actor: Actor::Agent,
        trace: None,
    }
}

#[tokio::test]
async fn the_cost_estimate_runs_confined_and_reports_its_estimate() {
    let host = host();
    let input = pre_deploy(serde_json::json!({"function_name": "hello", "memory_mb": 128}));
    let reports = host.run(&input).await;
    assert_eq!(reports.len(), 1);
    assert_eq!(
        reports[0].end,
        Termination::Exited { code: 0 },
        "{reports:?}"
    );
    assert!(reports[0].critical, "pre_ events are critical by default");
    match plug_hooks::combine(&reports).expect("no failure") {
        HookDecision::Continue { messages, .. } => {
            assert_eq!(messages.len(), 1, "{messages:?}");
            assert!(
                messages[0].starts_with("Estimated Lambda cost for hello: $"),
                "{messages:?}"
            );
        }
        other => panic!("expected continue, got {other:?}"),
    }
}

#[tokio::test]
async fn the_cost_estimate_blocks_a_deploy_over_budget() {
    let input = pre_deploy(serde_json::json!({
        "function_name": "big",
        "memory_mb": 10240,
        "expected_invocations_per_month": 100000000,
        "max_monthly_cost_usd": 1,
    }));
    match host().dispatch(&input).await {
        Ok(HookDecision::Block { reasons }) => {
            assert_eq!(reasons.len(), 1);
            assert!(reasons[0].contains("exceeds the budget"), "{reasons:?}");
        }
        other => panic!("expected a block, got {other:?}"),
    }
}
