//! CloudTrail: the AWS side of a run's story.
//!
//! Every AWS call of a run is made by the role session `plugctl-<run-id>`,
//! and CloudTrail's `Username` for an assumed-role session is its session
//! name, so one LookupEvents query (paged) over the run's time window finds
//! them. [`timeline`] merges them with the local audit records, matching
//! CloudTrail events to the run's `aws_api_called` events by request id.

use aws_config::SdkConfig;
use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use aws_smithy_types::DateTime;
use plug_core::event::EventKind;
use serde::{Deserialize, Serialize};

use crate::audit::Record;

/// CloudTrail delivers events up to about 15 minutes late; the window
/// reaches that far past the run's last local event.
pub const DELIVERY_DELAY_MS: u64 = 15 * 60 * 1000;

/// One CloudTrail management event, reduced to what a timeline shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrailEvent {
    /// When AWS received the call, ms since the epoch.
    pub at_ms: u64,
    /// e.g. `lambda.amazonaws.com`.
    pub event_source: String,
    /// e.g. `UpdateFunctionCode20150331v2`.
    pub event_name: String,
    /// The session name (for a role session).
    pub username: Option<String>,
    /// AWS's request id.
    pub request_id: Option<String>,
    /// The error code, if the call failed.
    pub error_code: Option<String>,
    /// The calling principal's ARN.
    pub principal_arn: Option<String>,
    /// The session's `SourceIdentity` (the operator or approver).
    pub source_identity: Option<String>,
}

/// Why the look-up failed.
#[derive(Debug, thiserror::Error)]
#[error("CloudTrail LookupEvents: {0}")]
pub struct LookupError(String);

/// A CloudTrail client from the operator's configuration.
pub fn client(sdk: &SdkConfig, endpoint_url: Option<&str>) -> aws_sdk_cloudtrail::Client {
    let mut config = aws_sdk_cloudtrail::config::Builder::from(sdk);
    if let Some(url) = endpoint_url {
        config = config.endpoint_url(url);
    }
    aws_sdk_cloudtrail::Client::from_conf(config.build())
}

/// The events of `session_name` between `start_ms` and `end_ms`, every page.
pub async fn lookup(
    client: &aws_sdk_cloudtrail::Client,
    session_name: &str,
    start_ms: u64,
    end_ms: u64,
) -> Result<Vec<TrailEvent>, LookupError> {
    let attribute = LookupAttribute::builder()
        .attribute_key(LookupAttributeKey::Username)
        .attribute_value(session_name)
        .build()
        .map_err(|e| LookupError(e.to_string()))?;
    let millis = |ms: u64| DateTime::from_millis(i64::try_from(ms).unwrap_or(i64::MAX));
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .lookup_events()
            .lookup_attributes(attribute.clone())
            .start_time(millis(start_ms))
            .end_time(millis(end_ms))
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| {
                LookupError(aws_sdk_cloudtrail::error::DisplayErrorContext(e).to_string())
            })?;
        events.extend(page.events().iter().map(trail_event));
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => break,
        }
    }
    events.sort_by_key(|e| e.at_ms);
    Ok(events)
}

fn trail_event(event: &aws_sdk_cloudtrail::types::Event) -> TrailEvent {
    let detail: serde_json::Value = event
        .cloud_trail_event()
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default();
    let text = |pointer: &str| {
        detail
            .pointer(pointer)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    TrailEvent {
        at_ms: event
            .event_time()
            .and_then(|t| t.to_millis().ok())
            .and_then(|ms| u64::try_from(ms).ok())
            .unwrap_or(0),
        event_source: event.event_source().unwrap_or_default().to_owned(),
        event_name: event.event_name().unwrap_or_default().to_owned(),
        username: event.username().map(str::to_owned),
        request_id: text("/requestID"),
        error_code: text("/errorCode"),
        principal_arn: text("/userIdentity/arn"),
        source_identity: text("/userIdentity/sessionContext/sourceIdentity"),
    }
}

/// One line of a merged timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineEntry {
    /// When, ms since the epoch.
    pub at_ms: u64,
    /// `plugctl` (the local audit log) or `cloudtrail`.
    pub source: &'static str,
    /// A one-line description.
    pub what: String,
    /// For local AWS calls: whether CloudTrail has the same request id;
    /// for CloudTrail events: whether the run recorded the call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched: Option<bool>,
}

