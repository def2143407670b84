//! The schema's history: the numbered SQL migrations embedded in the binary
//! and the code that brings a database up to date with them.
//!
//! A migration, once released, is never edited: a database that ran it must
//! mean the same thing everywhere. Changes go into a new, higher-numbered
//! file. This file must not hold domain queries; a migration's SQL runs
//! inside a transaction, so it cannot change connection settings such as
//! `PRAGMA foreign_keys` (those belong in the connections module).

use rusqlite::{Connection, TransactionBehavior, params};

use super::StoreError;

/// One step of the schema's history.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Migration {
    /// Position in the history: 1, 2, 3… with no gaps.
    pub(crate) version: u32,
    /// Recorded next to the version so a database tells what it went through.
    pub(crate) name: &'static str,
    pub(crate) sql: &'static str,
}

/// Every migration this build knows, oldest first.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("migrations/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "identity",
        sql: include_str!("migrations/0002_identity.sql"),
    },
    Migration {
        version: 3,
        name: "audit",
        sql: include_str!("migrations/0003_audit.sql"),
    },
    Migration {
        version: 4,
        name: "auth",
        sql: include_str!("migrations/0004_auth.sql"),
    },
    Migration {
        version: 5,
        name: "metering",
        sql: include_str!("migrations/0005_metering.sql"),
    },
    Migration {
        version: 6,
        name: "analyses",
        sql: include_str!("migrations/0006_analyses.sql"),
    },
    Migration {
        version: 7,
        name: "llm",
        sql: include_str!("migrations/0007_llm.sql"),
    },
    Migration {
        version: 8,
        name: "usda_foods",
        sql: include_str!("migrations/0008_usda_foods.sql"),
    },
    Migration {
        version: 9,
        name: "consensus",
        sql: include_str!("migrations/0009_consensus.sql"),
    },
    Migration {
        version: 10,
        name: "study",
        sql: include_str!("migrations/0010_study.sql"),
    },
    Migration {
        version: 11,
        name: "quizzes",
        sql: include_str!("migrations/0011_quizzes.sql"),
    },
    Migration {
        version: 12,
        name: "documents",
        sql: include_str!("migrations/0012_documents.sql"),
    },
    Migration {
        version: 13,
        name: "sessions",
        sql: include_str!("migrations/0013_sessions.sql"),
    },
    Migration {
        version: 14,
        name: "document_vectors",
        sql: include_str!("migrations/0014_document_vectors.sql"),
    },
    Migration {
        version: 15,
        name: "evaluation",
        sql: include_str!("migrations/0015_evaluation.sql"),
    },
];

const CREATE_RECORD_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
)";

/// The highest version in `migrations` (0 for none).
pub(crate) fn latest_version(migrations: &[Migration]) -> u32 {
    migrations.iter().map(|m| m.version).max().unwrap_or(0)
}

/// The highest version recorded in the database; 0 for a database that has
/// never been migrated. Only reads, so it is safe on a database we may end up
/// refusing.
pub(crate) fn recorded_version(connection: &Connection) -> Result<u32, StoreError> {
    let has_record_table: bool = connection.query_row(
        "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations')",
        [],
        |row| row.get(0),
    )?;
    if !has_record_table {
        return Ok(0);
    }
    let highest: Option<i64> =
        connection.query_row("SELECT MAX(version) FROM schema_migrations", [], |row| {
            row.get(0)
        })?;
    // A version that does not fit is not one this build wrote: treat it as
    // too new, so the database is refused rather than touched.
    Ok(highest.map_or(0, |v| u32::try_from(v).unwrap_or(u32::MAX)))
}

/// Fails with `TooNew` when the database has run a migration this build does
/// not know, before anything is written to it.
pub(crate) fn refuse_if_too_new(
    connection: &Connection,
    migrations: &[Migration],
) -> Result<(), StoreError> {
    let found = recorded_version(connection)?;
    let supported = latest_version(migrations);
    if found > supported {
        return Err(StoreError::TooNew { found, supported });
    }
    Ok(())
}

