//! stdio servers: the child process with a scrubbed environment, a strict
//! reader of its stdout, its stderr kept for error messages, and the staged
//! shutdown (close stdin, SIGTERM, SIGKILL).

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

/// The variables every stdio server gets from plugctl's environment, when set.
pub const BASE_ENV: &[&str] = &["PATH", "HOME", "LANG"];

/// How much of the server's stderr is kept (the end of it).
const STDERR_TAIL: usize = 2048;

/// A running child: its pipes and the handle that watches and stops it.
pub struct StdioProcess {
    /// The server's stdout, checked line by line.
    pub stdout: GuardedStdout,
    /// The server's stdin.
    pub stdin: ChildStdin,
    /// Exit watching and shutdown.
    pub handle: ChildHandle,
}

/// Starts `program` with only `env` plus [`BASE_ENV`].
pub fn spawn(
    program: &str,
    args: &[String],
    env: &BTreeMap<String, String>,
    cwd: &Path,
    max_message_bytes: usize,
) -> io::Result<StdioProcess> {
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for name in BASE_ENV {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    command.envs(env);
    let mut child = command.spawn()?;
    let missing = || io::Error::other("child pipes missing");
    let stdin = child.stdin.take().ok_or_else(missing)?;
    let stdout = child.stdout.take().ok_or_else(missing)?;
    let stderr = child.stderr.take().ok_or_else(missing)?;

    let shared = Arc::new(Shared::default());
    let tail = shared.clone();
    tokio::spawn(async move {
        let mut stderr = stderr;
        let mut buf = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buf).await {
            if n == 0 {
                break;
            }
            tail.push_stderr(&buf[..n]);
        }
    });
    let (exit_tx, exit_rx) = watch::channel(None);
    let (stop_tx, stop_rx) = oneshot::channel();
    let pid = child.id();
    let monitor = tokio::spawn(monitor(child, stop_rx, exit_tx));
    Ok(StdioProcess {
        stdout: GuardedStdout {
            inner: stdout,
            state: LineState::Start,
            line_len: 0,
            max: max_message_bytes,
            shared: shared.clone(),
        },
        stdin,
        handle: ChildHandle {
            pid,
            exit: exit_rx,
            stop: Mutex::new(Some(stop_tx)),
            monitor: Mutex::new(Some(monitor)),
            shared,
        },
    })
}

/// How long each shutdown stage waits for the child to exit.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

async fn monitor(
    mut child: Child,
    stop: oneshot::Receiver<()>,
    exit: watch::Sender<Option<ExitStatus>>,
) {
    let status = tokio::select! {
        status = child.wait() => status.ok(),
        _ = stop => stop_child(&mut child).await,
    };
    let _ = exit.send(status);
}

/// Stdin is already closed by the caller; then SIGTERM, then SIGKILL.
async fn stop_child(child: &mut Child) -> Option<ExitStatus> {
    if let Ok(Ok(status)) = tokio::time::timeout(SHUTDOWN_GRACE, child.wait()).await {
        return Some(status);
    }
    let pid = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .and_then(rustix::process::Pid::from_raw);
    if let Some(pid) = pid {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        if let Ok(Ok(status)) = tokio::time::timeout(SHUTDOWN_GRACE, child.wait()).await {
            return Some(status);
        }
    }
    let _ = child.kill().await;
    child.wait().await.ok()
}

#[derive(Default)]
struct Shared {
    stderr: Mutex<Vec<u8>>,
    violation: Mutex<Option<String>>,
}

impl Shared {
    fn push_stderr(&self, bytes: &[u8]) {
        let mut tail = self.stderr.lock().unwrap_or_else(|p| p.into_inner());
        tail.extend_from_slice(bytes);
        if tail.len() > STDERR_TAIL {
            let cut = tail.len() - STDERR_TAIL;
            tail.drain(..cut);
        }
    }

    fn violate(&self, what: String) {
        let mut slot = self.violation.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert(what);
    }
}

/// Watches a child and stops it.
pub struct ChildHandle {
    pid: Option<u32>,
    exit: watch::Receiver<Option<ExitStatus>>,
    stop: Mutex<Option<oneshot::Sender<()>>>,
    monitor: Mutex<Option<JoinHandle<()>>>,
    shared: Arc<Shared>,
}

impl ChildHandle {
    /// The child's process id.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// The exit status, once the child has exited.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        *self.exit.borrow()
    }

    /// Why the connection to this child ended: a protocol violation on stdout,
    /// the exit status and the end of its stderr. Waits briefly for the exit.
    pub async fn describe_end(&self) -> String {
        let mut exit = self.exit.clone();
        let _ =
            tokio::time::timeout(Duration::from_millis(300), exit.wait_for(Option::is_some)).await;
        let mut parts = Vec::new();
        if let Some(v) = self
            .shared
            .violation
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        {
            parts.push(v);
        }
        match self.exit_status() {
            Some(status) => parts.push(format!("server exited ({status})")),
            None => parts.push("server stopped answering".to_owned()),
        }
        let tail = self.stderr_tail();
        if !tail.is_empty() {
            parts.push(format!("stderr: {tail}"));
        }
        parts.join("; ")
    }

    /// The last lines the server wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        let tail = self.shared.stderr.lock().unwrap_or_else(|p| p.into_inner());
        String::from_utf8_lossy(&tail).trim().to_owned()
    }

    /// The protocol violation seen on stdout, if any.
    pub fn violation(&self) -> Option<String> {
        self.shared
            .violation
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Stops the child (the caller has closed stdin): wait, SIGTERM, wait, SIGKILL.
    /// Bounded by twice [`SHUTDOWN_GRACE`] plus the kill.
    pub async fn shutdown(&self) {
        let stop = self.stop.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(stop) = stop {
            let _ = stop.send(());
        }
        let monitor = self
            .monitor
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(monitor) = monitor {
            let _ = monitor.await;
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineState {
    Start,
    InMessage,
}

/// The server's stdout, ended with an error at the first line that is not a
/// JSON-RPC message or that exceeds the size bound.
///
/// The spec reserves stdout for MCP messages, and rmcp silently skips lines
/// it cannot parse, so a server printing garbage would otherwise look like a
/// hang. Ending the stream turns it into a clear protocol error right away.
pub struct GuardedStdout {
    inner: ChildStdout,
    state: LineState,
    line_len: usize,
    max: usize,
    shared: Arc<Shared>,
}

impl GuardedStdout {
    fn check(&mut self, bytes: &[u8]) -> Result<(), String> {
        for (i, &b) in bytes.iter().enumerate() {
            match self.state {
                LineState::Start => match b {
                    b' ' | b'\t' | b'\r' | b'\n' => {}
                    b'{' | b'[' => {
                        self.state = LineState::InMessage;
                        self.line_len = 1;
                    }
                    _ => {
                        let end = bytes[i..]
                            .iter()
                            .position(|&c| c == b'\n')
                            .map_or(bytes.len(), |p| i + p)
                            .min(i + 80);
                        return Err(format!(
                            "server wrote non-JSON-RPC output on stdout: {:?}",
                            String::from_utf8_lossy(&bytes[i..end])
                        ));
                    }
                },
                LineState::InMessage => {
                    if b == b'\n' {
                        self.state = LineState::Start;
                    } else {
                        self.line_len += 1;
                        if self.line_len > self.max {
                            return Err(format!(
                                "server sent a message larger than {} bytes",
                                self.max
                            ));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

impl AsyncRead for GuardedStdout {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if let Err(what) = this.check(&buf.filled()[before..]) {
                    this.shared.violate(what.clone());
                    buf.set_filled(before);
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, what)));
                }
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}
