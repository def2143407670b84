//! OpenAI chat completions (`POST {base}/chat/completions`), as spoken by OpenAI and every
//! compatible server. JSON-schema output through `response_format`. Embeddings through
//! `POST {base}/embeddings`.

use serde_json::{Value, json};

use super::{
    Provider, ProviderKind, Target, WireRequest, body, checked_model, completion, count,
    embeddings, header, json_headers, malformed, parse_json, vector,
};
use crate::llm::failure::ProviderFailure;
use crate::llm::request::{Completion, CompletionRequest, Embeddings, TokenUsage};

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
        Ok(WireRequest {
            url: format!("{}/chat/completions", target.base_url),
            headers: bearer_headers(target)?,
            body: body(&payload)?,
        })
    }

    fn embeds(&self) -> bool {
        true
    }

    fn build_embeddings(
        &self,
        target: &Target<'_>,
        inputs: &[String],
    ) -> Result<WireRequest, ProviderFailure> {
        let model = checked_model(target.model)?;
        let payload = json!({ "model": model, "input": inputs, "encoding_format": "float" });
        Ok(WireRequest {
            url: format!("{}/embeddings", target.base_url),
            headers: bearer_headers(target)?,
            body: body(&payload)?,
        })
    }

    fn parse_embeddings(
        &self,
        reply: &[u8],
        expected: usize,
    ) -> Result<Embeddings, ProviderFailure> {
        let value = parse_json(reply)?;
        let data = value
            .get("data")
            .and_then(Value::as_array)
            .ok_or_else(|| malformed("the reply has no data array"))?;
        // Each item says which input it belongs to; order by it rather than trusting the
        // array's order.
        let mut indexed = Vec::with_capacity(data.len());
        for (position, item) in data.iter().enumerate() {
            let index = item
                .get("index")
                .and_then(Value::as_u64)
                .map_or(position, |i| i as usize);
            let values = item
                .get("embedding")
                .and_then(vector)
                .ok_or_else(|| malformed("an item has no numeric embedding"))?;
            indexed.push((index, values));
        }
        indexed.sort_by_key(|(index, _)| *index);
        if indexed
            .iter()
            .enumerate()
            .any(|(i, (index, _))| i != *index)
        {
            return Err(malformed("the reply's indexes do not match the texts sent"));
        }
        embeddings(
            indexed.into_iter().map(|(_, v)| v).collect(),
            expected,
            value
                .get("model")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            TokenUsage {
                input: count(value.pointer("/usage/prompt_tokens")),
                output: 0,
            },
        )
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

fn bearer_headers(target: &Target<'_>) -> Result<http::HeaderMap, ProviderFailure> {
    let mut headers = json_headers();
    if !target.key.is_empty() {
        headers.insert(
            http::header::AUTHORIZATION,
            header(&format!("Bearer {}", target.key), true)?,
        );
    }
    Ok(headers)
}
