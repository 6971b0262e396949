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

/// Slack for floating-point refills: a bucket this close to one token has one, so a client that
/// waited exactly the advertised time is let in.
const EPSILON: f64 = 1e-9;

/// A wait as the whole seconds of a `Retry-After` header: rounded **up** (at least 1), so a
/// client that waits that long finds a token. (Rounded down, the 11th login at 10 per minute was
/// told 5 s and refused again after waiting 5 s.)
pub fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

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
        if bucket.tokens >= 1.0 - EPSILON {
            bucket.tokens = (bucket.tokens - 1.0).max(0.0);
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

    /// Each limiter's own shape: after the burst, wait the advertised whole seconds (by the
    /// limiter's clock) and the next attempt passes.
    #[test]
    fn waiting_the_advertised_seconds_is_enough() {
        let limiters = [
            ("auth, 10 per minute", 10.0 / 60.0, 10.0),
            ("message sends, 10/s burst 20", 10.0, 20.0),
            ("gateway frames, 50/s burst 100", 50.0, 100.0),
        ];
        for (name, rate, burst) in limiters {
            for offset_ms in [0_u64, 1, 900, 4_999] {
                let limiter = RateLimiter::new(rate, burst);
                let start = Instant::now();
                for _ in 0..(burst as usize) {
                    assert!(limiter.check_at(&"ip", start).is_ok(), "{name}");
                }
                let asked = start + Duration::from_millis(offset_ms);
                let Err(wait) = limiter.check_at(&"ip", asked) else { continue };
                let secs = retry_after_secs(wait);
                assert!(Duration::from_secs(secs) >= wait, "{name}: {secs} s < {wait:?}");
                let retry = asked + Duration::from_secs(secs);
                assert!(
                    limiter.check_at(&"ip", retry).is_ok(),
                    "{name} +{offset_ms} ms: refused after {secs} s"
                );
            }
        }
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(5_100)), 6);
        assert_eq!(retry_after_secs(Duration::from_secs(6)), 6);
        assert_eq!(retry_after_secs(Duration::from_nanos(5_999_999_999)), 6);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(20)), 1);
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
