//! How a provider call fails, classified so the router can react (disable, cool down,
//! count, or just try the next key), and described without ever carrying key material.
//!
//! Upstream error bodies are untrusted text that may echo part of a credential (some
//! providers quote the key they refused), so only a redacted, shortened message is kept.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// 401/403: the key is wrong, revoked or lacks access.
    Auth,
    /// 429: out of quota or rate; `retry_after` says for how long when the provider did.
    RateLimited,
    /// 503/529: the provider is shedding load.
    Overloaded,
    /// Any other 5xx.
    Server,
    /// No connection, no first byte, or no whole reply in time.
    Timeout,
    /// The connection failed or broke mid-reply.
    Unreachable,
    /// A reply that is not what the wire format promises (bad JSON, no text, too large).
    Malformed,
    /// 4xx other than the above: the provider refused this request (unknown model, too
    /// long a prompt). Not the key's fault.
    Rejected,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Auth => "auth",
            FailureKind::RateLimited => "rate_limited",
            FailureKind::Overloaded => "overloaded",
            FailureKind::Server => "server_error",
            FailureKind::Timeout => "timeout",
            FailureKind::Unreachable => "unreachable",
            FailureKind::Malformed => "malformed_reply",
            FailureKind::Rejected => "rejected",
        }
    }

    /// Whether the failure says something about the key's or provider's health, so that
    /// enough of them in a row mark the key degraded.
    pub fn counts_against_key(self) -> bool {
        matches!(
            self,
            FailureKind::Overloaded
                | FailureKind::Server
                | FailureKind::Timeout
                | FailureKind::Unreachable
                | FailureKind::Malformed
        )
    }

    /// Classifies an HTTP status that is not a success.
    pub fn from_status(status: u16) -> FailureKind {
        match status {
            401 | 403 => FailureKind::Auth,
            429 => FailureKind::RateLimited,
            408 => FailureKind::Timeout,
            503 | 529 => FailureKind::Overloaded,
            500..=599 => FailureKind::Server,
            _ => FailureKind::Rejected,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderFailure {
    pub kind: FailureKind,
    pub status: Option<u16>,
    pub retry_after: Option<Duration>,
    /// Redacted and at most [`MAX_DETAIL_CHARS`] long.
    pub detail: String,
}

/// Longest detail kept from an upstream message.
pub const MAX_DETAIL_CHARS: usize = 200;

impl ProviderFailure {
    pub fn new(kind: FailureKind, detail: impl AsRef<str>) -> Self {
        Self {
            kind,
            status: None,
            retry_after: None,
            detail: redact(detail.as_ref()),
        }
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    pub fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.retry_after = retry_after;
        self
    }
}

impl fmt::Display for ProviderFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(status) => write!(f, "{} (HTTP {status})", self.kind.as_str())?,
            None => write!(f, "{}", self.kind.as_str())?,
        }
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

impl std::error::Error for ProviderFailure {}

/// Masks anything in `text` that could be a credential — every run of 16 or more
/// letters, digits, `-`, `_` or `.` that mixes letters and digits — and shortens it. Used
/// on every piece of upstream text before it is kept or shown.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_DETAIL_CHARS + 8));
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let looks_secret = word.chars().count() >= 16
            && word.chars().any(|c| c.is_ascii_digit())
            && word.chars().any(|c| c.is_ascii_alphabetic());
        if looks_secret {
            out.push_str("[redacted]");
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '*') {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(if c.is_control() { ' ' } else { c });
        }
    }
    flush(&mut word, &mut out);
    let trimmed = out.trim();
    if trimmed.chars().count() > MAX_DETAIL_CHARS {
        let cut: String = trimmed.chars().take(MAX_DETAIL_CHARS).collect();
        format!("{cut}…")
    } else {
        trimmed.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quoted_key_in_an_upstream_message_is_masked() {
        let text = "Incorrect API key provided: sk-proj-abc123DEF456ghi789. Find yours at x.";
        let redacted = redact(text);
        assert!(!redacted.contains("abc123"), "{redacted}");
        assert!(redacted.contains("[redacted]"));
        assert!(redacted.starts_with("Incorrect API key provided"));
    }

    #[test]
    fn ordinary_words_and_model_names_survive() {
        assert_eq!(
            redact("model gpt-4o-mini does not exist"),
            "model gpt-4o-mini does not exist"
        );
    }

    #[test]
    fn long_messages_are_cut_and_control_characters_removed() {
        let text = format!("a\nb{}", "x ".repeat(500));
        let redacted = redact(&text);
        assert!(redacted.chars().count() <= MAX_DETAIL_CHARS + 1);
        assert!(!redacted.contains('\n'));
    }

    #[test]
    fn statuses_are_classified_as_the_router_needs() {
        assert_eq!(FailureKind::from_status(401), FailureKind::Auth);
        assert_eq!(FailureKind::from_status(403), FailureKind::Auth);
        assert_eq!(FailureKind::from_status(429), FailureKind::RateLimited);
        assert_eq!(FailureKind::from_status(529), FailureKind::Overloaded);
        assert_eq!(FailureKind::from_status(500), FailureKind::Server);
        assert_eq!(FailureKind::from_status(404), FailureKind::Rejected);
        assert!(FailureKind::Server.counts_against_key());
        assert!(!FailureKind::Rejected.counts_against_key());
        assert!(!FailureKind::RateLimited.counts_against_key());
    }
}
