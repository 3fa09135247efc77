//! The telemetry of a run and the commands that deliver or configure it.
//! Everything here publishes as the operator (the base credential chain,
//! never the run's role) with the settings' namespace, log group and
//! endpoint, whichever command asks.

use std::sync::Arc;

use plug_telemetry::alarms::{AlarmOptions, AlarmSpec};
use plug_telemetry::{
    CloudWatch, CloudWatchConfig, DrainReport, Redactor, Spool, Telemetry, TelemetryOptions,
};

use crate::settings::RunSettings;

/// Why telemetry could not start or be delivered.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The audit log cannot be opened.
    #[error("audit log: {0}")]
    Audit(String),
    /// Publishing is off, or no region says where to publish.
    #[error("CloudWatch publishing is off (PLUGCTL_TELEMETRY=local, or no AWS region configured)")]
    Off,
    /// No region says where the operation goes.
    #[error("no AWS region configured (--region or AWS_REGION)")]
    NoRegion,
    /// The spool could not be read.
    #[error(transparent)]
    Spool(#[from] plug_telemetry::spool::SpoolError),
    /// CloudTrail could not be asked.
    #[error("CloudTrail: {0}")]
    Lookup(#[from] plug_telemetry::cloudtrail::LookupError),
    /// CloudWatch refused a call.
    #[error("{name}: {message}")]
    Send {
        /// What was being sent (an alarm's name).
        name: String,
        /// Why it failed.
        message: String,
    },
}

/// The operator's AWS configuration for publishing, when CloudWatch is on and
/// a region is known (without a region there is nowhere to publish to).
pub async fn publishing_config(
    settings: &RunSettings,
) -> Option<(aws_config::SdkConfig, CloudWatchConfig)> {
    if !settings.telemetry.cloudwatch {
        return None;
    }
    let sdk = operator_sdk(settings).await.ok()?;
    Some((sdk, settings.telemetry.target.clone()))
}

/// Starts the telemetry of a run: the audit log always, CloudWatch when
/// configured. `secrets` are values no output may contain.
pub async fn start_for_run(
    settings: &RunSettings,
    secrets: &[String],
) -> Result<Arc<Telemetry>, TelemetryError> {
    let mut redactor = Redactor::from_env();
    for secret in secrets {
        redactor.add_secret(secret);
    }
    let state = &settings.state;
    let options = TelemetryOptions {
        redactor,
        cloudwatch: publishing_config(settings).await,
        ..TelemetryOptions::local(&state.audit_log(), &state.spool())
    };
    Telemetry::start(options)
        .map(Arc::new)
        .map_err(|e| TelemetryError::Audit(e.to_string()))
}

/// Delivers the spool now (`plugctl telemetry flush`).
pub async fn flush(settings: &RunSettings) -> Result<(DrainReport, Spool), TelemetryError> {
    let (sdk, target) = publishing_config(settings)
        .await
        .ok_or(TelemetryError::Off)?;
    let spool = Spool::new(&settings.state.spool());
    let report = plug_telemetry::drain(&spool, &CloudWatch::new(&sdk, &target)).await?;
    Ok((report, spool))
}

/// Creates or updates the alarms; returns the namespace they watch.
pub async fn put_alarms(
    settings: &RunSettings,
    specs: &[AlarmSpec],
    options: &AlarmOptions,
) -> Result<String, TelemetryError> {
    let sdk = operator_sdk(settings).await?;
    let cloudwatch = CloudWatch::new(&sdk, &settings.telemetry.target);
    for spec in specs {
        cloudwatch
            .put_alarm(spec, options)
            .await
            .map_err(|e| TelemetryError::Send {
                name: spec.name.clone(),
                message: e.to_string(),
            })?;
    }
    Ok(cloudwatch.namespace().to_owned())
}

/// The operator's AWS configuration, which must name a region.
pub async fn operator_sdk(settings: &RunSettings) -> Result<aws_config::SdkConfig, TelemetryError> {
    let sdk = plug_aws::identity::sdk_config(&settings.identity.operator_config()).await;
    if sdk.region().is_none() {
        return Err(TelemetryError::NoRegion);
    }
    Ok(sdk)
}

/// What CloudTrail recorded for the session of the run whose audit records
/// are `records`: from a minute before its first event to CloudTrail's
/// delivery delay after its last, asked as the operator.
pub async fn cloudtrail_of_run(
    settings: &RunSettings,
    run_id: &plug_core::RunId,
    records: &[plug_telemetry::Record],
) -> Result<Vec<plug_telemetry::cloudtrail::TrailEvent>, TelemetryError> {
    use plug_telemetry::cloudtrail;
    let at = |record: Option<&plug_telemetry::Record>| record.map_or(0, |r| r.event.at_ms);
    let start = at(records.first()).saturating_sub(60_000);
    let end = (at(records.last()).saturating_add(cloudtrail::DELIVERY_DELAY_MS))
        .min(plug_core::event::now_ms());
    let client = cloudtrail::client(&operator_sdk(settings).await?, None);
    Ok(cloudtrail::lookup(&client, &run_id.role_session_name(), start, end).await?)
}
