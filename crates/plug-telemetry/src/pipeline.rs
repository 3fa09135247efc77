//! [`Telemetry`]: the `TelemetrySink` the runtime uses.
//!
//! The caller's side copies the event onto the inbox's tape (see
//! `inbox.rs`) and drops it: no allocation shared per event, no
//! channel slot bounced between cores, and no thread woken (a futex wake
//! per event would cost more than the event). The inbox lock is held only
//! for a push or a swap, never across I/O, so recording never waits for a
//! disk or a network. While events flow the worker takes the tape every
//! `BUSY_POLL`; with an empty inbox it sleeps until the next event or a
//! flush wakes it. It owns everything slow: it redacts each event, appends
//! the batch to the audit log in one write (synced when the batch holds a
//! run phase), folds events into metric statistic sets and log batches,
//! writes those to the spool and drains the spool to CloudWatch, backing
//! off while it is down. Nothing is dropped: 4,096 waiting events wake the
//! worker at once, and a recorder that finds the bounded inbox full waits
//! for the worker to take it.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_config::SdkConfig;
use plug_core::RunId;
use plug_core::event::{EVENT_SCHEMA_VERSION, EventKind, RunEvent, now_ms};
use plug_core::ports::TelemetrySink;
use tokio::sync::oneshot;

use crate::audit::{AuditError, AuditLog};
use crate::cloudwatch::{CloudWatch, CloudWatchConfig};
use crate::delivery::{Destination, DrainReport, drain};
use crate::inbox::{Inbox, Tape};
use crate::logs::{LogEvent, batches, bounded_message, stream_name};
use crate::metrics::Aggregator;
use crate::redact::Redactor;
use crate::spool::{Pending, Spool};

/// How a [`Telemetry`] is set up.
pub struct TelemetryOptions {
    /// The audit log file.
    pub audit_log: PathBuf,
    /// The spool folder.
    pub spool_dir: PathBuf,
    /// What to scrub from every output.
    pub redactor: Redactor,
    /// CloudWatch publishing, with the AWS configuration to publish with.
    pub cloudwatch: Option<(SdkConfig, CloudWatchConfig)>,
    /// Events the inbox gathers before the worker is woken, rather than
    /// left for its next poll.
    pub batch_size: usize,
    /// Events the inbox holds at most. A recorder that finds it full waits
    /// for the worker to take them: memory stays bounded and nothing is
    /// dropped. Far above what a run records between two of the worker's
    /// looks.
    pub capacity: usize,
    /// How often the worker ships what it has gathered.
    pub ship_interval: Duration,
}

impl TelemetryOptions {
    /// Local only: the audit log, no remote sink.
    pub fn local(audit_log: &Path, spool_dir: &Path) -> Self {
        TelemetryOptions {
            audit_log: audit_log.to_path_buf(),
            spool_dir: spool_dir.to_path_buf(),
            redactor: Redactor::from_env(),
            cloudwatch: None,
            batch_size: 4096,
            capacity: 65_536,
            ship_interval: Duration::from_secs(5),
        }
    }
}

enum Message {
    /// Make what was recorded durable in the audit log (and spool the remote
    /// batches after answering).
    Persist(oneshot::Sender<()>),
}

/// The runtime's telemetry sink. Dropping it ships what is left and waits for the worker.
pub struct Telemetry {
    control: Option<Sender<Message>>,
    inbox: Arc<Inbox>,
    batch_size: usize,
    worker: Option<JoinHandle<()>>,
    audit_path: PathBuf,
}

/// How soon the worker takes the inbox again after handling a batch, while
/// events flow; it watches for a flush in between (see [`watch`]). Short
/// enough that a run's final flush finds little left to write (at 1 ms that
/// backlog was half the telemetry's cost on a 1,000-step run, at 250 µs
/// still 30 µs a run), long enough that the inbox lock is taken once per
/// few dozen events, not for each (50 µs measured no better: the extra
/// takes offset the shorter tail). With an empty inbox the worker sleeps
/// until the next event wakes it, or [`IDLE_POLL`] passes (to ship on time).
const BUSY_POLL: Duration = Duration::from_micros(100);
/// How long a flush looks for its answer before it sleeps on it: the worker
/// usually answers within a few microseconds, and waking a sleeping thread
/// on a VM takes longer than that.
const FLUSH_SPIN: Duration = Duration::from_micros(50);
const IDLE_POLL: Duration = Duration::from_millis(200);

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry")
            .field("audit_log", &self.audit_path)
            .finish_non_exhaustive()
    }
}

