//! Where the service reads the time: [`Clock`], with [`SystemClock`] by default and
//! [`ManualClock`] for tests that need token expiry, invite expiry, retention or a throttle to
//! pass without waiting for it.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::id::Timestamp;

/// The service's source of domain time (token and invite expiry, the refresh-token window,
/// history retention, the typing throttle, the timestamps it stores).
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The time now.
    fn now(&self) -> Timestamp;
}

/// The system's wall clock; what [`crate::service::Rift`] uses unless told otherwise.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        chrono::Utc::now()
    }
}

/// A clock that moves only when told to. Clones share one time, so a test keeps a clone and
/// advances the clock it gave the service.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use rift::clock::{Clock, ManualClock};
///
/// let clock = ManualClock::starting_now();
/// let before = clock.now();
/// clock.advance(Duration::from_secs(60));
/// assert_eq!(clock.now() - before, chrono::TimeDelta::seconds(60));
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<Timestamp>>,
}

impl ManualClock {
    /// A clock stopped at `at`.
    pub fn new(at: Timestamp) -> Self {
        Self { now: Arc::new(Mutex::new(at)) }
    }

    /// A clock stopped at the system's time now.
    pub fn starting_now() -> Self {
        Self::new(chrono::Utc::now())
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let by = chrono::TimeDelta::from_std(by).unwrap_or(chrono::TimeDelta::MAX);
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now = now.checked_add_signed(by).unwrap_or(*now);
    }

    /// Sets the clock to `at` (backwards too).
    pub fn set(&self, at: Timestamp) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = at;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told_and_clones_share_it() {
        let clock = ManualClock::starting_now();
        let shared = clock.clone();
        let start = clock.now();
        assert_eq!(clock.now(), start);
        shared.advance(Duration::from_secs(5));
        assert_eq!(clock.now() - start, chrono::TimeDelta::seconds(5));
        clock.set(start);
        assert_eq!(shared.now(), start);
    }
}
