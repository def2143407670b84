//! Getting usage rows into the store off the request path: rows are
//! buffered in memory and handed to the store's writer as one queued job per
//! batch — when a batch fills up, or every few milliseconds from a small
//! background thread — so the writer inserts a thousand rows per job
//! instead of paying a job, a savepoint and a channel send for each.
//!
//! Pushing never blocks beyond a short mutex and never awaits. Order is
//! kept: batches are queued under the buffer's lock, and the writer runs
//! jobs in order, so a reset lands between the rows before and after it.
//! Nothing here may decide limits or read the tables.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use crate::store::Store;

use super::errors::MeteringError;
use super::tables::{Op, write_ops};

/// Rows per store job: big enough that per-job costs vanish, small enough
/// that one job holds the writer for about a millisecond.
pub const BATCH_ROWS: usize = 1024;

/// How long a row may wait in memory when traffic is too light to fill a
/// batch.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(10);

/// The buffer in front of the store's writer.
pub(crate) struct Recorder {
    store: Store,
    pending: Mutex<Vec<Op>>,
    /// Rows in jobs whose SQL failed since the last [`Recorder::flush`].
    lost_rows: Arc<AtomicU64>,
}

impl Recorder {
    /// Starts a recorder and the background thread that sends its partial
    /// batches. The thread holds only a weak handle and ends once the
    /// recorder is dropped. If the thread cannot start, full batches and
    /// flushes still reach the store.
    pub(crate) fn start(store: Store) -> Arc<Recorder> {
        let recorder = Arc::new(Recorder {
            store,
            pending: Mutex::new(Vec::new()),
            lost_rows: Arc::new(AtomicU64::new(0)),
        });
        let weak = Arc::downgrade(&recorder);
        let started = std::thread::Builder::new()
            .name("consilium-metering".to_owned())
            .spawn(move || send_periodically(&weak));
        if let Err(error) = started {
            tracing::warn!(%error, "metering rows will be sent only in full batches and on flush");
        }
        recorder
    }

    /// Adds one change; sends the batch if it is full. Never waits on the
    /// store.
    pub(crate) fn push(&self, op: Op) {
        let mut pending = self.lock();
        pending.push(op);
        if pending.len() >= BATCH_ROWS {
            self.send(&mut pending);
        }
    }

    /// Sends whatever is buffered as one job.
    pub(crate) fn send_pending(&self) {
        let mut pending = self.lock();
        self.send(&mut pending);
    }

    /// Sends what is buffered and waits until everything sent so far is
    /// committed (or failed). Fails if the store is closed, or if rows were
    /// lost since the last flush.
    pub(crate) async fn flush(&self) -> Result<(), MeteringError> {
        self.sync().await?;
        match self.lost_rows.swap(0, Ordering::Relaxed) {
            0 => Ok(()),
            rows => Err(MeteringError::RowsLost { rows }),
        }
    }

    /// Sends what is buffered and waits until the writer has run it, so a
    /// read afterwards sees it. Lost rows are left for [`Recorder::flush`]
    /// to report.
    pub(crate) async fn sync(&self) -> Result<(), MeteringError> {
        self.send_pending();
        // The writer takes jobs in order: once this write commits, every
        // job queued before it has been run.
        self.store.write(|_| Ok(())).await?;
        Ok(())
    }

    /// Called with the buffer locked, so batches reach the writer in the
    /// order their rows were pushed.
    fn send(&self, pending: &mut Vec<Op>) {
        if pending.is_empty() {
            return;
        }
        let ops = std::mem::take(pending);
        let rows = u64::try_from(ops.len()).unwrap_or(u64::MAX);
        let lost_rows = Arc::clone(&self.lost_rows);
        self.store.enqueue(move |transaction| {
            write_ops(transaction, ops).inspect_err(|_| {
                lost_rows.fetch_add(rows, Ordering::Relaxed);
            })
        });
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Op>> {
        // The buffer is a plain list; a panic elsewhere cannot leave it half-changed.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Recorder {
    /// The last handle going away sends what is left, so dropping the meter
    /// without a flush still queues every row (a flush also waits for them).
    fn drop(&mut self) {
        let mut ops = std::mem::take(
            self.pending
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner),
        );
        self.send(&mut ops);
    }
}

fn send_periodically(recorder: &Weak<Recorder>) {
    loop {
        std::thread::sleep(FLUSH_INTERVAL);
        let Some(recorder) = recorder.upgrade() else {
            return;
        };
        recorder.send_pending();
    }
}
