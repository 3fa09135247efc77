//! The real [`CommandRunner`]: tokio processes without a shell, each in a
//! process group of its own, so that an interrupt or a timeout kills what
//! a step spawned too, and the run's end whatever it left running.

use std::process::Stdio;

use async_trait::async_trait;
use plug_core::ports::{CommandError, CommandOutput, CommandRunner, CommandSpec};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

mod group;

use group::{GroupGuard, LeaderExit, Survivors};

/// How long a step's output is still read once its process has exited: a
/// background process it started may hold the pipes open for the rest of
/// the run, and the step should not wait for that.
pub const OUTPUT_GRACE: Duration = Duration::from_secs(1);

/// Runs commands with `tokio::process`, one runner per run: what a step
/// leaves running in its process group is killed when the runner is
/// dropped, at the run's end (see the `group` module).
#[derive(Debug, Default)]
pub struct ProcessRunner {
    survivors: Survivors,
}

#[async_trait]
impl CommandRunner for ProcessRunner {
    async fn run(&self, spec: &CommandSpec) -> Result<CommandOutput, CommandError> {
        let program = spec.argv.first().cloned().unwrap_or_default();
        let spawn_error = |e: std::io::Error| CommandError::Spawn {
            program: program.clone(),
            reason: e.to_string(),
        };
        let mut child = spawn(spec).map_err(spawn_error)?;
        // If this future is dropped mid-step (the run was interrupted), the
        // whole group goes, not only the direct child `kill_on_drop` reaches:
        // a `sleep` inside `sh -c` must not outlive the run and race a resume.
        let mut guard = GroupGuard::new(&child);
        let finished =
            tokio::time::timeout(spec.timeout, finish(&mut child, spec.max_output)).await;
        let Ok(finished) = finished else {
            group::kill_group(&child);
            // Reaped below: the pid could name another group afterwards.
            guard.disarm();
            let _ = child.kill().await;
            return Ok(CommandOutput {
                exit_code: None,
                stdout: Vec::new(),
                stderr: Vec::new(),
                truncated: false,
                timed_out: true,
            });
        };
        let (exit, output) = finished;
        let exit_code = match exit {
            Ok(code) if group::has_members_besides(&child) => {
                guard.disarm();
                self.survivors.hold(child);
                code
            }
            Ok(code) => {
                guard.disarm();
                let _ = child.wait().await;
                code
            }
            // The exit could not be awaited unreaped: reap as usual (what
            // the step left behind then lives on).
            Err(_) => {
                let status = child.wait().await.map_err(spawn_error)?;
                guard.disarm();
                status.code()
            }
        };
        Ok(CommandOutput {
            exit_code,
            truncated: output.truncated,
            stdout: output.stdout,
            stderr: output.stderr,
            timed_out: false,
        })
    }
}

/// Starts `spec` without a shell, in a process group of its own.
fn spawn(spec: &CommandSpec) -> std::io::Result<tokio::process::Child> {
    let (program, args) =
        (spec.argv.split_first()).ok_or_else(|| std::io::Error::other("empty command"))?;
    let mut command = Command::new(program);
    command
        .args(args)
        .env_clear()
        .envs(&spec.env)
        .current_dir(&spec.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);
    command.spawn()
}

/// What a step printed.
struct Output {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    /// Cut at the size cap, or at [`OUTPUT_GRACE`] after the exit.
    truncated: bool,
}

/// Reads the step's output while waiting for its process to exit (unreaped
/// where that is possible), then for at most [`OUTPUT_GRACE`] more.
async fn finish(
    child: &mut tokio::process::Child,
    cap: usize,
) -> (std::io::Result<LeaderExit>, Output) {
    let (exited, ended) = tokio::sync::watch::channel(None);
    let (out, err) = (child.stdout.take(), child.stderr.take());
    let exit = async {
        let exit = group::leader_exit(child).await;
        let _ = exited.send(Some(tokio::time::Instant::now() + OUTPUT_GRACE));
        exit
    };
    let (exit, (stdout, cut_out), (stderr, cut_err)) = tokio::join!(
        exit,
        capped(out, cap, ended.clone()),
        capped(err, cap, ended)
    );
    let output = Output {
        stdout,
        stderr,
        truncated: cut_out || cut_err,
    };
    (exit, output)
}

