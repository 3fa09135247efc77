//! A run's journal in the run table: the interpreter's [`RunLog`] written
//! as `entry#<seq>` items, each put once. A second driver of the same run
//! (one whose lease lapsed) finds its next place taken and stops, instead
//! of interleaving its entries with the new driver's.

use std::path::PathBuf;
use std::sync::Arc;

use plug_skill::journal::{Entry, JournalError, RunLog};

use crate::table::{Appended, RunTable};

/// One run's journal in the table.
pub struct TableLog {
    table: Arc<RunTable>,
    run_id: String,
    next: u64,
}

impl TableLog {
    /// The journal of `run_id` as the table holds it, and its entries so
    /// far (none for a new run); appends go after them.
    pub async fn open(
        table: Arc<RunTable>,
        run_id: &str,
    ) -> Result<(TableLog, Vec<Entry>), JournalError> {
        let where_ = || table_path(&table, run_id);
        let lines = table
            .entries(run_id)
            .await
            .map_err(|e| io(where_(), e.to_string()))?;
        let entries = (lines.iter().enumerate())
            .map(|(i, line)| {
                serde_json::from_str(line).map_err(|e| JournalError::Corrupt {
                    path: where_(),
                    line: i + 1,
                    reason: e.to_string(),
                })
            })
            .collect::<Result<Vec<Entry>, _>>()?;
        let log = TableLog {
            table: table.clone(),
            run_id: run_id.to_owned(),
            next: entries.len() as u64,
        };
        Ok((log, entries))
    }
}

#[async_trait::async_trait]
impl RunLog for TableLog {
    async fn append(&mut self, entry: &Entry) -> Result<(), JournalError> {
        let path = table_path(&self.table, &self.run_id);
        let line = serde_json::to_string(entry).map_err(|e| io(path.clone(), e.to_string()))?;
        match self.table.append(&self.run_id, self.next, &line).await {
            Ok(Appended::Written) => {
                self.next += 1;
                Ok(())
            }
            // Someone else wrote here: this process no longer drives the run.
            Ok(Appended::AlreadyThere) => Err(JournalError::Busy {
                run_id: self.run_id.clone(),
                pid: None,
            }),
            Err(e) => Err(io(path, e.to_string())),
        }
    }
}

/// How the run's journal is named in errors: `dynamodb://TABLE/RUN`.
fn table_path(table: &RunTable, run_id: &str) -> PathBuf {
    PathBuf::from(format!("dynamodb://{}/{run_id}", table.name()))
}

fn io(path: PathBuf, message: String) -> JournalError {
    JournalError::Io {
        path,
        source: std::io::Error::other(message),
    }
}
