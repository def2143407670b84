//! Helpers for the identity tests: a real store in a scratch folder, the
//! services on a clock the test moves, and a cheap password hasher.
//! Test-only.

use std::sync::Arc;

use tempfile::TempDir;

use crate::identity::ManualClock;
use crate::identity::{
    ApiKeys, AuthMethod, Email, PasswordHasher, Plan, Principal, Role, Timestamp, User, Users,
};
use crate::store::{Store, StoreOptions};

/// 2025-01-01T00:00:00Z, where every test's clock starts.
pub(crate) const START: i64 = 1_735_689_600;

pub(crate) struct Fixture {
    /// Held so the folder outlives the store.
    _dir: TempDir,
    pub(crate) store: Store,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) users: Users,
    pub(crate) keys: ApiKeys,
}

impl Fixture {
    pub(crate) async fn new() -> Fixture {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("consilium.sqlite");
        let store =
            tokio::task::spawn_blocking(move || Store::open(&path, StoreOptions::default()))
                .await
                .unwrap()
                .unwrap();
        let clock = Arc::new(ManualClock::at(
            Timestamp::from_unix_seconds(START).unwrap(),
        ));
        // Cheap argon2 costs for speed; production costs have their own test.
        let hasher = PasswordHasher::with_costs(8, 1, 1).unwrap();
        let users = Users::with_parts(store.clone(), hasher, clock.clone());
        let keys = ApiKeys::with_clock(store.clone(), clock.clone());
        Fixture {
            _dir: dir,
            store,
            clock,
            users,
            keys,
        }
    }

    pub(crate) async fn user(&self, email: &str, role: Role) -> User {
        self.users
            .create(Email::parse(email).unwrap(), "Someone", role, Plan::free())
            .await
            .unwrap()
    }

    /// Waits until every write queued so far has committed: the writer
    /// takes jobs in order, so an awaited write lands after them.
    pub(crate) async fn flush_queued_writes(&self) {
        self.store.write(|_| Ok(())).await.unwrap();
    }
}

/// A password session for `user`, as the login layer will make one.
pub(crate) fn session(user: &User) -> Principal {
    Principal::session(user, AuthMethod::Password)
}
