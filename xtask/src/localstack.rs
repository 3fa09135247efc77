//! LocalStack for the end-to-end tests, run straight from a Python venv.
//!
//! These machines have no Docker engine, so `localstack start` cannot work;
//! LocalStack's runtime is a plain Python package and runs on the host. The
//! venv is built from a committed lock (`xtask/localstack/requirements-4.13.1.txt`)
//! because an unpinned install of 4.13.1 pulls dependency releases that break it.
//!
//! # Ctrl-C and process groups
//!
//! LocalStack stays in xtask's process group on purpose. Rust's default SIGINT
//! disposition terminates xtask without unwinding, so [`LocalStack`]'s `Drop`
//! never runs on Ctrl-C. If LocalStack had its own group (`process_group(0)`),
//! Ctrl-C would orphan it, still holding its port. In our group the terminal
//! delivers the SIGINT to it as well, and LocalStack shuts down cleanly on
//! SIGINT (about 4 s measured). `Drop` covers the other endings: normal
//! return, `?` errors and panics. What nothing std-only covers is a signal
//! sent to xtask's pid alone (`kill <pid>`, SIGKILL); that leaves an orphan
//! and a `target/localstack-run-<port>` directory behind.

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::run::status;

/// The `localstack-core` version pinned by the committed lock file.
pub const LOCALSTACK_VERSION: &str = "4.13.1";

/// Services the e2e tests use; LocalStack is only considered ready when all
/// of them report `available` (loadable on first use) or `running` (loaded).
pub const SERVICES: &[&str] = &[
    "sts",
    "iam",
    "lambda",
    "cloudwatch",
    "logs",
    "s3",
    "sqs",
    "sns",
    "ssm",
    "secretsmanager",
    "events",
    "cloudformation",
    "ec2",
];

const LOCK_FILE: &str = "xtask/localstack/requirements-4.13.1.txt";
const VENV_DIR: &str = "target/localstack-venv";
const EXTERNAL_ENDPOINT_VAR: &str = "LOCALSTACK_ENDPOINT";
const HEALTH_PATH: &str = "/_localstack/health";
const HEALTH_TIMEOUT: Duration = Duration::from_secs(120);
const POLL_INTERVAL: Duration = Duration::from_millis(250);
const STOP_GRACE: Duration = Duration::from_secs(3);
const HTTP_TIMEOUT: Duration = Duration::from_secs(3);
const LOG_TAIL_LINES: usize = 40;
/// The free-port probe races with other processes; a few fresh ports make a
/// collision practically impossible without looping forever.
const PORT_ATTEMPTS: usize = 3;
/// Twisted logs this and then carries on without a listener (it neither
/// exits nor answers, and even prints "Ready."), so the log is the only
/// place a lost port race shows.
const BIND_ERROR_MARKERS: &[&str] = &["CannotListenError", "Address already in use"];
/// LocalStack prints this line once its gateway is set up (after any bind
/// error). Waiting for it keeps a health answer from whichever process won a
/// port race from being taken for ours.
const READY_LINE: &str = "Ready.";

/// A LocalStack the tests can talk to at [`LocalStack::endpoint`].
///
/// When it owns the process, dropping it stops LocalStack (SIGTERM, then
/// SIGKILL after 15 s) and deletes its run directory, so a failing or
/// panicking test does not leave a server behind. After a panic or a failed
/// start the run directory is kept and its path printed, for the log.
pub struct LocalStack {
    /// `None` when reusing a LocalStack named by `LOCALSTACK_ENDPOINT`, which
    /// is someone else's to stop.
    child: Option<Child>,
    /// Base URL for AWS clients, e.g. `http://127.0.0.1:41263` (use it as
    /// `AWS_ENDPOINT_URL`).
    pub endpoint: String,
    /// `target/localstack-run-<port>`: LocalStack's whole file tree, its HOME
    /// and its log, so that nothing it writes escapes the workspace.
    volume_dir: PathBuf,
    log_path: PathBuf,
    keep_files: bool,
}

impl LocalStack {
    /// The LocalStack log, when this handle started the process itself.
    #[allow(dead_code)] // for the e2e runner, which quotes the log on failure
    pub fn log_path(&self) -> Option<&Path> {
        self.child.as_ref().map(|_| self.log_path.as_path())
    }

    fn external(endpoint: String) -> Self {
        LocalStack {
            child: None,
            endpoint,
            volume_dir: PathBuf::new(),
            log_path: PathBuf::new(),
            // Nothing of ours on disk to delete.
            keep_files: true,
        }
    }

