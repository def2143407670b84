//! `chat` end to end over HTTP with authentication on: a shared key added from the command
//! line serves a user's chat through a scripted provider, the session is stored and
//! readable by its owner only; hard maintenance refuses users but not admins; with no key
//! the client's own model answers through MCP sampling, and without that a clear error
//! comes back. Afterwards neither the server's log nor the database file holds the key.

#![allow(deprecated)]

mod common;
#[path = "support/upstream.rs"]
mod upstream;

use std::path::Path;

use common::{HttpServer, call, cli, connect_http_as, fresh_db, run_cli_with_input, within};
use rmcp::model::{
    ClientCapabilities, ClientInfo, CreateMessageRequestParams, CreateMessageResult,
    Implementation, ReadResourceRequestParams, Role, SamplingMessage, SamplingMessageContentBlock,
};
use rmcp::service::RequestContext;
use rmcp::{ClientHandler, ErrorData, RoleClient, ServiceExt};
use serde_json::{Value, json};
use upstream::{Behaviour, Upstream};

const PROVIDER_KEY: &str = "sk-shared-0123456789abcdefSECRETZ";

fn structured(result: &rmcp::model::CallToolResult) -> Value {
    result.structured_content.clone().unwrap_or(Value::Null)
}

fn user_key(db: &Path, email: &str, scopes: &str) -> String {
    cli(
        db,
        &[
            "admin",
            "create-user",
            email,
            "--name",
            "T",
            "--plan",
            "pro",
        ],
    );
    cli(
        db,
        &[
            "api-keys", "create", "--user", email, "--name", "t", "--scopes", scopes,
        ],
    )
}

