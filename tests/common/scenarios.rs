//! The MCP behaviours every transport must show, written once and run over stdio
//! (`tests/stdio.rs`) and streamable HTTP (`tests/http.rs`) with rmcp's client.

use consilium::mcp::registry::STANDARD_FORMATS;
use std::time::{Duration, Instant};

use rmcp::model::{
    CallToolRequest, CallToolRequestParams, ClientRequest, GetPromptRequestParams, LoggingLevel,
    ReadResourceRequestParams, ResourceContents, SetLevelRequestParams,
};
use rmcp::service::PeerRequestOptions;
use serde_json::{Value, json};

use super::{Client, Recorder, assert_still_serves, call, json_of, within};

/// The handshake names the server "consilium", gives instructions and announces tools,
/// subscribable resources, prompts, completions and logging.
pub async fn handshake_announces_consilium(client: &Client) {
    let info = client
        .peer_info()
        .expect("the client keeps the server's initialize result");
    let info = json_of(&*info);
    assert_eq!(
        info["serverInfo"]["name"], "consilium",
        "the server must call itself consilium: {info}"
    );
    let instructions = info["instructions"].as_str().unwrap_or_default();
    assert!(
        !instructions.trim().is_empty(),
        "the server must give instructions: {info}"
    );
    let capabilities = &info["capabilities"];
    for capability in ["tools", "resources", "prompts", "completions", "logging"] {
        assert!(
            capabilities.get(capability).is_some_and(Value::is_object),
            "the {capability} capability must be announced: {capabilities}"
        );
    }
    assert_eq!(
        capabilities["resources"]["subscribe"], true,
        "resource subscriptions must be announced: {capabilities}"
    );
}

/// `tools/list` includes `server_status` with an output schema.
pub async fn tools_include_server_status_with_an_output_schema(client: &Client) {
    let tools = within("tools/list", client.list_all_tools())
        .await
        .expect("tools/list succeeds");
    let status = tools
        .iter()
        .find(|t| t.name == "server_status")
        .unwrap_or_else(|| {
            panic!(
                "server_status is not listed; tools: {:?}",
                tools.iter().map(|t| t.name.to_string()).collect::<Vec<_>>()
            )
        });
    let schema = status
        .output_schema
        .as_ref()
        .expect("server_status must declare an outputSchema");
    assert_eq!(
        schema.get("type").and_then(Value::as_str),
        Some("object"),
        "server_status's outputSchema must describe an object: {schema:?}"
    );
    assert!(
        tools.iter().any(|t| t.name == "test_slow_operation"),
        "the conformance fixtures must be served with --conformance-fixtures"
    );
}

/// `server_status` answers with structured content and a text block, on a migrated store.
pub async fn server_status_is_structured_with_a_text_block(client: &Client) {
    let result = call(client, "server_status", json!({})).await;
    assert_ne!(
        result.is_error,
        Some(true),
        "server_status must succeed: {result:?}"
    );
    let structured = result
        .structured_content
        .as_ref()
        .expect("server_status must return structuredContent");
    assert_eq!(structured["name"], "consilium", "{structured}");
    let schema_version = structured["store"]["schema_version"]
        .as_u64()
        .expect("store.schema_version must be a number");
    assert!(
        schema_version >= 1,
        "the store must be migrated to schema 1 or later: {structured}"
    );
    let text = result
        .content
        .iter()
        .find_map(|c| c.as_text().map(|t| t.text.clone()))
        .expect("server_status must also return a text block");
    assert!(
        text.contains("consilium"),
        "the text block must say what the structure says: {text}"
    );
}

