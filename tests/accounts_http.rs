//! Accounts end to end over HTTP, with authentication on as in production: API keys and
//! sign-in tokens on `/mcp` and the legacy SSE routes, scopes hiding tools, the free plan's
//! daily limit with its exact error body, isolation between users, the audit trail and its
//! verification, and no secret in the server's log.
//!
//! Users and keys are made with the real command line on the database before the server
//! starts, as an operator would.

mod common;

use std::path::Path;

use common::sse::SseReader;
use common::{
    HttpServer, call, cli, connect_http_as, fresh_db, run_cli, run_cli_with_input, within,
};
use rmcp::model::{CallToolRequestParams, ReadResourceRequestParams};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery staple";

fn create_user(db: &Path, email: &str, plan: &str) {
    cli(
        db,
        &[
            "admin",
            "create-user",
            email,
            "--name",
            "Test User",
            "--plan",
            plan,
        ],
    );
}

fn create_key(db: &Path, email: &str, scopes: &str) -> String {
    let key = cli(
        db,
        &[
            "api-keys", "create", "--user", email, "--name", "tests", "--scopes", scopes,
        ],
    );
    assert!(key.starts_with("csk_"), "a key is printed: {key:?}");
    key
}

/// A secured server on a database prepared by `prepare`.
async fn secured(prepare: impl FnOnce(&Path)) -> HttpServer {
    let (dir, db) = fresh_db();
    prepare(&db);
    HttpServer::spawn_on(dir, db, &[], &[]).await
}

fn tool_names(tools: &[rmcp::model::Tool]) -> Vec<String> {
    tools.iter().map(|t| t.name.to_string()).collect()
}

fn structured(result: &rmcp::model::CallToolResult) -> Value {
    result.structured_content.clone().unwrap_or(Value::Null)
}

async fn post_json(url: &str, token: Option<&str>, body: Value) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    within("an HTTP request", request.send())
        .await
        .expect("the server answers")
}

fn initialize_request() -> Value {
    json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": { "name": "tests", "version": "1" }
        }
    })
}

#[tokio::test]
async fn a_client_without_credentials_is_refused_on_mcp_and_sse_with_a_bearer_challenge() {
    let mut key = String::new();
    let server = secured(|db| {
        create_user(db, "ada@example.org", "pro");
        key = create_key(db, "ada@example.org", "health");
    })
    .await;
    // The right shape and id, one character of the secret changed: its first, as the
    // last base64 character carries padding bits that strict decoding checks.
    let at = "csk_".len() + 16 + 1;
    let first = key.as_bytes()[at];
    key.replace_range(at..=at, if first == b'A' { "B" } else { "A" });
    let response = post_json(&server.mcp_url(), None, initialize_request()).await;
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(challenge.starts_with("Bearer realm="), "{challenge}");

    let response = reqwest::get(server.url("/sse")).await.unwrap();
    assert_eq!(response.status(), 401);
    assert!(response.headers().contains_key("www-authenticate"));

    let response = post_json(&server.mcp_url(), Some(&key), initialize_request()).await;
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("invalid_token"), "{challenge}");
    // The probes stay open: an orchestrator has no credentials.
    assert_eq!(
        reqwest::get(server.url("/healthz")).await.unwrap().status(),
        200
    );
}

#[tokio::test]
async fn a_client_with_an_api_key_works_over_streamable_http() {
    let mut key = String::new();
    let server = secured(|db| {
        create_user(db, "ada@example.org", "pro");
        key = create_key(db, "ada@example.org", "health,study");
    })
    .await;
    let (client, _) = connect_http_as(&server.mcp_url(), &key).await;
    let whoami = call(&client, "whoami", json!({})).await;
    assert_ne!(whoami.is_error, Some(true), "{whoami:?}");
    let me = structured(&whoami);
    assert_eq!(me["user"]["email"], "ada@example.org");
    assert_eq!(me["signed_in_with"], "api_key");
    assert_eq!(me["scopes"], json!(["health", "study"]));
}

