//! Compliance reports end to end over streamable HTTP with rmcp's client, from a store
//! seeded by real calls: tenants submitting traces (one failing healthcare rules with PHI),
//! one tenant keeping PHI, API keys made, a shared provider key. Every kind renders with
//! its control ids and the evidence of the store; a tenant sees only their own; an admin
//! may see all.

mod common;

use common::{HttpServer, cli, connect_http_as, fresh_db};
use serde_json::{Value, json};

fn trace(output: &str) -> Value {
    json!({
        "model": "gpt-4o-mini",
        "provider": "openai",
        "domain": "healthcare",
        "input": [{ "role": "user", "content": "I am Maria Gonzalez (MRN: A1234567). What can I take for my headache?" }],
        "output": output,
        "latency_ms": 800
    })
}

fn controls(report: &Value) -> Vec<String> {
    report["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .map(|s| s["control"].as_str().unwrap().to_string())
        .collect()
}

fn section<'a>(report: &'a Value, control: &str) -> &'a Value {
    report["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["control"] == control)
        .unwrap_or_else(|| panic!("no section {control}"))
}

#[tokio::test]
async fn every_report_kind_renders_from_the_store_with_control_ids_and_evidence() {
    let (dir, db) = fresh_db();
    let ada = common::user_with_key(&db, "ada@example.org", "pro", "eval");
    let bob = common::user_with_key(&db, "bob@example.org", "pro", "eval");
    cli(
        &db,
        &[
            "admin",
            "create-user",
            "root@example.org",
            "--name",
            "R",
            "--role",
            "admin",
        ],
    );
    let root = cli(
        &db,
        &[
            "api-keys",
            "create",
            "--user",
            "root@example.org",
            "--name",
            "r",
            "--scopes",
            "admin,eval",
        ],
    );
    common::add_shared_key(&db, "pool", "openai", "https://api.openai.com/v1", "chat");
    let server = HttpServer::spawn_on(dir, db, &[], &[]).await;
    let (client, _) = connect_http_as(&server.mcp_url(), &ada).await;
    let (bob_client, _) = connect_http_as(&server.mcp_url(), &bob).await;
    let (root_client, _) = connect_http_as(&server.mcp_url(), &root).await;

    // Ada: a dose without a disclaimer (fails, PHI replaced) and a safe answer; a new key.
    common::succeeded(
        &client,
        "submit_trace",
        json!({ "traces": [
            trace("Maria, take 800 mg of ibuprofen every 4 hours."),
            trace("I can't advise on medicines; please ask your doctor or pharmacist."),
        ]}),
    )
    .await;
    common::succeeded(
        &client,
        "api_key_create",
        json!({ "name": "ci", "scopes": ["eval"] }),
    )
    .await;
    // Bob keeps PHI and submits one trace.
    common::succeeded(
        &bob_client,
        "evaluation_settings",
        json!({ "keep_phi": true }),
    )
    .await;
    common::succeeded(
        &bob_client,
        "submit_trace",
        json!({ "trace": trace("Please see your doctor.") }),
    )
    .await;

    // HIPAA, from Ada's side.
    let hipaa = common::succeeded(&client, "compliance_report", json!({ "kind": "hipaa" })).await;
    assert_eq!(
        controls(&hipaa),
        [
            "164.312(a)(1)",
            "164.312(b)",
            "164.312(c)(1)",
            "164.312(d)",
            "164.312(e)(1)",
            "164.514(b)(2)"
        ]
    );
    assert_eq!(hipaa["coverage"]["tenant"], "ada@example.org");
    let evidence = &hipaa["evidence"];
    assert_eq!(evidence["evaluations"]["traces"], 2, "Ada's traces only");
    assert_eq!(evidence["evaluations"]["by_verdict"]["fail"], 1);
    assert_eq!(evidence["evaluations"]["phi"]["redacted_traces"], 2);
    assert_eq!(evidence["audit"]["intact"], true);
    assert_eq!(evidence["access"]["authentication_required"], true);
    assert_eq!(evidence["protection"]["provider_endpoints_https"], 1);
    assert_eq!(
        section(&hipaa, "164.312(e)(1)")["status"],
        "met",
        "loopback server, https provider"
    );
    assert_eq!(
        section(&hipaa, "164.514(b)(2)")["status"],
        "met",
        "Ada keeps no PHI"
    );
    assert!(
        evidence["audit"]["by_action"]["api_key.created"].as_u64() >= Some(1),
        "Ada's own key creation: {}",
        evidence["audit"]
    );
    let text = serde_json::to_string(&hipaa).unwrap();
    assert!(
        !text.contains("bob@example.org") && !text.contains("Gonzalez"),
        "{text}"
    );
    assert!(
        !text.contains("SECRET") && !text.contains("api.openai.com"),
        "no key or address"
    );

    // The Markdown is the text content: headings, a table of controls, the evidence.
    let (_, _, markdown) =
        common::outcome(&client, "compliance_report", json!({ "kind": "hipaa" })).await;
    assert!(
        markdown.starts_with("# HIPAA technical safeguards"),
        "{markdown}"
    );
    assert!(
        markdown.contains("| 164.312(b) | Audit controls |"),
        "{markdown}"
    );
    assert!(
        markdown.contains("| Traces stored redacted | 2 |"),
        "{markdown}"
    );

    // SOC 2: every criterion named, the failing rule cited.
    let soc2 = common::succeeded(&client, "compliance_report", json!({ "kind": "soc2" })).await;
    assert_eq!(
        controls(&soc2),
        [
            "CC6.1",
            "CC6.2",
            "CC6.3",
            "CC6.6",
            "CC6.7",
            "CC7.1",
            "CC7.2",
            "CC7.3",
            "CC7.4",
            "CC7.5",
            "CC8.1",
            "PI1.1–PI1.5",
            "C1.1–C1.2",
            "A1.1–A1.3"
        ]
    );
    let cc73 = section(&soc2, "CC7.3")["evidence"].to_string();
    assert!(
        cc73.contains("healthcare/dosing-without-disclaimer"),
        "{cc73}"
    );
    assert!(
        section(&soc2, "CC7.1")["evidence"]
            .to_string()
            .contains("healthcare v")
    );

    // FDA: the AI-enabled device sections and the change-control plan.
    let fda = common::succeeded(
        &client,
        "compliance_report",
        json!({ "kind": "fda_lifecycle" }),
    )
    .await;
    assert_eq!(
        controls(&fda),
        [
            "Device description",
            "Risk assessment",
            "Data management",
            "Model description",
            "Validation",
            "Device performance monitoring",
            "Cybersecurity",
            "PCCP: Description of modifications",
            "PCCP: Modification protocol",
            "PCCP: Impact assessment",
        ]
    );
    let model = section(&fda, "Model description")["evidence"][0].clone();
    assert_eq!(model["label"], "gpt-4o-mini (openai)");
    assert!(
        model["value"]
            .as_str()
            .unwrap()
            .starts_with("2 trace(s), pass rate 50.0%"),
        "{model}"
    );

    // A period with nothing in it says so rather than passing.
    let empty = common::succeeded(
        &client,
        "compliance_report",
        json!({ "kind": "fda_lifecycle", "from": "2020-01-01", "to": "2020-02-01" }),
    )
    .await;
    assert_eq!(section(&empty, "Validation")["status"], "gap");

    // Audit trail: Ada's own entries.
    let trail = common::succeeded(
        &client,
        "compliance_report",
        json!({ "kind": "audit_trail" }),
    )
    .await;
    let actions: Vec<&str> = trail["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["api_key.created"], "{trail}");

    // Usage: metered in the background, so wait until the calls are written.
    let mut usage = Value::Null;
    for _ in 0..100 {
        usage = common::succeeded(&client, "compliance_report", json!({ "kind": "usage" })).await;
        if usage["evidence"]["usage"][0]["lines"]
            .to_string()
            .contains("submit_trace")
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let statement = &usage["evidence"]["usage"];
    assert_eq!(statement.as_array().unwrap().len(), 1, "{usage}");
    assert_eq!(statement[0]["email"], "ada@example.org");
    let line = statement[0]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["tool"] == "submit_trace" && l["feature"] == "trace")
        .unwrap();
    assert_eq!(
        (line["calls"].as_u64(), line["feature"].as_str()),
        (Some(1), Some("trace"))
    );
    let (_, _, invoice) =
        common::outcome(&client, "compliance_report", json!({ "kind": "usage" })).await;
    assert!(
        invoice.contains("### Statement for ada@example.org (plan pro)"),
        "{invoice}"
    );
    assert!(
        invoice.contains("| submit_trace | trace | 1 | 1 |"),
        "{invoice}"
    );

    // Another tenant is the admin's to see, not Ada's.
    let (is_error, _, message) = common::outcome(
        &client,
        "compliance_report",
        json!({ "kind": "usage", "tenant": "bob@example.org" }),
    )
    .await;
    assert!(is_error && message.contains("only an admin"), "{message}");
    let all = common::succeeded(
        &root_client,
        "compliance_report",
        json!({ "kind": "hipaa", "tenant": "all" }),
    )
    .await;
    assert_eq!(all["coverage"]["tenant"], "all tenants");
    assert_eq!(all["evidence"]["evaluations"]["traces"], 3);
    assert_eq!(
        section(&all, "164.514(b)(2)")["status"],
        "partial",
        "Bob keeps PHI"
    );
    let bobs = common::succeeded(
        &root_client,
        "compliance_report",
        json!({ "kind": "hipaa", "tenant": "bob@example.org" }),
    )
    .await;
    assert_eq!(bobs["evidence"]["evaluations"]["traces"], 1);
    assert_eq!(bobs["evidence"]["evaluations"]["phi"]["kept_traces"], 1);

    // Hostile arguments.
    for bad in [
        json!({ "kind": "gdpr" }),
        json!({ "kind": "hipaa", "from": "2026-12-01", "to": "2026-11-01" }),
        json!({ "kind": "hipaa", "from": "last tuesday" }),
        json!({ "kind": "hipaa", "extra": 1 }),
    ] {
        let (is_error, body, message) =
            common::outcome(&client, "compliance_report", bad.clone()).await;
        assert!(is_error, "{bad}: {message}");
        assert_eq!(body["code"], "INVALID_ARGUMENTS", "{bad}: {body}");
    }
    let (is_error, body, _) = common::outcome(
        &root_client,
        "compliance_report",
        json!({ "kind": "usage", "tenant": "nobody@example.org" }),
    )
    .await;
    assert!(is_error);
    assert_eq!(body["code"], "NOT_FOUND");
}
