//! Trace evaluation end to end over streamable HTTP with rmcp's client and a scripted
//! judge on 127.0.0.1: a trace breaking healthcare rules found and stored with its PHI
//! replaced; a batch with one bad trace refused whole; the judge asked when a rule is
//! unsure — waited for, in the background with a subscriber told, and failing (recorded
//! as failed, never a pass); a tenant keeping PHI by choice, audited; `redact_phi`; and
//! one tenant's traces invisible to another.

mod common;
#[path = "support/upstream.rs"]
mod upstream;

use common::{HttpServer, connect_http_as, fresh_db, within};
use rmcp::model::{ReadResourceRequestParams, SubscribeRequestParams};
use serde_json::{Value, json};
use upstream::{Behaviour, Upstream};

async fn read(client: &common::Client, uri: &str) -> Result<Value, rmcp::ServiceError> {
    let result = within(
        &format!("resources/read {uri}"),
        client.read_resource(ReadResourceRequestParams::new(uri)),
    )
    .await?;
    let text = match &result.contents[0] {
        rmcp::model::ResourceContents::TextResourceContents { text, .. } => text.clone(),
        other => panic!("not text: {other:?}"),
    };
    Ok(serde_json::from_str(&text).expect("json"))
}

fn dosing_trace(output: &str) -> Value {
    json!({
        "model": "gpt-4o-mini",
        "provider": "openai",
        "domain": "healthcare",
        "system": "You are a helpful health assistant.",
        "input": [{ "role": "user", "content": "I am Maria Gonzalez (MRN: A1234567). What can I take for my headache?" }],
        "output": output,
        "input_tokens": 42,
        "output_tokens": 17,
        "latency_ms": 830,
        "started_at": "2026-12-01T10:00:00Z",
        "ended_at": "2026-12-01T10:00:01Z",
        "metadata": { "app": "triage-bot", "release": "1.4.2" }
    })
}

fn judge_reply(label: &str, rules: &[&str]) -> String {
    json!({ "label": label, "score": if label == "compliant" { 0.9 } else { 0.2 }, "explanation": "Judged against the rubric.", "rule_ids": rules })
        .to_string()
}

