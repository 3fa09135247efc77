//! Run events: what telemetry sinks and the audit log receive.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::ports::Decision;
use crate::{Actor, RunId};

/// The version of the event schema; bumped on any incompatible change.
pub const EVENT_SCHEMA_VERSION: u32 = 1;

/// One thing that happened during a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunEvent {
    /// The run it belongs to.
    pub run_id: RunId,
    /// Milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// Milliseconds since the Unix epoch, the timestamp of events and journals.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl RunEvent {
    /// An event stamped with the current time.
    pub fn now(run_id: RunId, kind: EventKind) -> Self {
        RunEvent {
            run_id,
            at_ms: now_ms(),
            kind,
        }
    }
}

/// The kinds of run events. Values declared sensitive never appear in them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// A run began.
    RunStarted {
        /// Plugin name.
        plugin: String,
        /// Plugin version.
        version: String,
        /// Skill name.
        skill: String,
        /// Who it acts for.
        actor: Actor,
        /// What of deny-by-default the run waived (absent: nothing).
        #[serde(default, skip_serializing_if = "crate::Governance::is_default")]
        governance: crate::Governance,
    },
    /// A run ended.
    RunFinished {
        /// `succeeded`, `failed`, `denied`, `interrupted`, ...
        outcome: String,
        /// Wall time of the run.
        duration_ms: u64,
    },
    /// A step began.
    StepStarted {
        /// Step name.
        step: String,
        /// Step action.
        action: String,
    },
    /// A step ended.
    StepFinished {
        /// Step name.
        step: String,
        /// `succeeded`, `failed`, `skipped`.
        outcome: String,
        /// Wall time of the step.
        duration_ms: u64,
    },
    /// An IAM action was checked.
    PermissionChecked {
        /// The action.
        action: String,
        /// The decision.
        decision: Decision,
    },
    /// A hook ran.
    HookRan {
        /// The event.
        hook_event: String,
        /// The handler.
        handler: String,
        /// `ok`, `blocked`, `failed`.
        outcome: String,
        /// Wall time.
        duration_ms: u64,
    },
    /// An AWS API was called.
    AwsApiCalled {
        /// Service.
        service: String,
        /// Operation.
        operation: String,
        /// AWS request id.
        request_id: Option<String>,
        /// HTTP status, if any answer came.
        status: Option<u16>,
        /// Wall time.
        duration_ms: u64,
        /// Who made the call: the run session's principal ARN (from
        /// GetCallerIdentity when the session was established).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caller_arn: Option<String>,
        /// The AWS error code when AWS refused (`AccessDeniedException`...).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_code: Option<String>,
        /// The call's IAM action is not among the skill's declared
        /// permissions (only implied by its steps): an unexpected API call.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        undeclared: bool,
    },
    /// An MCP tool was called.
    McpToolCalled {
        /// Server.
        server: String,
        /// Tool.
        tool: String,
        /// `ok`, `error`, `timeout`, ...
        outcome: String,
        /// Whether the answer came from the cache.
        cached: bool,
        /// Wall time.
        duration_ms: u64,
    },
    /// A human was asked to approve.
    ApprovalRequested {
        /// The step, if any.
        step: Option<String>,
    },
    /// The approval was granted.
    ApprovalGranted {
        /// Who approved.
        approver: String,
    },
    /// The approval was refused or timed out.
    ApprovalRefused {
        /// Why.
        reason: String,
    },
}
