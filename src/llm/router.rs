//! Choosing who answers a request, and living with failure.
//!
//! For a request (feature, optional provider or model, user) the order is: the user's own
//! keys, then — if they have none, or allow it — the shared keys by priority among the
//! active ones not cooling down (degraded keys last, one half-open probe at a time), then
//! the client's model through sampling. At most `llm.max_attempts` keys are tried. 401/403
//! disables a key and alerts the admins; 429 cools it down for its `Retry-After`; server
//! errors and timeouts count, and enough in a row degrade it. Keys are chosen per feature,
//! so one feature's failing keys never block another's. When every shared key of a
//! critical feature has failed, the server enters soft maintenance.
//!
//! The router must not keep a key's secret beyond the call it opened it for, nor put one in
//! an error, a log line or an event.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::json;

use super::client_model::ClientModel;
use super::failure::{FailureKind, ProviderFailure};
use super::pool::{Availability, EMBEDDING_FEATURE, HealthChange, HealthPolicy, KeyPool, PoolKey};
use super::providers::{ProviderKind, Target};
use super::request::{CompletionRequest, TimedCompletion, TokenUsage};
use super::upstream::Upstream;
use crate::config::LlmConfig;
use crate::identity::UserId;
use crate::maintenance::Maintenance;
use crate::notify::Notifier;

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A provider key of the caller's own.
    OwnKey,
    /// A key of the server's shared pool.
    SharedPool,
    /// The connected client's model, through MCP sampling.
    ClientModel,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::OwnKey => "own_key",
            Source::SharedPool => "shared_pool",
            Source::ClientModel => "client_model",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ServedBy {
    pub source: Source,
    /// `openai`, `anthropic`, `gemini`, or `client` for the client's model.
    pub provider: String,
    /// The model as the provider named it in its reply.
    pub model: String,
    /// The pool key's id (never the key), when a key served.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

/// One try, as reported to the caller and the logs.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Attempt {
    pub source: Source,
    pub provider: String,
    pub model: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// `ok`, or the failure's kind (`auth`, `rate_limited`, `timeout`…).
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub latency_ms: u64,
}

#[derive(Debug, Clone)]
pub struct Routed {
    pub text: String,
    pub served_by: ServedBy,
    pub usage: TokenUsage,
    pub cost_micro_usd: u64,
    pub attempts: Vec<Attempt>,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum RouteError {
    #[error("no provider key serves {feature} and the client offers no model of its own")]
    NoRoute { feature: String, detail: String },
    #[error("every provider tried for {feature} failed")]
    AllFailed {
        feature: String,
        attempts: Vec<Attempt>,
    },
}

/// Vectors from an embedding key, one per input in order.
#[derive(Debug, Clone)]
pub struct RoutedEmbeddings {
    pub vectors: Vec<Vec<f32>>,
    /// The model asked for: what to pin later embeddings to, so they stay comparable.
    pub model: String,
    pub served_by: ServedBy,
    pub usage: TokenUsage,
    pub cost_micro_usd: u64,
    pub attempts: Vec<Attempt>,
}

/// What one key is asked for.
#[derive(Clone, Copy)]
enum Ask<'r> {
    Complete(&'r CompletionRequest),
    Embed(&'r [String]),
}

enum Answer {
    Text(String),
    Vectors(Vec<Vec<f32>>),
}

/// A key's successful answer with who gave it and what it cost.
struct Served {
    answer: Answer,
    /// The model asked for (the provider may name it more specifically in `served_by`).
    asked_model: String,
    served_by: ServedBy,
    usage: TokenUsage,
    cost_micro_usd: u64,
}

/// The text embedded to test or probe an embedding key.
const PROBE_TEXT: &str = "ok";

/// What a caller wants served.
pub struct Route<'a> {
    pub feature: &'a str,
    pub user: &'a UserId,
    pub provider: Option<ProviderKind>,
    pub model: Option<&'a str>,
    /// The client's model, when its client declared sampling.
    pub client_model: Option<ClientModel>,
    /// Ask the client's model before any key.
    pub prefer_client_model: bool,
}

#[derive(Clone)]
pub struct Router {
    inner: Arc<Inner>,
}

struct Inner {
    pool: KeyPool,
    upstream: Upstream,
    config: LlmConfig,
    notifier: Notifier,
    maintenance: Maintenance,
    /// When the last failover event went out (unix seconds), so a flapping key does not
    /// flood the admins: at most one a minute.
    last_failover_event: AtomicI64,
}

pub struct RouterParts {
    pub pool: KeyPool,
    pub upstream: Upstream,
    pub config: LlmConfig,
    pub notifier: Notifier,
    pub maintenance: Maintenance,
}

impl Router {
    pub fn new(parts: RouterParts) -> Router {
        Router {
            inner: Arc::new(Inner {
                pool: parts.pool,
                upstream: parts.upstream,
                config: parts.config,
                notifier: parts.notifier,
                maintenance: parts.maintenance,
                last_failover_event: AtomicI64::new(0),
            }),
        }
    }

