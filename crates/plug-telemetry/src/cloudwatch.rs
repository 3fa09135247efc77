//! The CloudWatch destination: PutMetricData and PutLogEvents through the AWS SDK.

use std::time::Duration;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_cloudwatch::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit, StatisticSet};
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use aws_smithy_types::DateTime;
use serde::{Deserialize, Serialize};

use crate::delivery::{Destination, SendError};
use crate::logs::LogBatch;
use crate::metrics::{Datum, Dimensions, Unit};

/// Where and what plugctl publishes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CloudWatchConfig {
    /// Publish metrics.
    pub metrics: bool,
    /// Publish log events.
    pub logs: bool,
    /// The metrics namespace.
    pub namespace: String,
    /// The log group (one stream per run inside it).
    pub log_group: String,
    /// An endpoint for both services instead of AWS's (LocalStack, a VPC endpoint).
    pub endpoint_url: Option<String>,
}

impl Default for CloudWatchConfig {
    fn default() -> Self {
        CloudWatchConfig {
            metrics: true,
            logs: true,
            namespace: "plugctl".into(),
            log_group: "/plugctl/runs".into(),
            endpoint_url: None,
        }
    }
}

/// CloudWatch metrics and CloudWatch Logs clients.
#[derive(Debug, Clone)]
pub struct CloudWatch {
    metrics: aws_sdk_cloudwatch::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    namespace: String,
}

/// Telemetry must not hold a run's exit for long: a short connect timeout, a
/// bounded call, one retry. What fails stays spooled for the next flush.
fn timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_timeout(Duration::from_secs(15))
        .build()
}

impl CloudWatch {
    /// Clients from the operator's AWS configuration (not a run's agent
    /// session: publishing telemetry is the runtime's act, not the agent's).
    pub fn new(sdk: &SdkConfig, config: &CloudWatchConfig) -> Self {
        let retry = aws_config::retry::RetryConfig::standard().with_max_attempts(2);
        let mut metrics = aws_sdk_cloudwatch::config::Builder::from(sdk)
            .retry_config(retry.clone())
            .timeout_config(timeouts());
        let mut logs = aws_sdk_cloudwatchlogs::config::Builder::from(sdk)
            .retry_config(retry)
            .timeout_config(timeouts());
        if let Some(url) = &config.endpoint_url {
            metrics = metrics.endpoint_url(url);
            logs = logs.endpoint_url(url);
        }
        CloudWatch {
            metrics: aws_sdk_cloudwatch::Client::from_conf(metrics.build()),
            logs: aws_sdk_cloudwatchlogs::Client::from_conf(logs.build()),
            namespace: config.namespace.clone(),
        }
    }

    /// The metrics namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The CloudWatch client (alarms, reads in tests).
    pub fn metrics_client(&self) -> &aws_sdk_cloudwatch::Client {
        &self.metrics
    }

    /// The CloudWatch Logs client.
    pub fn logs_client(&self) -> &aws_sdk_cloudwatchlogs::Client {
        &self.logs
    }

    async fn create_stream(&self, batch: &LogBatch) -> Result<(), SendError> {
        let group = self
            .logs
            .create_log_group()
            .log_group_name(&batch.group)
            .send()
            .await;
        if let Err(e) = group {
            already_exists(e)?;
        }
        let stream = self
            .logs
            .create_log_stream()
            .log_group_name(&batch.group)
            .log_stream_name(&batch.stream)
            .send()
            .await;
        if let Err(e) = stream {
            already_exists(e)?;
        }
        Ok(())
    }

    async fn put_log_events(&self, batch: &LogBatch) -> Result<(), SendError> {
        let events = batch
            .events
            .iter()
            .map(|e| {
                InputLogEvent::builder()
                    .timestamp(i64::try_from(e.timestamp_ms).unwrap_or(i64::MAX))
                    .message(&e.message)
                    .build()
                    .map_err(|e| SendError::Rejected(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let sent = self
            .logs
            .put_log_events()
            .log_group_name(&batch.group)
            .log_stream_name(&batch.stream)
            .set_log_events(Some(events))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("DataAlreadyAcceptedException") => Ok(()),
            Err(e) => Err(classify(e)),
        }
    }
}

#[async_trait]
impl Destination for CloudWatch {
    async fn put_metrics(&self, data: &[Datum]) -> Result<(), SendError> {
        self.metrics
            .put_metric_data()
            .namespace(&self.namespace)
            .set_metric_data(Some(data.iter().map(datum).collect()))
            .send()
            .await
            .map(|_| ())
            .map_err(classify)
    }

    async fn put_logs(&self, batch: &LogBatch) -> Result<(), SendError> {
        match self.put_log_events(batch).await {
            Err(SendError::Rejected(reason)) if reason.contains("ResourceNotFoundException") => {
                self.create_stream(batch).await?;
                self.put_log_events(batch).await
            }
            other => other,
        }
    }
}

/// The metric dimensions of a datum or an alarm, in one order everywhere.
pub(crate) fn dimensions(d: &Dimensions) -> Vec<Dimension> {
    [
        ("Plugin", &d.plugin),
        ("Skill", &d.skill),
        ("ActorType", &d.actor_type),
    ]
    .into_iter()
    .map(|(name, value)| Dimension::builder().name(name).value(value).build())
    .collect()
}

fn datum(d: &Datum) -> MetricDatum {
    MetricDatum::builder()
        .metric_name(&d.name)
        .set_dimensions(Some(dimensions(&d.dimensions)))
        .timestamp(DateTime::from_secs(
            i64::try_from(d.minute).unwrap_or(i64::MAX),
        ))
        .unit(match d.unit {
            Unit::Count => StandardUnit::Count,
            Unit::Milliseconds => StandardUnit::Milliseconds,
        })
        .statistic_values(
            StatisticSet::builder()
                .sample_count(d.sample_count)
                .sum(d.sum)
                .minimum(d.minimum)
                .maximum(d.maximum)
                .build(),
        )
        .build()
}

/// Errors that mean "this request is wrong" rather than "not now".
const REJECTIONS: &[&str] = &[
    "InvalidParameterValue",
    "InvalidParameterCombination",
    "InvalidParameterException",
    "MissingParameter",
    "MissingRequiredParameter",
    "ValidationException",
    "ResourceNotFoundException",
];

pub(crate) fn classify<E, R>(error: SdkError<E, R>) -> SendError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = error.code().map(str::to_owned);
    let text = format!(
        "{}: {}",
        code.as_deref().unwrap_or("error"),
        aws_sdk_cloudwatch::error::DisplayErrorContext(&error)
    );
    match (&error, code.as_deref()) {
        (SdkError::ServiceError(_), Some(code)) if REJECTIONS.contains(&code) => {
            SendError::Rejected(text)
        }
        _ => SendError::Retryable(text),
    }
}

fn already_exists<E, R>(error: SdkError<E, R>) -> Result<(), SendError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    if error.code() == Some("ResourceAlreadyExistsException") {
        Ok(())
    } else {
        Err(classify(error))
    }
}
