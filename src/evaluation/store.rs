//! Traces and their evaluations per tenant, and each tenant's settings. A trace's texts
//! are sealed under the master key bound to its id and owner; a batch is stored in one
//! transaction, so it lands whole or not at all. Every query is scoped by the owner.
//!
//! This file stores what it is given: redaction and evaluation happen before it, and it
//! must not log trace text.

use std::collections::BTreeMap;
use std::sync::Arc;

use rusqlite::{OptionalExtension, params};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::phi::PhiKind;
use super::pipeline::Finding;
use super::trace::{TraceMessage, TraceSource};
use crate::identity::{Clock, UserId};
use crate::secrets::{self, MasterKey};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum EvaluationStoreError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("a trace could not be sealed or opened")]
    Sealing,
    #[error("a stored evaluation could not be read: {0}")]
    Corrupt(String),
}

/// The sealed trace bodies, for master key rotation.
pub const SEALED_TRACES: crate::secrets::rotation::SealedColumn =
    crate::secrets::rotation::SealedColumn {
        name: "trace",
        table: "traces",
        column: "sealed",
        select: "SELECT rowid, sealed, id, user_id FROM traces",
        associated_data: |row| {
            let (id, owner): (String, String) = (row.get(2)?, row.get(3)?);
            Ok(format!("trace:{id}:{owner}").into_bytes())
        },
    };

fn associated_data(id: &str, owner: &str) -> Vec<u8> {
    format!("trace:{id}:{owner}").into_bytes()
}

/// What is sealed of a trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TraceBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    pub input: Vec<TraceMessage>,
    pub output: String,
    #[serde(default)]
    pub metadata: BTreeMap<String, Value>,
}

/// A trace as stored, ready to write.
#[derive(Debug, Clone)]
pub struct NewTrace {
    pub id: String,
    pub domain: String,
    pub model: String,
    pub provider: Option<String>,
    pub source: TraceSource,
    pub external_id: Option<String>,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub latency_ms: Option<u64>,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub phi_found: usize,
    pub phi_redacted: bool,
    pub body: TraceBody,
}

/// A trace as read back.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TraceView {
    pub id: String,
    pub domain: String,
    pub model: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    pub received_at: String,
    /// Identifiers the PHI detector found in the trace as submitted.
    pub phi_found: usize,
    /// true: those identifiers were replaced before the trace was stored.
    pub phi_redacted: bool,
    pub body: TraceBody,
}

/// What the evaluation of one trace concluded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Evaluation {
    pub id: String,
    pub trace_id: String,
    pub domain: String,
    pub pack_version: String,
    /// `complete`, `awaiting_judge` (tiers 1–2 done, the judge still working) or
    /// `judge_failed` (the judge could not give a verdict; never counted as a pass).
    pub status: String,
    /// `pass`, `warn` or `fail`.
    pub verdict: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    pub findings: Vec<Finding>,
    /// Identifiers found, by kind.
    pub phi: BTreeMap<PhiKind, usize>,
    /// Which tiers ran and how long tier 1 took.
    pub tiers: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub judge: Option<Value>,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
}

/// One line of the recent list.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RecentTrace {
    pub trace_id: String,
    pub evaluation_id: String,
    pub domain: String,
    pub model: String,
    pub received_at: String,
    pub status: String,
    pub verdict: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    pub findings: usize,
    pub phi_found: usize,
}

/// A tenant's evaluation settings.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
pub struct Settings {
    /// Store traces with the PHI they hold (true) or with it replaced (false, the default).
    pub keep_phi: bool,
}

#[derive(Clone)]
pub struct Traces {
    store: Store,
    master: Arc<MasterKey>,
    clock: Arc<dyn Clock>,
}

const TRACE_COLUMNS: &str = "id, domain, model, provider, source, external_id, input_tokens,
    output_tokens, latency_ms, started_at, ended_at, received_at, phi_found, phi_redacted,
    sealed, user_id";
