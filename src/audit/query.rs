//! Reading the log back for admin tools: [`AuditFilter`] (who, what, when,
//! how many, from where) and [`StoredAuditEntry`], newest first, paged by
//! seq.
//!
//! Read-only by construction (it runs on the store's read connections). It
//! does not judge integrity: that is [`verify`](fn@super::verify)'s job, and a
//! query happily returns entries that fail verification.

use std::time::SystemTime;

use rusqlite::types::Value as SqlValue;
use serde::Serialize;

use super::AuditError;
use super::format::{rfc3339, to_hex};
use crate::store::Store;

/// Entries returned when the filter names no limit.
pub const DEFAULT_QUERY_LIMIT: u32 = 100;
/// The most entries one query returns; larger limits are lowered to this.
pub const MAX_QUERY_LIMIT: u32 = 1000;

/// Which entries to return. Every field narrows the result; the default
/// returns the newest [`DEFAULT_QUERY_LIMIT`] entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Exactly this actor.
    pub actor: Option<String>,
    /// Actions starting with this text: `auth.` for every authentication
    /// event (`auth` alone would also match `authz.…`).
    pub action_prefix: Option<String>,
    /// At or after this time.
    pub since: Option<SystemTime>,
    /// Strictly before this time.
    pub until: Option<SystemTime>,
    /// At most this many ([`DEFAULT_QUERY_LIMIT`] if unset, never more than
    /// [`MAX_QUERY_LIMIT`]).
    pub limit: Option<u32>,
    /// Only entries older than this seq: pass the last seq of one page to
    /// get the next.
    pub before_seq: Option<u64>,
}

/// One entry as stored, for display.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct StoredAuditEntry {
    pub seq: u64,
    /// RFC 3339 UTC, microseconds.
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub details: serde_json::Value,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The entry's chain hash, lowercase hex.
    pub hash: String,
}

/// The row as read, before `details` is parsed (which happens off the
/// store's closure, so a corrupt row becomes an [`AuditError`]).
struct Row {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    target: Option<String>,
    details: String,
    ip: Option<String>,
    user_agent: Option<String>,
    hash: Vec<u8>,
}

pub(crate) async fn run(
    store: &Store,
    filter: AuditFilter,
) -> Result<Vec<StoredAuditEntry>, AuditError> {
    let (sql, parameters) = build_sql(&filter);
    let rows = store
        .read(move |connection| {
            let mut statement = connection.prepare_cached(&sql)?;
            let rows = statement
                .query_map(rusqlite::params_from_iter(parameters), |row| {
                    Ok(Row {
                        seq: row.get(0)?,
                        at: row.get(1)?,
                        actor: row.get(2)?,
                        action: row.get(3)?,
                        target: row.get(4)?,
                        details: row.get(5)?,
                        ip: row.get(6)?,
                        user_agent: row.get(7)?,
                        hash: row.get(8)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await?;
    rows.into_iter().map(into_entry).collect()
}

fn into_entry(row: Row) -> Result<StoredAuditEntry, AuditError> {
    let seq = u64::try_from(row.seq).map_err(|_| AuditError::CorruptEntry {
        seq: 0,
        reason: "its seq is not positive".to_owned(),
    })?;
    let details = serde_json::from_str(&row.details).map_err(|_| AuditError::CorruptEntry {
        seq,
        reason: "its details are not JSON".to_owned(),
    })?;
    Ok(StoredAuditEntry {
        seq,
        at: row.at,
        actor: row.actor,
        action: row.action,
        target: row.target,
        details,
        ip: row.ip,
        user_agent: row.user_agent,
        hash: to_hex(&row.hash),
    })
}

/// The statement and its parameters. Only fixed SQL fragments are joined;
/// every value the caller gave is a bound parameter.
fn build_sql(filter: &AuditFilter) -> (String, Vec<SqlValue>) {
    let mut conditions: Vec<&str> = Vec::new();
    let mut parameters: Vec<SqlValue> = Vec::new();
    if let Some(actor) = &filter.actor {
        conditions.push("actor = ?");
        parameters.push(SqlValue::Text(actor.clone()));
    }
    if let Some(prefix) = filter.action_prefix.as_deref().filter(|p| !p.is_empty()) {
        // A range rather than LIKE: it uses the action index, and LIKE
        // would treat `_` as a wildcard and ignore ASCII case.
        conditions.push("action >= ?");
        parameters.push(SqlValue::Text(prefix.to_owned()));
        if let Some(upper) = prefix_upper_bound(prefix) {
            conditions.push("action < ?");
            parameters.push(SqlValue::Text(upper));
        }
    }
    if let Some(since) = filter.since {
        conditions.push("at >= ?");
        parameters.push(SqlValue::Text(rfc3339(since)));
    }
    if let Some(until) = filter.until {
        conditions.push("at < ?");
        parameters.push(SqlValue::Text(rfc3339(until)));
    }
    if let Some(before) = filter.before_seq {
        conditions.push("seq < ?");
        parameters.push(SqlValue::Integer(i64::try_from(before).unwrap_or(i64::MAX)));
    }
    let limit = filter
        .limit
        .unwrap_or(DEFAULT_QUERY_LIMIT)
        .min(MAX_QUERY_LIMIT);
    parameters.push(SqlValue::Integer(i64::from(limit)));
    let mut sql = String::from(
        "SELECT seq, at, actor, action, target, details, ip, user_agent, hash FROM audit_log",
    );
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    sql.push_str(" ORDER BY seq DESC LIMIT ?");
    (sql, parameters)
}

/// The smallest text greater than every text starting with `prefix`, under
/// SQLite's binary collation (UTF-8 byte order, which is code point order);
/// `None` when no such text exists.
fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let mut next = u32::from(last) + 1;
        if (0xD800..=0xDFFF).contains(&next) {
            next = 0xE000;
        }
        if let Some(next) = char::from_u32(next) {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_bound_increments_the_last_character() {
        assert_eq!(prefix_upper_bound("auth.").as_deref(), Some("auth/"));
        assert_eq!(
            prefix_upper_bound("a\u{d7ff}").as_deref(),
            Some("a\u{e000}")
        );
        assert_eq!(prefix_upper_bound("a\u{10ffff}").as_deref(), Some("b"));
        assert_eq!(prefix_upper_bound("\u{10ffff}"), None);
    }

    #[test]
    fn limits_default_to_a_hundred_and_never_pass_a_thousand() {
        let (_, parameters) = build_sql(&AuditFilter::default());
        assert_eq!(parameters, vec![SqlValue::Integer(100)]);
        let (_, parameters) = build_sql(&AuditFilter {
            limit: Some(50_000),
            ..AuditFilter::default()
        });
        assert_eq!(parameters, vec![SqlValue::Integer(1000)]);
    }
}
