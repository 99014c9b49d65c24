//! Rate limiting in the units a channel is billed and throttled in (messages for Telegram,
//! segments for SMS): a token bucket on tokio's clock, so tests can run it under a paused
//! clock.

use std::time::Duration;

use tokio::time::Instant;

/// A token bucket: `rate` units per second, at most `burst` saved up.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A bucket that starts full. `rate` must be positive.
    pub fn new(rate: f64, burst: f64) -> Self {
        let rate = rate.max(f64::MIN_POSITIVE);
        let burst = burst.max(1.0);
        Self {
            rate,
            burst,
            tokens: burst,
            last: Instant::now(),
        }
    }

    fn refill(&mut self) {
        let now = Instant::now();
        let earned = now.duration_since(self.last).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + earned).min(self.burst);
        self.last = now;
    }

    /// How long until `cost` units are available (zero if they are now).
    pub fn wait_for(&mut self, cost: f64) -> Duration {
        self.refill();
        if self.tokens >= cost {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((cost - self.tokens) / self.rate)
        }
    }

    /// Waits until `cost` units are available, then takes them. A cost above the burst is
    /// allowed (one long SMS) and simply waits longer.
    pub async fn acquire(&mut self, cost: f64) {
        loop {
            let wait = self.wait_for(cost.min(self.burst));
            if wait.is_zero() {
                break;
            }
            tokio::time::sleep(wait).await;
        }
        self.tokens -= cost;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_bucket_lets_a_burst_through_then_holds_the_rate() {
        let mut bucket = TokenBucket::new(30.0, 30.0);
        let started = Instant::now();
        for _ in 0..30 {
            bucket.acquire(1.0).await;
        }
        assert_eq!(started.elapsed(), Duration::ZERO, "the burst is immediate");
        for _ in 0..60 {
            bucket.acquire(1.0).await;
        }
        let elapsed = started.elapsed().as_secs_f64();
        assert!(
            (1.99..=2.01).contains(&elapsed),
            "60 more at 30/s take 2 s, took {elapsed}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn costs_are_counted_in_units_such_as_sms_segments() {
        let mut bucket = TokenBucket::new(500.0, 500.0);
        let started = Instant::now();
        // 1,000 two-segment messages = 2,000 segments: 500 at once, then 1,500 at 500/s.
        for _ in 0..1000 {
            bucket.acquire(2.0).await;
        }
        let elapsed = started.elapsed().as_secs_f64();
        assert!((2.99..=3.01).contains(&elapsed), "took {elapsed}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_bucket_saves_up_only_to_its_burst() {
        let mut bucket = TokenBucket::new(10.0, 5.0);
        tokio::time::sleep(Duration::from_secs(60)).await;
        let started = Instant::now();
        for _ in 0..15 {
            bucket.acquire(1.0).await;
        }
        let elapsed = started.elapsed().as_secs_f64();
        assert!(
            (0.99..=1.01).contains(&elapsed),
            "5 saved, 10 more at 10/s: {elapsed}"
        );
    }
}
