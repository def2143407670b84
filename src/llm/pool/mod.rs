//! The provider key pool: the shared keys admins manage and the keys users bring for
//! themselves, sealed at rest, held in memory with their health for fast routing.
//!
//! The pool owns the `provider_keys` rows. A key's secret is opened only for the call that
//! uses it and wiped after; everything else sees it masked (`****` and its last four
//! characters). A user's own key is sealed with their id in the associated data, so it
//! cannot be moved to another owner's row and used there. This module must not route,
//! send requests or decide who may manage which key (the callers check that).

pub mod health;
mod rows;

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use serde::Serialize;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

pub use health::{Availability, HealthChange, HealthPolicy, KeyHealth, KeyStatus};

use super::providers::{ProviderKind, valid_model_id};
use crate::identity::{Clock, Timestamp, UserId};
use crate::secrets::{self, MasterKey};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Invalid(String),
    #[error("this key is already in the pool (as {0})")]
    Duplicate(String),
    #[error("no provider key with that id")]
    NotFound,
    #[error("the key could not be sealed or opened under the master key")]
    Sealing,
}

/// The feature tag of embedding keys (document retrieval's vectors).
pub const EMBEDDING_FEATURE: &str = "embedding";

/// What is known about a key besides its secret and health.
#[derive(Debug, Clone)]
pub struct KeyRecord {
    pub id: String,
    /// `None`: a shared key; `Some`: that user's own key.
    pub owner: Option<UserId>,
    pub provider: ProviderKind,
    pub label: String,
    pub base_url: String,
    /// Models this key may serve; the first is its default. Empty: the caller must name one.
    pub models: Vec<String>,
    /// Feature tags this key serves; empty: every feature but embedding.
    pub features: Vec<String>,
    pub priority: i64,
    pub digest: String,
    pub last4: String,
    pub created_at: String,
}

impl KeyRecord {
    /// Whether this key may serve `feature`. A key with no features serves every chat
    /// feature, but embeddings only from keys that name [`EMBEDDING_FEATURE`]: a chat
    /// model cannot embed, and an embedding model cannot chat.
    pub fn serves(&self, feature: &str) -> bool {
        if feature == EMBEDDING_FEATURE {
            return self.provider.wire().embeds() && self.features.iter().any(|f| f == feature);
        }
        self.features.is_empty() || self.features.iter().any(|f| f == feature)
    }

    /// A key for embeddings alone: tested and probed with an embedding, not a chat.
    pub fn embedding_only(&self) -> bool {
        !self.features.is_empty() && self.features.iter().all(|f| f == EMBEDDING_FEATURE)
    }

    /// The model to ask for: the one wanted if this key lists it (or lists none), else
    /// the key's default; `None` when the wanted model is not this key's.
    pub fn model_for(&self, wanted: Option<&str>) -> Option<String> {
        match wanted {
            Some(model) if self.models.is_empty() || self.models.iter().any(|m| m == model) => {
                Some(model.to_string())
            }
            Some(_) => None,
            None => self.models.first().cloned(),
        }
    }

    pub fn masked(&self) -> String {
        format!("****{}", self.last4)
    }

    fn associated_data(&self) -> Vec<u8> {
        associated_data(&self.id, self.provider, self.owner.as_ref())
    }
}

fn associated_data(id: &str, provider: ProviderKind, owner: Option<&UserId>) -> Vec<u8> {
    match owner {
        None => format!("provider-key:{id}:{provider}").into_bytes(),
        Some(user) => format!("provider-key:{id}:{provider}:user:{user}").into_bytes(),
    }
}

/// One key in memory: its record, its sealed secret and its live health.
pub struct PoolKey {
    pub record: KeyRecord,
    sealed: Vec<u8>,
    health: Mutex<KeyHealth>,
    /// When the health row was last written (unix seconds), and whether memory has moved
    /// on since: routine counters are written at most once a second per key.
    persisted_at: AtomicI64,
    dirty: AtomicBool,
}

