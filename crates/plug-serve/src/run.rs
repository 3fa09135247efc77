//! One `tools/call`: a run of the skill through the same path as `plugctl
//! run` (gate, hooks, journal, audit log) as `ActorType=agent`, or with
//! `dry_run` its plan. The answer carries the report as `structuredContent`
//! and a short summary as text; anything but success is `isError`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use plug_core::ports::ApprovalRequest;
use plug_core::{Actor, RunId};
use plug_runtime::approval::Mailbox;
use plug_runtime::prepare::PrepareError;
use plug_runtime::{ParamValue, Prepared, RunHost, RunInput, new_run_id};
use plug_skill::journal::{self, Entry};
use plug_skill::{Journal, RunOutcome, RunReport};
use rmcp::model::{CallToolResult, ContentBlock, JsonObject};
use rmcp::service::{RequestContext, RoleServer};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::Served;
use super::approval::{McpApprover, McpPrompter};
use super::progress::{Boundary, CallObserver, ProgressLink, forward};
use super::tools::{DRY_RUN, SkillTool};

/// Step results larger than this stay in the journal only.
const MAX_RESULT_BYTES: usize = 16 * 1024;

/// Answers one call of `tool`.
pub async fn call(
    served: &Arc<Served>,
    tool: &SkillTool,
    arguments: Option<JsonObject>,
    context: RequestContext<RoleServer>,
) -> CallToolResult {
    let (dry_run, params) = match split_arguments(tool, arguments.unwrap_or_default()) {
        Ok(split) => split,
        Err(message) => return failure(message),
    };
    // Served runs always act as the agent; a human acts only through an approval.
    let input = RunInput {
        plugin: tool.plugin_root.clone(),
        skill: tool.skill.clone(),
        params,
        actor: Actor::Agent,
        workdir: None,
        set: Vec::new(),
    };
    let run_id = if dry_run {
        RunId::new("plan")
    } else {
        new_run_id()
    };
    let run_id = match run_id {
        Ok(id) => id,
        Err(e) => return failure(e.to_string()),
    };
    match served.runtime.prepare(input, run_id) {
        Ok(prepared) if dry_run => plan(served, &prepared).await,
        Ok(Prepared {
            admission: Err(refusal),
            ..
        }) => failure(refusal.to_string()),
        Ok(prepared) => start(served, prepared, context).await,
        Err(e) => prepare_failure(e),
    }
}

/// A call the runtime refused; a plugin's findings go to the server's stderr.
fn prepare_failure(error: PrepareError) -> CallToolResult {
    if let PrepareError::Invalid { findings, .. } = &error {
        for finding in findings {
            eprintln!("{:?}", finding.to_report());
        }
    }
    failure(error.to_string())
}

/// Takes `dry_run` out and keeps the rest as typed params; an argument the
/// skill does not take is refused rather than ignored.
fn split_arguments(
    tool: &SkillTool,
    arguments: JsonObject,
) -> Result<(bool, BTreeMap<String, ParamValue>), String> {
    let mut dry_run = false;
    let mut params = BTreeMap::new();
    for (name, value) in arguments {
        if name == DRY_RUN {
            dry_run = value
                .as_bool()
                .ok_or_else(|| format!("`{DRY_RUN}` must be true or false"))?;
        } else if !tool.params.contains(&name) {
            let known: Vec<&str> = tool.params.iter().map(String::as_str).collect();
            return Err(format!(
                "{} takes no argument `{name}` (it takes: {})",
                tool.tool.name,
                known.join(", ")
            ));
        } else if !value.is_null() {
            params.insert(name, ParamValue::Typed(value.into()));
        }
    }
    Ok((dry_run, params))
}

async fn plan(served: &Served, prepared: &Prepared) -> CallToolResult {
    let plan = match served.runtime.plan(prepared).await {
        Ok(plan) => plan,
        Err(e) => return failure(e.to_string()),
    };
    let approvals = plan.actions.iter().filter(|a| a.needs_approval).count();
    let text = format!(
        "plan for {} / {}: {} step(s), {} IAM action(s), {approvals} needing a human approval; nothing ran",
        prepared.request.plugin,
        prepared.request.skill.name.value,
        plan.steps.len(),
        plan.actions.len()
    );
    let value = plug_runtime::report::plan_json(&plan, prepared);
    answer(text, value, false)
}

