//! The audit log: one JSON object per line, append-only, synced to disk at
//! every run phase so a crash loses at most the events of the current step.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
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

/// Past this size the log is rotated (`audit.jsonl` becomes `audit.jsonl.1`).
pub const DEFAULT_MAX_BYTES: u64 = 64 * 1024 * 1024;
/// Rotated files kept beside the live one.
pub const KEEP_ROTATED: u32 = 5;

/// The JSON Lines audit log sink.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    max_bytes: u64,
    state: Mutex<Writer>,
}

#[derive(Debug)]
struct Writer {
    file: BufWriter<File>,
    size: u64,
    /// The file may end mid-line: it did when opened, or a write failed
    /// (a full disk) after part of a line reached it. The next block then
    /// starts with a newline, so a torn fragment never swallows a record.
    torn: bool,
}

impl Writer {
    /// Writes `lines` after the newline a torn tail needs.
    fn write(&mut self, lines: &[u8]) -> std::io::Result<()> {
        if self.torn {
            self.file.flush()?;
            if !ends_with_newline(self.file.get_ref())? {
                self.file.write_all(b"\n")?;
                self.size += 1;
            }
            self.torn = false;
        }
        self.file.write_all(lines)?;
        self.size += lines.len() as u64;
        Ok(())
    }

    /// Flushes and syncs; on failure, drops what the buffer still holds
    /// (it cannot be written now, and keeping it would replay half a line
    /// later) and remembers that the file may end mid-line.
    fn sync(&mut self) {
        let flushed = self.file.flush();
        if flushed.is_err() {
            self.forget_buffer();
        } else if self.file.get_ref().sync_data().is_err() {
            self.torn = true;
        }
    }

    fn forget_buffer(&mut self) {
        let file = self.file.get_ref().try_clone();
        if let Ok(file) = file {
            let old = std::mem::replace(&mut self.file, BufWriter::new(file));
            // The buffered bytes are what could not be written: drop them.
            let _ = old.into_parts();
        }
        self.torn = true;
    }
}

/// Whether `file` is empty or its last byte is a newline.
fn ends_with_newline(file: &File) -> std::io::Result<bool> {
    use std::os::unix::fs::FileExt as _;
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(true);
    }
    let mut last = [0u8; 1];
    file.read_exact_at(&mut last, len - 1)?;
    Ok(last[0] == b'\n')
}

impl AuditLog {
    /// Opens (creating if needed) the log at `path` for appending.
    pub fn open(path: &Path) -> Result<Self, AuditError> {
        Self::with_max_bytes(path, DEFAULT_MAX_BYTES)
    }

    /// Opens the log, rotating it whenever it would grow past `max_bytes`.
    pub fn with_max_bytes(path: &Path, max_bytes: u64) -> Result<Self, AuditError> {
        let writer = open_writer(path)?;
        Ok(AuditLog {
            path: path.to_path_buf(),
            max_bytes,
            state: Mutex::new(writer),
        })
    }

    /// The log's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Writer> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Appends a block of complete lines (each ending in a newline) under
    /// one lock, syncing when `phase` is set. Rotation happens between
    /// blocks, so a file may end up to one block past the size limit.
    pub fn append_lines(&self, lines: &[u8], phase: bool) {
        let mut writer = self.lock();
        let len = lines.len() as u64;
        if phase && !is_live(&self.path, &writer.file) {
            // Another process rotated: write where readers look.
            self.reopen(&mut writer);
        }
        if writer.size > 0 && writer.size + len > self.max_bytes {
            self.rotate(&mut writer, len);
        }
        if writer.write(lines).is_err() {
            writer.forget_buffer();
        }
        if phase {
            writer.sync();
        }
    }

    /// Makes everything appended so far durable.
    pub fn sync(&self) {
        self.lock().sync();
    }