impl Telemetry {
    /// Opens the audit log and starts the worker. A spool left by an earlier
    /// run is delivered in the background right away.
    pub fn start(options: TelemetryOptions) -> Result<Self, AuditError> {
        let audit = AuditLog::open(&options.audit_log)?;
        let (control, receiver) = std::sync::mpsc::channel();
        let inbox = Arc::new(Inbox::with_capacity(options.capacity));
        let audit_path = options.audit_log.clone();
        let batch_size = options.batch_size.max(1);
        let worker_inbox = Arc::clone(&inbox);
        let worker = std::thread::Builder::new()
            .name("plugctl-telemetry".into())
            .spawn(move || Worker::new(audit, options, worker_inbox).run(&receiver))
            .map_err(|source| AuditError {
                path: audit_path.clone(),
                source,
            })?;
        Ok(Telemetry {
            control: Some(control),
            inbox,
            batch_size,
            worker: Some(worker),
            audit_path,
        })
    }

    /// Wakes the worker; whether it still runs.
    fn wake(&self) -> bool {
        let Some(worker) = &self.worker else {
            return false;
        };
        worker.thread().unpark();
        !worker.is_finished()
    }

    /// The audit log's file.
    pub fn audit_path(&self) -> &Path {
        &self.audit_path
    }

    fn ask(&self, message: Message) -> bool {
        let sent = self
            .control
            .as_ref()
            .is_some_and(|c| c.send(message).is_ok());
        self.wake();
        sent
    }
}

#[async_trait]
impl TelemetrySink for Telemetry {
    fn record(&self, event: RunEvent) {
        let waiting = self.inbox.push(event, || self.wake());
        if waiting == self.batch_size {
            self.wake();
        }
    }

