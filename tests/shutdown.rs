//! Graceful shutdown in HTTP mode: SIGTERM (sent with `kill`, the tests have no libc) makes
//! the server exit with status 0 within a few seconds, with or without open event streams,
//! and lets a call already running finish first.

mod common;

use std::time::Duration;

use common::{HttpServer, assert_still_serves, call, within, within_for};
use serde_json::json;

/// How long a SIGTERMed server may take to exit.
const EXIT_LIMIT: Duration = Duration::from_secs(5);

async fn assert_exits_cleanly(server: &mut HttpServer, what: &str) {
    let status = server.wait_exit(EXIT_LIMIT).await.unwrap_or_else(|| {
        panic!(
            "the server was still running {EXIT_LIMIT:?} after SIGTERM {what}; stderr:\n{}",
            server.stderr_text()
        )
    });
    assert_eq!(
        status.code(),
        Some(0),
        "SIGTERM {what} must be a clean exit; stderr:\n{}",
        server.stderr_text()
    );
}

#[tokio::test]
async fn sigterm_after_a_call_exits_with_status_0_within_a_few_seconds() {
    let mut server = HttpServer::start().await;
    let (client, _recorder) = server.connect().await;
    assert_still_serves(&client, "starting").await;

    server.terminate();
    assert_exits_cleanly(&mut server, "after a call").await;
    drop(client);
}

#[tokio::test]
async fn sigterm_with_open_event_streams_still_exits_with_status_0_within_a_few_seconds() {
    let mut server = HttpServer::start().await;
    let (client, _recorder) = server.connect().await;
    assert_still_serves(&client, "starting").await;
    // A legacy SSE stream held open, as an idle older client would.
    let legacy = within(
        "GET /sse",
        reqwest::Client::new().get(server.url("/sse")).send(),
    )
    .await
    .expect("GET /sse is answered");
    assert_eq!(legacy.status(), 200, "GET /sse opens a stream");

    server.terminate();
    assert_exits_cleanly(&mut server, "with open event streams").await;
    drop(legacy);
    drop(client);
}

#[tokio::test]
async fn sigterm_during_a_call_lets_the_call_finish_before_exiting() {
    let mut server = HttpServer::start().await;
    let (client, _recorder) = server.connect().await;
    let slow = call(&client, "test_slow_operation", json!({ "millis": 1000 }));
    let terminate = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        server.terminate();
    };
    let (result, ()) = within_for(EXIT_LIMIT, "a call running when SIGTERM arrives", async {
        tokio::join!(slow, terminate)
    })
    .await;
    let text = result
        .content
        .iter()
        .find_map(|c| c.as_text().map(|t| t.text.clone()))
        .unwrap_or_default();
    assert_eq!(
        text, "slept 1000 ms",
        "the running call must complete: {result:?}"
    );
    assert_exits_cleanly(&mut server, "during a call").await;
}
