//! Isolation of hook processes: groups, timeouts, environment, paths, Landlock, caps, parallelism.
#![allow(missing_docs)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use plug_core::ports::{HookDecision, HookError, HookHost};
use plug_hooks::{HostConfig, LandlockLevel, Termination};

#[tokio::test]
async fn a_timeout_kills_the_hook_and_its_grandchildren() {
    let plugin = TestPlugin::new("p");
    let pids = tempfile::tempdir().expect("pid dir");
    // The hook starts a background sleep and a grandchild (a subshell's child)
    // that records its own pid, then blocks past its timeout.
    let body = r#"#!/bin/sh
sleep 1000 &
echo $! > "$PID_DIR/child.pid"
( sh -c 'echo $$ > "$PID_DIR/grandchild.pid"; exec sleep 1000' & wait ) &
sleep 1000
"#;
    let path = plugin.script("hang.sh", body);
    let config = HostConfig {
        declared_env: BTreeMap::from([("PID_DIR".into(), pids.path().display().to_string())]),
        ..unconfined()
    };
    let host = plugin.host(
        vec![timeout(
            hook("pre_step", file(path)),
            Duration::from_secs(1),
        )],
        config,
    );
    let reports = host.run(&input("pre_step", Some("aws_api"))).await;
    assert_eq!(reports[0].end, Termination::TimedOut { after_ms: 1000 });
    for name in ["child.pid", "grandchild.pid"] {
        let pid = read_pid(&pids.path().join(name));
        assert!(wait_gone(pid), "{name} {pid} survived the timeout");
    }
    assert!(matches!(
        plug_hooks::combine(&reports),
        Err(HookError::CriticalFailure { reason, .. }) if reason.contains("timed out after 1s")
    ));
}

#[tokio::test]
async fn background_processes_die_when_the_hook_exits() {
    let plugin = TestPlugin::new("p");
    // `sleep` keeps the stdout pipe open: without the group kill, reading would hang.
    let hooks = vec![hook("post_step", shell("sleep 1000 & echo $! >&2; exit 0"))];
    let host = plugin.host(hooks, HostConfig::default());
    let reports = host.run(&input("post_step", Some("aws_api"))).await;
    assert_eq!(reports[0].end, Termination::Exited { code: 0 });
    let pid: u32 = reports[0].stderr.trim().parse().expect("pid on stderr");
    assert!(wait_gone(pid), "background sleep {pid} survived");
}

/// The secrets the runtime holds while the env-dump test runs (in a child test process).
const SECRETS: &[(&str, &str)] = &[
    ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLESECRET01"),
    ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI-example-secret"),
    ("AWS_SESSION_TOKEN", "FwoGZXIvYXdzEXAMPLETOKEN"),
    ("PRICING_MCP_API_KEY", "mcp-key-example-123"),
    ("PLUGCTL_STATE_DIR", "/var/lib/plugctl-internal"),
];
const CHILD_MARKER: &str = "PLUG_HOOKS_ENV_DUMP_CHILD";

/// Runs itself again with the secrets set: editing this process's own
/// environment would need `unsafe`, which the workspace forbids.
#[test]
fn a_hook_that_dumps_its_environment_sees_no_secret() {
    if std::env::var_os(CHILD_MARKER).is_some() {
        return env_dump_in_child();
    }
    let exe = std::env::current_exe().expect("test binary");
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            "a_hook_that_dumps_its_environment_sees_no_secret",
            "--nocapture",
            "--test-threads=1",
        ])
        .envs(SECRETS.iter().copied())
        .env(CHILD_MARKER, "1")
        .output()
        .expect("child test runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("env-dump-checked"), "{stdout}");
}

fn env_dump_in_child() {
    for (name, value) in SECRETS {
        assert_eq!(
            std::env::var(name).as_deref(),
            Ok(*value),
            "runtime has {name}"
        );
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let plugin = TestPlugin::new("p");
    let config = HostConfig {
        declared_env: BTreeMap::from([("PRICING_REGION".into(), "us-east-1".into())]),
        ..HostConfig::default()
    };
    let host = plugin.host(vec![hook("pre_step", exec(&["env"]))], config);
    let reports = runtime.block_on(host.run(&input("pre_step", Some("aws_api"))));
    let dump = &reports[0].stdout;
    assert_eq!(
        reports[0].end,
        Termination::Exited { code: 0 },
        "{reports:?}"
    );
    for (name, value) in SECRETS {
        assert!(!dump.contains(name), "{name} leaked:\n{dump}");
        assert!(!dump.contains(value), "value of {name} leaked:\n{dump}");
    }
    assert!(!dump.contains("s3cr3t"), "{dump}");
    let names: Vec<&str> = dump
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, _)| k))
        .collect();
    for name in &names {
        assert!(
            [
                "PATH",
                "HOME",
                "LANG",
                "LC_ALL",
                "TZ",
                "TMPDIR",
                "CLAUDE_PLUGIN_ROOT",
                "PRICING_REGION",
                "PWD",
                "AWS_CONFIG_FILE",
                "AWS_SHARED_CREDENTIALS_FILE",
                "AWS_EC2_METADATA_DISABLED"
            ]
            .contains(name),
            "unexpected variable {name}"
        );
    }
    assert!(names.contains(&"PRICING_REGION"), "{dump}");
    if let Ok(home) = std::env::var("HOME") {
        assert!(
            !dump.lines().any(|l| l == format!("HOME={home}")),
            "the operator's home (and its ~/.aws) reached the hook:\n{dump}"
        );
    }
    assert!(
        dump.contains("AWS_SHARED_CREDENTIALS_FILE=/dev/null"),
        "{dump}"
    );
    println!("env-dump-checked");
}

