//! The store's single error type, shared by every store operation and by the
//! write and read closures other modules hand to the store.
//!
//! It only describes what went wrong; deciding what to tell a client (or
//! whether to retry) belongs to the callers. Messages never carry row
//! contents, because they end up in logs.

use std::path::PathBuf;
use std::sync::Arc;

/// Everything that can go wrong while opening, writing, reading or backing
/// up the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file or folder around the database could not be created or opened.
    #[error("cannot use {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// SQLite refused a statement of a single job or of the store itself.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),

    /// The database was written by a newer build; it is left untouched.
    #[error(
        "database schema version {found} is newer than this build supports ({supported}); upgrade consilium or open another database"
    )]
    TooNew { found: u32, supported: u32 },

    /// A migration's SQL (or its record row) failed; its transaction was
    /// rolled back, so the database stays at the previous version.
    #[error("migration {version} ({name}) failed: {source}")]
    MigrationFailed {
        version: u32,
        name: &'static str,
        #[source]
        source: rusqlite::Error,
    },

    /// The store was shut down; nothing more is accepted.
    #[error("the store is shut down")]
    Closed,

    /// The writer thread ended without answering, which only happens if the
    /// store itself is broken (never because of a job's own failure).
    #[error("the store's writer thread stopped unexpectedly")]
    WriterGone,

    /// The operating system would not start the writer thread.
    #[error("cannot start the store's writer thread: {0}")]
    WriterThread(#[source] std::io::Error),

    /// The batch this write rode in could not be committed (or its
    /// transaction broke), so none of the batch was saved, this write
    /// included. The cause is shared by every job of the batch.
    #[error("the write batch was rolled back, so this write was not saved: {source}")]
    BatchFailed {
        #[source]
        source: Arc<rusqlite::Error>,
    },

    /// A job closure panicked. Its changes were rolled back; the store
    /// itself carries on.
    #[error("a store job panicked; its changes were discarded")]
    Panicked,

    /// A write closure refused its own input (a domain validation failure).
    /// Returning it rolls back only that closure's changes; the text is
    /// passed back to the caller unchanged.
    #[error("{0}")]
    Rejected(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_can_cross_threads_and_tasks() {
        fn assert_send_sync_static<T: Send + Sync + 'static>() {}
        assert_send_sync_static::<StoreError>();
    }

    #[test]
    fn too_new_names_both_versions_and_the_way_out() {
        let message = StoreError::TooNew {
            found: 7,
            supported: 3,
        }
        .to_string();
        assert_eq!(
            message,
            "database schema version 7 is newer than this build supports (3); upgrade consilium or open another database"
        );
    }

    #[test]
    fn rejected_passes_the_domain_message_through_unchanged() {
        let message = StoreError::Rejected("title must not be empty".to_owned()).to_string();
        assert_eq!(message, "title must not be empty");
    }
}