    pub fn pool(&self) -> &KeyPool {
        &self.inner.pool
    }

    pub fn config(&self) -> &LlmConfig {
        &self.inner.config
    }

    pub fn policy(&self) -> HealthPolicy {
        HealthPolicy {
            failures_before_degraded: self.inner.config.failures_before_degraded,
            default_cooldown_secs: self.inner.config.default_cooldown_secs,
            half_open_after_secs: self.inner.config.half_open_after_secs,
        }
    }

    /// The timeout for the client's model: the provider's total limit.
    pub fn client_model_timeout(&self) -> Duration {
        Duration::from_secs(self.inner.config.total_timeout_secs)
    }

    /// Serves `request` as `route` says, trying keys in order.
    pub async fn complete(
        &self,
        route: Route<'_>,
        request: &CompletionRequest,
    ) -> Result<Routed, RouteError> {
        let mut attempts = Vec::new();
        if route.prefer_client_model
            && let Some(client) = &route.client_model
            && let Some(routed) = self
                .ask_client(client, &route, request, &mut attempts)
                .await
        {
            return Ok(routed);
        }
        let candidates = self.candidates(&route).await;
        let had_keys = !candidates.is_empty();
        for (key, source) in candidates.into_iter().take(self.inner.config.max_attempts) {
            if let Some(served) = self
                .try_key(&key, source, &route, Ask::Complete(request), &mut attempts)
                .await
            {
                let Answer::Text(text) = served.answer else {
                    continue;
                };
                let routed = Routed {
                    text,
                    served_by: served.served_by,
                    usage: served.usage,
                    cost_micro_usd: served.cost_micro_usd,
                    attempts: attempts.clone(),
                };
                if attempts.len() > 1 {
                    self.failover_event(route.feature, &routed, &attempts);
                }
                return Ok(routed);
            }
        }
        if had_keys {
            self.consider_maintenance(route.feature).await;
        }
        if !route.prefer_client_model
            && let Some(client) = &route.client_model
            && let Some(routed) = self
                .ask_client(client, &route, request, &mut attempts)
                .await
        {
            return Ok(routed);
        }
        if attempts.is_empty() {
            return Err(RouteError::NoRoute {
                feature: route.feature.to_string(),
                detail: "add a provider key (yours or the shared pool's) for this feature, or use a client that supports MCP sampling".into(),
            });
        }
        Err(RouteError::AllFailed {
            feature: route.feature.to_string(),
            attempts,
        })
    }

