//! The read pool: a fixed number of read-only connections lent out to read
//! closures, which run on tokio's blocking pool.
//!
//! WAL mode lets these readers see the last committed state while the
//! writer works. This file must never call SQLite on an async worker thread
//! (every use of a connection, including closing it, happens on a blocking
//! thread) and never hands out a connection that can write.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::Connection;
use tokio::sync::Semaphore;

use super::StoreError;
use super::connections::open_read_only;

pub(crate) struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// One permit per connection; closing it is how shutdown refuses reads.
    permits: Arc<Semaphore>,
}

impl ReadPool {
    /// Opens `size` (at least one) read-only connections. Blocking.
    pub(crate) fn open(path: &Path, size: usize) -> Result<Arc<Self>, StoreError> {
        let size = size.max(1);
        let idle = (0..size)
            .map(|_| open_read_only(path))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Arc::new(Self {
            path: path.to_path_buf(),
            idle: Mutex::new(idle),
            permits: Arc::new(Semaphore::new(size)),
        }))
    }

    /// Waits for a free connection, then runs `read` with it on the blocking
    /// pool. Dropping the returned future does not stop a read that started;
    /// its connection still comes back to the pool.
    pub(crate) async fn run<T, F>(self: &Arc<Self>, read: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Closed)?;
        let pool = Arc::clone(self);
        let task = tokio::task::spawn_blocking(move || {
            let result = pool.run_blocking(read);
            drop(permit);
            result
        });
        match task.await {
            Ok(result) => result,
            Err(error) if error.is_panic() => Err(StoreError::Panicked),
            // Only a runtime that is shutting down cancels blocking tasks.
            Err(_) => Err(StoreError::Closed),
        }
    }

    fn run_blocking<T, F>(&self, read: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError>,
    {
        let connection = self.check_out()?;
        // AssertUnwindSafe: a connection whose closure panicked is dropped,
        // never reused, so no half-updated state can leak.
        match catch_unwind(AssertUnwindSafe(|| read(&connection))) {
            Ok(result) => {
                self.check_in(connection);
                result
            }
            Err(_panic) => Err(StoreError::Panicked),
        }
    }

    /// Takes an idle connection, or opens a fresh one to replace a connection
    /// that was dropped after a panic.
    fn check_out(&self) -> Result<Connection, StoreError> {
        let reused = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match reused {
            Some(connection) => Ok(connection),
            None => open_read_only(&self.path),
        }
    }

    fn check_in(&self, connection: Connection) {
        // A read transaction left open would pin an old snapshot and stop
        // the WAL from being checkpointed; a connection that cannot end it
        // is dropped instead.
        if !connection.is_autocommit() && connection.execute_batch("ROLLBACK").is_err() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        // Checked under the lock so `close` cannot miss a returning connection.
        if !self.permits.is_closed() {
            idle.push(connection);
        }
    }

    /// Refuses further reads and hands back the idle connections, for the
    /// caller to close on a blocking thread. Reads in flight finish normally
    /// and close their connection themselves.
    pub(crate) fn close(&self) -> Vec<Connection> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        self.permits.close();
        std::mem::take(&mut *idle)
    }
}

impl Drop for ReadPool {
    fn drop(&mut self) {
        let idle = std::mem::take(self.idle.get_mut().unwrap_or_else(PoisonError::into_inner));
        if idle.is_empty() {
            return;
        }
        // Closing a connection can checkpoint the WAL (file I/O); when the
        // store is dropped inside the runtime, do that on a blocking thread.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(move || drop(idle))),
            Err(_) => drop(idle),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::StoreOptions;
    use super::super::test_support::{count_notes, insert_note, scratch_store, scratch_store_with};
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_see_committed_writes() {
        let (_dir, store) = scratch_store().await;
        assert_eq!(count_notes(&store).await, 0);
        insert_note(&store, "seen").await.unwrap();
        assert_eq!(count_notes(&store).await, 1);
        store.shutdown().await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn read_connections_cannot_write() {
        let (_dir, store) = scratch_store().await;
        let attempt = store
            .read(|conn| {
                conn.execute("INSERT INTO notes (body) VALUES ('sneaky')", [])?;
                Ok(())
            })
            .await;
        assert!(matches!(attempt, Err(StoreError::Sqlite(_))), "{attempt:?}");
        assert_eq!(count_notes(&store).await, 0);
        store.shutdown().await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_read_is_answered_with_an_error_and_the_pool_recovers() {
        let (_dir, store) = scratch_store_with(StoreOptions {
            read_connections: 1,
            ..StoreOptions::default()
        })
        .await;
        let outcome: Result<(), StoreError> =
            store.read(|_| panic!("a bug in a read closure")).await;
        assert!(matches!(outcome, Err(StoreError::Panicked)));
        store.ping().await.unwrap();
        assert_eq!(count_notes(&store).await, 0);
        store.shutdown().await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_transaction_left_open_is_ended_before_reuse() {
        let (_dir, store) = scratch_store_with(StoreOptions {
            read_connections: 1,
            ..StoreOptions::default()
        })
        .await;
        store
            .read(|conn| {
                conn.execute_batch("BEGIN; SELECT COUNT(*) FROM notes;")?;
                Ok(())
            })
            .await
            .unwrap();
        insert_note(&store, "after the stale snapshot")
            .await
            .unwrap();
        assert_eq!(count_notes(&store).await, 1);
        store.shutdown().await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn more_reads_than_connections_wait_their_turn() {
        let (_dir, store) = scratch_store_with(StoreOptions {
            read_connections: 2,
            ..StoreOptions::default()
        })
        .await;
        insert_note(&store, "shared").await.unwrap();
        let reads: Vec<_> = (0..50)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { count_notes(&store).await })
            })
            .collect();
        for read in reads {
            assert_eq!(read.await.unwrap(), 1);
        }
        store.shutdown().await.unwrap();
    }
}
