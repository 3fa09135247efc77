//! Installed plugins in use: the user configuration given at install (and
//! with `plugctl config set`) reaches their hooks and MCP servers, their
//! data folder is `CLAUDE_PLUGIN_DATA`, sensitive values are never shown,
//! and parallel installs keep the store whole. Real plugctl processes, a
//! store per test, no AWS.
#![allow(missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

mod support;
use support::text;

/// A store (`PLUGCTL_HOME`), a state folder and a working folder.
struct Env {
    home: tempfile::TempDir,
    state: tempfile::TempDir,
    work: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        Env {
            home: tempfile::tempdir().expect("tempdir"),
            state: tempfile::tempdir().expect("tempdir"),
            work: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_plugctl"));
        command
            .args(args)
            .current_dir(self.work.path())
            .env("PLUGCTL_HOME", self.home.path())
            .env("PLUGCTL_STATE_DIR", self.state.path())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("plugctl runs")
    }

    /// Runs and requires exit 0; returns stdout and stderr together.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(0), "plugctl {args:?}:\n{all}");
        all
    }

    fn data(&self, name: &str) -> PathBuf {
        self.home.path().join("data").join(name)
    }
}

fn write(path: &Path, content: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, content).expect("write");
}

const TOKEN: &str = "s3cret-token-4711";

/// A stdio MCP server whose `probe` tool reports what it was started with:
/// its arguments, its data folder, and the token reversed (never as given).
const PROBE: &str = r#"import json, os, sys
def answer(m):
    method, params = m.get("method"), m.get("params") or {}
    if method == "initialize":
        return {"protocolVersion": params["protocolVersion"], "capabilities": {"tools": {}},
                "serverInfo": {"name": "probe", "version": "1"}}
    if method == "tools/list":
        return {"tools": [{"name": "probe", "inputSchema": {"type": "object"}}]}
    if method == "tools/call":
        data = os.environ.get("CLAUDE_PLUGIN_DATA", "")
        with open(os.path.join(data, "state"), "a") as f:
            f.write("called\n")
        seen = {"argv": sys.argv[1:], "data": data, "token_reversed": os.environ.get("TOKEN", "")[::-1]}
        return {"content": [{"type": "text", "text": "probed"}], "structuredContent": seen}
    return {}
for line in sys.stdin:
    m = json.loads(line)
    if "id" in m:
        print(json.dumps({"jsonrpc": "2.0", "id": m["id"], "result": answer(m)}), flush=True)
"#;

/// A Claude Code plugin with user config used by a server and by hooks.
fn configured_plugin(dir: &Path, version: &str) {
    write(
        &dir.join(".claude-plugin/plugin.json"),
        &format!(
            r#"{{"name": "configured", "version": "{version}", "userConfig": {{
                "note": {{"type": "string", "title": "Note"}},
                "api_token": {{"type": "string", "title": "Token", "sensitive": true}}
            }}}}"#
        ),
    );
    write(
        &dir.join(".mcp.json"),
        r#"{"mcpServers": {
            "probe": {"command": "python3",
                      "args": ["${CLAUDE_PLUGIN_ROOT}/probe.py", "--note", "${user_config.note}", "--state", "${CLAUDE_PLUGIN_DATA}/state"],
                      "env": {"TOKEN": "${user_config.api_token}"}},
            "remote": {"type": "http", "url": "http://127.0.0.1:9/mcp?key=${user_config.api_token}"}
        }}"#,
    );
    write(&dir.join("probe.py"), PROBE);
    write(
        &dir.join("hooks/hooks.json"),
        r#"{"hooks": {"PreToolUse": [{"hooks": [
            {"type": "command", "command": "printf '{\"systemMessage\":\"note=%s\"}' ${user_config.note}"},
            {"type": "command", "command": "printf '{\"systemMessage\":\"token length %s\"}' \"${#CLAUDE_PLUGIN_OPTION_API_TOKEN}\""},
            {"type": "command", "command": "printf '{\"systemMessage\":\"leak %s\"}' \"$CLAUDE_PLUGIN_OPTION_API_TOKEN\""}
        ]}]}}"#,
    );
}