/// What the run task hands back.
type Finished = Result<(RunReport, std::path::PathBuf), String>;

/// Starts the run in its own task (it outlives the call when it waits for
/// `plugctl approve`), then waits for its end, a pending approval or the
/// client's cancellation.
async fn start(
    served: &Arc<Served>,
    prepared: Prepared,
    context: RequestContext<RoleServer>,
) -> CallToolResult {
    let run_id = prepared.request.run_id.clone();
    let journal = match served.runtime.create_journal(&run_id) {
        Ok(j) => j,
        Err(e) => return failure(e.to_string()),
    };
    let cancel = served.shutdown.child_token();
    let (link, forwarder) = progress_link(&context);
    let (pending_tx, mut pending) = oneshot::channel();
    let (run_host, boundary) = host(
        served,
        &prepared,
        &context,
        &cancel,
        link.clone(),
        pending_tx,
    );
    let mut done = spawn_run(
        served,
        prepared,
        journal,
        run_host,
        boundary,
        cancel.clone(),
    )
    .await;
    let mut pending_open = true;
    let result = loop {
        tokio::select! {
            finished = &mut done => break finished_result(served, finished.ok()),
            asked = &mut pending, if pending_open => {
                pending_open = false;
                if let Ok(request) = asked {
                    break pending_result(&request);
                }
            }
            () = context.ct.cancelled() => {
                cancel.cancel();
                break failure(format!("cancelled: run {run_id} stops after its current step"));
            }
        }
    };
    link.detach();
    if let Some(forwarder) = forwarder {
        let _ = forwarder.await;
    }
    result
}

/// Progress goes to the client only when it sent a token.
fn progress_link(
    context: &RequestContext<RoleServer>,
) -> (ProgressLink, Option<tokio::task::JoinHandle<()>>) {
    let Some(token) = context.meta.get_progress_token() else {
        return (ProgressLink::default(), None);
    };
    let (sender, queue) = mpsc::unbounded_channel();
    let forwarder = tokio::spawn(forward(context.peer.clone(), queue));
    (ProgressLink::new(token, sender), Some(forwarder))
}

/// The run's host: approvals and prompts through the client, events through
/// the call's observer, and a stop at the next step boundary on cancellation.
fn host(
    served: &Served,
    prepared: &Prepared,
    context: &RequestContext<RoleServer>,
    cancel: &CancellationToken,
    link: ProgressLink,
    pending: oneshot::Sender<ApprovalRequest>,
) -> (RunHost, Arc<Boundary>) {
    let settings = served.runtime.settings();
    let timeout = settings.approval_timeout;
    let peer = context.peer.clone();
    let approver = McpApprover::new(
        peer.clone(),
        Mailbox::new(settings.state.approvals()),
        prepared.request.operator.clone(),
        timeout,
        cancel.clone(),
        pending,
    );
    let steps: Vec<String> = prepared
        .request
        .skill
        .steps
        .iter()
        .map(|s| s.name.clone())
        .collect();
    let (boundary, interrupt) = Boundary::new();
    let observed = boundary.clone();
    let host = RunHost {
        approver: Arc::new(approver),
        prompter: Arc::new(McpPrompter::new(peer, timeout, cancel.clone())),
        observe: Box::new(move |audit| Arc::new(CallObserver::new(audit, steps, observed, link))),
        interrupt,
    };
    (host, boundary)
}

