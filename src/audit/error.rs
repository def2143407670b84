//! The audit log's error type, shared by recording, checkpointing, querying
//! and verifying.
//!
//! It only says what went wrong. Messages never carry an entry's contents
//! (they end up in logs); tampering found by verification is not an error
//! but a [`Problem`](super::Problem) in the report.

use std::path::PathBuf;

use crate::store::StoreError;

/// Everything that can stop an audit operation from completing.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The entry broke a rule (shape, size or naming); nothing was written.
    /// The text names the rule, never the offending value.
    #[error("audit entry refused: {0}")]
    InvalidEntry(String),

    /// The store could not run the read or write (including an append the
    /// database refused, e.g. because its last entry is malformed).
    #[error("audit store: {0}")]
    Store(#[from] StoreError),

    /// The checkpoint file could not be created, written, synced or read.
    #[error("cannot use the audit checkpoint file {}: {source}", path.display())]
    CheckpointFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A stored entry cannot be read back as an entry (only tampering or
    /// corruption does this; `consilium audit verify` says more).
    #[error("audit entry {seq} cannot be read: {reason}")]
    CorruptEntry { seq: u64, reason: String },

    /// A blocking task (file I/O, signature checks) panicked or was
    /// cancelled because the runtime is shutting down.
    #[error("an audit background task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}
