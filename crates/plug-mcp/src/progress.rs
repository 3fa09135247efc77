//! The client side of the session: our `ClientHandler`, which routes
//! `notifications/progress` to the callback of the call they belong to.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rmcp::ClientHandler;
use rmcp::model::{
    ClientCapabilities, ClientConfig, Implementation, ProgressNotificationParam, ProgressToken,
    ProtocolVersion,
};
use rmcp::service::{NotificationContext, RoleClient};

/// One progress report of a running call.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// How far along (grows with each report).
    pub progress: f64,
    /// The total, when the server knows it.
    pub total: Option<f64>,
    /// A human-readable status, when sent.
    pub message: Option<String>,
}

/// The caller's progress callback. It runs on the connection's task: keep it short.
pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// Reports that arrive before their call registered are kept, up to this many tokens.
const MAX_EARLY_TOKENS: usize = 64;

#[derive(Default)]
struct Routes {
    callbacks: HashMap<ProgressToken, ProgressFn>,
    early: HashMap<ProgressToken, Vec<Progress>>,
}

/// Routes progress notifications to per-call callbacks.
#[derive(Clone, Default)]
pub struct ProgressRouter {
    routes: Arc<Mutex<Routes>>,
}

impl ProgressRouter {
    fn lock(&self) -> std::sync::MutexGuard<'_, Routes> {
        self.routes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends `token`'s reports to `callback` from now on (and any that came early).
    pub fn register(&self, token: ProgressToken, callback: ProgressFn) {
        let early = {
            let mut routes = self.lock();
            routes.callbacks.insert(token.clone(), callback.clone());
            routes.early.remove(&token).unwrap_or_default()
        };
        for report in early {
            callback(report);
        }
    }

    /// Stops routing `token`.
    pub fn unregister(&self, token: &ProgressToken) {
        let mut routes = self.lock();
        routes.callbacks.remove(token);
        routes.early.remove(token);
    }

    fn deliver(&self, token: ProgressToken, report: Progress) {
        let callback = {
            let mut routes = self.lock();
            match routes.callbacks.get(&token) {
                Some(cb) => cb.clone(),
                None => {
                    // Progress for a call nobody listens to (or not yet): keep a bounded few.
                    if routes.early.len() >= MAX_EARLY_TOKENS && !routes.early.contains_key(&token)
                    {
                        routes.early.clear();
                    }
                    let queue = routes.early.entry(token).or_default();
                    if queue.len() < 16 {
                        queue.push(report);
                    }
                    return;
                }
            }
        };
        callback(report);
    }
}

/// plugctl's `ClientHandler`: identifies the client, pins the protocol
/// version and forwards progress.
#[derive(Clone)]
pub struct PlugHandler {
    info: ClientConfig,
    /// Where progress goes.
    pub progress: ProgressRouter,
}

impl PlugHandler {
    /// A handler announcing `protocol_version`.
    pub fn new(protocol_version: ProtocolVersion) -> PlugHandler {
        let info = ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("plugctl", env!("CARGO_PKG_VERSION")),
        )
        .with_protocol_version(protocol_version);
        PlugHandler {
            info,
            progress: ProgressRouter::default(),
        }
    }
}

impl ClientHandler for PlugHandler {
    fn get_info(&self) -> ClientConfig {
        self.info.clone()
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.progress.deliver(
            params.progress_token,
            Progress {
                progress: params.progress,
                total: params.total,
                message: params.message,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::NumberOrString;

    #[test]
    fn early_reports_reach_the_callback_on_registration() {
        let router = ProgressRouter::default();
        let token = ProgressToken(NumberOrString::Number(7));
        let report = |p| Progress {
            progress: p,
            total: Some(2.0),
            message: None,
        };
        router.deliver(token.clone(), report(1.0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        router.register(
            token.clone(),
            Arc::new(move |p: Progress| sink.lock().expect("lock").push(p.progress)),
        );
        router.deliver(token.clone(), report(2.0));
        router.unregister(&token);
        router.deliver(token, report(3.0));
        assert_eq!(*seen.lock().expect("lock"), vec![1.0, 2.0]);
    }
}
