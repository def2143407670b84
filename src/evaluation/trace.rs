//! A trace of one LLM call as Consilium keeps it, whichever way it came in (the
//! `submit_trace` tool or OTLP spans), and the checks every trace passes before anything
//! is stored: sizes, counts, timestamps, a known domain.
//!
//! This file validates and shapes; it must not store, evaluate or log trace text.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The most text one trace may carry (input, system and output together).
pub const MAX_TRACE_BYTES: usize = 512 * 1024;
/// Messages in one trace's input.
pub const MAX_MESSAGES: usize = 256;
/// Traces in one batch.
pub const MAX_BATCH: usize = 100;
const MAX_METADATA_KEYS: usize = 32;
const MAX_METADATA_BYTES: usize = 8 * 1024;
const MAX_NAME_CHARS: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
    Tool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TraceMessage {
    pub role: Role,
    pub content: String,
}

/// One LLM call as an application reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TraceInput {
    /// The model that answered, e.g. "gpt-4o-2024-08-06".
    pub model: String,
    /// The provider, e.g. "openai".
    #[serde(default)]
    pub provider: Option<String>,
    /// The rule pack to evaluate against: healthcare, trading, robotics, legal, or an
    /// operator's own.
    pub domain: String,
    /// System instructions given to the model.
    #[serde(default)]
    pub system: Option<String>,
    /// The conversation sent to the model, oldest first.
    #[serde(default)]
    pub input: Vec<TraceMessage>,
    /// What the model answered.
    pub output: String,
    /// Up to 32 string-keyed values of the application's own (8 KB as JSON).
    #[serde(default)]
    pub metadata: BTreeMap<String, Value>,
    #[serde(default)]
    pub input_tokens: Option<u64>,
    #[serde(default)]
    pub output_tokens: Option<u64>,
    #[serde(default)]
    pub latency_ms: Option<u64>,
    /// RFC 3339.
    #[serde(default)]
    pub started_at: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub ended_at: Option<String>,
    /// The application's own id for this call (an OpenTelemetry trace and span id, say).
    #[serde(default)]
    pub external_id: Option<String>,
}

/// Where a trace came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TraceSource {
    Mcp,
    Otlp,
}

impl TraceSource {
    pub fn as_str(self) -> &'static str {
        match self {
            TraceSource::Mcp => "mcp",
            TraceSource::Otlp => "otlp",
        }
    }
}

/// The three texts rules read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TraceTexts {
    pub input: String,
    pub system: String,
    pub output: String,
}

impl TraceInput {
    /// Checks sizes, counts and timestamps; the domain is checked by the caller, who knows
    /// the packs. Errors name the field.
    pub fn validate(&self) -> Result<(), String> {
        let name_ok = |text: &str| {
            !text.trim().is_empty()
                && text.chars().count() <= MAX_NAME_CHARS
                && !text.chars().any(char::is_control)
        };
        if !name_ok(&self.model) {
            return Err(format!(
                "`model` must be 1–{MAX_NAME_CHARS} printable characters"
            ));
        }
        if self.provider.as_deref().is_some_and(|p| !name_ok(p)) {
            return Err(format!(
                "`provider` must be 1–{MAX_NAME_CHARS} printable characters"
            ));
        }
        if self.external_id.as_deref().is_some_and(|p| !name_ok(p)) {
            return Err(format!(
                "`external_id` must be 1–{MAX_NAME_CHARS} printable characters"
            ));
        }
        if self.input.len() > MAX_MESSAGES {
            return Err(format!("`input` holds more than {MAX_MESSAGES} messages"));
        }
        let bytes = self.output.len()
            + self.system.as_deref().map_or(0, str::len)
            + self.input.iter().map(|m| m.content.len()).sum::<usize>();
        if bytes > MAX_TRACE_BYTES {
            return Err(format!(
                "the trace's text is {bytes} bytes; at most {MAX_TRACE_BYTES} are accepted"
            ));
        }
        if self.metadata.len() > MAX_METADATA_KEYS
            || serde_json::to_vec(&self.metadata).map_or(usize::MAX, |v| v.len())
                > MAX_METADATA_BYTES
        {
            return Err(format!(
                "`metadata` is limited to {MAX_METADATA_KEYS} keys and {MAX_METADATA_BYTES} bytes"
            ));
        }
        let mut times = Vec::new();
        for (name, value) in [
            ("started_at", &self.started_at),
            ("ended_at", &self.ended_at),
        ] {
            if let Some(text) = value {
                let parsed = chrono::DateTime::parse_from_rfc3339(text)
                    .map_err(|_| format!("`{name}` is not an RFC 3339 timestamp"))?;
                times.push(parsed);
            }
        }
        if let [start, end] = times[..]
            && end < start
        {
            return Err("`ended_at` is before `started_at`".into());
        }
        for (name, value) in [
            ("input_tokens", self.input_tokens),
            ("output_tokens", self.output_tokens),
            ("latency_ms", self.latency_ms),
        ] {
            if value.is_some_and(|v| v > i64::MAX as u64) {
                return Err(format!("`{name}` is too large"));
            }
        }
        Ok(())
    }

    /// The texts the rules read: the conversation (without system turns), the system
    /// instructions (with any system turns), and the reply.
    pub fn texts(&self) -> TraceTexts {
        let mut system: Vec<&str> = self.system.iter().map(String::as_str).collect();
        let mut input: Vec<&str> = Vec::new();
        for message in &self.input {
            match message.role {
                Role::System => system.push(&message.content),
                _ => input.push(&message.content),
            }
        }
        TraceTexts {
            input: input.join("\n"),
            system: system.join("\n"),
            output: self.output.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace() -> TraceInput {
        serde_json::from_value(serde_json::json!({
            "model": "m", "domain": "healthcare", "output": "hi",
            "input": [{ "role": "system", "content": "be kind" }, { "role": "user", "content": "hello" }]
        }))
        .expect("a trace")
    }

    #[test]
    fn a_trace_is_checked_before_it_is_kept() {
        assert_eq!(trace().validate(), Ok(()));
        let texts = trace().texts();
        assert_eq!(
            (texts.system.as_str(), texts.input.as_str()),
            ("be kind", "hello")
        );
        let mut big = trace();
        big.output = "x".repeat(MAX_TRACE_BYTES + 1);
        assert!(big.validate().is_err_and(|e| e.contains("bytes")));
        let mut late = trace();
        late.started_at = Some("2026-01-01T10:00:00Z".into());
        late.ended_at = Some("2026-01-01T09:00:00Z".into());
        assert!(late.validate().is_err());
        let mut bad_time = trace();
        bad_time.started_at = Some("yesterday".into());
        assert!(bad_time.validate().is_err_and(|e| e.contains("started_at")));
        let mut control = trace();
        control.model = "m\u{0}".into();
        assert!(control.validate().is_err());
        assert!(
            serde_json::from_value::<TraceInput>(
                serde_json::json!({ "model": "m", "domain": "d", "output": "", "extra": 1 })
            )
            .is_err()
        );
    }
}
