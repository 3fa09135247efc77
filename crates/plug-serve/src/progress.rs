//! What a tool call sees of its run: MCP progress notifications per step, and
//! a cancellation that waits for the step in flight to finish.

use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use plug_core::event::{EventKind, RunEvent};
use plug_core::ports::TelemetrySink;
use rmcp::model::{ProgressNotificationParam, ProgressToken};
use rmcp::service::{Peer, RoleServer};
use tokio::sync::{mpsc, watch};

/// Stops a run at a step boundary: a stop asked for while a step runs takes
/// effect when that step has finished (and been journaled), so a cancelled
/// call never leaves a half-done step behind.
pub struct Boundary {
    state: Mutex<BoundaryState>,
    stop: watch::Sender<bool>,
}

#[derive(Default)]
struct BoundaryState {
    in_step: bool,
    requested: bool,
}

impl Boundary {
    /// A boundary and the receiver the interpreter watches.
    pub fn new() -> (Arc<Boundary>, watch::Receiver<bool>) {
        let (stop, interrupt) = watch::channel(false);
        let boundary = Boundary {
            state: Mutex::new(BoundaryState::default()),
            stop,
        };
        (Arc::new(boundary), interrupt)
    }

    fn lock(&self) -> MutexGuard<'_, BoundaryState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Asks the run to stop: now if no step runs, else when the step ends.
    pub fn request_stop(&self) {
        let mut state = self.lock();
        state.requested = true;
        if !state.in_step {
            let _ = self.stop.send(true);
        }
    }

    /// Stops the run now, mid-step: the step is interrupted (its processes
    /// killed) and run again by a resume.
    pub fn stop_now(&self) {
        self.lock().requested = true;
        let _ = self.stop.send(true);
    }

    fn enter_step(&self) {
        self.lock().in_step = true;
    }

    fn leave_step(&self) {
        let mut state = self.lock();
        state.in_step = false;
        if state.requested {
            let _ = self.stop.send(true);
        }
    }
}

/// Where progress notifications go while the client still listens.
struct Reporter {
    token: ProgressToken,
    sender: mpsc::UnboundedSender<ProgressNotificationParam>,
    last: Option<f64>,
}

/// The link from a run to its call's progress notifications; shared by the
/// run's observer and the call, which cuts it once it has answered.
#[derive(Clone, Default)]
pub struct ProgressLink(Arc<Mutex<Option<Reporter>>>);

impl ProgressLink {
    /// Reports to `sender` under the client's `token`.
    pub fn new(
        token: ProgressToken,
        sender: mpsc::UnboundedSender<ProgressNotificationParam>,
    ) -> Self {
        ProgressLink(Arc::new(Mutex::new(Some(Reporter {
            token,
            sender,
            last: None,
        }))))
    }

    /// Stops reporting: the call has been answered (queued notes still go out).
    pub fn detach(&self) {
        self.lock().take();
    }

    fn lock(&self) -> MutexGuard<'_, Option<Reporter>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends `progress` of `total`; progress must grow, so a value that does
    /// not is dropped.
    fn report(&self, progress: f64, total: f64, message: String) {
        let mut reporter = self.lock();
        let Some(reporter) = reporter.as_mut() else {
            return;
        };
        if reporter.last.is_some_and(|last| progress <= last) {
            return;
        }
        reporter.last = Some(progress);
        let note = ProgressNotificationParam::new(reporter.token.clone(), progress)
            .with_total(total)
            .with_message(message);
        let _ = reporter.sender.send(note);
    }
}

/// The telemetry sink of a served run: it tracks step boundaries, turns step
/// starts into progress notifications, then hands every event to `inner`
/// (the audit log).
pub struct CallObserver {
    inner: Arc<dyn TelemetrySink>,
    steps: Vec<String>,
    boundary: Arc<Boundary>,
    progress: ProgressLink,
}

impl CallObserver {
    /// An observer over `inner` for a skill with these step names.
    pub fn new(
        inner: Arc<dyn TelemetrySink>,
        steps: Vec<String>,
        boundary: Arc<Boundary>,
        progress: ProgressLink,
    ) -> Self {
        CallObserver {
            inner,
            steps,
            boundary,
            progress,
        }
    }

    fn observe(&self, kind: &EventKind) {
        let total = self.steps.len() as f64;
        match kind {
            EventKind::StepStarted { step, action } => {
                self.boundary.enter_step();
                let index = self.steps.iter().position(|s| s == step).unwrap_or(0);
                let message = format!("step {}/{}: {step} ({action})", index + 1, self.steps.len());
                self.progress.report(index as f64, total, message);
            }
            EventKind::StepFinished { .. } => self.boundary.leave_step(),
            EventKind::RunFinished { outcome, .. } => {
                self.progress.report(total, total, format!("run {outcome}"));
            }
            _ => {}
        }
    }
}

#[async_trait]
impl TelemetrySink for CallObserver {
    fn record(&self, event: RunEvent) {
        self.observe(&event.kind);
        self.inner.record(event);
    }

    async fn flush(&self) {
        self.inner.flush().await;
    }
}

/// Sends queued progress notifications in order until every sender is gone.
pub async fn forward(
    peer: Peer<RoleServer>,
    mut queue: mpsc::UnboundedReceiver<ProgressNotificationParam>,
) {
    while let Some(note) = queue.recv().await {
        if peer.notify_progress(note).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_during_a_step_waits_for_the_step_to_end() {
        let (boundary, interrupt) = Boundary::new();
        boundary.enter_step();
        boundary.request_stop();
        assert!(!*interrupt.borrow(), "the step in flight runs to its end");
        boundary.leave_step();
        assert!(*interrupt.borrow());
    }

    #[test]
    fn a_stop_between_steps_is_immediate() {
        let (boundary, interrupt) = Boundary::new();
        boundary.enter_step();
        boundary.leave_step();
        assert!(!*interrupt.borrow());
        boundary.request_stop();
        assert!(*interrupt.borrow());
    }
}
