//! Metering: the plans, quotas, rate limits and usage records of every tool
//! call. Before a call runs, [`Meter::admit`] checks it — a switched-off
//! feature, then the daily requests, the feature's own cap, the token
//! estimate and the per-minute rate — and reserves what it may use, in one
//! atomic step; [`Meter::settle`] charges what it really used. Every call,
//! refused ones included, becomes a row in the store, written in batches
//! off the request path; per-user per-UTC-day totals written with them seed
//! the counters after a restart and answer the usage reports.
//!
//! It owns `usage_events`, `usage_daily` and `usage_daily_features`
//! (migration 5). It must not decide who is an admin or which plan a user
//! is on (callers say so in [`CallRequest`]), must not hold a lock across an
//! await or run SQLite on an async thread, and must never store a tool's
//! arguments or results.
//!
//! Files: `plans` (which limits apply), `counters` (the in-memory ledger and
//! its check-and-reserve), `gcra` (the rate limit), `recorder` (buffered
//! writing), `tables` (the SQL), `reports`, `errors`, `call` (the caller's
//! values) and `day` (UTC days and monotonic time).

mod call;
mod counters;
mod day;
mod errors;
mod gcra;
mod plans;
mod recorder;
mod reports;
mod tables;

#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::config::{FeaturesConfig, PlansConfig};
use crate::identity::{Clock, Timestamp, UserId};
use crate::store::Store;

pub use call::{CallRequest, CallUsage, Outcome};
pub use day::{Day, ManualMonotonic, Monotonic, SystemMonotonic};
pub use errors::{AdmitError, LimitCode, LimitExceeded, MeteringError};
pub use gcra::{Gcra, RateDenied, RateLimit};
pub use recorder::{BATCH_ROWS, FLUSH_INTERVAL};
pub use reports::{BurnRate, DayUsage, LimitUsage, PlanUsage, PlatformUsage, TopUser, UserUsage};

use counters::{Charge, Ledger, Now, Reservation};
pub use plans::FeatureSwitches;
use plans::PlanBook;
use recorder::Recorder;
use tables::{Op, UsageRow};

/// The metering service. Cheap to clone; every clone is the same meter.
#[derive(Clone)]
pub struct Meter {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    book: PlanBook,
    clock: Arc<dyn Clock>,
    monotonic: Arc<dyn Monotonic>,
    /// Held only for arithmetic, never across an await.
    ledger: Mutex<Ledger>,
    recorder: Arc<Recorder>,
}

impl Meter {
    /// A meter over `store`, with the rate limit on the system's monotonic
    /// clock. Starts a small background thread that sends buffered rows.
    pub fn new(
        store: Store,
        plans: PlansConfig,
        features: FeaturesConfig,
        clock: Arc<dyn Clock>,
    ) -> Meter {
        Self::with_monotonic(
            store,
            plans,
            features,
            clock,
            Arc::new(SystemMonotonic::new()),
        )
    }

    /// [`Meter::new`] with the rate limit on a time source of the caller's
    /// choosing (a [`ManualMonotonic`] in tests).
    pub fn with_monotonic(
        store: Store,
        plans: PlansConfig,
        features: FeaturesConfig,
        clock: Arc<dyn Clock>,
        monotonic: Arc<dyn Monotonic>,
    ) -> Meter {
        let recorder = Recorder::start(store.clone());
        Meter {
            inner: Arc::new(Inner {
                store,
                book: PlanBook::new(plans, &features),
                clock,
                monotonic,
                ledger: Mutex::new(Ledger::default()),
                recorder,
            }),
        }
    }

    /// Checks `call` against its plan and, if it may run, reserves the
    /// request, its feature units and its token estimate. Concurrent calls
    /// can never overshoot a limit together.
    ///
    /// A refusal is not recorded here: pass it to [`Meter::record_refusal`].
    /// The first call of a user's day in this process reads their stored
    /// totals, so a restart does not give anyone a fresh day.
    /// The features switched off for everyone, changeable at run time.
    pub fn switches(&self) -> &FeatureSwitches {
        self.inner.book.switches()
    }

    pub async fn admit(&self, call: &CallRequest) -> Result<Admission, AdmitError> {
        if let Some(feature) = &call.feature
            && self.inner.book.is_disabled(feature)
        {
            return Err(LimitExceeded::feature_disabled(feature).into());
        }
        let plan = self.inner.book.applied(call.plan.as_str());
        let wall = self.inner.clock.now();
        let now = Now {
            wall,
            day: Day::of(wall),
            monotonic: self.inner.monotonic.now(),
        };
        let mut seed = None;
        let decided = loop {
            // One lock for the whole check-and-reserve; never held across the read.
            let attempt = self.lock_ledger().admit(call, &plan, now, seed.take());
            match attempt {
                Ok(decided) => break decided,
                Err(counters::NotSeeded) => {
                    seed = Some(self.read_day(&call.user_id, now.day).await?);
                }
            }
        };
        let reservation = decided?;
        Ok(Admission {
            inner: Arc::clone(&self.inner),
            ticket: Some(Ticket {
                user_id: call.user_id.clone(),
                api_key_id: call.api_key_id.clone(),
                plan: call.plan.to_string(),
                tool: call.tool.clone(),
                at: wall,
                admitted_at: now.monotonic,
                reservation,
            }),
        })
    }

    /// Charges what an admitted call really used, replacing its
    /// reservation, and records it. Never blocks on the store.
    pub fn settle(&self, mut admission: Admission, usage: CallUsage) {
        admission.finish(usage);
    }

