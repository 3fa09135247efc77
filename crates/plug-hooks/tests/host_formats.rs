//! Plugins in a host's own layout (here Claude Code's `.claude-plugin` with
//! `hooks/hooks.json`) load through plug-manifest and run on this hook host:
//! `${CLAUDE_PLUGIN_ROOT}` and `${VAR:-default}` expand in exec-form commands,
//! the shell expands them in shell form, and a path with a space survives both.
#![allow(missing_docs)]

mod common;

use common::{TestPlugin, input};
use plug_core::ports::{HookDecision, HookHost};
use plug_hooks::{HostConfig, ProcessHookHost};

#[tokio::test]
async fn a_claude_code_plugin_runs_its_hooks_with_root_and_defaults_expanded() {
    let plugin = TestPlugin::new("claude plugins/release helper");
    plugin.script(
        "say.sh",
        "#!/bin/sh\nprintf '{\"systemMessage\":\"%s\"}' \"$*\"\n",
    );
    std::fs::create_dir_all(plugin.root.join(".claude-plugin")).expect("mkdir");
    std::fs::write(
        plugin.root.join(".claude-plugin/plugin.json"),
        r#"{"name": "release-helper", "version": "1.0.0"}"#,
    )
    .expect("write manifest");
    std::fs::write(
        plugin.root.join("hooks/hooks.json"),
        r#"{"hooks": {"PreToolUse": [{"matcher": "run_command", "hooks": [
            {"type": "command", "command": "${CLAUDE_PLUGIN_ROOT}/hooks/say.sh", "args": ["exec", "${PLUG_HOOKS_UNSET_MODE:-strict}"]},
            {"type": "command", "command": "\"${CLAUDE_PLUGIN_ROOT}/hooks/say.sh\" shell \"${PLUG_HOOKS_UNSET_MODE:-lenient}\""}
        ]}]}}"#,
    )
    .expect("write hooks");
    let loaded = plug_manifest::load_plugin(&plugin.root).expect("loads");
    assert!(loaded.findings.is_empty(), "{:?}", loaded.findings);
    let host = ProcessHookHost::for_plugin(&loaded, HostConfig::default()).expect("host");
    let decision = host.dispatch(&input("pre_step", Some("run_command"))).await;
    assert_eq!(
        decision.expect("a decision"),
        HookDecision::Continue {
            updated_input: None,
            messages: vec!["exec strict".into(), "shell lenient".into()],
        }
    );
    let other = host.dispatch(&input("pre_step", Some("aws_api"))).await;
    assert!(matches!(other, Ok(HookDecision::Continue { messages, .. }) if messages.is_empty()));
}