    fn wait_healthy(&mut self, timeout: Duration) -> Result<(), WaitError> {
        let deadline = Instant::now() + timeout;
        let mut last;
        loop {
            self.check_still_running()?;
            match startup_state(&read_log(&self.log_path)) {
                Startup::BindFailed(marker) => {
                    return Err(WaitError::PortTaken(format!(
                        "LocalStack could not bind {} ({marker})",
                        self.endpoint
                    )));
                }
                Startup::Starting => last = "no \"Ready.\" in its log yet".to_string(),
                Startup::Ready => {
                    match health(&self.endpoint).map(|b| unready_services(&b, SERVICES)) {
                        Ok(unready) if unready.is_empty() => return Ok(()),
                        Ok(unready) => last = format!("not ready: {}", unready.join(", ")),
                        Err(e) => last = e,
                    }
                }
            }
            if Instant::now() >= deadline {
                return Err(WaitError::Failed(self.failure(&format!(
                    "not healthy after {} s ({last})",
                    timeout.as_secs()
                ))));
            }
            sleep(POLL_INTERVAL);
        }
    }

    fn check_still_running(&mut self) -> Result<(), WaitError> {
        let Some(child) = self.child.as_mut() else {
            return Ok(());
        };
        match child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(WaitError::Failed(
                self.failure(&format!("exited during startup ({status})")),
            )),
            Err(e) => Err(WaitError::Failed(format!("waiting for LocalStack: {e}"))),
        }
    }

    /// Builds a start-failure message and keeps the run directory so the
    /// full log stays readable after the handle is dropped.
    fn failure(&mut self, what: &str) -> String {
        self.keep_files = true;
        format!(
            "LocalStack at {} {what}; log {}, last {LOG_TAIL_LINES} lines:\n{}",
            self.endpoint,
            self.log_path.display(),
            log_tail(&self.log_path, LOG_TAIL_LINES)
        )
    }

    /// Gives up on a process that lost its port: it hangs on SIGTERM in that
    /// state, so the polite stop in `Drop` would only waste 15 s.
    fn abandon(mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.keep_files = false;
    }
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        let Some(child) = self.child.take() else {
            if !self.keep_files {
                let _ = fs::remove_dir_all(&self.volume_dir);
            }
            return;
        };
        stop_child(child, STOP_GRACE);
        if self.keep_files || std::thread::panicking() {
            eprintln!(
                "xtask: kept LocalStack files in {}",
                self.volume_dir.display()
            );
        } else {
            let _ = fs::remove_dir_all(&self.volume_dir);
        }
    }
}

/// SIGTERM first because LocalStack then stops its services in order (about
/// 1-4 s measured); SIGKILL only as a fallback. Signalling by pid is safe
/// here: the child is not reaped before this point, so its pid cannot have
/// been reused by another process.
fn stop_child(mut child: Child, grace: Duration) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        match child.try_wait() {
            Ok(Some(_)) => return,
            Ok(None) => sleep(Duration::from_millis(100)),
            Err(_) => break,
        }
    }
    eprintln!(
        "xtask: LocalStack (pid {}) still running {} s after SIGTERM; killing it",
        child.id(),
        grace.as_secs()
    );
    let _ = child.kill();
    let _ = child.wait();
}

enum WaitError {
    /// Worth retrying on another port.
    PortTaken(String),
    Failed(String),
}

#[derive(Debug, PartialEq)]
enum Startup {
    Starting,
    BindFailed(&'static str),
    Ready,
}

fn startup_state(log: &str) -> Startup {
    if let Some(marker) = BIND_ERROR_MARKERS
        .iter()
        .copied()
        .find(|m| log.contains(*m))
    {
        return Startup::BindFailed(marker);
    }
    if log.lines().any(|line| line.trim() == READY_LINE) {
        Startup::Ready
    } else {
        Startup::Starting
    }
}

enum Started {
    Ready(LocalStack),
    PortTaken(String),
}

/// Makes sure `target/localstack-venv` holds exactly the committed lock,
/// (re)building it when it is missing or was built from a different lock.
/// Returns the venv directory.
///
/// A changed lock rebuilds from scratch rather than installing over the old
/// venv, so packages dropped from the lock do not linger. The lock copy is
/// written last: an interrupted install is redone on the next run. Two xtask
/// processes building the venv at the same moment are not guarded against.
pub fn ensure_venv(workspace_root: &Path) -> Result<PathBuf, String> {
    // The marker covers our LocalStack plugin too, so editing it reinstalls.
    let mut plugin = Vec::new();
    for file in NOEXEC_FILES {
        let path = workspace_root.join(NOEXEC_DIR).join(file);
        plugin.extend(fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))?);
    }
    let venv = workspace_root.join(VENV_DIR);
    let started = Instant::now();
    let what =
        format!("LocalStack {LOCALSTACK_VERSION} into {VENV_DIR} (one-time, ~90 s, ~520 MB)");
    let installed = crate::python::venv_from_lock(
        &venv,
        &workspace_root.join(LOCK_FILE),
        &plugin,
        &what,
        |venv| install_noexec(workspace_root, venv),
    )?;
    if installed {
        eprintln!(
            "xtask: LocalStack installed in {} s",
            started.elapsed().as_secs()
        );
    }
    Ok(venv)
}

