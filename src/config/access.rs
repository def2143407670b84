//! Settings for who may call the server and how much: sign-in tokens, plans and their
//! limits, feature switches and the audit log's checkpoint file.
//!
//! Only the settings live here. `crate::auth` issues and checks tokens, `crate::metering`
//! enforces the plans, `crate::audit` writes the checkpoints.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::ConfigError;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// `iss` of every token this server issues, and the only one it accepts.
    pub issuer: String,
    /// `aud` of access tokens, and the only one accepted.
    pub audience: String,
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_secs: u64,
    /// Whether `POST /auth/register` exists. Off: accounts are made by an admin.
    pub allow_self_signup: bool,
    /// Login attempts allowed from one IP address per window.
    pub login_attempts_per_ip: u32,
    pub login_window_secs: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            issuer: "consilium".into(),
            audience: "consilium-mcp".into(),
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_secs: 30 * 24 * 60 * 60,
            allow_self_signup: false,
            login_attempts_per_ip: 5,
            login_window_secs: 15 * 60,
        }
    }
}

/// What one plan allows per user per UTC day. `None` is unlimited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct PlanLimits {
    pub daily_tokens: Option<u64>,
    pub daily_requests: Option<u64>,
    pub mcqs_per_day: Option<u64>,
    pub flashcards_per_day: Option<u64>,
    pub pdf_uploads: Option<u64>,
    pub images_per_day: Option<u64>,
    /// Sustained calls per minute per principal (GCRA); bursts up to the same number.
    pub requests_per_minute: Option<u32>,
}

impl PlanLimits {
    /// Everything unlimited.
    pub fn unlimited() -> Self {
        Self::default()
    }

    #[allow(clippy::too_many_arguments)]
    const fn daily(
        tokens: u64,
        requests: u64,
        mcqs: u64,
        flashcards: u64,
        pdfs: u64,
        images: u64,
        per_minute: u32,
    ) -> Self {
        Self {
            daily_tokens: Some(tokens),
            daily_requests: Some(requests),
            mcqs_per_day: Some(mcqs),
            flashcards_per_day: Some(flashcards),
            pdf_uploads: Some(pdfs),
            images_per_day: Some(images),
            requests_per_minute: Some(per_minute),
        }
    }
}

/// The plans by name. A user whose plan is not listed here is held to `free`.
///
/// A configuration file changes plans one field at a time: `[plans.free] daily_requests = 50`
/// keeps every other default plan and every other limit of `free`. A limit is a number or
/// `"unlimited"`; a field a new plan leaves out is unlimited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct PlansConfig(pub BTreeMap<String, PlanLimits>);

/// One limit as written in a file: a number, or `"unlimited"`.
#[derive(Deserialize)]
#[serde(untagged)]
enum LimitText {
    Number(u64),
    Word(String),
}

impl LimitText {
    fn into_limit<E: serde::de::Error>(self) -> Result<Option<u64>, E> {
        match self {
            LimitText::Number(n) => Ok(Some(n)),
            LimitText::Word(word) if word == "unlimited" => Ok(None),
            LimitText::Word(word) => Err(E::custom(format!(
                "a limit is a whole number or \"unlimited\", not {word:?}"
            ))),
        }
    }
}

impl<'de> Deserialize<'de> for PlansConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        const FIELDS: [&str; 7] = [
            "daily_tokens",
            "daily_requests",
            "mcqs_per_day",
            "flashcards_per_day",
            "pdf_uploads",
            "images_per_day",
            "requests_per_minute",
        ];
        let written: BTreeMap<String, BTreeMap<String, LimitText>> =
            BTreeMap::deserialize(deserializer)?;
        let mut plans = PlansConfig::default();
        for (name, fields) in written {
            let limits = plans.0.entry(name.clone()).or_default();
            for (field, value) in fields {
                let value = value.into_limit::<D::Error>()?;
                match field.as_str() {
                    "daily_tokens" => limits.daily_tokens = value,
                    "daily_requests" => limits.daily_requests = value,
                    "mcqs_per_day" => limits.mcqs_per_day = value,
                    "flashcards_per_day" => limits.flashcards_per_day = value,
                    "pdf_uploads" => limits.pdf_uploads = value,
                    "images_per_day" => limits.images_per_day = value,
                    "requests_per_minute" => {
                        limits.requests_per_minute = value
                            .map(u32::try_from)
                            .transpose()
                            .map_err(|_| D::Error::custom("requests_per_minute is too large"))?;
                    }
                    other => {
                        return Err(D::Error::unknown_field(other, &FIELDS));
                    }
                }
            }
        }
        Ok(plans)
    }
}