impl std::fmt::Display for TimelineEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mark = match (self.source, self.matched) {
            ("plugctl", Some(true)) => "  [in CloudTrail]",
            ("plugctl", Some(false)) => "  [not in CloudTrail yet]",
            ("cloudtrail", Some(false)) => "  [not in the audit log]",
            _ => "",
        };
        let at = crate::audit::clock(self.at_ms);
        write!(f, "{at}  {:<10}  {}{mark}", self.source, self.what)
    }
}

/// The run's local records and CloudTrail events in one time-ordered list.
pub fn timeline(records: &[Record], trail: &[TrailEvent]) -> Vec<TimelineEntry> {
    let trail_ids: Vec<&str> = trail
        .iter()
        .filter_map(|t| t.request_id.as_deref())
        .collect();
    let local_ids: Vec<&str> = records
        .iter()
        .filter_map(|r| match &r.event.kind {
            EventKind::AwsApiCalled { request_id, .. } => request_id.as_deref(),
            _ => None,
        })
        .collect();
    let mut entries: Vec<TimelineEntry> = records
        .iter()
        .map(|r| {
            let matched = match &r.event.kind {
                EventKind::AwsApiCalled { request_id, .. } if !trail.is_empty() => Some(
                    request_id
                        .as_deref()
                        .is_some_and(|id| trail_ids.contains(&id)),
                ),
                _ => None,
            };
            TimelineEntry {
                at_ms: r.event.at_ms,
                source: "plugctl",
                what: describe(&r.event.kind),
                matched,
            }
        })
        .collect();
    entries.extend(trail.iter().map(|t| {
        TimelineEntry {
            at_ms: t.at_ms,
            source: "cloudtrail",
            what: describe_trail(t),
            matched: Some(
                t.request_id
                    .as_deref()
                    .is_some_and(|id| local_ids.contains(&id)),
            ),
        }
    }));
    // Stable: at equal times the local record comes first.
    entries.sort_by_key(|e| e.at_ms);
    entries
}

fn describe_trail(t: &TrailEvent) -> String {
    let mut line = format!("{} {}", t.event_source, t.event_name);
    if let Some(principal) = &t.principal_arn {
        line.push_str(&format!(" by {principal}"));
    }
    if let Some(source) = &t.source_identity {
        line.push_str(&format!(" (source identity {source})"));
    }
    if let Some(code) = &t.error_code {
        line.push_str(&format!(" failed: {code}"));
    }
    line
}

/// A one-line description of a local event.
pub fn describe(kind: &EventKind) -> String {
    match kind {
        EventKind::RunStarted {
            plugin,
            version,
            skill,
            actor,
            ..
        } => {
            format!("run started: {plugin} {version} / {skill} as {actor:?}")
        }
        EventKind::RunFinished {
            outcome,
            duration_ms,
        } => {
            format!("run {outcome} after {duration_ms} ms")
        }
        EventKind::StepStarted { step, action } => format!("step {step} ({action}) started"),
        EventKind::StepFinished {
            step,
            outcome,
            duration_ms,
        } => {
            format!("step {step} {outcome} in {duration_ms} ms")
        }
        EventKind::PermissionChecked { action, decision } => format!("{action}: {decision:?}"),
        EventKind::HookRan {
            hook_event,
            handler,
            outcome,
            duration_ms,
        } => {
            format!("hook {hook_event} `{handler}` {outcome} in {duration_ms} ms")
        }
        EventKind::AwsApiCalled {
            service,
            operation,
            request_id,
            status,
            duration_ms,
            ..
        } => {
            let status = status.map_or_else(|| "no answer".to_owned(), |s| format!("HTTP {s}"));
            let id = request_id.as_deref().unwrap_or("none");
            format!("AWS {service}.{operation}: {status} in {duration_ms} ms (request id {id})")
        }
        EventKind::McpToolCalled {
            server,
            tool,
            outcome,
            cached,
            duration_ms,
        } => {
            let cached = if *cached { ", cached" } else { "" };
            format!("MCP {server}/{tool}: {outcome}{cached} in {duration_ms} ms")
        }
        EventKind::ApprovalRequested { step } => match step {
            Some(step) => format!("approval requested for step {step}"),
            None => "approval requested".to_owned(),
        },
        EventKind::ApprovalGranted { approver } => format!("approved by {approver}"),
        EventKind::ApprovalRefused { reason } => format!("approval refused: {reason}"),
    }
}
