//! The two text encodings the audit log writes: lowercase hex (hashes, key
//! ids, pseudonyms) and fixed-width RFC 3339 UTC timestamps.
//!
//! Both are hashed or signed, so their output must never change for the
//! same input. This file must not read clocks other than the system clock
//! nor depend on the local time zone.

use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, SecondsFormat, Utc};

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Lowercase hex of `bytes`.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(HEX_DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

/// Decodes lowercase hex only: uppercase is refused so that every value has
/// exactly one spelling (signed messages embed the hex text).
pub(crate) fn from_hex(text: &str) -> Option<Vec<u8>> {
    fn digit(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

/// The current time as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub(crate) fn now_rfc3339() -> String {
    rfc3339(SystemTime::now())
}

/// `time` as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC, microseconds). Always the
/// same width for years 1970–9999, so comparing the text compares the
/// times, which is what the `at` index and the query bounds rely on. Times
/// before 1970 are clamped to the epoch.
pub(crate) fn rfc3339(time: SystemTime) -> String {
    let time = if time < UNIX_EPOCH { UNIX_EPOCH } else { time };
    DateTime::<Utc>::from(time).to_rfc3339_opts(SecondsFormat::Micros, true)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(seconds: u64, micros: u32) -> String {
        rfc3339(UNIX_EPOCH + Duration::from_secs(seconds) + Duration::from_micros(micros.into()))
    }

    #[test]
    fn timestamps_are_fixed_width_rfc_3339_utc() {
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(at(951_782_400, 7), "2000-02-29T00:00:00.000007Z");
        assert_eq!(at(1_700_000_000, 123_456), "2023-11-14T22:13:20.123456Z");
        assert_eq!(at(4_102_444_799, 999_999), "2099-12-31T23:59:59.999999Z");
        assert_eq!(now_rfc3339().len(), 27);
    }

    #[test]
    fn times_before_the_epoch_are_clamped_to_it() {
        let before = UNIX_EPOCH - Duration::from_secs(10);
        assert_eq!(rfc3339(before), "1970-01-01T00:00:00.000000Z");
    }

    #[test]
    fn hex_round_trips_and_refuses_uppercase_and_odd_lengths() {
        let bytes = [0x00, 0x7f, 0xab, 0xff];
        assert_eq!(to_hex(&bytes), "007fabff");
        assert_eq!(from_hex("007fabff"), Some(bytes.to_vec()));
        assert_eq!(from_hex("007FABFF"), None);
        assert_eq!(from_hex("abc"), None);
        assert_eq!(from_hex("zz"), None);
        assert_eq!(from_hex(""), Some(Vec::new()));
    }
}
