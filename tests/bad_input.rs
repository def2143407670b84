//! Bad input over streamable HTTP: malformed and non-JSON-RPC bodies, unknown methods, tools,
//! resources and prompts, arguments that break a schema, oversized bodies, a wrong `Origin`
//! or `Host`, a missing session id. Each gets the right error, and after each a separate
//! live session on the same server still works.

#![allow(deprecated)]

mod common;

use common::{Client, HttpServer, Recorder, assert_still_serves, call, mcp_error_code, within};
use rmcp::model::{
    ClientRequest, CustomRequest, ErrorCode, GetPromptRequestParams, ReadResourceRequestParams,
};
use serde_json::{Value, json};

/// A server, and a live session that must keep working whatever the bad input does.
struct Fixture {
    server: HttpServer,
    live: Client,
    _recorder: Recorder,
}

async fn fixture() -> Fixture {
    let server = HttpServer::start().await;
    let (live, recorder) = server.connect().await;
    assert_still_serves(&live, "connecting").await;
    Fixture {
        server,
        live,
        _recorder: recorder,
    }
}

const TOOLS_LIST: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;

/// A POST to `/mcp` as a streamable-HTTP client would send it, with extra headers.
async fn post_mcp(
    server: &HttpServer,
    body: impl Into<reqwest::Body>,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(server.mcp_url())
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    within("a raw POST /mcp", request.send())
        .await
        .expect("the server answers the POST")
}

/// The status and the body, parsed as JSON when it is JSON.
async fn status_and_body(response: reqwest::Response) -> (u16, String, Option<Value>) {
    let status = response.status().as_u16();
    let text = within("reading the body", response.text())
        .await
        .expect("the body can be read");
    let json = serde_json::from_str(&text).ok();
    (status, text, json)
}

fn assert_client_error(status: u16, body: &str, what: &str) {
    assert!(
        (400..500).contains(&status),
        "{what} must be refused with a 4xx status, got {status}: {body}"
    );
}

