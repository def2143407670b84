//! Masks secret-looking values before a configuration is shown. Keyed on field names so
//! that settings added by later capabilities (provider keys, the master key) are masked
//! without anyone remembering to list them.

const SECRET_WORDS: &[&str] = &["key", "secret", "password", "token", "credential"];

/// Fields masked whole, without even the last four characters: a master key is never
/// something to recognise by eye (its fingerprint is), and every character shown is key
/// material given away.
const FULLY_MASKED: &[&str] = &["master_key"];

/// Where a secret is kept (`master_key_file`) is not itself secret, and an operator needs to
/// see it.
const LOCATION_SUFFIXES: &[&str] = &["_file", "_path", "_dir"];

pub fn mask_secrets(value: &mut toml::Value) {
    walk(value, false);
}

/// `inherited`: an enclosing table or array is named like a secret, so its values are too.
fn walk(value: &mut toml::Value, inherited: bool) {
    match value {
        toml::Value::Table(table) => {
            for (name, field) in table.iter_mut() {
                let lower = name.to_ascii_lowercase();
                if LOCATION_SUFFIXES.iter().any(|s| lower.ends_with(s)) {
                    continue;
                }
                let secret = inherited || SECRET_WORDS.iter().any(|w| lower.contains(w));
                match field {
                    toml::Value::String(text) if secret => {
                        *text = if FULLY_MASKED.contains(&lower.as_str()) {
                            "****".to_string()
                        } else {
                            masked(text)
                        };
                    }
                    _ => walk(field, secret),
                }
            }
        }
        toml::Value::Array(items) => {
            for item in items.iter_mut() {
                match item {
                    toml::Value::String(text) if inherited => *text = masked(text),
                    _ => walk(item, inherited),
                }
            }
        }
        _ => {}
    }
}

/// Shows at most the last four characters, and only of values long enough that four
/// characters reveal little.
fn masked(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() >= 16 {
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("****{tail}")
    } else {
        "****".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_values_under_secret_looking_names_at_any_depth() {
        let mut value: toml::Value = toml::from_str(
            "[providers]\napi_key = \"sk-1234567890abcdefWXYZ\"\nname = \"openai\"\n[auth]\nmaster_key = \"short\"\n",
        )
        .unwrap();
        mask_secrets(&mut value);
        let text = toml::to_string(&value).unwrap();
        assert!(text.contains("****WXYZ"));
        assert!(!text.contains("sk-1234567890abcdef"));
        assert!(text.contains("openai"));
        assert!(!text.contains("short"));
    }

    #[test]
    fn a_master_key_is_masked_whole_even_when_long() {
        let mut value: toml::Value = toml::from_str(
            "[secrets]\nmaster_key = \"q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4k=\"\n[providers]\napi_key = \"sk-1234567890abcdefWXYZ\"\n",
        )
        .unwrap();
        mask_secrets(&mut value);
        let text = toml::to_string(&value).unwrap();
        assert!(text.contains("master_key = \"****\""), "{text}");
        assert!(!text.contains("Z4k="), "{text}");
        assert!(text.contains("****WXYZ"), "{text}");
    }

    #[test]
    fn where_a_secret_is_kept_is_shown_but_the_secret_is_not() {
        let mut value: toml::Value = toml::from_str(
            "[secrets]\nmaster_key_file = \"/etc/consilium/master.key\"\nmaster_key = \"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ==\"\n[providers]\napi_keys = [\"sk-aaaaaaaaaaaaaaaaWXYZ\"]\n",
        )
        .unwrap();
        mask_secrets(&mut value);
        let text = toml::to_string(&value).unwrap();
        assert!(text.contains("/etc/consilium/master.key"), "{text}");
        assert!(!text.contains("c2Vj") && !text.contains("IQ=="), "{text}");
        assert!(!text.contains("sk-aaaa"), "{text}");
    }
}
