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

/// User config values reach hooks as data: `${user_config.KEY}` in shell
/// form becomes a quoted variable the shell expands (no injection), in exec
/// form one word; every value is also `CLAUDE_PLUGIN_OPTION_<KEY>`, and the
/// data folder is `CLAUDE_PLUGIN_DATA`, writable under the sandbox.
#[tokio::test]
async fn user_config_values_are_data_and_the_data_folder_is_writable() {
    let plugin = TestPlugin::new("configured plugin");
    plugin.script(
        "say.sh",
        "#!/bin/sh\nprintf '{\"systemMessage\":\"%s\"}' \"$*\"\n",
    );
    let data = tempfile::tempdir().expect("tempdir");
    let data = data.path().canonicalize().expect("canonical");
    std::fs::create_dir_all(plugin.root.join(".claude-plugin")).expect("mkdir");
    std::fs::write(
        plugin.root.join(".claude-plugin/plugin.json"),
        r#"{"name": "configured", "userConfig": {
            "note": {"type": "string", "title": "Note"},
            "sub": {"type": "string", "title": "Sub", "sensitive": true}}}"#,
    )
    .expect("write manifest");
    std::fs::write(
        plugin.root.join("hooks/hooks.json"),
        r#"{"hooks": {"PreToolUse": [{"hooks": [
            {"type": "command", "command": "\"${CLAUDE_PLUGIN_ROOT}/hooks/say.sh\" shell ${user_config.note}"},
            {"type": "command", "command": "\"${CLAUDE_PLUGIN_ROOT}/hooks/say.sh\" \"dq ${user_config.sub}\""},
            {"type": "command", "command": "${CLAUDE_PLUGIN_ROOT}/hooks/say.sh", "args": ["exec", "${user_config.note}"]},
            {"type": "command", "command": "echo ok > \"$CLAUDE_PLUGIN_DATA/written\"; printf '{\"systemMessage\":\"env %s\"}' \"$CLAUDE_PLUGIN_OPTION_SUB\""}
        ]}]}}"#,
    )
    .expect("write hooks");
    let note = format!("x; touch {}/pwned", data.display());
    let sub = format!("$(touch {}/pwned2)", data.display());
    let loaded = plug_manifest::load_plugin(&plugin.root).expect("loads");
    assert!(loaded.findings.is_empty(), "{:?}", loaded.findings);
    let config = HostConfig {
        plugin_options: [
            ("note".to_owned(), note.clone()),
            ("sub".to_owned(), sub.clone()),
        ]
        .into(),
        plugin_data: Some(data.clone()),
        ..HostConfig::default()
    };
    let host = ProcessHookHost::for_plugin(&loaded, config).expect("host");
    let reports = host.run(&input("pre_step", Some("run_command"))).await;
    let messages: Vec<String> = reports
        .iter()
        .filter_map(|r| r.advice.system_message.clone())
        .collect();
    assert_eq!(
        messages,
        [
            format!("shell {note}"),
            format!("dq {sub}"),
            format!("exec {note}"),
            format!("env {sub}"),
        ],
        "{reports:#?}"
    );
    assert!(
        data.join("written").is_file(),
        "the data folder is writable"
    );
    assert!(!data.join("pwned").exists(), "a value ran as shell code");
    assert!(!data.join("pwned2").exists(), "a value ran as shell code");
    assert!(
        reports.iter().all(|r| !r.handler.contains("touch")),
        "reports show variables, not values"
    );

    let unset = HostConfig {
        plugin_options: [("sub".to_owned(), sub)].into(),
        ..HostConfig::default()
    };
    let err = ProcessHookHost::for_plugin(&loaded, unset).expect_err("`note` has no value");
    assert!(err.to_string().contains("user_config.note"), "{err}");
}
