//! A key's health: its status, failures in a row, cooldown and running totals, and the
//! rules that move it between `active`, `degraded` and `disabled`.
//!
//! Pure state and transitions, no I/O: the pool persists what changes here.

use serde::{Deserialize, Serialize};

use crate::identity::Timestamp;
use crate::llm::failure::{FailureKind, ProviderFailure};
use crate::llm::request::TokenUsage;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    Active,
    /// Failing: skipped, except for a half-open probe, until a health check restores it.
    Degraded,
    /// Refused by its provider or switched off by an admin; only an admin brings it back.
    Disabled,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Degraded => "degraded",
            KeyStatus::Disabled => "disabled",
        }
    }

    pub fn parse(text: &str) -> Option<KeyStatus> {
        match text.trim().to_ascii_lowercase().as_str() {
            "active" => Some(KeyStatus::Active),
            "degraded" => Some(KeyStatus::Degraded),
            "disabled" => Some(KeyStatus::Disabled),
            _ => None,
        }
    }
}

/// The thresholds the transitions use, from `[llm]` in the configuration.
#[derive(Debug, Clone, Copy)]
pub struct HealthPolicy {
    pub failures_before_degraded: u32,
    pub default_cooldown_secs: u64,
    pub half_open_after_secs: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyHealth {
    pub status: KeyStatus,
    pub consecutive_failures: u32,
    pub cooldown_until: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub last_failure_at: Option<Timestamp>,
    pub last_error: Option<String>,
    pub successes: u64,
    pub failures: u64,
    pub latency_ms_total: u64,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost_micro_usd: u64,
    /// A half-open probe is out; no second one is sent meanwhile.
    pub probing: bool,
}

impl KeyHealth {
    pub fn new(status: KeyStatus) -> Self {
        Self {
            status,
            consecutive_failures: 0,
            cooldown_until: None,
            last_used_at: None,
            last_failure_at: None,
            last_error: None,
            successes: 0,
            failures: 0,
            latency_ms_total: 0,
            tokens_in: 0,
            tokens_out: 0,
            cost_micro_usd: 0,
            probing: false,
        }
    }
}

/// Whether a key may take a request now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    Ready,
    /// Degraded, but long enough ago to be given one live request.
    HalfOpen,
    Unavailable,
}

/// What a result changed, for alerts and the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthChange {
    None,
    Recovered,
    Degraded,
    Disabled,
    CoolingDown,
}

impl KeyHealth {
    pub fn availability(&self, now: Timestamp, policy: &HealthPolicy) -> Availability {
        let cooling = self.cooldown_until.is_some_and(|until| until > now);
        match self.status {
            KeyStatus::Disabled => Availability::Unavailable,
            KeyStatus::Active if !cooling => Availability::Ready,
            KeyStatus::Active => Availability::Unavailable,
            KeyStatus::Degraded => {
                let rested = self
                    .last_failure_at
                    .is_none_or(|at| at.plus_seconds(policy.half_open_after_secs as i64) <= now);
                if rested && !cooling && !self.probing {
                    Availability::HalfOpen
                } else {
                    Availability::Unavailable
                }
            }
        }
    }

    pub fn on_success(
        &mut self,
        now: Timestamp,
        latency_ms: u64,
        usage: TokenUsage,
        cost_micro_usd: u64,
    ) -> HealthChange {
        self.probing = false;
        self.consecutive_failures = 0;
        self.cooldown_until = None;
        self.last_used_at = Some(now);
        self.successes = self.successes.saturating_add(1);
        self.latency_ms_total = self.latency_ms_total.saturating_add(latency_ms);
        self.tokens_in = self.tokens_in.saturating_add(usage.input);
        self.tokens_out = self.tokens_out.saturating_add(usage.output);
        self.cost_micro_usd = self.cost_micro_usd.saturating_add(cost_micro_usd);
        if self.status == KeyStatus::Degraded {
            self.status = KeyStatus::Active;
            HealthChange::Recovered
        } else {
            HealthChange::None
        }
    }

