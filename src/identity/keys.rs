//! The API keys service: creating, listing, revoking and rotating keys, and
//! the ownership rule every change obeys — a user acts on their own keys
//! only, an admin (acting with the `admin` scope) on anyone's. The check
//! lives here, inside the same transaction as the change, so no caller can
//! forget it or race it. Authentication is in `key_auth.rs`.
//!
//! It must not log or store a secret or a whole key: the store gets the
//! secret's SHA-256 only, and the plaintext goes back to the caller once.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, params};

use crate::store::Store;

use super::key_format::{self, NewKey, SecretDigest, is_key_id};
use super::rows::{KEY_COLUMNS, key_from_row, scopes_json, select_key, select_user};
use super::{
    ApiKeyInfo, Clock, KeyError, PlaintextApiKey, Principal, Scope, SystemClock, Timestamp, UserId,
};

const KEY_NAME_MAX_CHARS: usize = 64;

/// API keys. Cheap to clone; clones share the last-used throttle.
#[derive(Clone)]
pub struct ApiKeys {
    pub(super) store: Store,
    pub(super) clock: Arc<dyn Clock>,
    /// When this process last queued a `last_used_at` write for each key.
    pub(super) last_use_written: Arc<Mutex<HashMap<String, Timestamp>>>,
    /// Bumped by every revocation and rotation, so a cache of keys can tell it is stale.
    changes: Arc<AtomicU64>,
}

impl ApiKeys {
    /// The production service, on the system clock.
    pub fn new(store: Store) -> ApiKeys {
        ApiKeys::with_clock(store, Arc::new(SystemClock))
    }

