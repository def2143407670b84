//! The audit log end to end on real stores in temporary folders: recording,
//! checkpoints, queries, and every kind of tampering — done the way an
//! attacker would, through a separate raw SQLite connection to the file
//! after the store has shut down. Test-only.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use ed25519_dalek::SigningKey;
use rusqlite::{Connection, params};
use serde_json::json;
use tempfile::TempDir;

use super::chain::{HashedFields, ZERO_HASH, entry_hash};
use super::*;
use crate::store::{Store, StoreError, StoreOptions};

/// A log on a fresh store, with the checkpoint file beside (not inside)
/// the database.
struct Scratch {
    _dir: TempDir,
    database: PathBuf,
    checkpoints: PathBuf,
    key: SigningKey,
    store: Store,
    log: AuditLog,
}

impl Scratch {
    async fn new(checkpoint_every: u64) -> Self {
        let dir = TempDir::new().unwrap();
        let database = dir.path().join("consilium.sqlite");
        let checkpoints = dir.path().join("audit").join("checkpoints.jsonl");
        let key = SigningKey::from_bytes(&[42; 32]);
        let store = open_store(&database).await;
        let log = AuditLog::new(
            store.clone(),
            AuditLogConfig {
                checkpoint_file: checkpoints.clone(),
                signing_key: key.clone(),
                checkpoint_every,
            },
        );
        Self {
            _dir: dir,
            database,
            checkpoints,
            key,
            store,
            log,
        }
    }

    async fn record(&self, count: u64) {
        for i in 0..count {
            self.log.record(sample_entry(i)).await.unwrap();
        }
    }

    /// Shuts the store down, runs `sql` on the file as an attacker would,
    /// and verifies with a freshly opened store.
    async fn tamper_and_verify(self, sql: &str) -> VerifyReport {
        self.store.shutdown().await.unwrap();
        let sql = sql.to_owned();
        edit_database(&self.database, move |connection| {
            connection.execute_batch(&sql).unwrap();
        })
        .await;
        let store = open_store(&self.database).await;
        verify(&store, &self.checkpoints, &[self.key.verifying_key()])
            .await
            .unwrap()
    }

    async fn verify(&self) -> VerifyReport {
        verify(&self.store, &self.checkpoints, &[self.key.verifying_key()])
            .await
            .unwrap()
    }

    fn checkpoint_lines(&self) -> Vec<Checkpoint> {
        std::fs::read_to_string(&self.checkpoints)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    fn append_checkpoint_line(&self, checkpoint: &Checkpoint) {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.checkpoints)
            .unwrap();
        writeln!(file, "{}", serde_json::to_string(checkpoint).unwrap()).unwrap();
    }
}

async fn open_store(path: &Path) -> Store {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || Store::open(&path, StoreOptions::default()))
        .await
        .unwrap()
        .unwrap()
}

/// Runs `edit` on a raw read-write connection to the database file, off
/// the runtime's worker threads.
async fn edit_database(path: &Path, edit: impl FnOnce(&Connection) + Send + 'static) {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let connection = Connection::open(&path).unwrap();
        edit(&connection);
    })
    .await
    .unwrap();
}

/// Entries that vary every field, including absent against empty.
fn sample_entry(i: u64) -> AuditEntry {
    let entry = AuditEntry::new(format!("user:{}", i % 3), "auth.login.succeeded")
        .details(json!({ "attempt": i, "method": "password" }))
        .ip("192.0.2.7");
    match i % 3 {
        0 => entry.target(pseudonymise(&format!("account-{i}"))),
        1 => entry.target("").user_agent("curl/8.5"),
        _ => entry,
    }
}

const DROP_ALL_TRIGGERS: &str = "DROP TRIGGER audit_log_refuses_update;
     DROP TRIGGER audit_log_refuses_delete;
     DROP TRIGGER audit_log_appends_in_sequence;";

