//! The usage reports: one user's today against their plan and their last 7
//! days ([`UserUsage`]), and the platform's picture by plan, top users and
//! burn rate ([`PlatformUsage`]), as serialisable, schema-described values.
//!
//! A user's report is built only from rows filtered by that user's id; only
//! the platform report spans users, and deciding who may see it is the
//! caller's job. This file must not change any counter.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::identity::{Plan, UserId};

use super::Meter;
use super::day::Day;
use super::errors::MeteringError;
use super::plans::CappedFeature;
use super::tables;

/// One user's admitted calls on one UTC day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DayUsage {
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    pub requests: u64,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost_micro_usd: u64,
    /// Units per feature (`mcq` → 5).
    pub feature_units: BTreeMap<String, u64>,
}

impl DayUsage {
    pub(crate) fn empty(day: Day) -> DayUsage {
        DayUsage {
            day: day.to_string(),
            requests: 0,
            tokens_in: 0,
            tokens_out: 0,
            cost_micro_usd: 0,
            feature_units: BTreeMap::new(),
        }
    }
}

/// One of a plan's daily limits, as used today.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LimitUsage {
    /// The limit's name in the plan table (`daily_requests`, `mcqs_per_day`…).
    pub name: String,
    /// `None`: unlimited.
    pub limit: Option<u64>,
    /// Used today, calls still running included.
    pub used: u64,
    pub remaining: Option<u64>,
    /// The next UTC midnight, RFC 3339.
    pub reset_at: String,
}

/// The caller's own usage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UserUsage {
    pub user_id: String,
    pub plan: String,
    /// The plan whose limits apply: the user's own, or `free` for a plan the
    /// server does not know.
    pub limits_plan: String,
    /// Today, `YYYY-MM-DD` (UTC).
    pub day: String,
    pub limits: Vec<LimitUsage>,
    /// The sustained rate allowed (with bursts of as many); `None`: no rate limit.
    pub requests_per_minute: Option<u32>,
    /// The 7 days ending today, oldest first; days without calls are zeros.
    pub last_7_days: Vec<DayUsage>,
}

/// One plan's totals over a span of days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PlanUsage {
    pub plan: String,
    /// Distinct users with at least one call.
    pub users: u64,
    pub requests: u64,
    pub tokens: u64,
}

/// A user among today's heaviest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TopUser {
    pub user_id: String,
    pub plan: String,
    pub tokens: u64,
    pub requests: u64,
}

/// How fast the platform is spending.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BurnRate {
    pub last_hour_requests: u64,
    pub last_hour_tokens: u64,
    /// The last 24 hours' totals divided by 24.
    pub requests_per_hour_24h: f64,
    pub tokens_per_hour_24h: f64,
}

/// Every user's usage, for admins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PlatformUsage {
    /// RFC 3339 UTC.
    pub generated_at: String,
    /// Today, `YYYY-MM-DD` (UTC).
    pub day: String,
    pub today_by_plan: Vec<PlanUsage>,
    /// The 7 days ending today; a user counts once per plan.
    pub last_7_days_by_plan: Vec<PlanUsage>,
    /// The 10 users with the most tokens today.
    pub top_users_today: Vec<TopUser>,
    pub burn_rate: BurnRate,
}

const TOP_USERS: u32 = 10;
const HOUR_SECONDS: i64 = 3_600;

impl Meter {
    /// `user`'s usage today against `plan`, and their last 7 days. Today's
    /// figures are the live counters (running calls included); earlier days
    /// come from the store, after the buffered rows are sent.
    pub async fn usage_me(&self, user: &UserId, plan: &Plan) -> Result<UserUsage, MeteringError> {
        let today = Day::of(self.inner.clock.now());
        self.ensure_seeded(user, today).await?;
        self.inner.recorder.sync().await?;
        let counters = self.lock_ledger().counters(user, today).cloned();
        let counters = counters.unwrap_or_default();
        let first = today.plus(-6);
        let reader = user.clone();
        let stored = self
            .inner
            .store
            .read(move |connection| tables::user_days(connection, &reader, first, today.plus(-1)))
            .await?;
        let mut last_7_days: Vec<DayUsage> = (0..6)
            .map(|back| {
                let day = first.plus(back).to_string();
                let found = stored.iter().find(|usage| usage.day == day).cloned();
                found.unwrap_or_else(|| DayUsage::empty(first.plus(back)))
            })
            .collect();
        last_7_days.push(counters.usage(today));

        let applied = self.inner.book.applied(plan.as_str());
        let reset_at = today.next_midnight().to_rfc3339();
        let limit = |name: &str, limit: Option<u64>, used: u64| LimitUsage {
            name: name.to_owned(),
            limit,
            used,
            remaining: limit.map(|limit| limit.saturating_sub(used)),
            reset_at: reset_at.clone(),
        };
        let mut limits = vec![
            limit(
                "daily_requests",
                applied.limits.daily_requests,
                counters.requests,
            ),
            limit(
                "daily_tokens",
                applied.limits.daily_tokens,
                counters.tokens(),
            ),
        ];
        for feature in CappedFeature::ALL {
            let used = counters.feature(feature.name());
            limits.push(limit(
                feature.limit_name(),
                feature.cap(&applied.limits),
                used,
            ));
        }
        Ok(UserUsage {
            user_id: user.to_string(),
            plan: plan.to_string(),
            limits_plan: applied.name,
            day: today.to_string(),
            limits,
            requests_per_minute: applied.limits.requests_per_minute,
            last_7_days,
        })
    }

    /// Every user's settled calls: by plan today and over 7 days, the top 10
    /// users by tokens today, and the burn rate. Sends the buffered rows
    /// first, so it is current to the moment it was asked.
    pub async fn usage_platform(&self) -> Result<PlatformUsage, MeteringError> {
        self.inner.recorder.sync().await?;
        let now = self.inner.clock.now();
        let today = Day::of(now);
        let hour_ago = now.plus_seconds(-HOUR_SECONDS);
        let day_ago = now.plus_seconds(-24 * HOUR_SECONDS);
        let report = self
            .inner
            .store
            .read(move |connection| {
                let today_by_plan = tables::plan_totals(connection, today, today)?;
                let week_by_plan = tables::plan_totals(connection, today.plus(-6), today)?;
                let top = tables::top_users(connection, today, TOP_USERS)?;
                let last_hour = tables::calls_since(connection, hour_ago)?;
                let last_day = tables::calls_since(connection, day_ago)?;
                Ok((today_by_plan, week_by_plan, top, last_hour, last_day))
            })
            .await?;
        let (today_by_plan, last_7_days_by_plan, top_users_today, last_hour, last_day) = report;
        Ok(PlatformUsage {
            generated_at: now.to_rfc3339(),
            day: today.to_string(),
            today_by_plan,
            last_7_days_by_plan,
            top_users_today,
            burn_rate: BurnRate {
                last_hour_requests: last_hour.0,
                last_hour_tokens: last_hour.1,
                requests_per_hour_24h: last_day.0 as f64 / 24.0,
                tokens_per_hour_24h: last_day.1 as f64 / 24.0,
            },
        })
    }
}
