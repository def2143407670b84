//! MCP over streamable HTTP, end to end: the real `consilium serve --http` child process
//! driven by rmcp's streamable-HTTP client — the same behaviours as over stdio, two sessions
//! at once with separate log levels and subscriptions, and the `/healthz` and `/readyz` probes.

#![allow(deprecated)]

mod common;

use std::time::Duration;

use common::{HttpServer, call, scenarios, within};
use rmcp::model::{LoggingLevel, SetLevelRequestParams, SubscribeRequestParams};
use serde_json::{Value, json};

#[tokio::test]
async fn the_handshake_names_consilium_gives_instructions_and_announces_every_capability() {
    let server = HttpServer::start().await;
    let (client, _recorder) = server.connect().await;
    scenarios::handshake_announces_consilium(&client).await;
    let _ = client.cancel().await;
}

#[tokio::test]
async fn tools_list_includes_server_status_with_an_output_schema() {
    let server = HttpServer::start().await;
    let (client, _recorder) = server.connect().await;
    scenarios::tools_include_server_status_with_an_output_schema(&client).await;
    let _ = client.cancel().await;
}

#[tokio::test]
async fn server_status_returns_structured_content_and_a_text_block_on_a_migrated_store() {
    let server = HttpServer::start().await;
    let (client, _recorder) = server.connect().await;
    scenarios::server_status_is_structured_with_a_text_block(&client).await;
    let _ = client.cancel().await;
}

#[tokio::test]
async fn the_status_resource_reports_version_uptime_store_path_and_the_streamable_http_transport() {
    let server = HttpServer::start().await;
    let (client, _recorder) = server.connect().await;
    let expected = format!("streamable-http {}", server.mcp_url());
    scenarios::status_resource_reports_the_transport(&client, &expected).await;
    let _ = client.cancel().await;
}

#[tokio::test]
async fn the_getting_started_prompt_is_listed_rendered_and_completes_med_to_medical_student() {
    let server = HttpServer::start().await;
    let (client, _recorder) = server.connect().await;
    scenarios::getting_started_prompt_lists_renders_and_completes(&client).await;
    let _ = client.cancel().await;
}

#[tokio::test]
async fn the_log_level_silences_tool_logs_at_error_and_lets_all_three_through_at_debug() {
    let server = HttpServer::start().await;
    let (client, recorder) = server.connect().await;
    scenarios::log_level_filters_tool_logs(&client, &recorder).await;
    let _ = client.cancel().await;
}

#[tokio::test]
async fn a_slow_call_reports_increasing_progress_against_its_own_token() {
    let server = HttpServer::start().await;
    let (client, recorder) = server.connect().await;
    scenarios::slow_call_reports_progress(&client, &recorder).await;
    let _ = client.cancel().await;
}

#[tokio::test]
async fn a_cancelled_thirty_second_call_stops_and_the_server_answers_at_once() {
    let server = HttpServer::start().await;
    let (client, recorder) = server.connect().await;
    scenarios::cancelled_call_stops_and_server_stays_responsive(&client, &recorder).await;
    let _ = client.cancel().await;
}

#[tokio::test]
async fn two_sessions_call_tools_concurrently_and_both_get_their_own_answers() {
    let server = HttpServer::start().await;
    let (first, first_recorder) = server.connect().await;
    let (second, second_recorder) = server.connect().await;

    let (a, b, c, d) = within("four concurrent calls on two sessions", async {
        tokio::join!(
            call(&first, "test_slow_operation", json!({ "millis": 200 })),
            call(&second, "test_slow_operation", json!({ "millis": 150 })),
            call(&first, "server_status", json!({})),
            call(&second, "test_simple_text", json!({})),
        )
    })
    .await;
    let text = |r: &rmcp::model::CallToolResult| {
        r.content
            .iter()
            .find_map(|c| c.as_text().map(|t| t.text.clone()))
            .unwrap_or_default()
    };
    assert_eq!(
        text(&a),
        "slept 200 ms",
        "the first session's slow call: {a:?}"
    );
    assert_eq!(
        text(&b),
        "slept 150 ms",
        "the second session's slow call: {b:?}"
    );
    assert!(
        c.structured_content.is_some(),
        "server_status on the first session: {c:?}"
    );
    assert_eq!(
        text(&d),
        "This is a simple text response for testing.",
        "test_simple_text on the second session: {d:?}"
    );

    // Each session heard only its own call's progress: 4 steps for 200 ms, 3 for 150 ms.
    first_recorder
        .wait_until("the first session's progress", |r| {
            r.progress.iter().any(|p| p.total == Some(4.0))
        })
        .await;
    second_recorder
        .wait_until("the second session's progress", |r| {
            r.progress.iter().any(|p| p.total == Some(3.0))
        })
        .await;
    let first_totals: Vec<_> = first_recorder.with_progress(|p| p.total);
    let second_totals: Vec<_> = second_recorder.with_progress(|p| p.total);
    assert!(
        first_totals.iter().all(|t| *t == Some(4.0)),
        "the first session got progress of another session's call: {first_totals:?}"
    );
    assert!(
        second_totals.iter().all(|t| *t == Some(3.0)),
        "the second session got progress of another session's call: {second_totals:?}"
    );
    let _ = first.cancel().await;
    let _ = second.cancel().await;
}

#[tokio::test]
async fn one_sessions_log_level_and_subscriptions_do_not_affect_another_session() {
    const LOGGER: &str = "conformance-server";
    let server = HttpServer::start().await;
    let (quiet, quiet_recorder) = server.connect().await;
    let (chatty, chatty_recorder) = server.connect().await;

    within(
        "logging/setLevel error on one session",
        quiet.set_level(SetLevelRequestParams::new(LoggingLevel::Error)),
    )
    .await
    .expect("logging/setLevel succeeds");
    within(
        "resources/subscribe on one session",
        quiet.subscribe(SubscribeRequestParams::new("consilium://status")),
    )
    .await
    .expect("resources/subscribe to consilium://status succeeds");

    // The other session still logs at the default level, info.
    call(&chatty, "test_tool_with_logging", json!({})).await;
    chatty_recorder
        .wait_until("the untouched session's three info messages", |r| {
            r.logs
                .iter()
                .filter(|l| l.logger.as_deref() == Some(LOGGER))
                .count()
                >= 3
        })
        .await;

    // And the session that asked for errors only gets none.
    call(&quiet, "test_tool_with_logging", json!({})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        quiet_recorder.logs_from(LOGGER).is_empty(),
        "the session at level error got info messages: {:?}",
        quiet_recorder.logs()
    );
    assert_eq!(
        chatty_recorder.logs_from(LOGGER).len(),
        3,
        "the session at level info got another session's messages: {:?}",
        chatty_recorder.logs()
    );
    assert!(
        chatty_recorder.updated().is_empty() && quiet_recorder.updated().is_empty(),
        "nothing changed, so no session may be told of an update"
    );
    let _ = quiet.cancel().await;
    let _ = chatty.cancel().await;
}

#[tokio::test]
async fn healthz_says_ok_and_readyz_says_ready() {
    let server = HttpServer::start().await;
    let http = reqwest::Client::new();
    for (path, expected) in [("/healthz", "ok"), ("/readyz", "ready")] {
        let response = within(path, http.get(server.url(path)).send())
            .await
            .unwrap_or_else(|e| panic!("GET {path} failed: {e}"));
        assert_eq!(response.status(), 200, "GET {path}");
        let body: Value = within(path, response.json())
            .await
            .unwrap_or_else(|e| panic!("GET {path} is not JSON: {e}"));
        assert_eq!(body, json!({ "status": expected }), "GET {path}");
    }
}
