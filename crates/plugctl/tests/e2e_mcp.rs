//! Issue 8, scenario d: a skill calls a real MCP server over stdio and another
//! over Streamable HTTP, a later step uses both answers, and a server killed
//! mid-run is recovered from or fails the run clearly, as the skill says.
//!
//! The servers are npm `@modelcontextprotocol/server-everything`, installed
//! once into `target/mcp-servers/node` from plug-mcp's committed lock file
//! (the same install and lock that plug-mcp's tests use), and plugctl is the
//! built binary with its own state directory per test.
#![allow(missing_docs)]

use std::fs::File;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

mod support;
use support::{text, wait_for};

/// plug-mcp's test support: its package.json, lock file and loopback preload.
fn mcp_support_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../plug-mcp/tests/support")
}

fn fixture() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/e2e-mcp")
        .display()
        .to_string()
}

/// `target/mcp-servers`, where plug-mcp's tests install the servers.
fn install_root() -> PathBuf {
    // CARGO_TARGET_TMPDIR is <target>/tmp.
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join("mcp-servers")
}

/// Runs `install` under a file lock unless `dir`'s stamp already holds `want`.
///
/// The same folders, locks and stamps as plug-mcp's helper, so whichever test
/// suite runs first installs and the other reuses the install.
fn install_once(dir: &Path, want: &str, install: impl FnOnce(&Path)) {
    std::fs::create_dir_all(dir).expect("create install dir");
    // Beside the folder, not in it: `venv --clear` empties the folder.
    let lock = File::create(dir.with_extension("lock")).expect("lock file");
    lock.lock().expect("lock");
    let stamp = dir.join(".installed");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(want) {
        install(dir);
        std::fs::write(&stamp, want).expect("write stamp");
    }
}

fn run_installer(command: &mut Command) {
    let output = command.output().expect("run installer");
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

/// The folder holding server-everything's `node_modules`.
fn node_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = install_root().join("node");
        let package =
            std::fs::read_to_string(mcp_support_dir().join("package.json")).expect("package.json");
        let lock = std::fs::read_to_string(mcp_support_dir().join("package-lock.json"))
            .expect("package-lock.json");
        install_once(&dir, &format!("{package}{lock}"), |dir| {
            std::fs::write(dir.join("package.json"), &package).expect("copy package.json");
            std::fs::write(dir.join("package-lock.json"), &lock).expect("copy lock");
            run_installer(
                Command::new("npm")
                    .args(["ci", "--no-audit", "--no-fund", "--prefix"])
                    .arg(dir),
            );
        });
        dir
    })
    .clone()
}

fn everything_script() -> String {
    node_dir()
        .join("node_modules/@modelcontextprotocol/server-everything/dist/index.js")
        .display()
        .to_string()
}

/// The Python of the venv plug-mcp's tests install (pinned PyPI `mcp`), installed here if missing.
fn python() -> PathBuf {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| {
        let dir = install_root().join("python");
        let reqs = mcp_support_dir().join("requirements.txt");
        let want = std::fs::read_to_string(&reqs).expect("requirements.txt");
        install_once(&dir, &want, |dir| {
            run_installer(
                Command::new("python3")
                    .args(["-m", "venv", "--clear"])
                    .arg(dir),
            );
            run_installer(
                Command::new(dir.join("bin/python"))
                    .args([
                        "-m",
                        "pip",
                        "install",
                        "--quiet",
                        "--disable-pip-version-check",
                        "-r",
                    ])
                    .arg(&reqs),
            );
        });
        dir.join("bin/python")
    })
    .clone()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// Which real server an [`HttpServer`] runs.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// npm server-everything.
    Everything,
    /// plug-mcp's `fault_server.py`, written with the PyPI `mcp` package.
    Python,
}

/// A real MCP server in Streamable HTTP mode on 127.0.0.1; killed on drop.
struct HttpServer {
    child: Child,
    kind: Kind,
    port: u16,
}

impl HttpServer {
    /// Starts it on `port` and waits until it accepts connections.
    fn start(kind: Kind, port: u16) -> HttpServer {
        let mut command = match kind {
            Kind::Everything => {
                let preload = mcp_support_dir().join("loopback.js");
                let mut command = Command::new("node");
                command
                    .arg(everything_script())
                    .arg("streamableHttp")
                    .env("PORT", port.to_string())
                    .env("NODE_OPTIONS", format!("--require={}", preload.display()));
                command
            }
            Kind::Python => {
                let mut command = Command::new(python());
                command
                    .arg(mcp_support_dir().join("fault_server.py"))
                    .args(["http", &port.to_string()]);
                command
            }
        };
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the MCP server");
        // Built before waiting, so a server that never listens is still killed.
        let server = HttpServer { child, kind, port };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        wait_for("the MCP server to listen", || {
            TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
        });
        server
    }

