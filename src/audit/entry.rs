//! What one audit entry says before it is stored: [`AuditEntry`], its
//! builder methods, the rules an entry must pass, and [`pseudonymise`] for
//! identifiers that must be recorded without being revealed.
//!
//! This file must not touch the database or the clock; sequence numbers,
//! timestamps and hashes are given at append time by the chain.
//!
//! **Never put secrets or health data in an entry.** Not in `details`, not
//! in `target`, not in `actor`: the audit log is kept forever and cannot be
//! edited, so anything written here can never be taken back. Record *that*
//! something happened and to *which* (pseudonymised) account, key or plan —
//! never passwords, tokens, API key material, prompts, tool arguments or
//! results, or anything about a person's health.

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::AuditError;
use super::format::to_hex;

/// The largest `details`, serialised as JSON, in bytes.
pub const MAX_DETAILS_BYTES: usize = 16 * 1024;

/// The longest `actor`, `action`, `target`, `ip` or `user_agent`, in
/// characters.
pub const MAX_FIELD_CHARS: usize = 512;

/// Separates pseudonyms from every other SHA-256 Consilium computes, so a
/// pseudonym can never be mistaken for (or matched against) another hash.
const PSEUDONYM_DOMAIN: &[u8] = b"consilium-audit-pseudonym/v1\0";

/// One event to record. Build it with [`AuditEntry::new`] and the chained
/// setters; [`AuditLog::record`](super::AuditLog::record) checks it again,
/// so fields set directly are held to the same rules.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// Who acted: `user:<id>`, `api_key:<id>`, `system`, or a
    /// [`pseudonymise`]d name for someone not (yet) known. At most
    /// [`MAX_FIELD_CHARS`].
    pub actor: String,
    /// What happened, as a dotted lowercase name: `auth.login.failed`,
    /// `api_key.created`, `admin.plan.changed`. Segments are `[a-z0-9_]+`.
    pub action: String,
    /// What it happened to (an account, key, plan…), if anything.
    pub target: Option<String>,
    /// Further facts, as a JSON object of at most [`MAX_DETAILS_BYTES`].
    /// Never secrets, never health data (see the module docs).
    pub details: Value,
    /// The client's address, where known.
    pub ip: Option<String>,
    /// The client's `User-Agent`, where known.
    pub user_agent: Option<String>,
}

impl AuditEntry {
    /// An entry with no target, empty details and no request metadata.
    pub fn new(actor: impl Into<String>, action: impl Into<String>) -> Self {
        Self {
            actor: actor.into(),
            action: action.into(),
            target: None,
            details: Value::Object(serde_json::Map::new()),
            ip: None,
            user_agent: None,
        }
    }

    /// Sets what the action was done to.
    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    /// Sets the details; must be a JSON object (checked when recorded).
    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// Sets the client address, clipped to [`MAX_FIELD_CHARS`].
    pub fn ip(mut self, ip: impl Into<String>) -> Self {
        self.ip = Some(clip(ip.into()));
        self
    }

    /// Sets the client's `User-Agent`, clipped to [`MAX_FIELD_CHARS`]. The
    /// client chooses this header, so it is clipped rather than refused: an
    /// absurdly long header must not keep a failed login out of the log.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(clip(user_agent.into()));
        self
    }

    /// Checks the rules and serialises `details` once, for hashing and
    /// storing alike.
    pub(crate) fn prepare(self) -> Result<PreparedEntry, AuditError> {
        check_length("actor", &self.actor)?;
        if self.actor.is_empty() {
            return Err(refused("actor must not be empty"));
        }
        check_length("action", &self.action)?;
        if !is_action_name(&self.action) {
            return Err(refused(
                "action must be a dotted lowercase name such as auth.login.failed",
            ));
        }
        for (name, value) in [
            ("target", &self.target),
            ("ip", &self.ip),
            ("user_agent", &self.user_agent),
        ] {
            if let Some(value) = value {
                check_length(name, value)?;
            }
        }
        if !self.details.is_object() {
            return Err(refused("details must be a JSON object"));
        }
        let details = serde_json::to_string(&self.details)
            .map_err(|_| refused("details cannot be serialised as JSON"))?;
        if details.len() > MAX_DETAILS_BYTES {
            return Err(refused(&format!(
                "details must be at most {MAX_DETAILS_BYTES} bytes of JSON"
            )));
        }
        Ok(PreparedEntry {
            actor: self.actor,
            action: self.action,
            target: self.target,
            details,
            ip: self.ip,
            user_agent: self.user_agent,
        })
    }
}

