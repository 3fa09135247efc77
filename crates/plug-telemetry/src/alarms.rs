//! The recommended CloudWatch alarms for a plugin's skills.
//!
//! Per skill and actor type: the error rate (metric math over `Errors` and
//! `Invocations`), the average run latency, long-running executions (the
//! longest run of a period past the skill's own time budget), and
//! unexpected API calls: any call outside the skill's declared permissions
//! (`UndeclaredCalls`) and any call AWS refused (`AccessDenied`).

use std::time::Duration;

use aws_sdk_cloudwatch::types::{
    ComparisonOperator, Metric, MetricDataQuery, MetricStat, Statistic,
};
use serde::Serialize;

use crate::cloudwatch::{CloudWatch, dimensions};
use crate::delivery::SendError;
use crate::metrics::{Dimensions, names};

/// Thresholds and actions of the recommended alarms.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmOptions {
    /// Alarm when more than this percentage of runs fail in a period.
    pub error_rate_percent: f64,
    /// Alarm when the average run takes longer than this.
    pub latency: Duration,
    /// Alarm when one run takes longer than this, for skills that set no timeout.
    pub long_running: Duration,
    /// The evaluation period.
    pub period: Duration,
    /// SNS topics (or other alarm actions) to notify.
    pub actions: Vec<String>,
}

impl Default for AlarmOptions {
    fn default() -> Self {
        AlarmOptions {
            error_rate_percent: 10.0,
            latency: Duration::from_secs(120),
            long_running: Duration::from_secs(30 * 60),
            period: Duration::from_secs(300),
            actions: Vec::new(),
        }
    }
}

/// What an alarm watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmKind {
    /// `100 * Errors / Invocations` above the threshold (percent).
    ErrorRate,
    /// Average `Latency` above the threshold (ms).
    Latency,
    /// Maximum `Latency` above the threshold (ms).
    LongRunning,
    /// Any `UndeclaredCalls` in a period.
    UndeclaredCalls,
    /// Any `AccessDenied` in a period.
    AccessDenied,
}

/// One alarm to create.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlarmSpec {
    /// Its name, `plugctl-<plugin>-<skill>-<actor>-<kind>`.
    pub name: String,
    /// What it means, for the console.
    pub description: String,
    /// What it watches.
    pub kind: AlarmKind,
    /// The metric dimensions.
    pub dimensions: Dimensions,
    /// The threshold (percent or milliseconds).
    pub threshold: f64,
}

/// The recommended alarms for `skills` (name and declared timeout) of `plugin`.
pub fn recommended(
    plugin: &str,
    skills: &[(String, Option<Duration>)],
    options: &AlarmOptions,
) -> Vec<AlarmSpec> {
    let mut specs = Vec::new();
    for (skill, timeout) in skills {
        for actor in ["agent", "human"] {
            let dimensions = Dimensions {
                plugin: plugin.to_owned(),
                skill: skill.clone(),
                actor_type: actor.to_owned(),
            };
            let budget = timeout.unwrap_or(options.long_running);
            for (kind, threshold, description) in [
                (
                    AlarmKind::ErrorRate,
                    options.error_rate_percent,
                    format!(
                        "More than {}% of {actor} runs of {plugin}/{skill} failed",
                        options.error_rate_percent
                    ),
                ),
                (
                    AlarmKind::Latency,
                    millis(options.latency),
                    format!(
                        "{actor} runs of {plugin}/{skill} average over {:?}",
                        options.latency
                    ),
                ),
                (
                    AlarmKind::LongRunning,
                    millis(budget),
                    format!("A {actor} run of {plugin}/{skill} took over {budget:?}"),
                ),
                (
                    AlarmKind::UndeclaredCalls,
                    0.0,
                    format!(
                        "A {actor} run of {plugin}/{skill} made an AWS call its declared permissions do not list"
                    ),
                ),
                (
                    AlarmKind::AccessDenied,
                    0.0,
                    format!(
                        "AWS refused a call of a {actor} run of {plugin}/{skill} as not authorized"
                    ),
                ),
            ] {
                specs.push(AlarmSpec {
                    name: alarm_name(&dimensions, kind),
                    description,
                    kind,
                    dimensions: dimensions.clone(),
                    threshold,
                });
            }
        }
    }
    specs
}

