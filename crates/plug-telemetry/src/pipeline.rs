//! [`Telemetry`]: the `TelemetrySink` the runtime uses.
//!
//! The caller's side is one `try_send` into a bounded queue: recording never
//! waits for a disk or a network, and never wakes a thread either (a futex
//! wake per event would cost more than the event): the worker polls the queue,
//! quickly while events flow and lazily when idle, and a flush unparks it. A worker thread owns everything slow: it
//! redacts each event, appends it to the audit log (synced at run phases),
//! folds it into metric statistic sets and log batches, writes those to the
//! spool and drains the spool to CloudWatch, backing off while it is down.
//! When the queue is full the event goes to an unbounded side buffer instead:
//! memory grows for a moment, but the run neither blocks nor loses the event.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex};
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
    /// Events the queue holds before the side buffer takes over.
    pub queue_capacity: usize,
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
            queue_capacity: 65_536,
            ship_interval: Duration::from_secs(5),
        }
    }
}

enum Message {
    Event(RunEvent),
    Flush(oneshot::Sender<DrainReport>),
}

/// The runtime's telemetry sink. Dropping it ships what is left and waits for the worker.
pub struct Telemetry {
    sender: Option<SyncSender<Message>>,
    overflow: Arc<Mutex<Vec<RunEvent>>>,
    worker: Option<JoinHandle<()>>,
    audit_path: PathBuf,
}

/// The worker's poll interval while events flow; it doubles up to
/// [`IDLE_POLL`] while the queue stays empty.
const BUSY_POLL: Duration = Duration::from_millis(1);
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
        let (sender, receiver) = std::sync::mpsc::sync_channel(options.queue_capacity.max(1));
        let overflow = Arc::new(Mutex::new(Vec::new()));
        let audit_path = options.audit_log.clone();
        let side = Arc::clone(&overflow);
        let worker = std::thread::Builder::new()
            .name("plugctl-telemetry".into())
            .spawn(move || Worker::new(audit, options, side).run(&receiver))
            .map_err(|source| AuditError {
                path: audit_path.clone(),
                source,
            })?;
        Ok(Telemetry {
            sender: Some(sender),
            overflow,
            worker: Some(worker),
            audit_path,
        })
    }

    fn wake(&self) {
        if let Some(worker) = &self.worker {
            worker.thread().unpark();
        }
    }

    /// The audit log's file.
    pub fn audit_path(&self) -> &Path {
        &self.audit_path
    }

    fn side_buffer(&self, event: RunEvent) {
        let mut buffer = self
            .overflow
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        buffer.push(event);
    }

    /// Flushes and reports what was delivered (the sink port's `flush` without the report).
    pub async fn flush_report(&self) -> DrainReport {
        let Some(sender) = &self.sender else {
            return DrainReport::default();
        };
        let (ack, answer) = oneshot::channel();
        let mut message = Message::Flush(ack);
        loop {
            match sender.try_send(message) {
                Ok(()) => break,
                Err(TrySendError::Full(back)) => {
                    message = back;
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Err(TrySendError::Disconnected(_)) => return DrainReport::default(),
            }
        }
        self.wake();
        answer.await.unwrap_or_default()
    }
}

#[async_trait]
impl TelemetrySink for Telemetry {
    fn record(&self, event: RunEvent) {
        let Some(sender) = &self.sender else { return };
        match sender.try_send(Message::Event(event)) {
            Ok(()) => {}
            Err(TrySendError::Full(Message::Event(event))) => self.side_buffer(event),
            Err(_) => {}
        }
    }

