//! Points in time for identity records: a [`Timestamp`] in whole UTC seconds,
//! written as RFC 3339 (`2025-01-31T12:00:00Z`, the same shape the store
//! uses for its own stamps), and the [`Clock`] the services read it from so
//! tests can move time.
//!
//! It must not know about users or keys, and must not read the system clock
//! anywhere but [`SystemClock`].

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A UTC instant in whole seconds since the Unix epoch, limited to the years
/// 1970–9999 so that its RFC 3339 text always has the same width (and text
/// order in SQLite is time order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// 9999-12-31T23:59:59Z, the last second a four-digit year can write.
const LATEST_SECONDS: i64 = 253_402_300_799;
const SECONDS_PER_DAY: i64 = 86_400;

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
    /// accepted and dropped. Anything else is refused.
    pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
        let bytes = text.as_bytes();
        if bytes.len() < 20 || !matches!(bytes[10], b'T' | b't') {
            return None;
        }
        let separators_ok = bytes[4] == b'-' && bytes[7] == b'-' && bytes[13] == b':';
        if !separators_ok || bytes[16] != b':' {
            return None;
        }
        let year = digits(text, 0..4)?;
        let month = digits(text, 5..7)?;
        let day = digits(text, 8..10)?;
        let hour = digits(text, 11..13)?;
        let minute = digits(text, 14..16)?;
        let second = digits(text, 17..19)?;
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return None;
        }
        // 60 is a leap second; we have no leap seconds, so it is refused.
        if hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        let mut rest = text.get(19..)?;
        if let Some(fraction) = rest.strip_prefix('.') {
            let digit_count = fraction.bytes().take_while(u8::is_ascii_digit).count();
            if digit_count == 0 {
                return None;
            }
            rest = &fraction[digit_count..];
        }
        let offset_seconds = parse_offset(rest)?;
        let local = days_from_civil(year, month, day) * SECONDS_PER_DAY
            + hour * 3600
            + minute * 60
            + second;
        Timestamp::from_unix_seconds(local - offset_seconds)
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`.
    pub fn to_rfc3339(self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(SECONDS_PER_DAY);
        let of_day = self.0.rem_euclid(SECONDS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            of_day / 3600,
            of_day % 3600 / 60,
            of_day % 60
        )
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

fn digits(text: &str, range: std::ops::Range<usize>) -> Option<i64> {
    let part = text.get(range)?;
    if !part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    part.parse().ok()
}

/// `Z`, `z` or `±HH:MM`, as seconds east of UTC.
fn parse_offset(text: &str) -> Option<i64> {
    if text == "Z" || text == "z" {
        return Some(0);
    }
    let bytes = text.as_bytes();
    if bytes.len() != 6 || bytes[3] != b':' {
        return None;
    }
    let sign = match bytes[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let hours = digits(text, 1..3)?;
    let minutes = digits(text, 4..6)?;
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some(sign * (hours * 3600 + minutes * 60))
}

fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`, <http://howardhinnant.github.io/date_algorithms.html>).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let shifted_month = (month + 9) % 12; // March is 0, so leap days come last
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`] (Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
pub(crate) mod test_clock {
    use std::sync::atomic::{AtomicI64, Ordering};

    use super::{Clock, Timestamp};

    /// A clock that only moves when a test moves it.
    #[derive(Debug)]
    pub(crate) struct ManualClock(AtomicI64);

    impl ManualClock {
        pub(crate) fn at(start: Timestamp) -> Self {
            Self(AtomicI64::new(start.unix_seconds()))
        }

        pub(crate) fn advance(&self, seconds: i64) {
            self.0.fetch_add(seconds, Ordering::SeqCst);
        }
    }

    impl Clock for ManualClock {
        fn now(&self) -> Timestamp {
            Timestamp(self.0.load(Ordering::SeqCst))
        }
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