    /// A service reading time from `clock` (expiry, stamps, throttling).
    pub fn with_clock(store: Store, clock: Arc<dyn Clock>) -> ApiKeys {
        ApiKeys {
            store,
            clock,
            last_use_written: Arc::new(Mutex::new(HashMap::new())),
            changes: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Revocations and rotations since start. Equal readings mean no key was revoked in
    /// this process between them.
    pub fn generation(&self) -> u64 {
        self.changes.load(Ordering::Acquire)
    }

    /// Creates a key for `user_id`, without checking who asks: for trusted
    /// callers (the command line, first-run setup). On behalf of a client,
    /// use [`ApiKeys::create_as`]. The scopes must be ones the user's role
    /// allows; `expires_at`, if any, must be in the future.
    pub async fn create(
        &self,
        user_id: &UserId,
        name: &str,
        scopes: &[Scope],
        expires_at: Option<Timestamp>,
    ) -> Result<(ApiKeyInfo, PlaintextApiKey), KeyError> {
        self.create_checked(None, user_id, name, scopes, expires_at)
            .await
    }

    /// [`ApiKeys::create`] on behalf of `by`, who must be the user or an
    /// admin; a non-admin can only give a key scopes they hold themselves,
    /// so a narrow key cannot mint a broader one.
    pub async fn create_as(
        &self,
        by: &Principal,
        user_id: &UserId,
        name: &str,
        scopes: &[Scope],
        expires_at: Option<Timestamp>,
    ) -> Result<(ApiKeyInfo, PlaintextApiKey), KeyError> {
        self.create_checked(Some(by.clone()), user_id, name, scopes, expires_at)
            .await
    }

    async fn create_checked(
        &self,
        by: Option<Principal>,
        user_id: &UserId,
        name: &str,
        scopes: &[Scope],
        expires_at: Option<Timestamp>,
    ) -> Result<(ApiKeyInfo, PlaintextApiKey), KeyError> {
        let name = check_name(name)?;
        let scopes = normalise_scopes(scopes)?;
        let now = self.clock.now();
        if expires_at.is_some_and(|expiry| expiry <= now) {
            return Err(KeyError::ExpiryInPast);
        }
        let NewKey {
            key_id,
            digest,
            plaintext,
        } = key_format::generate()?;
        let user_id = user_id.clone();
        let info = self
            .store
            .write(move |tx| {
                if let Some(by) = &by
                    && let Err(refused) = authorise(tx, by, &user_id, &scopes)?
                {
                    return Ok(Err(refused));
                }
                let Some(owner) = select_user(tx, &user_id)? else {
                    return Ok(Err(KeyError::UserNotFound));
                };
                if let Some(scope) = scopes.iter().find(|scope| !owner.role.allows(**scope)) {
                    return Ok(Err(KeyError::ScopeNotAllowed { scope: *scope }));
                }
                let row = KeyRow {
                    key_id: &key_id,
                    user_id: &user_id,
                    name: &name,
                    digest: &digest,
                    scopes: &scopes,
                    expires_at,
                };
                Ok(Ok(insert_key(tx, &row, now)?))
            })
            .await??;
        tracing::info!(key_id = %info.key_id, user_id = %info.user_id, "created an API key");
        Ok((info, plaintext))
    }

    /// One user's keys, revoked ones included, oldest first. Does not check
    /// who asks.
    pub async fn list(&self, user_id: &UserId) -> Result<Vec<ApiKeyInfo>, KeyError> {
        let user_id = user_id.as_str().to_owned();
        self.select_keys("WHERE user_id = ?1", Some(user_id)).await
    }

    /// Every key of every user, oldest first: for admins. Does not check
    /// who asks.
    pub async fn list_all(&self) -> Result<Vec<ApiKeyInfo>, KeyError> {
        self.select_keys("WHERE ?1 IS NULL", None).await
    }

    async fn select_keys(
        &self,
        condition: &'static str,
        argument: Option<String>,
    ) -> Result<Vec<ApiKeyInfo>, KeyError> {
        Ok(self
            .store
            .read(move |connection| {
                let mut statement = connection.prepare(&format!(
                    "SELECT {KEY_COLUMNS} FROM api_keys {condition} ORDER BY created_at, rowid"
                ))?;
                let keys = statement
                    .query_map([argument], |row| key_from_row(row, 0))?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(keys)
            })
            .await?)
    }

    /// Revokes a key at once. `by` must own it or be an admin. Revoking a
    /// revoked key changes nothing and succeeds.
    pub async fn revoke(&self, key_id: &str, by: &Principal) -> Result<ApiKeyInfo, KeyError> {
        if !is_key_id(key_id) {
            return Err(KeyError::Unknown);
        }
        let key_id = key_id.to_owned();
        let by = by.clone();
        let now = self.clock.now();
        let (info, changed) = self
            .store
            .write(move |tx| {
                let Some(key) = select_key(tx, &key_id)? else {
                    return Ok(Err(KeyError::Unknown));
                };
                // Revoking only takes power away, so no scope is required.
                if let Err(refused) = authorise(tx, &by, &key.user_id, &[])? {
                    return Ok(Err(refused));
                }
                if key.is_revoked() {
                    return Ok(Ok((key, false)));
                }
                Ok(Ok((set_revoked(tx, &key_id, now, None)?, true)))
            })
            .await??;
        self.changes.fetch_add(1, Ordering::AcqRel);
        if changed {
            tracing::info!(key_id = %info.key_id, user_id = %info.user_id, "revoked an API key");
        }
        Ok(info)
    }

    /// Replaces a key with a new one of the same name, scopes and expiry,
    /// revoking the old one (its `replaced_by` names the new one), in one
    /// transaction. `by` must own the key or be an admin; a non-admin must
    /// hold every scope of the key.
    pub async fn rotate(
        &self,
        key_id: &str,
        by: &Principal,
    ) -> Result<(ApiKeyInfo, PlaintextApiKey), KeyError> {
        if !is_key_id(key_id) {
            return Err(KeyError::Unknown);
        }
        let old_key_id = key_id.to_owned();
        let by = by.clone();
        let now = self.clock.now();
        let NewKey {
            key_id: new_key_id,
            digest,
            plaintext,
        } = key_format::generate()?;
        let info = self
            .store
            .write(move |tx| {
                let Some(old) = select_key(tx, &old_key_id)? else {
                    return Ok(Err(KeyError::Unknown));
                };
                if let Err(refused) = authorise(tx, &by, &old.user_id, &old.scopes)? {
                    return Ok(Err(refused));
                }
                if old.is_revoked() {
                    return Ok(Err(KeyError::Revoked));
                }
                if old.is_expired_at(now) {
                    return Ok(Err(KeyError::Expired));
                }
                let Some(owner) = select_user(tx, &old.user_id)? else {
                    return Ok(Err(KeyError::UserNotFound));
                };
                if let Some(scope) = old.scopes.iter().find(|scope| !owner.role.allows(**scope)) {
                    return Ok(Err(KeyError::ScopeNotAllowed { scope: *scope }));
                }
                let row = KeyRow {
                    key_id: &new_key_id,
                    user_id: &old.user_id,
                    name: &old.name,
                    digest: &digest,
                    scopes: &old.scopes,
                    expires_at: old.expires_at,
                };
                let new = insert_key(tx, &row, now)?;
                set_revoked(tx, &old_key_id, now, Some(&new_key_id))?;
                Ok(Ok(new))
            })
            .await??;
        self.changes.fetch_add(1, Ordering::AcqRel);
        tracing::info!(
            key_id = %info.key_id,
            replaces = %key_id,
            user_id = %info.user_id,
            "rotated an API key"
        );
        Ok((info, plaintext))
    }
}

impl fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeys")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// Whether `by` may act on keys owned by `owner` and hand out `scopes`.
/// Reads the acting user's current state, so a principal made before a
/// demotion or a disable loses its powers at once. The outer `Result` is
/// the store's; the inner one the verdict.
fn authorise(
    connection: &Connection,
    by: &Principal,
    owner: &UserId,
    scopes: &[Scope],
) -> rusqlite::Result<Result<(), KeyError>> {
    let Some(actor) = select_user(connection, &by.user_id)? else {
        return Ok(Err(KeyError::NotYours));
    };
    if !actor.may_authenticate() {
        return Ok(Err(KeyError::UserDisabled));
    }
    let acting = Principal {
        role: actor.role,
        ..by.clone()
    };
    if acting.acts_as_admin() {
        return Ok(Ok(()));
    }
    if acting.user_id != *owner {
        return Ok(Err(KeyError::NotYours));
    }
    match scopes.iter().find(|scope| !acting.has_scope(**scope)) {
        Some(scope) => Ok(Err(KeyError::ScopeNotAllowed { scope: *scope })),
        None => Ok(Ok(())),
    }
}

/// The stored parts of a new key.
struct KeyRow<'a> {
    key_id: &'a str,
    user_id: &'a UserId,
    name: &'a str,
    digest: &'a SecretDigest,
    scopes: &'a [Scope],
    expires_at: Option<Timestamp>,
}

/// Inserts a key. A clash of random 64-bit key ids is too unlikely to
/// retry; it would fail the primary key and surface as a store error.
fn insert_key(
    connection: &Connection,
    row: &KeyRow<'_>,
    now: Timestamp,
) -> rusqlite::Result<ApiKeyInfo> {
    connection.query_row(
        &format!(
            "INSERT INTO api_keys (key_id, user_id, name, secret_sha256, scopes, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             RETURNING {KEY_COLUMNS}"
        ),
        params![
            row.key_id,
            row.user_id.as_str(),
            row.name,
            row.digest.as_slice(),
            scopes_json(row.scopes),
            now.to_rfc3339(),
            row.expires_at.map(Timestamp::to_rfc3339),
        ],
        |found| key_from_row(found, 0),
    )
}

fn set_revoked(
    connection: &Connection,
    key_id: &str,
    now: Timestamp,
    replaced_by: Option<&str>,
) -> rusqlite::Result<ApiKeyInfo> {
    connection.query_row(
        &format!(
            "UPDATE api_keys SET revoked_at = ?2, replaced_by = ?3 WHERE key_id = ?1
             RETURNING {KEY_COLUMNS}"
        ),
        params![key_id, now.to_rfc3339(), replaced_by],
        |found| key_from_row(found, 0),
    )
}

/// Trimmed; 1–64 characters; no control characters.
fn check_name(name: &str) -> Result<String, KeyError> {
    let name = name.trim();
    let invalid = |reason| Err(KeyError::InvalidName { reason });
    if name.is_empty() {
        return invalid("it is empty");
    }
    if name.chars().count() > KEY_NAME_MAX_CHARS {
        return invalid("it is longer than 64 characters");
    }
    if name.chars().any(char::is_control) {
        return invalid("it contains control characters");
    }
    Ok(name.to_owned())
}

/// At least one scope; duplicates dropped; listed in [`Scope::ALL`] order.
fn normalise_scopes(scopes: &[Scope]) -> Result<Vec<Scope>, KeyError> {
    let normalised: Vec<Scope> = Scope::ALL
        .into_iter()
        .filter(|scope| scopes.contains(scope))
        .collect();
    if normalised.is_empty() {
        return Err(KeyError::NoScopes);
    }
    Ok(normalised)
}
