//! The embedded store: owns Consilium's one SQLite database — its files and
//! their permissions, the connections, the schema migrations, the
//! group-committing writer thread, the pool of read-only connections and
//! online backup.
//!
//! It must not hold domain logic: other modules bring their own SQL as
//! closures and their own validation (failing with
//! [`StoreError::Rejected`]). It must never run SQLite on an async runtime
//! thread: writes go to the writer thread, reads to tokio's blocking pool,
//! and [`Store::open`] is documented as blocking.

mod backup;
mod checkpointer;
mod connections;
mod error;
mod files;
mod migrations;
mod reads;
mod writer;

#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{Connection, Transaction};

pub use error::StoreError;

use checkpointer::Checkpointer;
use migrations::{MIGRATIONS, Migration};
use reads::ReadPool;
use writer::{AwaitedJob, QueuedJob, Writer};

/// Tuning for [`Store::open`].
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Read-only connections in the pool: how many reads run at once
    /// (0 is taken as 1).
    pub read_connections: usize,
    /// The most write jobs the writer commits in one transaction (0 is
    /// taken as 1).
    pub max_batch: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            read_connections: 4,
            max_batch: 256,
        }
    }
}

/// A handle on the open database. Cheap to clone; every clone is the same
/// store.
#[derive(Clone)]
pub struct Store {
    inner: Arc<StoreInner>,
}

struct StoreInner {
    path: PathBuf,
    schema_version: u32,
    writer: Writer,
    reads: Arc<ReadPool>,
    checkpointer: Checkpointer,
}

impl Store {
    /// Opens (creating if missing) the database at `path` and brings its
    /// schema up to date.
    ///
    /// Blocking: call from `spawn_blocking` or before the runtime serves
    /// requests.
    pub fn open(path: &Path, options: StoreOptions) -> Result<Store, StoreError> {
        Self::open_with_migrations(path, options, MIGRATIONS)
    }

    /// [`Store::open`] with a chosen migration history, so tests can play an
    /// older build.
    pub(crate) fn open_with_migrations(
        path: &Path,
        options: StoreOptions,
        migrations: &[Migration],
    ) -> Result<Store, StoreError> {
        files::ensure_database_file(path)?;
        let mut connection = connections::open_read_write(path)?;
        // Before any setting that writes to the file: a database from a newer
        // build must be left exactly as it was.
        migrations::refuse_if_too_new(&connection, migrations)?;
        connections::apply_shared_pragmas(&connection)?;
        let schema_version = migrations::apply_missing(&mut connection, migrations)?;
        // Read-only connections only after migrating, so they never see a
        // half-built schema.
        let reads = ReadPool::open(path, options.read_connections)?;
        // Checkpoints run on their own thread (see `checkpointer`), never inside a commit.
        connection.pragma_update(None, "wal_autocheckpoint", 0)?;
        let checkpointer = Checkpointer::start(path)?;
        let writer = Writer::start(connection, options.max_batch)?;
        tracing::info!(path = %path.display(), schema_version, "store opened");
        Ok(Store {
            inner: Arc::new(StoreInner {
                path: path.to_path_buf(),
                schema_version,
                writer,
                reads,
                checkpointer,
            }),
        })
    }

    /// Runs `f` in the writer's next batch and returns its value once the
    /// batch has committed.
    ///
    /// `f` runs inside its own savepoint: returning an error (such as
    /// [`StoreError::Rejected`]) or panicking undoes only its own changes.
    /// `f` must not commit, roll back or end the transaction itself.
    /// Dropping the returned future does not cancel the write.
    pub async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let (job, answer) = AwaitedJob::new(f);
        self.inner.writer.submit(Box::new(job))?;
        match answer.await {
            Ok(result) => result,
            Err(_) => Err(StoreError::WriterGone),
        }
    }

    /// Queues a fire-and-forget write (metering-style rows) without waiting.
    /// Failures are logged with `tracing::warn`, without the row's contents;
    /// after shutdown the job is logged and dropped.
    pub fn enqueue<F>(&self, f: F)
    where
        F: FnOnce(&Transaction<'_>) -> Result<(), StoreError> + Send + 'static,
    {
        if let Err(error) = self.inner.writer.submit(Box::new(QueuedJob::new(f))) {
            tracing::warn!(%error, "a queued write was dropped");
        }
    }

    /// Runs `f` with a read-only connection on tokio's blocking pool. It
    /// sees everything committed before it started.
    pub async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        self.inner.reads.run(f).await
    }

    /// The database file's path, as given to [`Store::open`].
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The schema version the database had once opened and migrated.
    pub fn schema_version(&self) -> u32 {
        self.inner.schema_version
    }

    /// The highest schema version this build knows how to create.
    pub fn latest_schema_version() -> u32 {
        migrations::latest_version(MIGRATIONS)
    }

    /// A trivial read, proving a read connection answers (for readiness).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.read(|connection| {
            connection.query_row("SELECT 1", [], |row| row.get::<_, i64>(0))?;
            Ok(())
        })
        .await
    }

    /// Copies the live database to `dest`, a new file created with mode
    /// 0600; refuses (with [`StoreError::Io`]) if `dest` already exists.
    /// Writes carry on meanwhile; the copy holds everything committed
    /// before it began.
    pub async fn backup_to(&self, dest: &Path) -> Result<(), StoreError> {
        let dest = dest.to_path_buf();
        self.read(move |connection| backup::copy_database(connection, &dest))
            .await
    }

    /// Stops accepting work, commits everything already queued (including
    /// [`Store::enqueue`]d jobs), joins the writer thread and closes the
    /// idle read connections. Idempotent; afterwards `write`, `read`, `ping`
    /// and `backup_to` return [`StoreError::Closed`].
    pub async fn shutdown(&self) -> Result<(), StoreError> {
        let idle_readers = self.inner.reads.close();
        let writer_stopped = self.inner.writer.shutdown().await;
        let inner = self.inner.clone();
        if let Err(error) = tokio::task::spawn_blocking(move || inner.checkpointer.stop()).await {
            tracing::warn!(%error, "could not stop the checkpointer cleanly");
        }
        if !idle_readers.is_empty() {
            // Closing may checkpoint the WAL: file I/O, so off the runtime.
            if let Err(error) = tokio::task::spawn_blocking(move || drop(idle_readers)).await {
                tracing::warn!(%error, "could not close the read connections cleanly");
            }
        }
        if writer_stopped.is_ok() {
            tracing::info!(path = %self.inner.path.display(), "store shut down");
        }
        writer_stopped
    }
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .field("schema_version", &self.inner.schema_version)
            .finish_non_exhaustive()
    }
}
