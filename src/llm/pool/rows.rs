//! The `provider_keys` and `provider_preferences` rows: reading them into memory, and the
//! writes the pool makes. SQL only; the rules live in the pool and in `health`.

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use super::health::{KeyHealth, KeyStatus};
use super::{KeyRecord, PoolKey};
use crate::identity::{Timestamp, UserId};
use crate::llm::providers::ProviderKind;
use crate::store::StoreError;

const COLUMNS: &str = "id, owner_user_id, provider, label, base_url, models, features, priority,
     status, sealed_key, key_digest, key_last4, consecutive_failures, cooldown_until,
     last_used_at, last_failure_at, last_error, successes, failures, latency_ms_total,
     tokens_in, tokens_out, cost_micro_usd, created_at";

fn time(text: Option<String>) -> Option<Timestamp> {
    text.as_deref().and_then(Timestamp::parse_rfc3339)
}

fn list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<Option<PoolKey>> {
    let provider: String = row.get(2)?;
    let owner: Option<String> = row.get(1)?;
    // A row this build cannot read (a provider it does not know) is skipped, not fatal.
    let Ok(provider) = provider.parse::<ProviderKind>() else {
        return Ok(None);
    };
    let owner = match owner {
        Some(text) => match UserId::parse(&text) {
            Ok(id) => Some(id),
            Err(_) => return Ok(None),
        },
        None => None,
    };
    let status: String = row.get(8)?;
    let mut health = KeyHealth::new(KeyStatus::parse(&status).unwrap_or(KeyStatus::Disabled));
    health.consecutive_failures = u32::try_from(row.get::<_, i64>(12)?).unwrap_or(0);
    health.cooldown_until = time(row.get(13)?);
    health.last_used_at = time(row.get(14)?);
    health.last_failure_at = time(row.get(15)?);
    health.last_error = row.get(16)?;
    health.successes = count(row.get(17)?);
    health.failures = count(row.get(18)?);
    health.latency_ms_total = count(row.get(19)?);
    health.tokens_in = count(row.get(20)?);
    health.tokens_out = count(row.get(21)?);
    health.cost_micro_usd = count(row.get(22)?);
    Ok(Some(PoolKey::new(
        KeyRecord {
            id: row.get(0)?,
            owner,
            provider,
            label: row.get(3)?,
            base_url: row.get(4)?,
            models: list(&row.get::<_, String>(5)?),
            features: list(&row.get::<_, String>(6)?),
            priority: row.get(7)?,
            digest: row.get(10)?,
            last4: row.get(11)?,
            created_at: row.get(23)?,
        },
        row.get(9)?,
        health,
    )))
}

pub(super) fn load_all(connection: &Connection) -> Result<Vec<PoolKey>, StoreError> {
    let mut statement = connection.prepare(&format!(
        "SELECT {COLUMNS} FROM provider_keys ORDER BY priority DESC, created_at, id"
    ))?;
    let rows = statement.query_map([], from_row)?;
    let mut keys = Vec::new();
    for row in rows {
        if let Some(key) = row? {
            keys.push(key);
        }
    }
    Ok(keys)
}

pub(super) struct InsertRow {
    pub id: String,
    pub owner: Option<String>,
    pub provider: &'static str,
    pub label: String,
    pub base_url: String,
    pub models: String,
    pub features: String,
    pub priority: i64,
    pub sealed: Vec<u8>,
    pub digest: String,
    pub last4: String,
    pub now: String,
}

pub(super) fn insert(tx: &Transaction<'_>, row: &InsertRow) -> Result<(), rusqlite::Error> {
    tx.execute(
        "INSERT INTO provider_keys (id, owner_user_id, provider, label, base_url, models,
             features, priority, status, sealed_key, key_digest, key_last4, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'active', ?9, ?10, ?11, ?12, ?12)",
        params![
            row.id,
            row.owner,
            row.provider,
            row.label,
            row.base_url,
            row.models,
            row.features,
            row.priority,
            row.sealed,
            row.digest,
            row.last4,
            row.now
        ],
    )?;
    Ok(())
}

fn stamp(at: Option<Timestamp>) -> Option<String> {
    at.map(Timestamp::to_rfc3339)
}

/// Writes a key's health as it is in memory now.
pub(super) fn save_health(
    tx: &Transaction<'_>,
    id: &str,
    health: &KeyHealth,
    now: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE provider_keys SET status = ?2, consecutive_failures = ?3, cooldown_until = ?4,
             last_used_at = ?5, last_failure_at = ?6, last_error = ?7, successes = ?8,
             failures = ?9, latency_ms_total = ?10, tokens_in = ?11, tokens_out = ?12,
             cost_micro_usd = ?13, updated_at = ?14
         WHERE id = ?1",
        params![
            id,
            health.status.as_str(),
            health.consecutive_failures,
            stamp(health.cooldown_until),
            stamp(health.last_used_at),
            stamp(health.last_failure_at),
            health.last_error,
            i64::try_from(health.successes).unwrap_or(i64::MAX),
            i64::try_from(health.failures).unwrap_or(i64::MAX),
            i64::try_from(health.latency_ms_total).unwrap_or(i64::MAX),
            i64::try_from(health.tokens_in).unwrap_or(i64::MAX),
            i64::try_from(health.tokens_out).unwrap_or(i64::MAX),
            i64::try_from(health.cost_micro_usd).unwrap_or(i64::MAX),
            now
        ],
    )?;
    Ok(())
}

pub(super) fn shared_fallback(connection: &Connection, user: &str) -> Result<bool, StoreError> {
    Ok(connection
        .query_row(
            "SELECT shared_pool_fallback FROM provider_preferences WHERE user_id = ?1",
            params![user],
            |row| row.get::<_, i64>(0),
        )
        .optional()?
        .is_some_and(|v| v != 0))
}

pub(super) fn set_shared_fallback(
    tx: &Transaction<'_>,
    user: &str,
    allowed: bool,
    now: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO provider_preferences (user_id, shared_pool_fallback, updated_at)
         VALUES (?1, ?2, ?3)
         ON CONFLICT (user_id) DO UPDATE SET shared_pool_fallback = ?2, updated_at = ?3",
        params![user, allowed as i64, now],
    )?;
    Ok(())
}
