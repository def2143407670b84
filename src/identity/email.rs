//! [`Email`]: an address as identity stores and compares it — trimmed,
//! lowercased, checked for a plausible shape. Lowercasing is what makes
//! `users.email`'s UNIQUE constraint ignore case.
//!
//! It must not try to prove an address exists or deliver to it; the shape
//! check only keeps obvious mistakes and junk out of the table.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::IdentityError;

/// RFC 5321's limit on a usable address (a 256-octet path minus its angle
/// brackets).
const EMAIL_MAX_BYTES: usize = 254;

/// A normalised email address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Email(String);

impl Email {
    /// Trims and lowercases `text`, then checks: at most 254 bytes, exactly
    /// one `@` with something before it, no whitespace or control
    /// characters, and a domain of dot-separated non-empty labels with at
    /// least one dot. `localhost` is the one dotless domain accepted, because
    /// the local owner is `owner@localhost`.
    pub fn parse(text: &str) -> Result<Email, IdentityError> {
        let normalised = text.trim().to_lowercase();
        let invalid = |reason: &'static str| Err(IdentityError::InvalidEmail { reason });
        if normalised.len() > EMAIL_MAX_BYTES {
            return invalid("it is longer than 254 bytes");
        }
        if normalised
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return invalid("it contains spaces or control characters");
        }
        let Some((local, domain)) = normalised.split_once('@') else {
            return invalid("it has no @");
        };
        if domain.contains('@') {
            return invalid("it has more than one @");
        }
        if local.is_empty() {
            return invalid("nothing comes before the @");
        }
        if domain != "localhost" && !domain.contains('.') {
            return invalid("its domain has no dot");
        }
        if domain.split('.').any(str::is_empty) {
            return invalid("its domain has an empty part");
        }
        Ok(Email(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = IdentityError;

    fn try_from(text: String) -> Result<Email, IdentityError> {
        Email::parse(&text)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> String {
        email.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_and_lowercased() {
        let email = Email::parse("  Ada.Lovelace@Example.ORG\n").unwrap();
        assert_eq!(email.as_str(), "ada.lovelace@example.org");
    }

    #[test]
    fn the_local_owners_dotless_domain_is_accepted() {
        assert_eq!(
            Email::parse("owner@localhost").unwrap().as_str(),
            "owner@localhost"
        );
    }

    #[test]
    fn malformed_addresses_are_refused() {
        let too_long = format!("{}@example.org", "a".repeat(250));
        for bad in [
            "",
            "ada",
            "@example.org",
            "ada@",
            "ada@example",
            "ada@@example.org",
            "ada@exa@mple.org",
            "ada lovelace@example.org",
            "ada@example..org",
            "ada@.example.org",
            "ada@example.org.",
            "ada\u{0}@example.org",
            too_long.as_str(),
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_refusal_says_why_without_repeating_the_address() {
        let message = Email::parse("secret-person@nowhere")
            .unwrap_err()
            .to_string();
        assert!(message.contains("no dot"), "{message}");
        assert!(!message.contains("secret-person"), "{message}");
    }
}