/// The JSON-RPC error code in a refusal body, failing the test when there is none.
fn json_rpc_error_code(json: &Option<Value>, body: &str, what: &str) -> i64 {
    let json = json
        .as_ref()
        .unwrap_or_else(|| panic!("{what}: the body must be a JSON-RPC error, got {body:?}"));
    assert_eq!(json["jsonrpc"], "2.0", "{what}: not JSON-RPC: {json}");
    json["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("{what}: the body carries no error code: {json}"))
}

// --- Malformed bodies ------------------------------------------------------------------

#[tokio::test]
async fn a_post_body_that_is_not_json_is_refused_with_a_client_error_and_the_live_session_keeps_working()
 {
    let f = fixture().await;
    let (status, body, _) =
        status_and_body(post_mcp(&f.server, "this is not json", &[]).await).await;
    assert_client_error(status, &body, "a body that is not JSON");
    assert_still_serves(&f.live, "a body that is not JSON").await;
}

#[tokio::test]
async fn a_post_body_that_is_not_json_is_answered_with_400_and_a_json_rpc_parse_error() {
    let f = fixture().await;
    let (status, body, json) =
        status_and_body(post_mcp(&f.server, "this is not json", &[]).await).await;
    assert_eq!(status, 400, "a body that is not JSON: {body}");
    let code = json_rpc_error_code(&json, &body, "a body that is not JSON");
    assert_eq!(
        code, -32700,
        "a body that is not JSON is a parse error: {body}"
    );
    assert_still_serves(&f.live, "a body that is not JSON").await;
}

#[tokio::test]
async fn a_json_object_that_is_not_json_rpc_is_refused_with_a_client_error_and_the_live_session_keeps_working()
 {
    let f = fixture().await;
    let (status, body, _) =
        status_and_body(post_mcp(&f.server, r#"{"hello":"world"}"#, &[]).await).await;
    assert_client_error(status, &body, "a JSON object that is not JSON-RPC");
    assert_still_serves(&f.live, "a JSON object that is not JSON-RPC").await;
}

#[tokio::test]
async fn a_json_object_that_is_not_json_rpc_is_answered_with_400_and_a_json_rpc_invalid_request_error()
 {
    let f = fixture().await;
    let (status, body, json) =
        status_and_body(post_mcp(&f.server, r#"{"hello":"world"}"#, &[]).await).await;
    assert_eq!(status, 400, "a JSON object that is not JSON-RPC: {body}");
    let code = json_rpc_error_code(&json, &body, "a JSON object that is not JSON-RPC");
    assert_eq!(code, -32600, "a JSON object that is not JSON-RPC: {body}");
    assert_still_serves(&f.live, "a JSON object that is not JSON-RPC").await;
}

// --- Protocol errors through rmcp's client ---------------------------------------------

#[tokio::test]
async fn an_unknown_method_gets_json_rpc_method_not_found() {
    let f = fixture().await;
    let (offender, _) = f.server.connect().await;
    let error = within(
        "an unknown method",
        offender.send_request(ClientRequest::CustomRequest(CustomRequest::new(
            "consilium/no-such-method",
            None,
        ))),
    )
    .await
    .expect_err("an unknown method must fail");
    assert_eq!(
        mcp_error_code(&error),
        Some(ErrorCode::METHOD_NOT_FOUND.0),
        "an unknown method must get -32601: {error:?}"
    );
    assert_still_serves(&offender, "its own unknown method").await;
    assert_still_serves(&f.live, "another session's unknown method").await;
}

#[tokio::test]
async fn an_unknown_tool_gets_json_rpc_invalid_params() {
    let f = fixture().await;
    let (offender, _) = f.server.connect().await;
    let error = within(
        "tools/call of an unknown tool",
        offender.call_tool(rmcp::model::CallToolRequestParams::new("no_such_tool")),
    )
    .await
    .expect_err("an unknown tool must be a protocol error, not a result");
    assert_eq!(
        mcp_error_code(&error),
        Some(ErrorCode::INVALID_PARAMS.0),
        "an unknown tool must get -32602: {error:?}"
    );
    assert_still_serves(&offender, "its own unknown tool").await;
    assert_still_serves(&f.live, "another session's unknown tool").await;
}

/// The error result a tool gives for arguments that break its schema.
fn assert_invalid_arguments_result(result: &rmcp::model::CallToolResult, what: &str) {
    assert_eq!(
        result.is_error,
        Some(true),
        "{what} must be an error result: {result:?}"
    );
    let structured = result
        .structured_content
        .as_ref()
        .unwrap_or_else(|| panic!("{what}: the error result must be structured: {result:?}"));
    assert_eq!(
        structured["code"], "INVALID_ARGUMENTS",
        "{what}: {structured}"
    );
}

#[tokio::test]
async fn a_slow_operation_with_millis_that_is_not_a_number_is_an_invalid_arguments_result() {
    let f = fixture().await;
    let (offender, _) = f.server.connect().await;
    let result = call(&offender, "test_slow_operation", json!({ "millis": "abc" })).await;
    assert_invalid_arguments_result(&result, "test_slow_operation with millis \"abc\"");
    assert_still_serves(&f.live, "another session's bad arguments").await;
}

#[tokio::test]
async fn server_status_with_an_unexpected_field_is_an_invalid_arguments_result() {
    let f = fixture().await;
    let (offender, _) = f.server.connect().await;
    let result = call(&offender, "server_status", json!({ "bogus": 1 })).await;
    assert_invalid_arguments_result(&result, "server_status with {\"bogus\": 1}");
    assert_still_serves(&f.live, "another session's unexpected field").await;
}

#[tokio::test]
async fn an_unknown_resource_uri_gets_a_json_rpc_resource_not_found_error() {
    let f = fixture().await;
    let (offender, _) = f.server.connect().await;
    let error = within(
        "resources/read of an unknown URI",
        offender.read_resource(ReadResourceRequestParams::new("consilium://no-such-thing")),
    )
    .await
    .expect_err("an unknown resource must fail");
    assert_eq!(
        mcp_error_code(&error),
        Some(ErrorCode::RESOURCE_NOT_FOUND.0),
        "an unknown resource must get -32002: {error:?}"
    );
    assert_still_serves(&f.live, "another session's unknown resource").await;
}

#[tokio::test]
async fn an_unknown_prompt_gets_json_rpc_invalid_params() {
    let f = fixture().await;
    let (offender, _) = f.server.connect().await;
    let error = within(
        "prompts/get of an unknown prompt",
        offender.get_prompt(GetPromptRequestParams::new("no-such-prompt")),
    )
    .await
    .expect_err("an unknown prompt must fail");
    assert_eq!(
        mcp_error_code(&error),
        Some(ErrorCode::INVALID_PARAMS.0),
        "an unknown prompt must get -32602: {error:?}"
    );
    assert_still_serves(&f.live, "another session's unknown prompt").await;
}

#[tokio::test]
async fn a_prompt_without_its_required_argument_gets_json_rpc_invalid_params() {
    let f = fixture().await;
    let (offender, _) = f.server.connect().await;
    let mut arguments = serde_json::Map::new();
    arguments.insert("arg1".into(), json!("only the first"));
    let error = within(
        "prompts/get without a required argument",
        offender.get_prompt(
            GetPromptRequestParams::new("test_prompt_with_arguments").with_arguments(arguments),
        ),
    )
    .await
    .expect_err("a missing required argument must fail");
    assert_eq!(
        mcp_error_code(&error),
        Some(ErrorCode::INVALID_PARAMS.0),
        "a missing required argument must get -32602: {error:?}"
    );
    let message = match &error {
        rmcp::ServiceError::McpError(data) => data.message.to_string(),
        _ => String::new(),
    };
    assert!(
        message.contains("arg2"),
        "the error must name the missing argument: {message}"
    );
    assert_still_serves(&f.live, "another session's incomplete prompt").await;
}

// --- Refusals at the HTTP door ---------------------------------------------------------

/// Ten megabytes of JSON-looking text: a string in a JSON-RPC request.
fn ten_megabytes() -> Vec<u8> {
    let mut body = br#"{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":""#.to_vec();
    body.resize(10 * 1024 * 1024, b'a');
    body.extend_from_slice(br#""}}"#);
    body
}

/// Sends a POST whose head announces `body`'s length and writes the body while reading the
/// answer, as a server may answer (and close) before it has read a body it refuses. Returns
/// the status and the head.
async fn post_raw_with_length(server: &HttpServer, body: Vec<u8>) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stream = within("connecting", tokio::net::TcpStream::connect(server.addr))
        .await
        .expect("the server accepts a connection");
    let (mut reader, mut writer) = stream.into_split();
    let head = format!(
        "POST /mcp HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nContent-Length: {}\r\n\r\n",
        server.addr,
        body.len()
    );
    let writing = tokio::spawn(async move {
        // The server may close the connection before the body is through; that is its right.
        let _ = writer.write_all(head.as_bytes()).await;
        let _ = writer.write_all(&body).await;
        writer
    });
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    within("the answer to a 10 MB POST", async {
        while !received.windows(4).any(|w| w == b"\r\n\r\n") {
            match reader.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    writing.abort();
    let head = String::from_utf8_lossy(&received).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in the answer to a 10 MB POST: {head:?}"));
    (status, head)
}

#[tokio::test]
async fn a_ten_megabyte_body_is_refused_with_413() {
    let f = fixture().await;
    let (status, head) = post_raw_with_length(&f.server, ten_megabytes()).await;
    assert_eq!(status, 413, "a 10 MB body: {head}");
    assert_still_serves(&f.live, "a 10 MB body").await;
}

#[tokio::test]
async fn a_ten_megabyte_body_streamed_without_a_length_is_refused_with_413() {
    let f = fixture().await;
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = ten_megabytes()
        .chunks(64 * 1024)
        .map(|c| Ok(c.to_vec()))
        .collect();
    let body = reqwest::Body::wrap_stream(futures::stream::iter(chunks));
    let request = reqwest::Client::new()
        .post(f.server.mcp_url())
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body)
        .send();
    // The server answers 413 as soon as the limit is passed and then closes the connection
    // (RFC 9110 §15.5.14 allows it); a client still writing may see the close before it
    // reads the answer. Either way the upload was cut off at the limit.
    match within("a streamed 10 MB POST", request).await {
        Ok(response) => {
            let (status, text, _) = status_and_body(response).await;
            assert_eq!(status, 413, "a streamed 10 MB body: {text}");
        }
        Err(error) => {
            let text = format!("{error:?}");
            assert!(
                text.contains("BrokenPipe") || text.contains("ConnectionReset"),
                "the upload must be cut off, not fail otherwise: {text}"
            );
        }
    }
    assert_still_serves(&f.live, "a streamed 10 MB body").await;
}

#[tokio::test]
async fn a_wrong_origin_is_refused_with_403_and_other_sessions_keep_working() {
    let f = fixture().await;
    let (status, body, json) = status_and_body(
        post_mcp(&f.server, TOOLS_LIST, &[("origin", "http://evil.example")]).await,
    )
    .await;
    assert_eq!(status, 403, "a wrong Origin: {body}");
    json_rpc_error_code(&json, &body, "a wrong Origin");
    assert!(
        body.contains("evil.example"),
        "the refusal names the Origin: {body}"
    );
    assert_still_serves(&f.live, "a wrong Origin").await;
}

#[tokio::test]
async fn a_wrong_host_is_refused_with_403_and_other_sessions_keep_working() {
    let f = fixture().await;
    let (status, body, json) =
        status_and_body(post_mcp(&f.server, TOOLS_LIST, &[("host", "evil.example")]).await).await;
    assert_eq!(status, 403, "a wrong Host: {body}");
    json_rpc_error_code(&json, &body, "a wrong Host");
    assert!(
        body.contains("evil.example"),
        "the refusal names the Host: {body}"
    );
    assert_still_serves(&f.live, "a wrong Host").await;
}

#[tokio::test]
async fn a_request_without_a_session_id_that_is_not_initialize_is_refused_with_400() {
    let f = fixture().await;
    let (status, body, _) = status_and_body(post_mcp(&f.server, TOOLS_LIST, &[]).await).await;
    assert_client_error(status, &body, "tools/list without a session id");
    assert_eq!(
        status, 400,
        "tools/list without a session id is a bad request: {body}"
    );
    assert_still_serves(&f.live, "a request without a session id").await;
}

#[tokio::test]
async fn a_request_with_an_unknown_session_id_is_refused_with_404() {
    let f = fixture().await;
    let (status, body, _) = status_and_body(
        post_mcp(
            &f.server,
            TOOLS_LIST,
            &[
                ("mcp-session-id", "no-such-session"),
                ("mcp-protocol-version", "2025-06-18"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(status, 404, "tools/list with an unknown session id: {body}");
    assert_still_serves(&f.live, "a request with an unknown session id").await;
}

#[tokio::test]
async fn a_new_session_beyond_the_session_cap_is_refused_with_503_and_the_existing_one_keeps_working()
 {
    let server = HttpServer::start_with_env(
        &["--conformance-fixtures"],
        &[("CONSILIUM_HTTP_MAX_SESSIONS", "1")],
    )
    .await;
    let (live, _recorder) = server.connect().await;
    assert_still_serves(&live, "connecting").await;
    let initialize = json!({
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": { "name": "one-too-many", "version": "0.0.1" }
        }
    });
    let (status, body, json) =
        status_and_body(post_mcp(&server, initialize.to_string(), &[]).await).await;
    assert_eq!(status, 503, "a session beyond the cap: {body}");
    json_rpc_error_code(&json, &body, "a session beyond the cap");
    assert_still_serves(&live, "a refused extra session").await;
}
