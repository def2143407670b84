//! The users service: creating users, finding and listing them, changing
//! their plan, role and disabled flag, and the local owner made on first
//! run. Passwords and logins are in `login.rs`, on the same type.
//!
//! It must not decide who may call it (the callers' authorisation does) nor
//! handle API keys. Every query runs through the store: writes in the
//! writer's batches, reads on the blocking pool.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::{OptionalExtension, params};

use crate::store::Store;

use super::rows::{USER_COLUMNS, is_unique_violation, select_user, user_from_row};
use super::{Clock, Email, IdentityError, PasswordHasher, Plan, Role, SystemClock, User, UserId};

/// The local owner's address. `localhost` makes clear it is no mailbox.
pub const LOCAL_OWNER_EMAIL: &str = "owner@localhost";
const LOCAL_OWNER_DISPLAY_NAME: &str = "Local owner";
const DISPLAY_NAME_MAX_CHARS: usize = 100;
/// [`UserFilter::limit`] when none is given, and the most one page may hold.
const DEFAULT_PAGE: u32 = 100;
const MAX_PAGE: u32 = 1000;

/// Which users [`Users::list`] returns; every field narrows the list.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub role: Option<Role>,
    pub plan: Option<Plan>,
    pub disabled: Option<bool>,
    /// A piece of the address, matched case-insensitively.
    pub email_contains: Option<String>,
    /// At most this many (100 if unset, never more than 1000).
    pub limit: Option<u32>,
    pub offset: u32,
}

/// Users and their passwords. Cheap to clone.
#[derive(Clone)]
pub struct Users {
    pub(super) store: Store,
    pub(super) hasher: PasswordHasher,
    pub(super) clock: Arc<dyn Clock>,
    /// Bumped by every change that could alter what a user may do (role, plan, disabled,
    /// lock, password), so a cache of users can tell it is stale. Shared by clones.
    pub(super) changes: Arc<AtomicU64>,
}

impl Users {
    /// The production service: OWASP argon2id and the system clock.
    pub fn new(store: Store) -> Users {
        Users::with_parts(store, PasswordHasher::owasp(), Arc::new(SystemClock))
    }