    /// Embeds `inputs` with a key serving [`EMBEDDING_FEATURE`]: the user's own first, then
    /// the shared pool's, with the same failover as completions. `route.model` pins the
    /// model, so vectors stay comparable with ones stored earlier. Clients cannot embed
    /// through sampling, so there is no fallback to the client's model.
    pub async fn embed(
        &self,
        user: &UserId,
        model: Option<&str>,
        inputs: &[String],
    ) -> Result<RoutedEmbeddings, RouteError> {
        let route = Route {
            feature: EMBEDDING_FEATURE,
            user,
            provider: None,
            model,
            client_model: None,
            prefer_client_model: false,
        };
        let mut attempts = Vec::new();
        for (key, source) in self
            .candidates(&route)
            .await
            .into_iter()
            .take(self.inner.config.max_attempts)
        {
            if let Some(served) = self
                .try_key(&key, source, &route, Ask::Embed(inputs), &mut attempts)
                .await
            {
                let Answer::Vectors(vectors) = served.answer else {
                    continue;
                };
                return Ok(RoutedEmbeddings {
                    vectors,
                    model: served.asked_model,
                    served_by: served.served_by,
                    usage: served.usage,
                    cost_micro_usd: served.cost_micro_usd,
                    attempts,
                });
            }
        }
        if attempts.is_empty() {
            return Err(RouteError::NoRoute {
                feature: EMBEDDING_FEATURE.to_string(),
                detail: match model {
                    Some(model) => format!("no provider key lists the embedding model {model}"),
                    None => {
                        "add a provider key with the feature `embedding` and an embedding model"
                            .into()
                    }
                },
            });
        }
        Err(RouteError::AllFailed {
            feature: EMBEDDING_FEATURE.to_string(),
            attempts,
        })
    }

    /// The models that could serve `user` for `feature`, as (provider, model) pairs
    /// without repeats, best key first: what a panel is chosen from.
    pub async fn offered_models(
        &self,
        user: &UserId,
        feature: &str,
    ) -> Vec<(ProviderKind, String)> {
        let route = Route {
            feature,
            user,
            provider: None,
            model: None,
            client_model: None,
            prefer_client_model: false,
        };
        let mut offered: Vec<(ProviderKind, String)> = Vec::new();
        for (key, _) in self.candidates(&route).await {
            for model in &key.record.models {
                let pair = (key.record.provider, model.clone());
                if !offered.contains(&pair) {
                    offered.push(pair);
                }
            }
        }
        offered
    }

    /// The keys to try, best first: own keys, then shared ones if allowed; ready keys by
    /// priority, then degraded keys due a half-open probe.
    async fn candidates(&self, route: &Route<'_>) -> Vec<(Arc<PoolKey>, Source)> {
        let pool = &self.inner.pool;
        let snapshot = pool.snapshot();
        let now = pool.now();
        let policy = self.policy();
        let fits = |key: &PoolKey| {
            key.record.serves(route.feature)
                && route.provider.is_none_or(|p| p == key.record.provider)
                && key.record.model_for(route.model).is_some()
        };
        let ordered = |owner: Option<&UserId>| {
            let mut ready = Vec::new();
            let mut half_open = Vec::new();
            for key in snapshot
                .iter()
                .filter(|k| k.record.owner.as_ref() == owner && fits(k))
            {
                match key.health().availability(now, &policy) {
                    Availability::Ready => ready.push(key.clone()),
                    Availability::HalfOpen => half_open.push(key.clone()),
                    Availability::Unavailable => {}
                }
            }
            ready.extend(half_open);
            ready
        };
        let own = ordered(Some(route.user));
        let has_own_keys = snapshot
            .iter()
            .any(|k| k.record.owner.as_ref() == Some(route.user));
        let shared_allowed = !has_own_keys
            || match pool.shared_fallback(route.user).await {
                Ok(allowed) => allowed,
                Err(error) => {
                    tracing::warn!(%error, "a user's shared-pool preference could not be read; not falling back");
                    false
                }
            };
        let mut candidates: Vec<(Arc<PoolKey>, Source)> =
            own.into_iter().map(|k| (k, Source::OwnKey)).collect();
        if shared_allowed {
            candidates.extend(ordered(None).into_iter().map(|k| (k, Source::SharedPool)));
        }
        candidates
    }

