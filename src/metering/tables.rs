//! The SQL of metering: writing a batch of usage rows (and the per-day
//! totals they add up to) in one store job, and the reads the reports and
//! the counters' seeding need. Owns the tables of migration 5.
//!
//! Runs only inside store closures (the writer thread or the blocking read
//! pool), never on an async thread. It must not decide limits.

use std::collections::{BTreeMap, HashMap};

use rusqlite::{Connection, Transaction, params};

use crate::identity::{Timestamp, UserId};
use crate::store::StoreError;

use super::call::Outcome;
use super::day::Day;
use super::reports::{DayUsage, PlanUsage, TopUser};

/// One call, as stored in `usage_events`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UsageRow {
    pub at: Timestamp,
    /// The UTC day the call counts in (the day it was admitted).
    pub day: Day,
    pub user_id: UserId,
    pub api_key_id: Option<String>,
    pub plan: String,
    pub tool: String,
    pub feature: Option<String>,
    pub feature_units: u64,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost_micro_usd: u64,
    pub latency_ms: u64,
    pub outcome: Outcome,
}

/// One queued change, applied in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Op {
    Row(UsageRow),
    /// Zero a user's totals for a day (rows queued before it no longer count).
    Reset {
        user_id: UserId,
        day: Day,
    },
}

/// What a batch adds to one user's day.
#[derive(Debug, Default)]
struct DayDelta {
    plan: String,
    requests: u64,
    tokens_in: u64,
    tokens_out: u64,
    cost_micro_usd: u64,
    features: BTreeMap<String, u64>,
}

const INSERT_EVENT: &str = "INSERT INTO usage_events (at, user_id, api_key_id, plan, tool, \
     feature, feature_units, tokens_in, tokens_out, cost_micro_usd, latency_ms, outcome) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";

const ADD_TO_DAY: &str = "INSERT INTO usage_daily \
     (user_id, day, plan, requests, tokens_in, tokens_out, cost_micro_usd) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
     ON CONFLICT (user_id, day) DO UPDATE SET plan = excluded.plan, \
     requests = requests + excluded.requests, tokens_in = tokens_in + excluded.tokens_in, \
     tokens_out = tokens_out + excluded.tokens_out, \
     cost_micro_usd = cost_micro_usd + excluded.cost_micro_usd";

const ADD_TO_FEATURE: &str = "INSERT INTO usage_daily_features (user_id, day, feature, units) \
     VALUES (?1, ?2, ?3, ?4) \
     ON CONFLICT (user_id, day, feature) DO UPDATE SET units = units + excluded.units";

/// Writes a batch: every row into `usage_events`, and admitted calls summed
/// per user and day into the daily totals (one upsert per user-day, not
/// per row).
pub(crate) fn write_ops(transaction: &Transaction<'_>, ops: Vec<Op>) -> Result<(), StoreError> {
    let mut insert = transaction.prepare_cached(INSERT_EVENT)?;
    let mut deltas: HashMap<(UserId, Day), DayDelta> = HashMap::new();
    for op in ops {
        match op {
            Op::Row(row) => {
                insert.execute(params![
                    row.at.to_rfc3339(),
                    row.user_id.as_str(),
                    row.api_key_id,
                    row.plan,
                    row.tool,
                    row.feature,
                    to_sql(row.feature_units),
                    to_sql(row.tokens_in),
                    to_sql(row.tokens_out),
                    to_sql(row.cost_micro_usd),
                    to_sql(row.latency_ms),
                    row.outcome.as_text(),
                ])?;
                if row.outcome.was_admitted() {
                    let key = (row.user_id.clone(), row.day);
                    add_row(deltas.entry(key).or_default(), row);
                }
            }
            Op::Reset { user_id, day } => {
                let day_text = day.to_string();
                transaction.execute(
                    "UPDATE usage_daily SET requests = 0, tokens_in = 0, tokens_out = 0, \
                     cost_micro_usd = 0 WHERE user_id = ?1 AND day = ?2",
                    params![user_id.as_str(), day_text],
                )?;
                transaction.execute(
                    "DELETE FROM usage_daily_features WHERE user_id = ?1 AND day = ?2",
                    params![user_id.as_str(), day_text],
                )?;
                deltas.remove(&(user_id, day));
            }
        }
    }
    let mut add_day = transaction.prepare_cached(ADD_TO_DAY)?;
    let mut add_feature = transaction.prepare_cached(ADD_TO_FEATURE)?;
    for ((user_id, day), delta) in deltas {
        let day = day.to_string();
        add_day.execute(params![
            user_id.as_str(),
            day,
            delta.plan,
            to_sql(delta.requests),
            to_sql(delta.tokens_in),
            to_sql(delta.tokens_out),
            to_sql(delta.cost_micro_usd),
        ])?;
        for (feature, units) in delta.features {
            add_feature.execute(params![user_id.as_str(), day, feature, to_sql(units)])?;
        }
    }
    Ok(())
}

