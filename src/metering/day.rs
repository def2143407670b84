//! The UTC day every daily counter belongs to, and the monotonic time the
//! per-minute rate limit runs on.
//!
//! A [`Day`] is the UTC date of a wall-clock [`Timestamp`]; days are how
//! counters restart without a midnight job. [`Monotonic`] is a separate,
//! never-backwards time source for rates, so a wall clock set back cannot
//! hand out a fresh burst. This file must not know about users or limits.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::identity::Timestamp;

const SECONDS_PER_DAY: i64 = 86_400;

/// A UTC calendar day, held as its first second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(Timestamp);

impl Day {
    /// The UTC date of `at`.
    pub fn of(at: Timestamp) -> Day {
        Day(at.plus_seconds(-at.unix_seconds().rem_euclid(SECONDS_PER_DAY)))
    }

    /// The day `days` later (or earlier, for a negative count), held within
    /// the years a [`Timestamp`] supports.
    pub fn plus(self, days: i64) -> Day {
        Day::of(self.0.plus_seconds(days.saturating_mul(SECONDS_PER_DAY)))
    }

    /// The first second of this day.
    pub fn start(self) -> Timestamp {
        self.0
    }

    /// The next UTC midnight: when this day's limits reset.
    pub fn next_midnight(self) -> Timestamp {
        self.0.plus_seconds(SECONDS_PER_DAY)
    }
}

impl fmt::Display for Day {
    /// `YYYY-MM-DD`, the form stored in `usage_daily.day`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let start = DateTime::<Utc>::from_timestamp(self.0.unix_seconds(), 0);
        match start {
            Some(start) => write!(f, "{}", start.format("%Y-%m-%d")),
            None => f.write_str("1970-01-01"),
        }
    }
}

/// A time source that never goes backwards: the time elapsed since some
/// fixed origin. The rate limiter reads it instead of the wall clock.
pub trait Monotonic: Send + Sync + fmt::Debug {
    fn now(&self) -> Duration;
}

/// The operating system's monotonic clock, counted from when this value
/// was made.
#[derive(Debug, Clone, Copy)]
pub struct SystemMonotonic {
    origin: Instant,
}

impl SystemMonotonic {
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemMonotonic {
    fn default() -> Self {
        Self::new()
    }
}

impl Monotonic for SystemMonotonic {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// A monotonic time source that moves only when told to, for tests and
/// simulations of bursts and waits.
#[derive(Debug, Default)]
pub struct ManualMonotonic(AtomicU64);

impl ManualMonotonic {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        // fetch_update so an absurd advance stops at the end instead of wrapping.
        let _ = self
            .0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |now| {
                Some(now.saturating_add(nanos))
            });
    }
}

impl Monotonic for ManualMonotonic {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339(text).unwrap()
    }

    #[test]
    fn a_day_is_the_utc_date_and_resets_at_the_next_utc_midnight() {
        let day = Day::of(at("2026-11-22T23:59:59Z"));
        assert_eq!(day.to_string(), "2026-11-22");
        assert_eq!(day.start(), at("2026-11-22T00:00:00Z"));
        assert_eq!(day.next_midnight(), at("2026-11-23T00:00:00Z"));
        assert_eq!(Day::of(at("2026-11-23T00:00:00Z")), day.plus(1));
        assert_eq!(Day::of(at("2026-11-23T01:30:00+02:00")), day);
    }

    #[test]
    fn the_manual_monotonic_clock_moves_only_when_told() {
        let clock = ManualMonotonic::new();
        assert_eq!(clock.now(), Duration::ZERO);
        clock.advance(Duration::from_millis(1500));
        assert_eq!(clock.now(), Duration::from_millis(1500));
        clock.advance(Duration::MAX);
        assert_eq!(clock.now(), Duration::from_nanos(u64::MAX));
    }
}
