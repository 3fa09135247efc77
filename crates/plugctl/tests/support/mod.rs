//! What plugctl's integration tests share: running plugctl as a user does,
//! the repository's paths, and what the `plugctl serve` tests drive it
//! with: plug-mcp's client (in process) and the official TypeScript SDK
//! client (npm, installed once into `target/mcp-clients/` from the
//! committed lock file, run through the `serve_client.mjs` driver).

#![allow(dead_code)]

pub mod aws;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use plug_mcp::ServerSpec;
use plug_mcp::spec::TransportSpec;

/// A state directory and a working directory per test.
pub struct Env {
    /// `PLUGCTL_STATE_DIR`.
    pub state: tempfile::TempDir,
    /// The runs' working directory.
    pub work: tempfile::TempDir,
    /// Extra environment for the server (AWS endpoint, credentials).
    pub vars: BTreeMap<String, String>,
}

impl Env {
    pub fn new() -> Env {
        Env {
            state: tempfile::tempdir().expect("tempdir"),
            work: tempfile::tempdir().expect("tempdir"),
            vars: BTreeMap::new(),
        }
    }

    /// An Env whose runs happen in `work`.
    pub fn in_dir(work: tempfile::TempDir) -> Env {
        Env { work, ..Env::new() }
    }

    /// The environment `plugctl serve` gets.
    pub fn server_env(&self) -> BTreeMap<String, String> {
        let mut vars = BTreeMap::from([
            (
                "PLUGCTL_STATE_DIR".to_owned(),
                self.state.path().display().to_string(),
            ),
            ("PATH".to_owned(), path_with_pytest()),
            ("NO_COLOR".to_owned(), "1".to_owned()),
            // No role here: runs act with the base credentials (`identity: base`).
            ("PLUGCTL_IDENTITY".to_owned(), "base".to_owned()),
        ]);
        vars.extend(self.vars.clone());
        vars
    }

    /// `plugctl serve ARGS` over stdio, for plug-mcp's client.
    pub fn stdio_spec(&self, args: &[&str]) -> ServerSpec {
        let argv = serve_argv(args);
        let mut spec = ServerSpec::stdio(
            "plugctl",
            env!("CARGO_BIN_EXE_plugctl"),
            &argv,
            self.work.path(),
        );
        spec.timeout = Duration::from_secs(600);
        if let TransportSpec::Stdio { env, .. } = &mut spec.transport {
            env.extend(self.server_env());
        }
        spec
    }

    /// A `plugctl` command with this state directory (for `approve`, `runs`, ...).
    pub fn plugctl(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_plugctl"))
            .args(args)
            .current_dir(self.work.path())
            .envs(self.server_env())
            .env_remove("AWS_PROFILE")
            .stdin(Stdio::null())
            .output()
            .expect("plugctl runs")
    }

    pub fn audit(&self) -> String {
        std::fs::read_to_string(self.state.path().join("audit.jsonl")).unwrap_or_default()
    }

    /// The journals' text, all runs together.
    pub fn journals(&self) -> String {
        let Ok(dir) = std::fs::read_dir(self.state.path().join("runs")) else {
            return String::new();
        };
        dir.filter_map(|e| e.ok())
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .collect()
    }

    /// A scenario for the TypeScript client that starts `plugctl serve ARGS` over stdio.
    pub fn ts_stdio(&self, args: &[&str]) -> serde_json::Value {
        let argv = serve_argv(args);
        serde_json::json!({
            "command": env!("CARGO_BIN_EXE_plugctl"),
            "args": argv,
            "cwd": self.work.path(),
            "env": self.server_env(),
        })
    }
}

/// `plugctl serve ARGS`, serving every skill unless the test names them
/// with `--allow` (these tests are about MCP, not the allow-list).
pub fn serve_argv<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut argv = vec!["serve"];
    if !args.contains(&"--allow") {
        argv.push("--allow-all");
    }
    argv.extend(args);
    argv
}

/// plugctl as a user runs it from the repository's root, without colour.
pub fn plugctl(args: &[&str]) -> Output {
    plugctl_in(&repo(), args)
}

