//! Master key rotation: every sealed value in the store is opened under the old key and
//! sealed again under the new one, with the same associated data, in one transaction — so
//! either everything moves to the new key or nothing does.
//!
//! Each module that seals values names its column here as a [`SealedColumn`] (where the
//! sealed bytes are, and how a row's associated data is rebuilt); this file knows no table
//! of its own and must not open a value for any other purpose.

use rusqlite::{Row, Transaction, params};

use super::{MasterKey, SecretsError, reseal};
use crate::store::StoreError;

/// One kind of sealed value: `select` returns `rowid`, the sealed bytes, then whatever
/// `associated_data` needs, for every row of `table`.
pub struct SealedColumn {
    /// What the values are, for the report.
    pub name: &'static str,
    pub table: &'static str,
    pub column: &'static str,
    pub select: &'static str,
    pub associated_data: fn(&Row<'_>) -> rusqlite::Result<Vec<u8>>,
}

#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error(
        "a sealed {name} (row {rowid}) does not open under the current master key; nothing was changed"
    )]
    Unopenable { name: &'static str, rowid: i64 },
    #[error("sealing under the new key failed: {0}")]
    Secrets(SecretsError),
}

impl From<rusqlite::Error> for RotationError {
    fn from(error: rusqlite::Error) -> Self {
        RotationError::Store(StoreError::Sqlite(error))
    }
}

/// Re-seals every value of `columns` from `old` to `new` in `tx`. Returns how many values
/// of each kind moved. Any value that does not open aborts the whole rotation.
pub fn reseal_columns(
    tx: &Transaction<'_>,
    columns: &[SealedColumn],
    old: &MasterKey,
    new: &MasterKey,
) -> Result<Vec<(&'static str, usize)>, RotationError> {
    let mut report = Vec::with_capacity(columns.len());
    for column in columns {
        let rows: Vec<(i64, Vec<u8>, Vec<u8>)> = {
            let mut statement = tx.prepare(column.select)?;
            statement
                .query_map([], |row| {
                    Ok((row.get(0)?, row.get(1)?, (column.associated_data)(row)?))
                })?
                .collect::<Result<_, _>>()?
        };
        let update = format!(
            "UPDATE {} SET {} = ?2 WHERE rowid = ?1",
            column.table, column.column
        );
        for (rowid, sealed, associated) in &rows {
            let resealed = reseal(old, new, sealed, associated).map_err(|error| match error {
                SecretsError::Open => RotationError::Unopenable {
                    name: column.name,
                    rowid: *rowid,
                },
                other => RotationError::Secrets(other),
            })?;
            tx.execute(&update, params![rowid, resealed])?;
        }
        report.push((column.name, rows.len()));
    }
    Ok(report)
}