/// Our LocalStack plugin: a Lambda runtime executor that needs no Docker
/// (see its pyproject.toml for why).
const NOEXEC_DIR: &str = "xtask/localstack/noexec";
const NOEXEC_FILES: &[&str] = &["pyproject.toml", "plugctl_noexec.py"];

/// Installs the plugin from a copy under `target/`, so the build leaves
/// nothing in the source tree.
fn install_noexec(workspace_root: &Path, venv: &Path) -> Result<(), String> {
    let build = workspace_root.join("target/localstack-noexec-build");
    let _ = fs::remove_dir_all(&build);
    fs::create_dir_all(&build).map_err(|e| format!("creating {}: {e}", build.display()))?;
    for file in NOEXEC_FILES {
        fs::copy(workspace_root.join(NOEXEC_DIR).join(file), build.join(file))
            .map_err(|e| format!("copying {file}: {e}"))?;
    }
    status(
        Command::new(venv_python(venv))
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "-q",
                "--no-deps",
                "--no-build-isolation",
            ])
            .arg(&build),
    )
}

fn venv_python(venv: &Path) -> PathBuf {
    venv.join("bin").join("python")
}

/// Returns a healthy LocalStack: the one named by `LOCALSTACK_ENDPOINT` if it
/// answers and has all [`SERVICES`] up, else a private one on a free port of
/// 127.0.0.1 (never 4566, so a developer's own LocalStack is left alone).
///
/// Note: LocalStack's default (twisted) gateway ignores the host part of
/// `GATEWAY_LISTEN` and listens on 0.0.0.0:<port>. Test servers must stay on
/// loopback, so the hypercorn gateway is used: it binds 127.0.0.1 only. In
/// 4.13.1 it does not exit on SIGTERM once it has served an AWS request, so
/// [`STOP_GRACE`] is short and the stop ends with SIGKILL; LocalStack keeps
/// no state worth a clean shutdown here.
pub fn start(workspace_root: &Path) -> Result<LocalStack, String> {
    if let Some(external) = reuse_external() {
        return Ok(external);
    }
    let venv = ensure_venv(workspace_root)?;
    let mut last_error = String::new();
    for _ in 0..PORT_ATTEMPTS {
        match start_owned(workspace_root, &venv)? {
            Started::Ready(localstack) => return Ok(localstack),
            Started::PortTaken(message) => {
                eprintln!("xtask: {message}; trying another port");
                last_error = message;
            }
        }
    }
    Err(last_error)
}

fn reuse_external() -> Option<LocalStack> {
    let endpoint = std::env::var(EXTERNAL_ENDPOINT_VAR).ok()?;
    let endpoint = endpoint.trim_end_matches('/').to_string();
    match health(&endpoint).map(|body| unready_services(&body, SERVICES)) {
        Ok(unready) if unready.is_empty() => {
            eprintln!("xtask: using LocalStack at {endpoint} ({EXTERNAL_ENDPOINT_VAR})");
            Some(LocalStack::external(endpoint))
        }
        Ok(unready) => {
            eprintln!(
                "xtask: {EXTERNAL_ENDPOINT_VAR}={endpoint} lacks {}; starting a private LocalStack",
                unready.join(", ")
            );
            None
        }
        Err(e) => {
            eprintln!(
                "xtask: {EXTERNAL_ENDPOINT_VAR}={endpoint} unusable ({e}); starting a private LocalStack"
            );
            None
        }
    }
}

