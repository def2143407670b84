//! The legacy HTTP+SSE transport (protocol 2024-11-05), driven by a minimal hand-written
//! client: `GET /sse` and its `endpoint` event, JSON-RPC POSTed to `/messages?sessionId=…`
//! (answered 202) with every reply read from the stream's `message` events; the refusals of
//! `/messages` and `/sse`; and a session id dying with its stream.

mod common;

use std::time::{Duration, Instant};

use common::sse::SseReader;
use common::{HttpServer, within};
use serde_json::{Value, json};

/// One legacy session: the open event stream and the URL to POST to.
struct LegacyClient {
    http: reqwest::Client,
    events: SseReader,
    messages_url: String,
}

impl LegacyClient {
    async fn open(server: &HttpServer) -> Self {
        let http = reqwest::Client::new();
        let response = within("GET /sse", http.get(server.url("/sse")).send())
            .await
            .expect("GET /sse is answered");
        assert_eq!(response.status(), 200, "GET /sse opens a stream");
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert!(
            content_type.starts_with("text/event-stream"),
            "GET /sse must answer an event stream, got {content_type:?}"
        );
        let mut events = SseReader::new(response);
        let endpoint = events
            .next_event()
            .await
            .expect("the stream starts with an event");
        assert_eq!(
            endpoint.event, "endpoint",
            "the first event names the endpoint: {endpoint:?}"
        );
        assert!(
            endpoint.data.starts_with("/messages?sessionId="),
            "the endpoint is /messages?sessionId=…: {endpoint:?}"
        );
        Self {
            http,
            events,
            messages_url: server.url(&endpoint.data),
        }
    }

    fn session_id(&self) -> &str {
        self.messages_url
            .split("sessionId=")
            .nth(1)
            .unwrap_or_default()
    }

    /// POSTs one JSON-RPC message and checks it is accepted with 202.
    async fn post(&self, message: Value) {
        let response = within(
            "POST /messages",
            self.http.post(&self.messages_url).json(&message).send(),
        )
        .await
        .expect("POST /messages is answered");
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        assert_eq!(status, 202, "POST {message} must be accepted: {body}");
    }

    /// Sends a request and reads its response from the stream, skipping notifications.
    async fn request(&mut self, id: u64, method: &str, params: Value) -> Value {
        self.post(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }))
            .await;
        loop {
            let event = self
                .events
                .next_event()
                .await
                .unwrap_or_else(|| panic!("the stream ended before the reply to {method}"));
            if event.event != "message" {
                continue;
            }
            let message: Value = serde_json::from_str(&event.data)
                .unwrap_or_else(|e| panic!("a message event is not JSON ({e}): {}", event.data));
            if message["id"] == json!(id) {
                return message;
            }
        }
    }

    async fn initialize(&mut self) -> Value {
        let reply = self
            .request(
                1,
                "initialize",
                json!({
                    "protocolVersion": "2024-11-05",
                    "capabilities": {},
                    "clientInfo": { "name": "legacy-test-client", "version": "0.0.1" }
                }),
            )
            .await;
        self.post(json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }))
            .await;
        reply
    }
}

/// A raw POST to `/messages` with the given query.
async fn post_messages(server: &HttpServer, query: &str, body: &str) -> (u16, Value) {
    let response = within(
        "POST /messages",
        reqwest::Client::new()
            .post(server.url(&format!("/messages{query}")))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send(),
    )
    .await
    .expect("POST /messages is answered");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, json)
}

/// How soon a dropped stream's session id must stop working.
const SHORT: Duration = Duration::from_secs(3);

const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