/// plugctl as a user runs it in `dir`, without colour.
pub fn plugctl_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_plugctl"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("plugctl runs")
}

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo")
}

/// A fixture plugin of this crate.
pub fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

/// The bundled seed plugin.
pub fn seed() -> String {
    repo()
        .join("plugins/aws-deployment-assistant")
        .display()
        .to_string()
}

/// The LocalStack endpoint the suite started, or `None` to skip a test that
/// needs it (an error instead under `PLUGCTL_REQUIRE_LOCALSTACK`, as in CI).
pub fn localstack_endpoint() -> Option<String> {
    match std::env::var("LOCALSTACK_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => Some(endpoint),
        _ if std::env::var_os("PLUGCTL_REQUIRE_LOCALSTACK").is_some() => {
            panic!("PLUGCTL_REQUIRE_LOCALSTACK is set but LOCALSTACK_ENDPOINT is not")
        }
        _ => {
            eprintln!("skipped: LOCALSTACK_ENDPOINT not set");
            None
        }
    }
}

/// A name no other test run uses at the same time (tests share LocalStack).
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// A copy of the bundled example function to deploy from.
pub fn function_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = repo().join("plugins/aws-deployment-assistant/examples/hello-function");
    let status = Command::new("cp")
        .arg("-r")
        .arg(source.join("."))
        .arg(dir.path())
        .status()
        .expect("cp");
    assert!(status.success());
    dir
}

/// PATH with the test venv first: the seed's first step runs `pytest`.
pub fn path_with_pytest() -> String {
    let venv = repo().join("target/py-venv/bin");
    let path = std::env::var("PATH").unwrap_or_default();
    if venv.join("pytest").exists() {
        format!("{}:{path}", venv.display())
    } else {
        path
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Polls `check` for up to a minute.
pub fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn support_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support")
}

/// The folder whose `node_modules` holds the TypeScript SDK.
fn node_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // CARGO_TARGET_TMPDIR is <target>/tmp.
        let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let dir = tmp.parent().unwrap_or(tmp).join("mcp-clients/node");
        let package =
            std::fs::read_to_string(support_dir().join("package.json")).expect("package.json");
        let lock = std::fs::read_to_string(support_dir().join("package-lock.json")).expect("lock");
        std::fs::create_dir_all(&dir).expect("create install dir");
        // The lock file sits beside the folder; parallel tests wait here.
        let guard = File::create(dir.with_extension("lock")).expect("lock file");
        guard.lock().expect("lock");
        let stamp = dir.join(".installed");
        let want = format!("{package}{lock}");
        if std::fs::read_to_string(&stamp).ok().as_deref() != Some(want.as_str()) {
            std::fs::write(dir.join("package.json"), &package).expect("copy package.json");
            std::fs::write(dir.join("package-lock.json"), &lock).expect("copy lock");
            let out = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--prefix"])
                .arg(&dir)
                .output()
                .expect("npm");
            assert!(out.status.success(), "npm ci: {}", text(&out.stderr));
            std::fs::write(&stamp, &want).expect("stamp");
        }
        dir
    })
    .clone()
}

/// Runs the TypeScript client on `scenario` and returns what it printed.
pub fn ts_client(scenario: &serde_json::Value) -> serde_json::Value {
    let dir = node_dir();
    // Imports resolve from the script's folder: run it beside node_modules.
    let script = dir.join("serve_client.mjs");
    std::fs::copy(support_dir().join("serve_client.mjs"), &script).expect("copy driver");
    let file = tempfile::NamedTempFile::new().expect("scenario file");
    std::fs::write(file.path(), scenario.to_string()).expect("write scenario");
    let out = Command::new("node")
        .arg(&script)
        .arg(file.path())
        .stdin(Stdio::null())
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "TypeScript client failed:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", text(&out.stdout), text(&out.stderr)))
}

/// The text blocks of a tool result (plug-mcp's or the TS client's JSON).
pub fn result_text(content: &[serde_json::Value]) -> String {
    content
        .iter()
        .filter_map(|c| c["text"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}