    /// Waits until every event recorded so far is in the synced audit log.
    /// Spooling the remote sinks' calls and delivering them is the worker's
    /// business right after (and at drop), so a run never waits on
    /// CloudWatch, its batching or an outage.
    async fn flush(&self) {
        let (ack, mut answer) = oneshot::channel();
        if !self.ask(Message::Persist(ack)) {
            return;
        }
        let answered = look_briefly(FLUSH_SPIN, || match answer.try_recv() {
            Err(oneshot::error::TryRecvError::Empty) => None,
            _ => Some(()),
        });
        if answered.is_none() {
            let _ = answer.await;
        }
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        // Closing the control channel tells the worker to ship what is left and stop.
        self.control = None;
        self.wake();
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

/// Whether an event can hold text from outside the manifest (a hook's
/// command line, a person's reason, an ARN), and so is scanned for
/// credential shapes as well as for known secrets. The others hold only the
/// manifest's names, numbers and enums; skipping the scan for them halves
/// the worker's cost per step.
fn carries_outside_text(kind: &EventKind) -> bool {
    !matches!(
        kind,
        EventKind::RunStarted { .. }
            | EventKind::RunFinished { .. }
            | EventKind::StepStarted { .. }
            | EventKind::StepFinished { .. }
            | EventKind::PermissionChecked { .. }
            | EventKind::McpToolCalled { .. }
            | EventKind::ApprovalRequested { .. }
    )
}

/// [`Record`]'s shape, borrowing the event.
#[derive(serde::Serialize)]
struct RecordRef<'a> {
    schema: u32,
    #[serde(flatten)]
    event: &'a RunEvent,
}

/// The state the worker thread owns.
struct Worker {
    audit: AuditLog,
    redactor: Redactor,
    inbox: Arc<Inbox>,
    /// The tape being handled; kept to reuse its allocation.
    tape: Tape,
    /// The batch's lines for the audit log, written in one go.
    lines: Vec<u8>,
    /// The batch's events and their lines, for the remote sinks and traces.
    written: Vec<(RunEvent, String)>,
    remote: Option<Remote>,
    traces: Option<Traces>,
    interval: Duration,
}

/// OTLP export, when `OTEL_EXPORTER_OTLP_ENDPOINT` (or the traces-specific
/// variable) is set. Spans are rebuilt from events, so the audit log still
/// holds everything when the collector is down; unsent spans are kept for
/// the next attempt up to [`MAX_PENDING_SPANS`].
struct Traces {
    runtime: tokio::runtime::Runtime,
    exporter: opentelemetry_otlp::SpanExporter,
    tracer: crate::traces::Tracer,
    pending: Vec<opentelemetry_sdk::trace::SpanData>,
}

const MAX_PENDING_SPANS: usize = 10_000;

impl Traces {
    fn from_env() -> Option<Traces> {
        let set = |name| std::env::var_os(name).is_some_and(|v| !v.is_empty());
        if !set("OTEL_EXPORTER_OTLP_ENDPOINT") && !set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            return None;
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        // The exporter's HTTP client is reqwest with rustls but no crypto
        // provider of its own (the workspace picks ring); install it, as
        // plug-mcp does, or building the client panics.
        let _ = rustls::crypto::ring::default_provider().install_default();
        // The exporter reads endpoint, protocol, headers and timeout from the
        // standard OTEL_EXPORTER_OTLP_* variables.
        let exporter =
            match runtime.block_on(async { opentelemetry_otlp::SpanExporter::builder().build() }) {
                Ok(mut exporter) => {
                    use opentelemetry_sdk::trace::SpanExporter as _;
                    let service = opentelemetry_sdk::Resource::builder()
                        .with_service_name("plugctl")
                        .build();
                    exporter.set_resource(&service);
                    exporter
                }
                Err(e) => {
                    eprintln!("warning: OTLP trace export is off: {e}");
                    return None;
                }
            };
        Some(Traces {
            runtime,
            exporter,
            tracer: crate::traces::Tracer::new(),
            pending: Vec::new(),
        })
    }

    fn export(&mut self) {
        use opentelemetry_sdk::trace::SpanExporter as _;
        if self.pending.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.pending);
        let kept = batch.clone();
        if self.runtime.block_on(self.exporter.export(batch)).is_err() {
            self.pending = kept;
            let excess = self.pending.len().saturating_sub(MAX_PENDING_SPANS);
            self.pending.drain(..excess);
        }
    }
}

/// How long the final delivery at exit may take: what is not delivered by
/// then stays in the spool for the next process (`plugctl telemetry flush`,
/// or any later run). A hung endpoint never holds a run's exit longer.
pub const FINAL_DELIVERY: Duration = Duration::from_secs(1);

/// What exists only when a remote sink is configured.
struct Remote {
    /// Runs deliveries on a thread of its own, so a slow or hung endpoint
    /// never holds the worker, and with it the audit log.
    runtime: Option<tokio::runtime::Runtime>,
    destination: Arc<CloudWatch>,
    /// The delivery under way, if any: one at a time.
    in_flight: Option<tokio::task::JoinHandle<Result<DrainReport, crate::spool::SpoolError>>>,
    config: CloudWatchConfig,
    spool: Spool,
    aggregator: Aggregator,
    /// The log stream of each run under way.
    streams: HashMap<RunId, String>,
    /// Log events gathered since the last spooling: run, stream, events.
    /// Only the runs under way since then, so a handful at most.
    log_events: Vec<(RunId, String, Vec<LogEvent>)>,
    /// Calls gathered but not yet in the spool, oldest first.
    unspooled: VecDeque<Pending>,
    backoff: Duration,
    next_attempt: Instant,
}

const MAX_BACKOFF: Duration = Duration::from_secs(300);

