//! The in-memory ledger: every user's counters for the current UTC days and
//! every principal's rate state, and the arithmetic that checks a call
//! against them and reserves what it may use, all in one step.
//!
//! The ledger is plain data behind the meter's one mutex: nothing here
//! awaits, reads a clock, touches the store or takes a lock, so a check and
//! its reservation can never be split by another call. It must not decide
//! which limits apply (that is [`super::plans`]) or word refusals (that is
//! [`super::errors`]).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use crate::identity::{Timestamp, UserId};

use super::call::CallRequest;
use super::day::Day;
use super::errors::{DailyRefusal, LimitCode, LimitExceeded};
use super::gcra::Gcra;
use super::plans::{AppliedPlan, CappedFeature};
use super::reports::DayUsage;

/// One user's counters for one UTC day, reservations of running calls
/// included.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DayCounters {
    /// Bumped by a reset, so calls admitted before it settle into the new
    /// count rather than taking back reservations it already wiped.
    pub generation: u64,
    /// Admitted calls, running ones included.
    pub requests: u64,
    pub tokens_in: u64,
    pub tokens_out: u64,
    /// Estimates of running calls, replaced by real use when they settle.
    pub tokens_reserved: u64,
    pub cost_micro_usd: u64,
    /// Units per feature, running calls' requests included.
    pub features: BTreeMap<String, u64>,
}

impl DayCounters {
    /// Counters picking up where the store's totals for the day left off.
    pub fn seeded(usage: DayUsage) -> DayCounters {
        DayCounters {
            generation: 0,
            requests: usage.requests,
            tokens_in: usage.tokens_in,
            tokens_out: usage.tokens_out,
            tokens_reserved: 0,
            cost_micro_usd: usage.cost_micro_usd,
            features: usage.feature_units,
        }
    }

    /// Tokens used and reserved: what the daily token limit is held against.
    pub fn tokens(&self) -> u64 {
        self.tokens_in
            .saturating_add(self.tokens_out)
            .saturating_add(self.tokens_reserved)
    }

    pub fn feature(&self, name: &str) -> u64 {
        self.features.get(name).copied().unwrap_or(0)
    }

    pub fn usage(&self, day: Day) -> DayUsage {
        DayUsage {
            day: day.to_string(),
            requests: self.requests,
            tokens_in: self.tokens_in,
            tokens_out: self.tokens_out,
            cost_micro_usd: self.cost_micro_usd,
            feature_units: self.features.clone(),
        }
    }
}

/// What an admitted call holds until it settles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reservation {
    pub day: Day,
    pub generation: u64,
    pub tokens: u64,
    pub feature: Option<String>,
    pub feature_units: u64,
}

/// What a call consumed, charged when it settles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Charge {
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost_micro_usd: u64,
    /// The feature units produced (already defaulted to the reservation).
    pub feature_units: u64,
}

/// The moment a call is checked, read once by the caller.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Now {
    pub wall: Timestamp,
    pub day: Day,
    /// For the rate limit.
    pub monotonic: Duration,
}

/// The user's counters for the day must be read from the store first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NotSeeded;

/// Every user's counters and every principal's rate state.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    days: HashMap<Day, HashMap<UserId, DayCounters>>,
    /// Per user, then per API key (`None` for sessions).
    rates: HashMap<UserId, HashMap<Option<String>, Gcra>>,
    newest_day: Option<Day>,
}

impl Ledger {
    /// Whether `user`'s counters for `day` are here (seeded).
    pub fn has(&self, user: &UserId, day: Day) -> bool {
        self.days
            .get(&day)
            .is_some_and(|users| users.contains_key(user))
    }

    /// Installs counters read from the store, unless another caller got
    /// there first (its counters may already hold new calls).
    pub fn seed(&mut self, user: &UserId, day: Day, usage: DayUsage) {
        self.days
            .entry(day)
            .or_default()
            .entry(user.clone())
            .or_insert_with(|| DayCounters::seeded(usage));
    }

    pub fn counters(&self, user: &UserId, day: Day) -> Option<&DayCounters> {
        self.days.get(&day)?.get(user)
    }

