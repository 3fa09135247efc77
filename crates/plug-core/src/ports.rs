//! The ports: traits through which the interpreter reaches the outside world.
//!
//! Each port is implemented for real by one crate (named on the trait) and by
//! in-memory fakes in the interpreter's unit tests. Ports take and return plain
//! data from this crate so that no implementation detail (the AWS SDK, rmcp,
//! process handles) leaks into the interpreter.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::event::RunEvent;
use crate::{Actor, RunId, Value};

// ---------------------------------------------------------------- permissions

/// A context value of an IAM request: AWS distinguishes single- and multi-valued keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ContextValue {
    /// A single-valued key such as `aws:PrincipalTag/ActorType`.
    One(String),
    /// A multi-valued key such as `aws:TagKeys`.
    Many(Vec<String>),
}

/// One authorization question: may `principal` do `action` on `resource`?
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionRequest {
    /// The caller's ARN (user, role, assumed-role session, ...) or `anonymous`.
    pub principal: String,
    /// The IAM action, `service:Action`.
    pub action: String,
    /// The resource ARN, or `*`.
    pub resource: String,
    /// The account that owns the resource, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_account: Option<String>,
    /// Condition context keys and their values.
    #[serde(default)]
    pub context: BTreeMap<String, ContextValue>,
}

/// The outcome of an IAM evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Decision {
    /// Some policy allowed the request and every guard layer let it through.
    Allow,
    /// A statement with `Effect: Deny` matched.
    ExplicitDeny,
    /// Nothing allowed the request (the default).
    ImplicitDeny,
}

/// A kind of policy that takes part in an evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PolicyLayer {
    /// Policies attached to the principal.
    Identity,
    /// The policy attached to the resource.
    Resource,
    /// The principal's permissions boundary.
    PermissionsBoundary,
    /// The policy passed when the session was created.
    SessionPolicy,
    /// Organization service control policies.
    #[serde(rename = "scp")]
    Scp,
    /// Organization resource control policies.
    #[serde(rename = "rcp")]
    Rcp,
    /// A rule AWS applies whatever the policies say (an AWS managed policy
    /// cannot be changed, `sts:GetCallerIdentity` needs no permission, ...).
    #[serde(rename = "aws")]
    Aws,
}

/// A statement that contributed to a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecidingStatement {
    /// Where the policy came from, e.g. `identityPolicies[0]` or a file name.
    pub policy: String,
    /// The statement's position in its policy.
    pub index: usize,
    /// The statement's `Sid`, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// `Allow` or `Deny`.
    pub effect: String,
}

/// A decision with its explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionVerdict {
    /// The decision.
    pub decision: Decision,
    /// The layers that did not allow the request (empty on `Allow`).
    pub blocked_by: Vec<PolicyLayer>,
    /// The statements that decided it.
    pub statements: Vec<DecidingStatement>,
}

/// Why a permission question could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum PermissionError {
    /// The policies could not be loaded or fetched.
    #[error("policies unavailable: {0}")]
    PoliciesUnavailable(String),
    /// The request itself cannot be evaluated (e.g. a principal in no known form).
    #[error("invalid permission request: {0}")]
    InvalidRequest(String),
}

/// Decides IAM requests. Real implementation: `plug-policy`.
///
/// Synchronous on purpose: evaluation is pure computation over policies that
/// were loaded (or fetched from IAM) before the run started.
pub trait PermissionChecker: Send + Sync {
    /// Evaluates one request.
    fn check(&self, request: &PermissionRequest) -> Result<PermissionVerdict, PermissionError>;
}

// ---------------------------------------------------------------- AWS

/// One AWS API call, named as botocore names it or as the API does.
#[derive(Debug, Clone, PartialEq)]
pub struct AwsCall {
    /// The service, e.g. `lambda`.
    pub service: String,
    /// The operation, `update_function_code` or `UpdateFunctionCode`.
    pub operation: String,
    /// The operation's input members.
    pub params: Value,
    /// A region other than the run's default.
    pub region: Option<String>,
}

/// A successful AWS response.
#[derive(Debug, Clone, PartialEq)]
pub struct AwsResponse {
    /// The parsed output (timestamps ISO-8601, blobs as bytes).
    pub output: Value,
    /// AWS's request id, for CloudTrail and support cases.
    pub request_id: Option<String>,
    /// The HTTP status.
    pub status: u16,
}

