//! What `plugctl worker`, `submit`, `store create` and `runs --store` do,
//! so the binary only translates its flags: the fleet's AWS parts reached
//! as the operator, and the worker loop stopped by SIGINT or SIGTERM.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use plug_aws::AwsClient;
use plug_aws::identity::Session;
use plug_runtime::{RunSettings, Runtime};

use crate::queue::{Queue, RunRequestMessage};
use crate::worker::Worker;
use crate::{FleetError, RunRecord, RunTable};

/// The table name of `dynamodb://TABLE`.
fn table_name(store: &str) -> Result<&str, FleetError> {
    store
        .strip_prefix("dynamodb://")
        .filter(|n| !n.is_empty() && !n.contains('/'))
        .ok_or_else(|| {
            FleetError::Request(format!("`{store}` is not a run table (dynamodb://TABLE)"))
        })
}

/// The queue at `url` and, when named, the run table `store`
/// (`dynamodb://TABLE`), reached as the operator through one session.
pub async fn connect(
    settings: &RunSettings,
    url: &str,
    store: Option<&str>,
) -> Result<(Queue, Option<RunTable>), FleetError> {
    let name = store.map(table_name).transpose()?;
    let session = operator_session(settings).await?;
    let table = match name {
        Some(name) => Some(RunTable::new(AwsClient::new(session.clone())?, name)),
        None => None,
    };
    Ok((Queue::new(AwsClient::new(session)?, url), table))
}

/// Creates the run table `dynamodb://TABLE` names (on-demand capacity).
pub async fn create_table(settings: &RunSettings, store: &str) -> Result<(), FleetError> {
    let name = table_name(store)?;
    let client = AwsClient::new(operator_session(settings).await?)?;
    RunTable::new(client, name).create().await
}

async fn operator_session(settings: &RunSettings) -> Result<Arc<Session>, FleetError> {
    let session = Session::establish(settings.identity.operator_config())
        .await
        .map_err(|e| plug_core::ports::AwsError::Transport(e.to_string()))?;
    Ok(Arc::new(session))
}

/// `plugctl worker`: connects to the queue at `url` and the run table
/// `store`, then [`work`]s.
pub async fn serve_worker(
    runtime: Runtime,
    (url, store): (&str, &str),
    concurrency: usize,
    lease: Duration,
) -> Result<(), FleetError> {
    let (queue, table) = connect(runtime.settings(), url, Some(store)).await?;
    let table = table.ok_or_else(|| FleetError::Request("no run table".into()))?;
    work(runtime, (table, queue), concurrency, lease).await
}

/// Runs `concurrency` workers on `queue` and `table` until SIGINT or
/// SIGTERM; the runs in hand are finished first. Deny by default: a worker
/// runs skills others ask for, so it needs an allow-list (`--allow`,
/// `allow:` or `--allow-all`), as `serve` does.
pub async fn work(
    runtime: Runtime,
    (table, queue): (RunTable, Queue),
    concurrency: usize,
    lease: Duration,
) -> Result<(), FleetError> {
    if matches!(
        runtime.settings().governance.allow,
        plug_runtime::governance::AllowList::Unset
    ) {
        return Err(FleetError::Request(
            "a worker runs the skills others ask for: name the ones it may run with --allow (or --allow-all)".into(),
        ));
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        plug_runtime::signals::stop_requested().await;
        eprintln!("plugctl worker: stopping; runs in hand finish first");
        let _ = stop.send(true);
    });
    let (runtime, table, queue) = (Arc::new(runtime), Arc::new(table), Arc::new(queue));
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".into());
    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|n| {
            let worker = Worker {
                runtime: runtime.clone(),
                table: table.clone(),
                queue: queue.clone(),
                owner: format!("{host}-{}-{n}", std::process::id()),
                lease,
                wait_s: 20,
            };
            let stopped = stopped.clone();
            tokio::spawn(async move { worker.run(stopped).await })
        })
        .collect();
    for worker in workers {
        worker
            .await
            .map_err(|e| FleetError::Request(format!("a worker stopped: {e}")))??;
    }
    Ok(())
}

/// What `plugctl submit` asks: a run of `skill` of the plugin folder
/// `plugin`, with `--param` text params, on the queue at `queue`, recorded
/// in the run table `store` when one is named (and followed to its end
/// with `wait`).
pub struct Submission {
    /// The plugin folder.
    pub plugin: PathBuf,
    /// The skill.
    pub skill: String,
    /// Params as `--param` gives them.
    pub params: Vec<(String, String)>,
    /// The queue URL.
    pub queue: String,
    /// The run table, `dynamodb://TABLE`.
    pub store: Option<String>,
    /// Follow the run to its end.
    pub wait: bool,
}

/// Sends `submission` as the operator; the run as it stands.
pub async fn submit_as_operator(
    settings: &RunSettings,
    submission: Submission,
) -> Result<RunRecord, FleetError> {
    let (queue, table) = connect(settings, &submission.queue, submission.store.as_deref()).await?;
    let params = (submission.params.into_iter())
        .map(|(k, v)| (k, serde_json::Value::String(v)))
        .collect();
    let what = (submission.plugin, submission.skill);
    submit(&queue, table.as_ref(), what, params, submission.wait).await
}

/// Enqueues a run of `skill` of the plugin folder `plugin` and records it
/// as queued; with `wait`, follows it to its end. Returns the run.
pub async fn submit(
    queue: &Queue,
    table: Option<&RunTable>,
    (plugin, skill): (PathBuf, String),
    params: std::collections::BTreeMap<String, serde_json::Value>,
    wait: bool,
) -> Result<RunRecord, FleetError> {
    let run_id = plug_runtime::new_run_id().map_err(|e| FleetError::Request(e.to_string()))?;
    let plugin = std::fs::canonicalize(&plugin).unwrap_or(plugin);
    let request = RunRequestMessage {
        run_id: run_id.as_str().to_owned(),
        plugin: plugin.clone(),
        skill: skill.clone(),
        params,
        requester: plug_runtime::state::current_user(),
    };
    let mut record = RunRecord {
        run_id: request.run_id.clone(),
        plugin: plugin.display().to_string(),
        skill,
        state: "queued".into(),
    };
    if let Some(table) = table {
        table.put_run(&record).await?;
    }
    queue.send(&request).await?;
    if let (true, Some(table)) = (wait, table) {
        record.state = follow(table, &record.run_id).await?;
    }
    Ok(record)
}

/// Waits until the run leaves `queued` and `running`; its state then.
async fn follow(table: &RunTable, run_id: &str) -> Result<String, FleetError> {
    loop {
        let runs = table.runs().await?;
        let state = runs
            .into_iter()
            .find(|r| r.run_id == run_id)
            .map(|r| r.state);
        match state.as_deref() {
            Some("queued" | "running") | None => {
                tokio::time::sleep(Duration::from_millis(500)).await
            }
            Some(done) => return Ok(done.to_owned()),
        }
    }
}