    /// Shifts `log.N` to `log.N+1` (dropping the oldest), the live file to
    /// `log.1`, and starts a new live file. Every process appending to the
    /// log keeps its own idea of its size, so the decision is taken again
    /// under a lock shared by them all (`<log>.lock`), from the live file's
    /// real size and identity: one rotation at a time, only when the file
    /// that is live really is full. On any failure it keeps appending to the
    /// current file: a log that grows is better than a lost event.
    fn rotate(&self, writer: &mut Writer, len: u64) {
        writer.sync();
        let lock = rotation_lock(&self.path);
        if let Some(lock) = &lock {
            let _ = lock.lock();
        }
        if !is_live(&self.path, &writer.file) {
            self.reopen(writer);
        }
        let real = std::fs::metadata(&self.path).map_or(writer.size, |m| m.len());
        writer.size = real;
        if real > 0 && real + len > self.max_bytes {
            for n in (1..KEEP_ROTATED).rev() {
                let _ = std::fs::rename(rotated(&self.path, n), rotated(&self.path, n + 1));
            }
            if std::fs::rename(&self.path, rotated(&self.path, 1)).is_ok() {
                self.reopen(writer);
            }
        }
        if let Some(lock) = lock {
            let _ = lock.unlock();
        }
    }

    /// Appends to the live file from here on.
    fn reopen(&self, writer: &mut Writer) {
        writer.sync();
        if let Ok(fresh) = open_writer(&self.path) {
            *writer = fresh;
        }
    }
}

/// The lock file rotations of `path` are taken under.
fn rotation_lock(path: &Path) -> Option<File> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(PathBuf::from(name))
        .ok()
}

/// Whether `file` is still the file at `path` (not rotated away).
fn is_live(path: &Path, file: &BufWriter<File>) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    match (std::fs::metadata(path), file.get_ref().metadata()) {
        (Ok(at_path), Ok(open)) => at_path.dev() == open.dev() && at_path.ino() == open.ino(),
        _ => true,
    }
}

fn open_writer(path: &Path) -> Result<Writer, AuditError> {
    let error = |source| AuditError {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(error)?;
    }
    // Owner-only: the log records who did what, with parameters.
    // Readable too: a torn tail is found by reading the last byte.
    let file = OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(error)?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    // A process that died mid-write left the tail torn: start on a new line.
    let torn = !ends_with_newline(&file).unwrap_or(false);
    Ok(Writer {
        file: BufWriter::new(file),
        size,
        torn,
    })
}

fn rotated(path: &Path, n: u32) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// Events after which the log is synced: the boundaries a resumed run and an
/// auditor rely on.
pub(crate) fn is_phase(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::RunStarted { .. }
            | EventKind::StepFinished { .. }
            | EventKind::RunFinished { .. }
            | EventKind::ApprovalGranted { .. }
            | EventKind::ApprovalRefused { .. }
    )
}

/// Writing straight to the log, unredacted by anything but the caller: for
/// embedding and tests. The runtime uses [`crate::Telemetry`], which redacts
/// and also feeds the remote sinks.
#[async_trait]
impl TelemetrySink for AuditLog {
    fn record(&self, event: RunEvent) {
        let phase = is_phase(&event.kind);
        if let Ok(mut line) = serde_json::to_vec(&Record {
            schema: EVENT_SCHEMA_VERSION,
            event,
        }) {
            line.push(b'\n');
            self.append_lines(&line, phase);
        }
    }

    async fn flush(&self) {
        self.sync();
    }
}

/// What [`read`] found.
#[derive(Debug, Default)]
pub struct AuditRead {
    /// The records, oldest first.
    pub records: Vec<Record>,
    /// Lines that held no record: the torn tail of a write a crash or a
    /// full disk cut short. Reading goes on past them.
    pub skipped: usize,
}

/// Every record begins with this (the struct's first field), and it cannot
/// occur raw inside a record, where quotes in strings are escaped.
const RECORD_START: &str = "{\"schema\":";

/// Reads every record of an audit log and its rotated files, oldest first,
/// optionally only one run's. A torn line is counted and skipped; a record
/// written onto a torn line (by a process that did not know the tail was
/// torn) is still found.
pub fn read(path: &Path, run: Option<&str>) -> Result<AuditRead, AuditError> {
    let mut found = AuditRead::default();
    for n in (1..=KEEP_ROTATED).rev() {
        let old = rotated(path, n);
        if old.exists() {
            read_one(&old, run, &mut found)?;
        }
    }
    read_one(path, run, &mut found)?;
    Ok(found)
}