    pub fn on_failure(
        &mut self,
        now: Timestamp,
        failure: &ProviderFailure,
        policy: &HealthPolicy,
    ) -> HealthChange {
        self.probing = false;
        self.last_used_at = Some(now);
        self.last_failure_at = Some(now);
        self.last_error = Some(failure.to_string());
        self.failures = self.failures.saturating_add(1);
        match failure.kind {
            FailureKind::Auth => {
                let was = self.status;
                self.status = KeyStatus::Disabled;
                if was == KeyStatus::Disabled {
                    HealthChange::None
                } else {
                    HealthChange::Disabled
                }
            }
            FailureKind::RateLimited => {
                let wait = failure
                    .retry_after
                    .map(|d| d.as_secs().max(1))
                    .unwrap_or(policy.default_cooldown_secs);
                self.cooldown_until = Some(now.plus_seconds(wait as i64));
                HealthChange::CoolingDown
            }
            kind if kind.counts_against_key() => {
                self.consecutive_failures = self.consecutive_failures.saturating_add(1);
                if self.status == KeyStatus::Active
                    && self.consecutive_failures >= policy.failures_before_degraded
                {
                    self.status = KeyStatus::Degraded;
                    HealthChange::Degraded
                } else {
                    HealthChange::None
                }
            }
            _ => HealthChange::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const POLICY: HealthPolicy = HealthPolicy {
        failures_before_degraded: 3,
        default_cooldown_secs: 60,
        half_open_after_secs: 30,
    };

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_unix_seconds(1_800_000_000 + seconds).expect("time")
    }

    fn failure(kind: FailureKind) -> ProviderFailure {
        ProviderFailure::new(kind, "x")
    }

    #[test]
    fn server_errors_in_a_row_degrade_a_key_and_a_success_in_between_resets_the_count() {
        let mut health = KeyHealth::new(KeyStatus::Active);
        health.on_failure(at(0), &failure(FailureKind::Server), &POLICY);
        health.on_failure(at(1), &failure(FailureKind::Timeout), &POLICY);
        health.on_success(at(2), 10, TokenUsage::default(), 0);
        health.on_failure(at(3), &failure(FailureKind::Server), &POLICY);
        health.on_failure(at(4), &failure(FailureKind::Server), &POLICY);
        assert_eq!(health.status, KeyStatus::Active);
        let change = health.on_failure(at(5), &failure(FailureKind::Unreachable), &POLICY);
        assert_eq!(
            (change, health.status),
            (HealthChange::Degraded, KeyStatus::Degraded)
        );
    }

    #[test]
    fn an_auth_failure_disables_at_once() {
        let mut health = KeyHealth::new(KeyStatus::Active);
        let change = health.on_failure(at(0), &failure(FailureKind::Auth), &POLICY);
        assert_eq!(change, HealthChange::Disabled);
        assert_eq!(
            health.availability(at(10_000), &POLICY),
            Availability::Unavailable
        );
    }

    #[test]
    fn a_rate_limit_cools_the_key_for_the_providers_retry_after() {
        let mut health = KeyHealth::new(KeyStatus::Active);
        let limited =
            failure(FailureKind::RateLimited).with_retry_after(Some(Duration::from_secs(7)));
        health.on_failure(at(0), &limited, &POLICY);
        assert_eq!(
            health.availability(at(6), &POLICY),
            Availability::Unavailable
        );
        assert_eq!(health.availability(at(7), &POLICY), Availability::Ready);
        assert_eq!(
            health.consecutive_failures, 0,
            "a 429 is not a health failure"
        );
    }

    #[test]
    fn a_degraded_key_gets_one_half_open_probe_after_resting_and_recovers_on_success() {
        let mut health = KeyHealth::new(KeyStatus::Degraded);
        health.last_failure_at = Some(at(0));
        assert_eq!(
            health.availability(at(29), &POLICY),
            Availability::Unavailable
        );
        assert_eq!(health.availability(at(30), &POLICY), Availability::HalfOpen);
        health.probing = true;
        assert_eq!(
            health.availability(at(31), &POLICY),
            Availability::Unavailable
        );
        let change = health.on_success(at(31), 5, TokenUsage::default(), 0);
        assert_eq!(
            (change, health.status),
            (HealthChange::Recovered, KeyStatus::Active)
        );
    }

    #[test]
    fn a_rejected_request_is_not_held_against_the_key() {
        let mut health = KeyHealth::new(KeyStatus::Active);
        for second in 0..10 {
            health.on_failure(at(second), &failure(FailureKind::Rejected), &POLICY);
        }
        assert_eq!(health.status, KeyStatus::Active);
        assert_eq!(health.failures, 10);
    }
}