/// Recomputes `prev_hash` and `hash` of every entry from `first` on, as an
/// attacker who knows the (public) hash rules would after an edit.
fn rehash_from(connection: &Connection, first: u64) {
    let mut prev: Vec<u8> = if first == 1 {
        ZERO_HASH.to_vec()
    } else {
        connection
            .query_row(
                "SELECT hash FROM audit_log WHERE seq = ?1",
                [first - 1],
                |row| row.get(0),
            )
            .unwrap()
    };
    type Stored = (
        u64,
        String,
        String,
        String,
        Option<String>,
        String,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Stored> = connection
        .prepare(
            "SELECT seq, at, actor, action, target, details, ip, user_agent
             FROM audit_log WHERE seq >= ?1 ORDER BY seq",
        )
        .unwrap()
        .query_map([first], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
                row.get(6)?,
                row.get(7)?,
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (seq, at, actor, action, target, details, ip, user_agent) in rows {
        let hash = entry_hash(&HashedFields {
            seq,
            at: at.as_bytes(),
            actor: actor.as_bytes(),
            action: action.as_bytes(),
            target: target.as_deref().map(str::as_bytes),
            details: details.as_bytes(),
            ip: ip.as_deref().map(str::as_bytes),
            user_agent: user_agent.as_deref().map(str::as_bytes),
            prev_hash: &prev,
        });
        connection
            .execute(
                "UPDATE audit_log SET prev_hash = ?1, hash = ?2 WHERE seq = ?3",
                params![prev, &hash[..], seq],
            )
            .unwrap();
        prev = hash.to_vec();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untouched_log_verifies() {
    let scratch = Scratch::new(10).await;
    scratch.record(25).await;
    let last = scratch.log.checkpoint().await.unwrap();
    assert_eq!(last.seq, 25);
    let report = scratch.verify().await;
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!(report.entries, 25);
    assert_eq!(report.last_seq, 25);
    assert_eq!(report.checkpoints, 3);
    assert_eq!(report.anchored_through, Some(25));
    assert_eq!(report.unanchored_entries(), 0);
    assert!(report.checkpoint_file_found);
    scratch.store.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_without_a_checkpoint_file_verifies_its_chain_but_is_unanchored() {
    let scratch = Scratch::new(1000).await;
    scratch.record(5).await;
    let report = scratch.verify().await;
    assert!(report.is_intact(), "{:?}", report.problems);
    assert!(!report.checkpoint_file_found);
    assert_eq!(report.anchored_through, None);
    assert_eq!(report.unanchored_entries(), 5);
    scratch.store.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_log_checkpoints_seq_zero_and_verifies() {
    let scratch = Scratch::new(10).await;
    let checkpoint = scratch.log.checkpoint().await.unwrap();
    assert_eq!(checkpoint.seq, 0);
    assert_eq!(checkpoint.hash, "0".repeat(64));
    let report = scratch.verify().await;
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!((report.entries, report.anchored_through), (0, Some(0)));
    scratch.store.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_and_delete_are_refused_by_the_triggers() {
    let scratch = Scratch::new(10).await;
    scratch.record(3).await;
    for (sql, refusal) in [
        (
            "UPDATE audit_log SET actor = 'someone else' WHERE seq = 2",
            "append-only",
        ),
        ("DELETE FROM audit_log WHERE seq = 3", "append-only"),
        ("DELETE FROM audit_log", "append-only"),
        (
            "INSERT OR REPLACE INTO audit_log
                 (seq, at, actor, action, details, prev_hash, hash)
             SELECT seq, at, 'forger', action, details, prev_hash, hash
             FROM audit_log WHERE seq = 1",
            "appended in sequence",
        ),
    ] {
        let outcome = scratch
            .store
            .write(move |transaction| {
                transaction.execute(sql, [])?;
                Ok(())
            })
            .await;
        match outcome {
            Err(StoreError::Sqlite(error)) => {
                assert!(error.to_string().contains(refusal), "{sql}: {error}");
            }
            other => panic!("{sql} was not refused: {other:?}"),
        }
    }
    // Refused through the store, and through a raw connection too.
    scratch.store.shutdown().await.unwrap();
    edit_database(&scratch.database, |connection| {
        let error = connection
            .execute("UPDATE audit_log SET details = '{}' WHERE seq = 1", [])
            .unwrap_err();
        assert!(error.to_string().contains("append-only"), "{error}");
    })
    .await;
    let store = open_store(&scratch.database).await;
    let report = verify(&store, &scratch.checkpoints, &[scratch.key.verifying_key()])
        .await
        .unwrap();
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!(report.entries, 3);
    store.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_detail_is_detected_at_its_seq() {
    let scratch = Scratch::new(100).await;
    scratch.record(10).await;
    let report = scratch
        .tamper_and_verify(
            "DROP TRIGGER audit_log_refuses_update;
             UPDATE audit_log SET details = '{\"attempt\":4,\"method\":\"sso\"}' WHERE seq = 4;",
        )
        .await;
    assert_eq!(report.problems, vec![Problem::HashMismatch { seq: 4 }]);
    assert_eq!(report.problems[0].seq(), Some(4));
    assert!(!report.is_intact());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_middle_entry_is_detected_as_a_gap() {
    let scratch = Scratch::new(100).await;
    scratch.record(10).await;
    let report = scratch
        .tamper_and_verify(
            "DROP TRIGGER audit_log_refuses_delete;
             DELETE FROM audit_log WHERE seq = 5;",
        )
        .await;
    assert_eq!(report.problems, vec![Problem::Gap { after: 4, next: 6 }]);
    assert_eq!(report.entries, 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_first_entry_is_detected_as_a_gap() {
    let scratch = Scratch::new(100).await;
    scratch.record(3).await;
    let report = scratch
        .tamper_and_verify(
            "DROP TRIGGER audit_log_refuses_delete;
             DELETE FROM audit_log WHERE seq = 1;",
        )
        .await;
    assert_eq!(report.problems, vec![Problem::Gap { after: 0, next: 2 }]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_tail_is_detected_by_the_last_checkpoint() {
    let scratch = Scratch::new(10).await;
    scratch.record(25).await;
    scratch.log.checkpoint().await.unwrap();
    let report = scratch
        .tamper_and_verify(
            "DROP TRIGGER audit_log_refuses_delete;
             DELETE FROM audit_log WHERE seq > 20;",
        )
        .await;
    // The chain that is left is whole; only the signed checkpoint knows.
    assert_eq!(
        report.problems,
        vec![Problem::CheckpointBeyondEnd {
            line: 3,
            seq: 25,
            last_seq: 20
        }]
    );
    assert_eq!(report.anchored_through, Some(20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewritten_chain_after_the_last_checkpoint_still_fails_the_checkpoint() {
    let scratch = Scratch::new(10).await;
    scratch.record(25).await;
    scratch.store.shutdown().await.unwrap();
    // Edit entry 7, then recompute every hash after it so the chain itself
    // is flawless again.
    edit_database(&scratch.database, |connection| {
        connection.execute_batch(DROP_ALL_TRIGGERS).unwrap();
        connection
            .execute(
                "UPDATE audit_log SET actor = 'user:innocent' WHERE seq = 7",
                [],
            )
            .unwrap();
        rehash_from(connection, 7);
    })
    .await;
    let store = open_store(&scratch.database).await;
    let report = verify(&store, &scratch.checkpoints, &[scratch.key.verifying_key()])
        .await
        .unwrap();
    assert_eq!(
        report.problems,
        vec![
            Problem::CheckpointHashMismatch { line: 1, seq: 10 },
            Problem::CheckpointHashMismatch { line: 2, seq: 20 },
        ]
    );
    // Nothing the checkpoints vouch for survived the rewrite.
    assert_eq!(report.anchored_through, None);
    store.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_checkpoint_signature_is_detected() {
    let scratch = Scratch::new(100).await;
    scratch.record(5).await;
    let genuine = scratch.log.checkpoint().await.unwrap();
    // A line claiming another hash under the genuine signature…
    let altered = Checkpoint {
        hash: "ab".repeat(32),
        ..genuine.clone()
    };
    scratch.append_checkpoint_line(&altered);
    // …and one signed by another key but claiming the trusted key's id.
    let forger = SigningKey::from_bytes(&[7; 32]);
    let forged = Checkpoint {
        key_id: genuine.key_id.clone(),
        ..Checkpoint::sign(5, &[1; 32], genuine.at.clone(), &forger)
    };
    scratch.append_checkpoint_line(&forged);
    let report = scratch.verify().await;
    assert_eq!(
        report.problems,
        vec![
            Problem::BadSignature { line: 2, seq: 5 },
            Problem::BadSignature { line: 3, seq: 5 },
        ]
    );
    assert_eq!(report.anchored_through, Some(5));
    scratch.store.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_by_an_unknown_key_is_reported() {
    let scratch = Scratch::new(100).await;
    scratch.record(5).await;
    scratch.log.checkpoint().await.unwrap();
    let stranger = SigningKey::from_bytes(&[9; 32]);
    let foreign = Checkpoint::sign(5, &[2; 32], "2030-01-01T00:00:00.000000Z".into(), &stranger);
    scratch.append_checkpoint_line(&foreign);
    let report = scratch.verify().await;
    assert_eq!(
        report.problems,
        vec![Problem::UnknownKey {
            line: 2,
            seq: 5,
            key_id: key_id(&stranger.verifying_key()),
        }]
    );
    // Trusting only the stranger, the genuine line is the unknown one.
    let report = verify(
        &scratch.store,
        &scratch.checkpoints,
        &[stranger.verifying_key()],
    )
    .await
    .unwrap();
    assert!(
        matches!(
            report.problems.as_slice(),
            [
                Problem::UnknownKey {
                    line: 1,
                    seq: 5,
                    ..
                },
                Problem::CheckpointHashMismatch { line: 2, seq: 5 },
            ]
        ),
        "{:?}",
        report.problems
    );
    scratch.store.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unparseable_checkpoint_line_is_reported_by_line() {
    let scratch = Scratch::new(100).await;
    scratch.record(2).await;
    scratch.log.checkpoint().await.unwrap();
    std::fs::write(
        &scratch.checkpoints,
        format!(
            "{}not json\n",
            std::fs::read_to_string(&scratch.checkpoints).unwrap()
        ),
    )
    .unwrap();
    let report = scratch.verify().await;
    assert!(
        matches!(
            report.problems.as_slice(),
            [Problem::UnparseableCheckpoint { line: 2, .. }]
        ),
        "{:?}",
        report.problems
    );
    // The next checkpoint starts a fresh line even after a torn one.
    std::fs::write(
        &scratch.checkpoints,
        format!(
            "{}{{\"seq\":",
            std::fs::read_to_string(&scratch.checkpoints).unwrap()
        ),
    )
    .unwrap();
    scratch.log.checkpoint().await.unwrap();
    let report = scratch.verify().await;
    assert_eq!(report.problems.len(), 2, "{:?}", report.problems);
    assert_eq!(report.checkpoints, 4);
    assert_eq!(report.anchored_through, Some(2));
    scratch.store.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reordered_entries_are_detected() {
    let scratch = Scratch::new(100).await;
    scratch.record(6).await;
    // Swap entries 3 and 4 wholesale, hashes included.
    let report = scratch
        .tamper_and_verify(
            "DROP TRIGGER audit_log_refuses_update;
             UPDATE audit_log SET seq = -3 WHERE seq = 3;
             UPDATE audit_log SET seq = 3 WHERE seq = 4;
             UPDATE audit_log SET seq = 4 WHERE seq = -3;",
        )
        .await;
    assert_eq!(
        report.problems,
        vec![
            Problem::BrokenLink { seq: 3 },
            Problem::HashMismatch { seq: 3 },
            Problem::BrokenLink { seq: 4 },
            Problem::HashMismatch { seq: 4 },
            Problem::BrokenLink { seq: 5 },
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inserted_entry_is_detected() {
    let scratch = Scratch::new(100).await;
    scratch.record(4).await;
    // A fabricated entry at the end, linked to the real last hash but
    // without knowing how to hash itself correctly.
    let report = scratch
        .tamper_and_verify(
            "DROP TRIGGER audit_log_appends_in_sequence;
             INSERT INTO audit_log (seq, at, actor, action, details, prev_hash, hash)
             SELECT 5, at, 'user:0', 'admin.plan.changed', '{}', hash, zeroblob(32)
             FROM audit_log WHERE seq = 4;",
        )
        .await;
    assert_eq!(report.problems, vec![Problem::HashMismatch { seq: 5 }]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_records_form_one_unbroken_chain() {
    let scratch = Scratch::new(DEFAULT_CHECKPOINT_EVERY).await;
    let tasks: Vec<_> = (0..500)
        .map(|i| {
            let log = scratch.log.clone();
            tokio::spawn(async move { log.record(sample_entry(i)).await })
        })
        .collect();
    let mut seqs = Vec::with_capacity(tasks.len());
    for task in tasks {
        seqs.push(task.await.unwrap().unwrap());
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=500).collect::<Vec<u64>>());
    let report = scratch.verify().await;
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!((report.entries, report.last_seq), (500, 500));
    assert!(report.checkpoints >= 1);
    assert!(report.unanchored_entries() < 500);
    scratch.store.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_or_non_object_details_are_refused() {
    let scratch = Scratch::new(100).await;
    let refused = [
        AuditEntry::new("user:1", "auth.login.failed").details(json!(["not", "an", "object"])),
        AuditEntry::new("user:1", "auth.login.failed").details(json!("text")),
        AuditEntry::new("user:1", "auth.login.failed").details(serde_json::Value::Null),
        AuditEntry::new("user:1", "auth.login.failed")
            .details(json!({ "padding": "x".repeat(MAX_DETAILS_BYTES) })),
        AuditEntry::new("u".repeat(MAX_FIELD_CHARS + 1), "auth.login.failed"),
        AuditEntry::new("user:1", "auth.login.failed").target("t".repeat(MAX_FIELD_CHARS + 1)),
        AuditEntry::new("user:1", "Auth Login"),
        AuditEntry {
            user_agent: Some("a".repeat(MAX_FIELD_CHARS + 1)),
            ..AuditEntry::new("user:1", "auth.login.failed")
        },
    ];
    for entry in refused {
        let outcome = scratch.log.record(entry.clone()).await;
        assert!(
            matches!(outcome, Err(AuditError::InvalidEntry(_))),
            "{entry:?} gave {outcome:?}"
        );
        assert!(matches!(
            scratch.log.record_detached(entry),
            Err(AuditError::InvalidEntry(_))
        ));
    }
    // Exactly at the limit is fine.
    let padding = MAX_DETAILS_BYTES - r#"{"p":""}"#.len();
    let at_limit =
        AuditEntry::new("user:1", "auth.login.failed").details(json!({ "p": "x".repeat(padding) }));
    assert_eq!(scratch.log.record(at_limit).await.unwrap(), 1);
    let report = scratch.verify().await;
    assert_eq!(report.entries, 1);
    scratch.store.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_are_written_every_n_entries() {
    let scratch = Scratch::new(10).await;
    scratch.record(35).await;
    let lines = scratch.checkpoint_lines();
    let seqs: Vec<u64> = lines.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, vec![10, 20, 30]);
    let key_id = key_id(&scratch.key.verifying_key());
    assert!(lines.iter().all(|c| c.key_id == key_id));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&scratch.checkpoints)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let report = scratch.verify().await;
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!(report.anchored_through, Some(30));
    assert_eq!(report.unanchored_entries(), 5);
    scratch.store.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detached_records_join_the_same_chain_and_trigger_checkpoints() {
    let scratch = Scratch::new(5).await;
    scratch.log.record(sample_entry(0)).await.unwrap();
    for i in 1..12 {
        scratch.log.record_detached(sample_entry(i)).unwrap();
    }
    // The checkpoint for a detached entry is written by a background task
    // once its batch commits.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !scratch.checkpoints.exists() || scratch.checkpoint_lines().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint was written"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(scratch.checkpoint_lines()[0].seq >= 5);
    scratch.log.record(sample_entry(12)).await.unwrap();
    let report = scratch.verify().await;
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!(report.entries, 13);
    scratch.store.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_filter_by_actor_action_prefix_and_time_newest_first() {
    let scratch = Scratch::new(100).await;
    let before = SystemTime::now() - Duration::from_secs(1);
    for (actor, action) in [
        ("user:1", "auth.login.succeeded"),
        ("user:2", "auth.login.failed"),
        ("admin:9", "admin.plan.changed"),
        ("user:1", "api_key.created"),
        ("user:1", "authz.denied"),
        ("user:1", "auth.logout"),
    ] {
        scratch
            .log
            .record(
                AuditEntry::new(actor, action)
                    .target("plan:pro")
                    .details(json!({ "why": "test" })),
            )
            .await
            .unwrap();
    }
    let seqs = |entries: Vec<StoredAuditEntry>| entries.iter().map(|e| e.seq).collect::<Vec<_>>();

    let all = scratch.log.query(AuditFilter::default()).await.unwrap();
    assert_eq!(seqs(all.clone()), vec![6, 5, 4, 3, 2, 1]);
    assert_eq!(all[3].details, json!({ "why": "test" }));
    assert_eq!(all[3].target.as_deref(), Some("plan:pro"));
    assert_eq!(all[3].hash.len(), 64);

    let by_actor = AuditFilter {
        actor: Some("user:1".into()),
        ..AuditFilter::default()
    };
    assert_eq!(
        seqs(scratch.log.query(by_actor).await.unwrap()),
        vec![6, 5, 4, 1]
    );

    let auth_only = AuditFilter {
        action_prefix: Some("auth.".into()),
        ..AuditFilter::default()
    };
    assert_eq!(
        seqs(scratch.log.query(auth_only).await.unwrap()),
        vec![6, 2, 1]
    );

    let paged = AuditFilter {
        limit: Some(2),
        before_seq: Some(5),
        ..AuditFilter::default()
    };
    assert_eq!(seqs(scratch.log.query(paged).await.unwrap()), vec![4, 3]);

    let in_window = AuditFilter {
        since: Some(before),
        until: Some(SystemTime::now() + Duration::from_secs(1)),
        ..AuditFilter::default()
    };
    assert_eq!(scratch.log.query(in_window).await.unwrap().len(), 6);
    let in_the_past = AuditFilter {
        until: Some(before),
        ..AuditFilter::default()
    };
    assert!(scratch.log.query(in_the_past).await.unwrap().is_empty());
    scratch.store.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_rows_chain_from_a_zero_hash_with_contiguous_seqs() {
    let scratch = Scratch::new(100).await;
    scratch.record(3).await;
    let rows: Vec<(i64, Vec<u8>, Vec<u8>, String)> = scratch
        .store
        .read(|connection| {
            let mut statement = connection
                .prepare("SELECT seq, prev_hash, hash, at FROM audit_log ORDER BY seq")?;
            let rows = statement
                .query_map([], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
        .unwrap();
    assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(rows[0].1, ZERO_HASH.to_vec());
    assert_eq!(rows[1].1, rows[0].2);
    assert_eq!(rows[2].1, rows[1].2);
    assert!(rows.iter().all(|r| r.3.len() == 27 && r.3.ends_with('Z')));
    scratch.store.shutdown().await.unwrap();
}