#[test]
fn declared_variables_that_look_like_secrets_are_refused() {
    let plugin = TestPlugin::new("p");
    let config = HostConfig {
        declared_env: BTreeMap::from([("AWS_PROFILE".into(), "prod".into())]),
        ..HostConfig::default()
    };
    let err = plug_hooks::ProcessHookHost::new(&plugin.root, vec![], config).expect_err("refused");
    assert!(err.to_string().contains("AWS_PROFILE"), "{err}");
}

#[tokio::test]
async fn a_plugin_root_with_spaces_works_in_every_handler_form() {
    let plugin = TestPlugin::new("my plugins/cost estimator");
    let path = plugin.script(
        "echo args.sh",
        "#!/bin/sh\nprintf '{\"systemMessage\":\"%s|%s\"}' \"$#\" \"$1\"\n",
    );
    let hooks = vec![
        hook("pre_step", file(path)),
        hook(
            "pre_step",
            exec(&["${CLAUDE_PLUGIN_ROOT}/hooks/echo args.sh", "one arg"]),
        ),
        hook(
            "pre_step",
            shell(r#""$CLAUDE_PLUGIN_ROOT/hooks/echo args.sh" "a b" c"#),
        ),
    ];
    let host = plugin.host(hooks, HostConfig::default());
    let decision = host.dispatch(&input("pre_step", Some("aws_api"))).await;
    assert_eq!(
        decision.expect("a decision"),
        HookDecision::Continue {
            updated_input: None,
            messages: vec!["0|".into(), "1|one arg".into(), "2|a b".into()],
        }
    );
}

#[tokio::test]
async fn landlock_confines_writes_to_the_temp_dir_and_reads_to_the_plugin_and_system() {
    let plugin = TestPlugin::new("p");
    std::fs::write(plugin.root.join("data.txt"), "plugin data").expect("write");
    let outside = tempfile::tempdir().expect("outside dir");
    std::fs::write(outside.path().join("secret.txt"), "outside data").expect("write");
    let script = format!(
        r#"#!/bin/sh
r() {{ if "$@" >/dev/null 2>&1; then printf ok; else printf denied; fi; }}
echo "read-plugin=$(r cat "$CLAUDE_PLUGIN_ROOT/data.txt")"
echo "read-outside=$(r cat '{outside}/secret.txt')"
echo "read-proc=$(r cat /proc/$PPID/environ)"
echo "write-temp=$(r sh -c 'echo x > ./scratch')"
echo "write-plugin=$(r sh -c 'echo x > "$CLAUDE_PLUGIN_ROOT/written"')"
echo "write-outside=$(r sh -c 'echo x > "{outside}/written"')"
"#,
        outside = outside.path().display()
    );
    let path = plugin.script("probe.sh", &script);
    let host = plugin.host(vec![hook("pre_step", file(path))], HostConfig::default());
    let reports = host.run(&input("pre_step", Some("aws_api"))).await;
    let report = &reports[0];
    match &report.sandbox.landlock {
        LandlockLevel::Enforced { abi, .. } => println!("landlock ABI {abi} enforced"),
        other => {
            println!("SKIPPED landlock denial test: the kernel gives {other}");
            return;
        }
    }
    assert_eq!(report.end, Termination::Exited { code: 0 }, "{report:?}");
    let expected = "read-plugin=ok\nread-outside=denied\nread-proc=denied\nwrite-temp=ok\nwrite-plugin=denied\nwrite-outside=denied\n";
    assert_eq!(report.stdout, expected, "stderr: {}", report.stderr);
    assert!(!plugin.root.join("written").exists());
    assert!(!outside.path().join("written").exists());
}

#[tokio::test]
async fn a_hook_inherits_no_file_descriptor_beyond_stdio() {
    let plugin = TestPlugin::new("p");
    // `[ -e ]` is a shell builtin, so this inspects the hook's own descriptors.
    let probe = "for fd in $(seq 3 1023); do [ -e /proc/$$/fd/$fd ] && echo $fd; done; true";
    let host = plugin.host(vec![hook("pre_step", shell(probe))], unconfined());
    let reports = host.run(&input("pre_step", Some("aws_api"))).await;
    assert_eq!(
        reports[0].end,
        Termination::Exited { code: 0 },
        "{reports:?}"
    );
    assert_eq!(reports[0].stdout, "", "inherited descriptors");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_hooks_run_in_parallel_and_combine_in_manifest_order() {
    const N: usize = 100;
    let plugin = TestPlugin::new("p");
    let rendezvous = tempfile::tempdir().expect("rendezvous dir");
    // Each hook checks in, then waits until all have: only possible if all run
    // at once. The count is a builtin glob, so waiting forks nothing but `sleep`.
    let hooks = (0..N)
        .map(|i| {
            let command = format!(
                r#"touch "$MEET/{i}"; n=0; while set -- "$MEET"/*; [ $# -lt {N} ]; do n=$((n+1)); [ $n -gt 600 ] && exit 1; sleep 0.05; done; echo '{{"systemMessage":"hook {i}"}}'"#
            );
            timeout(hook("pre_step", shell(&command)), Duration::from_secs(60))
        })
        .collect();
    let config = HostConfig {
        declared_env: BTreeMap::from([("MEET".into(), rendezvous.path().display().to_string())]),
        ..unconfined()
    };
    let host = plugin.host(hooks, config);
    let decision = host.dispatch(&input("pre_step", Some("aws_api"))).await;
    let expected: Vec<String> = (0..N).map(|i| format!("hook {i}")).collect();
    assert_eq!(
        decision.expect("a decision"),
        HookDecision::Continue {
            updated_input: None,
            messages: expected
        }
    );
}

#[tokio::test]
async fn a_hook_that_floods_stdout_is_cut_at_the_cap_and_killed() {
    let plugin = TestPlugin::new("p");
    let cap = 64 * 1024;
    let config = HostConfig {
        max_output_bytes: cap,
        ..HostConfig::default()
    };
    let host = plugin.host(vec![hook("pre_step", exec(&["yes", "flood"]))], config);
    let reports = host.run(&input("pre_step", Some("aws_api"))).await;
    assert_eq!(reports[0].end, Termination::OutputCapped { cap });
    assert_eq!(reports[0].stdout.len(), cap);
    assert!(reports[0].stdout.starts_with("flood\nflood\n"));
    assert!(matches!(
        plug_hooks::combine(&reports),
        Err(HookError::CriticalFailure { reason, .. }) if reason.contains("more than 65536 bytes")
    ));
}

#[tokio::test]
async fn an_input_over_the_cap_is_not_sent() {
    let plugin = TestPlugin::new("p");
    let config = HostConfig {
        max_input_bytes: 64,
        ..HostConfig::default()
    };
    let host = plugin.host(vec![hook("pre_step", exec(&["cat"]))], config);
    let reports = host.run(&input("pre_step", Some("aws_api"))).await;
    assert!(
        matches!(&reports[0].end, Termination::NotStarted { reason } if reason.contains("over the cap of 64")),
        "{reports:?}"
    );
}

#[tokio::test]
async fn the_hook_works_in_its_own_temp_dir_which_is_removed_afterwards() {
    let plugin = TestPlugin::new("p");
    let hooks = vec![hook("post_step", shell(r#"pwd; echo "$TMPDIR""#))];
    let host = plugin.host(hooks, HostConfig::default());
    let reports = host.run(&input("post_step", Some("aws_api"))).await;
    let lines: Vec<&str> = reports[0].stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{reports:?}");
    assert_eq!(lines[0], lines[1]);
    assert!(lines[0].contains("plugctl-hook-"), "{}", lines[0]);
    assert!(!std::path::Path::new(lines[0]).exists());
}

#[tokio::test]
async fn resource_limits_are_applied_to_the_hook() {
    let plugin = TestPlugin::new("p");
    let hooks = vec![timeout(
        // prlimit lands microseconds after exec (see `sandbox`); the sleep
        // keeps the shell's startup from racing it.
        hook("post_step", shell("sleep 0.2; ulimit -t; ulimit -v")),
        Duration::from_secs(5),
    )];
    let host = plugin.host(hooks, HostConfig::default());
    let reports = host.run(&input("post_step", Some("aws_api"))).await;
    // CPU seconds: the timeout plus one; address space: 8 GiB, in KiB.
    assert_eq!(reports[0].stdout, "6\n8388608\n", "{reports:?}");
}
