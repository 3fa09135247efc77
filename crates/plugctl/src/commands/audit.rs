//! `plugctl audit`: the runs in the audit log, or one run's timeline,
//! optionally merged with what CloudTrail recorded for the run's session.

use plug_telemetry::Record;
use plug_telemetry::audit::{RunSummary, summaries};
use plug_telemetry::cloudtrail::{self, TimelineEntry};

use plug_runtime::RunSettings;

use crate::cli::Output;
use crate::cli::telemetry::AuditArgs;
use crate::exit::{Exit, OrUsage, Outcome, usage};

/// Runs `plugctl audit`.
pub fn run(args: &AuditArgs) -> Outcome {
    let settings = crate::setup::settings(args.identity.flags())?;
    let path = settings.state.audit_log();
    let records = match plug_telemetry::read(&path, args.run.as_deref()) {
        Ok(found) => {
            if found.skipped > 0 {
                let lines = found.skipped;
                eprintln!(
                    "warning: skipped {lines} torn line(s) in {}",
                    path.display()
                );
            }
            found.records
        }
        Err(e) if e.source.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(usage(&e.to_string())),
    };
    let Some(run_id) = &args.run else {
        print_runs(&summaries(&records), args.output, &path);
        return Ok(Exit::Success);
    };
    if records.is_empty() {
        let message = format!("no events of run {run_id} in {}", path.display());
        return Err(usage(&message));
    }
    let trail = match args.cloudtrail {
        true => lookup(run_id, &records, &settings).or_usage()?,
        false => Vec::new(),
    };
    print_timeline(&cloudtrail::timeline(&records, &trail), args.output);
    Ok(Exit::Success)
}

fn lookup(
    run_id: &str,
    records: &[Record],
    settings: &RunSettings,
) -> Result<Vec<cloudtrail::TrailEvent>, String> {
    let run_id = plug_core::RunId::new(run_id).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    (runtime.block_on(plug_runtime::telemetry::cloudtrail_of_run(
        settings, &run_id, records,
    )))
    .map_err(|e| e.to_string())
}

fn print_runs(runs: &[RunSummary], output: Output, audit_log: &std::path::Path) {
    if runs.is_empty() && output == Output::Human {
        println!("no runs in {}", audit_log.display());
    }
    for run in runs {
        match output {
            Output::Json => println!("{}", serde_json::to_string(run).unwrap_or_default()),
            Output::Human => println!("{run}"),
        }
    }
}

fn print_timeline(entries: &[TimelineEntry], output: Output) {
    for entry in entries {
        match output {
            Output::Json => println!("{}", serde_json::to_string(entry).unwrap_or_default()),
            Output::Human => println!("{entry}"),
        }
    }
}