impl PoolKey {
    fn new(record: KeyRecord, sealed: Vec<u8>, health: KeyHealth) -> Self {
        Self {
            record,
            sealed,
            health: Mutex::new(health),
            persisted_at: AtomicI64::new(0),
            dirty: AtomicBool::new(false),
        }
    }

    pub fn health(&self) -> KeyHealth {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, KeyHealth> {
        self.health.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A key to add.
pub struct NewKey {
    pub owner: Option<UserId>,
    pub provider: ProviderKind,
    pub label: String,
    pub secret: Zeroizing<String>,
    pub base_url: Option<String>,
    pub models: Vec<String>,
    pub features: Vec<String>,
    pub priority: i64,
}

/// A key as admins and owners see it: never the secret, only its last four characters.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct KeyView {
    pub id: String,
    /// `shared`, or `own` for a user's own key.
    pub pool: String,
    /// The owning user's id, for a user's own key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    pub provider: ProviderKind,
    pub label: String,
    pub base_url: String,
    pub models: Vec<String>,
    pub features: Vec<String>,
    pub priority: i64,
    pub status: KeyStatus,
    /// The key masked: `****` and its last four characters.
    pub key: String,
    pub consecutive_failures: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cooldown_until: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_failure_at: Option<String>,
    /// The last failure, sanitised.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub calls: u64,
    /// Successful calls over all calls; absent before the first call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_latency_ms: Option<u64>,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost_usd: f64,
    pub created_at: String,
}

impl KeyView {
    fn of(key: &PoolKey) -> Self {
        let health = key.health();
        let record = &key.record;
        let calls = health.successes + health.failures;
        Self {
            id: record.id.clone(),
            pool: if record.owner.is_some() {
                "own"
            } else {
                "shared"
            }
            .into(),
            owner: record.owner.as_ref().map(ToString::to_string),
            provider: record.provider,
            label: record.label.clone(),
            base_url: record.base_url.clone(),
            models: record.models.clone(),
            features: record.features.clone(),
            priority: record.priority,
            status: health.status,
            key: record.masked(),
            consecutive_failures: health.consecutive_failures,
            cooldown_until: health.cooldown_until.map(Timestamp::to_rfc3339),
            last_used_at: health.last_used_at.map(Timestamp::to_rfc3339),
            last_failure_at: health.last_failure_at.map(Timestamp::to_rfc3339),
            last_error: health.last_error.clone(),
            calls,
            success_rate: (calls > 0).then(|| health.successes as f64 / calls as f64),
            mean_latency_ms: (health.successes > 0)
                .then(|| health.latency_ms_total / health.successes),
            tokens_in: health.tokens_in,
            tokens_out: health.tokens_out,
            cost_usd: health.cost_micro_usd as f64 / 1_000_000.0,
            created_at: record.created_at.clone(),
        }
    }
}

/// Which keys a listing covers.
#[derive(Debug, Clone)]
pub enum KeyScope {
    Shared,
    OwnedBy(UserId),
    /// Every key, shared and users' own (admins).
    All,
}

#[derive(Clone)]
pub struct KeyPool {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    master: Arc<MasterKey>,
    clock: Arc<dyn Clock>,
    keys: RwLock<Arc<Vec<Arc<PoolKey>>>>,
}

const MAX_LABEL: usize = 80;
const MAX_MODELS: usize = 32;
const MAX_FEATURES: usize = 32;

impl KeyPool {
    /// Reads every key row into memory.
    pub async fn load(
        store: Store,
        master: Arc<MasterKey>,
        clock: Arc<dyn Clock>,
    ) -> Result<KeyPool, PoolError> {
        let pool = KeyPool {
            inner: Arc::new(Inner {
                store,
                master,
                clock,
                keys: RwLock::new(Arc::new(Vec::new())),
            }),
        };
        pool.reload().await?;
        Ok(pool)
    }

    async fn reload(&self) -> Result<(), PoolError> {
        let loaded = self.inner.store.read(rows::load_all).await?;
        let previous = self.snapshot();
        // Live health survives a reload: rows may lag behind memory by a batch.
        let keys = loaded
            .into_iter()
            .map(
                |key| match previous.iter().find(|k| k.record.id == key.record.id) {
                    Some(old) => {
                        let mut health = old.health();
                        health.status = key.health().status;
                        Arc::new(PoolKey::new(key.record, key.sealed, health))
                    }
                    None => Arc::new(key),
                },
            )
            .collect();
        *self.inner.keys.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(keys);
        Ok(())
    }

    /// Every key, highest priority first.
    pub fn snapshot(&self) -> Arc<Vec<Arc<PoolKey>>> {
        self.inner
            .keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    pub fn find(&self, id: &str) -> Option<Arc<PoolKey>> {
        self.snapshot().iter().find(|k| k.record.id == id).cloned()
    }

    pub fn views(&self, scope: &KeyScope) -> Vec<KeyView> {
        self.snapshot()
            .iter()
            .filter(|k| match scope {
                KeyScope::Shared => k.record.owner.is_none(),
                KeyScope::OwnedBy(user) => k.record.owner.as_ref() == Some(user),
                KeyScope::All => true,
            })
            .map(|k| KeyView::of(k))
            .collect()
    }

    pub fn view(&self, id: &str) -> Option<KeyView> {
        self.find(id).map(|k| KeyView::of(&k))
    }

    /// Checks `new` before it is tested or stored: sizes, ids, duplicates.
    pub fn validate(&self, new: &NewKey) -> Result<(), PoolError> {
        let invalid = |m: &str| Err(PoolError::Invalid(m.to_string()));
        let secret = new.secret.trim();
        if secret.len() > 4096 || secret.chars().any(|c| c.is_control() || c == ' ') {
            return invalid("the key must be one line of printable characters without spaces");
        }
        if secret.is_empty() && new.provider != ProviderKind::Openai {
            return invalid(
                "a key is needed (only an OpenAI-compatible local server may have none)",
            );
        }
        if new.label.trim().is_empty() || new.label.chars().count() > MAX_LABEL {
            return invalid("the label must have 1 to 80 characters");
        }
        if new.models.len() > MAX_MODELS || new.models.iter().any(|m| !valid_model_id(m)) {
            return invalid(
                "models must be at most 32 provider model ids (letters, digits, . - _ : / @)",
            );
        }
        let tag_ok = |f: &String| {
            !f.is_empty()
                && f.len() <= 40
                && f.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
        };
        if new.features.len() > MAX_FEATURES || !new.features.iter().all(tag_ok) {
            return invalid("features must be lowercase tags such as chat, consensus or judge");
        }
        if !(-1000..=1000).contains(&new.priority) {
            return invalid("priority must be between -1000 and 1000");
        }
        if let Some(url) = &new.base_url {
            normalised_base_url(url)?;
        }
        let digest = digest(secret);
        if let Some(existing) = self.snapshot().iter().find(|k| {
            k.record.owner == new.owner
                && k.record.provider == new.provider
                && k.record.digest == digest
        }) {
            return Err(PoolError::Duplicate(existing.record.id.clone()));
        }
        Ok(())
    }

    /// Seals and stores a key (call [`KeyPool::validate`] and any test call first).
    pub async fn add(&self, new: NewKey) -> Result<KeyView, PoolError> {
        self.validate(&new)?;
        let id = format!("pk_{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
        let secret = new.secret.trim();
        let sealed = secrets::seal_str(
            &self.inner.master,
            secret,
            &associated_data(&id, new.provider, new.owner.as_ref()),
        )
        .map_err(|_| PoolError::Sealing)?;
        let base_url = match &new.base_url {
            Some(url) => normalised_base_url(url)?,
            None => new.provider.default_base_url().to_string(),
        };
        let row = rows::InsertRow {
            id: id.clone(),
            owner: new.owner.as_ref().map(ToString::to_string),
            provider: new.provider.as_str(),
            label: new.label.trim().to_string(),
            base_url,
            models: serde_json::to_string(&new.models).unwrap_or_else(|_| "[]".into()),
            features: serde_json::to_string(&new.features).unwrap_or_else(|_| "[]".into()),
            priority: new.priority,
            sealed,
            digest: digest(secret),
            last4: last4(secret),
            now: self.now().to_rfc3339(),
        };
        let inserted = self
            .inner
            .store
            .write(move |tx| match rows::insert(tx, &row) {
                Ok(()) => Ok(true),
                Err(e) if crate::identity::is_unique_violation(&e) => Ok(false),
                Err(e) => Err(e.into()),
            })
            .await?;
        if !inserted {
            return Err(PoolError::Duplicate("another key".into()));
        }
        self.reload().await?;
        self.view(&id).ok_or(PoolError::NotFound)
    }

    pub async fn delete(&self, id: &str) -> Result<KeyView, PoolError> {
        let view = self.view(id).ok_or(PoolError::NotFound)?;
        let key = id.to_string();
        self.inner
            .store
            .write(move |tx| {
                tx.execute("DELETE FROM provider_keys WHERE id = ?1", [key])?;
                Ok(())
            })
            .await?;
        self.reload().await?;
        Ok(view)
    }

    /// Sets a key's status by an admin's hand; `active` also clears its failures and cooldown.
    pub async fn set_status(&self, id: &str, status: KeyStatus) -> Result<KeyView, PoolError> {
        let key = self.find(id).ok_or(PoolError::NotFound)?;
        let health = {
            let mut health = key.lock();
            health.status = status;
            if status == KeyStatus::Active {
                health.consecutive_failures = 0;
                health.cooldown_until = None;
            }
            health.clone()
        };
        let (id_owned, now) = (id.to_string(), self.now().to_rfc3339());
        self.inner
            .store
            .write(move |tx| rows::save_health(tx, &id_owned, &health, &now))
            .await?;
        self.view(id).ok_or(PoolError::NotFound)
    }

    pub async fn set_priority(&self, id: &str, priority: i64) -> Result<KeyView, PoolError> {
        if !(-1000..=1000).contains(&priority) {
            return Err(PoolError::Invalid(
                "priority must be between -1000 and 1000".into(),
            ));
        }
        self.find(id).ok_or(PoolError::NotFound)?;
        let (key, now) = (id.to_string(), self.now().to_rfc3339());
        self.inner
            .store
            .write(move |tx| {
                tx.execute(
                    "UPDATE provider_keys SET priority = ?2, updated_at = ?3 WHERE id = ?1",
                    rusqlite::params![key, priority, now],
                )?;
                Ok(())
            })
            .await?;
        self.reload().await?;
        self.view(id).ok_or(PoolError::NotFound)
    }

    /// The key's secret, for the one call about to use it. Wiped when dropped.
    pub fn open_secret(&self, key: &PoolKey) -> Result<Zeroizing<String>, PoolError> {
        secrets::open_str(
            &self.inner.master,
            &key.sealed,
            &key.record.associated_data(),
        )
        .map_err(|_| PoolError::Sealing)
    }

    /// Marks a half-open probe as out, if the key is still available for one.
    pub fn claim_half_open(&self, key: &PoolKey, policy: &HealthPolicy) -> bool {
        let mut health = key.lock();
        if health.availability(self.now(), policy) == Availability::HalfOpen {
            health.probing = true;
            true
        } else {
            false
        }
    }

    /// Applies a call's outcome to the key's health and queues the row's update (batched,
    /// off the request path). A change of status or cooldown is queued at once; routine
    /// counters at most once a second per key, the rest by [`KeyPool::flush`]. Returns
    /// what changed.
    pub fn record(
        &self,
        key: &PoolKey,
        apply: impl FnOnce(&mut KeyHealth, Timestamp) -> HealthChange,
    ) -> HealthChange {
        let now = self.now();
        let (change, health, significant) = {
            let mut health = key.lock();
            let before = (health.status, health.cooldown_until);
            let change = apply(&mut health, now);
            let significant = (health.status, health.cooldown_until) != before;
            (change, health.clone(), significant)
        };
        let seconds = now.unix_seconds();
        if significant || key.persisted_at.load(Ordering::Relaxed) != seconds {
            key.persisted_at.store(seconds, Ordering::Relaxed);
            key.dirty.store(false, Ordering::Relaxed);
            self.persist(key, health, now);
        } else {
            key.dirty.store(true, Ordering::Relaxed);
        }
        change
    }

    fn persist(&self, key: &PoolKey, health: KeyHealth, now: Timestamp) {
        let (id, stamp) = (key.record.id.clone(), now.to_rfc3339());
        self.inner
            .store
            .enqueue(move |tx| rows::save_health(tx, &id, &health, &stamp));
    }

    /// Writes every key whose counters moved since their last write; at shutdown.
    pub fn flush(&self) {
        let now = self.now();
        for key in self.snapshot().iter() {
            if key.dirty.swap(false, Ordering::Relaxed) {
                self.persist(key, key.health(), now);
            }
        }
    }

    /// Whether `user` lets the shared pool serve them when they have keys of their own.
    pub async fn shared_fallback(&self, user: &UserId) -> Result<bool, PoolError> {
        let user = user.to_string();
        Ok(self
            .inner
            .store
            .read(move |c| rows::shared_fallback(c, &user))
            .await?)
    }

    pub async fn set_shared_fallback(&self, user: &UserId, allowed: bool) -> Result<(), PoolError> {
        let (user, now) = (user.to_string(), self.now().to_rfc3339());
        self.inner
            .store
            .write(move |tx| rows::set_shared_fallback(tx, &user, allowed, &now))
            .await?;
        Ok(())
    }
}

/// The sealed provider keys, for master key rotation.
pub const SEALED_PROVIDER_KEYS: crate::secrets::rotation::SealedColumn =
    crate::secrets::rotation::SealedColumn {
        name: "provider key",
        table: "provider_keys",
        column: "sealed_key",
        select: "SELECT rowid, sealed_key, id, provider, owner_user_id FROM provider_keys",
        associated_data: |row| {
            let (id, provider, owner): (String, String, Option<String>) =
                (row.get(2)?, row.get(3)?, row.get(4)?);
            Ok(match owner {
                None => format!("provider-key:{id}:{provider}").into_bytes(),
                Some(user) => format!("provider-key:{id}:{provider}:user:{user}").into_bytes(),
            })
        },
    };

fn digest(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn last4(secret: &str) -> String {
    let count = secret.chars().count();
    if count < 12 {
        return String::new();
    }
    secret.chars().skip(count - 4).collect()
}

/// An http(s) URL without a trailing slash, query or fragment; credentials in it refused.
pub fn normalised_base_url(url: &str) -> Result<String, PoolError> {
    let invalid = || {
        PoolError::Invalid(
            "base_url must be an http(s) URL without credentials, query or fragment".into(),
        )
    };
    let parsed = reqwest::Url::parse(url.trim()).map_err(|_| invalid())?;
    let fine = matches!(parsed.scheme(), "http" | "https")
        && parsed.username().is_empty()
        && parsed.password().is_none()
        && parsed.query().is_none()
        && parsed.fragment().is_none()
        && parsed.host_str().is_some();
    if !fine {
        return Err(invalid());
    }
    Ok(parsed.as_str().trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests;
