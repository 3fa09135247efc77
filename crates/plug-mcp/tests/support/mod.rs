//! Installs and starts the MCP peers the tests run against: npm
//! `@modelcontextprotocol/server-everything` and Python servers written with
//! the PyPI `mcp` package. Installs go to `target/mcp-servers/` from the
//! committed lock files, once; later runs reuse them.

#![allow(dead_code)]

use std::fs::File;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use plug_mcp::ServerSpec;
use plug_mcp::spec::TransportSpec;

fn support_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support")
}

fn install_root() -> PathBuf {
    // CARGO_TARGET_TMPDIR is <target>/tmp.
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join("mcp-servers")
}

/// Runs `install` under a file lock unless `stamp` already holds `want`.
fn install_once(dir: &Path, want: &str, install: impl FnOnce(&Path)) {
    std::fs::create_dir_all(dir).expect("create install dir");
    // The lock lives beside the folder, not in it: `venv --clear` empties the
    // folder, and a lock file deleted while held lets a second process in.
    let lock = File::create(dir.with_extension("lock")).expect("lock file");
    lock.lock().expect("lock");
    let stamp = dir.join(".installed");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(want) {
        return;
    }
    install(dir);
    std::fs::write(&stamp, want).expect("write stamp");
}

fn run(command: &mut Command) {
    let output = command.output().expect("run installer");
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The folder holding `node_modules` with server-everything and the TypeScript SDK.
pub fn node_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = install_root().join("node");
        let package =
            std::fs::read_to_string(support_dir().join("package.json")).expect("package.json");
        let lock = std::fs::read_to_string(support_dir().join("package-lock.json")).expect("lock");
        install_once(&dir, &format!("{package}{lock}"), |dir| {
            std::fs::write(dir.join("package.json"), &package).expect("copy package.json");
            std::fs::write(dir.join("package-lock.json"), &lock).expect("copy lock");
            run(Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--prefix"])
                .arg(dir));
        });
        dir
    })
    .clone()
}

/// The Python interpreter of a venv with the pinned `mcp` package.
pub fn python() -> PathBuf {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| {
        let dir = install_root().join("python");
        let reqs =
            std::fs::read_to_string(support_dir().join("requirements.txt")).expect("requirements");
        install_once(&dir, &reqs, |dir| {
            run(Command::new("python3")
                .args(["-m", "venv", "--clear"])
                .arg(dir));
            run(Command::new(dir.join("bin/python"))
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "-r",
                ])
                .arg(support_dir().join("requirements.txt")));
        });
        dir.join("bin/python")
    })
    .clone()
}

/// server-everything's entry script.
pub fn everything_script() -> PathBuf {
    node_dir().join("node_modules/@modelcontextprotocol/server-everything/dist/index.js")
}

/// server-everything over stdio.
pub fn everything_stdio(name: &str) -> ServerSpec {
    let script = everything_script();
    let script = script.to_str().expect("utf-8 path");
    ServerSpec::stdio(name, "node", &[script, "stdio"], &support_dir())
}

/// A Python server from `tests/support`.
pub fn python_server(name: &str, file: &str) -> ServerSpec {
    let py = python();
    let script = support_dir().join(file);
    ServerSpec::stdio(
        name,
        py.to_str().expect("utf-8 path"),
        &[script.to_str().expect("utf-8 path")],
        &support_dir(),
    )
}

/// Sets one environment variable of a stdio spec.
pub fn with_env(mut spec: ServerSpec, key: &str, value: &str) -> ServerSpec {
    if let TransportSpec::Stdio { env, .. } = &mut spec.transport {
        env.insert(key.to_owned(), value.to_owned());
    }
    spec
}

/// server-everything in Streamable HTTP mode on a free loopback port; killed on drop.
pub struct HttpEverything {
    child: Child,
    /// The MCP endpoint.
    pub url: String,
}

impl HttpEverything {
    /// Starts it and waits until it accepts connections.
    pub fn start() -> HttpEverything {
        let port = free_port();
        let preload = support_dir().join("loopback.js");
        let child = Command::new("node")
            .arg(everything_script())
            .arg("streamableHttp")
            .env("PORT", port.to_string())
            .env("NODE_OPTIONS", format!("--require={}", preload.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start server-everything");
        // Built first, so a server that never listens is still killed on the panic.
        let server = HttpEverything {
            child,
            url: format!("http://127.0.0.1:{port}/mcp"),
        };
        wait_listening(port, "server-everything");
        server
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for HttpEverything {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

fn wait_listening(port: u16, what: &str) {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen on {addr}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// How a Python server answers over Streamable HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpAnswers {
    /// Each answer as an SSE stream (`text/event-stream`).
    Sse,
    /// Each answer as one JSON body (`application/json`).
    Json,
}

/// A Python server from `tests/support` serving Streamable HTTP on a free
/// loopback port (the script takes `http PORT [json]`); killed on drop.
pub struct PythonHttp {
    child: Child,
    /// The MCP endpoint.
    pub url: String,
}

impl PythonHttp {
    /// Starts `file` and waits until it accepts connections.
    pub fn start(file: &str, answers: HttpAnswers) -> PythonHttp {
        let port = free_port();
        let mut command = Command::new(python());
        command
            .arg(support_dir().join(file))
            .args(["http", &port.to_string()]);
        if answers == HttpAnswers::Json {
            command.arg("json");
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the Python server");
        let server = PythonHttp {
            child,
            url: format!("http://127.0.0.1:{port}/mcp"),
        };
        wait_listening(port, file);
        server
    }
}

impl Drop for PythonHttp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