/// `consilium://status` is JSON with the version, uptime, store path and the transport in use.
pub async fn status_resource_reports_the_transport(client: &Client, transport_prefix: &str) {
    let result = within(
        "resources/read consilium://status",
        client.read_resource(ReadResourceRequestParams::new("consilium://status")),
    )
    .await
    .expect("consilium://status can be read");
    let text = match result.contents.first() {
        Some(ResourceContents::TextResourceContents { text, .. }) => text.clone(),
        other => panic!("consilium://status must be one text content, got {other:?}"),
    };
    let status: Value = serde_json::from_str(&text).expect("consilium://status is JSON");
    assert_eq!(
        status["version"],
        env!("CARGO_PKG_VERSION"),
        "version: {status}"
    );
    assert!(
        status["uptime_seconds"].is_u64(),
        "uptime_seconds: {status}"
    );
    let path = status["store"]["path"].as_str().unwrap_or_default();
    assert!(
        path.ends_with("c.db"),
        "store.path must be the --db file: {status}"
    );
    let transports: Vec<&str> = status["transports"]
        .as_array()
        .expect("transports must be a list")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        transports.iter().any(|t| t.starts_with(transport_prefix)),
        "transports must include one starting with {transport_prefix:?}: {transports:?}"
    );
}

/// The `getting-started` prompt is listed with its `role` argument, renders, and completes
/// "med" to "medical student".
pub async fn getting_started_prompt_lists_renders_and_completes(client: &Client) {
    let prompts = within("prompts/list", client.list_all_prompts())
        .await
        .expect("prompts/list succeeds");
    let prompt = prompts
        .iter()
        .find(|p| p.name == "getting-started")
        .expect("the getting-started prompt is listed");
    let arguments = prompt.arguments.clone().unwrap_or_default();
    assert!(
        arguments.iter().any(|a| a.name == "role"),
        "getting-started takes a role argument: {arguments:?}"
    );

    let mut args = serde_json::Map::new();
    args.insert("role".into(), json!("medical student"));
    let rendered = within(
        "prompts/get getting-started",
        client.get_prompt(GetPromptRequestParams::new("getting-started").with_arguments(args)),
    )
    .await
    .expect("getting-started renders");
    let rendered = json_of(&rendered);
    assert!(
        rendered["messages"]
            .as_array()
            .is_some_and(|m| !m.is_empty()),
        "the rendered prompt has messages: {rendered}"
    );
    assert!(
        rendered.to_string().contains("medical student"),
        "the rendered prompt uses the role: {rendered}"
    );

    let values = within(
        "completion/complete",
        client.complete_prompt_simple("getting-started", "role", "med"),
    )
    .await
    .expect("completion/complete succeeds");
    assert!(
        values.iter().any(|v| v == "medical student"),
        "\"med\" must complete to \"medical student\": {values:?}"
    );
}

/// At level `error` the logging fixture's three info messages are filtered out; at `debug`
/// all three arrive.
pub async fn log_level_filters_tool_logs(client: &Client, recorder: &Recorder) {
    const LOGGER: &str = "conformance-server";
    within(
        "logging/setLevel error",
        client.set_level(SetLevelRequestParams::new(LoggingLevel::Error)),
    )
    .await
    .expect("logging/setLevel error succeeds");
    call(client, "test_tool_with_logging", json!({})).await;
    within(
        "logging/setLevel debug",
        client.set_level(SetLevelRequestParams::new(LoggingLevel::Debug)),
    )
    .await
    .expect("logging/setLevel debug succeeds");
    call(client, "test_tool_with_logging", json!({})).await;
    recorder
        .wait_until("three log messages at level debug", |r| {
            r.logs
                .iter()
                .filter(|l| l.logger.as_deref() == Some(LOGGER))
                .count()
                >= 3
        })
        .await;
    // Anything the first call leaked would arrive before the second call's messages.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let logs = recorder.logs_from(LOGGER);
    assert_eq!(
        logs.len(),
        3,
        "level error must silence the first call's info messages and level debug must let the second call's three through: {logs:?}"
    );
    assert!(
        logs.iter().all(|l| l.level == LoggingLevel::Info),
        "the fixture logs at info: {logs:?}"
    );
}

