//! Tests of the group-committing writer: batching, savepoint isolation,
//! panics, failed commits and draining at shutdown. Test-only.

use super::super::test_support::{
    HeldWriter, count_notes, insert_note, note_exists, scratch_store, scratch_store_with,
    spawn_insert, wait_for_queued,
};
use super::super::{StoreError, StoreOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_job_does_not_roll_back_its_batch_mates() {
    let (_dir, store) = scratch_store().await;
    let held = HeldWriter::hold(&store).await;
    let batches_before = store.inner.writer.committed_batches();

    let first = spawn_insert(&store, "first".to_owned());
    wait_for_queued(&store, 1).await;
    let refused = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .write(|tx| {
                    tx.execute("INSERT INTO notes (body) VALUES ('refused')", [])?;
                    Err::<(), _>(StoreError::Rejected("the note is not allowed".to_owned()))
                })
                .await
        })
    };
    wait_for_queued(&store, 2).await;
    let last = spawn_insert(&store, "last".to_owned());
    wait_for_queued(&store, 3).await;
    held.release().await;

    assert!(first.await.unwrap().is_ok());
    assert!(last.await.unwrap().is_ok());
    let error = refused.await.unwrap().unwrap_err();
    assert_eq!(error.to_string(), "the note is not allowed");
    assert!(note_exists(&store, "first").await);
    assert!(note_exists(&store, "last").await);
    assert!(!note_exists(&store, "refused").await);
    // The held job's batch, then one batch for all three.
    assert_eq!(store.inner.writer.committed_batches(), batches_before + 2);
    store.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_error_in_one_job_is_that_jobs_own() {
    let (_dir, store) = scratch_store().await;
    insert_note(&store, "taken").await.unwrap();
    let held = HeldWriter::hold(&store).await;
    let duplicate = spawn_insert(&store, "taken".to_owned());
    let fresh = spawn_insert(&store, "fresh".to_owned());
    wait_for_queued(&store, 2).await;
    held.release().await;

    assert!(matches!(
        duplicate.await.unwrap(),
        Err(StoreError::Sqlite(_))
    ));
    assert!(fresh.await.unwrap().is_ok());
    assert_eq!(count_notes(&store).await, 2);
    store.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_job_is_answered_with_an_error_and_the_writer_lives_on() {
    let (_dir, store) = scratch_store().await;
    let held = HeldWriter::hold(&store).await;
    let before = spawn_insert(&store, "before".to_owned());
    wait_for_queued(&store, 1).await;
    let panicking = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .write(|tx| {
                    tx.execute("INSERT INTO notes (body) VALUES ('half written')", [])?;
                    panic!("a bug in a write closure");
                    #[allow(unreachable_code)]
                    Ok(())
                })
                .await
        })
    };
    wait_for_queued(&store, 2).await;
    let after = spawn_insert(&store, "after".to_owned());
    wait_for_queued(&store, 3).await;
    held.release().await;

    assert!(matches!(
        panicking.await.unwrap(),
        Err(StoreError::Panicked)
    ));
    assert!(before.await.unwrap().is_ok());
    assert!(after.await.unwrap().is_ok());
    assert!(!note_exists(&store, "half written").await);
    insert_note(&store, "later").await.unwrap();
    assert_eq!(count_notes(&store).await, 3);
    store.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_commit_answers_every_job_of_the_batch_with_the_error() {
    let (_dir, store) = scratch_store().await;
    // A deferred foreign key is checked only at COMMIT: the one way to make
    // a commit fail on purpose.
    store
        .write(|tx| {
            tx.execute_batch(
                "CREATE TABLE parents (id INTEGER PRIMARY KEY);
                 CREATE TABLE children (parent_id INTEGER NOT NULL
                     REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED);",
            )?;
            Ok(())
        })
        .await
        .unwrap();
    let held = HeldWriter::hold(&store).await;
    let innocent = spawn_insert(&store, "innocent".to_owned());
    wait_for_queued(&store, 1).await;
    let orphan = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .write(|tx| {
                    tx.execute("INSERT INTO children (parent_id) VALUES (42)", [])?;
                    Ok(())
                })
                .await
        })
    };
    wait_for_queued(&store, 2).await;
    held.release().await;

    assert!(matches!(
        innocent.await.unwrap(),
        Err(StoreError::BatchFailed { .. })
    ));
    assert!(matches!(
        orphan.await.unwrap(),
        Err(StoreError::BatchFailed { .. })
    ));
    assert!(!note_exists(&store, "innocent").await);
    insert_note(&store, "the next batch commits").await.unwrap();
    assert_eq!(count_notes(&store).await, 1);
    store.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_ends_the_transaction_fails_its_batch_without_stalling_the_writer() {
    let (_dir, store) = scratch_store().await;
    let outcome = store
        .write(|tx| {
            tx.execute_batch("ROLLBACK")?;
            Ok(())
        })
        .await;
    assert!(
        matches!(outcome, Err(StoreError::BatchFailed { .. })),
        "{outcome:?}"
    );
    insert_note(&store, "still writing").await.unwrap();
    assert_eq!(count_notes(&store).await, 1);
    store.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_many_concurrent_writes_in_fewer_transactions() {
    const WRITES: usize = 2_000;
    let max_batch = 256;
    let (_dir, store) = scratch_store_with(StoreOptions {
        max_batch,
        ..StoreOptions::default()
    })
    .await;
    let held = HeldWriter::hold(&store).await;
    let batches_before = store.inner.writer.committed_batches();

    let writes: Vec<_> = (0..WRITES)
        .map(|n| spawn_insert(&store, format!("concurrent {n}")))
        .collect();
    wait_for_queued(&store, WRITES).await;
    held.release().await;
    for write in writes {
        write.await.unwrap().unwrap();
    }

    assert_eq!(count_notes(&store).await, i64::try_from(WRITES).unwrap());
    let batches = store.inner.writer.committed_batches() - batches_before;
    let expected = 1 + WRITES.div_ceil(max_batch);
    assert_eq!(batches, u64::try_from(expected).unwrap());
    store.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unheld_concurrent_writes_all_land() {
    let (_dir, store) = scratch_store().await;
    let writes: Vec<_> = (0..500)
        .map(|n| spawn_insert(&store, format!("free {n}")))
        .collect();
    for write in writes {
        write.await.unwrap().unwrap();
    }
    assert_eq!(count_notes(&store).await, 500);
    store.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enqueued_rows_are_flushed_by_shutdown() {
    let (_dir, store) = scratch_store().await;
    for n in 0..500 {
        let body = format!("metered {n}");
        store.enqueue(move |tx| {
            tx.execute("INSERT INTO notes (body) VALUES (?1)", [&body])?;
            Ok(())
        });
    }
    // A failing queued job is only logged; it must not cost the others.
    store.enqueue(|_| Err(StoreError::Rejected("dropped on purpose".to_owned())));
    store.shutdown().await.unwrap();

    let connection = rusqlite::Connection::open(store.path()).unwrap();
    let notes: i64 = connection
        .query_row("SELECT COUNT(*) FROM notes", [], |row| row.get(0))
        .unwrap();
    assert_eq!(notes, 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_returns_its_closures_value_after_commit() {
    let (_dir, store) = scratch_store().await;
    let id = insert_note(&store, "returned").await.unwrap();
    let body: String = store
        .read(move |conn| {
            Ok(
                conn.query_row("SELECT body FROM notes WHERE id = ?1", [id], |row| {
                    row.get(0)
                })?,
            )
        })
        .await
        .unwrap();
    assert_eq!(body, "returned");
    store.shutdown().await.unwrap();
}