/// The plan whose limits apply to a user whose plan is unknown.
pub const FALLBACK_PLAN: &str = "free";

impl Default for PlansConfig {
    fn default() -> Self {
        let mut plans = BTreeMap::new();
        // The per-minute rates sit above each plan's daily request count divided by a
        // working hour, so a burst of normal use never trips them before the daily limit.
        plans.insert(
            "free".into(),
            PlanLimits::daily(10_000, 20, 5, 10, 0, 0, 30),
        );
        plans.insert(
            "student".into(),
            PlanLimits::daily(50_000, 100, 50, 100, 5, 10, 60),
        );
        plans.insert(
            "pro".into(),
            PlanLimits::daily(200_000, 500, 200, 500, 50, 50, 120),
        );
        plans.insert("enterprise".into(), PlanLimits::unlimited());
        plans.insert("admin".into(), PlanLimits::unlimited());
        // The local owner's plan: the operator is not limited on their own server.
        plans.insert("unlimited".into(), PlanLimits::unlimited());
        Self(plans)
    }
}

impl PlansConfig {
    /// The limits of `plan`, or of [`FALLBACK_PLAN`] when it is not configured.
    pub fn limits(&self, plan: &str) -> PlanLimits {
        self.0
            .get(plan)
            .or_else(|| self.0.get(FALLBACK_PLAN))
            .cloned()
            .unwrap_or_default()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.0.contains_key(FALLBACK_PLAN) {
            return Err(ConfigError::Invalid {
                field: "plans",
                message: format!("a plan named {FALLBACK_PLAN:?} must exist"),
            });
        }
        for name in self.0.keys() {
            let well_formed = (1..=32).contains(&name.len())
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !well_formed {
                return Err(ConfigError::Invalid {
                    field: "plans",
                    message: format!(
                        "plan name {name:?} must be 1-32 characters of a-z, 0-9 and '-'"
                    ),
                });
            }
        }
        for (name, limits) in &self.0 {
            if limits.requests_per_minute == Some(0) {
                return Err(ConfigError::Invalid {
                    field: "plans",
                    message: format!(
                        "plan {name:?}: requests_per_minute must be at least 1, or left out for no limit"
                    ),
                });
            }
        }
        Ok(())
    }
}

/// Features an operator has switched off. A tool whose feature is listed is refused with
/// `FEATURE_DISABLED` before anything is counted.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct FeaturesConfig {
    pub disabled: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// Where signed checkpoints are appended. `None` means `audit-checkpoints.jsonl` beside
    /// the database. Best on another disk, or shipped off the host.
    pub checkpoint_file: Option<PathBuf>,
    /// Entries between automatic checkpoints.
    pub checkpoint_every: u64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            checkpoint_file: None,
            checkpoint_every: crate::audit::DEFAULT_CHECKPOINT_EVERY,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_free_plan_allows_twenty_requests_a_day() {
        let plans = PlansConfig::default();
        let free = plans.limits("free");
        assert_eq!(free.daily_requests, Some(20));
        assert_eq!(free.daily_tokens, Some(10_000));
        assert_eq!(free.mcqs_per_day, Some(5));
        assert_eq!(plans.limits("enterprise"), PlanLimits::unlimited());
        assert_eq!(plans.limits("no-such-plan"), free);
        assert!(plans.validate().is_ok());
    }

    #[test]
    fn a_file_changes_one_limit_and_keeps_the_rest() {
        #[derive(Deserialize)]
        struct File {
            plans: PlansConfig,
        }
        let file: File = toml::from_str(
            "[plans.free]\ndaily_requests = 50\n[plans.team]\ndaily_tokens = 1000\nmcqs_per_day = \"unlimited\"\n",
        )
        .unwrap();
        let free = file.plans.limits("free");
        assert_eq!(free.daily_requests, Some(50));
        assert_eq!(free.daily_tokens, Some(10_000));
        assert_eq!(file.plans.limits("pro").daily_requests, Some(500));
        let team = file.plans.limits("team");
        assert_eq!(team.daily_tokens, Some(1000));
        assert_eq!(team.mcqs_per_day, None);
        let bad: Result<File, _> = toml::from_str("[plans.free]\ndaily_requests = \"lots\"\n");
        assert!(bad.is_err());
    }

    #[test]
    fn a_plan_table_without_free_is_refused() {
        let mut plans = PlansConfig::default();
        plans.0.remove("free");
        assert!(plans.validate().is_err());
    }
}
