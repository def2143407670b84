//! Authenticating a presented API key, and recording its last use off the
//! request path.
//!
//! A key is accepted only if it parses, its id exists, its secret's digest
//! matches in constant time, it is neither revoked nor expired, and its
//! owner is neither disabled nor locked. This file must not log the
//! presented text, and must not write on the request path: `last_used_at`
//! goes through [`Store::enqueue`](crate::store::Store::enqueue), at most
//! once a minute per key.

use std::sync::PoisonError;

use rusqlite::{OptionalExtension, params};

use super::key_format::{self, SecretDigest, digests_match};
use super::rows::{KEY_COLUMN_COUNT, KEY_COLUMNS, USER_COLUMNS, key_from_row, user_from_row};
use super::{ApiKeyInfo, ApiKeys, KeyError, Timestamp, User};

/// The least time between two `last_used_at` writes for one key.
pub const LAST_USED_WRITE_INTERVAL_SECONDS: i64 = 60;
/// Keys remembered by the throttle before stale entries are swept out.
const THROTTLE_SWEEP_AT: usize = 10_000;
/// Compared against when no key has the presented id, so an unknown id and
/// a wrong secret cost the same.
const NO_DIGEST: SecretDigest = [0u8; 32];

impl ApiKeys {
    /// Checks a presented key (the whole `csk_…` text) and returns the key
    /// and its owner. Errors never repeat the input.
    pub async fn authenticate(&self, presented: &str) -> Result<(ApiKeyInfo, User), KeyError> {
        let presented = key_format::parse(presented)?;
        let key_id = presented.key_id.clone();
        let found = self
            .store
            .read(move |connection| {
                Ok(connection
                    .query_row(
                        &format!(
                            "SELECT {KEY_COLUMNS}, api_keys.secret_sha256, {USER_COLUMNS}
                             FROM api_keys JOIN users ON users.id = api_keys.user_id
                             WHERE api_keys.key_id = ?1"
                        ),
                        [key_id],
                        |row| {
                            Ok((
                                key_from_row(row, 0)?,
                                row.get::<_, Vec<u8>>(KEY_COLUMN_COUNT)?,
                                user_from_row(row, KEY_COLUMN_COUNT + 1)?,
                            ))
                        },
                    )
                    .optional()?)
            })
            .await?;
        let stored_digest = found
            .as_ref()
            .map_or(NO_DIGEST.as_slice(), |(_, digest, _)| digest.as_slice());
        let secret_matches = digests_match(&presented.digest, stored_digest);
        let Some((mut info, _, user)) = found else {
            return Err(KeyError::Unknown);
        };
        if !secret_matches {
            return Err(KeyError::Unknown);
        }
        let now = self.clock.now();
        if info.is_revoked() {
            return Err(KeyError::Revoked);
        }
        if info.is_expired_at(now) {
            return Err(KeyError::Expired);
        }
        if !user.may_authenticate() {
            return Err(KeyError::UserDisabled);
        }
        if self.claim_last_used_write(&info, now) {
            self.queue_last_used(&info.key_id, now);
            info.last_used_at = Some(now);
        }
        Ok((info, user))
    }

    /// Whether this use should be written: not if the stored stamp, or a
    /// write this process already queued, is under a minute old.
    fn claim_last_used_write(&self, info: &ApiKeyInfo, now: Timestamp) -> bool {
        let recent = |stamp: &Timestamp| {
            now.unix_seconds() - stamp.unix_seconds() < LAST_USED_WRITE_INTERVAL_SECONDS
        };
        if info.last_used_at.as_ref().is_some_and(recent) {
            return false;
        }
        // A panic elsewhere while holding the lock leaves only timestamps
        // behind, which are still good to use.
        let mut written = self
            .last_use_written
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if written.get(&info.key_id).is_some_and(recent) {
            return false;
        }
        if written.len() >= THROTTLE_SWEEP_AT {
            written.retain(|_, stamp| recent(stamp));
        }
        written.insert(info.key_id.clone(), now);
        true
    }

    fn queue_last_used(&self, key_id: &str, now: Timestamp) {
        let key_id = key_id.to_owned();
        let now = now.to_rfc3339();
        // Never moves the stamp backwards if writes land out of order.
        self.store.enqueue(move |tx| {
            tx.execute(
                "UPDATE api_keys SET last_used_at = ?2
                 WHERE key_id = ?1 AND (last_used_at IS NULL OR last_used_at < ?2)",
                params![key_id, now],
            )?;
            Ok(())
        });
    }
}