/// Reads a stream to its end, keeping at most `cap` bytes (the rest is drained
/// so the child never blocks on a full pipe), or until the deadline `ended`
/// announces once the process has exited. Cut short either way, it says so.
async fn capped(
    stream: Option<impl AsyncRead + Unpin>,
    cap: usize,
    mut ended: tokio::sync::watch::Receiver<Option<tokio::time::Instant>>,
) -> (Vec<u8>, bool) {
    let Some(mut stream) = stream else {
        return (Vec::new(), false);
    };
    let mut kept = Vec::new();
    let mut cut = false;
    let mut buf = [0u8; 8192];
    let grace = async move {
        match ended.wait_for(Option::is_some).await.map(|at| *at) {
            Ok(Some(deadline)) => tokio::time::sleep_until(deadline).await,
            // No exit will be announced (an error waiting for it): read to the end.
            _ => std::future::pending().await,
        }
    };
    tokio::pin!(grace);
    loop {
        let read = tokio::select! {
            read = stream.read(&mut buf) => read,
            () = &mut grace => return (kept, true),
        };
        match read {
            Ok(0) | Err(_) => return (kept, cut),
            Ok(n) => {
                let room = cap.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
                cut |= n > room;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::*;

    fn spec(script: &str, cwd: &Path) -> CommandSpec {
        CommandSpec {
            argv: vec!["sh".into(), "-c".into(), script.into()],
            env: BTreeMap::from([("PATH".into(), "/usr/bin:/bin".into())]),
            cwd: cwd.to_path_buf(),
            timeout: Duration::from_secs(60),
            max_output: 1 << 20,
        }
    }

    /// Whether process `pid` is gone (or a zombie nobody reaped yet).
    fn gone(pid: &str) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
            stat.rsplit_once(')')
                .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
        })
    }

    fn wait_until_gone(pid: &str) -> bool {
        (0..200).any(|_| {
            std::thread::sleep(Duration::from_millis(25));
            gone(pid)
        })
    }

    /// Durability issue, item 5: a process a step started in the background
    /// lives on while the run does (a later step may use it), holding the
    /// step's output open does not hold the step, and it is killed when the
    /// run's runner goes.
    #[tokio::test]
    async fn what_a_step_leaves_running_ends_with_the_run() {
        let dir = tempfile::tempdir().expect("tempdir");
        let runner = ProcessRunner::default();
        let started = runner
            .run(&spec("sleep 120 & echo $!", dir.path()))
            .await
            .expect("runs");
        assert!(!started.timed_out, "the step ended once its process exited");
        assert_eq!(started.exit_code, Some(0));
        let pid = String::from_utf8_lossy(&started.stdout).trim().to_owned();
        assert!(!pid.is_empty(), "{started:?}");
        let later = runner
            .run(&spec(&format!("kill -0 {pid}"), dir.path()))
            .await
            .expect("runs");
        assert_eq!(later.exit_code, Some(0), "alive for the next step");
        drop(runner);
        assert!(
            wait_until_gone(&pid),
            "the background sleep outlived the run"
        );
    }

    /// A step that leaves nothing behind is reaped at once: no zombie is
    /// held for the rest of the run.
    #[tokio::test]
    async fn a_step_that_leaves_nothing_is_reaped_at_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let runner = ProcessRunner::default();
        let out = runner
            .run(&spec("echo $$; exit 3", dir.path()))
            .await
            .expect("runs");
        assert_eq!(out.exit_code, Some(3));
        let pid = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        assert!(!Path::new(&format!("/proc/{pid}")).exists(), "reaped");
        assert!(runner.survivors.is_empty());
    }

    /// The exit code of a leader killed by a signal is no code.
    #[tokio::test]
    async fn a_leader_killed_by_a_signal_has_no_exit_code() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = ProcessRunner::default()
            .run(&spec("kill -KILL $$", dir.path()))
            .await
            .expect("runs");
        assert_eq!(out.exit_code, None);
        assert!(!out.timed_out);
    }
}
