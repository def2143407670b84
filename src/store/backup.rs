//! Online backup: copies the live database into a new owner-only file with
//! SQLite's backup API, from a read connection, while writes go on.
//!
//! It must never overwrite an existing file (a mistyped path must not
//! destroy another database) and must not leave a half-written copy behind.
//! It runs on a blocking thread, lent a connection by the read pool.

use std::path::Path;
use std::time::Duration;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::{StoreError, files};

/// How long to wait between attempts when a lock is in the way, and how
/// many attempts to make before giving up (about five seconds in all).
const BUSY_PAUSE: Duration = Duration::from_millis(50);
const BUSY_ATTEMPTS: u32 = 100;

/// Copies the database behind `source` into `destination`, which must not
/// exist yet; missing parent folders are created owner-only.
pub(crate) fn copy_database(source: &Connection, destination: &Path) -> Result<(), StoreError> {
    files::create_parent_folders(destination)?;
    files::create_private_file(destination)?;
    let copied = copy_into(source, destination);
    if copied.is_err() {
        files::remove_quietly(destination);
    }
    copied
}

fn copy_into(source: &Connection, destination: &Path) -> Result<(), StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut target = Connection::open_with_flags(destination, flags)?;
    {
        let backup = Backup::new(source, &mut target)?;
        copy_all_pages(&backup)?;
    }
    // Closed explicitly so a failure to flush the copy is reported, not lost
    // in a drop.
    target
        .close()
        .map_err(|(_, error)| StoreError::Sqlite(error))
}

/// Copies every page in one step: a single read transaction gives a
/// consistent snapshot, whereas page-by-page steps would restart whenever
/// the writer commits.
fn copy_all_pages(backup: &Backup<'_, '_>) -> Result<(), StoreError> {
    for _ in 0..BUSY_ATTEMPTS {
        match backup.step(-1)? {
            StepResult::Done => return Ok(()),
            StepResult::More => continue,
            _ => std::thread::sleep(BUSY_PAUSE),
        }
    }
    Err(StoreError::Sqlite(rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
        Some("the backup could not get its locks in time".to_owned()),
    )))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{count_notes, insert_note, scratch_store};
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn backup_produces_a_database_with_the_same_rows() {
        let (dir, store) = scratch_store().await;
        for n in 0..100 {
            insert_note(&store, &format!("note {n}")).await.unwrap();
        }
        let destination = dir.path().join("backups").join("copy.sqlite");
        store.backup_to(&destination).await.unwrap();

        let copy = Connection::open(&destination).unwrap();
        let notes: i64 = copy
            .query_row("SELECT COUNT(*) FROM notes", [], |row| row.get(0))
            .unwrap();
        assert_eq!(notes, 100);
        assert_eq!(count_notes(&store).await, 100);
        let copied_version: u32 = copy
            .query_row("SELECT MAX(version) FROM schema_migrations", [], |row| {
                row.get(0)
            })
            .unwrap();
        assert_eq!(copied_version, store.schema_version());
        let integrity: String = copy
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .unwrap();
        assert_eq!(integrity, "ok");
        drop(copy);
        let left_in_folder: Vec<_> = std::fs::read_dir(destination.parent().unwrap())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(left_in_folder, ["copy.sqlite"]);

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&destination)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        store.shutdown().await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn backup_refuses_to_overwrite_an_existing_file() {
        let (dir, store) = scratch_store().await;
        let destination = dir.path().join("taken.sqlite");
        std::fs::write(&destination, b"someone else's data").unwrap();

        let error = store.backup_to(&destination).await.unwrap_err();
        assert!(
            matches!(&error, StoreError::Io { source, .. } if source.kind() == std::io::ErrorKind::AlreadyExists),
            "{error:?}"
        );
        assert_eq!(std::fs::read(&destination).unwrap(), b"someone else's data");
        store.shutdown().await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn backup_runs_while_writes_go_on() {
        let (dir, store) = scratch_store().await;
        let writer_store = store.clone();
        let writes = tokio::spawn(async move {
            for n in 0..300 {
                insert_note(&writer_store, &format!("busy {n}"))
                    .await
                    .unwrap();
            }
        });
        let destination = dir.path().join("during-writes.sqlite");
        store.backup_to(&destination).await.unwrap();
        writes.await.unwrap();

        let copy = Connection::open(&destination).unwrap();
        let notes: i64 = copy
            .query_row("SELECT COUNT(*) FROM notes", [], |row| row.get(0))
            .unwrap();
        assert!((0..=300).contains(&notes));
        store.shutdown().await.unwrap();
    }
}
