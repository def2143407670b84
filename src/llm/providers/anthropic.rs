//! Anthropic Messages (`POST {base}/messages`, key in `x-api-key`). A wanted JSON schema is
//! stated in the system prompt, and the reply validated by the caller, since that works
//! with every Claude model.

use serde_json::{Value, json};

use super::{
    Provider, ProviderKind, Target, WireRequest, body, checked_model, completion, header,
    json_headers, malformed, parse_json, schema_instruction,
};
use crate::llm::failure::ProviderFailure;
use crate::llm::request::{Completion, CompletionRequest};

/// The API version this client was written against.
const API_VERSION: &str = "2023-06-01";

pub struct AnthropicMessages;

impl Provider for AnthropicMessages {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Anthropic
    }

    fn build(
        &self,
        target: &Target<'_>,
        request: &CompletionRequest,
    ) -> Result<WireRequest, ProviderFailure> {
        let model = checked_model(target.model)?;
        let messages: Vec<Value> = request
            .messages
            .iter()
            .map(|m| json!({ "role": m.role.as_str(), "content": m.content }))
            .collect();
        let mut payload = json!({
            "model": model,
            "max_tokens": request.max_tokens,
            "messages": messages,
        });
        let system = match (&request.system, &request.response_schema) {
            (Some(system), Some(schema)) => Some(format!(
                "{system}\n\n{}",
                schema_instruction(&schema.schema)
            )),
            (Some(system), None) => Some(system.clone()),
            (None, Some(schema)) => Some(schema_instruction(&schema.schema)),
            (None, None) => None,
        };
        if let Some(system) = system {
            payload["system"] = json!(system);
        }
        if let Some(temperature) = request.temperature {
            payload["temperature"] = json!(temperature);
        }
        let mut headers = json_headers();
        headers.insert("x-api-key", header(target.key, true)?);
        headers.insert("anthropic-version", header(API_VERSION, false)?);
        Ok(WireRequest {
            url: format!("{}/messages", target.base_url),
            headers,
            body: body(&payload)?,
        })
    }

    fn parse(&self, reply: &[u8]) -> Result<Completion, ProviderFailure> {
        let value = parse_json(reply)?;
        let blocks = value
            .get("content")
            .and_then(Value::as_array)
            .ok_or_else(|| malformed("the reply has no content blocks"))?;
        let pieces = blocks
            .iter()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect();
        completion(
            &value,
            pieces,
            "/model",
            "/usage/input_tokens",
            "/usage/output_tokens",
        )
    }
}