    async fn try_key(
        &self,
        key: &Arc<PoolKey>,
        source: Source,
        route: &Route<'_>,
        ask: Ask<'_>,
        attempts: &mut Vec<Attempt>,
    ) -> Option<Served> {
        let pool = &self.inner.pool;
        let policy = self.policy();
        if key.health().status == super::pool::KeyStatus::Degraded
            && !pool.claim_half_open(key, &policy)
        {
            return None;
        }
        let model = key.record.model_for(route.model)?;
        let result = match pool.open_secret(key) {
            Ok(secret) => {
                let target = Target {
                    base_url: &key.record.base_url,
                    model: &model,
                    key: secret.as_str(),
                };
                self.send(key.record.provider, &target, ask).await
            }
            Err(_) => Err(ProviderFailure::new(
                FailureKind::Auth,
                "the stored key cannot be opened under this server's master key",
            )),
        };
        let attempt = |outcome: String, status: Option<u16>, latency: Duration| Attempt {
            source,
            provider: key.record.provider.to_string(),
            model: model.clone(),
            key_id: Some(key.record.id.clone()),
            outcome,
            status,
            latency_ms: latency.as_millis() as u64,
        };
        match result {
            Ok((answer, answered_model, usage, latency)) => {
                let cost = self.cost_micro_usd(&model, usage);
                let latency_ms = latency.as_millis() as u64;
                let change = pool.record(key, |health, now| {
                    health.on_success(now, latency_ms, usage, cost)
                });
                self.announce(key, change, None);
                attempts.push(attempt("ok".into(), None, latency));
                Some(Served {
                    answer,
                    asked_model: model.clone(),
                    served_by: ServedBy {
                        source,
                        provider: key.record.provider.to_string(),
                        model: if answered_model.is_empty() {
                            model.clone()
                        } else {
                            answered_model
                        },
                        key_id: Some(key.record.id.clone()),
                    },
                    usage,
                    cost_micro_usd: cost,
                })
            }
            Err(failure) => {
                tracing::warn!(
                    key_id = %key.record.id, provider = %key.record.provider, model = %model,
                    failure = %failure, "a provider call failed"
                );
                let change =
                    pool.record(key, |health, now| health.on_failure(now, &failure, &policy));
                self.announce(key, change, Some(&failure));
                attempts.push(attempt(
                    failure.kind.as_str().into(),
                    failure.status,
                    Duration::ZERO,
                ));
                None
            }
        }
    }

    /// One call to a provider: the answer, the model the provider named, usage and latency.
    async fn send(
        &self,
        provider: ProviderKind,
        target: &Target<'_>,
        ask: Ask<'_>,
    ) -> Result<(Answer, String, TokenUsage, Duration), ProviderFailure> {
        let upstream = &self.inner.upstream;
        match ask {
            Ask::Complete(request) => upstream
                .complete(provider.wire(), target, request)
                .await
                .map(|done| {
                    let c = done.completion;
                    (Answer::Text(c.text), c.model, c.usage, done.latency)
                }),
            Ask::Embed(inputs) => {
                upstream
                    .embed(provider.wire(), target, inputs)
                    .await
                    .map(|done| {
                        let e = done.embeddings;
                        (Answer::Vectors(e.vectors), e.model, e.usage, done.latency)
                    })
            }
        }
    }

    async fn ask_client(
        &self,
        client: &ClientModel,
        route: &Route<'_>,
        request: &CompletionRequest,
        attempts: &mut Vec<Attempt>,
    ) -> Option<Routed> {
        match client.complete(request, route.model).await {
            Ok(TimedCompletion {
                completion,
                latency,
            }) => {
                attempts.push(Attempt {
                    source: Source::ClientModel,
                    provider: "client".into(),
                    model: completion.model.clone(),
                    key_id: None,
                    outcome: "ok".into(),
                    status: None,
                    latency_ms: latency.as_millis() as u64,
                });
                Some(Routed {
                    text: completion.text,
                    served_by: ServedBy {
                        source: Source::ClientModel,
                        provider: "client".into(),
                        model: completion.model,
                        key_id: None,
                    },
                    usage: completion.usage,
                    cost_micro_usd: 0,
                    attempts: attempts.clone(),
                })
            }
            Err(failure) => {
                attempts.push(Attempt {
                    source: Source::ClientModel,
                    provider: "client".into(),
                    model: route.model.unwrap_or_default().to_string(),
                    key_id: None,
                    outcome: failure.kind.as_str().into(),
                    status: None,
                    latency_ms: 0,
                });
                None
            }
        }
    }

