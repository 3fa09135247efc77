//! `plugctl telemetry flush | alarms`, and the telemetry every run records to.

use super::usage;
use std::path::PathBuf;
use std::sync::Arc;

use plug_telemetry::{CloudWatch, DrainReport, Redactor, Spool, Telemetry, TelemetryOptions};

use crate::cli::Output;
use crate::exit::Exit;

/// The spool folder of remote telemetry.
pub fn spool_dir() -> PathBuf {
    crate::state::state_dir().join("spool")
}

/// The operator's AWS configuration for publishing, when CloudWatch is on and
/// a region is known (without a region there is nowhere to publish to).
async fn publishing_config(
    identity: &plug_aws::IdentityConfig,
) -> Option<(aws_config::SdkConfig, plug_telemetry::CloudWatchConfig)> {
    let settings = crate::config::telemetry();
    if !settings.cloudwatch {
        return None;
    }
    let base = plug_aws::IdentityConfig {
        role: None,
        ..identity.clone()
    };
    let sdk = plug_aws::identity::sdk_config(&base).await;
    sdk.region()?;
    Some((sdk, settings.target))
}

/// Starts the telemetry of a run: audit log always, CloudWatch when
/// configured. `secrets` are values no output may contain.
pub async fn start_for_run(
    identity: &plug_aws::IdentityConfig,
    secrets: &[String],
) -> Result<Arc<Telemetry>, String> {
    let mut redactor = Redactor::from_env();
    for secret in secrets {
        redactor.add_secret(secret);
    }
    let options = TelemetryOptions {
        redactor,
        cloudwatch: publishing_config(identity).await,
        ..TelemetryOptions::local(&crate::state::audit_log(), &spool_dir())
    };
    Telemetry::start(options)
        .map(Arc::new)
        .map_err(|e| e.to_string())
}

/// `plugctl telemetry flush`: delivers the spool now.
pub fn flush(identity: &crate::cli_run::IdentityArgs, output: Output) -> Exit {
    let runtime = match super::async_runtime() {
        Ok(rt) => rt,
        Err(exit) => return exit,
    };
    runtime.block_on(async {
        let config = identity_config(identity);
        let Some((sdk, target)) = publishing_config(&config).await else {
            return usage(
                "CloudWatch publishing is off (PLUGCTL_TELEMETRY=local, or no AWS region configured)",
            );
        };
        let spool = Spool::new(&spool_dir());
        match plug_telemetry::drain(&spool, &CloudWatch::new(&sdk, &target)).await {
            Ok(report) => print_flush(&report, &spool, output),
            Err(e) => usage(&e.to_string()),
        }
    })
}

fn print_flush(report: &DrainReport, spool: &Spool, output: Output) -> Exit {
    if output == Output::Json {
        println!("{}", serde_json::to_string(report).unwrap_or_default());
    } else if report.busy {
        println!(
            "another plugctl is delivering this spool; {} call(s) pending",
            report.pending
        );
    } else {
        println!(
            "delivered {} PutMetricData and {} PutLogEvents call(s) ({} log events); {} pending, {} rejected",
            report.metric_calls,
            report.log_calls,
            report.log_events,
            report.pending,
            report.rejected
        );
        if let Some(reason) = &report.stopped {
            println!("stopped: {reason}");
        }
        let dead = spool.dead();
        if !dead.is_empty() {
            println!(
                "{} rejected call(s) kept in {}",
                dead.len(),
                spool.dir().join("dead").display()
            );
        }
    }
    if report.pending == 0 && !report.busy {
        Exit::Success
    } else {
        Exit::Findings
    }
}

/// The identity arguments as the AWS layer's configuration (no role: the
/// runtime publishes as the operator).
pub fn identity_config(identity: &crate::cli_run::IdentityArgs) -> plug_aws::IdentityConfig {
    plug_aws::IdentityConfig {
        profile: identity.profile.clone(),
        region: identity.region.clone(),
        ..Default::default()
    }
}

