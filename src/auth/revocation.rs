//! Revoked access tokens, in memory: single tokens by `jti` (logout) and whole families
//! (a sign-in ended by logout, or revoked because a refresh token was reused), each kept
//! only until every token it covers has expired anyway.
//!
//! The durable record is in the store (`revoked_tokens`, and `revoked_at` on
//! `refresh_tokens` rows); `Tokens` writes it and loads this set from it at start. This
//! set exists so that checking a token reads no store. This file must not touch the store
//! or the clock: times are given to it.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

/// Entries beyond which each new revocation sweeps out the expired ones.
const SWEEP_AT: usize = 1024;

#[derive(Debug, Default)]
struct Sets {
    /// jti → unix seconds after which the token has expired anyway.
    jtis: HashMap<String, i64>,
    /// family id → unix seconds after which no access token of the family is live.
    families: HashMap<String, i64>,
}

#[derive(Debug, Default)]
pub(super) struct Revocations {
    sets: RwLock<Sets>,
}

impl Revocations {
    pub(super) fn new(jtis: HashMap<String, i64>, families: HashMap<String, i64>) -> Self {
        Revocations {
            sets: RwLock::new(Sets { jtis, families }),
        }
    }

    /// Whether the token `jti` of family `family` has been revoked.
    pub(super) fn is_revoked(&self, jti: &str, family: &str) -> bool {
        let sets = self.sets.read().unwrap_or_else(PoisonError::into_inner);
        sets.jtis.contains_key(jti) || sets.families.contains_key(family)
    }

    pub(super) fn revoke_jti(&self, jti: &str, until: i64, now: i64) {
        let mut sets = self.sets.write().unwrap_or_else(PoisonError::into_inner);
        let entry = sets.jtis.entry(jti.to_owned()).or_insert(until);
        *entry = (*entry).max(until);
        if sets.jtis.len() >= SWEEP_AT {
            sets.jtis.retain(|_, until| *until > now);
        }
    }

    pub(super) fn revoke_family(&self, family: &str, until: i64, now: i64) {
        let mut sets = self.sets.write().unwrap_or_else(PoisonError::into_inner);
        let entry = sets.families.entry(family.to_owned()).or_insert(until);
        *entry = (*entry).max(until);
        if sets.families.len() >= SWEEP_AT {
            sets.families.retain(|_, until| *until > now);
        }
    }

    /// Forgets every entry whose tokens have all expired by `now`.
    pub(super) fn prune(&self, now: i64) {
        let mut sets = self.sets.write().unwrap_or_else(PoisonError::into_inner);
        sets.jtis.retain(|_, until| *until > now);
        sets.families.retain(|_, until| *until > now);
    }

    /// (revoked jtis, revoked families) held.
    pub(super) fn len(&self) -> (usize, usize) {
        let sets = self.sets.read().unwrap_or_else(PoisonError::into_inner);
        (sets.jtis.len(), sets.families.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revoked_jti_or_family_is_held_until_it_has_expired_anyway() {
        let revocations = Revocations::default();
        revocations.revoke_jti("jti-1", 100, 0);
        revocations.revoke_family("family-1", 200, 0);
        assert!(revocations.is_revoked("jti-1", "other"));
        assert!(revocations.is_revoked("other", "family-1"));
        assert!(!revocations.is_revoked("other", "other"));
        revocations.prune(150);
        assert!(!revocations.is_revoked("jti-1", "other"));
        assert!(revocations.is_revoked("other", "family-1"));
        revocations.prune(200);
        assert_eq!(revocations.len(), (0, 0));
    }

    #[test]
    fn the_sets_stay_bounded_by_sweeping_expired_entries() {
        let revocations = Revocations::default();
        for i in 0..(SWEEP_AT * 3) {
            let i = i64::try_from(i).unwrap();
            // Each entry lives 10 seconds; "now" moves one second per revocation.
            revocations.revoke_jti(&format!("jti-{i}"), i + 10, i);
        }
        assert!(revocations.len().0 <= SWEEP_AT);
    }
}