// Multi-threaded: the command line blocks this thread while the scripted provider answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_chat_is_served_by_the_shared_pool_stored_for_them_and_paused_by_maintenance() {
    let upstream = Upstream::start().await;
    upstream.set_default(
        "pool",
        Behaviour::Reply("Metformin is first-line for most adults with type 2 diabetes."),
    );
    let (dir, db) = fresh_db();
    let added = run_cli_with_input(
        &db,
        &[
            "providers",
            "add",
            "--provider",
            "openai",
            "--label",
            "primary",
            "--base-url",
            &upstream.base_url("pool", "openai"),
            "--models",
            "gpt-test",
            "--features",
            "chat",
            "--priority",
            "5",
        ],
        &format!("{PROVIDER_KEY}\n"),
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    assert!(String::from_utf8_lossy(&added.stdout).contains("****RETZ"));
    assert_eq!(
        upstream.received("pool").len(),
        1,
        "the key was tested before it was stored"
    );
    // A higher-priority key the provider refuses, quoting it back as some providers do: the
    // chat fails over, and the quoted key must not reach the log.
    upstream.set_default(
        "refused",
        Behaviour::Status(
            401,
            None,
            "Incorrect API key provided: sk-refused-0123456789abcdefLEAKED",
        ),
    );
    let refused = run_cli_with_input(
        &db,
        &[
            "providers",
            "add",
            "--provider",
            "openai",
            "--label",
            "refused",
            "--base-url",
            &upstream.base_url("refused", "openai"),
            "--models",
            "gpt-test",
            "--priority",
            "9",
            "--skip-test",
        ],
        "sk-refused-0123456789abcdefLEAKED\n",
    );
    assert!(
        refused.status.success(),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let alice = user_key(&db, "alice@example.org", "chat");
    let bob = user_key(&db, "bob@example.org", "chat");
    let owner = cli(
        &db,
        &[
            "api-keys",
            "create",
            "--name",
            "ops",
            "--scopes",
            "chat,admin",
        ],
    );
    let server = HttpServer::spawn_on(dir, db, &[], &[("CONSILIUM_LOG", "debug")]).await;

    let (client, _) = connect_http_as(&server.mcp_url(), &alice).await;
    let first = call(
        &client,
        "chat",
        json!({ "message": "What is first-line for type 2 diabetes?" }),
    )
    .await;
    assert_ne!(first.is_error, Some(true), "{first:?}");
    let reply = structured(&first);
    assert_eq!(reply["label"], "model-written");
    assert_eq!(reply["served_by"]["source"], "shared_pool");
    assert_eq!(
        reply["attempts"][0]["outcome"], "auth",
        "the refused key was tried first"
    );
    assert_eq!(reply["served_by"]["model"], "scripted-model");
    assert_eq!(reply["usage"]["tokens_in"], 11);
    let session = reply["session_id"]
        .as_str()
        .expect("a session id")
        .to_string();
    let second = call(
        &client,
        "chat",
        json!({ "message": "And the usual starting dose?", "session_id": session }),
    )
    .await;
    assert_eq!(structured(&second)["session_id"], session.as_str());
    // The second request carried the first exchange as history.
    let sent = upstream
        .received("pool")
        .last()
        .expect("request")
        .body
        .clone();
    let roles: Vec<&str> = sent["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["role"].as_str())
        .collect();
    assert_eq!(roles, ["system", "user", "assistant", "user"]);

    let history = call(&client, "chat_history", json!({ "session_id": session })).await;
    assert_eq!(
        structured(&history)["messages"].as_array().map(Vec::len),
        Some(4)
    );
    let read = within(
        "resources/read",
        client.read_resource(ReadResourceRequestParams::new(format!(
            "consilium://chats/{session}"
        ))),
    )
    .await;
    assert!(read.is_ok(), "{read:?}");

    // Bob sees none of it.
    let (bobs, _) = connect_http_as(&server.mcp_url(), &bob).await;
    let his = call(&bobs, "chat_history", json!({ "session_id": session })).await;
    assert_eq!(structured(&his)["code"], "NOT_FOUND");
    let listed = call(&bobs, "chat_sessions", json!({})).await;
    assert_eq!(structured(&listed)["sessions"], json!([]));
    let keys = call(&bobs, "admin_provider_list", json!({})).await;
    assert_eq!(structured(&keys)["code"], "FORBIDDEN");

    // Hard maintenance refuses users, not admins.
    let (ops, _) = connect_http_as(&server.mcp_url(), &owner).await;
    let set = call(
        &ops,
        "admin_set_maintenance",
        json!({ "mode": "hard", "message": "Upgrading the database", "eta": "in 10 minutes" }),
    )
    .await;
    assert_ne!(set.is_error, Some(true), "{set:?}");
    let refused = call(&client, "chat", json!({ "message": "hello?" })).await;
    assert_eq!(refused.is_error, Some(true));
    let error = structured(&refused);
    assert_eq!(error["code"], "MAINTENANCE");
    assert_eq!(error["details"]["eta"], "in 10 minutes");
    let listed = call(&ops, "admin_provider_list", json!({})).await;
    let listed = structured(&listed);
    let primary = listed["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["label"] == "primary"))
        .cloned()
        .expect("the primary key is listed");
    assert_eq!(primary["key"], "****RETZ");
    assert_eq!(
        primary["calls"], 2,
        "two chats (the test before adding is not counted)"
    );
    call(&ops, "admin_set_maintenance", json!({ "mode": "off" })).await;
    let back = call(&client, "chat", json!({ "message": "hello again" })).await;
    assert_ne!(back.is_error, Some(true), "{back:?}");

    // A feature switched off is refused with FEATURE_DISABLED.
    call(
        &ops,
        "admin_set_feature",
        json!({ "feature": "chat", "enabled": false }),
    )
    .await;
    let off = call(&client, "chat", json!({ "message": "still there?" })).await;
    assert_eq!(structured(&off)["code"], "FEATURE_DISABLED");

    drop((client, bobs, ops));
    server.terminate();
    let mut server = server;
    server
        .wait_exit(std::time::Duration::from_secs(20))
        .await
        .expect("the server exits");
    let log = server.stderr_text();
    assert!(
        log.contains("DEBUG") || log.contains("INFO"),
        "the log was captured"
    );
    assert!(
        !log.contains(PROVIDER_KEY),
        "the key is in the server's log"
    );
    assert!(!log.contains("0123456789abcdefSECRETZ"));
    assert!(
        log.contains("a provider call failed"),
        "the failure was logged"
    );
    assert!(
        !log.contains("0123456789abcdefLEAKED"),
        "a quoted key reached the log"
    );
    for name in ["consilium.sqlite", "consilium.sqlite-wal"] {
        let path = server.dir.path().join(name);
        if let Ok(bytes) = std::fs::read(&path) {
            let found = bytes
                .windows(PROVIDER_KEY.len())
                .any(|w| w == PROVIDER_KEY.as_bytes());
            assert!(!found, "the plaintext key is in {name}");
        }
    }
}

/// A client that answers sampling requests with a fixed reply, as a user's own model would.
#[derive(Clone)]
struct SamplingClient;

impl ClientHandler for SamplingClient {
    async fn create_message(
        &self,
        params: CreateMessageRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<CreateMessageResult, ErrorData> {
        let asked = params.messages.len();
        Ok(CreateMessageResult::new(
            SamplingMessage::new(
                Role::Assistant,
                SamplingMessageContentBlock::text(format!("client model saw {asked} message(s)")),
            ),
            "client-local-model".into(),
        ))
    }

    fn get_info(&self) -> ClientInfo {
        ClientInfo::new(
            ClientCapabilities::builder().enable_sampling().build(),
            Implementation::new("sampling-test", "1.0"),
        )
    }
}

#[tokio::test]
async fn with_no_key_the_clients_own_model_answers_and_without_one_a_clear_error_comes_back() {
    let server = HttpServer::start_with(&[]).await;
    let transport = rmcp::transport::StreamableHttpClientTransport::from_uri(server.mcp_url());
    let sampling = within("the handshake", SamplingClient.serve(transport))
        .await
        .expect("connected");
    let arguments = json!({ "message": "hi" })
        .as_object()
        .cloned()
        .unwrap_or_default();
    let result = within(
        "tools/call chat",
        sampling
            .call_tool(rmcp::model::CallToolRequestParams::new("chat").with_arguments(arguments)),
    )
    .await
    .expect("the call completes");
    assert_ne!(result.is_error, Some(true), "{result:?}");
    let reply = structured(&result);
    assert_eq!(reply["served_by"]["source"], "client_model");
    assert_eq!(reply["served_by"]["model"], "client-local-model");
    assert_eq!(reply["reply"], "client model saw 1 message(s)");

    let (plain, _) = server.connect().await;
    let result = call(&plain, "chat", json!({ "message": "hi" })).await;
    assert_eq!(result.is_error, Some(true));
    let error = structured(&result);
    assert_eq!(error["code"], "NO_PROVIDER");
    assert_eq!(error["action"], "add_provider_key");
}