    /// Probes one key with the smallest request and records the outcome, as the health
    /// monitor and the admins' test do.
    pub async fn probe(&self, key: &Arc<PoolKey>) -> Result<Duration, ProviderFailure> {
        let pool = &self.inner.pool;
        let Some(model) = key.record.model_for(None) else {
            return Err(ProviderFailure::new(
                FailureKind::Rejected,
                "the key lists no model to test with",
            ));
        };
        let secret = pool.open_secret(key).map_err(|_| {
            ProviderFailure::new(FailureKind::Auth, "the stored key cannot be opened")
        })?;
        let target = Target {
            base_url: &key.record.base_url,
            model: &model,
            key: secret.as_str(),
        };
        let policy = self.policy();
        let probe_request = CompletionRequest::probe();
        let probe_text = [PROBE_TEXT.to_string()];
        let ask = if key.record.embedding_only() {
            Ask::Embed(&probe_text)
        } else {
            Ask::Complete(&probe_request)
        };
        match self.send(key.record.provider, &target, ask).await {
            Ok((_, _, usage, latency)) => {
                let latency_ms = latency.as_millis() as u64;
                let cost = self.cost_micro_usd(&model, usage);
                let change = pool.record(key, |h, now| h.on_success(now, latency_ms, usage, cost));
                self.announce(key, change, None);
                Ok(latency)
            }
            Err(failure) => {
                let change = pool.record(key, |h, now| h.on_failure(now, &failure, &policy));
                self.announce(key, change, Some(&failure));
                Err(failure)
            }
        }
    }

    /// Tests a key that is not stored yet (before adding it): with an embedding when it is
    /// for embeddings only, else with the one-token completion.
    pub async fn test_secret(
        &self,
        provider: ProviderKind,
        base_url: &str,
        model: &str,
        secret: &str,
        embedding_only: bool,
    ) -> Result<Duration, ProviderFailure> {
        let target = Target {
            base_url,
            model,
            key: secret,
        };
        let probe_request = CompletionRequest::probe();
        let probe_text = [PROBE_TEXT.to_string()];
        let ask = if embedding_only {
            Ask::Embed(&probe_text)
        } else {
            Ask::Complete(&probe_request)
        };
        self.send(provider, &target, ask)
            .await
            .map(|(_, _, _, latency)| latency)
    }

    /// One round of the health monitor: probes every degraded key, then leaves an automatic
    /// maintenance if its feature has a working key again.
    pub async fn check_health(&self) {
        let degraded: Vec<Arc<PoolKey>> = self
            .inner
            .pool
            .snapshot()
            .iter()
            .filter(|k| k.health().status == super::pool::KeyStatus::Degraded)
            .cloned()
            .collect();
        for key in degraded {
            if let Err(failure) = self.probe(&key).await {
                tracing::info!(key_id = %key.record.id, %failure, "a degraded key is still failing");
            }
        }
        self.reconsider_maintenance().await;
    }

    async fn reconsider_maintenance(&self) {
        let state = self.inner.maintenance.state();
        if !state.automatic {
            return;
        }
        let Some(feature) = &state.feature else {
            return;
        };
        if self.shared_ready(feature) {
            self.inner.maintenance.leave_automatic().await;
        }
    }

