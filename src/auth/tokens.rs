//! [`Tokens`]: JWT sessions. An access token (short, 15 minutes by default) proves who
//! calls; a refresh token (30 days) buys a new pair once, and only once. Tokens are signed
//! with EdDSA (Ed25519) under the `jwt` key of [`SigningKeys`], named by `kid`.
//!
//! What a token must pass, all of it checked here:
//! - algorithm EdDSA and nothing else (`none`, HMAC signed with the public key, RSA… are
//!   refused before any key is used);
//! - a `kid` naming a known `jwt` key; a retired key still vouches for tokens issued before
//!   it was retired, until they could have expired;
//! - issuer and audience exactly as configured (refresh tokens carry `<audience>/refresh`,
//!   so one can never pass as an access token), and the matching `typ`;
//! - `exp` and `nbf` against the injected [`Clock`], not the system clock. There is no
//!   leeway on `exp`: the same clock issues and checks, so a token is dead at its expiry.
//!   `nbf` gets [`NOT_BEFORE_LEEWAY_SECS`] so a host clock stepped back a little by NTP
//!   does not refuse a token it just issued;
//! - not revoked: a logout revokes a `jti`, a detected refresh reuse a whole family (a
//!   sign-in). Revocations are in the store and mirrored in memory, so a check reads no
//!   store.
//!
//! Every refresh token has a row in `refresh_tokens`; refreshing marks it used and inserts
//! its successor in the same write. A token presented again (or one with no row) revokes
//! its whole family: someone holds a copy.
//!
//! Checking an access token is on every request's path, so its outcome is cached by the
//! token's SHA-256 (the token itself is never kept); a cached token is still checked
//! against the clock and the revocations each time, so a logout or family revocation in
//! this process takes effect on the next request.
//!
//! This file must not read HTTP, write the audit log (callers audit, e.g. on
//! [`AuthError::RefreshReuse`]), or put a token into a log, an error or a `Debug` output.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Header, Validation};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::AuthError;
use super::keyring::Keyring;
use super::revocation::Revocations;
use crate::config::AuthConfig;
use crate::identity::{Clock, Timestamp, User, UserId, Users};
use crate::secrets::SigningKeys;
use crate::store::Store;

/// The [`SigningKeys`] purpose of the keys that sign tokens.
pub const JWT_KEY_PURPOSE: &str = "jwt";

/// Seconds a token is still accepted after its `exp`: none (see the module's comment).
pub const EXPIRY_LEEWAY_SECS: i64 = 0;

/// Seconds a token is accepted before its `nbf`, for a host clock stepped back slightly.
pub const NOT_BEFORE_LEEWAY_SECS: i64 = 5;

/// Longer tokens are refused unread; ours are well under 1 KiB.
pub const MAX_TOKEN_BYTES: usize = 4096;

/// Verified access tokens remembered; beyond this, expired ones are swept, then all.
const VERIFIED_CACHE_CAPACITY: usize = 10_000;

/// The least time between two opportunistic prunes of expired rows.
const PRUNE_INTERVAL_SECS: i64 = 60 * 60;

/// Which of the two tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    /// The `typ` claim.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
        }
    }
}

/// The claims as signed. `fam` (the sign-in the token belongs to) is in both tokens, so
/// revoking a family stops its access tokens too.
#[derive(Debug, Serialize, Deserialize)]
struct WireClaims {
    iss: String,
    aud: String,
    sub: String,
    iat: i64,
    nbf: i64,
    exp: i64,
    jti: String,
    typ: String,
    fam: String,
}

/// What a verified access token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessClaims {
    pub user_id: UserId,
    pub jti: String,
    /// The sign-in (refresh family) the token came from.
    pub family_id: String,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
}

/// What a verified refresh token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshClaims {
    pub user_id: UserId,
    pub jti: String,
    pub family_id: String,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
}

/// An access token and the refresh token that renews it. `Debug` hides both tokens.
#[derive(Clone)]
pub struct TokenPair {
    pub access_token: String,
    pub access_expires_at: Timestamp,
    pub refresh_token: String,
    pub refresh_expires_at: Timestamp,
    /// The sign-in both tokens belong to.
    pub family_id: String,
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenPair")
            .field("access_token", &"[redacted]")
            .field("access_expires_at", &self.access_expires_at)
            .field("refresh_token", &"[redacted]")
            .field("refresh_expires_at", &self.refresh_expires_at)
            .field("family_id", &self.family_id)
            .finish()
    }
}

/// Issues, checks, refreshes and revokes tokens. Cheap to clone; clones share the keys,
/// the revocations and the cache.
#[derive(Clone)]
pub struct Tokens {
    inner: Arc<Inner>,
}

struct Inner {
    issuer: String,
    audience: String,
    refresh_audience: String,
    access_ttl: i64,
    refresh_ttl: i64,
    store: Store,
    users: Users,
    signing_keys: SigningKeys,
    clock: Arc<dyn Clock>,
    keyring: Keyring,
    revocations: Revocations,
    access_validation: Validation,
    refresh_validation: Validation,
    /// SHA-256 of a verified access token → its claims.
    verified: Mutex<HashMap<[u8; 32], AccessClaims>>,
    /// Unix seconds of the last prune of expired rows.
    last_prune: AtomicI64,
}

/// What the refresh write found.
enum Rotation {
    Rotated,
    /// No row, or used, or revoked: the family is now revoked.
    Reused,
    UserRefused,
    /// The row does not belong to the token's user or family (never for our own tokens).
    Mismatch,
}

