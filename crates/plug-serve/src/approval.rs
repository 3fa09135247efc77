//! Asking the human behind the MCP client: approvals through MCP elicitation
//! when the client supports it, else through `plugctl approve <run-id>` (the
//! call then answers "pending" and the run waits on its own). Nothing goes on
//! without an answer: a dismissed form, an error or a timeout is a refusal.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use plug_core::ports::{ApprovalAnswer, ApprovalRequest, Approver, Prompter};
use rmcp::model::{ElicitRequestParams, ElicitationAction, ElicitationSchema};
use rmcp::service::{ElicitationMode, Peer, RoleServer};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use plug_runtime::approval::Mailbox;

/// Approves a served run's gates.
pub struct McpApprover {
    peer: Peer<RoleServer>,
    mailbox: Mailbox,
    operator: String,
    timeout: Duration,
    cancel: CancellationToken,
    pending: Mutex<Option<oneshot::Sender<ApprovalRequest>>>,
}

impl McpApprover {
    /// An approver asking through `peer`, answering for `operator`. `pending`
    /// learns when the run waits for `plugctl approve`; `cancel` (the call's
    /// cancellation, or the server's shutdown) ends any wait unanswered.
    pub fn new(
        peer: Peer<RoleServer>,
        mailbox: Mailbox,
        operator: String,
        timeout: Duration,
        cancel: CancellationToken,
        pending: oneshot::Sender<ApprovalRequest>,
    ) -> Self {
        McpApprover {
            peer,
            mailbox,
            operator,
            timeout,
            cancel,
            pending: Mutex::new(Some(pending)),
        }
    }

    async fn elicit(&self, request: &ApprovalRequest) -> Option<ApprovalAnswer> {
        if !supports_forms(&self.peer) {
            return None;
        }
        let params = ElicitRequestParams::FormElicitationParams {
            meta: None,
            message: question(request),
            requested_schema: approval_schema()?,
        };
        let asked = self
            .peer
            .create_elicitation_with_timeout(params, Some(self.timeout));
        let answer = tokio::select! {
            answer = asked => answer,
            () = self.cancel.cancelled() => return Some(ApprovalAnswer::Unanswered),
        };
        match answer {
            Ok(result) => Some(self.read(result.action, result.content.as_ref())),
            // A timeout is an answer (nobody said yes); a client that cannot
            // elicit after all falls back to `plugctl approve`.
            Err(rmcp::ServiceError::Timeout { .. }) => Some(ApprovalAnswer::Unanswered),
            Err(e) => {
                eprintln!("elicitation failed ({e}); waiting for `plugctl approve` instead");
                None
            }
        }
    }

    fn read(&self, action: ElicitationAction, content: Option<&Value>) -> ApprovalAnswer {
        let field = |name: &str| content.and_then(|c| c.get(name));
        let reason = field("reason")
            .and_then(Value::as_str)
            .filter(|r| !r.trim().is_empty())
            .map(str::to_owned);
        match action {
            ElicitationAction::Accept if field("approve") == Some(&Value::Bool(true)) => {
                ApprovalAnswer::Approved {
                    approver: self.operator.clone(),
                }
            }
            ElicitationAction::Accept | ElicitationAction::Decline => ApprovalAnswer::Refused {
                by: self.operator.clone(),
                reason,
            },
            // Dismissed (or an action this version does not know): no answer.
            _ => ApprovalAnswer::Unanswered,
        }
    }

    /// Waits for `plugctl approve|reject`, after telling the call it may answer.
    async fn mailbox(&self, request: &ApprovalRequest) -> ApprovalAnswer {
        let notify = self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(notify) = notify {
            let _ = notify.send(request.clone());
        }
        tokio::select! {
            answer = self.mailbox.wait(request, self.timeout) => answer,
            () = self.cancel.cancelled() => ApprovalAnswer::Unanswered,
        }
    }
}

#[async_trait]
impl Approver for McpApprover {
    async fn ask(&self, request: &ApprovalRequest) -> ApprovalAnswer {
        if self.cancel.is_cancelled() {
            return ApprovalAnswer::Unanswered;
        }
        match self.elicit(request).await {
            Some(answer) => answer,
            None => self.mailbox(request).await,
        }
    }
}

fn supports_forms(peer: &Peer<RoleServer>) -> bool {
    peer.supported_elicitation_modes()
        .contains(&ElicitationMode::Form)
}

/// The question as the human reads it in the client.
fn question(request: &ApprovalRequest) -> String {
    let mut text = format!(
        "plugctl run {} ({}) asks for a human approval: {}",
        request.run_id, request.skill, request.reason
    );
    if let Some(step) = &request.step {
        text.push_str(&format!("\nStep: {step}"));
    }
    if !request.actions.is_empty() {
        text.push_str(&format!(
            "\nIf approved, these run as you (ActorType=human): {}",
            request.actions.join(", ")
        ));
    }
    text
}

fn approval_schema() -> Option<ElicitationSchema> {
    ElicitationSchema::builder()
        .required_bool_with("approve", |b| {
            b.title("Approve").description("Let the run go on")
        })
        .optional_string_with("reason", |s| {
            s.title("Reason").description("Why (kept in the audit log)")
        })
        .build()
        .ok()
}

/// Answers `prompt` steps through elicitation. Sensitive values are never
/// asked for this way (MCP forbids it): the agent must pass them as arguments.
pub struct McpPrompter {
    peer: Peer<RoleServer>,
    timeout: Duration,
    cancel: CancellationToken,
}

impl McpPrompter {
    /// A prompter asking through `peer`.
    pub fn new(peer: Peer<RoleServer>, timeout: Duration, cancel: CancellationToken) -> Self {
        McpPrompter {
            peer,
            timeout,
            cancel,
        }
    }
}

#[async_trait]
impl Prompter for McpPrompter {
    async fn prompt(&self, message: &str, sensitive: bool) -> Option<String> {
        if sensitive || !supports_forms(&self.peer) {
            return None;
        }
        let schema = ElicitationSchema::builder()
            .required_string_with("value", |s| s.title("Value"))
            .build()
            .ok()?;
        let params = ElicitRequestParams::FormElicitationParams {
            meta: None,
            message: message.to_owned(),
            requested_schema: schema,
        };
        let asked = self
            .peer
            .create_elicitation_with_timeout(params, Some(self.timeout));
        let result = tokio::select! {
            result = asked => result.ok()?,
            () = self.cancel.cancelled() => return None,
        };
        match result.action {
            ElicitationAction::Accept => result
                .content
                .as_ref()
                .and_then(|c| c.get("value"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            _ => None,
        }
    }
}
