//! The SDKs' "standard" retry mode: throttling and transient errors are retried
//! with capped exponential backoff and full jitter, a bounded number of times.

use std::time::Duration;

/// Error codes that mean "slow down".
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// Error codes that mean "try again".
const TRANSIENT: &[&str] = &[
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalError",
    "ServiceUnavailable",
];

/// Statuses that are transient whatever the code.
const TRANSIENT_STATUS: &[u16] = &[500, 502, 503, 504];

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (standard mode: 3).
    pub max_attempts: u32,
    /// The backoff unit: attempt `n` waits up to `base * 2^n`.
    pub base: Duration,
    /// The longest single wait (standard mode: 20 s).
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base: Duration::from_secs(1),
            max_backoff: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// The default, with `AWS_MAX_ATTEMPTS` honoured when it is a positive number.
    pub fn from_env() -> RetryPolicy {
        let attempts = std::env::var("AWS_MAX_ATTEMPTS")
            .ok()
            .and_then(|v| v.trim().parse::<u32>().ok())
            .filter(|n| (1..=20).contains(n));
        RetryPolicy {
            max_attempts: attempts.unwrap_or(3),
            ..RetryPolicy::default()
        }
    }

    /// The wait before attempt `attempt + 1` (attempt counts from 1), with full jitter.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
            .min(self.max_backoff);
        ceiling.mul_f64(fastrand::f64())
    }
}

/// Whether an AWS error is worth retrying.
pub fn retryable_service_error(code: &str, status: u16) -> bool {
    THROTTLING.contains(&code) || TRANSIENT.contains(&code) || TRANSIENT_STATUS.contains(&status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_and_5xx_retry_but_client_errors_do_not() {
        assert!(retryable_service_error("ThrottlingException", 400));
        assert!(retryable_service_error("SlowDown", 503));
        assert!(retryable_service_error("Whatever", 502));
        assert!(!retryable_service_error("ResourceNotFoundException", 404));
        assert!(!retryable_service_error("AccessDenied", 403));
    }

    #[test]
    fn backoff_is_capped_and_jittered_below_the_ceiling() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base: Duration::from_millis(100),
            max_backoff: Duration::from_millis(500),
        };
        for attempt in 1..10 {
            let ceiling =
                Duration::from_millis(100 * 2u64.pow(attempt - 1)).min(policy.max_backoff);
            for _ in 0..50 {
                assert!(policy.backoff(attempt) <= ceiling);
            }
        }
    }
}
