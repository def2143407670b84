//! Consensus runs kept for their owner: the full result (question, answers, clusters)
//! sealed at rest with the run's id and owner as associated data, and the certificate as
//! issued. Every read is scoped by the owner; this file must not run a panel.

use std::sync::Arc;

use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde_json::Value;

use crate::identity::{Clock, UserId};
use crate::secrets::{self, MasterKey};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum RunsError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("a consensus run could not be sealed or opened")]
    Sealing,
    #[error("a consensus run could not be encoded: {0}")]
    Json(#[from] serde_json::Error),
}

/// What is recorded in the clear beside the sealed result, for listing.
pub struct RunSummary<'a> {
    pub status: &'a str,
    pub agreement: f64,
    pub members: usize,
    pub answered: usize,
    pub certificate: Option<&'a str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StoredRun {
    pub id: String,
    pub created_at: String,
    pub result: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
}

#[derive(Clone)]
pub struct ConsensusRuns {
    store: Store,
    master: Arc<MasterKey>,
    clock: Arc<dyn Clock>,
}

/// The sealed consensus runs, for master key rotation.
pub const SEALED_CONSENSUS_RUNS: crate::secrets::rotation::SealedColumn =
    crate::secrets::rotation::SealedColumn {
        name: "consensus run",
        table: "consensus_runs",
        column: "sealed",
        select: "SELECT rowid, sealed, id, user_id FROM consensus_runs",
        associated_data: |row| {
            let (id, owner): (String, String) = (row.get(2)?, row.get(3)?);
            Ok(associated_data(&id, &owner))
        },
    };

fn associated_data(id: &str, owner: &str) -> Vec<u8> {
    format!("consensus:{id}:{owner}").into_bytes()
}

impl ConsensusRuns {
    pub fn new(store: Store, master: Arc<MasterKey>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            master,
            clock,
        }
    }

    /// Stores run `id` of `owner`.
    pub async fn save(
        &self,
        owner: &UserId,
        id: &str,
        summary: RunSummary<'_>,
        result: &impl Serialize,
    ) -> Result<(), RunsError> {
        let owner = owner.to_string();
        let json = serde_json::to_vec(result)?;
        let sealed = secrets::seal(&self.master, &json, &associated_data(id, &owner))
            .map_err(|_| RunsError::Sealing)?;
        let row = (
            id.to_string(),
            owner,
            self.clock.now().to_rfc3339(),
            summary.status.to_string(),
            summary.agreement,
            summary.members as i64,
            summary.answered as i64,
            summary.certificate.map(str::to_string),
        );
        self.store
            .write(move |tx| {
                tx.execute(
                    "INSERT INTO consensus_runs (id, user_id, created_at, status, agreement,
                         members, answered, certificate, sealed)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    params![
                        row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7, sealed
                    ],
                )?;
                Ok(())
            })
            .await?;
        Ok(())
    }

    /// Run `id` if `owner` owns it; `None` whether it is missing or someone else's.
    pub async fn get(&self, owner: &UserId, id: &str) -> Result<Option<StoredRun>, RunsError> {
        if uuid::Uuid::parse_str(id).is_err() {
            return Ok(None);
        }
        let (key, user) = (id.to_string(), owner.to_string());
        let row = self
            .store
            .read(move |c| {
                Ok(c.query_row(
                    "SELECT created_at, certificate, sealed FROM consensus_runs
                     WHERE id = ?1 AND user_id = ?2",
                    params![key, user],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, Option<String>>(1)?,
                            r.get::<_, Vec<u8>>(2)?,
                        ))
                    },
                )
                .optional()?)
            })
            .await?;
        let Some((created_at, certificate, sealed)) = row else {
            return Ok(None);
        };
        let opened = secrets::open(
            &self.master,
            &sealed,
            &associated_data(id, &owner.to_string()),
        )
        .map_err(|_| RunsError::Sealing)?;
        Ok(Some(StoredRun {
            id: id.to_string(),
            created_at,
            result: serde_json::from_slice(&opened)?,
            certificate,
        }))
    }
}