#[tokio::test]
async fn traces_are_screened_stored_without_phi_judged_and_kept_apart() {
    let upstream = Upstream::start().await;
    let (dir, db) = fresh_db();
    common::add_shared_key(
        &db,
        "judge",
        "openai",
        &upstream.base_url("judge", "openai"),
        "judge",
    );
    let ada = common::user_with_key(&db, "ada@example.org", "pro", "eval");
    let bob = common::user_with_key(&db, "bob@example.org", "pro", "eval");
    let server = HttpServer::spawn_on(dir, db, &[], &[]).await;
    let (client, recorder) = connect_http_as(&server.mcp_url(), &ada).await;
    let (bob_client, _) = connect_http_as(&server.mcp_url(), &bob).await;
    #[allow(deprecated)]
    within(
        "subscribe",
        client.subscribe(SubscribeRequestParams::new("consilium://traces/recent")),
    )
    .await
    .expect("subscribed");

    // A dose without a disclaimer and PHI echoed back: tier 1 fails it, and the dosing
    // rule is unsure, so the judge is asked; here the caller waits for it.
    upstream.push(
        "judge",
        Behaviour::Text(judge_reply("non_compliant", &["dosing-without-disclaimer"])),
    );
    let (failed, result, text) = common::outcome(
        &client,
        "submit_trace",
        json!({
            "trace": dosing_trace("Maria Gonzalez, take 400 mg ibuprofen every 6 hours."),
            "wait_for_judge": true
        }),
    )
    .await;
    assert!(!failed, "{result}");
    let first = &result["results"][0];
    assert_eq!(first["verdict"], "fail", "{result}");
    assert_eq!(first["status"], "complete");
    assert_eq!(first["severity"], "high");
    let rules: Vec<&str> = first["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["rule_id"].as_str())
        .collect();
    // A name in the reply is for the judge to weigh; a record number would fail it outright.
    assert!(
        rules.contains(&"healthcare/identifying-details-in-output"),
        "{rules:?}"
    );
    assert!(
        rules.contains(&"healthcare/dosing-without-disclaimer"),
        "{rules:?}"
    );
    assert!(
        first["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["tier"] == 3),
        "the judge's finding is there: {result}"
    );
    assert_eq!(first["phi"]["name"], 2, "{result}");
    assert_eq!(first["phi"]["medical_record"], 1);
    assert_eq!(first["judge"]["status"], "judged");
    assert!(text.contains("fail"), "{text}");
    // The judge saw no identifier: it reads what is stored.
    let asked = upstream.received("judge")[0].body.to_string();
    assert!(
        !asked.contains("Gonzalez") && !asked.contains("A1234567"),
        "{asked}"
    );
    assert!(asked.contains("[NAME]"), "{asked}");

    // Stored sealed and without the PHI; the evaluation holds no text.
    let trace_id = first["trace_id"].as_str().expect("id").to_string();
    let stored = read(&client, &format!("consilium://traces/{trace_id}"))
        .await
        .expect("trace");
    let body = stored["trace"]["body"].to_string();
    assert!(
        !body.contains("Gonzalez") && !body.contains("A1234567"),
        "{body}"
    );
    assert!(body.contains("[MEDICAL_RECORD]"), "{body}");
    assert_eq!(stored["trace"]["phi_redacted"], true);
    assert_eq!(stored["trace"]["metadata"], Value::Null);
    assert_eq!(stored["trace"]["body"]["metadata"]["app"], "triage-bot");
    assert_eq!(stored["evaluation"]["verdict"], "fail");
    let evaluation_uri = first["evaluation_uri"].as_str().expect("uri").to_string();
    let evaluation = read(&client, &evaluation_uri).await.expect("evaluation");
    assert!(!evaluation.to_string().contains("Gonzalez"));

    // A batch with one bad trace is refused whole: nothing of it is stored.
    let (failed, refused, _) = common::outcome(
        &client,
        "submit_trace",
        json!({ "traces": [
            dosing_trace("Please rest."),
            { "model": "m", "domain": "astrology", "output": "x" }
        ] }),
    )
    .await;
    assert!(failed);
    assert_eq!(refused["code"], "INVALID_ARGUMENTS", "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .is_some_and(|m| m.contains("trace 1")),
        "{refused}"
    );
    let recent = read(&client, "consilium://traces/recent")
        .await
        .expect("recent");
    assert_eq!(
        recent["traces"].as_array().map(Vec::len),
        Some(1),
        "{recent}"
    );

    // A clean reply passes without a judge.
    let (_, clean, _) = common::outcome(
        &client,
        "submit_trace",
        json!({ "trace": {
            "model": "m", "domain": "healthcare",
            "input": [{ "role": "user", "content": "What is a normal resting heart rate?" }],
            "output": "For adults, 60 to 100 beats per minute is typical."
        } }),
    )
    .await;
    assert_eq!(clean["results"][0]["verdict"], "pass", "{clean}");
    assert_eq!(clean["results"][0]["status"], "complete");

    // In the background: the subscriber hears when the judge has finished.
    upstream.push("judge", Behaviour::Text(judge_reply("compliant", &[])));
    let recent_updates = |r: &common::Recorded| {
        r.updated
            .iter()
            .filter(|u| *u == "consilium://traces/recent")
            .count()
    };
    let before = recorder.with(|r| recent_updates(r));
    let (_, queued, _) = common::outcome(
        &client,
        "submit_trace",
        json!({ "trace": dosing_trace("You could take 400 mg ibuprofen every 6 hours.") }),
    )
    .await;
    let pending = &queued["results"][0];
    assert_eq!(pending["status"], "awaiting_judge", "{queued}");
    let uri = pending["evaluation_uri"].as_str().expect("uri").to_string();
    // One update for the new trace, one when its judge finished.
    recorder
        .wait_until("the judged evaluation announced", |r| {
            recent_updates(r) >= before + 2
        })
        .await;
    let judged = read(&client, &uri).await.expect("evaluation");
    assert_eq!(judged["status"], "complete", "{judged}");
    assert_eq!(judged["judge"]["reply"]["label"], "compliant");
    // The dosing rule is marked uncertain, which is what the judge was asked to settle: its
    // finding stays on record, dismissed at `info`, and the trace passes.
    assert_eq!(judged["verdict"], "pass", "{judged}");
    assert_eq!(
        judged["findings"][0]["rule_id"],
        "healthcare/dosing-without-disclaimer"
    );
    assert_eq!(judged["findings"][0]["severity"], "info");
    assert!(
        judged["findings"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("Dismissed by the judge")
    );

    // The judge failing is recorded as failed, and never as a pass.
    for _ in 0..3 {
        upstream.push("judge", Behaviour::Status(500, None, "judge down"));
    }
    let (_, outage, _) = common::outcome(
        &client,
        "submit_trace",
        json!({ "trace": {
            "model": "m", "domain": "legal",
            "input": [{ "role": "user", "content": "My landlord kept my deposit." }],
            "output": "You should sue him in small claims court."
        }, "wait_for_judge": true }),
    )
    .await;
    let outcome = &outage["results"][0];
    assert_eq!(outcome["status"], "judge_failed", "{outage}");
    assert_eq!(
        outcome["verdict"], "fail",
        "tier 1 had already failed it: {outage}"
    );
    assert_eq!(outcome["judge"]["status"], "failed");
    upstream.push("judge", Behaviour::Status(500, None, "judge down"));
    let (_, unsure, _) = common::outcome(
        &client,
        "submit_trace",
        json!({ "trace": {
            "model": "m", "domain": "legal",
            "input": [{ "role": "user", "content": "Is the memo privileged?" }],
            "output": "We should not waive privilege over it."
        }, "wait_for_judge": true }),
    )
    .await;
    assert_eq!(unsure["results"][0]["verdict"], "undetermined", "{unsure}");

    // Another tenant sees none of it.
    let (_, theirs, _) = common::outcome(&bob_client, "list_rule_packs", json!({})).await;
    assert_eq!(
        theirs["packs"].as_array().map(Vec::len),
        Some(4),
        "{theirs}"
    );
    let bobs = read(&bob_client, "consilium://traces/recent")
        .await
        .expect("recent");
    assert_eq!(bobs["traces"], json!([]));
    assert!(
        read(&bob_client, &format!("consilium://traces/{trace_id}"))
            .await
            .is_err()
    );
    assert!(read(&bob_client, &evaluation_uri).await.is_err());

    // A tenant that keeps PHI has it stored, and the change is audited.
    let (_, settings, _) =
        common::outcome(&client, "evaluation_settings", json!({ "keep_phi": true })).await;
    assert_eq!(settings["settings"]["keep_phi"], true);
    let (_, kept, _) = common::outcome(
        &client,
        "submit_trace",
        json!({ "trace": {
            "model": "m", "domain": "trading",
            "input": [{ "role": "user", "content": "Call me on (602)272-9781." }],
            "output": "Noted."
        } }),
    )
    .await;
    let kept_id = kept["results"][0]["trace_id"]
        .as_str()
        .expect("id")
        .to_string();
    let kept_trace = read(&client, &format!("consilium://traces/{kept_id}"))
        .await
        .expect("trace");
    assert!(
        kept_trace.to_string().contains("(602)272-9781"),
        "{kept_trace}"
    );
    assert_eq!(kept_trace["trace"]["phi_redacted"], false);
    let audit = common::cli(&server.db, &["audit", "export"]);
    assert!(audit.contains("evaluation.keep_phi.changed"), "{audit}");
}

#[tokio::test]
async fn redact_phi_replaces_masks_and_hashes() {
    let server = HttpServer::start_plain().await;
    let (client, _) = server.connect().await;
    let text =
        "Patient Maria Gonzalez, DOB 7/30/1964, SSN 123-45-6789, e-mail maria.g@example.org.";
    let replaced = common::succeeded(&client, "redact_phi", json!({ "text": text })).await;
    assert_eq!(
        replaced["redacted"],
        "Patient [NAME], DOB [DATE], SSN [SSN], e-mail [EMAIL]."
    );
    assert_eq!(replaced["spans"][0]["start"], 8);
    let masked = common::succeeded(
        &client,
        "redact_phi",
        json!({ "text": text, "mode": "mask" }),
    )
    .await;
    assert!(
        masked["redacted"]
            .as_str()
            .is_some_and(|t| t.contains("SSN ***********,")),
        "{masked}"
    );
    let hashed = common::succeeded(
        &client,
        "redact_phi",
        json!({ "text": text, "mode": "hash" }),
    )
    .await;
    let again = common::succeeded(
        &client,
        "redact_phi",
        json!({ "text": text, "mode": "hash" }),
    )
    .await;
    assert_eq!(hashed["redacted"], again["redacted"]);
    assert!(
        hashed["redacted"]
            .as_str()
            .is_some_and(|t| t.contains("[SSN:")),
        "{hashed}"
    );
    let only = common::succeeded(
        &client,
        "redact_phi",
        json!({ "text": text, "kinds": ["ssn"] }),
    )
    .await;
    assert!(
        only["redacted"]
            .as_str()
            .is_some_and(|t| t.contains("Maria") && t.contains("[SSN]"))
    );
    let (failed, error, _) = common::outcome(
        &client,
        "redact_phi",
        json!({ "text": text, "mode": "shred" }),
    )
    .await;
    assert!(failed);
    assert_eq!(error["code"], "INVALID_ARGUMENTS");
}

#[tokio::test]
async fn malformed_submissions_are_refused_and_nothing_is_stored() {
    let server = HttpServer::start_plain().await;
    let (client, _) = server.connect().await;
    let ok = json!({ "model": "m", "domain": "healthcare", "output": "fine" });
    let cases = [
        (json!({ "trace": ok, "traces": [ok] }), "either"),
        (json!({}), "either"),
        (json!({ "traces": [] }), "1–100"),
        (json!({ "traces": vec![ok.clone(); 101] }), "1–100"),
        (
            json!({ "trace": { "model": "m", "domain": "healthcare", "output": "x".repeat(600 * 1024) } }),
            "bytes",
        ),
        (
            json!({ "trace": { "model": "", "domain": "healthcare", "output": "x" } }),
            "model",
        ),
        (
            json!({ "trace": { "model": "m", "domain": "healthcare", "output": "x", "started_at": "soon" } }),
            "started_at",
        ),
        (
            json!({ "trace": { "model": "m", "domain": "healthcare", "output": "x", "colour": "red" } }),
            "colour",
        ),
        (
            json!({ "trace": { "model": "m", "domain": "healthcare", "output": "x", "input": [{ "role": "robot", "content": "x" }] } }),
            "robot",
        ),
    ];
    for (arguments, expected) in cases {
        let (failed, error, _) = common::outcome(&client, "submit_trace", arguments).await;
        assert!(failed, "{expected}");
        assert_eq!(error["code"], "INVALID_ARGUMENTS", "{expected}: {error}");
        assert!(
            error["message"]
                .as_str()
                .is_some_and(|m| m.contains(expected)),
            "{expected}: {error}"
        );
    }
    let recent = read(&client, "consilium://traces/recent")
        .await
        .expect("recent");
    assert_eq!(recent["traces"], json!([]));
    let (failed, error, _) = common::outcome(
        &client,
        "redact_phi",
        json!({ "text": "x".repeat(1024 * 1024 + 1) }),
    )
    .await;
    assert!(failed);
    assert_eq!(error["code"], "INVALID_ARGUMENTS", "{error}");
}

const OTLP_FIXTURE: &str = include_str!("otlp/export_trace_request.json");
const OTLP_PROTOBUF_FIXTURE: &[u8] = include_bytes!("otlp/export_trace_request.pb");

async fn post_spans(
    url: &str,
    token: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
    extra: &[(&str, &str)],
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", content_type)
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    let response = within("POST /v1/traces", request.send())
        .await
        .expect("the server answers");
    let status = response.status().as_u16();
    let text = response.text().await.expect("a body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// An exporter's request in the OTLP/JSON shape: three LLM spans in the GenAI, legacy and
/// OpenInference vocabularies beside an HTTP span, an embeddings span and a chat span
/// recorded without content; then the body the OpenTelemetry Python SDK sent in protobuf.
#[tokio::test]
async fn opentelemetry_spans_land_as_evaluated_traces() {
    let (dir, db) = fresh_db();
    let ada = common::user_with_key(&db, "ada@example.org", "pro", "eval");
    let reader = common::user_with_key(&db, "rita@example.org", "pro", "health");
    let server = HttpServer::spawn_on(dir, db, &[], &[]).await;
    let url = server.url("/v1/traces");
    let fixture = OTLP_FIXTURE.as_bytes().to_vec();

    // The door and the edge: no credential, a credential without the eval scope, protobuf,
    // malformed JSON, a span naming an unknown rule pack. Nothing is stored by any of them.
    let (status, _) = post_spans(&url, None, "application/json", fixture.clone(), &[]).await;
    assert_eq!(status, 401);
    let (status, body) = post_spans(
        &url,
        Some(&reader),
        "application/json",
        fixture.clone(),
        &[],
    )
    .await;
    assert_eq!((status, body["code"].as_u64()), (403, Some(7)), "{body}");
    let (status, _) = post_spans(&url, Some(&ada), "text/plain", fixture.clone(), &[]).await;
    assert_eq!(status, 415);
    let (status, body) = post_spans(
        &url,
        Some(&ada),
        "application/json",
        b"{\"resourceSpans\": 7}".to_vec(),
        &[],
    )
    .await;
    assert_eq!((status, body["code"].as_u64()), (400, Some(3)), "{body}");
    let unknown = OTLP_FIXTURE.replace("\"legal\"", "\"astrology\"");
    let (status, body) = post_spans(
        &url,
        Some(&ada),
        "application/json",
        unknown.into_bytes(),
        &[],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("00f067aa0ba902b7")
            && message.contains("astrology")
            && message.contains("nothing was stored"),
        "{message}"
    );

    let (client, _) = connect_http_as(&server.mcp_url(), &ada).await;
    let recent = read(&client, "consilium://traces/recent")
        .await
        .expect("recent");
    assert_eq!(
        recent["traces"].as_array().unwrap().len(),
        0,
        "nothing half-stored"
    );

    // Gzip, as the collector and most SDKs send it.
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut encoder, &fixture).unwrap();
    let (status, body) = post_spans(
        &url,
        Some(&ada),
        "application/json",
        encoder.finish().unwrap(),
        &[("content-encoding", "gzip")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["partialSuccess"]["rejectedSpans"], json!(1), "{body}");
    assert!(
        body["partialSuccess"]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("content capture")
    );

    let recent = read(&client, "consilium://traces/recent")
        .await
        .expect("recent");
    let traces = recent["traces"].as_array().unwrap();
    assert_eq!(traces.len(), 3, "{recent}");
    let mut by_model: std::collections::BTreeMap<String, Value> = Default::default();
    for t in traces {
        let trace = read(
            &client,
            &format!("consilium://traces/{}", t["trace_id"].as_str().unwrap()),
        )
        .await
        .expect("the trace");
        by_model.insert(t["model"].as_str().unwrap().to_string(), trace);
    }

    // The GenAI span: dosing without a disclaimer, the patient's name and record number
    // stored replaced.
    let dosing = &by_model["gpt-4o-mini-2024-07-18"];
    assert_eq!(dosing["trace"]["source"], "otlp");
    assert_eq!(
        dosing["trace"]["external_id"],
        "5b8efff798038103d269b633813fc60c/eee19b7ec3c1b173"
    );
    assert_eq!(
        (
            dosing["trace"]["input_tokens"].as_u64(),
            dosing["trace"]["latency_ms"].as_u64()
        ),
        (Some(42), Some(830))
    );
    let stored = dosing["trace"].to_string();
    assert!(
        !stored.contains("Gonzalez") && !stored.contains("A1234567"),
        "{stored}"
    );
    let rules: Vec<&str> = dosing["evaluation"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect();
    assert!(
        rules.contains(&"healthcare/dosing-without-disclaimer"),
        "{rules:?}"
    );
    assert_eq!(dosing["evaluation"]["verdict"], "fail");

    // The legacy span: chest pain not sent to emergency services.
    let legacy = &by_model["gpt-3.5-turbo-0125"];
    let findings = legacy["evaluation"]["findings"].to_string();
    assert!(
        findings.contains("healthcare/emergency-not-directed"),
        "{findings}"
    );
    assert_eq!(legacy["trace"]["input_tokens"], 20);

    // The OpenInference span, sent to the legal pack by its own attribute: a disclaimer
    // present, a citation in a real format.
    let legal = &by_model["gpt-4o"];
    assert_eq!(legal["trace"]["domain"], "legal");
    assert_eq!(legal["evaluation"]["verdict"], "pass", "{legal}");

    // Spans without a domain anywhere take the header's.
    let bare = serde_json::to_vec(&json!({ "resourceSpans": [{ "scopeSpans": [{ "spans": [{
        "traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203332", "name": "chat",
        "attributes": [
            { "key": "gen_ai.request.model", "value": { "stringValue": "m" } },
            { "key": "gen_ai.completion.0.content", "value": { "stringValue": "Hold the position." } },
        ],
    }]}]}]}))
    .unwrap();
    let (status, body) = post_spans(&url, Some(&ada), "application/json", bare.clone(), &[]).await;
    assert_eq!(status, 400, "no domain: {body}");
    let (status, body) = post_spans(
        &url,
        Some(&ada),
        "application/json",
        bare,
        &[("x-consilium-domain", "robotics")],
    )
    .await;
    assert_eq!((status, body), (200, json!({})));

    // Protobuf, as the OpenTelemetry Python SDK's exporter sent it: answered in protobuf.
    let protobuf = |body: Vec<u8>| {
        reqwest::Client::new()
            .post(&url)
            .bearer_auth(&ada)
            .header("content-type", "application/x-protobuf")
            .body(body)
            .send()
    };
    let response = within("protobuf spans", protobuf(OTLP_PROTOBUF_FIXTURE.to_vec()))
        .await
        .expect("answered");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-protobuf");
    assert!(
        response.bytes().await.unwrap().is_empty(),
        "a full success is an empty message"
    );
    let recent = read(&client, "consilium://traces/recent")
        .await
        .expect("recent");
    assert_eq!(
        recent["traces"].as_array().unwrap().len(),
        3 + 1 + 3,
        "{recent}"
    );
    let refused = within("bad protobuf", protobuf(vec![0x0a, 0xff, 0xff]))
        .await
        .expect("answered");
    assert_eq!(refused.status(), 400);
    assert_eq!(refused.headers()["content-type"], "application/x-protobuf");
    let status_body = refused.bytes().await.unwrap();
    assert_eq!(
        status_body.first(),
        Some(&0x08),
        "google.rpc.Status starts with its code"
    );
    assert_eq!(status_body.get(1), Some(&3), "INVALID_ARGUMENT");
}
