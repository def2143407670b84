//! `consensus_query` end to end: a server over streamable HTTP with three provider keys
//! added from the command line, scripted providers on 127.0.0.1, and rmcp's client. The
//! panel reports progress as each member answers, returns its consensus with the dissent
//! and a certificate; `verify_certificate` accepts it and refuses it once any byte or the
//! answer changes; the run is readable at its URI; and — where Node and the `jose` library
//! are at hand (`CONSILIUM_TEST_JOSE_MODULES`, set by CI) — an independent JOSE
//! implementation agrees. Cancelling a run stops it.

mod common;
#[path = "support/upstream.rs"]
mod upstream;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Client, Recorder, assert_still_serves, call, fresh_db, json_of, within};
use rmcp::model::{
    CallToolRequest, CallToolRequestParams, ClientRequest, ReadResourceRequestParams,
};
use rmcp::service::PeerRequestOptions;
use serde_json::{Value, json};
use upstream::{Behaviour, Upstream};

fn add_key(db: &Path, upstream: &Upstream, name: &str, provider: &str, feature: &str) {
    common::add_shared_key(
        db,
        name,
        provider,
        &upstream.base_url(name, provider),
        feature,
    );
}

fn judge_by_drug(prompt: &str) -> String {
    let after = |label: &str| {
        prompt
            .split(label)
            .nth(1)
            .unwrap_or_default()
            .to_lowercase()
    };
    let a = after("Answer A:");
    let a = a.split("answer b:").next().unwrap_or_default().to_string();
    let b = after("Answer B:");
    let same = a.contains("metformin") == b.contains("metformin");
    format!(r#"{{"a_entails_b": {same}, "b_entails_a": {same}}}"#)
}

/// Sends `consensus_query` with a progress token; returns the token and the result.
async fn query(client: &Client, arguments: Value) -> (rmcp::model::ProgressToken, Value) {
    let params = CallToolRequestParams::new("consensus_query")
        .with_arguments(arguments.as_object().cloned().unwrap_or_default());
    let handle = within(
        "sending consensus_query",
        client.peer().send_request_with_option(
            ClientRequest::CallToolRequest(CallToolRequest::new(params)),
            PeerRequestOptions::no_options(),
        ),
    )
    .await
    .expect("sent");
    let token = handle.progress_token.clone();
    let response = within("consensus_query", handle.await_response())
        .await
        .expect("answered");
    (token, json_of(&response))
}

async fn verify(client: &Client, arguments: Value) -> Value {
    call(client, "verify_certificate", arguments)
        .await
        .structured_content
        .unwrap_or(Value::Null)
}

async fn read(client: &Client, uri: &str) -> Value {
    let result = within(
        uri,
        client.read_resource(ReadResourceRequestParams::new(uri)),
    )
    .await
    .expect("read");
    let text = match &json_of(&result)["contents"][0]["text"] {
        Value::String(text) => text.clone(),
        other => panic!("no text at {uri}: {other}"),
    };
    serde_json::from_str(&text).expect("JSON")
}

/// The `jose` check, or `None` with a notice when Node or the library is missing.
fn jose_verdict(certificate: &str, jwks: &Value, answer: &str) -> Option<Value> {
    let Ok(modules) = std::env::var("CONSILIUM_TEST_JOSE_MODULES") else {
        eprintln!(
            "notice: CONSILIUM_TEST_JOSE_MODULES is not set; skipping the independent JOSE check"
        );
        return None;
    };
    let dir = tempfile::TempDir::new().expect("dir");
    // ES modules resolve packages next to the script: put it beside a node_modules link.
    std::os::unix::fs::symlink(&modules, dir.path().join("node_modules")).expect("link");
    let script = dir.path().join("verify.mjs");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/jose/verify-certificate.mjs"),
        &script,
    )
    .expect("script");
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        path
    };
    let certificate = write("certificate.jws", certificate);
    let jwks = write("jwks.json", &jwks.to_string());
    let answer = write("answer.txt", answer);
    let output = std::process::Command::new("node")
        .arg(&script)
        .args([&certificate, &jwks, &answer])
        .output()
        .expect("node runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(serde_json::from_slice(&output.stdout).expect("a JSON verdict"))
}