/// Why an AWS call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AwsError {
    /// AWS answered with an error; `code` is what a skill's `fallback` can match.
    #[error("{code}: {message} (HTTP {status}, request id {})", request_id.as_deref().unwrap_or("none"))]
    Service {
        /// The AWS error code, e.g. `ResourceNotFoundException`.
        code: String,
        /// AWS's message.
        message: String,
        /// The HTTP status.
        status: u16,
        /// AWS's request id.
        request_id: Option<String>,
    },
    /// The call never got an answer (connection, timeout, DNS).
    #[error("AWS endpoint unreachable: {0}")]
    Transport(String),
    /// The call was rejected before sending (unknown operation, bad params).
    #[error("invalid AWS call: {0}")]
    Invalid(String),
}

/// Calls AWS operations by name. Real implementation: `plug-aws`.
#[async_trait]
pub trait AwsInvoker: Send + Sync {
    /// Performs one call with the run's current identity.
    async fn call(&self, call: &AwsCall) -> Result<AwsResponse, AwsError>;

    /// The principal the calls are made as, when known (for the audit log).
    fn caller_arn(&self) -> Option<String> {
        None
    }

    /// The session as the standard AWS environment variables (temporary
    /// credentials, region, endpoints) for a child process that acts as it:
    /// a `run_command` step that declares `aws: true`. An invoker that cannot
    /// hand its credentials out refuses, so the child never falls back to
    /// another identity.
    async fn child_env(&self) -> Result<BTreeMap<String, String>, AwsError> {
        Err(AwsError::Invalid(
            "this AWS session cannot be given to a command".to_owned(),
        ))
    }
}

/// Hands out an [`AwsInvoker`] bound to an actor's session. Real implementation: `plug-aws`.
///
/// A run starts as the agent; when a human approves a gated step, the rest of
/// the run uses a session tagged `ActorType=human` with the approver as
/// `SourceIdentity`, so CloudTrail shows who allowed it.
#[async_trait]
pub trait AwsSessions: Send + Sync {
    /// The invoker for `actor`, with `source_identity` recorded on the session.
    async fn invoker(
        &self,
        actor: Actor,
        source_identity: &str,
    ) -> Result<std::sync::Arc<dyn AwsInvoker>, AwsError>;
}

// ---------------------------------------------------------------- MCP

/// One MCP `tools/call` on a named server of the plugin.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    /// The server's name in the plugin.
    pub server: String,
    /// The tool's name.
    pub tool: String,
    /// The tool's arguments (a JSON object).
    pub arguments: serde_json::Value,
    /// The enclosing span, sent as `traceparent` in the request's `_meta`
    /// (and as an HTTP header over Streamable HTTP); `None` outside a run.
    pub trace: Option<crate::TraceContext>,
}

/// What a tool answered.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolResult {
    /// The `content` blocks, as the server sent them.
    pub content: Vec<serde_json::Value>,
    /// The `structuredContent`, when the server sent one.
    pub structured: Option<serde_json::Value>,
    /// `isError`: the tool ran but reported failure.
    pub is_error: bool,
    /// Set when the answer came from the cache because the server was unreachable.
    pub cached_age: Option<Duration>,
}

/// Why a tool call got no answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ToolError {
    /// The plugin declares no server by that name.
    #[error("no MCP server named `{0}` in this plugin")]
    UnknownServer(String),
    /// The server could not be started or reached.
    #[error("MCP server `{server}` unreachable: {reason}")]
    Unreachable {
        /// The server.
        server: String,
        /// What went wrong.
        reason: String,
    },
    /// The call took longer than its timeout.
    #[error("MCP call timed out after {0:?}")]
    Timeout(Duration),
    /// The server broke the protocol or answered with a JSON-RPC error.
    #[error("MCP protocol error: {0}")]
    Protocol(String),
}

/// Calls MCP tools. Real implementation: `plug-mcp`.
#[async_trait]
pub trait ToolCaller: Send + Sync {
    /// Calls one tool.
    async fn call_tool(&self, call: &ToolCall) -> Result<ToolResult, ToolError>;
}

// ---------------------------------------------------------------- hooks

/// What a hook is told: the only thing it sees of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HookInput {
    /// The lifecycle event, e.g. `pre_deploy`.
    pub event: String,
    /// The run.
    pub run_id: RunId,
    /// The plugin's name.
    pub plugin: String,
    /// The skill's name.
    pub skill: String,
    /// The step, for step events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// The step's action, used as the tool name for Claude-style matchers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The run's parameters, sensitive ones already redacted.
    pub params: serde_json::Value,
    /// Who the run acts for.
    pub actor: Actor,
    /// The enclosing span, given to command hooks as `TRACEPARENT` and to
    /// HTTP hooks as a `traceparent` header; not part of the JSON they read.
    #[serde(skip)]
    pub trace: Option<crate::TraceContext>,
}

