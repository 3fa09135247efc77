//! A step's process group, from spawn to the end of its run.
//!
//! A step leads a process group of its own. When the step ends on its own,
//! whatever it left running in the background (a port-forward, a local
//! server a later step talks to) may go on until the run ends, and is
//! killed then: like a CI job, not a single command. Killing a group by id
//! is only safe while the id cannot name another group, so the leader is
//! left unreaped (a zombie, which keeps its pid and with it the group id
//! reserved) for as long as the group has members, and reaped only after
//! the group was killed. Most steps leave nothing behind: their leader is
//! reaped at once (on Linux, where `/proc` tells; elsewhere every group is
//! held to the run's end).

use std::sync::Mutex;

use rustix::process::{Pid, Signal, kill_process_group};

/// Kills a step's process group when dropped, unless disarmed: the step's
/// future was dropped mid-step (the run was interrupted).
pub(super) struct GroupGuard {
    group: Option<Pid>,
}

impl GroupGuard {
    pub(super) fn new(child: &tokio::process::Child) -> Self {
        GroupGuard {
            group: group_of(child),
        }
    }

    /// The group is taken care of (reaped, killed, or held for the run's end).
    pub(super) fn disarm(&mut self) {
        self.group = None;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.group {
            let _ = kill_process_group(pid, Signal::KILL);
        }
    }
}

/// The group a child leads (it was spawned with `process_group(0)`).
pub(super) fn group_of(child: &tokio::process::Child) -> Option<Pid> {
    child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .and_then(Pid::from_raw)
}

/// Kills the child's whole group.
pub(super) fn kill_group(child: &tokio::process::Child) {
    if let Some(pid) = group_of(child) {
        let _ = kill_process_group(pid, Signal::KILL);
    }
}

/// Groups whose leader exited while members lived on, each with its
/// unreaped leader: killed, then reaped, when the run ends.
#[derive(Debug, Default)]
pub(super) struct Survivors {
    held: Mutex<Vec<tokio::process::Child>>,
}

impl Survivors {
    /// Keeps `leader`'s group until [`Survivors`] is dropped.
    pub(super) fn hold(&self, leader: tokio::process::Child) {
        self.lock().push(leader);
    }

    /// Whether no group is held.
    #[cfg(test)]
    pub(super) fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<tokio::process::Child>> {
        self.held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for Survivors {
    fn drop(&mut self) {
        for mut leader in self.lock().drain(..) {
            // The unreaped leader keeps the id ours: this hits only the step's group.
            kill_group(&leader);
            // The leader is a zombie already: this reaps it without waiting.
            let _ = leader.try_wait();
        }
    }
}

/// How the leader ended: its exit code, `None` when a signal ended it.
pub(super) type LeaderExit = Option<i32>;

/// Waits until the leader exits, without reaping it (`waitid` with
/// `WNOWAIT`), so its group id stays reserved. Woken by `SIGCHLD`, which
/// tokio fans out to every listener; the listener is registered before the
/// first look, so an exit between the two is not missed.
pub(super) async fn leader_exit(child: &tokio::process::Child) -> std::io::Result<LeaderExit> {
    use rustix::process::{WaitId, WaitIdOptions, waitid};
    use tokio::signal::unix::{SignalKind, signal};
    let pid = group_of(child).ok_or_else(|| std::io::Error::other("the child was reaped"))?;
    let mut exits = signal(SignalKind::child())?;
    loop {
        let options = WaitIdOptions::EXITED | WaitIdOptions::NOWAIT | WaitIdOptions::NOHANG;
        if let Some(status) = waitid(WaitId::Pid(pid), options)? {
            return Ok(status.exit_status());
        }
        if exits.recv().await.is_none() {
            return Err(std::io::Error::other("SIGCHLD can no longer be received"));
        }
    }
}

/// Whether any process other than `leader` (a zombie by now) is in its
/// group, read from `/proc`. Elsewhere: assumed, since holding is safe.
#[cfg(target_os = "linux")]
pub(super) fn has_members_besides(leader: &tokio::process::Child) -> bool {
    let Some(group) = group_of(leader) else {
        return false;
    };
    let group = group.as_raw_nonzero().get();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        // Cannot tell: hold the group, which is always safe.
        return true;
    };
    entries.filter_map(Result::ok).any(|entry| {
        let pid = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok());
        pid.is_some_and(|pid| pid != group && live_member_of(pid, group))
    })
}

/// Whether process `pid` is alive (not a zombie) and in group `group`.
#[cfg(target_os = "linux")]
fn live_member_of(pid: i32, group: i32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // `pid (comm) state ppid pgrp ...`: comm may hold spaces and parentheses.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return false;
    };
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next();
    let pgrp = fields.nth(1).and_then(|f| f.parse::<i32>().ok());
    state != Some("Z") && pgrp == Some(group)
}

#[cfg(not(target_os = "linux"))]
pub(super) fn has_members_besides(_leader: &tokio::process::Child) -> bool {
    true
}
