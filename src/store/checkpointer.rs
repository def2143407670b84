//! Moves the WAL's pages into the database file off the write path. SQLite would otherwise
//! checkpoint inside whichever commit crosses its threshold, and that commit's caller would
//! wait for the copy and the file's fsync (milliseconds, where a commit takes microseconds).
//! Here the writer's automatic checkpoints are off and a thread of its own, on its own
//! connection, runs PASSIVE checkpoints, which never block the writer or the readers. It
//! must not write rows.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use super::StoreError;
use super::connections;

/// How often the WAL is checked: short enough that it stays small under steady writes.
const INTERVAL: Duration = Duration::from_millis(200);

pub(crate) struct Checkpointer {
    stop: Arc<AtomicBool>,
    thread: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Checkpointer {
    pub(crate) fn start(path: &Path) -> Result<Checkpointer, StoreError> {
        let connection = connections::open_read_write(path)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::Builder::new()
            .name("consilium-checkpointer".into())
            .spawn(move || {
                while !stopping.load(Ordering::Acquire) {
                    std::thread::park_timeout(INTERVAL);
                    // PASSIVE copies what no reader still needs and returns at once if the
                    // writer is busy; the next round picks up the rest.
                    if let Err(error) =
                        connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    {
                        tracing::warn!(%error, "a WAL checkpoint failed; the next one will retry");
                    }
                }
            })
            .map_err(|source| StoreError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Checkpointer {
            stop,
            thread: std::sync::Mutex::new(Some(thread)),
        })
    }

    /// Stops the thread after its current round and waits for it. Blocking.
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        let handle = self
            .thread
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(handle) = handle {
            handle.thread().unpark();
            if handle.join().is_err() {
                tracing::warn!("the checkpointer thread panicked");
            }
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}
