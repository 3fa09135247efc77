//! `plugctl telemetry flush | alarms`: deliver the spool, create the
//! recommended alarms, with the configured namespace, log group and endpoint.

use std::path::Path;

use plug_runtime::RunSettings;
use plug_runtime::telemetry::{flush, put_alarms};
use plug_telemetry::alarms::AlarmOptions;
use plug_telemetry::{DrainReport, Spool};

use crate::cli::Output;
use crate::cli::telemetry::TelemetryCommand;
use crate::exit::{Exit, OrUsage, Outcome, usage};
use crate::setup::settings;

/// Runs a `plugctl telemetry` subcommand.
pub fn run(command: TelemetryCommand) -> Outcome {
    match command {
        TelemetryCommand::Flush { identity, output } => {
            deliver(&settings(identity.flags())?, output)
        }
        TelemetryCommand::Alarms {
            plugin,
            error_rate,
            latency,
            long_running,
            actions,
            identity,
            output,
        } => {
            let options = AlarmOptions {
                error_rate_percent: error_rate,
                latency,
                long_running,
                actions,
                ..Default::default()
            };
            alarms(&plugin, &options, &settings(identity.flags())?, output)
        }
    }
}

fn deliver(settings: &RunSettings, output: Output) -> Outcome {
    let (report, spool) = crate::setup::async_runtime()?
        .block_on(flush(settings))
        .or_usage()?;
    Ok(print_flush(&report, &spool, output))
}

fn print_flush(report: &DrainReport, spool: &Spool, output: Output) -> Exit {
    match output {
        Output::Json => println!("{}", serde_json::to_string(report).unwrap_or_default()),
        Output::Human => print!("{}", report.summary(spool)),
    }
    crate::exit::findings_if(!report.complete())
}

fn alarms(path: &Path, options: &AlarmOptions, settings: &RunSettings, output: Output) -> Outcome {
    let plugin = plug_manifest::load_plugin(path).or_usage()?;
    let (Some(manifest), false) = (&plugin.manifest, plugin.has_failures(false)) else {
        return Err(usage(&format!(
            "{}: the plugin has errors (see `plugctl validate`)",
            path.display()
        )));
    };
    // A skill's own `timeout:` is its budget; `--long-running` for the rest.
    let skills: Vec<(String, Option<std::time::Duration>)> = (plugin.skills.iter())
        .filter_map(|s| s.skill.as_ref())
        .map(|s| (s.name.value.clone(), s.timeout))
        .collect();
    let specs = plug_telemetry::alarms::recommended(&manifest.name.value, &skills, options);
    let namespace = crate::setup::async_runtime()?
        .block_on(put_alarms(settings, &specs, options))
        .or_usage()?;
    if output == Output::Json {
        println!("{}", serde_json::to_string(&specs).unwrap_or_default());
    } else {
        for spec in &specs {
            println!("{}: {}", spec.name, spec.description);
        }
        println!("{} alarm(s) in namespace {namespace}", specs.len());
    }
    Ok(Exit::Success)
}
