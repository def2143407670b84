//! A short-lived memory of credentials this process has already checked, so the request
//! path does not read SQLite for every call: API keys by the SHA-256 of the presented key,
//! users of access tokens by id.
//!
//! An entry is trusted only while (a) it is younger than [`CACHE_TTL_SECS`], (b) nothing in
//! this process has revoked a key or changed a user since it was made (the generations of
//! `ApiKeys` and `Users`, read *before* the store was), and (c) the key has not expired. So
//! a revocation, disabling, lock or plan change made by this server applies to the very
//! next request; one made by another process (the command line against the same database)
//! applies within the TTL. It never stores a key or a token, only digests.

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use crate::identity::{Principal, Timestamp, User, UserId};

/// How long a checked credential is trusted without asking the store again.
pub const CACHE_TTL_SECS: i64 = 10;
/// Entries kept at most; past this the cache starts again empty, which only costs reads.
const MAX_ENTRIES: usize = 10_000;

/// The generations of identity's services when an entry was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generations {
    pub users: u64,
    pub keys: u64,
}

struct KeyEntry {
    principal: Principal,
    key_expires_at: Option<Timestamp>,
    made: Timestamp,
    generations: Generations,
}

struct UserEntry {
    user: User,
    made: Timestamp,
    users_generation: u64,
}

#[derive(Default)]
pub struct CredentialCache {
    keys: Mutex<HashMap<[u8; 32], KeyEntry>>,
    users: Mutex<HashMap<UserId, UserEntry>>,
}

fn fresh(made: Timestamp, now: Timestamp) -> bool {
    now >= made && now.unix_seconds() - made.unix_seconds() < CACHE_TTL_SECS
}

pub fn digest(presented: &str) -> [u8; 32] {
    Sha256::digest(presented.as_bytes()).into()
}

impl CredentialCache {
    pub fn key(
        &self,
        digest: &[u8; 32],
        now: Timestamp,
        current: Generations,
    ) -> Option<Principal> {
        let keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        let entry = keys.get(digest)?;
        let valid = entry.generations == current
            && fresh(entry.made, now)
            && entry.key_expires_at.is_none_or(|expiry| now < expiry);
        valid.then(|| entry.principal.clone())
    }

    pub fn remember_key(
        &self,
        digest: [u8; 32],
        principal: Principal,
        key_expires_at: Option<Timestamp>,
        now: Timestamp,
        generations: Generations,
    ) {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if keys.len() >= MAX_ENTRIES {
            keys.clear();
        }
        keys.insert(
            digest,
            KeyEntry {
                principal,
                key_expires_at,
                made: now,
                generations,
            },
        );
    }

    pub fn user(&self, id: &UserId, now: Timestamp, users_generation: u64) -> Option<User> {
        let users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        let entry = users.get(id)?;
        (entry.users_generation == users_generation && fresh(entry.made, now))
            .then(|| entry.user.clone())
    }

    pub fn remember_user(&self, user: User, now: Timestamp, users_generation: u64) {
        let mut users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        if users.len() >= MAX_ENTRIES {
            users.clear();
        }
        users.insert(
            user.id.clone(),
            UserEntry {
                user,
                made: now,
                users_generation,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{AuthMethod, Email, Plan, Role};

    fn user() -> User {
        let epoch = Timestamp::from_unix_seconds(1_000).unwrap();
        User {
            id: UserId::new_random(),
            email: Email::parse("ada@example.org").unwrap(),
            display_name: "Ada".into(),
            role: Role::User,
            plan: Plan::free(),
            disabled: false,
            failed_logins: 0,
            locked_at: None,
            has_password: false,
            is_local_owner: false,
            created_at: epoch,
            updated_at: epoch,
        }
    }

    #[test]
    fn an_entry_goes_stale_with_age_with_any_change_and_at_the_keys_expiry() {
        let cache = CredentialCache::default();
        let now = Timestamp::from_unix_seconds(10_000).unwrap();
        let generations = Generations { users: 1, keys: 1 };
        let principal = Principal::session(&user(), AuthMethod::Jwt);
        let d = digest("csk_example");
        cache.remember_key(
            d,
            principal.clone(),
            Some(now.plus_seconds(5)),
            now,
            generations,
        );
        assert_eq!(cache.key(&d, now, generations), Some(principal));
        assert!(
            cache
                .key(&d, now.plus_seconds(CACHE_TTL_SECS), generations)
                .is_none()
        );
        assert!(
            cache
                .key(&d, now, Generations { users: 2, keys: 1 })
                .is_none()
        );
        assert!(
            cache
                .key(&d, now, Generations { users: 1, keys: 2 })
                .is_none()
        );
        assert!(cache.key(&d, now.plus_seconds(5), generations).is_none());
        assert!(cache.key(&digest("csk_other"), now, generations).is_none());
    }

    #[test]
    fn a_user_is_remembered_until_any_user_changes() {
        let cache = CredentialCache::default();
        let now = Timestamp::from_unix_seconds(10_000).unwrap();
        let ada = user();
        cache.remember_user(ada.clone(), now, 7);
        assert_eq!(cache.user(&ada.id, now, 7), Some(ada.clone()));
        assert!(cache.user(&ada.id, now, 8).is_none());
    }
}