    async fn flush(&self) {
        self.flush_report().await;
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        // Closing the queue tells the worker to ship what is left and stop.
        self.sender = None;
        self.wake();
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
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
    overflow: Arc<Mutex<Vec<RunEvent>>>,
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

/// What exists only when a remote sink is configured.
struct Remote {
    runtime: tokio::runtime::Runtime,
    destination: CloudWatch,
    config: CloudWatchConfig,
    spool: Spool,
    aggregator: Aggregator,
    streams: HashMap<RunId, String>,
    log_events: BTreeMap<String, Vec<LogEvent>>,
    backoff: Duration,
    next_attempt: Instant,
}

const MAX_BACKOFF: Duration = Duration::from_secs(300);

impl Worker {
    fn new(
        audit: AuditLog,
        options: TelemetryOptions,
        overflow: Arc<Mutex<Vec<RunEvent>>>,
    ) -> Self {
        let spool = Spool::new(&options.spool_dir);
        let remote = options.cloudwatch.and_then(|(sdk, config)| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            let destination = runtime.block_on(async { CloudWatch::new(&sdk, &config) });
            Some(Remote {
                runtime,
                destination,
                config,
                spool,
                aggregator: Aggregator::new(),
                streams: HashMap::new(),
                log_events: BTreeMap::new(),
                backoff: options.ship_interval,
                next_attempt: Instant::now(),
            })
        });
        Worker {
            audit,
            redactor: options.redactor,
            overflow,
            remote,
            traces: Traces::from_env(),
            interval: options.ship_interval,
        }
    }

    fn run(mut self, receiver: &Receiver<Message>) {
        // Whatever an earlier run left behind goes out first.
        self.ship(false);
        let mut shipped = Instant::now();
        let mut poll = BUSY_POLL;
        loop {
            match receiver.try_recv() {
                Ok(Message::Event(event)) => {
                    poll = BUSY_POLL;
                    self.guarded(|worker| worker.handle(event));
                }
                Ok(Message::Flush(ack)) => {
                    let report = self.flush();
                    let _ = ack.send(report);
                    shipped = Instant::now();
                }
                Err(TryRecvError::Empty) => {
                    self.take_overflow();
                    if shipped.elapsed() >= self.interval {
                        self.ship(false);
                        shipped = Instant::now();
                    }
                    std::thread::park_timeout(poll);
                    poll = (poll * 2).min(IDLE_POLL);
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

    fn flush(&mut self) -> DrainReport {
        self.take_overflow();
        self.audit.sync();
        self.ship(true)
    }

    fn take_overflow(&mut self) {
        let events = {
            let mut buffer = self
                .overflow
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if buffer.is_empty() {
                return;
            }
            std::mem::take(&mut *buffer)
        };
        for event in events {
            self.handle(event);
        }
    }

    fn handle(&mut self, event: RunEvent) {
        let phase = crate::audit::is_phase(&event.kind);
        let Ok(json) = serde_json::to_string(&RecordRef {
            schema: EVENT_SCHEMA_VERSION,
            event: &event,
        }) else {
            return;
        };
        // Redacting the JSON text, not a tree: one pass per line instead of
        // one per string, and the replacement needs no escaping.
        let line = self.redactor.text(&json).into_owned();
        self.audit.append(line.as_bytes(), phase);
        if let Some(traces) = &mut self.traces {
            let spans = traces.tracer.observe(&event);
            traces.pending.extend(spans);
        }
        if let Some(remote) = &mut self.remote {
            remote.observe(&event, line);
        }
    }

    /// Moves what was gathered to the spool, then drains the spool unless
    /// the destination is backing off (a flush always tries).
    fn ship(&mut self, force: bool) -> DrainReport {
        if let Some(traces) = &mut self.traces {
            traces.export();
        }
        let Some(remote) = &mut self.remote else {
            return DrainReport::default();
        };
        let mut report = DrainReport::default();
        if let Err(e) = remote.spool_gathered() {
            report.stopped = Some(e.to_string());
        }
        if !force && Instant::now() < remote.next_attempt {
            report.pending = remote.spool.pending().map(|p| p.len()).unwrap_or(0);
            return report;
        }
        let drained = remote.runtime.block_on(drain(
            &remote.spool,
            &remote.destination as &dyn Destination,
        ));
        match drained {
            Ok(drained) => {
                remote.schedule(drained.stopped.is_some(), self.interval);
                drained
            }
            Err(e) => {
                report.stopped = Some(e.to_string());
                report
            }
        }
    }
}

impl Remote {
    fn observe(&mut self, event: &RunEvent, line: String) {
        self.aggregator.observe(event);
        if !self.config.logs {
            return;
        }
        if let EventKind::RunStarted { plugin, skill, .. } = &event.kind {
            let stream = stream_name(plugin, skill, event.run_id.as_str());
            self.streams.insert(event.run_id.clone(), stream);
        }
        let stream = self
            .streams
            .get(&event.run_id)
            .cloned()
            .unwrap_or_else(|| stream_name("unknown", "unknown", event.run_id.as_str()));
        self.log_events.entry(stream).or_default().push(LogEvent {
            timestamp_ms: event.at_ms,
            message: bounded_message(line),
        });
    }

    fn spool_gathered(&mut self) -> Result<(), crate::spool::SpoolError> {
        let now = now_ms();
        let metrics = self.aggregator.drain();
        if self.config.metrics {
            for data in metrics {
                self.spool.put(&Pending::Metrics { data }, now)?;
            }
        }
        for (stream, events) in std::mem::take(&mut self.log_events) {
            for batch in batches(&self.config.log_group, &stream, events) {
                self.spool.put(&Pending::Logs(batch), now)?;
            }
        }
        Ok(())
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

/// Up to a quarter of `base`, so many processes retrying do not align.
fn jitter_ms(base: Duration) -> u64 {
    let quarter = u64::try_from(base.as_millis() / 4).unwrap_or(0).max(1);
    fastrand::u64(..quarter)
}