const EVALUATION_COLUMNS: &str = "id, trace_id, domain, pack_version, status, verdict,
    severity, findings, phi, tiers, judge, created_at, completed_at";

fn evaluation_from(row: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Evaluation, String>> {
    let findings: String = row.get(7)?;
    let phi: String = row.get(8)?;
    let tiers: String = row.get(9)?;
    let judge: Option<String> = row.get(10)?;
    let parsed = (|| {
        Ok::<_, serde_json::Error>(Evaluation {
            id: row.get(0).unwrap_or_default(),
            trace_id: row.get(1).unwrap_or_default(),
            domain: row.get(2).unwrap_or_default(),
            pack_version: row.get(3).unwrap_or_default(),
            status: row.get(4).unwrap_or_default(),
            verdict: row.get(5).unwrap_or_default(),
            severity: row.get(6).unwrap_or_default(),
            findings: serde_json::from_str(&findings)?,
            phi: serde_json::from_str(&phi)?,
            tiers: serde_json::from_str(&tiers)?,
            judge: judge.map(|j| serde_json::from_str(&j)).transpose()?,
            created_at: row.get(11).unwrap_or_default(),
            completed_at: row.get(12).unwrap_or_default(),
        })
    })();
    Ok(parsed.map_err(|e| e.to_string()))
}

fn to_i64(value: Option<u64>) -> Option<i64> {
    value.map(|v| v.min(i64::MAX as u64) as i64)
}

fn json(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

impl Traces {
    pub fn new(store: Store, master: Arc<MasterKey>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            master,
            clock,
        }
    }

    pub fn now(&self) -> String {
        self.clock.now().to_rfc3339()
    }

    /// Stores traces with their evaluations in one transaction.
    pub async fn save(
        &self,
        owner: &UserId,
        batch: Vec<(NewTrace, Evaluation)>,
    ) -> Result<(), EvaluationStoreError> {
        let user = owner.to_string();
        let received = self.now();
        let mut rows = Vec::with_capacity(batch.len());
        for (trace, evaluation) in batch {
            let body =
                serde_json::to_vec(&trace.body).map_err(|_| EvaluationStoreError::Sealing)?;
            let sealed = secrets::seal(&self.master, &body, &associated_data(&trace.id, &user))
                .map_err(|_| EvaluationStoreError::Sealing)?;
            rows.push((trace, evaluation, sealed));
        }
        self.store
            .write(move |tx| {
                let mut insert_trace = tx.prepare_cached(
                    "INSERT INTO traces (id, user_id, domain, model, provider, source, external_id,
                         input_tokens, output_tokens, latency_ms, started_at, ended_at, received_at,
                         phi_found, phi_redacted, sealed)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
                )?;
                let mut insert_evaluation = tx.prepare_cached(
                    "INSERT INTO evaluations (id, trace_id, user_id, domain, pack_version, status,
                         verdict, severity, findings, phi, tiers, judge, created_at, completed_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                )?;
                for (t, e, sealed) in &rows {
                    insert_trace.execute(params![
                        t.id,
                        user,
                        t.domain,
                        t.model,
                        t.provider,
                        t.source.as_str(),
                        t.external_id,
                        to_i64(t.input_tokens),
                        to_i64(t.output_tokens),
                        to_i64(t.latency_ms),
                        t.started_at,
                        t.ended_at,
                        received,
                        t.phi_found as i64,
                        t.phi_redacted,
                        sealed
                    ])?;
                    insert_evaluation.execute(params![
                        e.id,
                        e.trace_id,
                        user,
                        e.domain,
                        e.pack_version,
                        e.status,
                        e.verdict,
                        e.severity,
                        json(&e.findings),
                        json(&e.phi),
                        json(&e.tiers),
                        e.judge.as_ref().map(json),
                        e.created_at,
                        e.completed_at
                    ])?;
                }
                Ok(())
            })
            .await?;
        Ok(())
    }

    /// Records the judge's outcome on an evaluation (tier 3 finishing).
    pub async fn finish(
        &self,
        owner: &UserId,
        evaluation: Evaluation,
    ) -> Result<(), EvaluationStoreError> {
        let user = owner.to_string();
        self.store
            .write(move |tx| {
                tx.execute(
                    "UPDATE evaluations SET status = ?3, verdict = ?4, severity = ?5, findings = ?6,
                         tiers = ?7, judge = ?8, completed_at = ?9
                     WHERE id = ?1 AND user_id = ?2",
                    params![
                        evaluation.id,
                        user,
                        evaluation.status,
                        evaluation.verdict,
                        evaluation.severity,
                        json(&evaluation.findings),
                        json(&evaluation.tiers),
                        evaluation.judge.as_ref().map(json),
                        evaluation.completed_at
                    ],
                )?;
                Ok(())
            })
            .await?;
        Ok(())
    }

    pub async fn trace(
        &self,
        owner: &UserId,
        id: &str,
    ) -> Result<Option<TraceView>, EvaluationStoreError> {
        let (user, key) = (owner.to_string(), id.to_string());
        let row = self
            .store
            .read(move |c| {
                Ok(c.query_row(
                    &format!("SELECT {TRACE_COLUMNS} FROM traces WHERE id = ?1 AND user_id = ?2"),
                    params![key, user],
                    |r| {
                        Ok((
                            TraceView {
                                id: r.get(0)?,
                                domain: r.get(1)?,
                                model: r.get(2)?,
                                provider: r.get(3)?,
                                source: r.get(4)?,
                                external_id: r.get(5)?,
                                input_tokens: r.get::<_, Option<i64>>(6)?.map(|v| v.max(0) as u64),
                                output_tokens: r.get::<_, Option<i64>>(7)?.map(|v| v.max(0) as u64),
                                latency_ms: r.get::<_, Option<i64>>(8)?.map(|v| v.max(0) as u64),
                                started_at: r.get(9)?,
                                ended_at: r.get(10)?,
                                received_at: r.get(11)?,
                                phi_found: r.get::<_, i64>(12)?.max(0) as usize,
                                phi_redacted: r.get(13)?,
                                body: TraceBody {
                                    system: None,
                                    input: Vec::new(),
                                    output: String::new(),
                                    metadata: BTreeMap::new(),
                                },
                            },
                            r.get::<_, Vec<u8>>(14)?,
                            r.get::<_, String>(15)?,
                        ))
                    },
                )
                .optional()?)
            })
            .await?;
        let Some((mut view, sealed, user)) = row else {
            return Ok(None);
        };
        let opened = secrets::open(&self.master, &sealed, &associated_data(&view.id, &user))
            .map_err(|_| EvaluationStoreError::Sealing)?;
        view.body = serde_json::from_slice(&opened)
            .map_err(|e| EvaluationStoreError::Corrupt(e.to_string()))?;
        Ok(Some(view))
    }

    pub async fn evaluation(
        &self,
        owner: &UserId,
        id: &str,
    ) -> Result<Option<Evaluation>, EvaluationStoreError> {
        self.one_evaluation(owner, id, "id = ?1").await
    }

    /// The evaluation of a trace.
    pub async fn evaluation_of(
        &self,
        owner: &UserId,
        trace_id: &str,
    ) -> Result<Option<Evaluation>, EvaluationStoreError> {
        self.one_evaluation(owner, trace_id, "trace_id = ?1").await
    }

    /// The owner's newest evaluation whose `filter` holds for `key` (`?1`).
    async fn one_evaluation(
        &self,
        owner: &UserId,
        key: &str,
        filter: &'static str,
    ) -> Result<Option<Evaluation>, EvaluationStoreError> {
        let (user, key) = (owner.to_string(), key.to_string());
        let row = self
            .store
            .read(move |c| {
                Ok(c.query_row(
                    &format!(
                        "SELECT {EVALUATION_COLUMNS} FROM evaluations WHERE {filter} AND user_id = ?2
                         ORDER BY created_at DESC LIMIT 1"
                    ),
                    params![key, user],
                    evaluation_from,
                )
                .optional()?)
            })
            .await?;
        row.transpose().map_err(EvaluationStoreError::Corrupt)
    }

    /// The owner's latest traces with their verdicts, newest first.
    pub async fn recent(
        &self,
        owner: &UserId,
        limit: usize,
    ) -> Result<Vec<RecentTrace>, EvaluationStoreError> {
        let user = owner.to_string();
        let limit = limit as i64;
        Ok(self
            .store
            .read(move |c| {
                let mut statement = c.prepare_cached(
                    "SELECT t.id, e.id, t.domain, t.model, t.received_at, e.status, e.verdict,
                         e.severity, json_array_length(e.findings), t.phi_found
                     FROM traces t JOIN evaluations e ON e.trace_id = t.id
                     WHERE t.user_id = ?1
                     ORDER BY t.received_at DESC, t.rowid DESC LIMIT ?2",
                )?;
                let rows = statement
                    .query_map(params![user, limit], |r| {
                        Ok(RecentTrace {
                            trace_id: r.get(0)?,
                            evaluation_id: r.get(1)?,
                            domain: r.get(2)?,
                            model: r.get(3)?,
                            received_at: r.get(4)?,
                            status: r.get(5)?,
                            verdict: r.get(6)?,
                            severity: r.get(7)?,
                            findings: r.get::<_, i64>(8)?.max(0) as usize,
                            phi_found: r.get::<_, i64>(9)?.max(0) as usize,
                        })
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await?)
    }

    /// The tenant's settings and hashing salt, made on first use. Read on every ingest, so
    /// the writer is asked only the first time.
    pub async fn settings(
        &self,
        owner: &UserId,
    ) -> Result<(Settings, Vec<u8>), EvaluationStoreError> {
        let user = owner.to_string();
        let key = user.clone();
        let known = self
            .store
            .read(move |c| {
                Ok(c.query_row(
                    "SELECT keep_phi, hash_salt FROM evaluation_settings WHERE user_id = ?1",
                    params![key],
                    |r| Ok((r.get::<_, bool>(0)?, r.get::<_, Vec<u8>>(1)?)),
                )
                .optional()?)
            })
            .await?;
        if let Some((keep, salt)) = known {
            return Ok((Settings { keep_phi: keep }, salt));
        }
        let mut salt = [0u8; 32];
        crate::identity::fill_random(&mut salt).map_err(|_| EvaluationStoreError::Sealing)?;
        let now = self.now();
        let (keep, salt) = self
            .store
            .write(move |tx| {
                tx.execute(
                    "INSERT OR IGNORE INTO evaluation_settings (user_id, keep_phi, hash_salt, updated_at)
                     VALUES (?1, 0, ?2, ?3)",
                    params![user, salt.to_vec(), now],
                )?;
                Ok(tx.query_row(
                    "SELECT keep_phi, hash_salt FROM evaluation_settings WHERE user_id = ?1",
                    params![user],
                    |r| Ok((r.get::<_, bool>(0)?, r.get::<_, Vec<u8>>(1)?)),
                )?)
            })
            .await?;
        Ok((Settings { keep_phi: keep }, salt))
    }

    pub async fn set_keep_phi(
        &self,
        owner: &UserId,
        keep: bool,
    ) -> Result<Settings, EvaluationStoreError> {
        self.settings(owner).await?;
        let (user, now) = (owner.to_string(), self.now());
        self.store
            .write(move |tx| {
                tx.execute(
                    "UPDATE evaluation_settings SET keep_phi = ?2, updated_at = ?3 WHERE user_id = ?1",
                    params![user, keep, now],
                )?;
                Ok(())
            })
            .await?;
        Ok(Settings { keep_phi: keep })
    }
}
