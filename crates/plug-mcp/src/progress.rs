//! The client side of the session: our `ClientHandler`, which routes
//! `notifications/progress` to the callback of the call they belong to and
//! hands `elicitation/create` to the application, when it takes them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rmcp::ClientHandler;
use rmcp::model::{
    ClientCapabilities, ClientConfig, ElicitRequestParams, ElicitResult, ElicitationAction,
    ElicitationCapability, ErrorData, FormElicitationCapability, Implementation,
    ProgressNotificationParam, ProgressToken, ProtocolVersion,
};
use rmcp::service::{NotificationContext, RequestContext, RoleClient};
use serde_json::Value;

use crate::elicitation::{ElicitFn, ElicitationAnswer, ElicitationRequest, with_defaults};

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
/// version, forwards progress and, when given an [`ElicitFn`], elicitations.
#[derive(Clone)]
pub struct PlugHandler {
    info: ClientConfig,
    /// Where progress goes.
    pub progress: ProgressRouter,
    server: String,
    elicitation: Option<ElicitFn>,
}

impl PlugHandler {
    /// A handler for `server` announcing `protocol_version`; form-mode
    /// elicitation is announced only when `elicitation` is given.
    pub fn new(
        server: &str,
        protocol_version: ProtocolVersion,
        elicitation: Option<ElicitFn>,
    ) -> PlugHandler {
        let mut capabilities = ClientCapabilities::default();
        if elicitation.is_some() {
            capabilities.elicitation =
                Some(ElicitationCapability::new().with_form(FormElicitationCapability::new()));
        }
        let info = ClientConfig::new(
            capabilities,
            Implementation::new("plugctl", env!("CARGO_PKG_VERSION")),
        )
        .with_protocol_version(protocol_version);
        PlugHandler {
            info,
            progress: ProgressRouter::default(),
            server: server.to_owned(),
            elicitation,
        }
    }
}

impl ClientHandler for PlugHandler {
    fn get_info(&self) -> ClientConfig {
        self.info.clone()
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        let (
            Some(ask),
            ElicitRequestParams::FormElicitationParams {
                message,
                requested_schema,
                ..
            },
        ) = (&self.elicitation, request)
        else {
            return Ok(ElicitResult::new(ElicitationAction::Decline));
        };
        let schema = serde_json::to_value(&requested_schema).unwrap_or(Value::Null);
        let answer = ask(ElicitationRequest {
            server: self.server.clone(),
            message,
            schema: schema.clone(),
        })
        .await;
        Ok(match answer {
            ElicitationAnswer::Accept(content) => ElicitResult::new(ElicitationAction::Accept)
                .with_content(Value::Object(with_defaults(&schema, content))),
            ElicitationAnswer::Decline => ElicitResult::new(ElicitationAction::Decline),
            ElicitationAnswer::Cancel => ElicitResult::new(ElicitationAction::Cancel),
        })
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