fn start_owned(workspace_root: &Path, venv: &Path) -> Result<Started, String> {
    let port = free_port()?;
    let run_dir = workspace_root.join(format!("target/localstack-run-{port}"));
    fresh_dir(&run_dir)?;
    let log_path = run_dir.join("localstack.log");
    let child = spawn(venv, port, &run_dir, &log_path)?;
    let mut localstack = LocalStack {
        child: Some(child),
        endpoint: format!("http://127.0.0.1:{port}"),
        volume_dir: run_dir,
        log_path,
        keep_files: false,
    };
    eprintln!("xtask: starting LocalStack on {}", localstack.endpoint);
    let started = Instant::now();
    match localstack.wait_healthy(HEALTH_TIMEOUT) {
        Ok(()) => {
            eprintln!(
                "xtask: LocalStack ready in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            Ok(Started::Ready(localstack))
        }
        Err(WaitError::PortTaken(message)) => {
            localstack.abandon();
            Ok(Started::PortTaken(message))
        }
        Err(WaitError::Failed(message)) => Err(message),
    }
}

/// Asks the kernel for an unused port. The listener is dropped before
/// LocalStack binds, so another process can still take the port in
/// between; `start` detects that from the log and retries.
fn free_port() -> Result<u16, String> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| format!("finding a free port: {e}"))?;
    let port = listener
        .local_addr()
        .map_err(|e| format!("finding a free port: {e}"))?
        .port();
    Ok(port)
}

/// A stale directory from a killed run may exist for a reused port.
fn fresh_dir(dir: &Path) -> Result<(), String> {
    if dir.exists() {
        fs::remove_dir_all(dir).map_err(|e| format!("removing stale {}: {e}", dir.display()))?;
    }
    fs::create_dir_all(dir.join("home")).map_err(|e| format!("creating {}: {e}", dir.display()))
}

/// Process ids of the LocalStacks this xtask started, for the signal handler.
static STARTED: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