/// Applies every migration not yet recorded, each in its own transaction
/// together with its record row, and returns the version reached.
pub(crate) fn apply_missing(
    connection: &mut Connection,
    migrations: &[Migration],
) -> Result<u32, StoreError> {
    connection.execute_batch(CREATE_RECORD_TABLE)?;
    for migration in migrations {
        // IMMEDIATE takes the write lock before the check, so two processes
        // opening the same file cannot both apply the same migration.
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let already_applied: bool = transaction.query_row(
            "SELECT EXISTS(SELECT 1 FROM schema_migrations WHERE version = ?1)",
            [migration.version],
            |row| row.get(0),
        )?;
        if already_applied {
            continue;
        }
        let failed = |source| StoreError::MigrationFailed {
            version: migration.version,
            name: migration.name,
            source,
        };
        transaction.execute_batch(migration.sql).map_err(failed)?;
        transaction
            .execute(
                "INSERT INTO schema_migrations (version, name, applied_at)
                 VALUES (?1, ?2, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))",
                params![migration.version, migration.name],
            )
            .map_err(failed)?;
        transaction.commit().map_err(failed)?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "applied a database migration"
        );
    }
    recorded_version(connection)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch_connection() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::TempDir::new().unwrap();
        let connection = Connection::open(dir.path().join("db.sqlite")).unwrap();
        (dir, connection)
    }

    fn recorded_rows(connection: &Connection) -> Vec<(u32, String)> {
        let mut statement = connection
            .prepare("SELECT version, name FROM schema_migrations ORDER BY version")
            .unwrap();
        statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn migration_versions_run_from_one_without_gaps() {
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            let expected = u32::try_from(index + 1).unwrap();
            assert_eq!(
                migration.version, expected,
                "migration {} is out of order",
                migration.name
            );
        }
        assert_eq!(
            latest_version(MIGRATIONS),
            u32::try_from(MIGRATIONS.len()).unwrap()
        );
    }

    #[test]
    fn every_migration_has_a_name_and_some_sql() {
        for migration in MIGRATIONS {
            assert!(
                !migration.name.is_empty()
                    && migration
                        .name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "migration {} needs a snake_case name",
                migration.version
            );
            assert!(!migration.sql.trim().is_empty());
        }
    }

    #[test]
    fn records_every_migration_once_even_when_applied_twice() {
        let (_dir, mut connection) = scratch_connection();
        assert_eq!(recorded_version(&connection).unwrap(), 0);
        let reached = apply_missing(&mut connection, MIGRATIONS).unwrap();
        assert_eq!(reached, latest_version(MIGRATIONS));
        let again = apply_missing(&mut connection, MIGRATIONS).unwrap();
        assert_eq!(again, reached);
        let expected: Vec<(u32, String)> = MIGRATIONS
            .iter()
            .map(|m| (m.version, m.name.to_owned()))
            .collect();
        assert_eq!(recorded_rows(&connection), expected);
    }

    #[test]
    fn the_initial_migration_stamps_the_creation_time_in_rfc_3339_utc() {
        let (_dir, mut connection) = scratch_connection();
        apply_missing(&mut connection, MIGRATIONS).unwrap();
        let created_at: String = connection
            .query_row(
                "SELECT value FROM server_meta WHERE key = 'created_at'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        let bytes = created_at.as_bytes();
        assert_eq!(bytes.len(), 20, "{created_at}");
        assert_eq!((bytes[4], bytes[7], bytes[10]), (b'-', b'-', b'T'));
        assert_eq!((bytes[13], bytes[16], bytes[19]), (b':', b':', b'Z'));
    }

    #[test]
    fn a_failing_migration_leaves_the_database_at_the_previous_version() {
        const BROKEN: &[Migration] = &[
            Migration {
                version: 1,
                name: "first",
                sql: "CREATE TABLE kept (x INTEGER);",
            },
            Migration {
                version: 2,
                name: "broken",
                sql: "CREATE TABLE half_done (x INTEGER); INSERT INTO nowhere VALUES (1);",
            },
        ];
        let (_dir, mut connection) = scratch_connection();
        let error = apply_missing(&mut connection, BROKEN).unwrap_err();
        assert!(
            matches!(
                error,
                StoreError::MigrationFailed {
                    version: 2,
                    name: "broken",
                    ..
                }
            ),
            "{error:?}"
        );
        assert_eq!(recorded_version(&connection).unwrap(), 1);
        let half_done_exists: bool = connection
            .query_row(
                "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE name = 'half_done')",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert!(!half_done_exists);
    }

    #[test]
    fn a_recorded_version_beyond_the_known_ones_is_too_new() {
        let (_dir, mut connection) = scratch_connection();
        apply_missing(&mut connection, MIGRATIONS).unwrap();
        connection
            .execute(
                "INSERT INTO schema_migrations VALUES (999, 'from_the_future', 'now')",
                [],
            )
            .unwrap();
        let error = refuse_if_too_new(&connection, MIGRATIONS).unwrap_err();
        assert!(matches!(
            error,
            StoreError::TooNew { found: 999, supported } if supported == latest_version(MIGRATIONS)
        ));
    }
}