#[test]
fn user_config_reaches_hooks_and_servers_and_sensitive_values_never_show() {
    let env = Env::new();
    let src = tempfile::tempdir().expect("tempdir");
    configured_plugin(src.path(), "1.0.0");
    let data = env.data("configured");
    let injection = format!("x; touch {}/pwned", data.display());
    let shown = env.ok(&[
        "install",
        &src.path().display().to_string(),
        "--set",
        &format!("note={injection}"),
        "--set",
        &format!("api_token={TOKEN}"),
    ]);
    let lock = std::fs::read_to_string(env.home.path().join("plugctl.lock")).expect("lock");
    let listed = env.ok(&["list", "--output", "json"]) + &env.ok(&["list"]);
    for output in [&shown, &lock, &listed] {
        assert!(!output.contains(TOKEN), "the token shows:\n{output}");
    }
    assert!(lock.contains("x; touch"), "plain values are in the lock");

    let hooks = env.ok(&["hooks", "run", "configured", "pre_step", "--output", "json"]);
    assert!(hooks.contains(&format!("note={injection}")), "{hooks}");
    assert!(
        hooks.contains(&format!("token length {}", TOKEN.len())),
        "{hooks}"
    );
    assert!(
        hooks.contains("leak [redacted]") && !hooks.contains(TOKEN),
        "{hooks}"
    );
    assert!(
        !data.join("pwned").exists(),
        "a config value ran as shell code"
    );

    let probed = env.ok(&[
        "mcp",
        "call",
        "configured",
        "probe",
        "probe",
        "--output",
        "json",
    ]);
    let answer: serde_json::Value =
        serde_json::from_str(probed.lines().next().unwrap_or_default()).expect("JSON answer");
    let seen = &answer["structuredContent"];
    let state = format!("{}/state", data.display());
    assert_eq!(
        seen["argv"],
        serde_json::json!(["--note", injection, "--state", state])
    );
    assert_eq!(seen["data"], data.display().to_string());
    assert_eq!(
        seen["token_reversed"],
        TOKEN.chars().rev().collect::<String>()
    );

    let refused = env.run(&["mcp", "tools", "configured", "remote"]);
    assert_ne!(refused.status.code(), Some(0));
    let all = format!("{}{}", text(&refused.stdout), text(&refused.stderr));
    assert!(!all.contains(TOKEN), "an error shows the token:\n{all}");

    configured_plugin(src.path(), "1.1.0");
    assert!(env.ok(&["update", "configured"]).contains("1.0.0 -> 1.1.0"));
    assert_eq!(
        std::fs::read_to_string(data.join("state")).expect("state survives update"),
        "called\n"
    );
    env.ok(&["mcp", "call", "configured", "probe", "probe"]);
    env.ok(&["remove", "configured"]);
    assert!(!data.exists(), "remove deletes the data folder");
}

#[test]
fn a_required_value_is_named_until_config_set_gives_it() {
    let env = Env::new();
    let src = tempfile::tempdir().expect("tempdir");
    write(
        &src.path().join(".claude-plugin/plugin.json"),
        r#"{"name": "regional", "userConfig": {"region": {"type": "string",
            "title": "Region", "description": "Where it deploys", "required": true}}}"#,
    );
    write(
        &src.path().join("hooks/hooks.json"),
        r#"{"hooks": {"PreToolUse": [{"hooks": [{"type": "command",
            "command": "printf '{\"systemMessage\":\"region %s\"}' \"$CLAUDE_PLUGIN_OPTION_REGION\""}]}]}}"#,
    );
    let installed = env.ok(&["install", &src.path().display().to_string()]);
    assert!(
        installed.contains("warning: regional needs its user config `region` (Where it deploys)"),
        "{installed}"
    );
    let refused = env.run(&["hooks", "run", "regional", "pre_step"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        text(&refused.stderr).contains("plugctl config set regional region=..."),
        "{}",
        text(&refused.stderr)
    );
    let set = env.ok(&["config", "set", "regional", "region=eu-west-1"]);
    assert!(
        set.contains("regional: set region") && !set.contains("warning"),
        "{set}"
    );
    let fired = env.ok(&["hooks", "run", "regional", "pre_step"]);
    assert!(fired.contains("region eu-west-1"), "{fired}");
    let typo = env.run(&["config", "set", "regional", "regoin=x"]);
    assert_eq!(typo.status.code(), Some(2));
    assert!(
        text(&typo.stderr).contains("`regoin`"),
        "{}",
        text(&typo.stderr)
    );
}

#[test]
fn a_run_by_name_uses_the_values_stored_at_install() {
    let env = Env::new();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mcp-echo");
    env.ok(&[
        "install",
        &fixture.display().to_string(),
        "--set",
        "echo-prefix=stored: ",
    ]);
    env.ok(&["run", "mcp-echo", "relay", "--param", "word=hi"]);
    let echoed = std::fs::read_to_string(env.work.path().join("echoed.txt")).expect("file");
    assert_eq!(echoed, "stored: hi");
    env.ok(&[
        "run",
        "mcp-echo",
        "relay",
        "--param",
        "word=hi",
        "--set",
        "echo-prefix=flag: ",
    ]);
    let echoed = std::fs::read_to_string(env.work.path().join("echoed.txt")).expect("file");
    assert_eq!(echoed, "flag: hi", "--set wins over the stored value");
}

