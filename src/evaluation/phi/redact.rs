//! Taking identifiers out of text: each span replaced by its kind in brackets, masked
//! character for character, or replaced by a keyed hash so the same identifier maps to the
//! same token within one tenant (joins still work) without being recoverable.

use hmac::{Hmac, KeyInit, Mac};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::PhiSpan;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RedactionMode {
    /// `[NAME]`, `[DATE]`…
    #[default]
    Replace,
    /// Every character but spaces and line breaks becomes `*`.
    Mask,
    /// `[NAME:1f0c9a2b]`: the first 8 hex digits of HMAC-SHA256 under the tenant's key.
    Hash,
}

/// `text` with every span (in order, non-overlapping, on character boundaries) redacted.
/// `hash_key` is used only by [`RedactionMode::Hash`].
pub fn redact(text: &str, spans: &[PhiSpan], mode: RedactionMode, hash_key: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for span in spans {
        if span.start < at
            || span.end > text.len()
            || !text.is_char_boundary(span.start)
            || !text.is_char_boundary(span.end)
        {
            continue;
        }
        out.push_str(&text[at..span.start]);
        let found = &text[span.start..span.end];
        let label = span.kind.as_str().to_ascii_uppercase();
        match mode {
            RedactionMode::Replace => {
                out.push('[');
                out.push_str(&label);
                out.push(']');
            }
            RedactionMode::Mask => out.extend(
                found
                    .chars()
                    .map(|c| if c.is_whitespace() { c } else { '*' }),
            ),
            RedactionMode::Hash => {
                let digest = match <Hmac<Sha256> as KeyInit>::new_from_slice(hash_key) {
                    Ok(mut mac) => {
                        mac.update(span.kind.as_str().as_bytes());
                        mac.update(&[0]);
                        mac.update(found.to_lowercase().as_bytes());
                        mac.finalize().into_bytes()
                    }
                    Err(_) => Default::default(),
                };
                let short: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
                out.push('[');
                out.push_str(&label);
                out.push(':');
                out.push_str(&short);
                out.push(']');
            }
        }
        at = span.end;
    }
    out.push_str(&text[at..]);
    out
}
