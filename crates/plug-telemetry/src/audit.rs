//! The audit log: one JSON object per line, append-only, synced to disk at
//! every run phase so a crash loses at most the events of the current step.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use plug_core::event::{EVENT_SCHEMA_VERSION, EventKind, RunEvent};
use plug_core::ports::TelemetrySink;
use serde::{Deserialize, Serialize};

/// One audit-log line: the event plus the schema version it was written with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// [`EVENT_SCHEMA_VERSION`] at write time.
    pub schema: u32,
    /// The event.
    #[serde(flatten)]
    pub event: RunEvent,
}

/// Why the audit log could not be used.
#[derive(Debug, thiserror::Error)]
#[error("audit log {path}: {source}")]
pub struct AuditError {
    /// The file.
    pub path: PathBuf,
    /// The OS error.
    pub source: std::io::Error,
}

/// The JSON Lines audit log sink.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    writer: Mutex<BufWriter<File>>,
}

impl AuditLog {
    /// Opens (creating if needed) the log at `path` for appending.
    pub fn open(path: &Path) -> Result<Self, AuditError> {
        let error = |source| AuditError {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(error)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(error)?;
        Ok(AuditLog {
            path: path.to_path_buf(),
            writer: Mutex::new(BufWriter::new(file)),
        })
    }

    /// The log's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sync(writer: &mut BufWriter<File>) {
        if writer.flush().is_ok() {
            let _ = writer.get_ref().sync_data();
        }
    }
}

/// Events after which the log is synced: the boundaries a resumed run and an
/// auditor rely on.
fn is_phase(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::RunStarted { .. }
            | EventKind::StepFinished { .. }
            | EventKind::RunFinished { .. }
            | EventKind::ApprovalGranted { .. }
            | EventKind::ApprovalRefused { .. }
    )
}

#[async_trait]
impl TelemetrySink for AuditLog {
    fn record(&self, event: RunEvent) {
        let phase = is_phase(&event.kind);
        let Ok(mut line) = serde_json::to_vec(&Record {
            schema: EVENT_SCHEMA_VERSION,
            event,
        }) else {
            return;
        };
        line.push(b'\n');
        let Ok(mut writer) = self.writer.lock() else {
            return;
        };
        if writer.write_all(&line).is_ok() && phase {
            Self::sync(&mut writer);
        }
    }

    async fn flush(&self) {
        if let Ok(mut writer) = self.writer.lock() {
            Self::sync(&mut writer);
        }
    }
}

/// Reads every record of an audit log, optionally only one run's. A torn
/// last line (a crash mid-write) is skipped.
pub fn read(path: &Path, run: Option<&str>) -> Result<Vec<Record>, AuditError> {
    let error = |source| AuditError {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(error)?;
    let mut records = Vec::new();
    for line in BufReader::new(file).lines() {
        let line = line.map_err(error)?;
        let Ok(record) = serde_json::from_str::<Record>(&line) else {
            continue;
        };
        if run.is_none_or(|id| record.event.run_id.as_str() == id) {
            records.push(record);
        }
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use plug_core::{Actor, RunId};

    use super::*;

    #[tokio::test]
    async fn events_round_trip_and_filter_by_run() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path).expect("open");
        for id in ["a", "b"] {
            let run = RunId::new(id).expect("id");
            log.record(RunEvent::now(
                run.clone(),
                EventKind::RunStarted {
                    plugin: "p".into(),
                    version: "1".into(),
                    skill: "s".into(),
                    actor: Actor::Agent,
                },
            ));
            log.record(RunEvent::now(
                run,
                EventKind::RunFinished {
                    outcome: "succeeded".into(),
                    duration_ms: 3,
                },
            ));
        }
        log.flush().await;
        assert_eq!(read(&path, None).expect("read").len(), 4);
        let only_a = read(&path, Some("a")).expect("read");
        assert_eq!(only_a.len(), 2);
        assert!(
            only_a
                .iter()
                .all(|r| r.schema == EVENT_SCHEMA_VERSION && r.event.run_id.as_str() == "a")
        );
    }
}
