//! `verify_certificate` through the real binary: a certificate signed with the server's own
//! consensus key verifies, names its key and matches the texts it certifies; a changed byte
//! or a different answer is reported as not valid.

mod common;

use common::{fresh_db, run_cli};
use consilium::app::{App, AppOptions};
use consilium::config::Config;
use consilium::consensus::certificate::{
    AnswerDigest, CERTIFICATE_KEY_PURPOSE, ConsensusPredicate, PanelMember, sha256_hex, sign,
};
use serde_json::{Value, json};

fn structured(output: &std::process::Output) -> Value {
    let text = String::from_utf8_lossy(&output.stdout);
    let value: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    value.get("structuredContent").cloned().unwrap_or(value)
}

#[tokio::test]
async fn a_certificate_signed_by_the_server_verifies_and_a_forgery_does_not() {
    let (_dir, db) = fresh_db();
    let mut config = Config::default();
    config.store.path = Some(db.clone());
    let app = App::start(config, AppOptions::default())
        .await
        .expect("app");
    let key = app
        .signing_keys
        .load_or_create(CERTIFICATE_KEY_PURPOSE)
        .await
        .expect("key");
    let predicate = ConsensusPredicate {
        question_sha256: sha256_hex("What is the first-line drug for type 2 diabetes?"),
        panel: vec![
            PanelMember {
                provider: "openai".into(),
                model: "a".into(),
            },
            PanelMember {
                provider: "anthropic".into(),
                model: "b".into(),
            },
        ],
        answers: vec![
            AnswerDigest {
                member: 0,
                sha256: sha256_hex("Metformin."),
            },
            AnswerDigest {
                member: 1,
                sha256: sha256_hex("Metformin, usually."),
            },
        ],
        clusters: vec![vec![0, 1]],
        agreement: 1.0,
        semantic_entropy: 0.0,
        threshold: 0.6,
        status: "reached".into(),
        method_version: "consensus/1".into(),
        issued_at: "2026-01-01T00:00:00Z".into(),
        expires_at: "2099-01-01T00:00:00Z".into(),
    };
    let certificate = sign(&key, "Metformin.", &predicate).expect("signed");
    app.shutdown().await.expect("shut down");

    let arguments = json!({
        "certificate": certificate,
        "answer": "Metformin.",
        "question": "What is the first-line drug for type 2 diabetes?",
        "answers": ["Metformin.", "Metformin, usually."],
    });
    let output = run_cli(&db, &["call", "verify_certificate", &arguments.to_string()]);
    let result = structured(&output);
    assert_eq!(result["valid"], true, "{result}");
    assert_eq!(result["key_id"], key.kid());
    assert_eq!(
        result["statement"]["predicateType"],
        "https://consilium.dev/attestations/consensus/v1"
    );

    let wrong = json!({ "certificate": certificate, "answer": "Insulin." });
    let result = structured(&run_cli(
        &db,
        &["call", "verify_certificate", &wrong.to_string()],
    ));
    assert_eq!(
        (result["valid"].clone(), result["answer_matches"].clone()),
        (json!(false), json!(false))
    );

    let mut forged = certificate.clone();
    let last = forged.pop().expect("a character");
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let result = structured(&run_cli(
        &db,
        &[
            "call",
            "verify_certificate",
            &json!({ "certificate": forged }).to_string(),
        ],
    ));
    assert_eq!(result["valid"], false);
    assert_eq!(result["signature_valid"], false, "{result}");
}
