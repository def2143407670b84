//! Google Gemini `generateContent` (`POST {base}/models/{model}:generateContent`). The key
//! travels in the `x-goog-api-key` header, never in the query string where proxies and
//! access logs would keep it. JSON-schema output through `responseJsonSchema`. Embeddings
//! through `POST {base}/models/{model}:batchEmbedContents`.

use serde_json::{Value, json};

use super::{
    Provider, ProviderKind, Target, WireRequest, body, checked_model, completion, embeddings,
    header, json_headers, malformed, parse_json, vector,
};
use crate::llm::failure::ProviderFailure;
use crate::llm::request::{Completion, CompletionRequest, Embeddings, Role, TokenUsage};

pub struct GeminiGenerate;

impl Provider for GeminiGenerate {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Gemini
    }

    fn build(
        &self,
        target: &Target<'_>,
        request: &CompletionRequest,
    ) -> Result<WireRequest, ProviderFailure> {
        let model = checked_model(target.model)?;
        let model = model.strip_prefix("models/").unwrap_or(model);
        let contents: Vec<Value> = request
            .messages
            .iter()
            .map(|m| {
                let role = match m.role {
                    Role::User => "user",
                    Role::Assistant => "model",
                };
                json!({ "role": role, "parts": [{ "text": m.content }] })
            })
            .collect();
        let mut generation = json!({ "maxOutputTokens": request.max_tokens });
        if let Some(temperature) = request.temperature {
            generation["temperature"] = json!(temperature);
        }
        if let Some(schema) = &request.response_schema {
            generation["responseMimeType"] = json!("application/json");
            generation["responseJsonSchema"] = schema.schema.clone();
        }
        let mut payload = json!({ "contents": contents, "generationConfig": generation });
        if let Some(system) = &request.system {
            payload["systemInstruction"] = json!({ "parts": [{ "text": system }] });
        }
        let mut headers = json_headers();
        headers.insert("x-goog-api-key", header(target.key, true)?);
        Ok(WireRequest {
            url: format!("{}/models/{model}:generateContent", target.base_url),
            headers,
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
        let model = model.strip_prefix("models/").unwrap_or(model);
        let requests: Vec<Value> = inputs
            .iter()
            .map(|text| json!({ "model": format!("models/{model}"), "content": { "parts": [{ "text": text }] } }))
            .collect();
        let mut headers = json_headers();
        headers.insert("x-goog-api-key", header(target.key, true)?);
        Ok(WireRequest {
            url: format!("{}/models/{model}:batchEmbedContents", target.base_url),
            headers,
            body: body(&json!({ "requests": requests }))?,
        })
    }

    fn parse_embeddings(
        &self,
        reply: &[u8],
        expected: usize,
    ) -> Result<Embeddings, ProviderFailure> {
        let value = parse_json(reply)?;
        let vectors = value
            .get("embeddings")
            .and_then(Value::as_array)
            .ok_or_else(|| malformed("the reply has no embeddings array"))?
            .iter()
            .map(|e| e.get("values").and_then(vector))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| malformed("an embedding has no numeric values"))?;
        // Gemini's batch reply names neither the model nor a token count.
        embeddings(vectors, expected, String::new(), TokenUsage::default())
    }

    fn parse(&self, reply: &[u8]) -> Result<Completion, ProviderFailure> {
        let value = parse_json(reply)?;
        let parts = value
            .pointer("/candidates/0/content/parts")
            .and_then(Value::as_array)
            .ok_or_else(|| malformed("the reply has no candidates[0].content.parts"))?;
        let pieces = parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect();
        completion(
            &value,
            pieces,
            "/modelVersion",
            "/usageMetadata/promptTokenCount",
            "/usageMetadata/candidatesTokenCount",
        )
    }
}
