//! The platform's switches that outlive a restart: maintenance mode and features switched
//! off at run time.
//!
//! Maintenance is `off`, `soft` (results carry a banner; the model-backed "heavy" features
//! pause) or `hard` (every non-admin call is refused with `MAINTENANCE`). Admins enter and
//! leave it by hand; the router enters soft maintenance by itself when every key of a
//! critical feature has failed, and the health monitor leaves it when keys come back — but
//! never leaves a maintenance an admin entered. Every change is persisted in
//! `platform_state`, audited and sent to the admins' webhooks. This module decides nothing
//! about keys or users; it only holds and applies the switches.

use std::sync::{Arc, RwLock};

use rusqlite::params;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit::{AuditEntry, AuditLog};
use crate::config::MaintenanceConfig;
use crate::identity::Clock;
use crate::metering::FeatureSwitches;
use crate::notify::Notifier;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum MaintenanceError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MaintenanceMode {
    Off,
    Soft,
    Hard,
}

impl MaintenanceMode {
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "off" => Some(Self::Off),
            "soft" => Some(Self::Soft),
            "hard" => Some(Self::Hard),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MaintenanceState {
    pub mode: MaintenanceMode,
    /// What users are told.
    pub message: String,
    /// When it is expected to end, as the admin wrote it (free text or RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// `true` when the server entered it by itself (and may leave it by itself).
    pub automatic: bool,
    /// The critical feature whose keys all failed, for an automatic maintenance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature: Option<String>,
}

impl MaintenanceState {
    fn off() -> Self {
        Self {
            mode: MaintenanceMode::Off,
            message: String::new(),
            eta: None,
            since: None,
            automatic: false,
            feature: None,
        }
    }
}

/// Why a call may not run now.
#[derive(Debug, Clone, PartialEq)]
pub struct MaintenanceRefusal {
    pub message: String,
    pub eta: Option<String>,
    pub mode: MaintenanceMode,
}

const STATE_ROW: &str = "maintenance";
const FEATURE_PREFIX: &str = "feature:";

#[derive(Clone)]
pub struct Maintenance {
    inner: Arc<Inner>,
}

struct Inner {
    state: RwLock<Arc<MaintenanceState>>,
    store: Store,
    audit: AuditLog,
    notifier: Notifier,
    config: MaintenanceConfig,
    clock: Arc<dyn Clock>,
    switches: FeatureSwitches,
    changing: tokio::sync::Mutex<()>,
}

pub struct MaintenanceParts {
    pub store: Store,
    pub audit: AuditLog,
    pub notifier: Notifier,
    pub config: MaintenanceConfig,
    pub clock: Arc<dyn Clock>,
    pub switches: FeatureSwitches,
}

impl Maintenance {
    /// Reads the persisted state and applies the persisted feature switches.
    pub async fn load(parts: MaintenanceParts) -> Result<Maintenance, MaintenanceError> {
        let rows: Vec<(String, String)> = parts
            .store
            .read(|c| {
                let mut statement = c.prepare("SELECT name, value FROM platform_state")?;
                let rows = statement
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await?;
        let mut state = MaintenanceState::off();
        for (name, value) in rows {
            if name == STATE_ROW {
                match serde_json::from_str(&value) {
                    Ok(stored) => state = stored,
                    Err(_) => tracing::warn!(
                        "the stored maintenance state is unreadable; starting with maintenance off"
                    ),
                }
            } else if let Some(feature) = name.strip_prefix(FEATURE_PREFIX) {
                let enabled = serde_json::from_str::<serde_json::Value>(&value)
                    .ok()
                    .and_then(|v| v.get("enabled").and_then(serde_json::Value::as_bool))
                    .unwrap_or(true);
                parts.switches.set(feature, enabled);
            }
        }
        if state.mode != MaintenanceMode::Off {
            tracing::warn!(mode = ?state.mode, message = %state.message, "the server is in maintenance");
        }
        Ok(Maintenance {
            inner: Arc::new(Inner {
                state: RwLock::new(Arc::new(state)),
                store: parts.store,
                audit: parts.audit,
                notifier: parts.notifier,
                config: parts.config,
                clock: parts.clock,
                switches: parts.switches,
                changing: tokio::sync::Mutex::new(()),
            }),
        })
    }

    pub fn state(&self) -> Arc<MaintenanceState> {
        self.inner
            .state
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn is_heavy(&self, feature: &str) -> bool {
        self.inner
            .config
            .heavy_features
            .iter()
            .any(|f| f == feature)
    }

    /// Whether a call of `feature` by a (non-)admin may run now. Admins always may.
    pub fn refusal(&self, is_admin: bool, feature: Option<&str>) -> Option<MaintenanceRefusal> {
        let state = self.state();
        let refused = match state.mode {
            MaintenanceMode::Off => false,
            MaintenanceMode::Hard => !is_admin,
            MaintenanceMode::Soft => !is_admin && feature.is_some_and(|f| self.is_heavy(f)),
        };
        refused.then(|| MaintenanceRefusal {
            message: state.message.clone(),
            eta: state.eta.clone(),
            mode: state.mode,
        })
    }

    /// The line soft maintenance adds to results, if any.
    pub fn banner(&self) -> Option<String> {
        let state = self.state();
        (state.mode != MaintenanceMode::Off).then(|| match &state.eta {
            Some(eta) => format!("Maintenance: {} (expected to end {eta})", state.message),
            None => format!("Maintenance: {}", state.message),
        })
    }

    /// An admin enters or leaves maintenance. `audit` names the admin.
    pub async fn set_by_admin(
        &self,
        mode: MaintenanceMode,
        message: Option<String>,
        eta: Option<String>,
        audit: AuditEntry,
    ) -> Result<Arc<MaintenanceState>, MaintenanceError> {
        let message = message.map(|m| m.trim().to_string()).unwrap_or_default();
        if message.chars().count() > 500 || eta.as_ref().is_some_and(|e| e.chars().count() > 100) {
            return Err(MaintenanceError::Invalid(
                "the message may have at most 500 characters and the eta 100".into(),
            ));
        }
        let state = match mode {
            MaintenanceMode::Off => MaintenanceState::off(),
            mode => MaintenanceState {
                mode,
                message: if message.is_empty() {
                    "The server is under maintenance.".into()
                } else {
                    message
                },
                eta,
                since: Some(self.inner.clock.now().to_rfc3339()),
                automatic: false,
                feature: None,
            },
        };
        let _changing = self.inner.changing.lock().await;
        let previous = self.state();
        self.persist(&state).await?;
        let details = json!({ "from": previous.mode, "to": state.mode, "message": state.message, "eta": state.eta });
        self.record(audit.details(details.clone())).await;
        self.inner.notifier.notify(
            "admin_override",
            format!("an admin set maintenance to {:?}", state.mode).to_lowercase(),
            details,
        );
        Ok(self.state())
    }

    /// Enters soft maintenance because every key of `feature` has failed, unless some
    /// maintenance is already on.
    pub async fn enter_automatic(&self, feature: &str) {
        if !self.inner.config.automatic || self.state().mode != MaintenanceMode::Off {
            return;
        }
        let _changing = self.inner.changing.lock().await;
        if self.state().mode != MaintenanceMode::Off {
            return;
        }
        let state = MaintenanceState {
            mode: MaintenanceMode::Soft,
            message: format!(
                "Every provider key for {feature} is failing; model-backed tools are paused until one recovers. Deterministic tools work as usual."
            ),
            eta: None,
            since: Some(self.inner.clock.now().to_rfc3339()),
            automatic: true,
            feature: Some(feature.to_string()),
        };
        if let Err(error) = self.persist(&state).await {
            tracing::warn!(%error, "automatic maintenance could not be saved; it holds until restart");
        }
        let details = json!({ "mode": "soft", "feature": feature, "automatic": true });
        self.record(AuditEntry::new("system", "maintenance.entered").details(details.clone()))
            .await;
        self.inner
            .notifier
            .notify("maintenance_entered", state.message.clone(), details);
    }

    /// Leaves a maintenance the server entered by itself.
    pub async fn leave_automatic(&self) {
        if !self.state().automatic {
            return;
        }
        let _changing = self.inner.changing.lock().await;
        let previous = self.state();
        if !previous.automatic {
            return;
        }
        if let Err(error) = self.persist(&MaintenanceState::off()).await {
            tracing::warn!(%error, "leaving maintenance could not be saved");
        }
        let details = json!({ "feature": previous.feature, "automatic": true });
        self.record(AuditEntry::new("system", "maintenance.left").details(details.clone()))
            .await;
        self.inner.notifier.notify(
            "maintenance_left",
            "provider keys recovered; maintenance is over",
            details,
        );
    }

    /// Switches a feature on or off for everyone; persisted and audited. Says whether it
    /// changed anything.
    pub async fn set_feature(
        &self,
        feature: &str,
        enabled: bool,
        audit: AuditEntry,
    ) -> Result<bool, MaintenanceError> {
        let valid = !feature.is_empty()
            && feature.len() <= 40
            && feature
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Err(MaintenanceError::Invalid(
                "a feature is a lowercase tag such as chat, consensus or mcq".into(),
            ));
        }
        let (name, value, now) = (
            format!("{FEATURE_PREFIX}{feature}"),
            json!({ "enabled": enabled }).to_string(),
            self.inner.clock.now().to_rfc3339(),
        );
        self.inner
            .store
            .write(move |tx| {
                tx.execute(
                    "INSERT INTO platform_state (name, value, updated_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (name) DO UPDATE SET value = ?2, updated_at = ?3",
                    params![name, value, now],
                )?;
                Ok(())
            })
            .await?;
        let changed = self.inner.switches.set(feature, enabled);
        let details = json!({ "feature": feature, "enabled": enabled });
        self.record(audit.details(details.clone())).await;
        if changed {
            self.inner.notifier.notify(
                "admin_override",
                format!(
                    "an admin switched {feature} {}",
                    if enabled { "on" } else { "off" }
                ),
                details,
            );
        }
        Ok(changed)
    }

    pub fn disabled_features(&self) -> Vec<String> {
        self.inner.switches.disabled()
    }

    async fn persist(&self, state: &MaintenanceState) -> Result<(), MaintenanceError> {
        let value =
            serde_json::to_string(state).map_err(|e| MaintenanceError::Invalid(e.to_string()))?;
        let now = self.inner.clock.now().to_rfc3339();
        self.inner
            .store
            .write(move |tx| {
                tx.execute(
                    "INSERT INTO platform_state (name, value, updated_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (name) DO UPDATE SET value = ?2, updated_at = ?3",
                    params![STATE_ROW, value, now],
                )?;
                Ok(())
            })
            .await?;
        *self.inner.state.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(state.clone());
        Ok(())
    }

    async fn record(&self, entry: AuditEntry) {
        if let Err(error) = self.inner.audit.record(entry).await {
            tracing::warn!(%error, "a maintenance change could not be audited");
        }
    }
}
