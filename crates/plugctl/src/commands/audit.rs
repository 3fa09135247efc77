//! `plugctl audit`: the runs in the audit log, or one run's timeline,
//! optionally merged with what CloudTrail recorded for the run's session.

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use plug_core::event::{EventKind, now_ms};
use plug_telemetry::Record;
use plug_telemetry::cloudtrail::{self, DELIVERY_DELAY_MS, TimelineEntry};
use serde::Serialize;

use plug_runtime::RunSettings;

use crate::cli::Output;
use crate::cli::telemetry::AuditArgs;
use crate::exit::{Exit, usage};

/// One run, summarised from its events.
#[derive(Debug, Default, Serialize)]
struct RunSummary {
    run_id: String,
    plugin: String,
    skill: String,
    actor: String,
    started_ms: u64,
    outcome: Option<String>,
    duration_ms: Option<u64>,
    events: usize,
    aws_calls: usize,
}

/// Runs `plugctl audit`.
pub fn run(args: &AuditArgs) -> Exit {
    let settings = match super::settings(args.identity.flags()) {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    let path = settings.state.audit_log();
    let records = match plug_telemetry::read(&path, args.run.as_deref()) {
        Ok(r) => r,
        Err(e) if e.source.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return usage(&e.to_string()),
    };
    let Some(run_id) = &args.run else {
        print_runs(&summaries(&records), args.output, &path);
        return Exit::Success;
    };
    if records.is_empty() {
        return usage(&format!("no events of run {run_id} in {}", path.display()));
    }
    let trail = if args.cloudtrail {
        match lookup(run_id, &records, &settings) {
            Ok(events) => events,
            Err(message) => return usage(&message),
        }
    } else {
        Vec::new()
    };
    print_timeline(&cloudtrail::timeline(&records, &trail), args.output);
    Exit::Success
}

fn summaries(records: &[Record]) -> Vec<RunSummary> {
    let mut runs: BTreeMap<String, RunSummary> = BTreeMap::new();
    for record in records {
        let id = record.event.run_id.as_str().to_owned();
        let run = runs.entry(id.clone()).or_insert_with(|| RunSummary {
            run_id: id,
            started_ms: record.event.at_ms,
            ..RunSummary::default()
        });
        run.events += 1;
        match &record.event.kind {
            EventKind::RunStarted {
                plugin,
                skill,
                actor,
                ..
            } if run.plugin.is_empty() => {
                run.plugin.clone_from(plugin);
                run.skill.clone_from(skill);
                run.actor = format!("{actor:?}").to_lowercase();
            }
            EventKind::RunFinished {
                outcome,
                duration_ms,
            } => {
                run.outcome = Some(outcome.clone());
                run.duration_ms = Some(*duration_ms);
            }
            EventKind::AwsApiCalled { .. } => run.aws_calls += 1,
            _ => {}
        }
    }
    let mut list: Vec<RunSummary> = runs.into_values().collect();
    list.sort_by_key(|r| r.started_ms);
    list
}

fn lookup(
    run_id: &str,
    records: &[Record],
    settings: &RunSettings,
) -> Result<Vec<cloudtrail::TrailEvent>, String> {
    let start = records
        .first()
        .map_or(0, |r| r.event.at_ms)
        .saturating_sub(60_000);
    let end = records
        .last()
        .map_or(0, |r| r.event.at_ms)
        .saturating_add(DELIVERY_DELAY_MS)
        .min(now_ms());
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async {
        let sdk = plug_runtime::telemetry::operator_sdk(settings)
            .await
            .map_err(|e| e.to_string())?;
        let client = cloudtrail::client(&sdk, None);
        cloudtrail::lookup(&client, &format!("plugctl-{run_id}"), start, end)
            .await
            .map_err(|e| e.to_string())
    })
}

fn clock(at_ms: u64) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(at_ms)).to_string()
}

fn print_runs(runs: &[RunSummary], output: Output, audit_log: &std::path::Path) {
    if output == Output::Json {
        for run in runs {
            println!("{}", serde_json::to_string(run).unwrap_or_default());
        }
        return;
    }
    if runs.is_empty() {
        println!("no runs in {}", audit_log.display());
    }
    for run in runs {
        println!(
            "{}  {}  {}/{}  {}  {}  {} events, {} AWS calls",
            clock(run.started_ms),
            run.run_id,
            run.plugin,
            run.skill,
            run.actor,
            run.outcome.as_deref().unwrap_or("unfinished"),
            run.events,
            run.aws_calls
        );
    }
}

fn print_timeline(entries: &[TimelineEntry], output: Output) {
    for entry in entries {
        if output == Output::Json {
            println!("{}", serde_json::to_string(entry).unwrap_or_default());
            continue;
        }
        let mark = match (entry.source, entry.matched) {
            ("plugctl", Some(true)) => "  [in CloudTrail]",
            ("plugctl", Some(false)) => "  [not in CloudTrail yet]",
            ("cloudtrail", Some(false)) => "  [not in the audit log]",
            _ => "",
        };
        println!(
            "{}  {:<10}  {}{mark}",
            clock(entry.at_ms),
            entry.source,
            entry.what
        );
    }
}