/// `plugctl telemetry` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum TelemetryCommand {
    /// Deliver spooled CloudWatch metrics and log events now (runs also do it on their own).
    Flush {
        /// AWS identity (the runtime publishes as the operator).
        #[command(flatten)]
        identity: crate::cli_run::IdentityArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Output::Human)]
        output: Output,
    },
    /// Create (or update) the recommended CloudWatch alarms for a plugin's skills.
    Alarms {
        /// A plugin folder or manifest file.
        plugin: PathBuf,
        /// Alarm when more than this percentage of runs fail in a period.
        #[arg(long, default_value_t = 10.0)]
        error_rate: f64,
        /// Alarm when runs take longer than this on average.
        #[arg(long, default_value = "2m", value_parser = humantime::parse_duration)]
        latency: std::time::Duration,
        /// A long-running run, for skills without a timeout.
        #[arg(long, default_value = "30m", value_parser = humantime::parse_duration)]
        long_running: std::time::Duration,
        /// An alarm action, e.g. an SNS topic ARN (repeatable).
        #[arg(long = "action", value_name = "ARN")]
        actions: Vec<String>,
        /// AWS identity.
        #[command(flatten)]
        identity: crate::cli_run::IdentityArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Output::Human)]
        output: Output,
    },
}

/// Runs a `plugctl telemetry` subcommand.
pub fn run(command: TelemetryCommand) -> Exit {
    match command {
        TelemetryCommand::Flush { identity, output } => flush(&identity, output),
        TelemetryCommand::Alarms {
            plugin,
            error_rate,
            latency,
            long_running,
            actions,
            identity,
            output,
        } => {
            let options = plug_telemetry::alarms::AlarmOptions {
                error_rate_percent: error_rate,
                latency,
                long_running,
                actions,
                ..Default::default()
            };
            alarms(&plugin, &options, &identity, output)
        }
    }
}

fn alarms(
    path: &std::path::Path,
    options: &plug_telemetry::alarms::AlarmOptions,
    identity: &crate::cli_run::IdentityArgs,
    output: Output,
) -> Exit {
    let plugin = match plug_manifest::load_plugin(path) {
        Ok(p) => p,
        Err(e) => return usage(&e.to_string()),
    };
    let (Some(manifest), false) = (&plugin.manifest, plugin.has_failures(false)) else {
        return usage(&format!(
            "{}: the plugin has errors (see `plugctl validate`)",
            path.display()
        ));
    };
    // Skills have no run-wide timeout of their own; `--long-running` is the budget.
    let skills: Vec<(String, Option<std::time::Duration>)> = plugin
        .skills
        .iter()
        .filter_map(|s| s.skill.as_ref())
        .map(|s| (s.name.value.clone(), None))
        .collect();
    let specs = plug_telemetry::alarms::recommended(&manifest.name.value, &skills, options);
    let runtime = match super::async_runtime() {
        Ok(rt) => rt,
        Err(exit) => return exit,
    };
    runtime.block_on(async {
        let config = identity_config(identity);
        let settings = crate::config::telemetry();
        let sdk = plug_aws::identity::sdk_config(&config).await;
        if sdk.region().is_none() {
            return usage("no AWS region configured (--region or AWS_REGION)");
        }
        let cloudwatch = CloudWatch::new(&sdk, &settings.target);
        for spec in &specs {
            if let Err(e) = cloudwatch.put_alarm(spec, options).await {
                return usage(&format!("{}: {e}", spec.name));
            }
        }
        if output == Output::Json {
            println!("{}", serde_json::to_string(&specs).unwrap_or_default());
        } else {
            for spec in &specs {
                println!("{}: {}", spec.name, spec.description);
            }
            println!(
                "{} alarm(s) in namespace {}",
                specs.len(),
                cloudwatch.namespace()
            );
        }
        Exit::Success
    })
}