#[test]
fn parallel_install_processes_keep_the_lock_valid() {
    const PLUGINS: usize = 6;
    let env = Env::new();
    let src = tempfile::tempdir().expect("tempdir");
    let children: Vec<_> = (0..PLUGINS)
        .map(|i| {
            let dir = src.path().join(format!("p{i}"));
            write(
                &dir.join(".claude-plugin/plugin.json"),
                &format!(r#"{{"name": "parallel-{i}", "version": "1.0.{i}"}}"#),
            );
            env.command(&["install", &dir.display().to_string()])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("plugctl starts")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("plugctl ends");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    let listed = env.ok(&["list", "--output", "json"]);
    let lock: serde_json::Value = serde_json::from_str(&listed).expect("valid JSON");
    let mut names: Vec<&str> = lock
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    names.sort_unstable();
    let expected: Vec<String> = (0..PLUGINS).map(|i| format!("parallel-{i}")).collect();
    assert_eq!(names, expected);
}

/// A minimal native plugin with one local skill, in `dir`.
fn small_plugin(dir: &Path) {
    write(
        &dir.join("plugin.yaml"),
        "plugin:\n  name: small\n  version: 0.1.0\n  skills:\n    - name: hello\n      path: ./skills/hello.yaml\n",
    );
    write(
        &dir.join("skills/hello.yaml"),
        "skill:\n  name: hello\n  description: d\n  steps:\n    - name: hi\n      action: run_command\n      command: [echo, hi]\n",
    );
}

/// Hardening issue, item 5: a manifest that is a symlink to a file outside
/// the plugin is refused by `validate` and `install`: the store's digest
/// would cover the link, not the file that later edits could change.
#[test]
fn a_manifest_linked_from_outside_the_plugin_is_refused() {
    let env = Env::new();
    let plugin = env.work.path().join("plugin");
    small_plugin(&plugin);
    let outside = env.work.path().join("elsewhere.yaml");
    std::fs::rename(plugin.join("plugin.yaml"), &outside).expect("move");
    std::os::unix::fs::symlink(&outside, plugin.join("plugin.yaml")).expect("symlink");
    let shown = plugin.display().to_string();
    for args in [
        vec!["validate", shown.as_str()],
        vec!["install", shown.as_str()],
    ] {
        let out = env.run(&args);
        assert!(
            matches!(out.status.code(), Some(1 | 2)),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains("is a symlink"),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    assert!(
        !env.home.path().join("plugins/small").exists(),
        "nothing installed"
    );
}

/// A symlink anywhere in a plugin that leads out of it (here: two links
/// that each stay inside but lead out together) keeps it from the store.
#[test]
fn links_that_lead_out_together_are_not_installed() {
    let env = Env::new();
    let plugin = env.work.path().join("plugin");
    small_plugin(&plugin);
    std::fs::create_dir_all(plugin.join("a")).expect("mkdir");
    std::os::unix::fs::symlink("..", plugin.join("a/up")).expect("symlink");
    std::os::unix::fs::symlink("a/up/..", plugin.join("out")).expect("symlink");
    let out = env.run(&["install", &plugin.display().to_string()]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("a symlink that leaves the plugin"),
        "{}",
        text(&out.stderr)
    );
}

/// Hardening issue, item 13: a FIFO in a plugin (as a skill file, or
/// anywhere) is refused at once by `validate` and `install`; it used to
/// block them forever, `install` holding the store's lock meanwhile.
#[test]
fn a_fifo_in_a_plugin_is_refused_not_waited_on() {
    let env = Env::new();
    let plugin = env.work.path().join("plugin");
    small_plugin(&plugin);
    std::fs::remove_file(plugin.join("skills/hello.yaml")).expect("rm");
    let made = Command::new("mkfifo")
        .arg(plugin.join("skills/hello.yaml"))
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let out = env.run(&["validate", &plugin.display().to_string()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("not a regular file")
            || text(&out.stderr).contains("not a regular file"),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    // A FIFO the loader never reads still stops `install`'s copy at once.
    let other = env.work.path().join("other");
    small_plugin(&other);
    let made = Command::new("mkfifo")
        .arg(other.join("notes"))
        .status()
        .expect("mkfifo");
    assert!(made.success());
    env.ok(&["validate", &other.display().to_string()]);
    let out = env.run(&["install", &other.display().to_string()]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("not a regular file"),
        "{}",
        text(&out.stderr)
    );
}
