//! The wire formats of the providers Consilium speaks, behind one [`Provider`] trait:
//! OpenAI-compatible chat completions (OpenAI, Groq, Cerebras, OpenRouter, Ollama, vLLM,
//! llama.cpp's server…), Anthropic Messages and Google Gemini `generateContent`.
//!
//! A provider only translates: it builds the request (URL, headers, body) and reads the
//! reply. It must not send anything, choose keys or retry — `upstream` sends and the
//! router decides. The key goes only into a header marked sensitive, never into the URL.

mod anthropic;
mod gemini;
mod openai;

use std::fmt;
use std::str::FromStr;

use http::{HeaderMap, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::failure::{FailureKind, ProviderFailure};
use super::request::{Completion, CompletionRequest, Embeddings, TokenUsage};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// Any server speaking OpenAI's chat completions.
    #[serde(alias = "openai-compatible")]
    Openai,
    Anthropic,
    Gemini,
}

impl ProviderKind {
    pub const ALL: [ProviderKind; 3] = [
        ProviderKind::Openai,
        ProviderKind::Anthropic,
        ProviderKind::Gemini,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Openai => "openai",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Gemini => "gemini",
        }
    }

    /// The public endpoint used when a key names none.
    pub fn default_base_url(self) -> &'static str {
        match self {
            ProviderKind::Openai => "https://api.openai.com/v1",
            ProviderKind::Anthropic => "https://api.anthropic.com/v1",
            ProviderKind::Gemini => "https://generativelanguage.googleapis.com/v1beta",
        }
    }

    pub fn wire(self) -> &'static dyn Provider {
        match self {
            ProviderKind::Openai => &openai::OpenAiChat,
            ProviderKind::Anthropic => &anthropic::AnthropicMessages,
            ProviderKind::Gemini => &gemini::GeminiGenerate,
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProviderKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "openai" | "openai-compatible" | "openai_compatible" => Ok(ProviderKind::Openai),
            "anthropic" => Ok(ProviderKind::Anthropic),
            "gemini" | "google" => Ok(ProviderKind::Gemini),
            other => Err(format!(
                "unknown provider {other:?}; use openai (any OpenAI-compatible server), anthropic or gemini"
            )),
        }
    }
}

/// Where and as whom a request goes.
pub struct Target<'a> {
    /// Without a trailing slash, e.g. `https://api.openai.com/v1`.
    pub base_url: &'a str,
    pub model: &'a str,
    /// Empty for servers that need none (a local Ollama).
    pub key: &'a str,
}

/// A request ready to send. The key sits in `headers`, marked sensitive.
pub struct WireRequest {
    pub url: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

pub trait Provider: Send + Sync {
    fn kind(&self) -> ProviderKind;

    /// Builds the HTTP request for `request` to `target`.
    fn build(
        &self,
        target: &Target<'_>,
        request: &CompletionRequest,
    ) -> Result<WireRequest, ProviderFailure>;

    /// Reads a successful (2xx) reply.
    fn parse(&self, body: &[u8]) -> Result<Completion, ProviderFailure>;

    /// Whether this wire format has an embeddings endpoint.
    fn embeds(&self) -> bool {
        false
    }

    /// Builds the request for embeddings of `inputs` (one vector each, in order).
    fn build_embeddings(
        &self,
        _target: &Target<'_>,
        _inputs: &[String],
    ) -> Result<WireRequest, ProviderFailure> {
        Err(ProviderFailure::new(
            FailureKind::Rejected,
            "this provider offers no embeddings",
        ))
    }

    /// Reads a successful embeddings reply, which must hold `expected` vectors of one
    /// length, all finite.
    fn parse_embeddings(
        &self,
        _body: &[u8],
        _expected: usize,
    ) -> Result<Embeddings, ProviderFailure> {
        Err(ProviderFailure::new(
            FailureKind::Rejected,
            "this provider offers no embeddings",
        ))
    }