fn add_row(delta: &mut DayDelta, row: UsageRow) {
    delta.plan = row.plan;
    delta.requests = delta.requests.saturating_add(1);
    delta.tokens_in = delta.tokens_in.saturating_add(row.tokens_in);
    delta.tokens_out = delta.tokens_out.saturating_add(row.tokens_out);
    delta.cost_micro_usd = delta.cost_micro_usd.saturating_add(row.cost_micro_usd);
    if let Some(feature) = row.feature {
        let units = delta.features.entry(feature).or_default();
        *units = units.saturating_add(row.feature_units);
    }
}

/// `user`'s stored totals for each day from `first` to `last` that has any,
/// oldest first.
pub(crate) fn user_days(
    connection: &Connection,
    user: &UserId,
    first: Day,
    last: Day,
) -> Result<Vec<DayUsage>, StoreError> {
    let (first, last) = (first.to_string(), last.to_string());
    let mut days: BTreeMap<String, DayUsage> = BTreeMap::new();
    let mut totals = connection.prepare_cached(
        "SELECT day, requests, tokens_in, tokens_out, cost_micro_usd FROM usage_daily \
         WHERE user_id = ?1 AND day BETWEEN ?2 AND ?3",
    )?;
    let rows = totals.query_map(params![user.as_str(), first, last], |row| {
        Ok(DayUsage {
            day: row.get(0)?,
            requests: from_sql(row.get(1)?),
            tokens_in: from_sql(row.get(2)?),
            tokens_out: from_sql(row.get(3)?),
            cost_micro_usd: from_sql(row.get(4)?),
            feature_units: BTreeMap::new(),
        })
    })?;
    for usage in rows {
        let usage = usage?;
        days.insert(usage.day.clone(), usage);
    }
    let mut features = connection.prepare_cached(
        "SELECT day, feature, units FROM usage_daily_features \
         WHERE user_id = ?1 AND day BETWEEN ?2 AND ?3",
    )?;
    let rows = features.query_map(params![user.as_str(), first, last], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            from_sql(row.get(2)?),
        ))
    })?;
    for row in rows {
        let (day, feature, units) = row?;
        if let Some(usage) = days.get_mut(&day) {
            usage.feature_units.insert(feature, units);
        }
    }
    Ok(days.into_values().collect())
}

/// Users, requests and tokens per plan over the days `first..=last`.
pub(crate) fn plan_totals(
    connection: &Connection,
    first: Day,
    last: Day,
) -> Result<Vec<PlanUsage>, StoreError> {
    let mut query = connection.prepare_cached(
        "SELECT plan, COUNT(DISTINCT user_id), SUM(requests), SUM(tokens_in + tokens_out) \
         FROM usage_daily WHERE day BETWEEN ?1 AND ?2 AND requests > 0 \
         GROUP BY plan ORDER BY plan",
    )?;
    let rows = query.query_map(params![first.to_string(), last.to_string()], |row| {
        Ok(PlanUsage {
            plan: row.get(0)?,
            users: from_sql(row.get(1)?),
            requests: from_sql(row.get(2)?),
            tokens: from_sql(row.get(3)?),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The `limit` users with the most tokens on `day` (then most requests).
pub(crate) fn top_users(
    connection: &Connection,
    day: Day,
    limit: u32,
) -> Result<Vec<TopUser>, StoreError> {
    let mut query = connection.prepare_cached(
        "SELECT user_id, plan, tokens_in + tokens_out AS tokens, requests FROM usage_daily \
         WHERE day = ?1 AND requests > 0 \
         ORDER BY tokens DESC, requests DESC, user_id LIMIT ?2",
    )?;
    let rows = query.query_map(params![day.to_string(), limit], |row| {
        Ok(TopUser {
            user_id: row.get(0)?,
            plan: row.get(1)?,
            tokens: from_sql(row.get(2)?),
            requests: from_sql(row.get(3)?),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Admitted calls and their tokens since `since` (inclusive).
pub(crate) fn calls_since(
    connection: &Connection,
    since: Timestamp,
) -> Result<(u64, u64), StoreError> {
    let (calls, tokens) = connection
        .prepare_cached(
            "SELECT COUNT(*), TOTAL(tokens_in + tokens_out) FROM usage_events \
             WHERE at >= ?1 AND outcome NOT LIKE 'refused:%'",
        )?
        .query_row(params![since.to_rfc3339()], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, f64>(1)?))
        })?;
    // TOTAL is a float so a huge sum cannot fail the query; the cast saturates.
    Ok((from_sql(calls), tokens.max(0.0) as u64))
}

/// Counts cannot go below 0 or past `i64::MAX` in SQLite; the latter is
/// held at the maximum rather than failing a whole batch.
fn to_sql(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn from_sql(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