impl Tokens {
    /// Loads (or makes, on first run) the `jwt` signing key, the revocations still in
    /// force, and prunes expired rows.
    pub async fn new(
        config: &AuthConfig,
        store: Store,
        users: Users,
        signing_keys: SigningKeys,
        clock: Arc<dyn Clock>,
    ) -> Result<Tokens, AuthError> {
        let active = signing_keys.load_or_create(JWT_KEY_PURPOSE).await?;
        let public = signing_keys.public_keys(JWT_KEY_PURPOSE).await?;
        let keyring = Keyring::new(&active, &public)?;
        let access_ttl = ttl_seconds(config.access_token_ttl_secs);
        let refresh_ttl = ttl_seconds(config.refresh_token_ttl_secs);
        let refresh_audience = format!("{}/refresh", config.audience);
        let now = clock.now();
        let revocations = load_revocations(&store, now, access_ttl).await?;
        let tokens = Tokens {
            inner: Arc::new(Inner {
                access_validation: validation(&config.issuer, &config.audience),
                refresh_validation: validation(&config.issuer, &refresh_audience),
                issuer: config.issuer.clone(),
                audience: config.audience.clone(),
                refresh_audience,
                access_ttl,
                refresh_ttl,
                store,
                users,
                signing_keys,
                clock,
                keyring,
                revocations,
                verified: Mutex::new(HashMap::new()),
                last_prune: AtomicI64::new(now.unix_seconds()),
            }),
        };
        tokens.prune().await?;
        Ok(tokens)
    }

    /// Access tokens' lifetime, in seconds.
    pub fn access_ttl_secs(&self) -> i64 {
        self.inner.access_ttl
    }

    /// Refresh tokens' lifetime, in seconds.
    pub fn refresh_ttl_secs(&self) -> i64 {
        self.inner.refresh_ttl
    }

    /// A new sign-in for `user`: a pair in a new family. Refused if the user may not sign
    /// in (disabled, locked or gone) by the time the refresh row is written.
    pub async fn issue(&self, user: &User) -> Result<TokenPair, AuthError> {
        if !user.may_authenticate() {
            return Err(AuthError::UserDisabled);
        }
        let now = self.inner.clock.now();
        let family_id = new_id();
        let (pair, refresh_jti) = self.sign_pair(&user.id, &family_id, now)?;
        let user_id = user.id.clone();
        let issued_at = now.to_rfc3339();
        let expires_at = pair.refresh_expires_at.to_rfc3339();
        let inserted =
            self.inner
                .store
                .write(move |tx| {
                    Ok(tx.execute(
                    "INSERT INTO refresh_tokens (jti, family_id, user_id, issued_at, expires_at)
                     SELECT ?1, ?2, id, ?4, ?5 FROM users
                     WHERE id = ?3 AND disabled = 0 AND locked_at IS NULL",
                    params![refresh_jti, family_id, user_id.as_str(), issued_at, expires_at],
                )?)
                })
                .await?;
        if inserted == 0 {
            return Err(AuthError::UserDisabled);
        }
        Ok(pair)
    }

    /// Exchanges a refresh token for a new pair in the same family, once. A token already
    /// used, revoked or unknown revokes its whole family and answers
    /// [`AuthError::RefreshReuse`]. The user must still exist and be enabled and unlocked.
    pub async fn refresh(&self, refresh_token: &str) -> Result<(TokenPair, User), AuthError> {
        let now = self.inner.clock.now();
        let claims = self.verify_refresh(refresh_token)?;
        let user = self
            .inner
            .users
            .get(&claims.user_id)
            .await?
            .ok_or(AuthError::UserNotFound)?;
        if !user.may_authenticate() {
            return Err(AuthError::UserDisabled);
        }
        let (pair, next_jti) = self.sign_pair(&user.id, &claims.family_id, now)?;
        let rotation = {
            let jti = claims.jti.clone();
            let family_id = claims.family_id.clone();
            let user_id = claims.user_id.clone();
            let now = now.to_rfc3339();
            let next_expires_at = pair.refresh_expires_at.to_rfc3339();
            self.inner
                .store
                .write(move |tx| {
                    let row: Option<(String, String, bool)> = tx
                        .query_row(
                            "SELECT family_id, user_id, used_at IS NOT NULL OR revoked_at IS NOT NULL
                             FROM refresh_tokens WHERE jti = ?1",
                            [&jti],
                            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                        )
                        .optional()?;
                    match row {
                        None | Some((_, _, true)) => {
                            // Returned as a value, not an error, so the revocation commits.
                            tx.execute(
                                "UPDATE refresh_tokens SET revoked_at = ?2
                                 WHERE family_id = ?1 AND revoked_at IS NULL",
                                params![family_id, now],
                            )?;
                            return Ok(Rotation::Reused);
                        }
                        Some((row_family, row_user, false))
                            if row_family != family_id || row_user != user_id.as_str() =>
                        {
                            return Ok(Rotation::Mismatch);
                        }
                        Some(_) => {}
                    }
                    let may_sign_in: bool = tx
                        .query_row(
                            "SELECT disabled = 0 AND locked_at IS NULL FROM users WHERE id = ?1",
                            [user_id.as_str()],
                            |row| row.get(0),
                        )
                        .optional()?
                        .unwrap_or(false);
                    if !may_sign_in {
                        return Ok(Rotation::UserRefused);
                    }
                    tx.execute(
                        "UPDATE refresh_tokens SET used_at = ?2 WHERE jti = ?1",
                        params![jti, now],
                    )?;
                    tx.execute(
                        "INSERT INTO refresh_tokens (jti, family_id, user_id, issued_at, expires_at)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![next_jti, family_id, user_id.as_str(), now, next_expires_at],
                    )?;
                    Ok(Rotation::Rotated)
                })
                .await?
        };
        match rotation {
            Rotation::Rotated => Ok((pair, user)),
            Rotation::Reused => {
                self.revoke_family_in_memory(&claims.family_id, now);
                tracing::warn!(
                    user_id = %claims.user_id,
                    family_id = %claims.family_id,
                    "a refresh token was reused; its session is revoked"
                );
                Err(AuthError::RefreshReuse {
                    user_id: claims.user_id,
                    family_id: claims.family_id,
                })
            }
            Rotation::UserRefused => Err(AuthError::UserDisabled),
            Rotation::Mismatch => Err(AuthError::Invalid),
        }
    }

