//! Masks secret-looking values before a configuration is shown. Keyed on field names so
//! that settings added by later capabilities (provider keys, the master key) are masked
//! without anyone remembering to list them.

const SECRET_WORDS: &[&str] = &["key", "secret", "password", "token", "credential"];

pub fn mask_secrets(value: &mut toml::Value) {
    if let toml::Value::Table(table) = value {
        for (name, field) in table.iter_mut() {
            let lower = name.to_ascii_lowercase();
            if SECRET_WORDS.iter().any(|w| lower.contains(w)) {
                mask_leaves(field);
            } else {
                mask_secrets(field);
            }
        }
    } else if let toml::Value::Array(items) = value {
        items.iter_mut().for_each(mask_secrets);
    }
}

fn mask_leaves(value: &mut toml::Value) {
    match value {
        toml::Value::String(s) => *s = masked(s),
        toml::Value::Table(table) => table.iter_mut().for_each(|(_, v)| mask_leaves(v)),
        toml::Value::Array(items) => items.iter_mut().for_each(mask_leaves),
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
}
