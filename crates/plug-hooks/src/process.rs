//! Running one command hook: its own process group, temp dir, environment,
//! sandbox, size caps and timeout.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use plug_manifest::native::model::HookHandler;
use plug_manifest::paths::resolve_inside;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use crate::answer::Termination;
use crate::sandbox::{self, LandlockLevel, ResourceLimits, SandboxPolicy};

/// After the hook's process exits and its group is killed, how long to wait
/// for the pipes to close. Only a process that left the group (`setsid`) can
/// keep them open that long; it is then abandoned.
const DRAIN_GRACE: Duration = Duration::from_millis(500);

/// The program and arguments of a command hook.
#[derive(Debug, Clone)]
pub(crate) struct Launch {
    pub program: PathBuf,
    pub args: Vec<String>,
}

/// Turns a handler into a program and arguments. File handlers and relative
/// programs are resolved inside the plugin root (symlinks included), again at
/// run time, since the tree may have changed since validation.
///
/// In exec form, `${VAR}` and `${VAR:-default}` expand from `env`, the
/// environment the hook gets (which has `CLAUDE_PLUGIN_ROOT`), word by word,
/// so a value never splits into more arguments; a name it lacks is kept as written.
pub(crate) fn launch_for(
    handler: &HookHandler,
    root: &Path,
    env: &[(String, OsString)],
) -> Result<Launch, String> {
    let lookup = |name: &str| {
        env.iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.to_string_lossy().into_owned())
    };
    let substitute = |s: &str| plug_manifest::ecosystem::vars::expand_known(s, lookup);
    match handler {
        HookHandler::File { path } => Ok(Launch {
            program: resolve_inside(root, path).map_err(|e| e.to_string())?,
            args: Vec::new(),
        }),
        HookHandler::Exec { argv } => {
            let (program, args) = argv.split_first().ok_or("empty command")?;
            let program = substitute(program);
            let program = if program.contains('/') && Path::new(&program).is_relative() {
                resolve_inside(root, &program).map_err(|e| e.to_string())?
            } else {
                PathBuf::from(program)
            };
            Ok(Launch {
                program,
                args: args.iter().map(|a| substitute(a)).collect(),
            })
        }
        // Declared `shell: true`; `${CLAUDE_PLUGIN_ROOT}` is left to the shell,
        // which reads it from the environment.
        HookHandler::Shell { command } => Ok(Launch {
            program: PathBuf::from("/bin/sh"),
            args: vec!["-c".into(), command.clone()],
        }),
        HookHandler::Http { .. } => Err("an http hook has no process".into()),
    }
}

/// How to run one command hook.
pub(crate) struct RunSpec<'a> {
    pub launch: Launch,
    pub env: Vec<(String, OsString)>,
    pub workdir: &'a Path,
    pub stdin: Vec<u8>,
    pub sandbox: Option<SandboxPolicy>,
    pub limits: &'a ResourceLimits,
    pub timeout: Duration,
    pub max_output: usize,
}

/// What a command hook did.
pub(crate) struct ProcessOutcome {
    pub end: Termination,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub landlock: LandlockLevel,
    pub limits_not_set: Vec<String>,
}

impl ProcessOutcome {
    fn not_started(reason: String, landlock: LandlockLevel) -> Self {
        ProcessOutcome {
            end: Termination::NotStarted { reason },
            stdout: Vec::new(),
            stderr: Vec::new(),
            landlock,
            limits_not_set: Vec::new(),
        }
    }
}