// Multi-threaded: the command line blocks this thread while the scripted providers answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_model_panel_over_http_returns_a_certified_consensus_with_its_dissent() {
    let upstream = Upstream::start().await;
    upstream.set_default(
        "alpha",
        Behaviour::Reply("Metformin is the usual first-line drug for type 2 diabetes."),
    );
    upstream.set_default(
        "beta",
        Behaviour::Reply("Most guidelines begin with metformin and lifestyle change."),
    );
    upstream.set_default("gamma", Behaviour::Reply("Start with a sulfonylurea."));
    upstream.set_default("judge", Behaviour::Compute(judge_by_drug));
    let (dir, db) = fresh_db();
    add_key(&db, &upstream, "alpha", "openai", "consensus");
    add_key(&db, &upstream, "beta", "anthropic", "consensus");
    add_key(&db, &upstream, "gamma", "gemini", "consensus");
    add_key(&db, &upstream, "judge", "openai", "judge");
    let server = common::HttpServer::spawn_on(dir, db, &["--insecure-no-auth"], &[]).await;
    let (client, recorder): (Client, Recorder) = server.connect().await;

    let question = "What is the usual first-line drug for type 2 diabetes?";
    let (token, response) = query(&client, json!({ "question": question })).await;
    assert_ne!(response["isError"], true, "{response}");
    let report = &response["structuredContent"];
    assert_eq!(report["status"], "reached", "{report}");
    assert_eq!(report["answered"], 3);
    assert_eq!(report["dissent"][0]["models"][0], "gemini/gamma-model");
    assert_eq!(report["answer"]["label"], "model-written");
    assert!(
        response["content"][0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("Dissent (gemini/gamma-model)")),
        "{response}"
    );
    recorder
        .wait_until("a progress notification per member", |r| {
            r.progress
                .iter()
                .filter(|p| p.progress_token == token)
                .count()
                >= 3
        })
        .await;
    let progress = recorder.progress_for(&token);
    assert!(progress.iter().all(|p| p.total == Some(3.0)));
    // One per member; the client may handle notifications concurrently, so in any order.
    let mut steps: Vec<f64> = progress.iter().map(|p| p.progress).collect();
    steps.sort_by(f64::total_cmp);
    assert_eq!(steps, [1.0, 2.0, 3.0]);

    // The certificate: valid with its texts, not with anything else.
    let certificate = report["certificate"].as_str().expect("certificate");
    let answer = report["answer"]["text"].as_str().expect("answer text");
    let answers: Vec<&str> = report["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m["answer"].as_str())
        .collect();
    let checked = verify(
        &client,
        json!({ "certificate": certificate, "answer": answer, "question": question, "answers": answers }),
    )
    .await;
    assert_eq!(checked["valid"], true, "{checked}");
    assert_eq!(checked["key_status"], "active");
    let altered = verify(
        &client,
        json!({ "certificate": certificate, "answer": format!("{answer} ") }),
    )
    .await;
    assert_eq!(altered["valid"], false);
    assert_eq!(altered["answer_matches"], false);
    let mut bytes = certificate.as_bytes().to_vec();
    let middle = certificate.find('.').expect("dot") + 20;
    bytes[middle] = if bytes[middle] == b'x' { b'y' } else { b'x' };
    let tampered = String::from_utf8(bytes).expect("ascii");
    let refused = verify(
        &client,
        json!({ "certificate": tampered, "answer": answer }),
    )
    .await;
    assert_eq!(refused["valid"], false, "{refused}");
    assert_eq!(refused["signature_valid"], false);

    // The run and the keys, as resources.
    let id = report["id"].as_str().expect("id");
    let run = read(&client, &format!("consilium://consensus/{id}")).await;
    assert_eq!(run["result"]["question"], question);
    assert_eq!(run["certificate"], certificate);
    let jwks = read(&client, "consilium://keys/jwks.json").await;

    // An independent JOSE implementation agrees, both ways.
    if let Some(verdict) = jose_verdict(certificate, &jwks, answer) {
        assert_eq!(verdict["valid"], true, "{verdict}");
        assert_eq!(verdict["status"], "reached");
        let verdict = jose_verdict(&tampered, &jwks, answer).expect("verdict");
        assert_eq!(verdict["valid"], false, "{verdict}");
        let verdict = jose_verdict(certificate, &jwks, &format!("{answer} ")).expect("verdict");
        assert_eq!(verdict["valid"], false, "{verdict}");
    }

    // A panel asked for by name, with a seat no key serves: reported, not invented.
    let (_, response) = query(
        &client,
        json!({ "question": question, "panel": [
            { "provider": "openai", "model": "alpha-model" },
            { "provider": "anthropic", "model": "beta-model" },
            { "provider": "gemini", "model": "no-such-model" }
        ] }),
    )
    .await;
    let report = &response["structuredContent"];
    assert_eq!(report["members"][2]["outcome"], "no_route", "{report}");
    assert_eq!(report["answered"], 2);
    // Bad input gets a clear error naming the field.
    let bad = call(
        &client,
        "consensus_query",
        json!({ "question": question, "threshold": 1.5 }),
    )
    .await;
    assert_eq!(bad.is_error, Some(true));
    let bad = json_of(&bad);
    assert_eq!(
        bad["structuredContent"]["details"]["field"], "threshold",
        "{bad}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_run_stops_it_and_the_session_goes_on() {
    let upstream = Upstream::start().await;
    upstream.set_default("alpha", Behaviour::Reply("Metformin."));
    upstream.set_default(
        "beta",
        Behaviour::DelayedText(Duration::from_secs(30), "Metformin.".into()),
    );
    let (dir, db) = fresh_db();
    add_key(&db, &upstream, "alpha", "openai", "consensus");
    add_key(&db, &upstream, "beta", "anthropic", "consensus");
    let server = common::HttpServer::spawn_on(dir, db, &["--insecure-no-auth"], &[]).await;
    let (client, recorder): (Client, Recorder) = server.connect().await;
    let started = Instant::now();
    let params = CallToolRequestParams::new("consensus_query").with_arguments(
        json!({ "question": "First-line drug for type 2 diabetes?", "member_deadline_secs": 120 })
            .as_object()
            .cloned()
            .unwrap_or_default(),
    );
    let handle = within(
        "sending consensus_query",
        client.peer().send_request_with_option(
            ClientRequest::CallToolRequest(CallToolRequest::new(params)),
            PeerRequestOptions::no_options(),
        ),
    )
    .await
    .expect("sent");
    let token = handle.progress_token.clone();
    recorder
        .wait_until("the first member's answer", |r| {
            r.progress.iter().any(|p| p.progress_token == token)
        })
        .await;
    within("notifications/cancelled", handle.cancel(None))
        .await
        .expect("cancel sent");
    assert_still_serves(&client, "cancelling a consensus run").await;
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(recorder.progress_for(&token).len(), 1);
}

#[tokio::test]
async fn a_health_result_gains_a_checked_narrative_from_one_model_or_from_the_panel() {
    let upstream = Upstream::start().await;
    upstream.set_default(
        "writer",
        Behaviour::Reply("A BMI of 22.9 is in the normal range; aim for 150 minutes of activity."),
    );
    let agreed = "A BMI of 22.9 kg/m² is in the normal adult range.";
    for member in ["alpha", "beta", "gamma"] {
        upstream.set_default(member, Behaviour::Text(agreed.into()));
    }
    let (dir, db) = fresh_db();
    add_key(&db, &upstream, "writer", "openai", "narrative");
    add_key(&db, &upstream, "alpha", "openai", "consensus");
    add_key(&db, &upstream, "beta", "anthropic", "consensus");
    add_key(&db, &upstream, "gamma", "gemini", "consensus");
    let server = common::HttpServer::spawn_on(dir, db, &["--insecure-no-auth"], &[]).await;
    let (client, _recorder): (Client, Recorder) = server.connect().await;
    let bmi = json!({ "calculator": "bmi", "inputs": { "weight": "70 kg", "height": "175 cm" } });

    let mut one = bmi.clone();
    one["narrative"] = json!(true);
    let result = json_of(&call(&client, "calculate", one).await);
    let structured = &result["structuredContent"];
    assert_eq!(structured["value"], 22.9, "{result}");
    let narrative = &structured["narrative"];
    assert_eq!(narrative["label"], "model-written");
    assert_eq!(narrative["served_by"]["provider"], "openai", "{narrative}");
    assert_eq!(upstream.received("writer").len(), 1);
    // 150 is the model's own number, not the result's, and is flagged as such.
    assert_eq!(
        narrative["ungrounded_numbers"],
        json!(["150"]),
        "{narrative}"
    );
    let text = result["content"][0]["text"].as_str().unwrap_or_default();
    assert!(text.contains("Explanation (model-written"), "{text}");
    let shown = &upstream.received("writer")[0].body;
    assert!(
        shown.to_string().contains("22.9"),
        "the model saw the result"
    );

    let mut panel = bmi.clone();
    panel["narrative"] = json!({ "consensus": true });
    let result = json_of(&call(&client, "calculate", panel).await);
    let narrative = &result["structuredContent"]["narrative"];
    assert_eq!(narrative["text"], agreed, "{result}");
    assert_eq!(narrative["consensus"]["status"], "reached");
    assert_eq!(narrative["consensus"]["agreement"], 1.0);
    assert!(narrative["ungrounded_numbers"].is_null(), "{narrative}");
    let run_id = narrative["consensus"]["run_id"].as_str().expect("run id");
    let certificate = narrative["consensus"]["certificate"]
        .as_str()
        .expect("certificate");
    let verdict = verify(
        &client,
        json!({ "certificate": certificate, "answer": agreed }),
    )
    .await;
    assert_eq!(verdict["valid"], true, "{verdict}");
    let run = read(&client, &format!("consilium://consensus/{run_id}")).await;
    assert_eq!(run["result"]["report"]["status"], "reached", "{run}");
    assert!(
        run["result"]["context"]
            .as_str()
            .is_some_and(|c| c.contains("22.9"))
    );

    // Without the flag, no model is asked; a malformed flag is refused by name.
    let before = upstream.received("writer").len();
    let plain = json_of(&call(&client, "calculate", bmi.clone()).await);
    assert!(plain["structuredContent"]["narrative"].is_null());
    assert_eq!(upstream.received("writer").len(), before);
    let mut bad = bmi;
    bad["narrative"] = json!("please");
    let refused = json_of(&call(&client, "calculate", bad).await);
    assert_eq!(refused["isError"], true);
    assert!(refused.to_string().contains("narrative"), "{refused}");
}
