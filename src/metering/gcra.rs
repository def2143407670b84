//! The per-minute rate limit: the generic cell rate algorithm (GCRA), one
//! "theoretical arrival time" per principal.
//!
//! Pure arithmetic on monotonic [`Duration`]s handed in by the caller: it
//! never reads a clock, takes a lock or knows who is calling, so tests drive
//! it with any times they like.

use std::time::Duration;

/// A sustained rate with a burst allowance: `per_minute` calls a minute on
/// average, and up to `per_minute` calls at once after a quiet spell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    per_minute: u32,
    /// Time between calls at the sustained rate.
    interval: Duration,
    /// How far ahead of now the arrival time may run and still admit: a
    /// burst of `per_minute` calls needs `per_minute - 1` intervals.
    tolerance: Duration,
}

impl RateLimit {
    /// `None` for 0, which would be no calls at all rather than a rate.
    pub fn per_minute(per_minute: u32) -> Option<RateLimit> {
        let interval = Duration::from_secs(60).checked_div(per_minute)?;
        Some(RateLimit {
            per_minute,
            interval,
            tolerance: interval.saturating_mul(per_minute - 1),
        })
    }

    pub fn calls_per_minute(self) -> u32 {
        self.per_minute
    }
}

/// Why a call was refused, and when the next one can pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDenied {
    /// How long until one more call would be admitted.
    pub retry_after: Duration,
    /// Calls the current burst window holds (the whole burst, when refused).
    pub in_window: u64,
}

impl RateDenied {
    /// The wait in whole seconds, rounded up and at least 1, as told to clients.
    pub fn retry_after_seconds(self) -> u64 {
        let whole = self.retry_after.as_secs();
        let rounded = whole.saturating_add(u64::from(self.retry_after.subsec_nanos() > 0));
        rounded.max(1)
    }
}

/// One principal's state: when its next call is "due" at the sustained rate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Gcra {
    arrival: Duration,
}

impl Gcra {
    /// Admits one call at `now` (and counts it), or refuses it leaving the
    /// state untouched.
    pub fn try_acquire(&mut self, limit: RateLimit, now: Duration) -> Result<(), RateDenied> {
        let arrival = self.arrival.max(now);
        let ahead = arrival - now;
        if ahead > limit.tolerance {
            return Err(RateDenied {
                retry_after: ahead - limit.tolerance,
                in_window: calls_in(ahead, limit.interval),
            });
        }
        self.arrival = arrival.saturating_add(limit.interval);
        Ok(())
    }

    /// Whether the state is the same as a fresh one at `now` (the burst is
    /// fully back), so it can be forgotten.
    pub fn is_idle_at(&self, now: Duration) -> bool {
        self.arrival <= now
    }
}

/// How many intervals `ahead` spans, rounded up.
fn calls_in(ahead: Duration, interval: Duration) -> u64 {
    let interval = interval.as_nanos().max(1);
    let calls = ahead.as_nanos().div_ceil(interval);
    u64::try_from(calls).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn a_full_burst_passes_at_once_and_the_next_call_waits_one_interval() {
        let limit = RateLimit::per_minute(30).unwrap();
        let mut gcra = Gcra::default();
        let now = Duration::from_secs(1000);
        for call in 1..=30 {
            assert_eq!(gcra.try_acquire(limit, now), Ok(()), "call {call}");
        }
        let denied = gcra.try_acquire(limit, now).unwrap_err();
        assert_eq!(denied.retry_after, 2 * SECOND, "60 s / 30 calls");
        assert_eq!(denied.retry_after_seconds(), 2);
        assert_eq!(denied.in_window, 30);
    }

    #[test]
    fn a_refusal_does_not_use_up_anything() {
        let limit = RateLimit::per_minute(1).unwrap();
        let mut gcra = Gcra::default();
        gcra.try_acquire(limit, Duration::ZERO).unwrap();
        let before = gcra;
        for _ in 0..5 {
            assert!(gcra.try_acquire(limit, 30 * SECOND).is_err());
        }
        assert_eq!(gcra, before);
        assert_eq!(gcra.try_acquire(limit, 60 * SECOND), Ok(()));
    }

    #[test]
    fn waiting_one_interval_earns_exactly_one_more_call() {
        let limit = RateLimit::per_minute(60).unwrap();
        let mut gcra = Gcra::default();
        for _ in 0..60 {
            gcra.try_acquire(limit, Duration::ZERO).unwrap();
        }
        let later = SECOND;
        assert_eq!(gcra.try_acquire(limit, later), Ok(()));
        let denied = gcra.try_acquire(limit, later).unwrap_err();
        assert_eq!(denied.retry_after, SECOND);
        // After a whole minute of quiet the entire burst is back.
        let quiet = later + 60 * SECOND;
        assert!(gcra.is_idle_at(quiet));
        for _ in 0..60 {
            gcra.try_acquire(limit, quiet).unwrap();
        }
    }

    #[test]
    fn the_sustained_rate_is_never_exceeded_over_a_long_run() {
        let limit = RateLimit::per_minute(120).unwrap();
        let mut gcra = Gcra::default();
        let mut admitted = 0_u64;
        // A call attempt every 100 ms for ten minutes.
        for tick in 0..6000_u64 {
            if gcra
                .try_acquire(limit, Duration::from_millis(tick * 100))
                .is_ok()
            {
                admitted += 1;
            }
        }
        // Ten minutes at 120/min plus the first burst at most.
        assert!(admitted <= 1200 + 120, "{admitted}");
        assert!(admitted >= 1200, "{admitted}");
    }

    #[test]
    fn a_sub_second_wait_is_reported_as_one_second() {
        let denied = RateDenied {
            retry_after: Duration::from_millis(10),
            in_window: 1,
        };
        assert_eq!(denied.retry_after_seconds(), 1);
        let denied = RateDenied {
            retry_after: Duration::from_millis(2001),
            in_window: 1,
        };
        assert_eq!(denied.retry_after_seconds(), 3);
    }

    #[test]
    fn zero_calls_a_minute_is_not_a_rate() {
        assert_eq!(RateLimit::per_minute(0), None);
        assert!(RateLimit::per_minute(u32::MAX).is_some());
    }
}