    /// Checks `call` against `plan` in the spec's order (daily requests,
    /// feature cap, tokens, then the rate) and, if it fits, reserves what it
    /// asks for. `seed` (the user's stored totals for the day) is installed
    /// first unless counters are already here; without either the answer is
    /// [`NotSeeded`].
    pub fn admit(
        &mut self,
        call: &CallRequest,
        plan: &AppliedPlan,
        now: Now,
        seed: Option<DayUsage>,
    ) -> Result<Result<Reservation, LimitExceeded>, NotSeeded> {
        self.forget_old(now);
        let users = self.days.entry(now.day).or_default();
        if let Some(seed) = seed {
            users
                .entry(call.user_id.clone())
                .or_insert_with(|| DayCounters::seeded(seed));
        }
        let Some(counters) = users.get_mut(&call.user_id) else {
            return Err(NotSeeded);
        };
        if !call.bypass_limits {
            if let Err(refusal) = check_daily(counters, call, plan, now.day) {
                return Ok(Err(refusal));
            }
            if let Some(rate) = plan.rate {
                let gcra = self
                    .rates
                    .entry(call.user_id.clone())
                    .or_default()
                    .entry(call.api_key_id.clone())
                    .or_default();
                if let Err(denied) = gcra.try_acquire(rate, now.monotonic) {
                    let wait = denied.retry_after_seconds();
                    let retry_at = now
                        .wall
                        .plus_seconds(i64::try_from(wait).unwrap_or(i64::MAX));
                    return Ok(Err(LimitExceeded::rate(
                        &plan.name,
                        rate.calls_per_minute(),
                        denied.in_window,
                        wait,
                        retry_at,
                    )));
                }
            }
        }
        counters.requests = counters.requests.saturating_add(1);
        counters.tokens_reserved = counters.tokens_reserved.saturating_add(call.token_estimate);
        if let Some(feature) = &call.feature {
            add_units(counters, feature, call.feature_units);
        }
        Ok(Ok(Reservation {
            day: now.day,
            generation: counters.generation,
            tokens: call.token_estimate,
            feature: call.feature.clone(),
            feature_units: call.feature_units,
        }))
    }

    /// Replaces a call's reservation with what it consumed. A call whose
    /// day was reset since it was admitted counts in full in the new count.
    pub fn settle(&mut self, user: &UserId, reservation: &Reservation, charge: Charge) {
        let Some(counters) = self
            .days
            .get_mut(&reservation.day)
            .and_then(|users| users.get_mut(user))
        else {
            // The day was long over and forgotten; the store still gets the row.
            return;
        };
        let same_count = counters.generation == reservation.generation;
        if same_count {
            counters.tokens_reserved = counters.tokens_reserved.saturating_sub(reservation.tokens);
        } else {
            counters.requests = counters.requests.saturating_add(1);
        }
        if let Some(feature) = &reservation.feature {
            if same_count {
                let units = counters.features.entry(feature.clone()).or_default();
                *units = units.saturating_sub(reservation.feature_units);
            }
            add_units(counters, feature, charge.feature_units);
        }
        counters.tokens_in = counters.tokens_in.saturating_add(charge.tokens_in);
        counters.tokens_out = counters.tokens_out.saturating_add(charge.tokens_out);
        counters.cost_micro_usd = counters
            .cost_micro_usd
            .saturating_add(charge.cost_micro_usd);
    }

    /// Zeroes `user`'s counters for `day` and returns what they held; `None`
    /// when they were not seeded.
    pub fn reset(&mut self, user: &UserId, day: Day) -> Option<DayUsage> {
        let counters = self.days.get_mut(&day)?.get_mut(user)?;
        let before = counters.usage(day);
        *counters = DayCounters {
            generation: counters.generation.wrapping_add(1),
            ..DayCounters::default()
        };
        Some(before)
    }

    /// On the first call of a new day, drops the days before yesterday
    /// (yesterday stays for calls still running across midnight) and every
    /// rate state whose burst is fully back.
    fn forget_old(&mut self, now: Now) {
        if self.newest_day.is_some_and(|newest| newest >= now.day) {
            return;
        }
        self.newest_day = Some(now.day);
        let oldest_kept = now.day.plus(-1);
        self.days.retain(|day, _| *day >= oldest_kept);
        for keys in self.rates.values_mut() {
            keys.retain(|_, gcra| !gcra.is_idle_at(now.monotonic));
        }
        self.rates.retain(|_, keys| !keys.is_empty());
    }
}

/// The daily limits in order: requests, the feature's cap, tokens.
fn check_daily(
    counters: &DayCounters,
    call: &CallRequest,
    plan: &AppliedPlan,
    day: Day,
) -> Result<(), LimitExceeded> {
    let refuse = |code, units, limit, used, asked| {
        LimitExceeded::daily(DailyRefusal {
            code,
            plan: &plan.name,
            units,
            limit,
            used,
            asked,
            reset_at: day.next_midnight(),
        })
    };
    if let Some(limit) = plan.limits.daily_requests
        && counters.requests >= limit
    {
        let units = ("requests", "request");
        return Err(refuse(
            LimitCode::RequestLimitExceeded,
            units,
            limit,
            counters.requests,
            None,
        ));
    }
    if let Some(capped) = call.feature.as_deref().and_then(CappedFeature::from_name)
        && let Some(limit) = capped.cap(&plan.limits)
    {
        let used = counters.feature(capped.name());
        if used.saturating_add(call.feature_units.max(1)) > limit {
            let asked = (call.feature_units > 1).then_some(call.feature_units);
            let units = (capped.units(), capped.unit());
            return Err(refuse(capped.code(), units, limit, used, asked));
        }
    }
    if call.token_estimate > 0
        && let Some(limit) = plan.limits.daily_tokens
        && counters.tokens().saturating_add(call.token_estimate) > limit
    {
        let units = ("tokens", "token");
        let (used, asked) = (counters.tokens(), Some(call.token_estimate));
        return Err(refuse(
            LimitCode::TokenLimitExceeded,
            units,
            limit,
            used,
            asked,
        ));
    }
    Ok(())
}