/// The combined answer of the hooks of one event.
#[derive(Debug, Clone, PartialEq)]
pub enum HookDecision {
    /// Go on, possibly with replaced step input and messages for the operator.
    Continue {
        /// Replacement input for the step (`updatedInput`).
        updated_input: Option<serde_json::Value>,
        /// `systemMessage`s and warnings from non-critical failures.
        messages: Vec<String>,
    },
    /// Do not run the step or skill; the reasons, in a stable order.
    Block {
        /// Why.
        reasons: Vec<String>,
    },
}

/// Why hooks could not be dispatched at all, or a critical hook failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HookError {
    /// A critical hook crashed, timed out or answered garbage.
    #[error("critical hook `{hook}` failed: {reason}")]
    CriticalFailure {
        /// The hook's handler.
        hook: String,
        /// What happened, with the hook's stderr.
        reason: String,
    },
}

/// Dispatches lifecycle events to the plugin's hooks. Real implementation: `plug-hooks`.
#[async_trait]
pub trait HookHost: Send + Sync {
    /// Runs the hooks matching `input.event` and combines their decisions.
    async fn dispatch(&self, input: &HookInput) -> Result<HookDecision, HookError>;
}

// ---------------------------------------------------------------- telemetry

/// Records run events. Real implementation: `plug-telemetry`.
#[async_trait]
pub trait TelemetrySink: Send + Sync {
    /// Records an event without blocking the run.
    fn record(&self, event: RunEvent);
    /// Delivers or spools everything recorded so far.
    async fn flush(&self);
}

// ---------------------------------------------------------------- commands

/// A command to run without a shell.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandSpec {
    /// Program and arguments; parameters arrive here as whole elements.
    pub argv: Vec<String>,
    /// The complete environment of the child.
    pub env: BTreeMap<String, String>,
    /// Working directory.
    pub cwd: PathBuf,
    /// Kill the command after this long.
    pub timeout: Duration,
    /// Keep at most this many bytes of stdout and of stderr.
    pub max_output: usize,
}

/// What a command did.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandOutput {
    /// The exit code; `None` when killed by a signal or the timeout.
    pub exit_code: Option<i32>,
    /// Captured stdout, cut at the limit.
    pub stdout: Vec<u8>,
    /// Captured stderr, cut at the limit.
    pub stderr: Vec<u8>,
    /// Whether output was cut.
    pub truncated: bool,
    /// Whether the timeout killed it.
    pub timed_out: bool,
}

/// Why a command could not be run at all.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The program was not found or could not be started.
    #[error("cannot start `{program}`: {reason}")]
    Spawn {
        /// The program.
        program: String,
        /// The OS error.
        reason: String,
    },
}

/// Runs commands. Real implementation: `plug-skill` (tokio::process).
#[async_trait]
pub trait CommandRunner: Send + Sync {
    /// Runs one command to completion (or timeout).
    async fn run(&self, spec: &CommandSpec) -> Result<CommandOutput, CommandError>;
}

// ---------------------------------------------------------------- approvals

/// A question for a human.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRequest {
    /// The run.
    pub run_id: RunId,
    /// The skill.
    pub skill: String,
    /// The step that needs approval, if any.
    pub step: Option<String>,
    /// Why approval is needed (an `approval` step's message, or the gated actions).
    pub reason: String,
    /// IAM actions that will run with a human-tagged session if approved.
    pub actions: Vec<String>,
    /// Who may approve (an `approval` step's `approvers`); empty: anyone
    /// the approver port accepts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvers: Vec<String>,
}

/// A human's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum ApprovalAnswer {
    /// Approved by the named person (becomes the session's `SourceIdentity`).
    Approved {
        /// Who approved.
        approver: String,
    },
    /// Refused.
    Refused {
        /// Who refused.
        by: String,
        /// Why, if they said.
        reason: Option<String>,
    },
    /// Nobody answered in time; treated as a refusal (fail closed).
    Unanswered,
}

/// Asks a human. Real implementation: `plugctl` (terminal prompt or approvals file).
#[async_trait]
pub trait Approver: Send + Sync {
    /// Asks and waits for an answer; must return `Unanswered` rather than guess.
    async fn ask(&self, request: &ApprovalRequest) -> ApprovalAnswer;
}

// ---------------------------------------------------------------- operator input

/// Asks the operator for a value (a skill's `prompt` step).
#[async_trait]
pub trait Prompter: Send + Sync {
    /// Asks `message`; `None` when nobody can answer (not interactive).
    async fn prompt(&self, message: &str, sensitive: bool) -> Option<String>;
}