    fn shared_ready(&self, feature: &str) -> bool {
        let now = self.inner.pool.now();
        let policy = self.policy();
        self.inner.pool.snapshot().iter().any(|k| {
            k.record.owner.is_none()
                && k.record.serves(feature)
                && k.health().availability(now, &policy) == Availability::Ready
        })
    }

    async fn consider_maintenance(&self, feature: &str) {
        let critical = self
            .inner
            .config
            .critical_features
            .iter()
            .any(|f| f == feature);
        let has_shared = self
            .inner
            .pool
            .snapshot()
            .iter()
            .any(|k| k.record.owner.is_none() && k.record.serves(feature));
        if critical && has_shared && !self.shared_ready(feature) {
            self.inner.maintenance.enter_automatic(feature).await;
        }
    }

    /// Runs [`Router::check_health`] every `llm.health_check_interval_secs` until the
    /// token is cancelled.
    pub fn start_monitor(&self, stop: tokio_util::sync::CancellationToken) {
        let router = self.clone();
        let every = Duration::from_secs(self.inner.config.health_check_interval_secs.max(1));
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = ticks.tick() => router.check_health().await,
                }
            }
        });
    }

    /// Micro-dollars for `usage` on `model`, from `llm.prices`; zero for an unpriced model.
    pub fn cost_micro_usd(&self, model: &str, usage: TokenUsage) -> u64 {
        price_micro_usd(self.inner.config.prices.get(model), usage)
    }

    fn announce(&self, key: &PoolKey, change: HealthChange, failure: Option<&ProviderFailure>) {
        let (event, message) = match change {
            HealthChange::Disabled => (
                "key_disabled",
                "a provider refused a key; it is disabled until an admin restores it",
            ),
            HealthChange::Degraded => (
                "key_degraded",
                "a provider key failed repeatedly and is degraded",
            ),
            HealthChange::Recovered => ("key_recovered", "a degraded provider key answers again"),
            HealthChange::None | HealthChange::CoolingDown => return,
        };
        self.inner.notifier.notify(
            event,
            message,
            json!({
                "key_id": key.record.id,
                "key": key.record.masked(),
                "provider": key.record.provider,
                "label": key.record.label,
                "pool": if key.record.owner.is_some() { "own" } else { "shared" },
                "failure": failure.map(ToString::to_string),
            }),
        );
    }

    fn failover_event(&self, feature: &str, routed: &Routed, attempts: &[Attempt]) {
        let now = self.inner.pool.now().unix_seconds();
        let last = self.inner.last_failover_event.load(Ordering::Relaxed);
        if now - last < 60
            || self
                .inner
                .last_failover_event
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        self.inner.notifier.notify(
            "failover",
            format!("{feature} was served by a fallback after a provider failed"),
            json!({
                "feature": feature,
                "served_by": routed.served_by,
                "attempts": attempts,
            }),
        );
    }
}

/// Micro-dollars for `usage` at `price`; zero without a price.
pub fn price_micro_usd(price: Option<&crate::config::ModelPrice>, usage: TokenUsage) -> u64 {
    let Some(price) = price else {
        return 0;
    };
    // A price per million tokens in dollars is a price per token in micro-dollars.
    let cost = usage.input as f64 * price.input_per_million_usd
        + usage.output as f64 * price.output_per_million_usd;
    if cost.is_finite() && cost > 0.0 {
        cost.round().min(u64::MAX as f64) as u64
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ModelPrice;

    #[test]
    fn prices_per_million_tokens_become_micro_dollars() {
        let price = ModelPrice {
            input_per_million_usd: 0.15,
            output_per_million_usd: 0.60,
        };
        let usage = TokenUsage {
            input: 1_000,
            output: 500,
        };
        // 1,000 in at $0.15/M = 150 µ$; 500 out at $0.60/M = 300 µ$.
        assert_eq!(price_micro_usd(Some(&price), usage), 450);
        assert_eq!(
            price_micro_usd(None, usage),
            0,
            "an unpriced model costs nothing"
        );
    }
}
