//! The SQL shared by the identity services: which columns make a [`User`]
//! or an [`ApiKeyInfo`], turning a row back into one, and the few lookups
//! several operations need.
//!
//! Functions here take a plain connection, so they serve both read
//! closures and writer transactions; they must only be called from inside
//! such closures (never on an async thread). A value in the table that no
//! longer parses is reported as a conversion error naming the column, never
//! with the value.

use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension, Row};

use super::{ApiKeyInfo, Email, Plan, Role, Scope, Timestamp, User, UserId};

/// The columns [`user_from_row`] reads, in order.
pub(crate) const USER_COLUMNS: &str = "users.id, users.email, users.display_name, users.role, \
     users.plan, users.disabled, users.failed_logins, users.locked_at, \
     users.password_hash IS NOT NULL, users.is_local_owner, users.created_at, users.updated_at";
pub(crate) const USER_COLUMN_COUNT: usize = 12;

/// The columns [`key_from_row`] reads, in order.
pub(crate) const KEY_COLUMNS: &str = "api_keys.key_id, api_keys.user_id, api_keys.name, \
     api_keys.scopes, api_keys.created_at, api_keys.last_used_at, api_keys.expires_at, \
     api_keys.revoked_at, api_keys.replaced_by";
pub(crate) const KEY_COLUMN_COUNT: usize = 9;

/// A value in the database that identity's own checks would never have let
/// in. Carries the column's name only.
#[derive(Debug, thiserror::Error)]
#[error("identity column {column} holds a value that does not parse")]
struct CorruptColumn {
    column: &'static str,
}

fn corrupt(index: usize, column: &'static str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(index, Type::Text, Box::new(CorruptColumn { column }))
}

fn timestamp_at(row: &Row<'_>, index: usize, column: &'static str) -> rusqlite::Result<Timestamp> {
    let text: String = row.get(index)?;
    Timestamp::parse_rfc3339(&text).ok_or_else(|| corrupt(index, column))
}

fn optional_timestamp_at(
    row: &Row<'_>,
    index: usize,
    column: &'static str,
) -> rusqlite::Result<Option<Timestamp>> {
    let text: Option<String> = row.get(index)?;
    text.map(|text| Timestamp::parse_rfc3339(&text).ok_or_else(|| corrupt(index, column)))
        .transpose()
}

fn user_id_at(row: &Row<'_>, index: usize, column: &'static str) -> rusqlite::Result<UserId> {
    let text: String = row.get(index)?;
    UserId::parse(&text).map_err(|_| corrupt(index, column))
}

/// Reads a user from [`USER_COLUMNS`] starting at column `first`.
pub(crate) fn user_from_row(row: &Row<'_>, first: usize) -> rusqlite::Result<User> {
    let at = |offset: usize| first + offset;
    let email: String = row.get(at(1))?;
    let role: String = row.get(at(3))?;
    let plan: String = row.get(at(4))?;
    let failed_logins: i64 = row.get(at(6))?;
    Ok(User {
        id: user_id_at(row, at(0), "users.id")?,
        email: Email::parse(&email).map_err(|_| corrupt(at(1), "users.email"))?,
        display_name: row.get(at(2))?,
        role: role
            .parse::<Role>()
            .map_err(|_| corrupt(at(3), "users.role"))?,
        plan: Plan::new(&plan).map_err(|_| corrupt(at(4), "users.plan"))?,
        disabled: row.get(at(5))?,
        failed_logins: u32::try_from(failed_logins)
            .map_err(|_| corrupt(at(6), "users.failed_logins"))?,
        locked_at: optional_timestamp_at(row, at(7), "users.locked_at")?,
        has_password: row.get(at(8))?,
        is_local_owner: row.get(at(9))?,
        created_at: timestamp_at(row, at(10), "users.created_at")?,
        updated_at: timestamp_at(row, at(11), "users.updated_at")?,
    })
}

/// Reads a key from [`KEY_COLUMNS`] starting at column `first`.
pub(crate) fn key_from_row(row: &Row<'_>, first: usize) -> rusqlite::Result<ApiKeyInfo> {
    let at = |offset: usize| first + offset;
    let scopes: String = row.get(at(3))?;
    Ok(ApiKeyInfo {
        key_id: row.get(at(0))?,
        user_id: user_id_at(row, at(1), "api_keys.user_id")?,
        name: row.get(at(2))?,
        scopes: serde_json::from_str::<Vec<Scope>>(&scopes)
            .map_err(|_| corrupt(at(3), "api_keys.scopes"))?,
        created_at: timestamp_at(row, at(4), "api_keys.created_at")?,
        last_used_at: optional_timestamp_at(row, at(5), "api_keys.last_used_at")?,
        expires_at: optional_timestamp_at(row, at(6), "api_keys.expires_at")?,
        revoked_at: optional_timestamp_at(row, at(7), "api_keys.revoked_at")?,
        replaced_by: row.get(at(8))?,
    })
}

/// Scopes as stored in `api_keys.scopes`: a JSON array of their names.
pub(crate) fn scopes_json(scopes: &[Scope]) -> String {
    let names: Vec<&str> = scopes.iter().map(|scope| scope.as_str()).collect();
    // A list of plain words always serialises; the fallback is unreachable
    // but keeps this function total.
    serde_json::to_string(&names).unwrap_or_else(|_| "[]".to_owned())
}

pub(crate) fn select_user(connection: &Connection, id: &UserId) -> rusqlite::Result<Option<User>> {
    connection
        .query_row(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
            [id.as_str()],
            |row| user_from_row(row, 0),
        )
        .optional()
}

pub(crate) fn select_key(
    connection: &Connection,
    key_id: &str,
) -> rusqlite::Result<Option<ApiKeyInfo>> {
    connection
        .query_row(
            &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE key_id = ?1"),
            [key_id],
            |row| key_from_row(row, 0),
        )
        .optional()
}

/// Whether `error` is a UNIQUE (or PRIMARY KEY) constraint failing.
pub(crate) fn is_unique_violation(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(failure, _)
            if failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}
