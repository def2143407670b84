//! Tests of the store as a whole: opening, files and permissions,
//! migrations across builds, and shutdown. Test-only.

use std::path::Path;

use rusqlite::Connection;
use tempfile::TempDir;

use super::migrations::{MIGRATIONS, Migration, latest_version};
use super::test_support::{count_notes, insert_note, scratch_store};
use super::{Store, StoreError, StoreOptions};

async fn open(path: &Path) -> Result<Store, StoreError> {
    open_with(path, MIGRATIONS.to_vec()).await
}

async fn open_with(path: &Path, migrations: Vec<Migration>) -> Result<Store, StoreError> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        Store::open_with_migrations(&path, StoreOptions::default(), &migrations)
    })
    .await
    .unwrap()
}

fn recorded_versions(path: &Path) -> Vec<u32> {
    let connection = Connection::open(path).unwrap();
    let mut statement = connection
        .prepare("SELECT version FROM schema_migrations ORDER BY version")
        .unwrap();
    statement
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[cfg(unix)]
fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_the_database_file_with_mode_0600_and_its_folders() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("state").join("db").join("consilium.sqlite");
    let store = open(&path).await.unwrap();
    store.write(|_| Ok(())).await.unwrap();

    assert_eq!(mode_of(&path), 0o600);
    assert_eq!(mode_of(&dir.path().join("state")), 0o700);
    assert_eq!(mode_of(&dir.path().join("state").join("db")), 0o700);
    for suffix in ["-wal", "-shm"] {
        let companion = path.with_file_name(format!("consilium.sqlite{suffix}"));
        assert_eq!(mode_of(&companion), 0o600, "{suffix}");
    }
    store.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_every_migration_once_and_reopens_idempotently() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("consilium.sqlite");
    let created_at = |path: &Path| -> String {
        Connection::open(path)
            .unwrap()
            .query_row(
                "SELECT value FROM server_meta WHERE key = 'created_at'",
                [],
                |row| row.get(0),
            )
            .unwrap()
    };

    let first = open(&path).await.unwrap();
    assert_eq!(first.schema_version(), Store::latest_schema_version());
    first.shutdown().await.unwrap();
    let stamped = created_at(&path);

    let second = open(&path).await.unwrap();
    assert_eq!(second.schema_version(), Store::latest_schema_version());
    second.shutdown().await.unwrap();

    let expected: Vec<u32> = MIGRATIONS.iter().map(|m| m.version).collect();
    assert_eq!(recorded_versions(&path), expected);
    assert_eq!(created_at(&path), stamped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opens_a_database_written_with_fewer_migrations() {
    let known = latest_version(MIGRATIONS);
    let mut older = MIGRATIONS.to_vec();
    older.push(Migration {
        version: known + 1,
        name: "add_journal",
        sql: "CREATE TABLE journal (entry TEXT NOT NULL);",
    });
    let mut newer = older.clone();
    newer.push(Migration {
        version: known + 2,
        name: "add_journal_author",
        sql: "ALTER TABLE journal ADD COLUMN author TEXT NOT NULL DEFAULT 'unknown';",
    });
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("consilium.sqlite");

    let old_build = open_with(&path, older).await.unwrap();
    assert_eq!(old_build.schema_version(), known + 1);
    old_build
        .write(|tx| {
            tx.execute(
                "INSERT INTO journal (entry) VALUES ('written by the old build')",
                [],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    old_build.shutdown().await.unwrap();

    let new_build = open_with(&path, newer).await.unwrap();
    assert_eq!(new_build.schema_version(), known + 2);
    let row: (String, String) = new_build
        .read(|conn| {
            Ok(
                conn.query_row("SELECT entry, author FROM journal", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?,
            )
        })
        .await
        .unwrap();
    assert_eq!(
        row,
        ("written by the old build".to_owned(), "unknown".to_owned())
    );
    new_build.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opens_a_database_left_by_every_earlier_release() {
    for applied in 0..MIGRATIONS.len() {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("consilium.sqlite");
        let old_build = open_with(&path, MIGRATIONS[..applied].to_vec())
            .await
            .unwrap();
        old_build.shutdown().await.unwrap();

        let store = open(&path).await.unwrap();
        assert_eq!(store.schema_version(), Store::latest_schema_version());
        store.shutdown().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_a_database_newer_than_this_build() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("consilium.sqlite");
    open(&path).await.unwrap().shutdown().await.unwrap();
    {
        let connection = Connection::open(&path).unwrap();
        connection
            .execute(
                "INSERT INTO schema_migrations VALUES (999, 'from_the_future', '2100-01-01T00:00:00Z')",
                [],
            )
            .unwrap();
    }
    let before = std::fs::read(&path).unwrap();

    let error = open(&path).await.unwrap_err();
    assert!(
        matches!(error, StoreError::TooNew { found: 999, supported } if supported == Store::latest_schema_version()),
        "{error:?}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_connection_runs_with_wal_foreign_keys_and_a_busy_timeout() {
    fn settings(conn: &Connection) -> Result<(String, i64, i64, i64), StoreError> {
        let pragma =
            |name: &str| conn.query_row(&format!("PRAGMA {name}"), [], |row| row.get::<_, i64>(0));
        let mode = conn.query_row("PRAGMA journal_mode", [], |row| row.get(0))?;
        Ok((
            mode,
            pragma("foreign_keys")?,
            pragma("busy_timeout")?,
            pragma("synchronous")?,
        ))
    }
    let (_dir, store) = scratch_store().await;
    // synchronous = NORMAL is 1.
    let expected = ("wal".to_owned(), 1, 5000, 1);
    assert_eq!(store.write(|tx| settings(tx)).await.unwrap(), expected);
    assert_eq!(store.read(settings).await.unwrap(), expected);
    store.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_after_shutdown_report_closed() {
    let (dir, store) = scratch_store().await;
    insert_note(&store, "before").await.unwrap();
    store.shutdown().await.unwrap();
    store.shutdown().await.unwrap();

    assert!(matches!(
        insert_note(&store, "after").await,
        Err(StoreError::Closed)
    ));
    assert!(matches!(
        store.read(|_| Ok(())).await,
        Err(StoreError::Closed)
    ));
    assert!(matches!(store.ping().await, Err(StoreError::Closed)));
    let dest = dir.path().join("late-backup.sqlite");
    assert!(matches!(
        store.backup_to(&dest).await,
        Err(StoreError::Closed)
    ));
    assert!(!dest.exists());
    store.enqueue(|_| Ok(()));

    let reopened = open(store.path()).await.unwrap();
    assert_eq!(count_notes(&reopened).await, 1);
    reopened.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_shutdowns_all_wait_for_the_queue_to_drain() {
    let (_dir, store) = scratch_store().await;
    for n in 0..200 {
        let body = format!("queued {n}");
        store.enqueue(move |tx| {
            tx.execute("INSERT INTO notes (body) VALUES (?1)", [&body])?;
            Ok(())
        });
    }
    let (a, b) = tokio::join!(store.shutdown(), store.shutdown());
    a.unwrap();
    b.unwrap();
    let notes: i64 = Connection::open(store.path())
        .unwrap()
        .query_row("SELECT COUNT(*) FROM notes", [], |row| row.get(0))
        .unwrap();
    assert_eq!(notes, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_answers_on_an_open_store() {
    let (_dir, store) = scratch_store().await;
    store.ping().await.unwrap();
    assert!(format!("{store:?}").contains("schema_version"));
    store.shutdown().await.unwrap();
}
