//! Case and OSCE practice end to end over streamable HTTP with rmcp's client and a scripted
//! provider on 127.0.0.1: a case revealed stage by stage with each answer judged against
//! its key points, an OSCE marked against a hidden checklist, both resumed after the server
//! restarts on the same database, and nothing revealed before its time.

mod common;
#[path = "support/upstream.rs"]
mod upstream;

use std::path::Path;

use common::{HttpServer, call, connect_http, fresh_db};
use serde_json::{Value, json};
use tempfile::TempDir;
use upstream::{Behaviour, Upstream};

fn reply(upstream: &Upstream, value: Value) {
    upstream.push("tutor", Behaviour::Text(value.to_string()));
}

fn case() -> Value {
    json!({
        "title": "Breathless at night",
        "stages": [
            { "name": "history", "reveal": "A 72-year-old wakes breathless at night.", "question": "What is your differential?", "key_points": ["heart failure", "COPD exacerbation"] },
            { "name": "examination", "reveal": "Bibasal crackles and a raised JVP.", "question": "Which tests now?", "key_points": ["NT-proBNP", "echocardiogram", "ECG"] },
            { "name": "investigations", "reveal": "NT-proBNP 3,400 ng/L; ejection fraction 30%.", "question": "What is your plan?", "key_points": ["loop diuretic", "start an ACE inhibitor and beta blocker"] },
            { "name": "outcome", "reveal": "Heart failure with reduced ejection fraction; better on furosemide.", "question": "", "key_points": [] }
        ]
    })
}

async fn restart(server: HttpServer, db: &Path) -> HttpServer {
    drop(server);
    HttpServer::spawn_on(
        TempDir::new().expect("dir"),
        db.to_path_buf(),
        &["--insecure-no-auth"],
        &[],
    )
    .await
}

#[tokio::test]
async fn a_case_and_an_osce_resume_after_a_restart() {
    let upstream = Upstream::start().await;
    let (_keep, db) = fresh_db();
    common::add_shared_key(
        &db,
        "tutor",
        "anthropic",
        &upstream.base_url("tutor", "anthropic"),
        "case",
    );
    let server = HttpServer::spawn_on(
        TempDir::new().expect("dir"),
        db.clone(),
        &["--insecure-no-auth"],
        &[],
    )
    .await;
    let (client, _) = connect_http(&server.mcp_url()).await;

    reply(&upstream, case());
    let started =
        common::succeeded(&client, "start_case", json!({ "specialty": "cardiology" })).await;
    let case_id = started["session_id"].as_str().expect("id").to_string();
    assert_eq!(started["question"], "What is your differential?");
    assert!(
        !started.to_string().contains("Bibasal")
            && !started.to_string().contains("reduced ejection"),
        "later stages stay hidden: {started}"
    );

    reply(
        &upstream,
        json!({ "met": [1], "feedback": "Good: heart failure first.", "reply": "" }),
    );
    let second = common::succeeded(
        &client,
        "session_answer",
        json!({ "session_id": case_id, "answer": "Heart failure, or pneumonia" }),
    )
    .await;
    assert_eq!(second["feedback"]["met"], json!(["heart failure"]));
    assert_eq!(second["feedback"]["missed"], json!(["COPD exacerbation"]));
    assert_eq!(second["reveal"], "Bibasal crackles and a raised JVP.");
    let judged = upstream
        .received("tutor")
        .last()
        .map(|r| r.body.to_string())
        .unwrap_or_default();
    assert!(judged.contains("Heart failure, or pneumonia"), "{judged}");

    // An OSCE alongside: the checklist stays hidden while the station runs.
    reply(
        &upstream,
        json!({
            "title": "Chest pain history",
            "candidate_instructions": "Take a focused history from Mr Khan, 58, with chest pain.",
            "patient_script": "Crushing central pain for 40 minutes, sweaty, smoker.",
            "checklist": [
                { "item": "Introduces self and confirms identity", "marks": 1 },
                { "item": "Asks about onset and character of the pain", "marks": 2 },
                { "item": "Asks about radiation", "marks": 1 },
                { "item": "Asks about cardiovascular risk factors", "marks": 2 },
                { "item": "Summarises and explains next steps", "marks": 2 }
            ]
        }),
    );
    let osce = common::succeeded(
        &client,
        "start_osce",
        json!({ "station": "chest pain history" }),
    )
    .await;
    let osce_id = osce["session_id"].as_str().expect("id").to_string();
    assert!(!osce.to_string().contains("radiation"), "{osce}");
    reply(
        &upstream,
        json!({ "met": [1, 2], "feedback": "Good opening.", "reply": "It's a crushing pain in the middle of my chest." }),
    );
    let acted = common::succeeded(
        &client,
        "session_answer",
        json!({ "session_id": osce_id, "answer": "Hello, I'm Sam, a medical student. Can you tell me about the pain?" }),
    )
    .await;
    assert_eq!(
        acted["feedback"]["reply"],
        "It's a crushing pain in the middle of my chest."
    );
    assert!(!acted.to_string().contains("risk factors"), "{acted}");

    // The server restarts; both sessions carry on where they were.
    drop(client);
    let server = restart(server, &db).await;
    let (client, _) = connect_http(&server.mcp_url()).await;
    let listed = common::succeeded(&client, "list_sessions", json!({})).await;
    assert_eq!(
        listed["sessions"].as_array().map(Vec::len),
        Some(2),
        "{listed}"
    );

    reply(
        &upstream,
        json!({ "met": [1, 2, 3], "feedback": "All three.", "reply": "" }),
    );
    let third = common::succeeded(
        &client,
        "session_answer",
        json!({ "session_id": case_id, "answer": "NT-proBNP, echo and an ECG" }),
    )
    .await;
    assert_eq!(third["question"], "What is your plan?");
    reply(
        &upstream,
        json!({ "met": [1], "feedback": "Diuretic yes; add prognostic drugs.", "reply": "" }),
    );
    let outcome = common::succeeded(
        &client,
        "session_answer",
        json!({ "session_id": case_id, "answer": "IV furosemide" }),
    )
    .await;
    assert!(outcome["question"].is_null());
    assert_eq!(outcome["result"]["marks"], 5);
    assert_eq!(outcome["result"]["available"], 7);
    let refused = call(
        &client,
        "session_answer",
        json!({ "session_id": case_id, "answer": "more" }),
    )
    .await;
    assert_eq!(refused.is_error, Some(true));

    reply(
        &upstream,
        json!({ "met": [4], "feedback": "Risk factors covered.", "reply": "I smoke twenty a day." }),
    );
    common::succeeded(
        &client,
        "session_answer",
        json!({ "session_id": osce_id, "answer": "Do you smoke, and is there heart disease in the family?" }),
    )
    .await;
    let finished =
        common::succeeded(&client, "finish_session", json!({ "session_id": osce_id })).await;
    assert_eq!(finished["result"]["marks"], 5, "{finished}");
    assert_eq!(finished["result"]["available"], 8);
    assert_eq!(finished["result"]["points"][2]["met"], false);
    let session = common::json_of(
        &common::within(
            "read the session",
            client.read_resource(rmcp::model::ReadResourceRequestParams::new(format!(
                "consilium://sessions/{osce_id}"
            ))),
        )
        .await
        .expect("read"),
    );
    assert!(
        session.to_string().contains("radiation"),
        "finished: the checklist is shown"
    );
}
