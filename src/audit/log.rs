//! [`AuditLog`]: the handle the rest of the server records through. It
//! appends entries via the store's writer, writes a signed checkpoint every
//! N entries, and answers admin queries.
//!
//! It must not run SQLite or file I/O on an async thread (appends go to the
//! store's writer thread, checkpoint files to `spawn_blocking`), and never
//! logs an entry's contents. It does not decide where the signing key or the
//! checkpoint file come from: both are given to [`AuditLog::new`].

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use ed25519_dalek::{SigningKey, VerifyingKey};

use super::checkpoint::{self, Checkpoint, key_id};
use super::format::now_rfc3339;
use super::query::{self, AuditFilter, StoredAuditEntry};
use super::{AuditEntry, AuditError, chain};
use crate::store::Store;

/// How many entries may follow the last checkpoint before the next one is
/// written, unless configured otherwise.
pub const DEFAULT_CHECKPOINT_EVERY: u64 = 100;

/// What [`AuditLog::new`] needs besides the store.
pub struct AuditLogConfig {
    /// Where signed checkpoints are appended. It must live outside the
    /// database (ideally on another disk or shipped off the host), or a
    /// rewrite of the database could rewrite it too.
    pub checkpoint_file: PathBuf,
    /// Signs the checkpoints. Whoever holds it can forge them, so it must
    /// not be stored in the clear next to the database.
    pub signing_key: SigningKey,
    /// Entries between automatic checkpoints (0 is taken as 1).
    pub checkpoint_every: u64,
}

impl AuditLogConfig {
    /// A configuration checkpointing every [`DEFAULT_CHECKPOINT_EVERY`]
    /// entries.
    pub fn new(checkpoint_file: impl Into<PathBuf>, signing_key: SigningKey) -> Self {
        Self {
            checkpoint_file: checkpoint_file.into(),
            signing_key,
            checkpoint_every: DEFAULT_CHECKPOINT_EVERY,
        }
    }
}

impl fmt::Debug for AuditLogConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key id only: the signing key itself must never reach a log.
        f.debug_struct("AuditLogConfig")
            .field("checkpoint_file", &self.checkpoint_file)
            .field("key_id", &key_id(&self.signing_key.verifying_key()))
            .field("checkpoint_every", &self.checkpoint_every)
            .finish()
    }
}

/// The append-only, hash-chained audit log. Cheap to clone; every clone is
/// the same log.
#[derive(Clone)]
pub struct AuditLog {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    checkpoint_file: PathBuf,
    /// Shared with the blocking task that signs and writes each checkpoint.
    signing_key: Arc<SigningKey>,
    checkpoint_every: u64,
    /// The seq of the newest checkpoint this process wrote. Starts at 0, so
    /// a restarted server checkpoints soon after its first records.
    anchored_seq: AtomicU64,
    /// Serialises checkpoints, so lines in the file only move forward.
    checkpointing: tokio::sync::Mutex<()>,
    /// Set while a background checkpoint for detached records is pending,
    /// so a burst of them schedules one task rather than one each.
    detached_checkpoint_pending: AtomicBool,
    /// Whether this process appended anything. A process that only read the log (a CLI
    /// `verify`) must not sign its tail: after a truncation that would vouch for the cut.
    recorded: AtomicBool,
}

