//! The analyses a user has run, kept for them: each health tool's result is saved under a
//! new id and can be read back through `consilium://analyses/{id}` — by its owner only.
//!
//! Results are health data, so they are sealed at rest under the master key, bound to their
//! id and owner; another user's id, or a row moved to another owner, opens to nothing. This
//! file must not log or return one user's analysis to anyone else, and never decides what a
//! result says.

use std::sync::Arc;

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use crate::identity::{Clock, UserId};
use crate::secrets::{self, MasterKey};
use crate::store::{Store, StoreError};

/// The URI template of one saved analysis.
pub const ANALYSIS_URI_TEMPLATE: &str = "consilium://analyses/{id}";

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("the analysis could not be sealed or opened")]
    Sealing,
    #[error("the analysis could not be serialised: {0}")]
    Json(#[from] serde_json::Error),
}

/// One saved analysis, as its owner reads it back.
#[derive(Debug, Clone, Serialize)]
pub struct SavedAnalysis {
    pub id: String,
    pub tool: String,
    pub created_at: String,
    pub result: serde_json::Value,
}

/// Saved analyses. Cheap to clone.
#[derive(Clone)]
pub struct Analyses {
    store: Store,
    master: Arc<MasterKey>,
    clock: Arc<dyn Clock>,
}

/// The sealed analyses, for master key rotation.
pub const SEALED_ANALYSES: crate::secrets::rotation::SealedColumn =
    crate::secrets::rotation::SealedColumn {
        name: "saved analysis",
        table: "analyses",
        column: "sealed",
        select: "SELECT rowid, sealed, id, user_id FROM analyses",
        associated_data: |row| {
            let (id, owner): (String, String) = (row.get(2)?, row.get(3)?);
            Ok(format!("analysis:{id}:{owner}").into_bytes())
        },
    };

fn associated_data(id: &str, owner: &UserId) -> Vec<u8> {
    format!("analysis:{id}:{owner}").into_bytes()
}

impl Analyses {
    pub fn new(store: Store, master: Arc<MasterKey>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            master,
            clock,
        }
    }

    /// Saves `result` for `owner` and returns its id.
    pub async fn save<T: Serialize>(
        &self,
        owner: &UserId,
        tool: &str,
        result: &T,
    ) -> Result<String, HistoryError> {
        let id = uuid::Uuid::new_v4().to_string();
        let json = serde_json::to_vec(result)?;
        let sealed = secrets::seal(&self.master, &json, &associated_data(&id, owner))
            .map_err(|_| HistoryError::Sealing)?;
        let row = (
            id.clone(),
            owner.to_string(),
            tool.to_string(),
            self.clock.now().to_rfc3339(),
        );
        self.store
            .write(move |tx| {
                tx.execute(
                    "INSERT INTO analyses (id, user_id, tool, created_at, sealed)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![row.0, row.1, row.2, row.3, sealed],
                )?;
                Ok(())
            })
            .await?;
        Ok(id)
    }

    /// The analysis `id` if `owner` owns it; `None` otherwise, whether it is missing or
    /// someone else's (the two are not told apart).
    pub async fn get(
        &self,
        owner: &UserId,
        id: &str,
    ) -> Result<Option<SavedAnalysis>, HistoryError> {
        if uuid::Uuid::parse_str(id).is_err() {
            return Ok(None);
        }
        let (key, user) = (id.to_string(), owner.to_string());
        let row = self
            .store
            .read(move |connection| {
                Ok(connection
                    .query_row(
                        "SELECT tool, created_at, sealed FROM analyses WHERE id = ?1 AND user_id = ?2",
                        params![key, user],
                        |row| {
                            Ok((
                                row.get::<_, String>(0)?,
                                row.get::<_, String>(1)?,
                                row.get::<_, Vec<u8>>(2)?,
                            ))
                        },
                    )
                    .optional()?)
            })
            .await?;
        let Some((tool, created_at, sealed)) = row else {
            return Ok(None);
        };
        let opened = secrets::open(&self.master, &sealed, &associated_data(id, owner))
            .map_err(|_| HistoryError::Sealing)?;
        Ok(Some(SavedAnalysis {
            id: id.to_string(),
            tool,
            created_at,
            result: serde_json::from_slice(&opened)?,
        }))
    }
}

