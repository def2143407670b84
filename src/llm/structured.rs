//! Reading a model's reply as a JSON value of a Rust type: the object is found even inside
//! a code fence or prose, read against the type (whose serde rules refuse unknown fields
//! where the type says so), then checked by the caller's rules. Problems come back as
//! sentences a model can be shown when it is asked to try again.
//!
//! Pure: it must not call a model or decide whether to retry.

use serde::de::DeserializeOwned;

/// The JSON object inside `text`, tolerating a code fence or prose around it.
fn json_object(text: &str) -> Option<&str> {
    let start = text.find('{')?;
    let end = text.rfind('}')?;
    text.get(start..=end)
}

/// `text` as a `T` that passes `check`, or the problems found.
pub fn read_checked<T: DeserializeOwned>(
    text: &str,
    check: &impl Fn(&T) -> Vec<String>,
) -> Result<T, Vec<String>> {
    let Some(object) = json_object(text) else {
        return Err(vec!["the reply holds no JSON object".to_string()]);
    };
    let value: T = serde_json::from_str(object)
        .map_err(|e| vec![format!("the JSON does not follow the schema: {e}")])?;
    let problems = check(&value);
    if problems.is_empty() {
        Ok(value)
    } else {
        Err(problems)
    }
}

/// What a model is told when its reply failed `problems`: try once more, whole.
pub fn retry_request(problems: &[String]) -> String {
    format!(
        "That reply cannot be used. Problems:\n- {}\nReply again with the whole corrected JSON object only.",
        problems.join("\n- ")
    )
}