#[tokio::test]
async fn a_client_with_an_api_key_works_over_legacy_sse_and_nobody_else_can_post_to_its_session() {
    let (mut key, mut other) = (String::new(), String::new());
    let server = secured(|db| {
        create_user(db, "ada@example.org", "pro");
        create_user(db, "bob@example.org", "pro");
        key = create_key(db, "ada@example.org", "health");
        other = create_key(db, "bob@example.org", "health");
    })
    .await;
    let http = reqwest::Client::new();
    let stream = http
        .get(server.url("/sse"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let mut events = SseReader::new(stream);
    let endpoint = events.next_event().await.expect("the endpoint event");
    assert_eq!(endpoint.event, "endpoint");
    let messages = server.url(&endpoint.data);

    let stranger = http
        .post(&messages)
        .bearer_auth(&other)
        .json(&initialize_request())
        .send()
        .await
        .unwrap();
    assert_eq!(
        stranger.status(),
        404,
        "another user's credentials must not reach this session"
    );
    let anonymous = http
        .post(&messages)
        .json(&initialize_request())
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    let posted = http
        .post(&messages)
        .bearer_auth(&key)
        .json(&initialize_request())
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 202);
    let reply = events.next_event().await.expect("the initialize result");
    let reply: Value = serde_json::from_str(&reply.data).unwrap();
    assert_eq!(reply["result"]["serverInfo"]["name"], "consilium");
}

#[tokio::test]
async fn admin_tools_are_absent_from_a_users_list_and_refused_if_called() {
    let (mut user_key, mut owner_key) = (String::new(), String::new());
    let server = secured(|db| {
        create_user(db, "ada@example.org", "pro");
        user_key = create_key(db, "ada@example.org", "health,study,consensus,eval,chat");
        owner_key = create_key(db, "owner@localhost", "admin,health");
    })
    .await;
    let (user, _) = connect_http_as(&server.mcp_url(), &user_key).await;
    let names = tool_names(&user.list_all_tools().await.unwrap());
    assert!(names.contains(&"whoami".to_string()), "{names:?}");
    assert!(
        !names.iter().any(|n| n.starts_with("admin_")),
        "a user sees no admin tool: {names:?}"
    );
    let refused = call(&user, "admin_list_users", json!({})).await;
    assert_eq!(refused.is_error, Some(true));
    assert_eq!(structured(&refused)["code"], "FORBIDDEN");

    let (admin, _) = connect_http_as(&server.mcp_url(), &owner_key).await;
    let names = tool_names(&admin.list_all_tools().await.unwrap());
    assert!(names.contains(&"admin_list_users".to_string()), "{names:?}");
    let listed = call(&admin, "admin_list_users", json!({})).await;
    assert_ne!(listed.is_error, Some(true), "{listed:?}");
    let listed = structured(&listed);
    let emails: Vec<&str> = listed["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["email"].as_str())
        .collect();
    assert!(emails.contains(&"ada@example.org"), "{emails:?}");
}

fn next_utc_midnight() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let next = (now / 86_400 + 1) * 86_400;
    // Civil date from days since the epoch (proleptic Gregorian).
    let days = (next / 86_400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T00:00:00Z")
}

#[tokio::test]
async fn the_free_plan_passes_its_20th_request_and_refuses_the_21st_with_the_exact_error() {
    let mut key = String::new();
    let server = secured(|db| {
        create_user(db, "fred@example.org", "free");
        key = create_key(db, "fred@example.org", "health");
    })
    .await;
    let (client, _) = connect_http_as(&server.mcp_url(), &key).await;
    for n in 1..=20 {
        let result = call(&client, "whoami", json!({})).await;
        assert_ne!(
            result.is_error,
            Some(true),
            "request {n} must pass: {result:?}"
        );
    }
    let refused = call(&client, "whoami", json!({})).await;
    assert_eq!(refused.is_error, Some(true));
    let body = structured(&refused);
    assert_eq!(
        body,
        json!({
            "code": "REQUEST_LIMIT_EXCEEDED",
            "message": body["message"],
            "details": { "limit": 20, "used": 20, "reset_at": next_utc_midnight() },
            "action": "upgrade"
        })
    );
    assert!(
        body["message"].as_str().unwrap().contains("20"),
        "the message names the limit: {body}"
    );
    // Reading one's usage is not a tool call, so it still works and shows the limit reached.
    let usage = client
        .read_resource(ReadResourceRequestParams::new("consilium://usage/me"))
        .await
        .expect("usage/me is readable");
    let text = match &usage.contents[0] {
        rmcp::model::ResourceContents::TextResourceContents { text, .. } => text.clone(),
        other => panic!("usage is text: {other:?}"),
    };
    assert!(text.contains("20"), "{text}");
}

#[tokio::test]
async fn concurrent_calls_never_overshoot_the_daily_limit() {
    let mut key = String::new();
    let server = secured(|db| {
        create_user(db, "fred@example.org", "free");
        key = create_key(db, "fred@example.org", "health");
    })
    .await;
    let (client, _) = connect_http_as(&server.mcp_url(), &key).await;
    let client = std::sync::Arc::new(client);
    let calls = (0..30).map(|_| {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .call_tool(CallToolRequestParams::new("whoami"))
                .await
                .expect("a tool result")
        })
    });
    let results = futures::future::join_all(calls).await;
    let passed = results
        .iter()
        .filter(|r| r.as_ref().unwrap().is_error != Some(true))
        .count();
    assert_eq!(passed, 20, "exactly the plan's 20 requests pass");
}

