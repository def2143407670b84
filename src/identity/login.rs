//! Passwords and logins on [`Users`]: setting a password, checking one, and
//! the failed-login counter that locks an account after ten failures in a
//! row.
//!
//! A login does the same argon2 work whether or not the email has an
//! account, and answers an unknown email exactly like a wrong password, so
//! neither timing nor errors reveal which emails exist. This file must not
//! log passwords, hashes or the email tried, and must not run argon2
//! anywhere but through [`PasswordHasher`](super::PasswordHasher) (which
//! uses the blocking pool).

use rusqlite::{OptionalExtension, params};

use super::password::check_password_policy;
use super::rows::{USER_COLUMN_COUNT, USER_COLUMNS, select_user, user_from_row};
use super::{Email, IdentityError, LoginError, User, UserId, Users};

/// Consecutive failed logins that lock an account.
pub const MAX_FAILED_LOGINS: u32 = 10;

/// A user as a login needs it: with the stored hash, which never leaves
/// this file.
struct LoginRecord {
    user: User,
    password_hash: Option<String>,
}

impl Users {
    /// Sets (or replaces) a user's password after checking the policy (12 to
    /// 1024 characters, not only whitespace). Does not unlock the account.
    pub async fn set_password(&self, id: &UserId, password: &str) -> Result<(), IdentityError> {
        check_password_policy(password)?;
        let hash = self.hasher.hash(password).await?;
        let id = id.clone();
        let now = self.clock.now().to_rfc3339();
        let changed = self
            .store
            .write(move |tx| {
                Ok(tx.execute(
                    "UPDATE users SET password_hash = ?2, updated_at = ?3 WHERE id = ?1",
                    params![id.as_str(), hash, now],
                )?)
            })
            .await?;
        self.changed();
        if changed == 0 {
            return Err(IdentityError::UserNotFound);
        }
        Ok(())
    }

    /// Checks an email and password.
    ///
    /// Unknown email, no password set and wrong password are all
    /// [`LoginError::InvalidCredentials`]. Every failure for an existing
    /// account counts; the tenth in a row locks it, and a locked account
    /// answers [`LoginError::Locked`] to any password until
    /// [`Users::unlock`]. A disabled account answers
    /// [`LoginError::Disabled`] once the password is right. Success resets
    /// the count and, if the hash was made with older settings, replaces it.
    pub async fn verify_login(&self, email: &str, password: &str) -> Result<User, LoginError> {
        let record = match Email::parse(email) {
            Ok(email) => self.login_record(email).await?,
            // Still hashed below, so a malformed address costs the same.
            Err(_) => None,
        };
        let stored_hash = record.as_ref().and_then(|r| r.password_hash.clone());
        let password_matches = self
            .hasher
            .verify(password, stored_hash)
            .await
            .map_err(LoginError::Unavailable)?;
        let Some(LoginRecord {
            user,
            password_hash,
        }) = record
        else {
            return Err(LoginError::InvalidCredentials);
        };
        if user.is_locked() {
            return Err(LoginError::Locked);
        }
        if !password_matches {
            return Err(self.record_failure(&user.id).await?);
        }
        if user.disabled {
            return Err(LoginError::Disabled);
        }
        let rehashed = match password_hash {
            Some(old) if self.hasher.needs_rehash(&old) => {
                let new = self
                    .hasher
                    .hash(password)
                    .await
                    .map_err(LoginError::Unavailable)?;
                Some((old, new))
            }
            _ => None,
        };
        if user.failed_logins == 0 && rehashed.is_none() {
            // Nothing to write: most logins cost no write at all.
            return Ok(user);
        }
        self.record_success(user.id, rehashed).await
    }

    async fn login_record(&self, email: Email) -> Result<Option<LoginRecord>, LoginError> {
        Ok(self
            .store
            .read(move |connection| {
                Ok(connection
                    .query_row(
                        &format!(
                            "SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = ?1"
                        ),
                        [email.as_str()],
                        |row| {
                            Ok(LoginRecord {
                                user: user_from_row(row, 0)?,
                                password_hash: row.get(USER_COLUMN_COUNT)?,
                            })
                        },
                    )
                    .optional()?)
            })
            .await?)
    }

    /// Counts a failure in one statement (so concurrent failures all count)
    /// and locks the account when it reaches [`MAX_FAILED_LOGINS`]. Returns
    /// the error for this attempt: `Locked` if this very failure locked it.
    async fn record_failure(&self, id: &UserId) -> Result<LoginError, LoginError> {
        let id = id.clone();
        let now = self.clock.now().to_rfc3339();
        // A failure may lock the account: caches of users must look again.
        self.changed();
        let locked_now = self
            .store
            .write(move |tx| {
                // SET expressions all see the row as it was before the update.
                Ok(tx
                    .query_row(
                        "UPDATE users
                         SET failed_logins = failed_logins + 1,
                             locked_at = CASE
                                 WHEN locked_at IS NULL AND failed_logins + 1 >= ?2 THEN ?3
                                 ELSE locked_at END
                         WHERE id = ?1
                         RETURNING locked_at IS NOT NULL",
                        params![id.as_str(), MAX_FAILED_LOGINS, now],
                        |row| row.get::<_, bool>(0),
                    )
                    .optional()?
                    .map(|locked| (id, locked)))
            })
            .await?;
        match locked_now {
            Some((id, true)) => {
                tracing::warn!(user_id = %id, "account locked after repeated failed logins");
                Ok(LoginError::Locked)
            }
            _ => Ok(LoginError::InvalidCredentials),
        }
    }

    /// Resets the failure count and stores a rehash, but only while the
    /// account is still unlocked and enabled (a lock or disable may have
    /// landed while argon2 ran), and only replaces the hash it verified (a
    /// concurrent password change wins).
    async fn record_success(
        &self,
        id: UserId,
        rehashed: Option<(String, String)>,
    ) -> Result<User, LoginError> {
        let (old_hash, new_hash) = rehashed.unzip();
        let outcome = self
            .store
            .write(move |tx| {
                let updated = tx
                    .query_row(
                        &format!(
                            "UPDATE users
                             SET failed_logins = 0,
                                 password_hash = CASE
                                     WHEN ?2 IS NOT NULL AND password_hash = ?2 THEN ?3
                                     ELSE password_hash END
                             WHERE id = ?1 AND locked_at IS NULL AND disabled = 0
                             RETURNING {USER_COLUMNS}"
                        ),
                        params![id.as_str(), old_hash, new_hash],
                        |row| user_from_row(row, 0),
                    )
                    .optional()?;
                match updated {
                    Some(user) => Ok(Ok(user)),
                    None => Ok(Err(select_user(tx, &id)?)),
                }
            })
            .await?;
        match outcome {
            Ok(user) => Ok(user),
            Err(Some(user)) if user.is_locked() => Err(LoginError::Locked),
            Err(Some(user)) if user.disabled => Err(LoginError::Disabled),
            Err(_) => Err(LoginError::InvalidCredentials),
        }
    }
}