#[tokio::test]
async fn a_legacy_client_initializes_lists_tools_and_calls_server_status_over_sse() {
    let server = HttpServer::start().await;
    let mut client = LegacyClient::open(&server).await;

    let initialized = client.initialize().await;
    assert_eq!(
        initialized["result"]["protocolVersion"], "2024-11-05",
        "the server speaks the legacy protocol to a legacy client: {initialized}"
    );
    assert_eq!(
        initialized["result"]["serverInfo"]["name"], "consilium",
        "{initialized}"
    );

    let tools = client.request(2, "tools/list", json!({})).await;
    let names: Vec<&str> = tools["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("tools/list returns tools: {tools}"))
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(
        names.contains(&"server_status"),
        "server_status is listed: {names:?}"
    );

    let status = client
        .request(
            3,
            "tools/call",
            json!({ "name": "server_status", "arguments": {} }),
        )
        .await;
    let result = &status["result"];
    assert_ne!(result["isError"], true, "server_status succeeds: {status}");
    assert!(
        result["structuredContent"]["store"]["schema_version"].as_u64() >= Some(1),
        "server_status returns structured content: {status}"
    );
    let transports = result["structuredContent"]["transports"].to_string();
    assert!(
        transports.contains("legacy-sse"),
        "the status lists the legacy transport: {transports}"
    );
}

#[tokio::test]
async fn posting_to_an_unknown_session_id_is_refused_with_404() {
    let server = HttpServer::start().await;
    let (status, body) = post_messages(&server, "?sessionId=no-such-session", INITIALIZED).await;
    assert_eq!(status, 404, "an unknown sessionId: {body}");
    assert!(
        body["error"]["code"].is_i64(),
        "the refusal is a JSON-RPC error: {body}"
    );
}

#[tokio::test]
async fn posting_without_a_session_id_is_refused_with_400() {
    let server = HttpServer::start().await;
    let (status, body) = post_messages(&server, "", INITIALIZED).await;
    assert_eq!(status, 400, "no sessionId: {body}");
    assert!(
        body["error"]["code"].is_i64(),
        "the refusal is a JSON-RPC error: {body}"
    );
}

#[tokio::test]
async fn posting_a_body_that_is_not_json_is_refused_with_400_and_the_session_keeps_working() {
    let server = HttpServer::start().await;
    let mut client = LegacyClient::open(&server).await;
    client.initialize().await;
    let query = format!("?sessionId={}", client.session_id());
    let (status, body) = post_messages(&server, &query, "this is not json").await;
    assert_eq!(status, 400, "a body that is not JSON: {body}");
    assert_eq!(
        body["error"]["code"], -32700,
        "a body that is not JSON is a parse error: {body}"
    );
    let tools = client.request(2, "tools/list", json!({})).await;
    assert!(
        tools["result"]["tools"].is_array(),
        "the session still answers after a bad POST: {tools}"
    );
}

#[tokio::test]
async fn opening_a_stream_with_a_wrong_origin_is_refused_with_403() {
    let server = HttpServer::start().await;
    let response = within(
        "GET /sse with a wrong Origin",
        reqwest::Client::new()
            .get(server.url("/sse"))
            .header("origin", "http://evil.example")
            .send(),
    )
    .await
    .expect("GET /sse is answered");
    assert_eq!(response.status(), 403, "GET /sse with a wrong Origin");
    let body: Value = within("the refusal body", response.json())
        .await
        .expect("the refusal is JSON");
    assert!(
        body["error"]["code"].is_i64(),
        "the refusal is a JSON-RPC error: {body}"
    );
}

#[tokio::test]
async fn a_session_id_stops_working_soon_after_its_stream_is_dropped() {
    let server = HttpServer::start().await;
    let mut client = LegacyClient::open(&server).await;
    client.initialize().await;
    let query = format!("?sessionId={}", client.session_id());
    let LegacyClient { http, events, .. } = client;
    drop(events);
    drop(http);

    let deadline = Instant::now() + SHORT;
    loop {
        let (status, body) = post_messages(&server, &query, INITIALIZED).await;
        if status == 404 {
            break;
        }
        assert_eq!(
            status, 202,
            "until it is gone, the session accepts messages: {body}"
        );
        assert!(
            Instant::now() < deadline,
            "the session id still worked {SHORT:?} after its stream was dropped"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
