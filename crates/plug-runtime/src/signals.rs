//! What asks a run to stop: Ctrl-C (SIGINT) and SIGTERM, the signal service
//! managers, `kill` and container runtimes send. Both are handled alike by
//! every front end: the run stops at its next step boundary, is journaled
//! as interrupted, and can be resumed.

use tokio::signal::unix::{Signal, SignalKind, signal};

/// Listens for SIGINT and SIGTERM from its creation on, so that a signal
/// that comes while the first is being handled is not missed. A handler
/// that cannot be installed leaves that signal its default action.
pub struct StopSignals {
    terminate: Option<Signal>,
    interrupt: Option<Signal>,
}

impl StopSignals {
    /// Starts listening. Needs a tokio runtime.
    pub fn listen() -> StopSignals {
        StopSignals {
            terminate: signal(SignalKind::terminate()).ok(),
            interrupt: signal(SignalKind::interrupt()).ok(),
        }
    }

    /// Resolves at the next SIGINT or SIGTERM.
    pub async fn recv(&mut self) {
        async fn next(signal: &mut Option<Signal>) {
            let received = match signal {
                Some(signal) => signal.recv().await.is_some(),
                None => false,
            };
            if !received {
                std::future::pending::<()>().await;
            }
        }
        tokio::select! {
            () = next(&mut self.terminate) => {}
            () = next(&mut self.interrupt) => {}
        }
    }
}

/// Resolves when the process receives SIGINT or SIGTERM.
pub async fn stop_requested() {
    StopSignals::listen().recv().await;
}
