//! A scriptable LLM provider on 127.0.0.1 for the tests: it speaks the OpenAI chat
//! completions, Anthropic Messages and Gemini generateContent wire formats under a path
//! prefix per simulated key (`/{name}/…`), answers each request with the next scripted
//! behaviour (or the name's default), and records what it received. Embeddings (OpenAI's
//! `/embeddings`, Gemini's `batchEmbedContents`) are computed from each text by the name's
//! embedder (by default a hashed bag of words), unless a scripted status comes first. It
//! also receives webhooks at `/hook`. Test-only.

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub enum Behaviour {
    /// A successful reply with this text.
    Reply(&'static str),
    /// This status, with `Retry-After` when given, and a JSON error body.
    Status(u16, Option<u64>, &'static str),
    /// A reply that starts only after this long.
    SlowFirstByte(Duration),
    /// A body that breaks off after a few bytes.
    ResetMidBody,
    /// 200 with a body that is not JSON.
    Malformed,
    /// 200 with a body of this many bytes.
    Huge(usize),
    /// A successful reply with this text.
    Text(String),
    /// A successful reply with this text, after this long.
    DelayedText(Duration, String),
    /// A successful reply computed from the request's text (every message and the system
    /// prompt, joined), as a judge would.
    Compute(fn(&str) -> String),
}

#[derive(Debug, Clone)]
pub struct Received {
    pub name: String,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
}

#[derive(Default)]
struct Script {
    queues: HashMap<String, VecDeque<Behaviour>>,
    defaults: HashMap<String, Behaviour>,
    received: Vec<Received>,
    hooks: Vec<(HeaderMap, Bytes)>,
    embedders: HashMap<String, fn(&str) -> Vec<f32>>,
}

/// Dimensions of the default embedder's vectors.
pub const EMBEDDING_DIMENSIONS: usize = 64;

/// The default embedder: each lower-cased word adds one to a dimension chosen by its
/// hash, so texts sharing words are near and texts sharing none are orthogonal-ish.
pub fn bag_of_words(text: &str) -> Vec<f32> {
    let mut vector = vec![0.0; EMBEDDING_DIMENSIONS];
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let hash = word
            .to_lowercase()
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
            });
        vector[(hash % EMBEDDING_DIMENSIONS as u64) as usize] += 1.0;
    }
    vector
}

#[derive(Clone)]
pub struct Upstream {
    pub addr: SocketAddr,
    script: Arc<Mutex<Script>>,
}

#[derive(Clone, Copy)]
enum Wire {
    OpenAi,
    Anthropic,
    Gemini,
}

impl Upstream {
    pub async fn start() -> Upstream {
        let script = Arc::new(Mutex::new(Script::default()));
        let app = Router::new()
            .route("/hook", post(hook))
            .route("/{name}/v1/chat/completions", post(openai))
            .route("/{name}/v1/embeddings", post(openai_embeddings))
            .route("/{name}/v1/messages", post(anthropic))
            .route("/{name}/v1beta/models/{action}", post(gemini))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Upstream { addr, script }
    }

    /// The base URL a key named `name` uses for `provider`.
    pub fn base_url(&self, name: &str, provider: &str) -> String {
        match provider {
            "gemini" => format!("http://{}/{name}/v1beta", self.addr),
            _ => format!("http://{}/{name}/v1", self.addr),
        }
    }