    /// A service with a chosen hasher and clock.
    pub fn with_parts(store: Store, hasher: PasswordHasher, clock: Arc<dyn Clock>) -> Users {
        Users {
            store,
            hasher,
            clock,
            changes: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Changes since start that could alter what some user may do. Equal readings mean no
    /// such change happened in this process between them.
    pub fn generation(&self) -> u64 {
        self.changes.load(Ordering::Acquire)
    }

    pub(super) fn changed(&self) {
        self.changes.fetch_add(1, Ordering::AcqRel);
    }

    /// Creates a user without a password. The email must not be taken, in
    /// any letter case.
    pub async fn create(
        &self,
        email: Email,
        display_name: &str,
        role: Role,
        plan: Plan,
    ) -> Result<User, IdentityError> {
        let display_name = check_display_name(display_name)?;
        let id = UserId::new_random();
        let now = self.clock.now().to_rfc3339();
        self.store
            .write(move |tx| {
                let inserted = tx.query_row(
                    &format!(
                        "INSERT INTO users (id, email, display_name, role, plan, created_at, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
                         RETURNING {USER_COLUMNS}"
                    ),
                    params![id.as_str(), email.as_str(), display_name, role.as_str(), plan.as_str(), now],
                    |row| user_from_row(row, 0),
                );
                match inserted {
                    Ok(user) => Ok(Ok(user)),
                    Err(error) if is_unique_violation(&error) => Ok(Err(IdentityError::EmailTaken)),
                    Err(error) => Err(error.into()),
                }
            })
            .await?
    }

    pub async fn get(&self, id: &UserId) -> Result<Option<User>, IdentityError> {
        let id = id.clone();
        Ok(self
            .store
            .read(move |connection| Ok(select_user(connection, &id)?))
            .await?)
    }

    pub async fn find_by_email(&self, email: &Email) -> Result<Option<User>, IdentityError> {
        let email = email.clone();
        Ok(self
            .store
            .read(move |connection| {
                Ok(connection
                    .query_row(
                        &format!("SELECT {USER_COLUMNS} FROM users WHERE email = ?1"),
                        [email.as_str()],
                        |row| user_from_row(row, 0),
                    )
                    .optional()?)
            })
            .await?)
    }

    /// Users matching `filter`, oldest first.
    pub async fn list(&self, filter: &UserFilter) -> Result<Vec<User>, IdentityError> {
        let role = filter.role.map(Role::as_str);
        let plan = filter.plan.as_ref().map(|plan| plan.as_str().to_owned());
        let disabled = filter.disabled;
        // instr() rather than LIKE, so `%` and `_` in the needle are literal.
        let needle = filter
            .email_contains
            .as_ref()
            .map(|n| n.trim().to_lowercase());
        let limit = filter.limit.unwrap_or(DEFAULT_PAGE).min(MAX_PAGE);
        let offset = filter.offset;
        Ok(self
            .store
            .read(move |connection| {
                let mut statement = connection.prepare(&format!(
                    "SELECT {USER_COLUMNS} FROM users
                     WHERE (?1 IS NULL OR role = ?1)
                       AND (?2 IS NULL OR plan = ?2)
                       AND (?3 IS NULL OR disabled = ?3)
                       AND (?4 IS NULL OR instr(email, ?4) > 0)
                     ORDER BY created_at, rowid
                     LIMIT ?5 OFFSET ?6"
                ))?;
                let users = statement
                    .query_map(
                        params![role, plan, disabled, needle, limit, offset],
                        |row| user_from_row(row, 0),
                    )?
                    .collect::<Result<Vec<User>, _>>()?;
                Ok(users)
            })
            .await?)
    }

    pub async fn set_plan(&self, id: &UserId, plan: Plan) -> Result<User, IdentityError> {
        let plan = plan.as_str().to_owned();
        let user = self.update(id, false, "plan = ?3", plan).await;
        self.changed();
        user
    }

    /// Disabling refuses to leave the server without an enabled admin.
    pub async fn set_disabled(&self, id: &UserId, disabled: bool) -> Result<User, IdentityError> {
        let user = self.update(id, disabled, "disabled = ?3", disabled).await;
        self.changed();
        user
    }

    /// Demoting refuses to leave the server without an enabled admin.
    pub async fn set_role(&self, id: &UserId, role: Role) -> Result<User, IdentityError> {
        let demotes = role != Role::Admin;
        let user = self.update(id, demotes, "role = ?3", role.as_str()).await;
        self.changed();
        user
    }

    /// Clears a lock from failed logins and the failure count.
    pub async fn unlock(&self, id: &UserId) -> Result<User, IdentityError> {
        let user = self
            .update(id, false, "locked_at = NULL, failed_logins = ?3", 0)
            .await;
        self.changed();
        user
    }

    /// Sets `assignment` (which uses `?3` for `value`) and `updated_at` on
    /// one user and returns the result. With `guard_last_admin`, refuses if
    /// the user is the only enabled admin.
    async fn update<V>(
        &self,
        id: &UserId,
        guard_last_admin: bool,
        assignment: &'static str,
        value: V,
    ) -> Result<User, IdentityError>
    where
        V: rusqlite::ToSql + Send + 'static,
    {
        let id = id.clone();
        let now = self.clock.now().to_rfc3339();
        self.store
            .write(move |tx| {
                let Some(current) = select_user(tx, &id)? else {
                    return Ok(Err(IdentityError::UserNotFound));
                };
                if guard_last_admin && current.role == Role::Admin && !current.disabled {
                    let other_admins: i64 = tx.query_row(
                        "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0 AND id != ?1",
                        [id.as_str()],
                        |row| row.get(0),
                    )?;
                    if other_admins == 0 {
                        return Ok(Err(IdentityError::LastAdmin));
                    }
                }
                let user = tx.query_row(
                    &format!(
                        "UPDATE users SET {assignment}, updated_at = ?2 WHERE id = ?1
                         RETURNING {USER_COLUMNS}"
                    ),
                    params![id.as_str(), now, value],
                    |row| user_from_row(row, 0),
                )?;
                Ok(Ok(user))
            })
            .await?
    }

    /// Makes sure the local owner exists: `owner@localhost`, an admin on the
    /// `unlimited` plan, without a password. Returns it and whether this
    /// call created it. Safe to call on every start.
    pub async fn ensure_local_owner(&self) -> Result<(User, bool), IdentityError> {
        let id = UserId::new_random();
        let now = self.clock.now().to_rfc3339();
        let plan = Plan::unlimited();
        let outcome = self
            .store
            .write(move |tx| {
                let existing = tx
                    .query_row(
                        &format!("SELECT {USER_COLUMNS} FROM users WHERE is_local_owner = 1"),
                        [],
                        |row| user_from_row(row, 0),
                    )
                    .optional()?;
                if let Some(owner) = existing {
                    return Ok(Ok((owner, false)));
                }
                let inserted = tx.query_row(
                    &format!(
                        "INSERT INTO users (id, email, display_name, role, plan, is_local_owner,
                                            created_at, updated_at)
                         VALUES (?1, ?2, ?3, 'admin', ?4, 1, ?5, ?5)
                         RETURNING {USER_COLUMNS}"
                    ),
                    params![
                        id.as_str(),
                        LOCAL_OWNER_EMAIL,
                        LOCAL_OWNER_DISPLAY_NAME,
                        plan.as_str(),
                        now
                    ],
                    |row| user_from_row(row, 0),
                );
                match inserted {
                    Ok(owner) => Ok(Ok((owner, true))),
                    Err(error) if is_unique_violation(&error) => {
                        Ok(Err(IdentityError::LocalOwnerConflict))
                    }
                    Err(error) => Err(error.into()),
                }
            })
            .await??;
        if outcome.1 {
            tracing::info!(
                user_id = %outcome.0.id,
                email = LOCAL_OWNER_EMAIL,
                "created the local owner, an admin with no password yet"
            );
        }
        Ok(outcome)
    }
}

impl fmt::Debug for Users {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Users")
            .field("store", &self.store)
            .field("hasher", &self.hasher)
            .finish_non_exhaustive()
    }
}

/// Trimmed; 1–100 characters; no control characters (they would garble
/// logs and listings).
fn check_display_name(name: &str) -> Result<String, IdentityError> {
    let name = name.trim();
    let invalid = |reason| Err(IdentityError::InvalidDisplayName { reason });
    if name.is_empty() {
        return invalid("it is empty");
    }
    if name.chars().count() > DISPLAY_NAME_MAX_CHARS {
        return invalid("it is longer than 100 characters");
    }
    if name.chars().any(char::is_control) {
        return invalid("it contains control characters");
    }
    Ok(name.to_owned())
}