    /// The same server again, on the same port.
    fn restart(&self) -> HttpServer {
        HttpServer::start(self.kind, self.port)
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port)
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// Waits until something else (the skill) has killed it.
    fn wait_killed(&mut self) {
        wait_for("the HTTP server to be killed", || {
            self.child.try_wait().expect("try_wait").is_some()
        });
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A state directory and a working directory per test.
struct Env {
    state: tempfile::TempDir,
    work: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        Env {
            state: tempfile::tempdir().expect("tempdir"),
            work: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// `plugctl run` of a fixture skill, with the servers' config set.
    fn command(&self, skill: &str, param: &str, endpoint: &str, extra: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_plugctl"));
        command
            .args(["run", &fixture(), skill, "--param", param])
            .arg("--set")
            .arg(format!("everything-script={}", everything_script()))
            .arg("--set")
            .arg(format!("remote-endpoint={endpoint}"))
            .args(extra)
            .current_dir(self.work.path())
            .env("PLUGCTL_STATE_DIR", self.state.path())
            .env("PLUGCTL_TELEMETRY", "local")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    fn run(&self, skill: &str, param: &str, endpoint: &str) -> Output {
        self.command(skill, param, endpoint, &[])
            .output()
            .expect("plugctl runs")
    }

    /// `(server, tool, outcome)` of every `mcp_tool_called` audit event, in order.
    fn mcp_calls(&self) -> Vec<(String, String, String)> {
        let log = std::fs::read_to_string(self.state.path().join("audit.jsonl")).expect("audit");
        log.lines()
            .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("JSON line"))
            .filter(|e| e["event"] == "mcp_tool_called")
            .map(|e| {
                let field = |k: &str| e[k].as_str().expect("string field").to_owned();
                (field("server"), field("tool"), field("outcome"))
            })
            .collect()
    }

    /// The entries of the one run's journal.
    fn journal(&self) -> Vec<serde_json::Value> {
        let runs: Vec<PathBuf> = std::fs::read_dir(self.state.path().join("runs"))
            .map(|d| d.map(|e| e.expect("entry").path()).collect())
            .unwrap_or_default();
        let [run] = runs.as_slice() else {
            return Vec::new();
        };
        std::fs::read_to_string(run)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// How the journal says step `name` finished.
    fn step_outcome(&self, name: &str) -> Option<String> {
        self.journal()
            .iter()
            .rev()
            .find(|e| e["entry"] == "step_finished" && e["name"] == name)
            .and_then(|e| e["outcome"].as_str().map(str::to_owned))
    }

    fn written(&self, file: &str) -> Option<String> {
        std::fs::read_to_string(self.work.path().join(file)).ok()
    }
}

fn call(server: &str, tool: &str, outcome: &str) -> (String, String, String) {
    (server.to_owned(), tool.to_owned(), outcome.to_owned())
}

fn both(out: &Output) -> String {
    format!("{}\n{}", text(&out.stdout), text(&out.stderr))
}

#[test]
fn answers_from_stdio_and_http_servers_feed_a_later_step() {
    let server = HttpServer::start(Kind::Everything, free_port());
    let env = Env::new();

    let out = env.run("combine", "word=hello", &server.url());

    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert_eq!(
        env.written("combined.txt").as_deref(),
        Some("Echo: hello|The sum of 2 and 3 is 5.")
    );
    assert_eq!(
        env.mcp_calls(),
        [call("local", "echo", "ok"), call("remote", "get-sum", "ok")]
    );
}

/// Runs `skill`, whose step 2 kills `server` and whose step 3 (`second_call`)
/// retries; the server comes back only after that step's first attempt failed.
fn run_across_a_restart(mut server: HttpServer, skill: &str, endpoint_key: &str) -> Env {
    let env = Env::new();
    let param = format!("server_pid={}", server.pid());
    let endpoint = format!("{endpoint_key}={}", server.url());
    // Enough restarts in a row for the retries the skill asks for.
    let restarts = format!(
        "{}.max_restarts=50",
        endpoint_key.trim_end_matches("-endpoint")
    );
    let extra = ["--set", &endpoint, "--set", &restarts];
    let child = env
        .command(skill, &param, "http://127.0.0.1:9/mcp", &extra)
        .spawn()
        .expect("plugctl starts");

    server.wait_killed();
    wait_for("a second attempt at second_call", || {
        env.journal().iter().any(|e| {
            e["entry"] == "step_started" && e["name"] == "second_call" && e["attempt"] == 2
        })
    });
    let _back = server.restart();
    let out = child.wait_with_output().expect("plugctl ends");
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    env
}

#[test]
fn killed_http_server_is_retried_until_it_is_back() {
    let server = HttpServer::start(Kind::Python, free_port());
    let env = run_across_a_restart(server, "remote-retry", "py-endpoint");

    assert_eq!(env.written("answers.txt").as_deref(), Some("one|two"));
    let calls = env.mcp_calls();
    assert_eq!(calls.first(), Some(&call("py-remote", "echo", "ok")));
    assert_eq!(
        calls.get(1),
        Some(&call("py-remote", "echo", "unreachable"))
    );
    assert_eq!(calls.last(), Some(&call("py-remote", "echo", "ok")));
    assert_eq!(
        env.step_outcome("second_call").as_deref(),
        Some("succeeded")
    );
}

/// server-everything answers a request with a session id it does not know
/// (its previous life's) with 400 and a JSON-RPC error without an id, where
/// the spec asks for 404. plug-mcp must read that as an expired session and
/// re-initialize, or every retry waits for the call timeout.
#[test]
fn killed_server_everything_is_retried_until_it_is_back() {
    let server = HttpServer::start(Kind::Everything, free_port());
    let env = run_across_a_restart(server, "everything-retry", "remote-endpoint");

    assert_eq!(
        env.written("sums.txt").as_deref(),
        Some("The sum of 1 and 2 is 3.|The sum of 3 and 4 is 7.")
    );
    assert_eq!(
        env.mcp_calls().last(),
        Some(&call("remote", "get-sum", "ok"))
    );
}

#[test]
fn killed_http_server_falls_back_to_the_stdio_server() {
    let server = HttpServer::start(Kind::Everything, free_port());
    let env = Env::new();

    let param = format!("server_pid={}", server.pid());
    let out = env.run("remote-fallback", &param, &server.url());

    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert_eq!(
        env.written("sums.txt").as_deref(),
        Some("The sum of 1 and 2 is 3.|The sum of 3 and 4 is 7.")
    );
    assert_eq!(
        env.mcp_calls(),
        [
            call("remote", "get-sum", "ok"),
            call("remote", "get-sum", "unreachable"),
            call("local", "get-sum", "ok"),
        ]
    );
    assert_eq!(
        env.step_outcome("second_call").as_deref(),
        Some("fell_back")
    );
}

#[test]
fn killed_http_server_without_retry_or_fallback_fails_the_run_clearly() {
    let server = HttpServer::start(Kind::Everything, free_port());
    let env = Env::new();

    let param = format!("server_pid={}", server.pid());
    let out = env.run("remote-strict", &param, &server.url());

    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("failed at step second_call: MCP server `remote` unreachable"),
        "{stdout}"
    );
    assert_eq!(
        env.written("sums.txt"),
        None,
        "no step ran after the failure"
    );
    assert_eq!(
        env.mcp_calls(),
        [
            call("remote", "get-sum", "ok"),
            call("remote", "get-sum", "unreachable"),
        ]
    );
    assert_eq!(env.step_outcome("second_call").as_deref(), Some("failed"));
    assert_eq!(env.step_outcome("record"), None);
    let finished = env.journal().into_iter().last().expect("journal entries");
    assert_eq!(finished["entry"], "finished");
    assert_eq!(finished["state"], "failed");
}

#[test]
fn crashed_stdio_server_is_restarted_and_the_run_completes() {
    let env = Env::new();

    // No HTTP server: this skill uses only the stdio one.
    let out = env.run("local-crash", "word=hi", "http://127.0.0.1:9/mcp");

    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    let killed = env
        .journal()
        .into_iter()
        .find(|e| e["entry"] == "step_finished" && e["name"] == "kill_local")
        .expect("kill_local finished");
    let pids: Vec<&str> = killed["outputs"]["pids"]
        .as_str()
        .expect("pids")
        .split_whitespace()
        .collect();
    assert_eq!(
        pids.len(),
        1,
        "exactly the stdio server was killed: {pids:?}"
    );
    assert!(pids[0].parse::<u32>().is_ok(), "{pids:?}");
    assert_eq!(
        env.written("echoes.txt").as_deref(),
        Some("Echo: hi|Echo: hi again")
    );
    assert_eq!(
        env.mcp_calls(),
        [call("local", "echo", "ok"), call("local", "echo", "ok")]
    );
    assert_eq!(
        env.step_outcome("second_echo").as_deref(),
        Some("succeeded")
    );
}