/// Runs in a task of its own, counted so that shutdown can wait for it.
async fn spawn_run(
    served: &Arc<Served>,
    prepared: Prepared,
    mut journal: Journal,
    host: RunHost,
    boundary: Arc<Boundary>,
    cancel: CancellationToken,
) -> oneshot::Receiver<Finished> {
    let (done_tx, done) = oneshot::channel();
    let running = served.runs.clone().read_owned().await;
    let served = served.clone();
    tokio::spawn(async move {
        let _running = running;
        let stop_now = served.stop_now.clone();
        let stopper = tokio::spawn(async move {
            cancel.cancelled().await;
            boundary.request_stop();
            stop_now.cancelled().await;
            boundary.stop_now();
        });
        eprintln!("{}", plug_runtime::report::started(&prepared, &journal));
        let report = served
            .runtime
            .perform(prepared, &mut journal, None, host)
            .await;
        stopper.abort();
        let path = journal.path().to_path_buf();
        if let Ok(report) = &report {
            eprintln!(
                "run {}: {}",
                report.run_id,
                plug_runtime::report::summary(report)
            );
        }
        let _ = done_tx.send(report.map(|r| (r, path)).map_err(|e| e.to_string()));
    });
    done
}

fn finished_result(served: &Served, finished: Option<Finished>) -> CallToolResult {
    match finished {
        Some(Ok((report, journal))) => {
            let audit_log = served.runtime.settings().state.audit_log();
            report_result(&report, &journal, &audit_log)
        }
        Some(Err(message)) => failure(message),
        None => failure("the run ended without a report".to_owned()),
    }
}

/// The report as an answer: steps with their outputs, a summary line, and
/// `isError` unless the run succeeded.
fn report_result(report: &RunReport, journal: &Path, audit_log: &Path) -> CallToolResult {
    let mut value = serde_json::to_value(report).unwrap_or(Value::Null);
    attach_outputs(&mut value, journal);
    value["journal"] = json!(journal.display().to_string());
    value["audit_log"] = json!(audit_log.display().to_string());
    let mut text = format!(
        "run {}: {}",
        report.run_id,
        plug_runtime::report::summary(report)
    );
    for step in &report.steps {
        let outcome = serde_json::to_value(step.outcome).unwrap_or(Value::Null);
        text.push_str(&format!(
            "\n  {}: {}",
            step.name,
            outcome.as_str().unwrap_or("?")
        ));
        if let Some(error) = &step.error {
            text.push_str(&format!(" ({error})"));
        }
    }
    for message in &report.messages {
        text.push_str(&format!("\nhook: {message}"));
    }
    let failed = !matches!(report.outcome, RunOutcome::Succeeded);
    answer(text, value, failed)
}

/// Adds each step's named outputs (and its result, when small) from the journal.
fn attach_outputs(report: &mut Value, journal: &Path) {
    let Ok(entries) = journal::read(journal) else {
        return;
    };
    let Some(steps) = report.get_mut("steps").and_then(Value::as_array_mut) else {
        return;
    };
    for entry in entries {
        let Entry::StepFinished {
            name,
            result,
            outputs,
            ..
        } = entry
        else {
            continue;
        };
        let Some(step) = steps.iter_mut().find(|s| s["name"] == name.as_str()) else {
            continue;
        };
        step["outputs"] = json!(outputs);
        let size = result.to_string().len();
        step["result"] = if size <= MAX_RESULT_BYTES {
            result
        } else {
            json!(format!("{size} bytes; see the journal"))
        };
    }
}

/// The run waits for `plugctl approve`: say so, and how.
fn pending_result(request: &ApprovalRequest) -> CallToolResult {
    let id = &request.run_id;
    let text = format!(
        "run {id} is waiting for a human approval: {}. Nothing more happens until a person runs \
         `plugctl approve {id}` (or `plugctl reject {id}`); the run then goes on by itself and \
         `plugctl runs` shows how it ended.",
        request.reason
    );
    let value = json!({
        "run_id": id,
        "outcome": "pending_approval",
        "reason": request.reason,
        "step": request.step,
        "actions": request.actions,
        "approve": format!("plugctl approve {id}"),
        "reject": format!("plugctl reject {id}"),
    });
    answer(text, value, false)
}

/// A summary for the agent to read, and the same facts as structured content.
fn answer(text: String, value: Value, is_error: bool) -> CallToolResult {
    let json = serde_json::to_string(&value).unwrap_or_default();
    let mut result = if is_error {
        CallToolResult::structured_error(value)
    } else {
        CallToolResult::structured(value)
    };
    result.content = vec![ContentBlock::text(text), ContentBlock::text(json)];
    result
}

/// A call that could not run at all (bad arguments, a plugin that no longer validates).
fn failure(message: String) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message)])
}