    /// The human message inside an error reply, if it has the usual `{"error": …}` shape.
    fn error_message(&self, body: &[u8]) -> Option<String> {
        let value: Value = serde_json::from_slice(body).ok()?;
        let error = value.get("error")?;
        error
            .get("message")
            .and_then(Value::as_str)
            .or_else(|| error.as_str())
            .map(str::to_string)
    }
}

/// A model id safe to put in a URL path or a JSON body: what providers use, nothing that
/// could change the URL's meaning.
pub fn valid_model_id(model: &str) -> bool {
    !model.is_empty()
        && model.len() <= 200
        && !model.contains("..")
        && model
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '/' | '@'))
}

fn header(value: &str, sensitive: bool) -> Result<HeaderValue, ProviderFailure> {
    let mut value = HeaderValue::from_str(value).map_err(|_| {
        ProviderFailure::new(
            FailureKind::Rejected,
            "the key or a header holds characters HTTP headers cannot carry",
        )
    })?;
    value.set_sensitive(sensitive);
    Ok(value)
}

fn json_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers
}

fn body(value: &Value) -> Result<Vec<u8>, ProviderFailure> {
    serde_json::to_vec(value)
        .map_err(|_| ProviderFailure::new(FailureKind::Rejected, "the request cannot be encoded"))
}

fn malformed(what: &str) -> ProviderFailure {
    ProviderFailure::new(FailureKind::Malformed, what)
}

fn parse_json(body: &[u8]) -> Result<Value, ProviderFailure> {
    serde_json::from_slice(body).map_err(|_| malformed("the reply is not JSON"))
}

fn count(value: Option<&Value>) -> u64 {
    value.and_then(Value::as_u64).unwrap_or(0)
}

/// A completion from the text pieces found in `reply`, with the model and token counts read
/// from the JSON pointers each wire format keeps them at. No text at all is malformed.
fn completion(
    reply: &Value,
    pieces: Vec<&str>,
    model: &str,
    input_tokens: &str,
    output_tokens: &str,
) -> Result<Completion, ProviderFailure> {
    if pieces.is_empty() {
        return Err(malformed("the reply holds no text"));
    }
    Ok(Completion {
        text: pieces.concat(),
        model: reply
            .pointer(model)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        usage: super::request::TokenUsage {
            input: count(reply.pointer(input_tokens)),
            output: count(reply.pointer(output_tokens)),
        },
    })
}

fn checked_model(model: &str) -> Result<&str, ProviderFailure> {
    if valid_model_id(model) {
        Ok(model)
    } else {
        Err(ProviderFailure::new(
            FailureKind::Rejected,
            "the model id holds characters no provider uses",
        ))
    }
}

/// The vectors read from a reply: `expected` of them, each of one non-zero length and
/// finite, as the index needs them.
fn embeddings(
    vectors: Vec<Vec<f32>>,
    expected: usize,
    model: String,
    usage: TokenUsage,
) -> Result<Embeddings, ProviderFailure> {
    if vectors.len() != expected {
        return Err(malformed(
            "the reply holds a different number of vectors than texts sent",
        ));
    }
    let dimensions = vectors.first().map_or(0, Vec::len);
    if vectors
        .iter()
        .any(|v| v.len() != dimensions || v.is_empty() || v.iter().any(|x| !x.is_finite()))
    {
        return Err(malformed(
            "the reply's vectors are empty, uneven or not finite",
        ));
    }
    Ok(Embeddings {
        vectors,
        model,
        usage,
    })
}

/// A JSON array of numbers as a vector; `None` if any element is not a number.
fn vector(value: &Value) -> Option<Vec<f32>> {
    value
        .as_array()?
        .iter()
        .map(|x| x.as_f64().map(|x| x as f32))
        .collect()
}

/// An instruction for providers that cannot enforce a schema themselves.
fn schema_instruction(schema: &Value) -> String {
    format!(
        "Reply with one JSON value only, no prose and no code fences, that validates against this JSON Schema:\n{schema}"
    )
}

#[cfg(test)]
mod tests;