#[allow(clippy::cast_precision_loss)] // thresholds in ms fit an f64 exactly
fn millis(d: Duration) -> f64 {
    d.as_millis() as f64
}

fn alarm_name(d: &Dimensions, kind: AlarmKind) -> String {
    let kind = match kind {
        AlarmKind::ErrorRate => "error-rate",
        AlarmKind::Latency => "latency",
        AlarmKind::LongRunning => "long-running",
        AlarmKind::UndeclaredCalls => "undeclared-calls",
        AlarmKind::AccessDenied => "access-denied",
    };
    format!("plugctl-{}-{}-{}-{kind}", d.plugin, d.skill, d.actor_type)
}

fn metric_query(
    namespace: &str,
    spec: &AlarmSpec,
    id: &str,
    metric: &str,
    period: i32,
) -> MetricDataQuery {
    let metric = Metric::builder()
        .namespace(namespace)
        .metric_name(metric)
        .set_dimensions(Some(dimensions(&spec.dimensions)))
        .build();
    MetricDataQuery::builder()
        .id(id)
        .metric_stat(
            MetricStat::builder()
                .metric(metric)
                .period(period)
                .stat("Sum")
                .build(),
        )
        .return_data(false)
        .build()
}

impl CloudWatch {
    /// Creates or updates one alarm (PutMetricAlarm is an upsert by name).
    pub async fn put_alarm(
        &self,
        spec: &AlarmSpec,
        options: &AlarmOptions,
    ) -> Result<(), SendError> {
        let period = i32::try_from(options.period.as_secs())
            .unwrap_or(300)
            .max(60);
        let namespace = self.namespace().to_owned();
        let mut request = self
            .metrics_client()
            .put_metric_alarm()
            .alarm_name(&spec.name)
            .alarm_description(&spec.description)
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .threshold(spec.threshold)
            .evaluation_periods(1)
            .treat_missing_data("notBreaching")
            .set_alarm_actions(Some(options.actions.clone()));
        request = match spec.kind {
            AlarmKind::ErrorRate => request
                .metrics(metric_query(
                    &namespace,
                    spec,
                    "errors",
                    names::ERRORS,
                    period,
                ))
                .metrics(metric_query(
                    &namespace,
                    spec,
                    "invocations",
                    names::INVOCATIONS,
                    period,
                ))
                .metrics(
                    MetricDataQuery::builder()
                        .id("error_rate")
                        .expression("100 * errors / invocations")
                        .label("Error rate (%)")
                        .return_data(true)
                        .build(),
                ),
            AlarmKind::UndeclaredCalls | AlarmKind::AccessDenied => request
                .namespace(&namespace)
                .metric_name(if spec.kind == AlarmKind::UndeclaredCalls {
                    names::UNDECLARED_CALLS
                } else {
                    names::ACCESS_DENIED
                })
                .set_dimensions(Some(dimensions(&spec.dimensions)))
                .period(period)
                .statistic(Statistic::Sum),
            AlarmKind::Latency | AlarmKind::LongRunning => request
                .namespace(&namespace)
                .metric_name(names::LATENCY)
                .set_dimensions(Some(dimensions(&spec.dimensions)))
                .period(period)
                .statistic(if spec.kind == AlarmKind::Latency {
                    Statistic::Average
                } else {
                    Statistic::Maximum
                }),
        };
        request
            .send()
            .await
            .map(|_| ())
            .map_err(crate::cloudwatch::classify)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_alarms_per_skill_and_actor_with_the_skill_budget() {
        let specs = recommended(
            "p",
            &[("deploy".into(), Some(Duration::from_secs(60)))],
            &AlarmOptions::default(),
        );
        assert_eq!(specs.len(), 10);
        let long = specs
            .iter()
            .find(|s| s.name == "plugctl-p-deploy-agent-long-running")
            .expect("long-running alarm");
        assert_eq!(long.threshold, 60_000.0);
        assert!(
            specs
                .iter()
                .any(|s| s.name == "plugctl-p-deploy-human-error-rate")
        );
    }
}