impl AuditLog {
    /// An audit log over `store`'s `audit_log` table. Touches nothing until
    /// the first record or checkpoint.
    pub fn new(store: Store, config: AuditLogConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                checkpoint_file: config.checkpoint_file,
                signing_key: Arc::new(config.signing_key),
                checkpoint_every: config.checkpoint_every.max(1),
                anchored_seq: AtomicU64::new(0),
                checkpointing: tokio::sync::Mutex::new(()),
                detached_checkpoint_pending: AtomicBool::new(false),
                recorded: AtomicBool::new(false),
            }),
        }
    }

    /// Appends `entry` and returns its seq once it is committed.
    ///
    /// When the entry is the N-th since the last checkpoint, this call also
    /// writes the next checkpoint before returning. A checkpoint that fails
    /// is logged, not returned: the entry itself is saved, and an error here
    /// would only invite a duplicate retry.
    pub async fn record(&self, entry: AuditEntry) -> Result<u64, AuditError> {
        let entry = entry.prepare()?;
        self.inner.recorded.store(true, Ordering::Release);
        let seq = self
            .inner
            .store
            .write(move |transaction| chain::append(transaction, &entry))
            .await?;
        self.checkpoint_if_due(seq).await;
        Ok(seq)
    }

    /// Queues `entry` for the next write batch and returns at once, for hot
    /// paths that cannot wait for a commit (e.g. a flood of failed logins).
    ///
    /// The trade-off: the entry is checked now (a bad entry is still
    /// refused here), but the caller never learns its seq or whether it was
    /// saved. A failed append is only logged (without the entry's contents),
    /// and the entry is lost if the process dies before the batch commits.
    /// It joins the same chain as [`AuditLog::record`]; when it is due for a
    /// checkpoint, one is written from a background task after its batch
    /// commits (only when called inside a tokio runtime; otherwise the next
    /// `record` or [`AuditLog::checkpoint`] covers it). Anything that must
    /// not be lost — admin actions, key and plan changes — uses `record`.
    pub fn record_detached(&self, entry: AuditEntry) -> Result<(), AuditError> {
        let entry = entry.prepare()?;
        self.inner.recorded.store(true, Ordering::Release);
        let runtime = tokio::runtime::Handle::try_current().ok();
        let log = self.clone();
        self.inner.store.enqueue(move |transaction| {
            let seq = chain::append(transaction, &entry)?;
            if let Some(runtime) = runtime
                && log.is_due(seq)
                && log.claim_detached_checkpoint()
            {
                // Spawning does not block the writer thread; the task waits
                // for this batch to commit before reading the newest hash.
                runtime.spawn(async move {
                    let _release = PendingClaim(&log.inner.detached_checkpoint_pending);
                    log.checkpoint_after_commit(seq).await;
                });
            }
            Ok(())
        });
        Ok(())
    }

    /// Signs the newest entry's (seq, hash) and appends the checkpoint to
    /// the checkpoint file, synced to disk. Call it at shutdown (after the
    /// last record, before the store shuts down) and from the CLI, so the
    /// tail of the log is anchored. On an empty log it signs seq 0 with the
    /// all-zero hash.
    pub async fn checkpoint(&self) -> Result<Checkpoint, AuditError> {
        let _only_checkpoint = self.inner.checkpointing.lock().await;
        self.write_checkpoint().await
    }

    /// [`AuditLog::checkpoint`], but only when this process recorded something: what the
    /// shutdown of a server or a CLI command calls.
    pub async fn checkpoint_if_recorded(&self) -> Result<Option<Checkpoint>, AuditError> {
        if !self.inner.recorded.load(Ordering::Acquire) {
            return Ok(None);
        }
        self.checkpoint().await.map(Some)
    }

    /// Entries matching `filter`, newest first.
    pub async fn query(&self, filter: AuditFilter) -> Result<Vec<StoredAuditEntry>, AuditError> {
        query::run(&self.inner.store, filter).await
    }

    /// The key that verifies this log's checkpoints; pass it (with any
    /// older keys still trusted) to [`verify`](fn@super::verify).
    pub fn verifying_key(&self) -> VerifyingKey {
        self.inner.signing_key.verifying_key()
    }

    /// Where this log appends its checkpoints.
    pub fn checkpoint_file(&self) -> &Path {
        &self.inner.checkpoint_file
    }

    /// True for the one caller that may schedule the next background
    /// checkpoint; it is released when that checkpoint attempt ends.
    fn claim_detached_checkpoint(&self) -> bool {
        self.inner
            .detached_checkpoint_pending
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    fn is_due(&self, seq: u64) -> bool {
        let anchored = self.inner.anchored_seq.load(Ordering::Acquire);
        seq >= anchored.saturating_add(self.inner.checkpoint_every)
    }

    async fn checkpoint_if_due(&self, seq: u64) {
        if !self.is_due(seq) {
            return;
        }
        // A checkpoint already under way anchors this stretch or leaves it
        // to the next record, which checks again; waiting here would only
        // stall callers behind an fsync.
        let Ok(_only_checkpoint) = self.inner.checkpointing.try_lock() else {
            return;
        };
        if !self.is_due(seq) {
            return;
        }
        if let Err(error) = self.write_checkpoint().await {
            tracing::error!(
                %error,
                "could not write an audit checkpoint; recent audit entries stay unanchored until the next one"
            );
        }
    }

    /// For detached records: waits until the batch holding `seq` is over,
    /// then checkpoints if still due.
    async fn checkpoint_after_commit(&self, seq: u64) {
        // The writer runs jobs in order, so an empty write submitted now
        // returns only after the batch that ran the detached append ended.
        if let Err(error) = self.inner.store.write(|_| Ok(())).await {
            tracing::debug!(%error, "skipped an audit checkpoint: the store is not writable");
            return;
        }
        self.checkpoint_if_due(seq).await;
    }

    /// Writes one checkpoint; the caller holds `checkpointing`.
    async fn write_checkpoint(&self) -> Result<Checkpoint, AuditError> {
        // Reads see only committed entries, so a checkpoint never vouches
        // for a row that could still be rolled back.
        let (seq, hash) = self.inner.store.read(chain::latest).await?;
        let signing_key = Arc::clone(&self.inner.signing_key);
        let path = self.inner.checkpoint_file.clone();
        let written = tokio::task::spawn_blocking(move || {
            let checkpoint = Checkpoint::sign(seq, &hash, now_rfc3339(), &signing_key);
            checkpoint::append_to_file(&path, &checkpoint)?;
            Ok::<_, AuditError>(checkpoint)
        })
        .await??;
        self.inner.anchored_seq.fetch_max(seq, Ordering::AcqRel);
        Ok(written)
    }
}

/// Releases the detached-checkpoint claim when the task ends, even if it
/// panics, so later detached records can schedule checkpoints again.
struct PendingClaim<'a>(&'a AtomicBool);

impl Drop for PendingClaim<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLog")
            .field("checkpoint_file", &self.inner.checkpoint_file)
            .field("key_id", &key_id(&self.verifying_key()))
            .field("checkpoint_every", &self.inner.checkpoint_every)
            .finish_non_exhaustive()
    }
}
