//! Points in time for identity records: a [`Timestamp`] in whole UTC seconds,
//! written as RFC 3339 (`2025-01-31T12:00:00Z`, the same shape the store
//! uses for its own stamps), and the [`Clock`] the services read it from so
//! tests can move time.
//!
//! It must not know about users or keys, and must not read the system clock
//! anywhere but [`SystemClock`].

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A UTC instant in whole seconds since the Unix epoch, limited to the years
/// 1970–9999 so that its RFC 3339 text always has the same width (and text
/// order in SQLite is time order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// 9999-12-31T23:59:59Z, the last second a four-digit year can write.
const LATEST_SECONDS: i64 = 253_402_300_799;

impl Timestamp {
    /// The instant `seconds` after 1970-01-01T00:00:00Z, if it falls in the
    /// supported years.
    pub fn from_unix_seconds(seconds: i64) -> Option<Timestamp> {
        (0..=LATEST_SECONDS)
            .contains(&seconds)
            .then_some(Timestamp(seconds))
    }

    pub fn unix_seconds(self) -> i64 {
        self.0
    }

    /// This instant moved by `seconds` (either way), held within the
    /// supported years rather than failing: "a year after the end of time"
    /// is still the end of time.
    pub fn plus_seconds(self, seconds: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(seconds).clamp(0, LATEST_SECONDS))
    }

    /// Parses RFC 3339 with a `Z` or `±HH:MM` offset; fractional seconds are
    /// accepted and dropped. Anything else is refused, and so is a leap
    /// second: whole-second stamps have none.
    pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
        // chrono also takes a space between date and time; stored stamps never have one.
        if !matches!(text.as_bytes().get(10), Some(b'T' | b't')) {
            return None;
        }
        let parsed = DateTime::parse_from_rfc3339(text).ok()?;
        if parsed.timestamp_subsec_nanos() >= 1_000_000_000 {
            return None;
        }
        Timestamp::from_unix_seconds(parsed.timestamp())
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`.
    pub fn to_rfc3339(self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // In range by construction; the epoch is only a fallback that cannot happen.
        let time = DateTime::<Utc>::from_timestamp(self.0, 0).unwrap_or_default();
        write!(f, "{}", time.format("%Y-%m-%dT%H:%M:%SZ"))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse_rfc3339(&text)
            .ok_or_else(|| serde::de::Error::custom("expected an RFC 3339 UTC timestamp"))
    }
}

/// Where the services read the current time from.
pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> Timestamp;
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        // A clock set before 1970 (or past 9999) is broken; pinning it to the
        // nearest supported instant keeps every stamp well-formed.
        let seconds = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(elapsed) => i64::try_from(elapsed.as_secs()).unwrap_or(LATEST_SECONDS),
            Err(_) => 0,
        };
        Timestamp(seconds.clamp(0, LATEST_SECONDS))
    }
}

/// A clock that only moves when told to: for tests and simulations that
/// must cross a UTC midnight or an expiry without waiting for it.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn at(start: Timestamp) -> Self {
        Self(AtomicI64::new(start.unix_seconds()))
    }

    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }

    pub fn set(&self, to: Timestamp) {
        self.0.store(to.unix_seconds(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_epoch_and_a_leap_day_are_written_in_rfc_3339_utc() {
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(
            Timestamp(951_782_400).to_string(),
            "2000-02-29T00:00:00Z",
            "2000 is a leap year"
        );
        assert_eq!(
            Timestamp(LATEST_SECONDS).to_string(),
            "9999-12-31T23:59:59Z"
        );
    }

    #[test]
    fn written_timestamps_parse_back_to_the_same_instant() {
        for seconds in [0, 1, 59, 86_399, 951_782_400, 1_735_689_599, LATEST_SECONDS] {
            let stamp = Timestamp(seconds);
            assert_eq!(Timestamp::parse_rfc3339(&stamp.to_rfc3339()), Some(stamp));
        }
    }

    #[test]
    fn offsets_and_fractions_are_understood() {
        let utc = Timestamp::parse_rfc3339("2025-06-01T12:00:00Z");
        assert!(utc.is_some());
        assert_eq!(
            Timestamp::parse_rfc3339("2025-06-01T14:00:00.123+02:00"),
            utc
        );
        assert_eq!(Timestamp::parse_rfc3339("2025-06-01T07:30:00-04:30"), utc);
    }

    #[test]
    fn malformed_or_impossible_timestamps_are_refused() {
        for text in [
            "",
            "2025-06-01",
            "2025-06-01 12:00:00Z",
            "2025-06-01T12:00:00",
            "2025-13-01T12:00:00Z",
            "2025-02-29T12:00:00Z",
            "2025-06-01T24:00:00Z",
            "2025-06-01T12:00:60Z",
            "2025-06-01T12:00:00.Z",
            "2025-06-01T12:00:00+2:00",
            "1969-12-31T23:59:59Z",
            "+025-06-01T12:00:00Z",
        ] {
            assert_eq!(Timestamp::parse_rfc3339(text), None, "{text}");
        }
    }

    #[test]
    fn moving_past_the_supported_years_stops_at_their_edge() {
        assert_eq!(Timestamp(10).plus_seconds(-100), Timestamp(0));
        assert_eq!(
            Timestamp(LATEST_SECONDS).plus_seconds(i64::MAX),
            Timestamp(LATEST_SECONDS)
        );
    }
}
