//! Helpers shared by the store's unit tests: scratch stores on real files
//! and a way to hold the writer still so tests can decide what lands in
//! one batch. Test-only; nothing here ships.

use std::time::{Duration, Instant};

use tempfile::TempDir;
use tokio::task::JoinHandle;

use super::{Store, StoreError, StoreOptions};

/// Opens a store in a fresh folder, with a `notes` table to write into.
pub(crate) async fn scratch_store() -> (TempDir, Store) {
    scratch_store_with(StoreOptions::default()).await
}

pub(crate) async fn scratch_store_with(options: StoreOptions) -> (TempDir, Store) {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("consilium.sqlite");
    let store = tokio::task::spawn_blocking(move || Store::open(&path, options))
        .await
        .unwrap()
        .unwrap();
    store
        .write(|tx| {
            tx.execute_batch(
                "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL UNIQUE)",
            )?;
            Ok(())
        })
        .await
        .unwrap();
    (dir, store)
}

pub(crate) async fn insert_note(store: &Store, body: &str) -> Result<i64, StoreError> {
    let body = body.to_owned();
    store
        .write(move |tx| {
            tx.execute("INSERT INTO notes (body) VALUES (?1)", [&body])?;
            Ok(tx.last_insert_rowid())
        })
        .await
}

/// Starts an insert on its own task, as a concurrent caller would.
pub(crate) fn spawn_insert(store: &Store, body: String) -> JoinHandle<Result<i64, StoreError>> {
    let store = store.clone();
    tokio::spawn(async move { insert_note(&store, &body).await })
}

pub(crate) async fn count_notes(store: &Store) -> i64 {
    store
        .read(|conn| Ok(conn.query_row("SELECT COUNT(*) FROM notes", [], |row| row.get(0))?))
        .await
        .unwrap()
}

pub(crate) async fn note_exists(store: &Store, body: &str) -> bool {
    let body = body.to_owned();
    store
        .read(move |conn| {
            Ok(conn.query_row(
                "SELECT EXISTS(SELECT 1 FROM notes WHERE body = ?1)",
                [&body],
                |row| row.get(0),
            )?)
        })
        .await
        .unwrap()
}

/// A write job parked inside the writer thread until released, so that
/// everything submitted meanwhile queues up for the next batch.
pub(crate) struct HeldWriter {
    release: std::sync::mpsc::Sender<()>,
    job: JoinHandle<Result<(), StoreError>>,
}

impl HeldWriter {
    pub(crate) async fn hold(store: &Store) -> Self {
        let (entered, has_entered) = tokio::sync::oneshot::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let store = store.clone();
        let job = tokio::spawn(async move {
            store
                .write(move |_| {
                    let _ = entered.send(());
                    // Bounded, so a failing test cannot hang the suite.
                    let _ = released.recv_timeout(Duration::from_secs(30));
                    Ok(())
                })
                .await
        });
        has_entered.await.unwrap();
        Self { release, job }
    }

    pub(crate) async fn release(self) {
        let _ = self.release.send(());
        self.job.await.unwrap().unwrap();
    }
}

/// Waits until the writer's queue holds exactly `jobs` jobs.
pub(crate) async fn wait_for_queued(store: &Store, jobs: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while store.inner.writer.queued_jobs() != jobs {
        assert!(
            Instant::now() < deadline,
            "the queue never reached {jobs} jobs"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}
