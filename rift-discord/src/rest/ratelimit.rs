//! Discord's REST rate limits, as pure bookkeeping: per-route buckets learnt from the
//! `X-RateLimit-*` headers (keyed by bucket hash and major parameter), the global limit (a
//! requests-per-second window and global 429s), and 429 `retry_after`.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

/// A request's route: its rate-limit identity before the bucket hash is known, and its major
/// parameter (channel, guild or webhook id), which splits a shared bucket.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Route {
    /// Method and path with ids replaced: `GET channels :major messages :id`.
    pub(crate) key: String,
    /// The major parameter, `""` if none.
    pub(crate) major: String,
}

impl Route {
    /// The route of a request from its method and path segments.
    pub(crate) fn new(method: &str, segments: &[&str]) -> Self {
        let mut key = String::from(method);
        let mut major = String::new();
        let mut previous = "";
        for segment in segments {
            key.push(' ');
            if previous == "reactions" {
                // Every emoji shares one bucket; what follows it does not matter either.
                key.push_str(":emoji");
                break;
            }
            let is_id = !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit());
            if is_id && matches!(previous, "channels" | "guilds" | "webhooks") && major.is_empty() {
                major = (*segment).to_owned();
                key.push_str(":major");
            } else if is_id {
                key.push_str(":id");
            } else {
                key.push_str(segment);
            }
            previous = segment;
        }
        Self { key, major }
    }
}

/// The rate-limit headers of a response.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Headers {
    pub(crate) bucket: Option<String>,
    pub(crate) limit: Option<u32>,
    pub(crate) remaining: Option<u32>,
    pub(crate) reset_after: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
struct Bucket {
    limit: u32,
    remaining: u32,
    reset_at: Instant,
}

/// All rate-limit state of one client.
#[derive(Debug)]
pub(crate) struct Limits {
    /// Route key to bucket hash, as the headers told.
    hashes: HashMap<String, String>,
    /// Bucket (hash, or route key while the hash is unknown, and major parameter) to its state.
    buckets: HashMap<String, Bucket>,
    global_until: Option<Instant>,
    per_second: u32,
    window_start: Option<Instant>,
    window_count: u32,
}

fn seconds(s: f64) -> Duration {
    Duration::try_from_secs_f64(s.max(0.0)).unwrap_or(Duration::from_secs(3600))
}

impl Limits {
    /// Limits with a global cap of `per_second` requests per second (Discord's is 50).
    pub(crate) fn new(per_second: u32) -> Self {
        Self {
            hashes: HashMap::new(),
            buckets: HashMap::new(),
            global_until: None,
            per_second: per_second.max(1),
            window_start: None,
            window_count: 0,
        }
    }

    fn bucket_key(&self, route: &Route) -> String {
        let bucket = self.hashes.get(&route.key).unwrap_or(&route.key);
        format!("{bucket}:{}", route.major)
    }

    /// `None`: send now (the request is counted); `Some(at)`: ask again at `at`.
    pub(crate) fn acquire(&mut self, route: &Route, now: Instant) -> Option<Instant> {
        if let Some(until) = self.global_until.filter(|until| *until > now) {
            return Some(until);
        }
        let key = self.bucket_key(route);
        if let Some(bucket) = self.buckets.get(&key)
            && bucket.remaining == 0
            && bucket.reset_at > now
        {
            return Some(bucket.reset_at);
        }
        match self.window_start {
            Some(start) if now < start + Duration::from_secs(1) => {
                if self.window_count >= self.per_second {
                    return Some(start + Duration::from_secs(1));
                }
                self.window_count += 1;
            }
            _ => {
                self.window_start = Some(now);
                self.window_count = 1;
            }
        }
        if let Some(bucket) = self.buckets.get_mut(&key) {
            if bucket.reset_at <= now {
                bucket.remaining = bucket.limit;
                bucket.reset_at = now + Duration::from_secs(3600);
            }
            bucket.remaining = bucket.remaining.saturating_sub(1);
        }
        None
    }

    /// Learns from a response's headers.
    pub(crate) fn update(&mut self, route: &Route, headers: &Headers, now: Instant) {
        if let Some(hash) = &headers.bucket {
            self.hashes.insert(route.key.clone(), hash.clone());
        }
        let (Some(remaining), Some(reset_after)) = (headers.remaining, headers.reset_after) else { return };
        let key = self.bucket_key(route);
        let bucket = Bucket {
            limit: headers.limit.unwrap_or(remaining.max(1)),
            remaining,
            reset_at: now + seconds(reset_after),
        };
        self.buckets.insert(key, bucket);
    }