fn add_units(counters: &mut DayCounters, feature: &str, units: u64) {
    match counters.features.get_mut(feature) {
        Some(held) => *held = held.saturating_add(units),
        None => {
            counters.features.insert(feature.to_owned(), units);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{FeaturesConfig, PlansConfig};
    use crate::identity::Plan;
    use crate::metering::plans::PlanBook;

    fn now(text: &str, monotonic_secs: u64) -> Now {
        let wall = Timestamp::parse_rfc3339(text).unwrap();
        Now {
            wall,
            day: Day::of(wall),
            monotonic: Duration::from_secs(monotonic_secs),
        }
    }

    fn mcq_call(user: &UserId, units: u64) -> CallRequest {
        CallRequest {
            user_id: user.clone(),
            api_key_id: None,
            plan: Plan::free(),
            bypass_limits: false,
            tool: "make_mcqs".to_owned(),
            feature: Some("mcq".to_owned()),
            feature_units: units,
            token_estimate: 100,
        }
    }

    fn free() -> AppliedPlan {
        PlanBook::new(PlansConfig::default(), &FeaturesConfig::default()).applied("free")
    }

    #[test]
    fn a_user_whose_day_is_not_in_memory_must_be_seeded_first() {
        let mut ledger = Ledger::default();
        let user = UserId::new_random();
        let at = now("2026-11-22T10:00:00Z", 0);
        assert_eq!(
            ledger.admit(&mcq_call(&user, 1), &free(), at, None),
            Err(NotSeeded)
        );
        let mut stored = DayUsage::empty(at.day);
        stored.feature_units.insert("mcq".to_owned(), 4);
        let admitted = ledger.admit(&mcq_call(&user, 1), &free(), at, Some(stored.clone()));
        assert!(matches!(admitted, Ok(Ok(_))));
        // A second seed (a racing reader) does not overwrite what is there.
        ledger.seed(&user, at.day, stored);
        assert_eq!(ledger.counters(&user, at.day).unwrap().feature("mcq"), 5);
    }

    #[test]
    fn a_refused_call_reserves_nothing() {
        let mut ledger = Ledger::default();
        let user = UserId::new_random();
        let at = now("2026-11-22T10:00:00Z", 0);
        ledger.seed(&user, at.day, DayUsage::empty(at.day));
        let refused = ledger.admit(&mcq_call(&user, 6), &free(), at, None);
        assert!(matches!(refused, Ok(Err(ref r)) if r.code == LimitCode::McqLimitExceeded));
        assert_eq!(
            ledger.counters(&user, at.day),
            Some(&DayCounters::default())
        );
    }

    #[test]
    fn settling_replaces_the_reservation_with_what_was_used() {
        let mut ledger = Ledger::default();
        let user = UserId::new_random();
        let at = now("2026-11-22T10:00:00Z", 0);
        ledger.seed(&user, at.day, DayUsage::empty(at.day));
        let reservation = ledger
            .admit(&mcq_call(&user, 5), &free(), at, None)
            .unwrap()
            .unwrap();
        let held = ledger.counters(&user, at.day).unwrap();
        assert_eq!((held.tokens(), held.feature("mcq")), (100, 5));
        let charge = Charge {
            tokens_in: 30,
            tokens_out: 40,
            cost_micro_usd: 7,
            feature_units: 3,
        };
        ledger.settle(&user, &reservation, charge);
        let settled = ledger.counters(&user, at.day).unwrap();
        assert_eq!(settled.requests, 1);
        assert_eq!((settled.tokens(), settled.tokens_reserved), (70, 0));
        assert_eq!(settled.feature("mcq"), 3);
    }

    #[test]
    fn a_new_day_forgets_the_days_before_yesterday() {
        let mut ledger = Ledger::default();
        let user = UserId::new_random();
        let first = now("2026-11-20T10:00:00Z", 0);
        ledger.seed(&user, first.day, DayUsage::empty(first.day));
        let next = now("2026-11-21T10:00:00Z", 86_400);
        ledger.seed(&user, next.day, DayUsage::empty(next.day));
        let third = now("2026-11-22T10:00:00Z", 2 * 86_400);
        assert_eq!(
            ledger.admit(&mcq_call(&user, 1), &free(), third, None),
            Err(NotSeeded)
        );
        assert!(!ledger.has(&user, first.day));
        assert!(
            ledger.has(&user, next.day),
            "yesterday stays for late settles"
        );
    }
}
