//! Opens SQLite connections to the store's database with the settings every
//! connection must share.
//!
//! Only the writer thread may hold the read-write connection; everything
//! else gets read-only ones. This file must not run domain queries and must
//! only be called from blocking contexts (never an async worker thread).

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::StoreError;

/// How long a connection waits on a lock held by another before failing.
/// Long enough to ride out a checkpoint or another process's write.
const BUSY_TIMEOUT_MS: u32 = 5000;

/// Opens the read-write connection. Only `busy_timeout` is set here: the
/// journal mode is persistent in the file, so it is switched on only after
/// the schema version check has agreed to touch the database.
pub(crate) fn open_read_write(path: &Path) -> Result<Connection, StoreError> {
    // No SQLITE_OPEN_URI: the path is a file name, never a URI to interpret.
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(path, flags)?;
    connection.pragma_update(None, "busy_timeout", BUSY_TIMEOUT_MS)?;
    Ok(connection)
}

/// Opens a read-only connection for the read pool; the database must
/// already be migrated and in WAL mode.
pub(crate) fn open_read_only(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(path, flags)?;
    apply_shared_pragmas(&connection)?;
    Ok(connection)
}

/// The settings every connection runs with. WAL lets the readers work while
/// the writer commits; NORMAL sync is durable across crashes of the process
/// in WAL mode and only risks the last commits on power loss.
pub(crate) fn apply_shared_pragmas(connection: &Connection) -> Result<(), StoreError> {
    connection.pragma_update(None, "busy_timeout", BUSY_TIMEOUT_MS)?;
    let mode: String =
        connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        // Some file systems (network mounts) cannot do WAL; SQLite keeps the
        // old mode and still works, only with readers and writer serialised.
        tracing::warn!(journal_mode = %mode, "the database could not switch to WAL mode");
    }
    connection.pragma_update(None, "foreign_keys", "ON")?;
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(())
}
