//! Delivering spooled calls: the destination port and the drain loop.

use std::path::PathBuf;

use async_trait::async_trait;

use crate::logs::LogBatch;
use crate::metrics::Datum;
use crate::spool::{Pending, Spool, SpoolError};

/// Why a call was not delivered.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later: unreachable, throttled, a server error, no credentials yet.
    #[error("will retry: {0}")]
    Retryable(String),
    /// The service refused this call for good (e.g. a timestamp too old); retrying cannot help.
    #[error("rejected: {0}")]
    Rejected(String),
}

/// Where spooled calls go. Real implementation: [`crate::cloudwatch::CloudWatch`].
#[async_trait]
pub trait Destination: Send + Sync {
    /// One PutMetricData call.
    async fn put_metrics(&self, data: &[Datum]) -> Result<(), SendError>;
    /// One PutLogEvents call (creating the group and stream if missing).
    async fn put_logs(&self, batch: &LogBatch) -> Result<(), SendError>;
}

/// What one drain of the spool achieved.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DrainReport {
    /// PutMetricData calls delivered.
    pub metric_calls: usize,
    /// PutLogEvents calls delivered.
    pub log_calls: usize,
    /// Log events delivered.
    pub log_events: usize,
    /// Calls still waiting in the spool.
    pub pending: usize,
    /// Calls moved to `dead/` by this drain.
    pub rejected: usize,
    /// Why delivery stopped early, if it did.
    pub stopped: Option<String>,
    /// Another process was draining this spool, so this one did not.
    pub busy: bool,
}

impl DrainReport {
    /// The report as people read it, lines ending in newlines; `spool`
    /// tells where rejected calls are kept.
    pub fn summary(&self, spool: &Spool) -> String {
        if self.busy {
            let pending = self.pending;
            return format!(
                "another plugctl is delivering this spool; {pending} call(s) pending\n"
            );
        }
        let mut text = format!(
            "delivered {} PutMetricData and {} PutLogEvents call(s) ({} log events); {} pending, {} rejected\n",
            self.metric_calls, self.log_calls, self.log_events, self.pending, self.rejected
        );
        if let Some(reason) = &self.stopped {
            text.push_str(&format!("stopped: {reason}\n"));
        }
        let dead = spool.dead();
        if !dead.is_empty() {
            let kept = spool.dir().join("dead");
            text.push_str(&format!(
                "{} rejected call(s) kept in {}\n",
                dead.len(),
                kept.display()
            ));
        }
        text
    }

    /// Whether everything was delivered.
    pub fn complete(&self) -> bool {
        self.pending == 0 && !self.busy
    }
}

/// Sends every pending call, oldest first, removing each once accepted.
///
/// It stops at the first retryable failure: when the endpoint is down the
/// next call would fail the same way, and keeping the order keeps each
/// stream's events chronological.
pub async fn drain(
    spool: &Spool,
    destination: &dyn Destination,
) -> Result<DrainReport, SpoolError> {
    let mut report = DrainReport::default();
    let Some(_lock) = spool.try_lock()? else {
        report.busy = true;
        report.pending = spool.pending()?.len();
        return Ok(report);
    };
    // Before letting go of the lock, look again: a process that found it
    // busy meanwhile left its calls here for this one to deliver, and
    // nobody may be left to send them.
    spool.sweep_temporaries();
    let mut done: std::collections::HashSet<PathBuf> = std::collections::HashSet::new();
    loop {
        let files: Vec<PathBuf> = (spool.pending()?.into_iter())
            .filter(|p| !done.contains(p))
            .collect();
        if files.is_empty() || report.stopped.is_some() {
            break;
        }
        done.extend(files.iter().cloned());
        drain_files(spool, destination, files, &mut report).await?;
    }
    report.pending = spool.pending()?.len();
    Ok(report)
}

/// Sends `files` in order, until the destination says to stop.
async fn drain_files(
    spool: &Spool,
    destination: &dyn Destination,
    files: Vec<PathBuf>,
    report: &mut DrainReport,
) -> Result<(), SpoolError> {
    for path in files {
        if report.stopped.is_some() {
            return Ok(());
        }
        let Some(pending) = spool.read(&path)? else {
            report.rejected += 1;
            continue;
        };
        match send(destination, &pending).await {
            Ok(()) => {
                spool.remove(&path)?;
                count(report, &pending);
            }
            Err(SendError::Rejected(reason)) => {
                spool.bury(&path, &reason)?;
                report.rejected += 1;
            }
            Err(SendError::Retryable(reason)) => report.stopped = Some(reason),
        }
    }
    Ok(())
}

async fn send(destination: &dyn Destination, pending: &Pending) -> Result<(), SendError> {
    match pending {
        Pending::Metrics { data } => destination.put_metrics(data).await,
        Pending::Logs(batch) => destination.put_logs(batch).await,
    }
}

fn count(report: &mut DrainReport, pending: &Pending) {
    match pending {
        Pending::Metrics { .. } => report.metric_calls += 1,
        Pending::Logs(batch) => {
            report.log_calls += 1;
            report.log_events += batch.events.len();
        }
    }
}