impl Worker {
    fn new(audit: AuditLog, options: TelemetryOptions, inbox: Arc<Inbox>) -> Self {
        let spool = Spool::new(&options.spool_dir);
        let remote = options.cloudwatch.and_then(|(sdk, config)| {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("plugctl-delivery")
                .enable_all()
                .build()
                .ok()?;
            let destination = Arc::new(runtime.block_on(async { CloudWatch::new(&sdk, &config) }));
            Some(Remote {
                runtime: Some(runtime),
                destination,
                in_flight: None,
                config,
                spool,
                aggregator: Aggregator::new(),
                streams: HashMap::new(),
                log_events: Vec::new(),
                unspooled: VecDeque::new(),
                backoff: options.ship_interval,
                next_attempt: Instant::now(),
            })
        });
        Worker {
            audit,
            redactor: options.redactor,
            inbox,
            tape: Tape::default(),
            lines: Vec::new(),
            written: Vec::new(),
            remote,
            traces: Traces::from_env(),
            interval: options.ship_interval,
        }
    }

    fn run(mut self, receiver: &Receiver<Message>) {
        // Whatever an earlier run left behind goes out first (in the background).
        self.ship();
        let mut shipped = Instant::now();
        loop {
            let busy = self.take_inbox();
            let message = if busy {
                watch(receiver, BUSY_POLL)
            } else {
                receiver.try_recv()
            };
            match message {
                Ok(Message::Persist(ack)) => self.persist(ack),
                Err(TryRecvError::Empty) => {
                    if shipped.elapsed() >= self.interval {
                        self.ship();
                        shipped = Instant::now();
                    }
                    if !busy && self.inbox.sleep_if_empty() {
                        std::thread::park_timeout(IDLE_POLL);
                    }
                }
                Err(TryRecvError::Disconnected) => {
                    self.flush();
                    return;
                }
            }
        }
    }