/// On Ctrl-C or SIGTERM, kill the LocalStacks we started before exiting:
/// `Drop` does not run when a signal ends the process, and a SIGINT sent to
/// xtask alone (not its whole group) would otherwise leave them running.
pub fn stop_on_signal() {
    let _ = ctrlc::set_handler(|| {
        let pids = STARTED.lock().map(|p| p.clone()).unwrap_or_default();
        for pid in pids {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        std::process::exit(130);
    });
}

fn spawn(venv: &Path, port: u16, run_dir: &Path, log_path: &Path) -> Result<Child, String> {
    let log =
        fs::File::create(log_path).map_err(|e| format!("creating {}: {e}", log_path.display()))?;
    let log_err = log
        .try_clone()
        .map_err(|e| format!("cloning log handle: {e}"))?;
    Command::new(venv_python(venv))
        .args(["-m", "localstack.runtime.main"])
        .env_clear()
        .envs(localstack_env(port, run_dir))
        // `python -m` puts the working directory on sys.path; the run
        // directory holds no Python files that could shadow a module.
        .current_dir(run_dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .inspect(|child| {
            if let Ok(mut started) = STARTED.lock() {
                started.push(child.id());
            }
        })
        .map_err(|e| format!("starting LocalStack from {}: {e}", venv.display()))
}

/// The environment is built from scratch: LocalStack reads dozens of
/// variables (DEBUG, PERSISTENCE, PROVIDER_OVERRIDE_*, ...) plus
/// `~/.localstack/*.env`, and a developer's shell must not change the tests.
fn localstack_env(port: u16, run_dir: &Path) -> Vec<(String, String)> {
    let path_of = |sub: &str| run_dir.join(sub).display().to_string();
    let mut env: Vec<(String, String)> = [
        ("GATEWAY_LISTEN", format!("127.0.0.1:{port}")),
        ("GATEWAY_SERVER", "hypercorn".to_string()),
        // No Docker here: our executor lets functions become Active (see NOEXEC_DIR).
        ("LAMBDA_RUNTIME_EXECUTOR", "noexec".to_string()),
        ("SERVICES", SERVICES.join(",")),
        // Only LocalStack's CLI reads this; kept for parity with the notes.
        ("LOCALSTACK_VOLUME_DIR", path_of("volume")),
        ("DISABLE_EVENTS", "1".to_string()),
        // These machines have /.dockerenv, so LocalStack believes it runs in
        // its own container: it would write /var/lib/localstack and, given
        // an upstream DNS, bind 0.0.0.0:53 and rewrite /etc/resolv.conf.
        ("OVERRIDE_IN_DOCKER", "0".to_string()),
        ("DNS_ADDRESS", "0".to_string()),
        // Host mode puts every LocalStack directory under this root.
        ("FILESYSTEM_ROOT", path_of("fs")),
        // Hides ~/.localstack profiles and keeps plux's cache in the run dir.
        ("HOME", path_of("home")),
        // Unbuffered, so the log is current when we scan it for bind errors
        // and when a failure quotes its tail.
        ("PYTHONUNBUFFERED", "1".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for name in ["PATH", "LD_LIBRARY_PATH"] {
        if let Ok(value) = std::env::var(name) {
            env.push((name.to_string(), value));
        }
    }
    env
}

/// Lossy, because a log with stray bytes must still be searchable.
fn read_log(path: &Path) -> String {
    fs::read(path)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_else(|e| format!("(cannot read log: {e})"))
}

fn log_tail(path: &Path, lines: usize) -> String {
    let text = read_log(path);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// GETs `<endpoint>/_localstack/health` and returns the raw JSON body.
///
/// Shape seen with 4.13.1: `{"services": {"acm": "disabled", "s3":
/// "available", "sts": "running", ...}, "edition": "unknown", "version":
/// "4.13.1"}`; a service reads `available` until its first request loads it,
/// then `running`. Only plain `http://host[:port]` endpoints are supported.
pub fn health(endpoint: &str) -> Result<String, String> {
    let authority = http_authority(endpoint)?;
    let raw = http_get(authority, HEALTH_PATH)?;
    let response = parse_response(&raw)?;
    if response.status != 200 {
        return Err(format!(
            "{endpoint}{HEALTH_PATH} answered HTTP {}",
            response.status
        ));
    }
    Ok(response.body)
}

fn http_authority(endpoint: &str) -> Result<&str, String> {
    let rest = endpoint
        .strip_prefix("http://")
        .ok_or_else(|| format!("endpoint {endpoint:?} is not http://host:port"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() {
        return Err(format!("endpoint {endpoint:?} has no host"));
    }
    Ok(authority)
}

fn http_get(authority: &str, path: &str) -> Result<Vec<u8>, String> {
    let mut stream = connect(authority)?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("sending to {authority}: {e}"))?;
    let mut raw = Vec::new();
    // A server ignoring `Connection: close` ends in a read timeout; what
    // arrived before it is the whole response.
    if let Err(e) = stream.read_to_end(&mut raw)
        && raw.is_empty()
    {
        return Err(format!("reading from {authority}: {e}"));
    }
    Ok(raw)
}

/// `localhost` may resolve to ::1 first while LocalStack listens on IPv4
/// only, so every resolved address is tried.
fn connect(authority: &str) -> Result<TcpStream, String> {
    let with_port = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let addrs: Vec<SocketAddr> = with_port
        .to_socket_addrs()
        .map_err(|e| format!("resolving {authority}: {e}"))?
        .collect();
    let mut last = format!("{authority} resolved to no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, HTTP_TIMEOUT) {
            Ok(stream) => {
                stream
                    .set_read_timeout(Some(HTTP_TIMEOUT))
                    .map_err(|e| format!("configuring socket: {e}"))?;
                return Ok(stream);
            }
            Err(e) => last = format!("connecting to {addr}: {e}"),
        }
    }
    Err(last)
}

#[derive(Debug, PartialEq)]
struct HttpResponse {
    status: u16,
    body: String,
}

fn parse_response(raw: &[u8]) -> Result<HttpResponse, String> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| "HTTP response without end of headers".to_string())?;
    let mut lines = head.split("\r\n");
    let status = parse_status_line(lines.next().unwrap_or_default())?;
    let chunked = lines.any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("transfer-encoding")
                && value.to_ascii_lowercase().contains("chunked")
        })
    });
    let body = if chunked {
        decode_chunked(body)?
    } else {
        body.to_string()
    };
    Ok(HttpResponse { status, body })
}

fn parse_status_line(line: &str) -> Result<u16, String> {
    let mut parts = line.split(' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(format!("not an HTTP/1.x status line: {line:?}"));
    }
    parts
        .next()
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| format!("no status code in {line:?}"))
}

fn decode_chunked(mut rest: &str) -> Result<String, String> {
    let mut body = String::new();
    loop {
        let (size_line, after) = rest
            .split_once("\r\n")
            .ok_or_else(|| "truncated chunk size".to_string())?;
        let size_hex = size_line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|e| format!("bad chunk size {size_hex:?}: {e}"))?;
        if size == 0 {
            return Ok(body);
        }
        body.push_str(
            after
                .get(..size)
                .ok_or_else(|| "truncated chunk".to_string())?,
        );
        rest = after
            .get(size..)
            .and_then(|r| r.strip_prefix("\r\n"))
            .ok_or_else(|| "chunk not followed by CRLF".to_string())?;
    }
}

