//! [`LoginLimiter`]: at most N password attempts (logins, and sign-ups, which hash a
//! password too) per client address in any window of W seconds, in memory.
//!
//! It is a sliding log, not a fixed window: an address's last N attempt times are kept, so
//! no burst across a window boundary doubles the allowance. An IPv6 address counts as its
//! /64 (one subscriber's usual allocation), so hopping through addresses inside one network
//! buys no extra attempts; an IPv4-mapped IPv6 address counts as its IPv4 address. Memory
//! is bounded: past [`DEFAULT_MAX_TRACKED`] addresses, the idle ones are swept and then the
//! least recently seen dropped.
//!
//! Refused attempts are not recorded, so a client that keeps trying is let in again W
//! seconds after its allowance was used, no later. This file must not know about users or
//! passwords, and reads time only from the injected [`Clock`].

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, PoisonError};

use crate::config::AuthConfig;
use crate::identity::Clock;

/// Addresses remembered at most (each holds up to N timestamps).
pub const DEFAULT_MAX_TRACKED: usize = 100_000;

/// The answer for one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Go ahead; the attempt has been counted.
    Allowed,
    /// Too many attempts from this address; the next is allowed in this many seconds.
    Limited { retry_after_secs: u64 },
}

pub struct LoginLimiter {
    max_attempts: usize,
    window_secs: i64,
    max_tracked: usize,
    clock: Arc<dyn Clock>,
    /// Address (`None` when unknown: such attempts share one allowance) → the times of its
    /// recent attempts, oldest first, at most `max_attempts` of them.
    attempts: Mutex<HashMap<Option<IpAddr>, VecDeque<i64>>>,
}

impl LoginLimiter {
    /// `max_attempts` per `window_secs` per address (both at least 1).
    pub fn new(max_attempts: u32, window_secs: u64, clock: Arc<dyn Clock>) -> LoginLimiter {
        LoginLimiter::with_capacity(max_attempts, window_secs, DEFAULT_MAX_TRACKED, clock)
    }

    /// `login_attempts_per_ip` per `login_window_secs`.
    pub fn from_config(config: &AuthConfig, clock: Arc<dyn Clock>) -> LoginLimiter {
        LoginLimiter::new(
            config.login_attempts_per_ip,
            config.login_window_secs,
            clock,
        )
    }

