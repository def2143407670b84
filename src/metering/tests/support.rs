//! Helpers for the meter tests: a real store in a scratch folder, a meter on
//! clocks the test moves, and calls to feed it. Test-only.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tempfile::TempDir;

use crate::config::{FeaturesConfig, PlanLimits, PlansConfig};
use crate::identity::{ManualClock, Plan, Timestamp, UserId};
use crate::metering::{
    AdmitError, CallRequest, CallUsage, LimitExceeded, ManualMonotonic, Meter, Outcome,
};
use crate::store::{Store, StoreOptions};

/// 2026-11-22T10:00:00Z, where every test's wall clock starts.
pub(super) const START: &str = "2026-11-22T10:00:00Z";

pub(super) struct Fixture {
    /// Held so the folder outlives the store.
    _dir: TempDir,
    path: PathBuf,
    pub(super) store: Store,
    pub(super) clock: Arc<ManualClock>,
    pub(super) ticks: Arc<ManualMonotonic>,
    pub(super) plans: PlansConfig,
    pub(super) features: FeaturesConfig,
    pub(super) meter: Meter,
}

impl Fixture {
    pub(super) async fn new() -> Fixture {
        Self::with(PlansConfig::default(), FeaturesConfig::default()).await
    }

    pub(super) async fn with(plans: PlansConfig, features: FeaturesConfig) -> Fixture {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("consilium.sqlite");
        let store = open(path.clone()).await;
        let clock = Arc::new(ManualClock::at(Timestamp::parse_rfc3339(START).unwrap()));
        let ticks = Arc::new(ManualMonotonic::new());
        let meter = Meter::with_monotonic(
            store.clone(),
            plans.clone(),
            features.clone(),
            clock.clone(),
            ticks.clone(),
        );
        Fixture {
            _dir: dir,
            path,
            store,
            clock,
            ticks,
            plans,
            features,
            meter,
        }
    }

    /// A fixture with one extra plan named `name`.
    pub(super) async fn with_plan(name: &str, limits: PlanLimits) -> Fixture {
        let mut plans = PlansConfig::default();
        plans.0.insert(name.to_owned(), limits);
        Self::with(plans, FeaturesConfig::default()).await
    }

    /// Plays a clean shutdown and a restart: flush, close the store, open
    /// it again from the same file and build a new meter on it.
    pub(super) async fn restart(&mut self) {
        self.meter.flush().await.unwrap();
        self.store.shutdown().await.unwrap();
        self.store = open(self.path.clone()).await;
        self.meter = Meter::with_monotonic(
            self.store.clone(),
            self.plans.clone(),
            self.features.clone(),
            self.clock.clone(),
            self.ticks.clone(),
        );
    }

    /// Admits and settles one call that used nothing; panics if refused.
    pub(super) async fn call_ok(&self, call: &CallRequest) {
        let admission = self.meter.admit(call).await.unwrap();
        self.meter.settle(admission, ok_usage());
    }

    /// Admits `call`, expecting a refusal, and records it as the gate would.
    pub(super) async fn refused(&self, call: &CallRequest) -> LimitExceeded {
        match self.meter.admit(call).await {
            Err(AdmitError::Refused(refusal)) => {
                self.meter.record_refusal(call, &refusal);
                refusal
            }
            Err(other) => panic!("expected a refusal, got {other}"),
            Ok(_) => panic!("expected a refusal, the call was admitted"),
        }
    }

    pub(super) async fn count(&self, sql: &str) -> i64 {
        let sql = sql.to_owned();
        self.store
            .read(move |conn| Ok(conn.query_row(&sql, [], |row| row.get(0))?))
            .await
            .unwrap()
    }

    /// Outcomes of every stored call, oldest first.
    pub(super) async fn outcomes(&self) -> Vec<String> {
        self.store
            .read(|conn| {
                let mut query = conn.prepare("SELECT outcome FROM usage_events ORDER BY id")?;
                let rows = query.query_map([], |row| row.get(0))?;
                Ok(rows.collect::<Result<Vec<String>, _>>()?)
            })
            .await
            .unwrap()
    }
}

async fn open(path: PathBuf) -> Store {
    tokio::task::spawn_blocking(move || Store::open(&path, StoreOptions::default()))
        .await
        .unwrap()
        .unwrap()
}

/// A plain call by `user` on `plan`: no feature, no tokens expected.
pub(super) fn call(user: &UserId, plan: &str) -> CallRequest {
    CallRequest {
        user_id: user.clone(),
        api_key_id: None,
        plan: Plan::new(plan).unwrap(),
        bypass_limits: false,
        tool: "server_status".to_owned(),
        feature: None,
        feature_units: 0,
        token_estimate: 0,
    }
}

/// A call of `feature` asking for `units`.
pub(super) fn feature_call(user: &UserId, plan: &str, feature: &str, units: u64) -> CallRequest {
    CallRequest {
        tool: format!("make_{feature}"),
        feature: Some(feature.to_owned()),
        feature_units: units,
        ..call(user, plan)
    }
}

/// A call that expects to use `tokens`.
pub(super) fn token_call(user: &UserId, plan: &str, tokens: u64) -> CallRequest {
    CallRequest {
        tool: "consensus".to_owned(),
        token_estimate: tokens,
        ..call(user, plan)
    }
}

pub(super) fn ok_usage() -> CallUsage {
    CallUsage::nothing(Duration::from_millis(3), Outcome::Ok)
}

/// A successful call that used `tokens_in` and `tokens_out`.
pub(super) fn used_tokens(tokens_in: u64, tokens_out: u64) -> CallUsage {
    CallUsage {
        tokens_in,
        tokens_out,
        cost_micro_usd: tokens_in + 2 * tokens_out,
        ..ok_usage()
    }
}