fn read_one(path: &Path, run: Option<&str>, found: &mut AuditRead) -> Result<(), AuditError> {
    let error = |source| AuditError {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(error)?;
    for line in BufReader::new(file).split(b'\n') {
        let line = line.map_err(error)?;
        let Some(record) = parse_line(&line, &mut found.skipped) else {
            continue;
        };
        if run.is_none_or(|id| record.event.run_id.as_str() == id) {
            found.records.push(record);
        }
    }
    Ok(())
}

/// The record on one line, counting what had to be skipped to find it.
fn parse_line(line: &[u8], skipped: &mut usize) -> Option<Record> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    if let Ok(record) = serde_json::from_slice::<Record>(line) {
        return Some(record);
    }
    *skipped += 1;
    // A torn fragment with a whole record glued on: the record is the last start.
    let start = last_occurrence(line, RECORD_START.as_bytes()).filter(|at| *at > 0)?;
    serde_json::from_slice::<Record>(&line[start..]).ok()
}

/// Where `needle` last occurs in `haystack`.
fn last_occurrence(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

/// One run, summarised from its events.
#[derive(Debug, Default, serde::Serialize)]
pub struct RunSummary {
    /// The run.
    pub run_id: String,
    /// Its plugin.
    pub plugin: String,
    /// Its skill.
    pub skill: String,
    /// Who it started acting for.
    pub actor: String,
    /// When it started, in ms since the epoch.
    pub started_ms: u64,
    /// How it ended (`None`: no end recorded).
    pub outcome: Option<String>,
    /// How long it took.
    pub duration_ms: Option<u64>,
    /// Events recorded.
    pub events: usize,
    /// AWS calls made.
    pub aws_calls: usize,
}

impl std::fmt::Display for RunSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}  {}  {}/{}  {}  {}  {} events, {} AWS calls",
            clock(self.started_ms),
            self.run_id,
            self.plugin,
            self.skill,
            self.actor,
            self.outcome.as_deref().unwrap_or("unfinished"),
            self.events,
            self.aws_calls
        )
    }
}

/// A time as people read it: RFC 3339 with milliseconds, UTC.
pub fn clock(at_ms: u64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(at_ms);
    humantime::format_rfc3339_millis(at).to_string()
}

/// Every run in `records`, oldest first.
pub fn summaries(records: &[Record]) -> Vec<RunSummary> {
    let mut runs: BTreeMap<String, RunSummary> = BTreeMap::new();
    for record in records {
        let id = record.event.run_id.as_str().to_owned();
        let run = runs.entry(id.clone()).or_insert_with(|| RunSummary {
            run_id: id,
            started_ms: record.event.at_ms,
            ..RunSummary::default()
        });
        run.events += 1;
        match &record.event.kind {
            EventKind::RunStarted {
                plugin,
                skill,
                actor,
                ..
            } if run.plugin.is_empty() => {
                run.plugin.clone_from(plugin);
                run.skill.clone_from(skill);
                run.actor = format!("{actor:?}").to_lowercase();
            }
            EventKind::RunFinished {
                outcome,
                duration_ms,
            } => {
                run.outcome = Some(outcome.clone());
                run.duration_ms = Some(*duration_ms);
            }
            EventKind::AwsApiCalled { .. } => run.aws_calls += 1,
            _ => {}
        }
    }
    let mut list: Vec<RunSummary> = runs.into_values().collect();
    list.sort_by_key(|r| r.started_ms);
    list
}

#[cfg(test)]
mod tests {
    use plug_core::{Actor, RunId};

    use super::*;