/// Names (with their status) of `services` that are not `available` or
/// `running` in a health body; empty means ready.
fn unready_services(body: &str, services: &[&str]) -> Vec<String> {
    services
        .iter()
        .filter_map(|name| match service_status(body, name) {
            Some("available" | "running") => None,
            Some(status) => Some(format!("{name}={status}")),
            None => Some(format!("{name}=missing")),
        })
        .collect()
}

/// Finds `"name": "<status>"`. A string search suffices for LocalStack's flat
/// `services` map; occurrences not followed by `:` (values) are skipped, and
/// the closing quote in the key keeps `s3` from matching `s3control`.
fn service_status<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    let key = format!("\"{name}\"");
    let mut rest = body;
    while let Some(pos) = rest.find(&key) {
        rest = &rest[pos + key.len()..];
        if let Some(value) = rest.trim_start().strip_prefix(':') {
            let quoted = value.trim_start().strip_prefix('"')?;
            return quoted.find('"').map(|end| &quoted[..end]);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEALTH: &str = r#"{"services": {"acm": "disabled", "cloudformation": "available", "cloudwatch": "available", "ec2": "available", "events": "available", "iam": "available", "kms": "available", "lambda": "available", "logs": "available", "s3": "running", "s3control": "disabled", "secretsmanager": "available", "sns": "available", "sqs": "available", "ssm": "available", "sts": "running"}, "edition": "unknown", "version": "4.13.1"}"#;

    #[test]
    fn parses_plain_response() {
        let raw = b"HTTP/1.1 200 OK\r\nServer: TwistedWeb/25.5.0\r\nContent-Length: 2\r\n\r\n{}";
        let response = parse_response(raw).expect("parses");
        assert_eq!(
            response,
            HttpResponse {
                status: 200,
                body: "{}".to_string()
            }
        );
    }

    #[test]
    fn parses_chunked_response() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3;x=y\r\n: 1\r\n1\r\n}\r\n0\r\n\r\n";
        let response = parse_response(raw).expect("parses");
        assert_eq!(response.body, r#"{"a": 1}"#);
    }

    #[test]
    fn reports_status_code() {
        let raw = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(parse_response(raw).expect("parses").status, 503);
    }

    #[test]
    fn rejects_non_http() {
        assert!(parse_response(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n").is_err());
        assert!(
            parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").is_err()
        );
        assert!(
            parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\nab")
                .is_err()
        );
    }

    #[test]
    fn finds_service_status() {
        assert_eq!(service_status(HEALTH, "s3"), Some("running"));
        assert_eq!(service_status(HEALTH, "s3control"), Some("disabled"));
        assert_eq!(service_status(HEALTH, "dynamodb"), None);
        assert_eq!(
            service_status(r#"{"x": "sts", "sts" : "available"}"#, "sts"),
            Some("available")
        );
    }

    #[test]
    fn ready_when_all_services_available_or_running() {
        assert!(unready_services(HEALTH, SERVICES).is_empty());
    }

    #[test]
    fn lists_unready_services() {
        let body = HEALTH.replace(r#""sqs": "available""#, r#""sqs": "error""#);
        let body = body.replace(r#""ssm": "available", "#, "");
        assert_eq!(
            unready_services(&body, SERVICES),
            ["sqs=error", "ssm=missing"]
        );
        assert_eq!(unready_services("<html>", &["sts"]), ["sts=missing"]);
    }

    #[test]
    fn reads_startup_state_from_log() {
        assert_eq!(
            startup_state("\nLocalStack version: 4.13.1\n"),
            Startup::Starting
        );
        assert_eq!(
            startup_state("LocalStack version: 4.13.1\n\nReady.\n"),
            Startup::Ready
        );
        let lost_race = "twisted.internet.error.CannotListenError: Couldn't listen on any:43389: \
                         [Errno 98] Address already in use.\n\nReady.\n";
        assert_eq!(
            startup_state(lost_race),
            Startup::BindFailed("CannotListenError")
        );
    }

    #[test]
    fn splits_endpoint() {
        assert_eq!(
            http_authority("http://127.0.0.1:4566/"),
            Ok("127.0.0.1:4566")
        );
        assert_eq!(http_authority("http://localhost"), Ok("localhost"));
        assert!(http_authority("https://127.0.0.1:4566").is_err());
        assert!(http_authority("http:///x").is_err());
    }
}