    /// Records a 429: nothing more on this bucket (or anywhere, if global) for `retry_after`.
    pub(crate) fn limited(&mut self, route: &Route, retry_after: f64, global: bool, now: Instant) {
        let until = now + seconds(retry_after);
        if global {
            self.global_until = Some(until);
            return;
        }
        let key = self.bucket_key(route);
        let bucket = self.buckets.entry(key).or_insert(Bucket { limit: 1, remaining: 0, reset_at: until });
        bucket.remaining = 0;
        bucket.reset_at = until;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_route(method: &str, path: &str, key: &str, major: &str) {
        let segments: Vec<&str> = path.split('/').collect();
        assert_eq!(Route::new(method, &segments), Route { key: key.into(), major: major.into() });
    }

    #[test]
    fn routes_keep_major_parameters_and_hide_minor_ones() {
        check_route("GET", "channels/11/messages", "GET channels :major messages", "11");
        check_route("DELETE", "channels/11/messages/22", "DELETE channels :major messages :id", "11");
        check_route(
            "PUT",
            "channels/11/messages/22/reactions/👍/@me",
            "PUT channels :major messages :id reactions :emoji",
            "11",
        );
        check_route("GET", "guilds/33/members", "GET guilds :major members", "33");
        check_route("POST", "users/@me/channels", "POST users @me channels", "");
        check_route("GET", "gateway", "GET gateway", "");
    }

    fn route(channel: &str) -> Route {
        Route::new("POST", &["channels", channel, "messages"])
    }

    fn headers(bucket: &str, limit: u32, remaining: u32, reset_after: f64) -> Headers {
        Headers {
            bucket: Some(bucket.into()),
            limit: Some(limit),
            remaining: Some(remaining),
            reset_after: Some(reset_after),
        }
    }

    #[test]
    fn a_bucket_allows_its_remaining_requests_then_waits_for_the_reset() {
        let now = Instant::now();
        let mut limits = Limits::new(50);
        assert_eq!(limits.acquire(&route("1"), now), None);
        limits.update(&route("1"), &headers("abc", 3, 2, 2.5), now);
        assert_eq!(limits.acquire(&route("1"), now), None);
        assert_eq!(limits.acquire(&route("1"), now), None);
        let reset = now + Duration::from_millis(2500);
        assert_eq!(limits.acquire(&route("1"), now), Some(reset));
        // After the reset, the limit is available again without new headers.
        assert_eq!(limits.acquire(&route("1"), reset), None);
        assert_eq!(limits.acquire(&route("1"), reset), None);
        assert_eq!(limits.acquire(&route("1"), reset), None);
        assert!(limits.acquire(&route("1"), reset).is_some());
    }

    #[test]
    fn major_parameters_split_a_shared_bucket() {
        let now = Instant::now();
        let mut limits = Limits::new(50);
        limits.update(&route("1"), &headers("abc", 1, 0, 5.0), now);
        assert!(limits.acquire(&route("1"), now).is_some());
        // Another channel: the same hash, its own counter.
        assert_eq!(limits.acquire(&route("2"), now), None);
        limits.update(&route("2"), &headers("abc", 1, 0, 5.0), now);
        assert!(limits.acquire(&route("2"), now).is_some());
        assert_eq!(limits.bucket_key(&route("2")), "abc:2");
        assert_eq!(limits.acquire(&Route::new("GET", &["channels", "1", "messages"]), now), None);
    }

    #[test]
    fn a_429_blocks_the_bucket_and_a_global_429_blocks_everything() {
        let now = Instant::now();
        let mut limits = Limits::new(50);
        limits.limited(&route("1"), 1.5, false, now);
        assert_eq!(limits.acquire(&route("1"), now), Some(now + Duration::from_millis(1500)));
        assert_eq!(limits.acquire(&route("2"), now), None);
        limits.limited(&route("2"), 0.25, true, now);
        assert_eq!(limits.acquire(&route("3"), now), Some(now + Duration::from_millis(250)));
        assert_eq!(limits.acquire(&route("3"), now + Duration::from_millis(250)), None);
    }

    #[test]
    fn the_global_window_caps_requests_per_second() {
        let now = Instant::now();
        let mut limits = Limits::new(3);
        for i in 0..3 {
            assert_eq!(limits.acquire(&route(&i.to_string()), now), None);
        }
        assert_eq!(limits.acquire(&route("9"), now), Some(now + Duration::from_secs(1)));
        assert_eq!(limits.acquire(&route("9"), now + Duration::from_secs(1)), None);
    }

    #[test]
    fn nonsense_reset_values_do_not_panic() {
        let now = Instant::now();
        let mut limits = Limits::new(50);
        limits.update(&route("1"), &headers("h", 1, 0, f64::NAN), now);
        limits.update(&route("1"), &headers("h", 1, 0, -4.0), now);
        limits.update(&route("1"), &headers("h", 1, 0, 1e300), now);
        limits.limited(&route("1"), f64::INFINITY, true, now);
        assert!(limits.acquire(&route("1"), now).is_some());
    }
}