    /// Durability issue, item 7: writers that each opened a nearly full log
    /// (as concurrent processes do, each with its own descriptor and idea
    /// of the size) rotate it once between them, not once each.
    #[test]
    fn concurrent_writers_rotate_a_full_log_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("audit.jsonl");
        let max = 64 * 1024;
        let line = format!("{}\n", "x".repeat(1023));
        std::fs::write(&path, line.repeat(60)).expect("nearly full");
        let writers: Vec<AuditLog> = (0..5)
            .map(|_| AuditLog::with_max_bytes(&path, max).expect("open"))
            .collect();
        let start = std::sync::Barrier::new(writers.len());
        std::thread::scope(|scope| {
            for writer in &writers {
                let (start, line) = (&start, &line);
                scope.spawn(move || {
                    start.wait();
                    for _ in 0..10 {
                        writer.append_lines(line.as_bytes(), true);
                    }
                });
            }
        });
        assert!(rotated(&path, 1).exists(), "the full log rotated");
        assert!(
            !rotated(&path, 2).exists(),
            "it rotated more than once: {:?}",
            (1..=KEEP_ROTATED)
                .map(|n| std::fs::metadata(rotated(&path, n)).map(|m| m.len()).ok())
                .collect::<Vec<_>>()
        );
        let lines = |p: &Path| {
            std::fs::read_to_string(p)
                .unwrap_or_default()
                .lines()
                .count()
        };
        assert_eq!(
            lines(&path) + lines(&rotated(&path, 1)),
            60 + 50,
            "no line lost"
        );
    }

    fn started(id: &str) -> RunEvent {
        RunEvent::now(
            RunId::new(id).expect("id"),
            EventKind::RunStarted {
                plugin: "p".into(),
                version: "1".into(),
                skill: "s".into(),
                actor: Actor::Agent,
                governance: Default::default(),
            },
        )
    }

    fn line_of(event: RunEvent) -> String {
        let record = Record {
            schema: EVENT_SCHEMA_VERSION,
            event,
        };
        format!("{}\n", serde_json::to_string(&record).expect("json"))
    }

    /// Durability issue, item 2: a log whose last write was cut short (a
    /// crash, a full disk) gets its next record on a line of its own, and a
    /// reader counts the torn fragment and goes on.
    #[tokio::test]
    async fn a_torn_tail_never_swallows_the_next_record() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("audit.jsonl");
        let whole = line_of(started("a"));
        std::fs::write(&path, format!("{whole}{}", &whole[..30])).expect("torn log");
        let log = AuditLog::open(&path).expect("open");
        log.record(started("b"));
        log.flush().await;
        let found = read(&path, None).expect("read");
        let runs: Vec<&str> = found
            .records
            .iter()
            .map(|r| r.event.run_id.as_str())
            .collect();
        assert_eq!(runs, ["a", "b"]);
        assert_eq!(found.skipped, 1);
    }

    /// A writer that did not see the tail torn (another process died
    /// mid-line while it was appending) glues its record onto the fragment:
    /// the reader still finds the record.
    #[test]
    fn a_record_glued_onto_a_torn_fragment_is_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("audit.jsonl");
        let torn = line_of(started("a"));
        let glued = format!(
            "{}{}{}",
            &torn[..40],
            line_of(started("b")),
            line_of(started("c"))
        );
        std::fs::write(&path, glued).expect("log");
        let found = read(&path, None).expect("read");
        let runs: Vec<&str> = found
            .records
            .iter()
            .map(|r| r.event.run_id.as_str())
            .collect();
        assert_eq!(runs, ["b", "c"]);
        assert_eq!(found.skipped, 1);
    }

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
                    governance: Default::default(),
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
        assert_eq!(read(&path, None).expect("read").records.len(), 4);
        let only_a = read(&path, Some("a")).expect("read").records;
        assert_eq!(only_a.len(), 2);
        assert!(
            only_a
                .iter()
                .all(|r| r.schema == EVENT_SCHEMA_VERSION && r.event.run_id.as_str() == "a")
        );
    }

    #[tokio::test]
    async fn rotation_keeps_every_event_readable_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::with_max_bytes(&path, 400).expect("open");
        let run = RunId::new("r").expect("id");
        for i in 0..20 {
            log.record(RunEvent {
                run_id: run.clone(),
                at_ms: i,
                kind: EventKind::ApprovalRequested { step: None },
            });
        }
        log.flush().await;
        assert!(rotated(&path, 1).exists(), "the log rotated");
        let times: Vec<u64> = read(&path, None)
            .expect("read")
            .records
            .iter()
            .map(|r| r.event.at_ms)
            .collect();
        let kept = times.len();
        assert!(
            kept >= 12,
            "only the oldest rotated files are dropped: kept {kept}"
        );
        assert_eq!(times, (20 - kept as u64..20).collect::<Vec<_>>());
    }
}
