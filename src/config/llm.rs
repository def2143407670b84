//! Settings of the LLM provider layer, maintenance mode and admin notifications.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ConfigError;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmConfig {
    pub connect_timeout_secs: u64,
    /// Time allowed for a provider's response head.
    pub first_byte_timeout_secs: u64,
    /// Time allowed for a whole reply.
    pub total_timeout_secs: u64,
    /// Replies larger than this are refused as malformed.
    pub max_reply_bytes: usize,
    /// Keys tried for one request, across keys and providers (the client's own model comes
    /// after these).
    pub max_attempts: usize,
    /// Server errors or timeouts in a row that mark a key degraded.
    pub failures_before_degraded: u32,
    /// How long a key rests after a 429 that named no `Retry-After`.
    pub default_cooldown_secs: u64,
    /// How often the health monitor probes degraded keys.
    pub health_check_interval_secs: u64,
    /// A degraded key gets one live request (a half-open probe) this long after its last
    /// failure, so it can recover between health checks.
    pub half_open_after_secs: u64,
    /// Features whose total failure puts the server into maintenance.
    pub critical_features: Vec<String>,
    /// Price per model id (as the key lists it), in US dollars per million tokens.
    pub prices: BTreeMap<String, ModelPrice>,
}

impl Default for LlmConfig {
    fn default() -> Self {
        Self {
            connect_timeout_secs: 5,
            first_byte_timeout_secs: 60,
            total_timeout_secs: 120,
            max_reply_bytes: 8 * 1024 * 1024,
            max_attempts: 3,
            failures_before_degraded: 5,
            default_cooldown_secs: 60,
            health_check_interval_secs: 300,
            half_open_after_secs: 30,
            critical_features: vec!["chat".into()],
            prices: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelPrice {
    pub input_per_million_usd: f64,
    pub output_per_million_usd: f64,
}

impl LlmConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            ("llm.connect_timeout_secs", self.connect_timeout_secs),
            ("llm.first_byte_timeout_secs", self.first_byte_timeout_secs),
            ("llm.total_timeout_secs", self.total_timeout_secs),
            (
                "llm.health_check_interval_secs",
                self.health_check_interval_secs,
            ),
        ];
        for (field, value) in positive {
            if value == 0 {
                return Err(ConfigError::Invalid {
                    field,
                    message: "must be at least 1".into(),
                });
            }
        }
        if !(1..=10).contains(&self.max_attempts) {
            return Err(ConfigError::Invalid {
                field: "llm.max_attempts",
                message: "must be between 1 and 10".into(),
            });
        }
        if self.failures_before_degraded == 0 {
            return Err(ConfigError::Invalid {
                field: "llm.failures_before_degraded",
                message: "must be at least 1".into(),
            });
        }
        for (model, price) in &self.prices {
            let fine = |v: f64| v.is_finite() && v >= 0.0;
            if !fine(price.input_per_million_usd) || !fine(price.output_per_million_usd) {
                return Err(ConfigError::Invalid {
                    field: "llm.prices",
                    message: format!("{model}: prices must be finite and not negative"),
                });
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MaintenanceConfig {
    /// Features paused in soft maintenance (the model-backed ones); deterministic tools go on.
    pub heavy_features: Vec<String>,
    /// Enter soft maintenance by itself when every key of a critical feature has failed,
    /// and leave it when the health monitor brings one back.
    pub automatic: bool,
}

impl Default for MaintenanceConfig {
    fn default() -> Self {
        Self {
            heavy_features: [
                "chat",
                "consensus",
                "flashcard",
                "mcq",
                "highyield",
                "explain",
                "map",
                "case",
                "narrative",
                "judge",
            ]
            .map(String::from)
            .to_vec(),
            automatic: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotificationsConfig {
    pub webhooks: Vec<WebhookTarget>,
    /// Deliveries tried per event and target (the first try included).
    pub attempts: u32,
    /// The wait before the second try; it doubles each time.
    pub first_retry_secs: u64,
}

impl Default for NotificationsConfig {
    fn default() -> Self {
        Self {
            webhooks: Vec::new(),
            attempts: 4,
            first_retry_secs: 2,
        }
    }
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookTarget {
    pub url: String,
    /// Signs each body: `X-Consilium-Signature: sha256=<hex HMAC-SHA256>`.
    pub secret: String,
}

impl std::fmt::Debug for WebhookTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookTarget")
            .field("url", &self.url)
            .field("secret", &"****")
            .finish()
    }
}

impl NotificationsConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        for target in &self.webhooks {
            let scheme_ok = target.url.starts_with("https://") || target.url.starts_with("http://");
            if !scheme_ok || reqwest::Url::parse(&target.url).is_err() {
                return Err(ConfigError::Invalid {
                    field: "notifications.webhooks",
                    message: format!("{:?} is not an http(s) URL", target.url),
                });
            }
            if target.secret.len() < 16 {
                return Err(ConfigError::Invalid {
                    field: "notifications.webhooks",
                    message: "each webhook needs a secret of at least 16 characters".into(),
                });
            }
        }
        if !(1..=10).contains(&self.attempts) {
            return Err(ConfigError::Invalid {
                field: "notifications.attempts",
                message: "must be between 1 and 10".into(),
            });
        }
        Ok(())
    }
}