async fn login(server: &HttpServer, email: &str, password: &str) -> reqwest::Response {
    post_json(
        &server.url("/auth/login"),
        None,
        json!({ "email": email, "password": password }),
    )
    .await
}

fn prepare_password_user(db: &Path) {
    create_user(db, "ada@example.org", "pro");
    let output = run_cli_with_input(
        db,
        &["admin", "set-password", "ada@example.org"],
        &format!("{PASSWORD}\n"),
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn sign_in_refresh_rotation_reuse_and_logout_work_end_to_end() {
    let server = secured(prepare_password_user).await;
    let wrong = login(&server, "ada@example.org", "not the password at all").await;
    assert_eq!(wrong.status(), 401);

    let tokens: Value = login(&server, "ada@example.org", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"].as_str().expect("an access token");
    let refresh = tokens["refresh_token"].as_str().expect("a refresh token");
    assert_eq!(tokens["token_type"], "Bearer");

    let (client, _) = connect_http_as(&server.mcp_url(), access).await;
    let me = call(&client, "whoami", json!({})).await;
    assert_eq!(structured(&me)["signed_in_with"], "access_token");

    let rotated: Value = post_json(
        &server.url("/auth/refresh"),
        None,
        json!({ "refresh_token": refresh }),
    )
    .await
    .json()
    .await
    .unwrap();
    let second_refresh = rotated["refresh_token"]
        .as_str()
        .expect("a new refresh token");
    assert_ne!(second_refresh, refresh);

    let reused = post_json(
        &server.url("/auth/refresh"),
        None,
        json!({ "refresh_token": refresh }),
    )
    .await;
    assert_eq!(reused.status(), 401, "an old refresh token is theft");
    let after_theft = post_json(
        &server.url("/auth/refresh"),
        None,
        json!({ "refresh_token": second_refresh }),
    )
    .await;
    assert_eq!(
        after_theft.status(),
        401,
        "reuse revokes the whole family, the newest token included"
    );

    let fresh: Value = login(&server, "ada@example.org", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let access = fresh["access_token"].as_str().expect("an access token");
    let working = post_json(&server.mcp_url(), Some(access), initialize_request()).await;
    assert_eq!(working.status(), 200);
    let out = post_json(&server.url("/auth/logout"), Some(access), json!({})).await;
    assert!(out.status().is_success(), "{}", out.status());
    let after_logout = post_json(&server.mcp_url(), Some(access), initialize_request()).await;
    assert_eq!(after_logout.status(), 401, "a logged-out token is refused");
}

#[tokio::test]
async fn user_a_can_neither_read_nor_change_user_bs_keys_or_usage() {
    let (mut a_key, mut b_key) = (String::new(), String::new());
    let server = secured(|db| {
        create_user(db, "ada@example.org", "pro");
        create_user(db, "bob@example.org", "pro");
        a_key = create_key(db, "ada@example.org", "health");
        b_key = create_key(db, "bob@example.org", "health");
    })
    .await;
    let b_key_id = b_key.split('_').nth(1).unwrap().to_string();
    let (a, _) = connect_http_as(&server.mcp_url(), &a_key).await;

    let listed = call(&a, "api_key_list", json!({ "user": "bob@example.org" })).await;
    assert_eq!(listed.is_error, Some(true));
    assert_eq!(structured(&listed)["code"], "FORBIDDEN");

    let own = call(&a, "api_key_list", json!({})).await;
    let text = serde_json::to_string(&structured(&own)).unwrap();
    assert!(
        !text.contains(&b_key_id),
        "A's listing shows none of B's keys"
    );

    for tool in ["api_key_revoke", "api_key_rotate"] {
        let result = call(&a, tool, json!({ "key_id": b_key_id })).await;
        assert_eq!(result.is_error, Some(true), "{tool} on B's key must fail");
    }
    let made = call(
        &a,
        "api_key_create",
        json!({ "name": "x", "scopes": ["health"], "user": "bob@example.org" }),
    )
    .await;
    assert_eq!(made.is_error, Some(true));

    let platform = a
        .read_resource(ReadResourceRequestParams::new("consilium://usage/platform"))
        .await;
    assert!(platform.is_err(), "usage/platform is for admins only");
    let resources = a.list_all_resources().await.unwrap();
    assert!(
        !resources
            .iter()
            .any(|r| r.uri == "consilium://usage/platform"),
        "nor is it listed"
    );

    // B's key still works: A changed nothing.
    let (b, _) = connect_http_as(&server.mcp_url(), &b_key).await;
    let me = call(&b, "whoami", json!({})).await;
    assert_eq!(structured(&me)["user"]["email"], "bob@example.org");
    let usage = b
        .read_resource(ReadResourceRequestParams::new("consilium://usage/me"))
        .await
        .unwrap();
    let usage = serde_json::to_string(&usage).unwrap();
    assert!(!usage.contains(&a_key), "no key in a usage report");
}

#[tokio::test]
async fn a_revoked_key_stops_working_at_once() {
    let mut key = String::new();
    let server = secured(|db| {
        create_user(db, "ada@example.org", "pro");
        key = create_key(db, "ada@example.org", "health");
    })
    .await;
    let key_id = key.split('_').nth(1).unwrap().to_string();
    let (client, _) = connect_http_as(&server.mcp_url(), &key).await;
    let revoked = call(&client, "api_key_revoke", json!({ "key_id": key_id })).await;
    assert_ne!(revoked.is_error, Some(true), "{revoked:?}");
    let response = post_json(&server.mcp_url(), Some(&key), initialize_request()).await;
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn no_secret_appears_in_the_server_log_and_the_audit_trail_verifies() {
    let mut key = String::new();
    let mut server = secured(|db| {
        prepare_password_user(db);
        key = create_key(db, "ada@example.org", "health");
    })
    .await;
    let tokens: Value = login(&server, "ada@example.org", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let _ = login(&server, "ada@example.org", "a wrong password, surely").await;
    let (client, _) = connect_http_as(&server.mcp_url(), &key).await;
    let created = call(
        &client,
        "api_key_create",
        json!({ "name": "n", "scopes": ["health"] }),
    )
    .await;
    let new_key = structured(&created)["api_key"]
        .as_str()
        .unwrap()
        .to_string();
    let _ = post_json(
        &server.mcp_url(),
        Some("csk_0123456789abcdef_wrongwrongwrongwrongwrongwrongwrongwrong"),
        initialize_request(),
    )
    .await;
    drop(client);
    server.terminate();
    within(
        "the server's exit",
        server.wait_exit(std::time::Duration::from_secs(10)),
    )
    .await;

    let log = server.stderr_text();
    let secrets = [
        key.as_str(),
        new_key.as_str(),
        PASSWORD,
        "a wrong password, surely",
        tokens["access_token"].as_str().unwrap(),
        tokens["refresh_token"].as_str().unwrap(),
    ];
    for secret in secrets {
        let secret_part = secret_of(secret);
        assert!(
            !log.contains(secret_part),
            "a secret leaked into the log:\n{log}"
        );
    }

    let verified = run_cli(&server.db, &["audit", "verify"]);
    let report = String::from_utf8_lossy(&verified.stdout);
    assert!(
        verified.status.success(),
        "an untouched log verifies: {report}"
    );
    let exported = cli(&server.db, &["audit", "export"]);
    for secret in secrets {
        let secret_part = secret_of(secret);
        assert!(
            !exported.contains(secret_part),
            "a secret is in the audit log"
        );
    }
    for action in [
        "auth.login.succeeded",
        "auth.login.failed",
        "api_key.created",
    ] {
        assert!(
            exported.contains(action),
            "{action} is audited:\n{exported}"
        );
    }

    // Whoever holds the file can drop the triggers and edit a row; verify must notice.
    let connection = edit_behind_the_applications_back(&server.db);
    assert!(connection, "the database was edited");
    let tampered = run_cli(&server.db, &["audit", "verify"]);
    assert_eq!(
        tampered.status.code(),
        Some(1),
        "an edited log fails: {}",
        String::from_utf8_lossy(&tampered.stdout)
    );
}

/// The part of a credential that must never be shown: an API key's secret (everything after
/// `csk_<key id>_`, which may itself contain `_`), or the whole of a token or password.
fn secret_of(credential: &str) -> &str {
    let secret = match credential.strip_prefix("csk_") {
        Some(rest) => rest.split_once('_').map_or(rest, |(_, secret)| secret),
        None => credential,
    };
    assert!(secret.len() >= 16, "a secret long enough to search for");
    secret
}

/// Edits an audit row behind the application's back, as whoever holds the file could:
/// drop the trigger that refuses updates, then change who did something.
fn edit_behind_the_applications_back(db: &Path) -> bool {
    let Ok(connection) = rusqlite::Connection::open(db) else {
        return false;
    };
    connection
        .execute_batch(
            "DROP TRIGGER IF EXISTS audit_log_refuses_update;
             UPDATE audit_log SET actor = 'someone-else' WHERE seq = 1;",
        )
        .is_ok()
}

#[tokio::test]
async fn disabling_a_user_stops_their_key_at_once_and_enabling_restores_it() {
    let (mut key, mut owner_key) = (String::new(), String::new());
    let server = secured(|db| {
        create_user(db, "ada@example.org", "pro");
        key = create_key(db, "ada@example.org", "health");
        owner_key = create_key(db, "owner@localhost", "admin");
    })
    .await;
    let before = post_json(&server.mcp_url(), Some(&key), initialize_request()).await;
    assert_eq!(before.status(), 200);
    let (admin, _) = connect_http_as(&server.mcp_url(), &owner_key).await;
    let disabled = call(
        &admin,
        "admin_set_user_disabled",
        json!({ "user": "ada@example.org", "disabled": true }),
    )
    .await;
    assert_ne!(disabled.is_error, Some(true), "{disabled:?}");
    let during = post_json(&server.mcp_url(), Some(&key), initialize_request()).await;
    assert_eq!(
        during.status(),
        401,
        "a disabled user's key is refused at once"
    );
    call(
        &admin,
        "admin_set_user_disabled",
        json!({ "user": "ada@example.org", "disabled": false }),
    )
    .await;
    let after = post_json(&server.mcp_url(), Some(&key), initialize_request()).await;
    assert_eq!(after.status(), 200);
    let audit = call(
        &admin,
        "admin_query_audit",
        json!({ "action_prefix": "admin.user." }),
    )
    .await;
    let actions: Vec<String> = structured(&audit)["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        actions.contains(&"admin.user.disabled".to_string()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"admin.user.enabled".to_string()),
        "{actions:?}"
    );
}