    /// [`LoginLimiter::new`] remembering at most `max_tracked` addresses.
    pub fn with_capacity(
        max_attempts: u32,
        window_secs: u64,
        max_tracked: usize,
        clock: Arc<dyn Clock>,
    ) -> LoginLimiter {
        LoginLimiter {
            max_attempts: usize::try_from(max_attempts).unwrap_or(usize::MAX).max(1),
            window_secs: i64::try_from(window_secs).unwrap_or(i64::MAX).max(1),
            max_tracked: max_tracked.max(1),
            clock,
            attempts: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt from `ip` if it is within the allowance.
    pub fn check(&self, ip: Option<IpAddr>) -> Attempt {
        let key = ip.map(bucket);
        let now = self.clock.now().unix_seconds();
        let window_start = now.saturating_sub(self.window_secs);
        // Only timestamps sit behind the lock, so a poisoned one is still good to use.
        let mut attempts = self.attempts.lock().unwrap_or_else(PoisonError::into_inner);
        if !attempts.contains_key(&key) && attempts.len() >= self.max_tracked {
            self.make_room(&mut attempts, window_start);
        }
        let times = attempts.entry(key).or_default();
        while times.front().is_some_and(|&at| at <= window_start) {
            times.pop_front();
        }
        if times.len() >= self.max_attempts {
            let oldest = times.front().copied().unwrap_or(now);
            let wait = oldest.saturating_add(self.window_secs).saturating_sub(now);
            return Attempt::Limited {
                retry_after_secs: u64::try_from(wait).unwrap_or(0).max(1),
            };
        }
        times.push_back(now);
        Attempt::Allowed
    }

    /// Addresses currently remembered.
    pub fn tracked(&self) -> usize {
        self.attempts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Drops addresses with no attempt in the window; if none were, the least recently seen.
    fn make_room(&self, attempts: &mut HashMap<Option<IpAddr>, VecDeque<i64>>, window_start: i64) {
        attempts.retain(|_, times| times.back().is_some_and(|&at| at > window_start));
        if attempts.len() < self.max_tracked {
            return;
        }
        let stalest = attempts
            .iter()
            .min_by_key(|(_, times)| times.back().copied().unwrap_or(i64::MIN))
            .map(|(key, _)| *key);
        if let Some(key) = stalest {
            attempts.remove(&key);
        }
    }
}

impl fmt::Debug for LoginLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginLimiter")
            .field("max_attempts", &self.max_attempts)
            .field("window_secs", &self.window_secs)
            .field("tracked", &self.tracked())
            .finish_non_exhaustive()
    }
}

/// The address an allowance belongs to: IPv4 as is, IPv6 as its /64.
fn bucket(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{ManualClock, Timestamp};

    const WINDOW: u64 = 15 * 60;

    fn limiter(max_tracked: usize) -> (Arc<ManualClock>, LoginLimiter) {
        let clock = Arc::new(ManualClock::at(
            Timestamp::from_unix_seconds(1_735_689_600).unwrap(),
        ));
        let limiter = LoginLimiter::with_capacity(5, WINDOW, max_tracked, clock.clone());
        (clock, limiter)
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn the_sixth_attempt_in_the_window_is_refused_and_another_address_is_not() {
        let (clock, limiter) = limiter(DEFAULT_MAX_TRACKED);
        for _ in 0..5 {
            assert_eq!(limiter.check(ip("192.0.2.1")), Attempt::Allowed);
            clock.advance(10);
        }
        assert_eq!(
            limiter.check(ip("192.0.2.1")),
            Attempt::Limited {
                retry_after_secs: WINDOW - 50
            }
        );
        assert_eq!(limiter.check(ip("192.0.2.2")), Attempt::Allowed);
    }

    #[test]
    fn attempts_are_allowed_again_once_the_window_has_passed() {
        let (clock, limiter) = limiter(DEFAULT_MAX_TRACKED);
        for _ in 0..5 {
            assert_eq!(limiter.check(ip("192.0.2.1")), Attempt::Allowed);
        }
        clock.advance(i64::try_from(WINDOW).unwrap() - 1);
        assert!(matches!(
            limiter.check(ip("192.0.2.1")),
            Attempt::Limited {
                retry_after_secs: 1
            }
        ));
        clock.advance(1);
        assert_eq!(limiter.check(ip("192.0.2.1")), Attempt::Allowed);
    }

    #[test]
    fn the_window_slides_so_a_burst_at_its_edge_gains_nothing() {
        let (clock, limiter) = limiter(DEFAULT_MAX_TRACKED);
        assert_eq!(limiter.check(ip("192.0.2.1")), Attempt::Allowed);
        clock.advance(i64::try_from(WINDOW).unwrap() - 10);
        for _ in 0..4 {
            assert_eq!(limiter.check(ip("192.0.2.1")), Attempt::Allowed);
        }
        clock.advance(10);
        // The first attempt left the window: one more, not five.
        assert_eq!(limiter.check(ip("192.0.2.1")), Attempt::Allowed);
        assert!(matches!(
            limiter.check(ip("192.0.2.1")),
            Attempt::Limited { .. }
        ));
    }

    #[test]
    fn addresses_in_one_ipv6_64_share_an_allowance() {
        let (_clock, limiter) = limiter(DEFAULT_MAX_TRACKED);
        for i in 0..5 {
            let address = format!("2001:db8:1:2::{i:x}");
            assert_eq!(limiter.check(ip(&address)), Attempt::Allowed);
        }
        assert!(matches!(
            limiter.check(ip("2001:db8:1:2:ffff::1")),
            Attempt::Limited { .. }
        ));
        assert_eq!(limiter.check(ip("2001:db8:1:3::1")), Attempt::Allowed);
        for _ in 0..5 {
            limiter.check(ip("198.51.100.7"));
        }
        assert!(matches!(
            limiter.check(ip("::ffff:198.51.100.7")),
            Attempt::Limited { .. }
        ));
    }

    #[test]
    fn memory_stays_bounded_under_a_flood_of_addresses() {
        let (clock, limiter) = limiter(100);
        for i in 0..1000u32 {
            let address = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            assert_eq!(limiter.check(Some(address)), Attempt::Allowed);
            clock.advance(1);
        }
        assert!(limiter.tracked() <= 100);
    }
}
