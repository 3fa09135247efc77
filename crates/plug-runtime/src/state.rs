//! Where plugctl keeps run journals, approvals, the telemetry spool and the
//! audit log: one folder, shared by every front end on the machine.

use std::path::{Path, PathBuf};

/// The state folder and the files inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// A state folder at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        StateDir { root: root.into() }
    }

    /// `$PLUGCTL_STATE_DIR`, else `$XDG_STATE_HOME/plugctl`, else `~/.local/state/plugctl`.
    pub fn from_env() -> Self {
        if let Some(dir) = std::env::var_os("PLUGCTL_STATE_DIR") {
            return StateDir::new(dir);
        }
        if let Some(dir) = std::env::var_os("XDG_STATE_HOME") {
            return StateDir::new(PathBuf::from(dir).join("plugctl"));
        }
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
        StateDir::new(home.join(".local/state/plugctl"))
    }

    /// The folder itself (run journals live directly in it).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The audit log file.
    pub fn audit_log(&self) -> PathBuf {
        self.root.join("audit.jsonl")
    }

    /// The folder where pending approvals and their answers meet.
    pub fn approvals(&self) -> PathBuf {
        self.root.join("approvals")
    }

    /// The spool folder of remote telemetry.
    pub fn spool(&self) -> PathBuf {
        self.root.join("spool")
    }

    /// Every run in the folder, oldest first, as `plugctl runs` shows them:
    /// a live run waiting for an approval says so and for whom; with the
    /// journals that could not be read.
    pub fn runs(
        &self,
    ) -> (
        Vec<plug_skill::journal::RunSummary>,
        Vec<plug_skill::journal::JournalError>,
    ) {
        let (mut runs, unreadable) = plug_skill::journal::list(&self.root);
        let mailbox = crate::approval::Mailbox::new(self.approvals());
        for run in runs.iter_mut().filter(|r| r.state == "running") {
            if let Some(approvers) = mailbox.waiting(run.run_id.as_str()) {
                run.state = "waiting for approval".into();
                run.waiting_for = Some(approvers);
            }
        }
        (runs, unreadable)
    }

    /// A run's scratch folder: the `HOME` of its commands, removed when the run lets go.
    pub fn scratch(&self, run_id: &plug_core::RunId) -> PathBuf {
        self.root.join("scratch").join(run_id.as_str())
    }
}

/// Who is at the keyboard: `$USER`, else `operator`.
pub fn current_user() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "operator".into())
}