    /// Runs `work`, and if it panics (a bug in an exporter or a sink), turns
    /// the remote sinks off instead of losing the worker: the audit log, the
    /// record that matters most, keeps being written.
    fn guarded(&mut self, work: impl FnOnce(&mut Self)) {
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(self)));
        if caught.is_err() {
            self.traces = None;
            self.remote = None;
        }
    }

    /// Audit log synced, then the waiting run released, then the remote
    /// sinks fed and their calls spooled. The run waits for its record, not
    /// for the remote sinks' copies: those were only in memory during the
    /// run as well, and the audit log holds every event they are made from.
    fn persist(&mut self, ack: oneshot::Sender<()>) {
        self.take_inbox_then(Some(ack));
        if let Some(remote) = &mut self.remote {
            // On failure the calls stay in memory and the next ship retries
            // and reports it; the audit log, synced above, holds every event.
            let _ = remote.spool_gathered();
        }
    }

    /// At exit: everything into the synced audit log and the spool, then one
    /// last delivery bounded by [`FINAL_DELIVERY`].
    fn flush(&mut self) {
        self.take_inbox();
        self.audit.sync();
        if let Some(traces) = &mut self.traces {
            traces.export();
        }
        if let Some(remote) = &mut self.remote {
            remote.final_delivery();
        }
    }

    /// Handles every waiting event, syncing the audit log once if the batch
    /// holds a run phase (group commit: one fsync per batch, not per step).
    /// Whether there were any.
    fn take_inbox(&mut self) -> bool {
        self.take_inbox_then(None)
    }

    /// [`Worker::take_inbox`], and if `synced` waits for it, answers it as
    /// soon as the audit log is synced: the remote sinks and traces are fed
    /// after that, so a run's final flush does not wait for them.
    fn take_inbox_then(&mut self, synced: Option<oneshot::Sender<()>>) -> bool {
        let mut tape = std::mem::take(&mut self.tape);
        self.inbox.take(&mut tape);
        let any = !tape.is_empty();
        let mut phase = synced.is_some();
        let mut written = std::mem::take(&mut self.written);
        tape.drain(|event| {
            phase |= crate::audit::is_phase(&event.kind);
            self.guarded(|worker| worker.write(event, &mut written));
        });
        // One write for the batch: a lock and a system call per event would
        // cost more than serializing it.
        if any || phase {
            self.audit.append_lines(&self.lines, phase);
            self.lines.clear();
        }
        if let Some(ack) = synced {
            let _ = ack.send(());
        }
        for (event, line) in written.drain(..) {
            self.guarded(|worker| worker.feed(&event, line));
        }
        self.written = written;
        self.tape = tape;
        any
    }

    /// Serializes and redacts an event into the batch's block for the audit
    /// log; keeps it with its line in `written` when remote sinks or traces
    /// want it.
    fn write(&mut self, event: RunEvent, written: &mut Vec<(RunEvent, String)>) {
        let record = RecordRef {
            schema: EVENT_SCHEMA_VERSION,
            event: &event,
        };
        let Ok(json) = serde_json::to_string(&record) else {
            return;
        };
        // Redacting the JSON text, not a tree: one pass per line instead of
        // one per string, and the replacement needs no escaping.
        let line = if carries_outside_text(&event.kind) {
            self.redactor.text(&json)
        } else {
            self.redactor.known(&json)
        };
        self.lines.extend_from_slice(line.as_bytes());
        self.lines.push(b'\n');
        if self.remote.is_some() || self.traces.is_some() {
            // The line itself goes on to the log batch: no copy when nothing
            // was redacted.
            let redacted = match line {
                Cow::Owned(text) => Some(text),
                Cow::Borrowed(_) => None,
            };
            written.push((event, redacted.unwrap_or(json)));
        }
    }

    /// Feeds a written event to the remote sinks and the traces.
    fn feed(&mut self, event: &RunEvent, line: String) {
        if let Some(remote) = &mut self.remote {
            remote.observe(event, line);
        }
        if let Some(traces) = &mut self.traces {
            let spans = traces.tracer.observe(event);
            traces.pending.extend(spans);
        }
    }

    /// Moves what was gathered to the spool, then starts delivering it in
    /// the background unless a delivery is under way or the destination is
    /// backing off. A call the spool cannot take stays in memory for the next
    /// attempt.
    fn ship(&mut self) {
        if let Some(traces) = &mut self.traces {
            traces.export();
        }
        let Some(remote) = &mut self.remote else {
            return;
        };
        let _ = remote.spool_gathered();
        remote.collect(self.interval);
        if remote.in_flight.is_none() && Instant::now() >= remote.next_attempt {
            remote.start_delivery();
        }
    }
}

impl Remote {
    fn observe(&mut self, event: &RunEvent, line: String) {
        self.aggregator.observe(event);
        if !self.config.logs {
            return;
        }
        let run = &event.run_id;
        if let EventKind::RunStarted { plugin, skill, .. } = &event.kind {
            let stream = stream_name(plugin, skill, run.as_str());
            self.streams.insert(run.clone(), stream);
        }
        // Searching from the most recent run finds the current one at once
        // (the ids share one allocation, so the comparison is a pointer's),
        // where a map would hash the id for every event.
        let gathered = match self.log_events.iter().rposition(|(id, ..)| id == run) {
            Some(index) => index,
            None => {
                let stream = self.streams.get(run).cloned();
                let stream =
                    stream.unwrap_or_else(|| stream_name("unknown", "unknown", run.as_str()));
                self.log_events.push((run.clone(), stream, Vec::new()));
                self.log_events.len() - 1
            }
        };
        self.log_events[gathered].2.push(LogEvent {
            timestamp_ms: event.at_ms,
            message: bounded_message(line),
        });
        // The gathered events carry the name from here on; a long-lived
        // process (`plugctl serve`) must not keep one entry per run forever.
        if matches!(event.kind, EventKind::RunFinished { .. }) {
            self.streams.remove(run);
        }
    }