    /// Records a call that was refused (by [`Meter::admit`] or elsewhere).
    /// It does not count against the user's day.
    pub fn record_refusal(&self, call: &CallRequest, refusal: &LimitExceeded) {
        let at = self.inner.clock.now();
        self.inner.recorder.push(Op::Row(UsageRow {
            at,
            day: Day::of(at),
            user_id: call.user_id.clone(),
            api_key_id: call.api_key_id.clone(),
            plan: call.plan.to_string(),
            tool: call.tool.clone(),
            feature: call.feature.clone(),
            feature_units: 0,
            tokens_in: 0,
            tokens_out: 0,
            cost_micro_usd: 0,
            latency_ms: 0,
            outcome: Outcome::Refused(refusal.code),
        }));
    }

    /// Zeroes `user`'s counters for today, in memory and in the store, and
    /// returns what they held (for the caller's audit record). Calls still
    /// running count in the new total when they settle.
    pub async fn reset_usage(&self, user: &UserId) -> Result<DayUsage, MeteringError> {
        let today = Day::of(self.inner.clock.now());
        self.ensure_seeded(user, today).await?;
        let before = {
            let mut ledger = self.lock_ledger();
            let before = ledger.reset(user, today);
            // Queued under the same lock as the counters changed, so rows of
            // calls settling after the reset are queued after it.
            self.inner.recorder.push(Op::Reset {
                user_id: user.clone(),
                day: today,
            });
            before
        };
        self.inner.recorder.sync().await?;
        Ok(before.unwrap_or_else(|| DayUsage::empty(today)))
    }

    /// Sends every buffered row to the store and waits until they are
    /// committed. Call it before `Store::shutdown`; fails if the store is
    /// closed or if any rows failed to save since the last flush.
    pub async fn flush(&self) -> Result<(), MeteringError> {
        self.inner.recorder.flush().await
    }

    /// Makes sure `user`'s counters for `day` are in memory.
    async fn ensure_seeded(&self, user: &UserId, day: Day) -> Result<(), MeteringError> {
        if self.lock_ledger().has(user, day) {
            return Ok(());
        }
        let usage = self.read_day(user, day).await?;
        self.lock_ledger().seed(user, day, usage);
        Ok(())
    }

    /// `user`'s stored totals for `day` (zeros when there are none).
    async fn read_day(&self, user: &UserId, day: Day) -> Result<DayUsage, MeteringError> {
        let reader = user.clone();
        let stored = self
            .inner
            .store
            .read(move |connection| tables::user_days(connection, &reader, day, day))
            .await?;
        Ok(stored
            .into_iter()
            .next()
            .unwrap_or_else(|| DayUsage::empty(day)))
    }

    fn lock_ledger(&self) -> MutexGuard<'_, Ledger> {
        self.inner.lock_ledger()
    }
}

impl Inner {
    fn lock_ledger(&self) -> MutexGuard<'_, Ledger> {
        // The ledger's arithmetic saturates instead of panicking; a poisoned
        // lock can only come from elsewhere and leaves the counters whole.
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for Meter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Meter").finish_non_exhaustive()
    }
}

/// An admitted call, holding its reservation until [`Meter::settle`].
/// Dropped unsettled (a cancelled or panicking task), it settles itself as
/// `cancelled` with no tokens and no feature units, releasing the
/// reservation; the request still counts.
#[must_use = "settle the admission with Meter::settle once the call ends"]
pub struct Admission {
    inner: Arc<Inner>,
    ticket: Option<Ticket>,
}

struct Ticket {
    user_id: UserId,
    api_key_id: Option<String>,
    plan: String,
    tool: String,
    at: Timestamp,
    admitted_at: Duration,
    reservation: Reservation,
}

impl Admission {
    fn finish(&mut self, usage: CallUsage) {
        let Some(ticket) = self.ticket.take() else {
            return;
        };
        let reservation = &ticket.reservation;
        let feature_units = match reservation.feature {
            Some(_) => usage.feature_units.unwrap_or(reservation.feature_units),
            None => 0,
        };
        let charge = Charge {
            tokens_in: usage.tokens_in,
            tokens_out: usage.tokens_out,
            cost_micro_usd: usage.cost_micro_usd,
            feature_units,
        };
        let row = UsageRow {
            at: ticket.at,
            day: reservation.day,
            user_id: ticket.user_id.clone(),
            api_key_id: ticket.api_key_id,
            plan: ticket.plan,
            tool: ticket.tool,
            feature: reservation.feature.clone(),
            feature_units,
            tokens_in: usage.tokens_in,
            tokens_out: usage.tokens_out,
            cost_micro_usd: usage.cost_micro_usd,
            latency_ms: u64::try_from(usage.latency.as_millis()).unwrap_or(u64::MAX),
            outcome: usage.outcome,
        };
        let mut ledger = self.inner.lock_ledger();
        ledger.settle(&ticket.user_id, reservation, charge);
        // Queued under the ledger's lock, as resets are, so the store sees
        // a reset and this call in the same order as the counters did.
        self.inner.recorder.push(Op::Row(row));
        drop(ledger);
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        let Some(ticket) = &self.ticket else {
            return;
        };
        let latency = self
            .inner
            .monotonic
            .now()
            .saturating_sub(ticket.admitted_at);
        let mut usage = CallUsage::nothing(latency, Outcome::Cancelled);
        usage.feature_units = Some(0);
        self.finish(usage);
    }
}

impl std::fmt::Debug for Admission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admission")
            .field("settled", &self.ticket.is_none())
            .finish_non_exhaustive()
    }
}
