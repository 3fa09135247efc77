//! Exponential backoff with full jitter between restarts of a crashed server.

use std::time::Duration;

/// How restarts are spaced and how many are tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The delay before the first restart (before jitter).
    pub base: Duration,
    /// No delay is longer than this.
    pub cap: Duration,
    /// Restarts tried in a row before the server is given up on.
    pub max_attempts: u32,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            base: Duration::from_millis(200),
            cap: Duration::from_secs(10),
            max_attempts: 5,
        }
    }
}

impl Backoff {
    /// The delay before restart number `attempt` (1-based), drawn from
    /// `[ceiling/2, ceiling]` with `ceiling = min(cap, base * 2^(attempt-1))`.
    ///
    /// Half-jitter rather than full jitter: several plugctl runs restarting the
    /// same server still spread out, but a restart never happens immediately.
    pub fn delay(&self, attempt: u32, random: f64) -> Duration {
        let exponent = attempt.saturating_sub(1).min(30);
        let ceiling = self.base.saturating_mul(1u32 << exponent).min(self.cap);
        let random = random.clamp(0.0, 1.0);
        ceiling.mul_f64(0.5 + random / 2.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_until_the_cap() {
        let b = Backoff::default();
        assert_eq!(b.delay(1, 1.0), b.base);
        assert_eq!(b.delay(2, 1.0), b.base * 2);
        assert_eq!(b.delay(3, 1.0), b.base * 4);
        assert_eq!(b.delay(30, 1.0), b.cap);
        assert_eq!(b.delay(u32::MAX, 1.0), b.cap);
    }

    #[test]
    fn jitter_stays_within_half_to_full_ceiling() {
        let b = Backoff::default();
        for i in 0..=100 {
            let r = f64::from(i) / 100.0;
            let d = b.delay(4, r);
            assert!(d >= b.base * 4);
            assert!(d <= b.base * 8);
        }
        assert!(b.delay(4, 0.0) < b.delay(4, 1.0));
    }
}