    /// Writes the gathered calls to the spool. A call the spool cannot take
    /// (disk full, folder gone) stays in memory for the next attempt, with
    /// everything after it: lost only if the process dies first.
    fn spool_gathered(&mut self) -> Result<(), crate::spool::SpoolError> {
        let now = now_ms();
        let metrics = self.aggregator.drain();
        if self.config.metrics {
            let calls = metrics.into_iter().map(|data| Pending::Metrics { data });
            self.unspooled.extend(calls);
        }
        for (_, stream, events) in self.log_events.drain(..) {
            let calls = batches(&self.config.log_group, &stream, events).into_iter();
            self.unspooled.extend(calls.map(Pending::Logs));
        }
        while let Some(call) = self.unspooled.front() {
            self.spool.put(call, now)?;
            self.unspooled.pop_front();
        }
        Ok(())
    }

    /// One drain of the spool, to run on the delivery thread.
    fn delivery(
        &self,
    ) -> impl std::future::Future<Output = Result<DrainReport, crate::spool::SpoolError>> + 'static
    {
        let (spool, destination) = (self.spool.clone(), Arc::clone(&self.destination));
        async move { drain(&spool, destination.as_ref() as &dyn Destination).await }
    }

    /// Starts delivering the spool in the background.
    fn start_delivery(&mut self) {
        if let Some(runtime) = &self.runtime {
            self.in_flight = Some(runtime.spawn(self.delivery()));
        }
    }

    /// Takes the outcome of a finished delivery, backing off if it failed.
    fn collect(&mut self, interval: Duration) {
        if !self.in_flight.as_ref().is_some_and(|h| h.is_finished()) {
            return;
        }
        let (Some(runtime), Some(handle)) = (&self.runtime, self.in_flight.take()) else {
            return;
        };
        let failed = !matches!(runtime.block_on(handle), Ok(Ok(d)) if d.stopped.is_none());
        self.schedule(failed, interval);
    }

    /// The last delivery: the one under way finishes, then the spool is
    /// drained (waiting for another process's drain to let go of it), all
    /// within [`FINAL_DELIVERY`]. What is left stays spooled for the next
    /// process; a call the spool cannot take is lost with this one.
    fn final_delivery(&mut self) {
        let _ = self.spool_gathered();
        let Some(runtime) = self.runtime.take() else {
            return;
        };
        let in_flight = self.in_flight.take();
        let remote = &*self;
        let last = async move {
            if let Some(handle) = in_flight {
                let _ = handle.await;
            }
            while matches!(remote.delivery().await, Ok(d) if d.busy) {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        let _ = runtime.block_on(async { tokio::time::timeout(FINAL_DELIVERY, last).await });
        // A hung request is abandoned here, not waited for.
        runtime.shutdown_background();
    }

    fn schedule(&mut self, failed: bool, interval: Duration) {
        if failed {
            let jitter = Duration::from_millis(jitter_ms(self.backoff));
            self.next_attempt = Instant::now() + self.backoff + jitter;
            self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        } else {
            self.backoff = interval;
            self.next_attempt = Instant::now();
        }
    }
}

/// Waits up to `within` for a message without sleeping (see
/// [`look_briefly`]). While events flow a sleeping worker costs the run
/// twice: a flush must first wake it (tens of microseconds on a VM), and a
/// longer nap leaves more events for the flush to write. Only a worker that
/// found events watches; an idle one sleeps.
fn watch(receiver: &Receiver<Message>, within: Duration) -> Result<Message, TryRecvError> {
    look_briefly(within, || match receiver.try_recv() {
        Err(TryRecvError::Empty) => None,
        other => Some(other),
    })
    .unwrap_or(Err(TryRecvError::Empty))
}

/// Calls `look` until it finds something or `within` has passed (at least
/// once), yielding the core between looks instead of sleeping: waking a
/// sleeping thread on a VM takes longer than the waits this is for.
fn look_briefly<T>(within: Duration, mut look: impl FnMut() -> Option<T>) -> Option<T> {
    let started = Instant::now();
    loop {
        if let Some(found) = look() {
            return Some(found);
        }
        if started.elapsed() >= within {
            return None;
        }
        std::thread::yield_now();
    }
}

/// Up to a quarter of `base`, so many processes retrying do not align.
fn jitter_ms(base: Duration) -> u64 {
    let quarter = u64::try_from(base.as_millis() / 4).unwrap_or(0).max(1);
    fastrand::u64(..quarter)
}
