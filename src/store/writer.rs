//! The group-committing writer: one dedicated thread that owns the only
//! read-write connection and turns queued write jobs into as few
//! transactions as it can.
//!
//! Each job runs inside its own savepoint of the batch's transaction, so a
//! job that fails or panics loses only its own changes; jobs hear their
//! result only once the whole batch is durable. This file must not know
//! what the jobs write, and its thread must never be an async runtime
//! thread (the jobs block on SQLite).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::oneshot;

use super::StoreError;

/// Batches stay small at first so the first job is never kept waiting.
const INITIAL_BATCH_CAPACITY: usize = 64;

/// A unit of work for the writer thread.
pub(crate) trait WriteJob: Send {
    /// Runs the job's closure inside its savepoint, keeping any value it
    /// produced until [`WriteJob::finish`].
    fn run(&mut self, transaction: &Transaction<'_>) -> Result<(), StoreError>;

    /// Called exactly once, after the batch's fate is known: `Ok` only when
    /// the job succeeded and its batch committed.
    fn finish(self: Box<Self>, outcome: Result<(), StoreError>);
}

/// A job whose caller awaits its value.
pub(crate) struct AwaitedJob<T, F> {
    work: Option<F>,
    value: Option<T>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> AwaitedJob<T, F> {
    pub(crate) fn new(work: F) -> (Self, oneshot::Receiver<Result<T, StoreError>>) {
        let (reply, answer) = oneshot::channel();
        let job = Self {
            work: Some(work),
            value: None,
            reply,
        };
        (job, answer)
    }
}

impl<T, F> WriteJob for AwaitedJob<T, F>
where
    F: FnOnce(&Transaction<'_>) -> Result<T, StoreError> + Send,
    T: Send,
{
    fn run(&mut self, transaction: &Transaction<'_>) -> Result<(), StoreError> {
        // The writer runs a job once; a second run would be a writer bug,
        // reported as such instead of panicking.
        let Some(work) = self.work.take() else {
            return Err(StoreError::WriterGone);
        };
        self.value = Some(work(transaction)?);
        Ok(())
    }

    fn finish(self: Box<Self>, outcome: Result<(), StoreError>) {
        let Self { value, reply, .. } = *self;
        let answer = match (outcome, value) {
            (Ok(()), Some(value)) => Ok(value),
            (Ok(()), None) => Err(StoreError::WriterGone),
            (Err(error), _) => Err(error),
        };
        // The caller may have stopped waiting; the write stands either way.
        let _ = reply.send(answer);
    }
}

/// A fire-and-forget job: nobody waits, so failures can only be logged.
pub(crate) struct QueuedJob<F> {
    work: Option<F>,
}

impl<F> QueuedJob<F> {
    pub(crate) fn new(work: F) -> Self {
        Self { work: Some(work) }
    }
}

impl<F> WriteJob for QueuedJob<F>
where
    F: FnOnce(&Transaction<'_>) -> Result<(), StoreError> + Send,
{
    fn run(&mut self, transaction: &Transaction<'_>) -> Result<(), StoreError> {
        match self.work.take() {
            Some(work) => work(transaction),
            None => Err(StoreError::WriterGone),
        }
    }

    fn finish(self: Box<Self>, outcome: Result<(), StoreError>) {
        if let Err(error) = outcome {
            // The error only: the row itself may hold health data.
            tracing::warn!(%error, "a queued write failed and was dropped");
        }
    }
}

/// Counters shared with the writer thread.
#[derive(Debug, Default)]
struct WriterCounters {
    /// Jobs sent but not yet taken by the writer thread.
    queued: AtomicUsize,
    committed_batches: AtomicU64,
}

/// The async side's handle on the writer thread.
pub(crate) struct Writer {
    /// The only sender: dropping it is how shutdown tells the thread to
    /// finish the queue and stop.
    sender: Mutex<Option<Sender<Box<dyn WriteJob>>>>,
    /// An async mutex, so a second `shutdown` waits for the first to finish
    /// joining instead of returning while the queue still drains.
    thread: tokio::sync::Mutex<Option<JoinHandle<()>>>,
    counters: Arc<WriterCounters>,
}

impl Writer {
    /// Starts the writer thread, handing it the read-write connection.
    pub(crate) fn start(connection: Connection, max_batch: usize) -> Result<Self, StoreError> {
        let (sender, receiver) = channel();
        let counters = Arc::new(WriterCounters::default());
        let thread_counters = Arc::clone(&counters);
        let max_batch = max_batch.max(1);
        let thread = std::thread::Builder::new()
            .name("consilium-store-writer".to_owned())
            .spawn(move || run_writer(connection, &receiver, max_batch, &thread_counters))
            .map_err(StoreError::WriterThread)?;
        Ok(Self {
            sender: Mutex::new(Some(sender)),
            thread: tokio::sync::Mutex::new(Some(thread)),
            counters,
        })
    }

    /// Queues a job; never blocks (the queue is unbounded).
    pub(crate) fn submit(&self, job: Box<dyn WriteJob>) -> Result<(), StoreError> {
        let sender = self.sender.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(sender) = sender.as_ref() else {
            return Err(StoreError::Closed);
        };
        self.counters.queued.fetch_add(1, Ordering::Relaxed);
        sender.send(job).map_err(|_| {
            self.counters.queued.fetch_sub(1, Ordering::Relaxed);
            StoreError::WriterGone
        })
    }

    /// Stops accepting jobs, lets the thread commit everything already
    /// queued, and joins it. Safe to call again: later calls return once the
    /// first has finished.
    pub(crate) async fn shutdown(&self) -> Result<(), StoreError> {
        let mut thread = self.thread.lock().await;
        drop(
            self.sender
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        let Some(handle) = thread.take() else {
            return Ok(());
        };
        // If this future is dropped, the blocking join still runs to the
        // end: the queue is drained even when nobody waits for it.
        match tokio::task::spawn_blocking(move || handle.join()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) | Err(_) => Err(StoreError::WriterGone),
        }
    }

    #[cfg(test)]
    pub(crate) fn queued_jobs(&self) -> usize {
        self.counters.queued.load(Ordering::Relaxed)
    }

    #[cfg(test)]
    pub(crate) fn committed_batches(&self) -> u64 {
        self.counters.committed_batches.load(Ordering::Relaxed)
    }
}

/// The writer thread's loop: block for one job, take whatever else is
/// already waiting, commit them together. Ends when every sender is gone and
/// the queue is empty; the connection then closes here, off the runtime.
fn run_writer(
    mut connection: Connection,
    jobs: &Receiver<Box<dyn WriteJob>>,
    max_batch: usize,
    counters: &WriterCounters,
) {
    while let Ok(first) = jobs.recv() {
        let mut batch = Vec::with_capacity(max_batch.min(INITIAL_BATCH_CAPACITY));
        batch.push(first);
        while batch.len() < max_batch {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        counters.queued.fetch_sub(batch.len(), Ordering::Relaxed);
        if commit_batch(&mut connection, batch) {
            counters.committed_batches.fetch_add(1, Ordering::Relaxed);
        }
    }
    tracing::debug!("the store writer drained its queue and stopped");
}

/// Runs one batch in one transaction and answers every job. Returns whether
/// the batch committed.
fn commit_batch(connection: &mut Connection, batch: Vec<Box<dyn WriteJob>>) -> bool {
    // A transaction left open by an earlier failure would make every later
    // BEGIN fail; clear it so one bad batch cannot stall the writer.
    if !connection.is_autocommit()
        && let Err(error) = connection.execute_batch("ROLLBACK")
    {
        tracing::warn!(%error, "could not roll back a leftover transaction");
    }
    let transaction = match connection.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(transaction) => transaction,
        Err(error) => {
            answer_failed_batch(Vec::new(), batch, error);
            return false;
        }
    };
    let mut ran = Vec::with_capacity(batch.len());
    let mut waiting = batch.into_iter();
    while let Some(mut job) = waiting.next() {
        match run_in_savepoint(&transaction, job.as_mut()) {
            Ok(outcome) => ran.push((job, outcome)),
            Err(cause) => {
                drop(transaction);
                ran.push((job, Ok(())));
                answer_failed_batch(ran, waiting.collect(), cause);
                return false;
            }
        }
    }
    match transaction.commit() {
        Ok(()) => {
            for (job, outcome) in ran {
                job.finish(outcome);
            }
            true
        }
        Err(cause) => {
            answer_failed_batch(ran, Vec::new(), cause);
            false
        }
    }
}

const SAVEPOINT: &str = "SAVEPOINT consilium_job";
const RELEASE: &str = "RELEASE consilium_job";
const ROLL_BACK: &str = "ROLLBACK TO consilium_job; RELEASE consilium_job";

/// Runs one job in its own savepoint. The outer `Err` means the batch's
/// transaction itself is broken; the inner result is the job's own outcome.
fn run_in_savepoint(
    transaction: &Transaction<'_>,
    job: &mut dyn WriteJob,
) -> Result<Result<(), StoreError>, rusqlite::Error> {
    transaction.execute_batch(SAVEPOINT)?;
    // AssertUnwindSafe: after a panic the job is only dropped, never run
    // again, and its half-done SQL is rolled back just below.
    let outcome = catch_unwind(AssertUnwindSafe(|| job.run(transaction)))
        .unwrap_or(Err(StoreError::Panicked));
    if transaction.is_autocommit() {
        // SQLite rolled the whole transaction back (e.g. disk full), or the
        // job ended it itself; either way the batch is lost.
        return Err(match outcome {
            Err(StoreError::Sqlite(error)) => error,
            _ => transaction_ended_by_job(),
        });
    }
    match outcome {
        Ok(()) => transaction.execute_batch(RELEASE)?,
        Err(_) => transaction.execute_batch(ROLL_BACK)?,
    }
    Ok(outcome)
}

fn transaction_ended_by_job() -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_MISUSE),
        Some("a write job ended the store's batch transaction itself".to_owned()),
    )
}

/// Answers every job of a batch that was not committed. Jobs that had
/// already failed on their own keep their own error, the truer reason; the
/// others get the shared cause.
fn answer_failed_batch(
    ran: Vec<(Box<dyn WriteJob>, Result<(), StoreError>)>,
    not_run: Vec<Box<dyn WriteJob>>,
    cause: rusqlite::Error,
) {
    tracing::warn!(error = %cause, jobs = ran.len() + not_run.len(), "a write batch was rolled back");
    let cause = Arc::new(cause);
    let batch_failed = || StoreError::BatchFailed {
        source: Arc::clone(&cause),
    };
    for (job, outcome) in ran {
        job.finish(Err(outcome.err().unwrap_or_else(batch_failed)));
    }
    for job in not_run {
        job.finish(Err(batch_failed()));
    }
}

#[cfg(test)]
mod tests;
