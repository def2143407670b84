use serde_json::{Value, json};

use super::*;
use crate::llm::request::{Message, ResponseSchema};

const KEY: &str = "sk-test-0123456789abcdef";

fn target(model: &str) -> Target<'_> {
    Target {
        base_url: "http://127.0.0.1:9/v1",
        model,
        key: KEY,
    }
}

fn request() -> CompletionRequest {
    let mut request = CompletionRequest::new(
        vec![
            Message::user("hi"),
            Message::assistant("hello"),
            Message::user("what is 2+2?"),
        ],
        64,
    );
    request.system = Some("be brief".into());
    request.response_schema = Some(ResponseSchema {
        name: "answer".into(),
        schema: json!({ "type": "object" }),
    });
    request
}

fn sent(wire: &WireRequest) -> Value {
    serde_json::from_slice(&wire.body).expect("json body")
}

#[test]
fn no_provider_puts_the_key_in_the_url_or_the_body() {
    for kind in ProviderKind::ALL {
        let wire = kind
            .wire()
            .build(&target("m-1"), &request())
            .expect("builds");
        assert!(!wire.url.contains(KEY), "{kind}: {}", wire.url);
        assert!(!String::from_utf8_lossy(&wire.body).contains(KEY), "{kind}");
        let carried: Vec<_> = wire
            .headers
            .values()
            .filter(|v| v.to_str().is_ok_and(|v| v.contains(KEY)))
            .collect();
        assert_eq!(
            carried.len(),
            1,
            "{kind}: the key rides in exactly one header"
        );
        assert!(
            carried[0].is_sensitive(),
            "{kind}: that header is marked sensitive"
        );
    }
}

#[test]
fn openai_sends_the_system_prompt_first_and_asks_for_the_schema() {
    let wire = ProviderKind::Openai
        .wire()
        .build(&target("gpt-4o-mini"), &request())
        .expect("builds");
    assert_eq!(wire.url, "http://127.0.0.1:9/v1/chat/completions");
    let body = sent(&wire);
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(body["messages"][3]["content"], "what is 2+2?");
    assert_eq!(body["response_format"]["type"], "json_schema");
    assert_eq!(body["max_tokens"], 64);
}

#[test]
fn anthropic_keeps_the_system_prompt_apart_and_states_the_schema_in_it() {
    let wire = ProviderKind::Anthropic
        .wire()
        .build(&target("claude-x"), &request())
        .expect("builds");
    assert_eq!(wire.url, "http://127.0.0.1:9/v1/messages");
    let body = sent(&wire);
    assert_eq!(body["messages"].as_array().map(Vec::len), Some(3));
    let system = body["system"].as_str().unwrap_or_default();
    assert!(system.starts_with("be brief") && system.contains("JSON Schema"));
    assert!(wire.headers.contains_key("anthropic-version"));
}

#[test]
fn gemini_names_the_model_in_the_path_and_calls_the_assistant_model() {
    let wire = ProviderKind::Gemini
        .wire()
        .build(&target("models/gemini-2.0-flash"), &request())
        .expect("builds");
    assert_eq!(
        wire.url,
        "http://127.0.0.1:9/v1/models/gemini-2.0-flash:generateContent"
    );
    let body = sent(&wire);
    assert_eq!(body["contents"][1]["role"], "model");
    assert_eq!(body["systemInstruction"]["parts"][0]["text"], "be brief");
    assert_eq!(
        body["generationConfig"]["responseMimeType"],
        "application/json"
    );
}

#[test]
fn a_model_id_that_could_rewrite_the_url_is_refused() {
    for model in ["../admin", "m?key=1", "m#x", "m x", ""] {
        assert!(
            ProviderKind::Gemini
                .wire()
                .build(&target(model), &request())
                .is_err(),
            "{model:?}"
        );
    }
}

#[test]
fn replies_are_read_with_their_token_counts() {
    let openai = json!({
        "model": "gpt-x", "choices": [{ "message": { "role": "assistant", "content": "4" } }],
        "usage": { "prompt_tokens": 12, "completion_tokens": 1 }
    });
    let reply = ProviderKind::Openai
        .wire()
        .parse(openai.to_string().as_bytes())
        .expect("parses");
    assert_eq!(
        (reply.text.as_str(), reply.usage.input, reply.usage.output),
        ("4", 12, 1)
    );

    let anthropic = json!({
        "model": "claude-x", "content": [{ "type": "text", "text": "fo" }, { "type": "text", "text": "ur" }],
        "usage": { "input_tokens": 9, "output_tokens": 2 }
    });
    let reply = ProviderKind::Anthropic
        .wire()
        .parse(anthropic.to_string().as_bytes())
        .expect("parses");
    assert_eq!((reply.text.as_str(), reply.usage.input), ("four", 9));

    let gemini = json!({
        "modelVersion": "gemini-x",
        "candidates": [{ "content": { "role": "model", "parts": [{ "text": "4" }] } }],
        "usageMetadata": { "promptTokenCount": 5, "candidatesTokenCount": 1 }
    });
    let reply = ProviderKind::Gemini
        .wire()
        .parse(gemini.to_string().as_bytes())
        .expect("parses");
    assert_eq!((reply.model.as_str(), reply.usage.output), ("gemini-x", 1));
}