/// A slow call reports progress, with the request's own token, while it runs.
pub async fn slow_call_reports_progress(client: &Client, recorder: &Recorder) {
    let params = CallToolRequestParams::new("test_slow_operation").with_arguments(
        json!({ "millis": 300 })
            .as_object()
            .cloned()
            .unwrap_or_default(),
    );
    let handle = within(
        "sending tools/call test_slow_operation",
        client.peer().send_request_with_option(
            ClientRequest::CallToolRequest(CallToolRequest::new(params)),
            PeerRequestOptions::no_options(),
        ),
    )
    .await
    .expect("the request is sent");
    let token = handle.progress_token.clone();
    let response = within("test_slow_operation (300 ms)", handle.await_response())
        .await
        .expect("test_slow_operation answers");
    let response = json_of(&response);
    assert_ne!(response["isError"], true, "the call succeeds: {response}");
    recorder
        .wait_until("progress notifications for the call", |r| {
            r.progress
                .iter()
                .filter(|p| p.progress_token == token)
                .count()
                >= 3
        })
        .await;
    let progress = recorder.progress_for(&token);
    assert!(
        progress.windows(2).all(|w| w[0].progress < w[1].progress),
        "progress must increase: {progress:?}"
    );
    assert!(
        progress.iter().all(|p| p.total == Some(6.0)),
        "300 ms in 50 ms steps is a total of 6: {progress:?}"
    );
}

/// Cancelling a 30-second call stops it (its progress stops) and the session keeps working
/// at once.
pub async fn cancelled_call_stops_and_server_stays_responsive(
    client: &Client,
    recorder: &Recorder,
) {
    let params = CallToolRequestParams::new("test_slow_operation").with_arguments(
        json!({ "millis": 30000 })
            .as_object()
            .cloned()
            .unwrap_or_default(),
    );
    let started = Instant::now();
    let handle = within(
        "sending tools/call test_slow_operation",
        client.peer().send_request_with_option(
            ClientRequest::CallToolRequest(CallToolRequest::new(params)),
            PeerRequestOptions::no_options(),
        ),
    )
    .await
    .expect("the request is sent");
    let token = handle.progress_token.clone();
    recorder
        .wait_until("the slow call has started reporting progress", |r| {
            r.progress.iter().any(|p| p.progress_token == token)
        })
        .await;
    within(
        "notifications/cancelled",
        handle.cancel(Some("the test cancels it".into())),
    )
    .await
    .expect("the cancellation is sent");

    // The session answers other requests right away.
    let quick = call(client, "test_simple_text", json!({})).await;
    assert_ne!(
        quick.is_error,
        Some(true),
        "test_simple_text after a cancel: {quick:?}"
    );
    assert_still_serves(client, "cancelling a call").await;

    // And the cancelled call has stopped: no more progress for its token.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let seen = recorder.progress_for(&token).len();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let later = recorder.progress_for(&token).len();
    assert_eq!(
        seen, later,
        "the cancelled call kept reporting progress ({seen} then {later} notifications), so it is still running"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "cancelling must not wait for the 30 s call"
    );
}

/// Every `format` in the listed tools' input and output schemas is one JSON Schema defines.
pub async fn listed_schemas_use_only_standard_formats(client: &Client) {
    fn collect(path: &str, value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(format) = map.get("format").and_then(Value::as_str)
                    && !STANDARD_FORMATS.contains(&format)
                {
                    found.push(format!("{path}: {format}"));
                }
                for (key, child) in map {
                    collect(&format!("{path}/{key}"), child, found);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    collect(&format!("{path}/{i}"), child, found);
                }
            }
            _ => {}
        }
    }
    let tools = within("tools/list", client.list_all_tools())
        .await
        .expect("tools/list succeeds");
    let mut found = Vec::new();
    for tool in &tools {
        let tool = json_of(tool);
        let name = tool["name"].as_str().unwrap_or_default().to_string();
        collect(
            &format!("{name}/inputSchema"),
            &tool["inputSchema"],
            &mut found,
        );
        collect(
            &format!("{name}/outputSchema"),
            &tool["outputSchema"],
            &mut found,
        );
    }
    assert!(
        found.is_empty(),
        "listed schemas use formats JSON Schema does not define: {found:?}"
    );
}