    /// Checks an access token (see the module's comment for everything checked). Reads no
    /// store.
    pub fn verify_access(&self, token: &str) -> Result<AccessClaims, AuthError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::Malformed);
        }
        let now = self.inner.clock.now().unix_seconds();
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let cached = self
            .inner
            .verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&digest)
            .cloned();
        if let Some(claims) = cached {
            self.check_still_live(&claims, now)?;
            return Ok(claims);
        }
        let wire = self.verify_signed(token, TokenKind::Access, now)?;
        let claims = AccessClaims {
            user_id: parse_user_id(&wire.sub)?,
            issued_at: timestamp(wire.iat)?,
            expires_at: timestamp(wire.exp)?,
            jti: wire.jti,
            family_id: wire.fam,
        };
        self.check_still_live(&claims, now)?;
        let mut verified = self
            .inner
            .verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if verified.len() >= VERIFIED_CACHE_CAPACITY {
            verified.retain(|_, claims| claims.expires_at.unix_seconds() > now);
            if verified.len() >= VERIFIED_CACHE_CAPACITY {
                verified.clear();
            }
        }
        verified.insert(digest, claims.clone());
        Ok(claims)
    }

    /// Checks a refresh token's signature, claims and times. Whether it is still unused is
    /// for [`Tokens::refresh`], which asks the store.
    pub fn verify_refresh(&self, token: &str) -> Result<RefreshClaims, AuthError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::Malformed);
        }
        let now = self.inner.clock.now().unix_seconds();
        let wire = self.verify_signed(token, TokenKind::Refresh, now)?;
        Ok(RefreshClaims {
            user_id: parse_user_id(&wire.sub)?,
            issued_at: timestamp(wire.iat)?,
            expires_at: timestamp(wire.exp)?,
            jti: wire.jti,
            family_id: wire.fam,
        })
    }

    /// Revokes one access token (logout) until `expires_at`, when it would have expired
    /// anyway. Takes effect in this process at once, and is stored for restarts.
    pub async fn revoke(&self, jti: &str, expires_at: Timestamp) -> Result<(), AuthError> {
        let now = self.inner.clock.now();
        self.inner
            .revocations
            .revoke_jti(jti, expires_at.unix_seconds(), now.unix_seconds());
        let jti = jti.to_owned();
        let expires_at = expires_at.to_rfc3339();
        self.inner
            .store
            .write(move |tx| {
                tx.execute(
                    "INSERT INTO revoked_tokens (jti, expires_at) VALUES (?1, ?2)
                     ON CONFLICT (jti) DO NOTHING",
                    params![jti, expires_at],
                )?;
                Ok(())
            })
            .await?;
        Ok(())
    }

    /// Revokes a sign-in: every refresh token of the family, and (in memory, until they
    /// expire) its access tokens. Returns how many refresh tokens were still unrevoked.
    /// Does not check who asks: callers make sure the family is the caller's own.
    pub async fn revoke_family(&self, family_id: &str) -> Result<usize, AuthError> {
        let now = self.inner.clock.now();
        self.revoke_family_in_memory(family_id, now);
        let family_id = family_id.to_owned();
        let stamp = now.to_rfc3339();
        Ok(self
            .inner
            .store
            .write(move |tx| {
                Ok(tx.execute(
                    "UPDATE refresh_tokens SET revoked_at = ?2
                     WHERE family_id = ?1 AND revoked_at IS NULL",
                    params![family_id, stamp],
                )?)
            })
            .await?)
    }

    /// Deletes rows past their expiry (refresh tokens, revoked access tokens) and forgets
    /// expired revocations and cached tokens. Returns the rows deleted.
    pub async fn prune(&self) -> Result<usize, AuthError> {
        let now = self.inner.clock.now();
        self.prune_memory(now.unix_seconds());
        let stamp = now.to_rfc3339();
        let deleted = self
            .inner
            .store
            .write(move |tx| Ok(delete_expired(tx, &stamp)?))
            .await?;
        Ok(deleted)
    }

    /// [`Tokens::prune`] at most once an hour, without waiting for it: for busy paths such
    /// as logout.
    pub fn prune_if_due(&self) {
        let now = self.inner.clock.now();
        let last = self.inner.last_prune.load(Ordering::Acquire);
        if now.unix_seconds() - last < PRUNE_INTERVAL_SECS {
            return;
        }
        if self
            .inner
            .last_prune
            .compare_exchange(
                last,
                now.unix_seconds(),
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_err()
        {
            return;
        }
        self.prune_memory(now.unix_seconds());
        let stamp = now.to_rfc3339();
        self.inner.store.enqueue(move |tx| {
            delete_expired(tx, &stamp)?;
            Ok(())
        });
    }

    /// Retires the active `jwt` key and signs with a new one from now on. Tokens signed
    /// with the old key keep working until they expire.
    pub async fn rotate_signing_key(&self) -> Result<String, AuthError> {
        let active = self.inner.signing_keys.rotate(JWT_KEY_PURPOSE).await?;
        let public = self.inner.signing_keys.public_keys(JWT_KEY_PURPOSE).await?;
        self.inner.keyring.replace(&active, &public)?;
        Ok(active.kid().to_owned())
    }

    /// The kid new tokens are signed with.
    pub fn signing_kid(&self) -> String {
        self.inner.keyring.signer().kid.clone()
    }

    fn revoke_family_in_memory(&self, family_id: &str, now: Timestamp) {
        // Every access token of the family was issued by now, so none outlives this.
        let until = now.plus_seconds(self.inner.access_ttl).unix_seconds();
        self.inner
            .revocations
            .revoke_family(family_id, until, now.unix_seconds());
    }

    fn prune_memory(&self, now: i64) {
        self.inner.revocations.prune(now);
        self.inner
            .verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, claims| claims.expires_at.unix_seconds() > now);
    }

    /// Expiry and revocation: what can change after a token was verified once.
    fn check_still_live(&self, claims: &AccessClaims, now: i64) -> Result<(), AuthError> {
        if claims.expires_at.unix_seconds() + EXPIRY_LEEWAY_SECS <= now {
            return Err(AuthError::Expired);
        }
        if self
            .inner
            .revocations
            .is_revoked(&claims.jti, &claims.family_id)
        {
            return Err(AuthError::Revoked);
        }
        Ok(())
    }

    /// Signature, algorithm, kid, issuer, audience, type and times.
    fn verify_signed(
        &self,
        token: &str,
        kind: TokenKind,
        now: i64,
    ) -> Result<WireClaims, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Malformed)?;
        if header.alg != Algorithm::EdDSA {
            return Err(AuthError::Invalid);
        }
        let kid = header.kid.as_deref().ok_or(AuthError::Invalid)?;
        let verifier = self.inner.keyring.verifier(kid).ok_or(AuthError::Invalid)?;
        let (validation, ttl) = match kind {
            TokenKind::Access => (&self.inner.access_validation, self.inner.access_ttl),
            TokenKind::Refresh => (&self.inner.refresh_validation, self.inner.refresh_ttl),
        };
        let claims = jsonwebtoken::decode::<WireClaims>(token, &verifier.key, validation)
            .map_err(|error| match error.kind() {
                ErrorKind::InvalidToken
                | ErrorKind::Base64(_)
                | ErrorKind::Json(_)
                | ErrorKind::Utf8(_) => AuthError::Malformed,
                _ => AuthError::Invalid,
            })?
            .claims;
        // jsonwebtoken checked the audience; these are belt and braces for our own claims.
        let audience = match kind {
            TokenKind::Access => &self.inner.audience,
            TokenKind::Refresh => &self.inner.refresh_audience,
        };
        if claims.typ != kind.as_str() || &claims.aud != audience || claims.iss != self.inner.issuer
        {
            return Err(AuthError::Invalid);
        }
        // A lifetime longer than configured was not issued under the current settings:
        // lowering a TTL takes effect for tokens already out.
        if claims.exp.saturating_sub(claims.iat) > ttl {
            return Err(AuthError::Invalid);
        }
        if claims.exp.saturating_add(EXPIRY_LEEWAY_SECS) <= now {
            return Err(AuthError::Expired);
        }
        if claims.nbf > now.saturating_add(NOT_BEFORE_LEEWAY_SECS) {
            return Err(AuthError::NotYetValid);
        }
        // A retired key signed nothing after its retirement, and vouches for nothing once
        // every token it signed has expired.
        if let Some(retired_at) = verifier.retired_at
            && (claims.iat > retired_at || now >= retired_at.saturating_add(ttl))
        {
            return Err(AuthError::Invalid);
        }
        Ok(claims)
    }

    /// Signs an access and a refresh token for `user_id` in `family_id`; returns the pair
    /// and the refresh token's jti.
    fn sign_pair(
        &self,
        user_id: &UserId,
        family_id: &str,
        now: Timestamp,
    ) -> Result<(TokenPair, String), AuthError> {
        let signer = self.inner.keyring.signer();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(signer.kid.clone());
        header.typ = Some("JWT".to_owned());
        let sign = |kind: TokenKind, audience: &str, ttl: i64| {
            let expires_at = now.plus_seconds(ttl);
            let claims = WireClaims {
                iss: self.inner.issuer.clone(),
                aud: audience.to_owned(),
                sub: user_id.as_str().to_owned(),
                iat: now.unix_seconds(),
                nbf: now.unix_seconds(),
                exp: expires_at.unix_seconds(),
                jti: new_id(),
                typ: kind.as_str().to_owned(),
                fam: family_id.to_owned(),
            };
            let token = jsonwebtoken::encode(&header, &claims, &signer.key)
                .map_err(|_| AuthError::Signing)?;
            Ok::<_, AuthError>((token, expires_at, claims.jti))
        };
        let (access_token, access_expires_at, _) = sign(
            TokenKind::Access,
            &self.inner.audience,
            self.inner.access_ttl,
        )?;
        let (refresh_token, refresh_expires_at, refresh_jti) = sign(
            TokenKind::Refresh,
            &self.inner.refresh_audience,
            self.inner.refresh_ttl,
        )?;
        let pair = TokenPair {
            access_token,
            access_expires_at,
            refresh_token,
            refresh_expires_at,
            family_id: family_id.to_owned(),
        };
        Ok((pair, refresh_jti))
    }
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("issuer", &self.inner.issuer)
            .field("audience", &self.inner.audience)
            .field("access_ttl", &self.inner.access_ttl)
            .field("refresh_ttl", &self.inner.refresh_ttl)
            .field("keyring", &self.inner.keyring)
            .field("revocations", &self.inner.revocations.len())
            .finish_non_exhaustive()
    }
}

