//! OpenAI chat completions (`POST {base}/chat/completions`), as spoken by OpenAI and every
//! compatible server. JSON-schema output through `response_format`.

use serde_json::{Value, json};

use super::{
    Provider, ProviderKind, Target, WireRequest, body, checked_model, completion, header,
    json_headers, malformed, parse_json,
};
use crate::llm::failure::ProviderFailure;
use crate::llm::request::{Completion, CompletionRequest};

pub struct OpenAiChat;

impl Provider for OpenAiChat {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Openai
    }

    fn build(
        &self,
        target: &Target<'_>,
        request: &CompletionRequest,
    ) -> Result<WireRequest, ProviderFailure> {
        let model = checked_model(target.model)?;
        let mut messages = Vec::with_capacity(request.messages.len() + 1);
        if let Some(system) = &request.system {
            messages.push(json!({ "role": "system", "content": system }));
        }
        for message in &request.messages {
            messages.push(json!({ "role": message.role.as_str(), "content": message.content }));
        }
        let mut payload = json!({
            "model": model,
            "messages": messages,
            "max_tokens": request.max_tokens,
        });
        if let Some(temperature) = request.temperature {
            payload["temperature"] = json!(temperature);
        }
        if let Some(schema) = &request.response_schema {
            payload["response_format"] = json!({
                "type": "json_schema",
                "json_schema": { "name": schema.name, "schema": schema.schema, "strict": true },
            });
        }
        let mut headers = json_headers();
        if !target.key.is_empty() {
            headers.insert(
                http::header::AUTHORIZATION,
                header(&format!("Bearer {}", target.key), true)?,
            );
        }
        Ok(WireRequest {
            url: format!("{}/chat/completions", target.base_url),
            headers,
            body: body(&payload)?,
        })
    }

    fn parse(&self, reply: &[u8]) -> Result<Completion, ProviderFailure> {
        let value = parse_json(reply)?;
        let text = value
            .pointer("/choices/0/message/content")
            .and_then(Value::as_str)
            .ok_or_else(|| malformed("the reply has no choices[0].message.content"))?;
        completion(
            &value,
            vec![text],
            "/model",
            "/usage/prompt_tokens",
            "/usage/completion_tokens",
        )
    }
}
