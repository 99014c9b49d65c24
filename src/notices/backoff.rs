//! When to try again: exponential backoff with jitter, never sooner than the channel asked
//! (`retry_after`), and a limit after which a message is given up. The one retry policy of the
//! outbox, for replies and notices on every channel.

use std::time::Duration;

/// Attempts before a message is marked failed, unless configured otherwise.
pub const MAX_ATTEMPTS: u32 = 8;
const BASE: Duration = Duration::from_secs(2);
const CAP: Duration = Duration::from_secs(15 * 60);

/// How often and how patiently an outbox row is tried.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub max_attempts: u32,
    /// The wait after the first failed try; doubled after each further one.
    pub base: Duration,
    /// No wait is longer than this (a provider's `retry_after` aside).
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: MAX_ATTEMPTS,
            base: BASE,
            cap: CAP,
        }
    }
}

impl RetryPolicy {
    /// The delay before attempt `attempt + 1`, after `attempt` failed attempts (1-based).
    /// `jitter` in `[0, 1)` spreads retries of many messages over ±20% so they do not return
    /// in one wave; `retry_after` from the channel is a floor.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>, jitter: f64) -> Duration {
        let exponential = self
            .base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(self.cap);
        let spread = exponential.mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0));
        retry_after.map_or(spread, |floor| spread.max(floor))
    }
}

/// [`RetryPolicy::delay`] of the default policy.
pub fn retry_delay(attempt: u32, retry_after: Option<Duration>, jitter: f64) -> Duration {
    RetryPolicy::default().delay(attempt, retry_after, jitter)
}

/// A jitter value in `[0, 1)`.
pub fn jitter() -> f64 {
    let mut bytes = [0u8; 4];
    // Without randomness, no jitter: retries still happen, just less spread.
    if getrandom::fill(&mut bytes).is_err() {
        return 0.5;
    }
    f64::from(u32::from_le_bytes(bytes)) / (f64::from(u32::MAX) + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_a_cap() {
        let middle = |attempt| retry_delay(attempt, None, 0.5);
        assert_eq!(middle(1), Duration::from_secs(2));
        assert_eq!(middle(2), Duration::from_secs(4));
        assert_eq!(middle(5), Duration::from_secs(32));
        assert_eq!(middle(30), CAP);
    }

    #[test]
    fn jitter_spreads_twenty_percent_either_way() {
        assert_eq!(retry_delay(3, None, 0.0), Duration::from_secs_f64(6.4));
        assert!(retry_delay(3, None, 0.999_999) < Duration::from_secs_f64(9.6));
        let j = jitter();
        assert!((0.0..1.0).contains(&j));
    }

    #[test]
    fn retry_after_is_a_floor() {
        assert_eq!(
            retry_delay(1, Some(Duration::from_secs(30)), 0.5),
            Duration::from_secs(30)
        );
        assert_eq!(
            retry_delay(6, Some(Duration::from_secs(1)), 0.5),
            Duration::from_secs(64)
        );
    }

    #[test]
    fn a_policy_sets_its_own_base_and_cap() {
        let policy = RetryPolicy {
            max_attempts: 3,
            base: Duration::from_secs(1),
            cap: Duration::from_secs(5),
        };
        let waits: Vec<u64> = (1..=5)
            .map(|a| policy.delay(a, None, 0.5).as_secs())
            .collect();
        assert_eq!(waits, [1, 2, 4, 5, 5]);
    }
}
