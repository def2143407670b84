//! Masking a secret for display, e.g. a provider key shown to an admin.

/// Below this length the last four characters would give away too much of the secret.
const MIN_LEN_TO_SHOW_TAIL: usize = 12;

/// `****` followed by the last four characters, enough to tell keys apart; only `****` for
/// secrets shorter than 12 characters. Counts characters, not bytes, so it never splits one.
pub fn mask(secret: &str) -> String {
    let count = secret.chars().count();
    if count < MIN_LEN_TO_SHOW_TAIL {
        return "****".to_string();
    }
    let tail: String = secret.chars().skip(count - 4).collect();
    format!("****{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_secret_shows_only_its_last_four_characters() {
        assert_eq!(mask("sk-proj-1234567890abcd"), "****abcd");
    }

    #[test]
    fn a_secret_shorter_than_twelve_characters_shows_nothing() {
        assert_eq!(mask(""), "****");
        assert_eq!(mask("abc"), "****");
        assert_eq!(mask("12345678901"), "****");
        assert_eq!(mask("123456789012"), "****9012");
    }

    #[test]
    fn masking_counts_characters_not_bytes() {
        assert_eq!(mask("ééééééééécléf"), "****cléf");
        assert_eq!(mask("ééééé"), "****");
    }
}