#[test]
fn a_reply_without_text_is_malformed_not_empty() {
    for kind in ProviderKind::ALL {
        for body in [
            "not json",
            "{}",
            r#"{"choices":[],"content":[],"candidates":[]}"#,
        ] {
            let failure = kind.wire().parse(body.as_bytes()).expect_err("refused");
            assert_eq!(failure.kind, FailureKind::Malformed, "{kind} {body}");
        }
    }
}

#[test]
fn provider_names_parse_with_their_aliases() {
    assert_eq!("OpenAI".parse(), Ok(ProviderKind::Openai));
    assert_eq!("openai-compatible".parse(), Ok(ProviderKind::Openai));
    assert_eq!("google".parse(), Ok(ProviderKind::Gemini));
    assert!("cohere".parse::<ProviderKind>().is_err());
}

#[test]
fn embeddings_go_to_each_providers_endpoint_with_the_key_in_a_header() {
    let inputs = vec!["renin".to_string(), "bilirubin".to_string()];
    let openai = ProviderKind::Openai
        .wire()
        .build_embeddings(&target("text-embedding-3-small"), &inputs)
        .expect("builds");
    assert!(openai.url.ends_with("/v1/embeddings"));
    assert_eq!(sent(&openai)["input"], json!(["renin", "bilirubin"]));
    assert!(openai.headers["authorization"].is_sensitive());
    let gemini = ProviderKind::Gemini
        .wire()
        .build_embeddings(&target("models/gemini-embedding-001"), &inputs)
        .expect("builds");
    assert!(
        gemini
            .url
            .ends_with("/models/gemini-embedding-001:batchEmbedContents"),
        "{}",
        gemini.url
    );
    assert_eq!(
        sent(&gemini)["requests"][1]["content"]["parts"][0]["text"],
        "bilirubin"
    );
    assert!(!gemini.url.contains(KEY));
    assert!(!ProviderKind::Anthropic.wire().embeds());
    assert!(
        ProviderKind::Anthropic
            .wire()
            .build_embeddings(&target("x"), &inputs)
            .is_err()
    );
}

#[test]
fn embedding_replies_are_put_in_input_order_and_checked() {
    let openai = ProviderKind::Openai.wire();
    let reply = json!({
        "model": "text-embedding-3-small",
        "data": [
            { "index": 1, "embedding": [0.0, 1.0] },
            { "index": 0, "embedding": [1.0, 0.0] }
        ],
        "usage": { "prompt_tokens": 4 }
    });
    let read = openai
        .parse_embeddings(reply.to_string().as_bytes(), 2)
        .expect("reads");
    assert_eq!(read.vectors, vec![vec![1.0, 0.0], vec![0.0, 1.0]]);
    assert_eq!(read.usage.input, 4);
    assert_eq!(read.model, "text-embedding-3-small");
    for bad in [
        json!({ "data": [{ "index": 0, "embedding": [1.0, 0.0] }] }),
        json!({ "data": [{ "index": 0, "embedding": [1.0] }, { "index": 1, "embedding": [1.0, 2.0] }] }),
        json!({ "data": [{ "index": 0, "embedding": [] }, { "index": 1, "embedding": [] }] }),
        json!({ "data": [{ "index": 0, "embedding": "no" }, { "index": 1, "embedding": [1.0] }] }),
        json!({ "data": [{ "index": 0, "embedding": [1.0] }, { "index": 0, "embedding": [1.0] }] }),
    ] {
        let failure = openai
            .parse_embeddings(bad.to_string().as_bytes(), 2)
            .expect_err("refused");
        assert_eq!(failure.kind, FailureKind::Malformed, "{bad}");
    }
    let gemini = ProviderKind::Gemini.wire();
    let read = gemini
        .parse_embeddings(
            json!({ "embeddings": [{ "values": [0.5, 0.5] }] })
                .to_string()
                .as_bytes(),
            1,
        )
        .expect("reads");
    assert_eq!(read.vectors, vec![vec![0.5, 0.5]]);
}