/// EdDSA only; issuer and audience pinned; `exp` and `nbf` required but checked by us
/// against the injected clock (jsonwebtoken would read the system clock).
fn validation(issuer: &str, audience: &str) -> Validation {
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.leeway = 0;
    validation
}

/// A configured lifetime in seconds, at least 1 and at most what a timestamp can hold.
fn ttl_seconds(configured: u64) -> i64 {
    i64::try_from(configured).unwrap_or(i64::MAX).max(1)
}

fn new_id() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

fn parse_user_id(sub: &str) -> Result<UserId, AuthError> {
    UserId::parse(sub).map_err(|_| AuthError::Invalid)
}

fn timestamp(seconds: i64) -> Result<Timestamp, AuthError> {
    Timestamp::from_unix_seconds(seconds).ok_or(AuthError::Invalid)
}

fn delete_expired(tx: &rusqlite::Connection, now: &str) -> Result<usize, rusqlite::Error> {
    let refresh = tx.execute("DELETE FROM refresh_tokens WHERE expires_at <= ?1", [now])?;
    let revoked = tx.execute("DELETE FROM revoked_tokens WHERE expires_at <= ?1", [now])?;
    Ok(refresh + revoked)
}

/// The revocations still in force at `now`: revoked jtis not yet expired, and families
/// revoked less than an access token's lifetime ago.
async fn load_revocations(
    store: &Store,
    now: Timestamp,
    access_ttl: i64,
) -> Result<Revocations, AuthError> {
    let stamp = now.to_rfc3339();
    let cutoff = now.plus_seconds(-access_ttl).to_rfc3339();
    let (jtis, families) = store
        .read(move |connection| {
            let jtis = connection
                .prepare("SELECT jti, expires_at FROM revoked_tokens WHERE expires_at > ?1")?
                .query_map([&stamp], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let families = connection
                .prepare(
                    "SELECT family_id, MAX(revoked_at) FROM refresh_tokens
                     WHERE revoked_at IS NOT NULL AND revoked_at > ?1
                     GROUP BY family_id",
                )?
                .query_map([&cutoff], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok((jtis, families))
        })
        .await?;
    // A stamp that does not parse is held for a full lifetime: erring towards revoked.
    let fallback = now.plus_seconds(access_ttl).unix_seconds();
    let jtis = jtis
        .into_iter()
        .map(|(jti, expires_at)| {
            let until =
                Timestamp::parse_rfc3339(&expires_at).map_or(fallback, |t| t.unix_seconds());
            (jti, until)
        })
        .collect();
    let families = families
        .into_iter()
        .map(|(family, revoked_at)| {
            let until = Timestamp::parse_rfc3339(&revoked_at)
                .map_or(fallback, |t| t.plus_seconds(access_ttl).unix_seconds());
            (family, until)
        })
        .collect();
    Ok(Revocations::new(jtis, families))
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::EncodingKey;
    use serde_json::json;

    use super::*;
    use crate::auth::test_support::{Fixture, START, claims_of, header_of, with_part};

    const FIFTEEN_MINUTES: i64 = 15 * 60;
    const THIRTY_DAYS: i64 = 30 * 24 * 60 * 60;

    async fn signed_in() -> (Fixture, Tokens, User, TokenPair) {
        let fixture = Fixture::new().await;
        let tokens = fixture.tokens().await;
        let user = fixture.user("ada@example.org").await;
        let pair = tokens.issue(&user).await.unwrap();
        (fixture, tokens, user, pair)
    }

    fn standard_claims(user: &User, kind: TokenKind, audience: &str) -> serde_json::Value {
        json!({
            "iss": "consilium",
            "aud": audience,
            "sub": user.id.as_str(),
            "iat": START,
            "nbf": START,
            "exp": START + FIFTEEN_MINUTES,
            "jti": "8a1f8e2e-35a4-4d6f-9f0e-5f2c7e1c2a11",
            "typ": kind.as_str(),
            "fam": "4b7c1a0e-1f0e-4c43-9a55-1f5a0b3a9d01",
        })
    }

    #[tokio::test]
    async fn an_issued_access_token_verifies_with_its_claims() {
        let (_fixture, tokens, user, pair) = signed_in().await;
        let claims = tokens.verify_access(&pair.access_token).unwrap();
        assert_eq!(claims.user_id, user.id);
        assert_eq!(claims.family_id, pair.family_id);
        assert_eq!(claims.issued_at.unix_seconds(), START);
        assert_eq!(claims.expires_at.unix_seconds(), START + FIFTEEN_MINUTES);
        assert_eq!(pair.refresh_expires_at.unix_seconds(), START + THIRTY_DAYS);
        let header = header_of(&pair.access_token);
        assert_eq!(header["alg"], "EdDSA");
        assert_eq!(header["kid"], tokens.signing_kid());
        let wire = claims_of(&pair.access_token);
        for claim in ["iss", "aud", "sub", "iat", "nbf", "exp", "jti", "typ"] {
            assert!(wire.get(claim).is_some(), "{claim} missing");
        }
        assert_eq!(wire["typ"], "access");
        assert_eq!(wire["aud"], "consilium-mcp");
        assert_eq!(
            claims_of(&pair.refresh_token)["aud"],
            "consilium-mcp/refresh"
        );
        // Checking again (from the cache) gives the same answer.
        assert_eq!(tokens.verify_access(&pair.access_token).unwrap(), claims);
    }

    #[tokio::test]
    async fn alg_none_is_refused() {
        let (_fixture, tokens, _user, pair) = signed_in().await;
        let mut header = header_of(&pair.access_token);
        header["alg"] = json!("none");
        let unsigned = with_part(&pair.access_token, 0, &header);
        let stripped = format!("{}.", unsigned.rsplit_once('.').unwrap().0);
        for token in [unsigned, stripped] {
            assert!(tokens.verify_access(&token).is_err());
        }
    }

    #[tokio::test]
    async fn hs256_signed_with_the_public_key_is_refused() {
        let (fixture, tokens, user, _pair) = signed_in().await;
        let public = fixture
            .signing_keys
            .public_keys(JWT_KEY_PURPOSE)
            .await
            .unwrap();
        let key = &public[0];
        let claims = standard_claims(&user, TokenKind::Access, "consilium-mcp");
        let x = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            key.verifying_key.as_bytes(),
        );
        for secret in [key.verifying_key.as_bytes().as_slice(), x.as_bytes()] {
            for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
                let mut header = Header::new(alg);
                header.kid = Some(key.kid.clone());
                let forged =
                    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(secret))
                        .unwrap();
                let refused = tokens.verify_access(&forged).unwrap_err();
                assert!(
                    matches!(refused, AuthError::Invalid),
                    "{alg:?}: {refused:?}"
                );
            }
        }
    }

    #[tokio::test]
    async fn a_token_signed_with_another_algorithm_family_is_refused() {
        let (_fixture, tokens, _user, pair) = signed_in().await;
        for alg in ["RS256", "ES256", "PS256", "EdDSA256", "ed25519"] {
            let mut header = header_of(&pair.access_token);
            header["alg"] = json!(alg);
            let relabelled = with_part(&pair.access_token, 0, &header);
            assert!(tokens.verify_access(&relabelled).is_err(), "{alg}");
        }
    }

    #[tokio::test]
    async fn an_expired_token_is_refused_from_the_instant_of_its_expiry() {
        let (fixture, tokens, _user, pair) = signed_in().await;
        tokens.verify_access(&pair.access_token).unwrap();
        fixture.clock.advance(FIFTEEN_MINUTES - 1);
        tokens.verify_access(&pair.access_token).unwrap();
        fixture.clock.advance(1);
        assert!(matches!(
            tokens.verify_access(&pair.access_token),
            Err(AuthError::Expired)
        ));
        fixture.clock.advance(THIRTY_DAYS);
        assert!(matches!(
            tokens.refresh(&pair.refresh_token).await,
            Err(AuthError::Expired)
        ));
    }

    #[tokio::test]
    async fn a_token_not_yet_valid_is_refused() {
        let (fixture, tokens, _user, pair) = signed_in().await;
        fixture
            .clock
            .set(Timestamp::from_unix_seconds(START - NOT_BEFORE_LEEWAY_SECS).unwrap());
        tokens.verify_access(&pair.access_token).unwrap();
        let fresh = fixture.tokens().await;
        fixture
            .clock
            .set(Timestamp::from_unix_seconds(START - 60).unwrap());
        assert!(matches!(
            fresh.verify_access(&pair.access_token),
            Err(AuthError::NotYetValid)
        ));
        assert!(matches!(
            fresh.verify_refresh(&pair.refresh_token),
            Err(AuthError::NotYetValid)
        ));
    }

    #[tokio::test]
    async fn a_wrong_issuer_or_audience_is_refused() {
        let (fixture, tokens, user, _pair) = signed_in().await;
        let other_issuer = fixture
            .tokens_with(&AuthConfig {
                issuer: "someone-else".into(),
                ..AuthConfig::default()
            })
            .await;
        let other_audience = fixture
            .tokens_with(&AuthConfig {
                audience: "another-api".into(),
                ..AuthConfig::default()
            })
            .await;
        for foreign in [other_issuer, other_audience] {
            let pair = foreign.issue(&user).await.unwrap();
            foreign.verify_access(&pair.access_token).unwrap();
            assert!(matches!(
                tokens.verify_access(&pair.access_token),
                Err(AuthError::Invalid)
            ));
            assert!(matches!(
                tokens.verify_refresh(&pair.refresh_token),
                Err(AuthError::Invalid)
            ));
        }
    }

    #[tokio::test]
    async fn a_revoked_jti_is_refused_here_and_after_a_restart() {
        let (fixture, tokens, _user, pair) = signed_in().await;
        let claims = tokens.verify_access(&pair.access_token).unwrap();
        tokens.revoke(&claims.jti, claims.expires_at).await.unwrap();
        assert!(matches!(
            tokens.verify_access(&pair.access_token),
            Err(AuthError::Revoked)
        ));
        let restarted = fixture.tokens().await;
        assert!(matches!(
            restarted.verify_access(&pair.access_token),
            Err(AuthError::Revoked)
        ));
    }

    #[tokio::test]
    async fn a_refresh_token_is_never_accepted_as_an_access_token_nor_the_reverse() {
        let (_fixture, tokens, _user, pair) = signed_in().await;
        assert!(matches!(
            tokens.verify_access(&pair.refresh_token),
            Err(AuthError::Invalid)
        ));
        assert!(matches!(
            tokens.verify_refresh(&pair.access_token),
            Err(AuthError::Invalid)
        ));
        assert!(tokens.refresh(&pair.access_token).await.is_err());
    }

    #[tokio::test]
    async fn a_token_with_the_right_audience_but_the_wrong_type_is_refused() {
        let (fixture, tokens, user, _pair) = signed_in().await;
        let kid = tokens.signing_kid();
        let claims = standard_claims(&user, TokenKind::Refresh, "consilium-mcp");
        let forged = fixture.forge_with_real_key(&kid, &claims).await;
        assert!(matches!(
            tokens.verify_access(&forged),
            Err(AuthError::Invalid)
        ));
        let proper = standard_claims(&user, TokenKind::Access, "consilium-mcp");
        let genuine = fixture.forge_with_real_key(&kid, &proper).await;
        tokens.verify_access(&genuine).unwrap();
    }

    #[tokio::test]
    async fn refreshing_rotates_the_refresh_token_once() {
        let (_fixture, tokens, user, first) = signed_in().await;
        let (second, refreshed_user) = tokens.refresh(&first.refresh_token).await.unwrap();
        assert_eq!(refreshed_user.id, user.id);
        assert_eq!(second.family_id, first.family_id);
        assert_ne!(second.refresh_token, first.refresh_token);
        tokens.verify_access(&second.access_token).unwrap();
        let (third, _) = tokens.refresh(&second.refresh_token).await.unwrap();
        tokens.verify_access(&third.access_token).unwrap();
    }

    #[tokio::test]
    async fn refresh_reuse_revokes_the_whole_family() {
        let (fixture, tokens, user, first) = signed_in().await;
        let other_session = tokens.issue(&user).await.unwrap();
        let (second, _) = tokens.refresh(&first.refresh_token).await.unwrap();
        // The stolen copy of the first refresh token is played again.
        let reuse = tokens.refresh(&first.refresh_token).await.unwrap_err();
        match &reuse {
            AuthError::RefreshReuse { user_id, family_id } => {
                assert_eq!(user_id, &user.id);
                assert_eq!(family_id, &first.family_id);
            }
            other => panic!("expected reuse, got {other:?}"),
        }
        // The token the legitimate rotation produced stops working too…
        assert!(matches!(
            tokens.refresh(&second.refresh_token).await,
            Err(AuthError::RefreshReuse { .. })
        ));
        // …and so do the family's access tokens, here and after a restart.
        for access in [&first.access_token, &second.access_token] {
            assert!(matches!(
                tokens.verify_access(access),
                Err(AuthError::Revoked)
            ));
            assert!(matches!(
                fixture.tokens().await.verify_access(access),
                Err(AuthError::Revoked)
            ));
        }
        // Another sign-in of the same user is untouched.
        tokens.verify_access(&other_session.access_token).unwrap();
        tokens.refresh(&other_session.refresh_token).await.unwrap();
        let family = first.family_id.clone();
        let unrevoked: i64 = fixture
            .store
            .read(move |connection| {
                Ok(connection.query_row(
                    "SELECT COUNT(*) FROM refresh_tokens WHERE family_id = ?1 AND revoked_at IS NULL",
                    [family],
                    |row| row.get(0),
                )?)
            })
            .await
            .unwrap();
        assert_eq!(unrevoked, 0);
    }

    #[tokio::test]
    async fn a_tampered_payload_is_refused() {
        let (_fixture, tokens, _user, pair) = signed_in().await;
        let mut claims = claims_of(&pair.access_token);
        claims["sub"] = json!(UserId::new_random().as_str());
        assert!(matches!(
            tokens.verify_access(&with_part(&pair.access_token, 1, &claims)),
            Err(AuthError::Invalid)
        ));
        let mut claims = claims_of(&pair.access_token);
        claims["exp"] = json!(START + THIRTY_DAYS);
        assert!(
            tokens
                .verify_access(&with_part(&pair.access_token, 1, &claims))
                .is_err()
        );
        let mut signature_flipped = pair.access_token.clone();
        let last = signature_flipped.pop().unwrap();
        signature_flipped.push(if last == 'A' { 'B' } else { 'A' });
        assert!(tokens.verify_access(&signature_flipped).is_err());
        for garbage in ["", "a.b", "a.b.c", "...", &"x".repeat(MAX_TOKEN_BYTES + 1)] {
            assert!(tokens.verify_access(garbage).is_err(), "{garbage}");
        }
    }

    #[tokio::test]
    async fn an_unknown_kid_is_refused() {
        let (fixture, tokens, user, pair) = signed_in().await;
        // The real key, relabelled: the kid must name a known key.
        let mut header = header_of(&pair.access_token);
        header["kid"] = json!("not-a-known-key");
        assert!(matches!(
            tokens.verify_access(&with_part(&pair.access_token, 0, &header)),
            Err(AuthError::Invalid)
        ));
        let mut header = header_of(&pair.access_token);
        header.as_object_mut().unwrap().remove("kid");
        assert!(
            tokens
                .verify_access(&with_part(&pair.access_token, 0, &header))
                .is_err()
        );
        // An attacker's own Ed25519 key, named by its own thumbprint.
        let attacker = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
        let kid = crate::secrets::jwk_thumbprint(attacker.verifying_key().as_bytes());
        let mut forged_header = Header::new(Algorithm::EdDSA);
        forged_header.kid = Some(kid);
        let claims = standard_claims(&user, TokenKind::Access, "consilium-mcp");
        let der = crate::auth::keyring::pkcs8_der(&attacker);
        let forged =
            jsonwebtoken::encode(&forged_header, &claims, &EncodingKey::from_ed_der(&der[..]))
                .unwrap();
        assert!(matches!(
            tokens.verify_access(&forged),
            Err(AuthError::Invalid)
        ));
        // Signed by the attacker's key but claiming the real kid.
        let mut forged_header = Header::new(Algorithm::EdDSA);
        forged_header.kid = Some(tokens.signing_kid());
        let forged =
            jsonwebtoken::encode(&forged_header, &claims, &EncodingKey::from_ed_der(&der[..]))
                .unwrap();
        assert!(matches!(
            tokens.verify_access(&forged),
            Err(AuthError::Invalid)
        ));
        drop(fixture);
    }

    #[tokio::test]
    async fn a_lifetime_longer_than_configured_is_refused() {
        let (fixture, tokens, user, _pair) = signed_in().await;
        let mut claims = standard_claims(&user, TokenKind::Access, "consilium-mcp");
        claims["exp"] = json!(START + FIFTEEN_MINUTES + 1);
        let forged = fixture
            .forge_with_real_key(&tokens.signing_kid(), &claims)
            .await;
        assert!(matches!(
            tokens.verify_access(&forged),
            Err(AuthError::Invalid)
        ));
    }

    #[tokio::test]
    async fn tokens_signed_before_a_key_rotation_still_verify_until_they_expire() {
        let (fixture, tokens, user, before) = signed_in().await;
        let old_kid = tokens.signing_kid();
        let new_kid = tokens.rotate_signing_key().await.unwrap();
        assert_ne!(old_kid, new_kid);
        tokens.verify_access(&before.access_token).unwrap();
        let after = tokens.issue(&user).await.unwrap();
        assert_eq!(header_of(&after.access_token)["kid"], new_kid);
        tokens.verify_access(&after.access_token).unwrap();
        // After a restart too: retired keys are loaded for verification.
        let restarted = fixture.tokens().await;
        restarted.verify_access(&before.access_token).unwrap();
        let (rotated, _) = restarted.refresh(&before.refresh_token).await.unwrap();
        assert_eq!(header_of(&rotated.access_token)["kid"], new_kid);
        // A token the retired key "signed" after its retirement is not believed.
        fixture.clock.advance(60);
        let mut late = standard_claims(&user, TokenKind::Access, "consilium-mcp");
        late["iat"] = json!(START + 60);
        late["nbf"] = json!(START + 60);
        late["exp"] = json!(START + 60 + FIFTEEN_MINUTES);
        let active = fixture
            .signing_keys
            .load_or_create(JWT_KEY_PURPOSE)
            .await
            .unwrap();
        assert_eq!(active.kid(), new_kid);
        let forged = fixture.forge_with_real_key(&old_kid, &late).await;
        assert!(restarted.verify_access(&forged).is_err());
    }

    #[tokio::test]
    async fn refresh_is_refused_once_the_user_is_disabled_or_locked_or_gone() {
        let (fixture, tokens, user, pair) = signed_in().await;
        let admin = fixture.user("admin@example.org").await;
        fixture
            .users
            .set_role(&admin.id, crate::identity::Role::Admin)
            .await
            .unwrap();
        fixture.users.set_disabled(&user.id, true).await.unwrap();
        assert!(matches!(
            tokens.refresh(&pair.refresh_token).await,
            Err(AuthError::UserDisabled)
        ));
        let disabled = fixture.users.get(&user.id).await.unwrap().unwrap();
        assert!(matches!(
            tokens.issue(&disabled).await,
            Err(AuthError::UserDisabled)
        ));
        fixture.users.set_disabled(&user.id, false).await.unwrap();
        // Refused without being used up, so it still works once re-enabled.
        let (pair, _) = tokens.refresh(&pair.refresh_token).await.unwrap();
        for _ in 0..crate::identity::MAX_FAILED_LOGINS {
            let _ = fixture
                .users
                .verify_login("ada@example.org", "not the password at all")
                .await;
        }
        assert!(
            fixture
                .users
                .get(&user.id)
                .await
                .unwrap()
                .unwrap()
                .is_locked()
        );
        assert!(matches!(
            tokens.refresh(&pair.refresh_token).await,
            Err(AuthError::UserDisabled)
        ));
        fixture.users.unlock(&user.id).await.unwrap();
        let (pair, _) = tokens.refresh(&pair.refresh_token).await.unwrap();
        let id = user.id.as_str().to_owned();
        fixture
            .store
            .write(move |tx| {
                tx.execute("DELETE FROM users WHERE id = ?1", [id])?;
                Ok(())
            })
            .await
            .unwrap();
        assert!(matches!(
            tokens.refresh(&pair.refresh_token).await,
            Err(AuthError::UserNotFound)
        ));
    }

    #[tokio::test]
    async fn pruning_deletes_only_rows_past_their_expiry() {
        let (fixture, tokens, _user, pair) = signed_in().await;
        let claims = tokens.verify_access(&pair.access_token).unwrap();
        tokens.revoke(&claims.jti, claims.expires_at).await.unwrap();
        assert_eq!(tokens.prune().await.unwrap(), 0);
        fixture.clock.advance(FIFTEEN_MINUTES);
        assert_eq!(tokens.prune().await.unwrap(), 1, "the revoked access token");
        fixture.clock.advance(THIRTY_DAYS);
        assert_eq!(tokens.prune().await.unwrap(), 1, "the refresh token");
        assert_eq!(tokens.inner.revocations.len(), (0, 0));
    }

    #[tokio::test]
    async fn debug_output_never_shows_a_token_or_key() {
        let (_fixture, tokens, _user, pair) = signed_in().await;
        let shown = format!("{pair:?} {pair:#?} {tokens:?}");
        for secret in [&pair.access_token, &pair.refresh_token] {
            let signature = secret.rsplit('.').next().unwrap();
            assert!(!shown.contains(signature), "{shown}");
        }
        assert!(shown.contains(&tokens.signing_kid()));
    }
}