/// An entry that passed the rules, with `details` as the exact JSON text
/// that is hashed and stored.
#[derive(Debug, Clone)]
pub(crate) struct PreparedEntry {
    pub(crate) actor: String,
    pub(crate) action: String,
    pub(crate) target: Option<String>,
    pub(crate) details: String,
    pub(crate) ip: Option<String>,
    pub(crate) user_agent: Option<String>,
}

/// A stable stand-in for an identifier that must be recorded without being
/// revealed (an email address typed at a failed login, a key prefix…):
/// lowercase hex SHA-256 of a fixed domain prefix and the identifier.
///
/// Equal identifiers give equal pseudonyms, so events can still be
/// correlated. It is a plain hash, not a keyed one: anyone with the log can
/// confirm a *guessed* identifier. That is acceptable for account names and
/// random key ids; it does not make health data or secrets safe to record —
/// leave those out altogether.
pub fn pseudonymise(identifier: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(PSEUDONYM_DOMAIN);
    hasher.update(identifier.as_bytes());
    let digest: [u8; 32] = hasher.finalize().into();
    to_hex(&digest)
}

fn refused(rule: &str) -> AuditError {
    AuditError::InvalidEntry(rule.to_owned())
}

fn check_length(name: &str, value: &str) -> Result<(), AuditError> {
    if value.chars().count() > MAX_FIELD_CHARS {
        return Err(refused(&format!(
            "{name} must be at most {MAX_FIELD_CHARS} characters"
        )));
    }
    Ok(())
}

/// `segment(.segment)*` with segments of `[a-z0-9_]+`: names that sort and
/// prefix-match predictably (the query's action filter is a prefix range).
fn is_action_name(action: &str) -> bool {
    action.split('.').all(|segment| {
        !segment.is_empty()
            && segment
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    })
}

/// Shortens client-chosen text to the field limit, marking the cut.
fn clip(value: String) -> String {
    if value.chars().count() <= MAX_FIELD_CHARS {
        return value;
    }
    let mut clipped: String = value.chars().take(MAX_FIELD_CHARS - 1).collect();
    clipped.push('…');
    clipped
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_built_entry_carries_every_field_it_was_given() {
        let entry = AuditEntry::new("user:1", "api_key.created")
            .target("api_key:9")
            .details(json!({"scopes": ["read"]}))
            .ip("127.0.0.1")
            .user_agent("curl/8");
        let prepared = entry.prepare().unwrap();
        assert_eq!(prepared.actor, "user:1");
        assert_eq!(prepared.action, "api_key.created");
        assert_eq!(prepared.target.as_deref(), Some("api_key:9"));
        assert_eq!(prepared.details, r#"{"scopes":["read"]}"#);
        assert_eq!(prepared.ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(prepared.user_agent.as_deref(), Some("curl/8"));
    }

    #[test]
    fn action_names_are_dotted_lowercase_segments() {
        for good in [
            "auth.login.failed",
            "api_key.created",
            "admin.plan.changed",
            "x",
        ] {
            assert!(is_action_name(good), "{good}");
        }
        for bad in [
            "",
            "Auth.login",
            "auth..login",
            ".auth",
            "auth.",
            "auth login",
            "é",
        ] {
            assert!(!is_action_name(bad), "{bad}");
        }
    }

    #[test]
    fn an_empty_actor_is_refused() {
        let error = AuditEntry::new("", "auth.login.succeeded")
            .prepare()
            .unwrap_err();
        assert!(matches!(error, AuditError::InvalidEntry(_)), "{error:?}");
    }

    #[test]
    fn a_long_user_agent_is_clipped_not_refused() {
        let entry = AuditEntry::new("anonymous", "auth.login.failed").user_agent("x".repeat(5000));
        let user_agent = entry.user_agent.clone().unwrap();
        assert_eq!(user_agent.chars().count(), MAX_FIELD_CHARS);
        assert!(user_agent.ends_with('…'));
        assert!(entry.prepare().is_ok());
    }

    #[test]
    fn pseudonyms_are_stable_hex_and_domain_separated() {
        let once = pseudonymise("alice@example.org");
        assert_eq!(once, pseudonymise("alice@example.org"));
        assert_ne!(once, pseudonymise("bob@example.org"));
        assert_eq!(once.len(), 64);
        assert!(once.bytes().all(|b| b.is_ascii_hexdigit()));
        let plain: [u8; 32] = Sha256::digest(b"alice@example.org").into();
        assert_ne!(once, to_hex(&plain));
        assert!(!once.contains("alice"));
    }
}