/// The `consilium://analyses/{id}` resource template: a saved analysis, to its owner only.
pub fn register(builder: &mut crate::mcp::RegistryBuilder<'_>) {
    use rmcp::ErrorData as McpError;
    use rmcp::model::{ReadResourceResult, ResourceContents, ResourceTemplate};
    builder.resource_template(
        ResourceTemplate::new(ANALYSIS_URI_TEMPLATE, "analysis")
            .with_title("A saved analysis")
            .with_description(
                "One of your saved health analyses, by the id its tool returned (yours only)",
            )
            .with_mime_type("application/json"),
        None,
        |scope, uri, vars| async move {
            let id = vars.get("id").cloned().unwrap_or_default();
            let found = scope
                .app
                .analyses
                .get(&scope.principal.user_id, &id)
                .await
                .map_err(|e| {
                    McpError::internal_error(format!("analysis unavailable: {e}"), None)
                })?;
            let Some(analysis) = found else {
                return Err(McpError::resource_not_found(
                    format!("no analysis at {uri}"),
                    Some(serde_json::json!({ "uri": uri })),
                ));
            };
            let body = serde_json::to_string_pretty(&analysis)
                .map_err(|e| McpError::internal_error(e.to_string(), None))?;
            Ok(ReadResourceResult::new(vec![
                ResourceContents::text(body, uri).with_mime_type("application/json"),
            ]))
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{Email, ManualClock, Plan, Role, SystemClock, Timestamp, Users};

    async fn setup() -> (tempfile::TempDir, Store, Analyses, Users) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        let store = tokio::task::spawn_blocking(move || {
            Store::open(&path, crate::store::StoreOptions::default())
        })
        .await
        .unwrap()
        .unwrap();
        let master = Arc::new(MasterKey::generate().unwrap());
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::at(
            Timestamp::parse_rfc3339("2026-01-01T00:00:00Z").unwrap(),
        ));
        let analyses = Analyses::new(store.clone(), master, clock);
        let users = Users::with_parts(
            store.clone(),
            crate::identity::PasswordHasher::owasp(),
            Arc::new(SystemClock),
        );
        (dir, store, analyses, users)
    }

    #[tokio::test]
    async fn an_analysis_is_read_back_by_its_owner_and_by_nobody_else() {
        let (_dir, _store, analyses, users) = setup().await;
        let ada = users
            .create(
                Email::parse("ada@example.org").unwrap(),
                "Ada",
                Role::User,
                Plan::free(),
            )
            .await
            .unwrap();
        let bob = users
            .create(
                Email::parse("bob@example.org").unwrap(),
                "Bob",
                Role::User,
                Plan::free(),
            )
            .await
            .unwrap();
        let id = analyses
            .save(
                &ada.id,
                "fitness_analysis",
                &serde_json::json!({"kcal": 343}),
            )
            .await
            .unwrap();
        let mine = analyses.get(&ada.id, &id).await.unwrap().unwrap();
        assert_eq!(mine.result["kcal"], 343);
        assert_eq!(mine.tool, "fitness_analysis");
        assert!(analyses.get(&bob.id, &id).await.unwrap().is_none());
        assert!(analyses.get(&ada.id, "not-a-uuid").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_row_moved_to_another_owner_does_not_open() {
        let (_dir, store, analyses, users) = setup().await;
        let ada = users
            .create(
                Email::parse("ada@example.org").unwrap(),
                "Ada",
                Role::User,
                Plan::free(),
            )
            .await
            .unwrap();
        let bob = users
            .create(
                Email::parse("bob@example.org").unwrap(),
                "Bob",
                Role::User,
                Plan::free(),
            )
            .await
            .unwrap();
        let id = analyses
            .save(
                &ada.id,
                "risk_assessment",
                &serde_json::json!({"risk": 0.05}),
            )
            .await
            .unwrap();
        let (moved, to) = (id.clone(), bob.id.to_string());
        store
            .write(move |tx| {
                tx.execute(
                    "UPDATE analyses SET user_id = ?2 WHERE id = ?1",
                    params![moved, to],
                )?;
                Ok(())
            })
            .await
            .unwrap();
        assert!(matches!(
            analyses.get(&bob.id, &id).await,
            Err(HistoryError::Sealing)
        ));
    }
}