    pub fn hook_url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    fn with<R>(&self, f: impl FnOnce(&mut Script) -> R) -> R {
        f(&mut self.script.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn push(&self, name: &str, behaviour: Behaviour) {
        self.with(|s| {
            s.queues
                .entry(name.into())
                .or_default()
                .push_back(behaviour)
        });
    }

    pub fn set_default(&self, name: &str, behaviour: Behaviour) {
        self.with(|s| {
            s.queues.remove(name);
            s.defaults.insert(name.into(), behaviour)
        });
    }

    /// Embeds `name`'s texts with `embedder` instead of the bag of words.
    pub fn set_embedder(&self, name: &str, embedder: fn(&str) -> Vec<f32>) {
        self.with(|s| s.embedders.insert(name.into(), embedder));
    }

    pub fn received(&self, name: &str) -> Vec<Received> {
        self.with(|s| {
            s.received
                .iter()
                .filter(|r| r.name == name)
                .cloned()
                .collect()
        })
    }

    pub fn hooks(&self) -> Vec<(HeaderMap, Value)> {
        self.with(|s| {
            s.hooks
                .iter()
                .map(|(h, b)| (h.clone(), serde_json::from_slice(b).unwrap_or(Value::Null)))
                .collect()
        })
    }

    pub fn raw_hooks(&self) -> Vec<(HeaderMap, Bytes)> {
        self.with(|s| s.hooks.clone())
    }

    /// Waits up to 10 s for a webhook event named `event`.
    pub async fn wait_for_hook(&self, event: &str) -> Value {
        for _ in 0..200 {
            if let Some((_, body)) = self.hooks().into_iter().find(|(_, b)| b["event"] == event) {
                return body;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no {event} webhook arrived; got {:?}", self.hooks());
    }
}

async fn hook(
    State(script): State<Arc<Mutex<Script>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    script
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .hooks
        .push((headers, body));
    StatusCode::OK
}

async fn openai(
    state: State<Arc<Mutex<Script>>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(
        state,
        name,
        "chat/completions".into(),
        headers,
        body,
        Wire::OpenAi,
    )
    .await
}

async fn openai_embeddings(
    state: State<Arc<Mutex<Script>>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    embeddings(
        state,
        name,
        "embeddings".into(),
        headers,
        body,
        Wire::OpenAi,
    )
}

/// Vectors for every text in the request, or the scripted status queued first.
fn embeddings(
    State(script): State<Arc<Mutex<Script>>>,
    name: String,
    path: String,
    headers: HeaderMap,
    body: Bytes,
    wire: Wire,
) -> Response {
    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (queued, embedder) = {
        let mut script = script.lock().unwrap_or_else(|p| p.into_inner());
        script.received.push(Received {
            name: name.clone(),
            path,
            headers,
            body: value.clone(),
        });
        let queued = script.queues.get_mut(&name).and_then(VecDeque::pop_front);
        let embedder = script.embedders.get(&name).copied().unwrap_or(bag_of_words);
        (queued, embedder)
    };
    if let Some(Behaviour::Status(status, _, message)) = queued {
        return (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            axum::Json(json!({ "error": { "message": message, "type": "scripted" } })),
        )
            .into_response();
    }
    match wire {
        Wire::Gemini => {
            let texts: Vec<String> = value["requests"]
                .as_array()
                .map(|r| {
                    r.iter()
                        .map(|q| {
                            q["content"]["parts"][0]["text"]
                                .as_str()
                                .unwrap_or("")
                                .to_string()
                        })
                        .collect()
                })
                .unwrap_or_default();
            let embeddings: Vec<Value> = texts
                .iter()
                .map(|t| json!({ "values": embedder(t) }))
                .collect();
            axum::Json(json!({ "embeddings": embeddings })).into_response()
        }
        _ => {
            let texts: Vec<String> = match &value["input"] {
                Value::String(text) => vec![text.clone()],
                Value::Array(items) => items
                    .iter()
                    .map(|t| t.as_str().unwrap_or("").to_string())
                    .collect(),
                _ => Vec::new(),
            };
            let data: Vec<Value> = texts
                .iter()
                .enumerate()
                .map(|(index, t)| json!({ "object": "embedding", "index": index, "embedding": embedder(t) }))
                .collect();
            let tokens: usize = texts.iter().map(|t| t.split_whitespace().count()).sum();
            axum::Json(json!({
                "object": "list", "data": data, "model": value["model"],
                "usage": { "prompt_tokens": tokens, "total_tokens": tokens }
            }))
            .into_response()
        }
    }
}

async fn anthropic(
    state: State<Arc<Mutex<Script>>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(
        state,
        name,
        "messages".into(),
        headers,
        body,
        Wire::Anthropic,
    )
    .await
}

async fn gemini(
    state: State<Arc<Mutex<Script>>>,
    Path((name, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if action.ends_with(":batchEmbedContents") {
        return embeddings(
            state,
            name,
            format!("models/{action}"),
            headers,
            body,
            Wire::Gemini,
        );
    }
    answer(
        state,
        name,
        format!("models/{action}"),
        headers,
        body,
        Wire::Gemini,
    )
    .await
}

async fn answer(
    State(script): State<Arc<Mutex<Script>>>,
    name: String,
    path: String,
    headers: HeaderMap,
    body: Bytes,
    wire: Wire,
) -> Response {
    let behaviour = {
        let mut script = script.lock().unwrap_or_else(|p| p.into_inner());
        script.received.push(Received {
            name: name.clone(),
            path,
            headers,
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        });
        let queued = script.queues.get_mut(&name).and_then(VecDeque::pop_front);
        queued
            .or_else(|| script.defaults.get(&name).cloned())
            .unwrap_or(Behaviour::Reply("ok"))
    };
    match behaviour {
        Behaviour::Reply(text) => ok(wire, text),
        Behaviour::Text(text) => ok(wire, &text),
        Behaviour::DelayedText(wait, text) => {
            tokio::time::sleep(wait).await;
            ok(wire, &text)
        }
        Behaviour::Compute(reply) => ok(wire, &reply(&request_text(&body))),
        Behaviour::Status(status, retry_after, message) => {
            let mut response = (
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                axum::Json(json!({ "error": { "message": message, "type": "scripted" } })),
            )
                .into_response();
            if let Some(seconds) = retry_after {
                response
                    .headers_mut()
                    .insert("retry-after", seconds.to_string().parse().expect("header"));
            }
            response
        }
        Behaviour::SlowFirstByte(wait) => {
            tokio::time::sleep(wait).await;
            ok(wire, "late")
        }
        Behaviour::ResetMidBody => {
            let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
                Ok(Bytes::from_static(b"{\"choices\": [")),
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "cut",
                )),
            ];
            Response::builder()
                .status(200)
                .header("content-type", "application/json")
                .body(Body::from_stream(futures::stream::iter(chunks)))
                .expect("response")
        }
        Behaviour::Malformed => {
            (StatusCode::OK, "{\"choices\": [ this is not json").into_response()
        }
        Behaviour::Huge(size) => {
            let mut text = String::with_capacity(size);
            text.push_str("{\"pad\":\"");
            text.extend(std::iter::repeat_n('x', size.saturating_sub(10)));
            text.push_str("\"}");
            (StatusCode::OK, text).into_response()
        }
    }
}

/// Every string in the request body, joined: the prompt as a scripted model reads it.
fn request_text(body: &Bytes) -> String {
    fn collect(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::String(text) => out.push(text.clone()),
            Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
            Value::Object(map) => map.values().for_each(|v| collect(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    collect(
        &serde_json::from_slice(body).unwrap_or(Value::Null),
        &mut out,
    );
    out.join("\n")
}

fn ok(wire: Wire, text: &str) -> Response {
    let body = match wire {
        Wire::OpenAi => json!({
            "id": "cmpl-1", "model": "scripted-model",
            "choices": [{ "index": 0, "message": { "role": "assistant", "content": text }, "finish_reason": "stop" }],
            "usage": { "prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14 }
        }),
        Wire::Anthropic => json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "scripted-claude",
            "content": [{ "type": "text", "text": text }],
            "usage": { "input_tokens": 12, "output_tokens": 4 }
        }),
        Wire::Gemini => json!({
            "modelVersion": "scripted-gemini",
            "candidates": [{ "content": { "role": "model", "parts": [{ "text": text }] } }],
            "usageMetadata": { "promptTokenCount": 13, "candidatesTokenCount": 5 }
        }),
    };
    axum::Json(body).into_response()
}
