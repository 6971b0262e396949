//! A keyed token-bucket rate limiter, in memory. Used for per-user message sends here and for
//! per-address auth routes and per-session gateway frames elsewhere.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Allows `rate` events per second per key, with bursts of up to `burst`.
#[derive(Debug)]
pub struct RateLimiter<K> {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<K, Bucket>>,
}

/// Buckets are pruned when the map grows past this many keys.
const PRUNE_AT: usize = 10_000;

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// A limiter of `rate` per second with bursts of `burst` (both > 0).
    pub fn new(rate: f64, burst: f64) -> Self {
        Self { rate, burst, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one token for `key` at `now`; on refusal, how long until one is available.
    pub fn check_at(&self, key: &K, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() >= PRUNE_AT {
            // A bucket idle long enough to refill completely is the same as no bucket.
            let full_after = Duration::from_secs_f64(self.burst / self.rate);
            buckets.retain(|_, bucket| now.saturating_duration_since(bucket.updated) < full_after);
        }
        let bucket = buckets.entry(key.clone()).or_insert(Bucket { tokens: self.burst, updated: now });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate).min(self.burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.rate))
        }
    }

    /// Takes one token for `key` now.
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        self.check_at(key, Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_burst_then_the_rate() {
        let limiter = RateLimiter::new(10.0, 20.0);
        let start = Instant::now();
        for _ in 0..20 {
            assert!(limiter.check_at(&"ada", start).is_ok());
        }
        let wait = limiter.check_at(&"ada", start).unwrap_err();
        assert!(wait <= Duration::from_millis(100) && wait > Duration::ZERO, "{wait:?}");
        assert!(limiter.check_at(&"ada", start + Duration::from_millis(100)).is_ok());
        assert!(limiter.check_at(&"ada", start + Duration::from_millis(100)).is_err());
    }

    #[test]
    fn keys_are_independent() {
        let limiter = RateLimiter::new(1.0, 1.0);
        let now = Instant::now();
        assert!(limiter.check_at(&1, now).is_ok());
        assert!(limiter.check_at(&1, now).is_err());
        assert!(limiter.check_at(&2, now).is_ok());
    }

    #[test]
    fn refills_no_higher_than_the_burst() {
        let limiter = RateLimiter::new(1.0, 2.0);
        let now = Instant::now();
        let later = now + Duration::from_secs(3600);
        assert!(limiter.check_at(&0, now).is_ok());
        for _ in 0..2 {
            assert!(limiter.check_at(&0, later).is_ok());
        }
        assert!(limiter.check_at(&0, later).is_err());
    }
}
