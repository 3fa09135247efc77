//! The real [`CommandRunner`]: tokio processes without a shell, in their own
//! process group so a timeout kills what they spawned too.

use std::process::Stdio;

use async_trait::async_trait;
use plug_core::ports::{CommandError, CommandOutput, CommandRunner, CommandSpec};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

/// Runs commands with `tokio::process`.
#[derive(Debug, Default, Clone, Copy)]
pub struct ProcessRunner;

#[async_trait]
impl CommandRunner for ProcessRunner {
    async fn run(&self, spec: &CommandSpec) -> Result<CommandOutput, CommandError> {
        let (program, args) = spec.argv.split_first().ok_or_else(|| CommandError::Spawn {
            program: String::new(),
            reason: "empty command".into(),
        })?;
        let mut command = Command::new(program);
        command
            .args(args)
            .env_clear()
            .envs(&spec.env)
            .current_dir(&spec.cwd);
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        #[cfg(unix)]
        command.process_group(0);
        let mut child = command.spawn().map_err(|e| CommandError::Spawn {
            program: program.clone(),
            reason: e.to_string(),
        })?;
        // If this future is dropped mid-step (the run was interrupted), the
        // whole group goes, not only the direct child `kill_on_drop` reaches:
        // a `sleep` inside `sh -c` must not outlive the run and race a resume.
        let mut group = GroupGuard::new(&child);
        let stdout = capped(child.stdout.take(), spec.max_output);
        let stderr = capped(child.stderr.take(), spec.max_output);
        let waited = tokio::time::timeout(spec.timeout, async {
            tokio::join!(child.wait(), stdout, stderr)
        })
        .await;
        match waited {
            Ok((status, (stdout, cut_out), (stderr, cut_err))) => {
                group.disarm();
                let status = status.map_err(|e| CommandError::Spawn {
                    program: program.clone(),
                    reason: e.to_string(),
                })?;
                Ok(CommandOutput {
                    exit_code: status.code(),
                    stdout,
                    stderr,
                    truncated: cut_out || cut_err,
                    timed_out: false,
                })
            }
            Err(_) => {
                kill_group(&child);
                // Reaped below: the pid could name another group afterwards.
                group.disarm();
                let _ = child.kill().await;
                Ok(CommandOutput {
                    exit_code: None,
                    stdout: Vec::new(),
                    stderr: Vec::new(),
                    truncated: false,
                    timed_out: true,
                })
            }
        }
    }
}

/// Reads a stream to its end, keeping at most `cap` bytes (the rest is drained
/// so the child never blocks on a full pipe).
async fn capped(stream: Option<impl AsyncRead + Unpin>, cap: usize) -> (Vec<u8>, bool) {
    let Some(mut stream) = stream else {
        return (Vec::new(), false);
    };
    let mut kept = Vec::new();
    let mut cut = false;
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return (kept, cut),
            Ok(n) => {
                let room = cap.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
                cut |= n > room;
            }
        }
    }
}

/// Kills the child's whole process group (it leads its own, see `process_group(0)`).
#[cfg(unix)]
fn kill_group(child: &tokio::process::Child) {
    if let Some(pid) = group_of(child) {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
}

#[cfg(unix)]
fn group_of(child: &tokio::process::Child) -> Option<rustix::process::Pid> {
    child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .and_then(rustix::process::Pid::from_raw)
}

#[cfg(not(unix))]
fn kill_group(_child: &tokio::process::Child) {}

/// Kills a step's process group when dropped, unless the step ran to its end.
struct GroupGuard {
    #[cfg(unix)]
    group: Option<rustix::process::Pid>,
}

impl GroupGuard {
    fn new(_child: &tokio::process::Child) -> Self {
        GroupGuard {
            #[cfg(unix)]
            group: group_of(_child),
        }
    }

    /// The step ended on its own: leave its group alone.
    fn disarm(&mut self) {
        #[cfg(unix)]
        {
            self.group = None;
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(pid) = self.group {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
    }
}
