//! A fleet worker: takes run requests from the queue, claims each run in
//! the table, drives it through plug-runtime with its journal in the table,
//! and lets go of the message only once the run has ended.
//!
//! - A duplicate delivery starts nothing: the run id is recorded once, and
//!   a run whose lease another worker holds is left to it (the message
//!   comes back after its visibility timeout, by which time the run has
//!   ended or its lease lapsed).
//! - While it runs, the worker renews the lease and keeps the message
//!   hidden. A worker that dies stops renewing: its lease lapses, the
//!   message returns, and another worker resumes after the last step its
//!   journal shows completed.
//! - A run that needs a human approval is not supported here yet: it ends
//!   unanswered (`approval_refused`), and says so.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use plug_core::ports::{ApprovalAnswer, ApprovalRequest, Approver, Prompter};
use plug_core::{Actor, RunId};
use plug_runtime::{ParamValue, RunHost, RunInput, Runtime};
use plug_skill::journal::{Entry, Resume};
use tokio::sync::watch;

use crate::queue::{Queue, Received};
use crate::{FleetError, Lease, RunRecord, RunTable, TableLog};

/// How a message was handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// The run was driven to its end, in this state.
    Ran(String),
    /// The run had ended already (a duplicate delivery): nothing ran.
    AlreadyDone,
    /// Another worker holds the run: left to it.
    HeldElsewhere,
}

/// One worker of the fleet.
pub struct Worker {
    /// The run assembly every run goes through.
    pub runtime: Arc<Runtime>,
    /// The shared run table.
    pub table: Arc<RunTable>,
    /// The request queue.
    pub queue: Arc<Queue>,
    /// This worker's name in leases (host and pid make a good one).
    pub owner: String,
    /// How long a lease lasts unless renewed; renewed every third of it.
    pub lease: Duration,
    /// How long one receive waits for a message (SQS long polling, ≤ 20 s).
    pub wait_s: u32,
}

impl Worker {
    /// Takes and handles messages until `stop` turns true (SIGTERM: the
    /// run in hand is finished first).
    pub async fn run(&self, mut stop: watch::Receiver<bool>) -> Result<(), FleetError> {
        let visibility = self.visibility();
        while !*stop.borrow_and_update() {
            // A stop while waiting for a message ends the wait; a message
            // taken meanwhile comes back to the queue when hidden no more.
            let received = tokio::select! {
                received = self.queue.receive(self.wait_s, visibility) => received?,
                changed = stop.changed() => match changed {
                    Ok(()) => None,
                    // Nobody can ask it to stop any more: stop now.
                    Err(_) => break,
                },
            };
            if let Some(received) = received {
                self.handle(received).await?;
            }
        }
        Ok(())
    }

    /// Handles one message.
    pub async fn handle(&self, received: Received) -> Result<Handled, FleetError> {
        let request = &received.request;
        let run_id =
            RunId::new(request.run_id.clone()).map_err(|e| FleetError::Request(e.to_string()))?;
        let record = RunRecord {
            run_id: request.run_id.clone(),
            plugin: request.plugin.display().to_string(),
            skill: request.skill.clone(),
            state: "queued".into(),
        };
        self.table.put_run(&record).await?;
        let Some(lease) = self
            .table
            .acquire(run_id.as_str(), &self.owner, self.lease)
            .await?
        else {
            return Ok(Handled::HeldElsewhere);
        };
        let (mut log, entries) = TableLog::open(self.table.clone(), run_id.as_str()).await?;
        if matches!(entries.last(), Some(Entry::Finished { .. })) {
            self.queue.delete(&received.receipt).await?;
            self.table.release(&lease).await?;
            return Ok(Handled::AlreadyDone);
        }
        let resume = (!entries.is_empty()).then(|| Resume::from_entries(&entries));
        self.table.set_state(run_id.as_str(), "running").await?;
        let heartbeat = self.heartbeat(lease.clone(), received.receipt.clone());
        let state = self.drive(request, run_id.clone(), &mut log, resume).await;
        heartbeat.abort();
        self.table.set_state(run_id.as_str(), &state).await?;
        self.queue.delete(&received.receipt).await?;
        self.table.release(&lease).await?;
        Ok(Handled::Ran(state))
    }

    /// Runs the request; the state it ended in.
    async fn drive(
        &self,
        request: &crate::queue::RunRequestMessage,
        run_id: RunId,
        log: &mut TableLog,
        resume: Option<Resume>,
    ) -> String {
        let input = RunInput {
            plugin: request.plugin.clone(),
            skill: request.skill.clone(),
            // Text is read as `--param` reads it (a declared number from
            // "5"); anything else must already have the declared type.
            params: (request.params.iter())
                .map(|(k, v)| match v {
                    serde_json::Value::String(text) => (k.clone(), ParamValue::Text(text.clone())),
                    other => (
                        k.clone(),
                        ParamValue::Typed(plug_core::Value::from(other.clone())),
                    ),
                })
                .collect(),
            actor: Actor::Agent,
            workdir: None,
            set: Vec::new(),
        };
        let prepared = match self.runtime.prepare(input, run_id) {
            Ok(prepared) => prepared,
            Err(e) => return format!("failed to start: {e}"),
        };
        let (_interrupt, interrupted) = watch::channel(false);
        let host = RunHost {
            approver: Arc::new(NoApprovals),
            prompter: Arc::new(NoApprovals),
            observe: Box::new(|sink| sink),
            interrupt: interrupted,
        };
        match self.runtime.perform(prepared, log, resume, host).await {
            Ok(report) => report.outcome.state().to_owned(),
            Err(e) => format!("failed to start: {e}"),
        }
    }

    /// How long a taken message stays hidden: as long as a lease lasts, so
    /// it comes back when a dead worker's lease has lapsed.
    fn visibility(&self) -> u32 {
        u32::try_from(self.lease.as_secs())
            .unwrap_or(u32::MAX)
            .max(1)
    }

    /// Renews the lease and keeps the message hidden while the run goes on.
    fn heartbeat(&self, mut lease: Lease, receipt: String) -> tokio::task::JoinHandle<()> {
        let (table, queue, ttl) = (self.table.clone(), self.queue.clone(), self.lease);
        let visibility = self.visibility();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(ttl / 3).await;
                let _ = table.renew(&mut lease, ttl).await;
                let _ = queue.extend(&receipt, visibility).await;
            }
        })
    }
}

/// Approvals and prompts have no one to answer them in a worker yet.
struct NoApprovals;

#[async_trait]
impl Approver for NoApprovals {
    async fn ask(&self, _request: &ApprovalRequest) -> ApprovalAnswer {
        ApprovalAnswer::Unanswered
    }
}

#[async_trait]
impl Prompter for NoApprovals {
    async fn prompt(&self, _message: &str, _sensitive: bool) -> Option<String> {
        None
    }
}