/// Runs a command hook to its end, its timeout or its output cap.
pub(crate) async fn run(spec: RunSpec<'_>) -> ProcessOutcome {
    let command = command(&spec);
    let (mut child, landlock) = match spawn_confined(command, spec.sandbox.clone()).await {
        Ok(spawned) => spawned,
        Err((reason, landlock)) => return ProcessOutcome::not_started(reason, landlock),
    };
    let group = ProcessGroup::of(child.id());
    let cpu_seconds = spec.timeout.as_secs() + 1;
    let limits_not_set = child
        .id()
        .map(|pid| sandbox::apply_limits(pid, spec.limits, cpu_seconds))
        .unwrap_or_default();

    let deadline = Instant::now() + spec.timeout;
    let (stdin, stdout, stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
    let mut out = Capped::new(spec.max_output);
    let mut err = Capped::new(spec.max_output);
    let (status, timed_out) = {
        let writer = write_input(stdin, &spec.stdin, deadline);
        let readers = async {
            tokio::join!(out.fill(stdout, &group), err.fill(stderr, &group));
        };
        let waiter = async {
            let waited = match tokio::time::timeout_at(deadline, child.wait()).await {
                Ok(status) => (status, false),
                Err(_) => {
                    group.kill();
                    (child.wait().await, true)
                }
            };
            // Whatever the hook left behind (`cmd &`) dies with it.
            group.kill();
            waited
        };
        let io = async { tokio::join!(writer, readers) };
        tokio::pin!(io);
        tokio::pin!(waiter);
        let mut io_done = false;
        let waited = loop {
            tokio::select! {
                waited = &mut waiter => break waited,
                _ = &mut io, if !io_done => io_done = true,
            }
        };
        if !io_done {
            let _ = tokio::time::timeout(DRAIN_GRACE, &mut io).await;
        }
        waited
    };
    group.disarm();

    let end = if out.overflowed || err.overflowed {
        Termination::OutputCapped {
            cap: spec.max_output,
        }
    } else if timed_out {
        Termination::timed_out(spec.timeout)
    } else {
        termination(status)
    };
    ProcessOutcome {
        end,
        stdout: out.buf,
        stderr: err.buf,
        landlock,
        limits_not_set,
    }
}

fn command(spec: &RunSpec<'_>) -> std::process::Command {
    let mut command = std::process::Command::new(&spec.launch.program);
    // Rust opens its own descriptors with O_CLOEXEC (pipes, files, sockets,
    // the Landlock ruleset), and `fd_hygiene` marks those plugctl inherited
    // just before the spawn, so the hook gets exactly fds 0-2, set here.
    command
        .args(&spec.launch.args)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .current_dir(spec.workdir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Its own group, so the timeout can kill the hook and all it started.
        command.process_group(0);
    }
    command
}

type Spawned = (tokio::process::Child, LandlockLevel);
type SpawnError = (String, LandlockLevel);

/// Spawns from a fresh thread that confines itself first, so that the hook
/// inherits the Landlock domain and nothing else in plugctl is confined.
/// Without a policy there is nothing to confine, and no thread is needed.
async fn spawn_confined(
    command: std::process::Command,
    policy: Option<SandboxPolicy>,
) -> Result<Spawned, SpawnError> {
    let Some(policy) = policy else {
        return spawn_now(command, LandlockLevel::Disabled);
    };
    let handle = tokio::runtime::Handle::current();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let thread = std::thread::Builder::new()
        .name("plug-hooks-spawn".into())
        .spawn(move || {
            // tokio registers the child with the runtime's process driver.
            let _runtime = handle.enter();
            let result = match sandbox::confine_current_thread(&policy) {
                Ok(level) => spawn_now(command, level),
                Err(e) => Err((e.to_string(), LandlockLevel::Disabled)),
            };
            let _ = tx.send(result);
        });
    if let Err(e) = thread {
        return Err((
            format!("no thread to start it from: {e}"),
            LandlockLevel::Disabled,
        ));
    }
    rx.await
        .unwrap_or_else(|_| Err(("the spawning thread died".into(), LandlockLevel::Disabled)))
}

fn spawn_now(command: std::process::Command, level: LandlockLevel) -> Result<Spawned, SpawnError> {
    #[cfg(unix)]
    crate::fd_hygiene::mark_inherited_fds_cloexec();
    let mut command = tokio::process::Command::from(command);
    command.kill_on_drop(true);
    match command.spawn() {
        Ok(child) => Ok((child, level)),
        Err(e) => Err((e.to_string(), level)),
    }
}

async fn write_input(stdin: Option<tokio::process::ChildStdin>, input: &[u8], deadline: Instant) {
    if let Some(mut stdin) = stdin {
        // A hook need not read its input; a closed pipe is not an error.
        let _ = tokio::time::timeout_at(deadline, stdin.write_all(input)).await;
    }
}

fn termination(status: std::io::Result<std::process::ExitStatus>) -> Termination {
    match status {
        Ok(status) => match status.code() {
            Some(code) => Termination::Exited { code },
            None => {
                #[cfg(unix)]
                {
                    use std::os::unix::process::ExitStatusExt;
                    Termination::Signalled {
                        signal: status.signal().unwrap_or(0),
                    }
                }
                #[cfg(not(unix))]
                Termination::Signalled { signal: 0 }
            }
        },
        Err(e) => Termination::NotStarted {
            reason: format!("lost track of the process: {e}"),
        },
    }
}

/// Output kept up to a cap; going over it kills the hook's group.
struct Capped {
    buf: Vec<u8>,
    cap: usize,
    overflowed: bool,
}

impl Capped {
    fn new(cap: usize) -> Self {
        Capped {
            buf: Vec::new(),
            cap,
            overflowed: false,
        }
    }

    async fn fill<R: AsyncRead + Unpin>(&mut self, pipe: Option<R>, group: &ProcessGroup) {
        let Some(mut pipe) = pipe else { return };
        let mut chunk = [0u8; 8192];
        loop {
            let n = match pipe.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let room = self.cap - self.buf.len();
            if n > room {
                self.buf.extend_from_slice(&chunk[..room]);
                self.overflowed = true;
                group.kill();
                return;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// A hook's process group, killed with `SIGKILL` on demand and, if the
/// dispatch is cancelled half-way, on drop.
struct ProcessGroup {
    #[cfg(unix)]
    pgid: Option<rustix::process::Pid>,
    armed: bool,
}

impl ProcessGroup {
    fn of(pid: Option<u32>) -> Self {
        ProcessGroup {
            #[cfg(unix)]
            pgid: pid
                .and_then(|p| i32::try_from(p).ok())
                .and_then(rustix::process::Pid::from_raw),
            armed: true,
        }
    }

    fn kill(&self) {
        #[cfg(unix)]
        if let Some(pgid) = self.pgid {
            // ESRCH (the group is already gone) is the expected answer most of the time.
            let _ = rustix::process::kill_process_group(pgid, rustix::process::Signal::KILL);
        }
    }

    /// Called once the group has been swept, so that a later drop cannot hit a
    /// process that reused the id.
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if self.armed {
            self.kill();
        }
    }
}
