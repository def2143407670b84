use std::sync::Arc;

use super::certificate::*;
use crate::identity::{ManualClock, Timestamp};
use crate::secrets::{MasterKey, SigningKeys};
use crate::store::{Store, StoreOptions};

async fn keys() -> (SigningKeys, tempfile::TempDir) {
    let dir = tempfile::TempDir::new().expect("dir");
    let path = dir.path().join("consilium.sqlite");
    let store = tokio::task::spawn_blocking(move || Store::open(&path, StoreOptions::default()))
        .await
        .expect("join")
        .expect("store");
    let clock = Arc::new(ManualClock::at(at(0)));
    let keys = SigningKeys::new(store, Arc::new(MasterKey::generate().expect("key")), clock);
    (keys, dir)
}

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_unix_seconds(1_800_000_000 + seconds).expect("time")
}

fn b64_decode(part: &str) -> Vec<u8> {
    base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, part).expect("b64")
}

fn b64_encode(bytes: impl AsRef<[u8]>) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
}

/// A certificate about `answer` signed with the consensus key, and the public keys.
async fn signed(
    keys: &SigningKeys,
    answer: &str,
) -> (String, Vec<crate::secrets::PublicSigningKey>) {
    let key = keys
        .load_or_create(CERTIFICATE_KEY_PURPOSE)
        .await
        .expect("key");
    let certificate = sign(&key, answer, &predicate()).expect("signed");
    let public = keys
        .public_keys(CERTIFICATE_KEY_PURPOSE)
        .await
        .expect("public");
    (certificate, public)
}

fn predicate() -> ConsensusPredicate {
    ConsensusPredicate {
        question_sha256: sha256_hex("Is metformin first-line for type 2 diabetes?"),
        panel: vec![
            PanelMember {
                provider: "openai".into(),
                model: "m1".into(),
            },
            PanelMember {
                provider: "anthropic".into(),
                model: "m2".into(),
            },
            PanelMember {
                provider: "gemini".into(),
                model: "m3".into(),
            },
        ],
        answers: (0..3)
            .map(|member| AnswerDigest {
                member,
                sha256: sha256_hex(&format!("answer {member}")),
            })
            .collect(),
        clusters: vec![vec![0, 1], vec![2]],
        agreement: 2.0 / 3.0,
        semantic_entropy: 0.6365,
        threshold: 0.6,
        status: "reached".into(),
        method_version: "consensus/1".into(),
        issued_at: at(0).to_rfc3339(),
        expires_at: at(3600).to_rfc3339(),
    }
}

#[tokio::test]
async fn a_certificate_verifies_with_its_key_and_names_the_answers_digest() {
    let (keys, _dir) = keys().await;
    let (certificate, public) = signed(&keys, "answer 0").await;
    let verified = verify(&certificate, &public, at(10)).expect("verifies");
    assert_eq!(verified.answer_sha256, sha256_hex("answer 0"));
    assert_eq!(verified.predicate, predicate());
    assert!(verified.key_active && !verified.expired);
    assert!(
        verify(&certificate, &public, at(3600))
            .expect("verifies")
            .expired
    );
}

#[tokio::test]
async fn the_certificate_holds_digests_only() {
    let (keys, _dir) = keys().await;
    let (certificate, _) = signed(&keys, "Metformin is first-line.").await;
    let payload = certificate.split('.').nth(1).expect("payload");
    let text = String::from_utf8(b64_decode(payload)).expect("utf8");
    assert!(!text.contains("Metformin") && !text.contains("metformin"));
}

#[tokio::test]
async fn a_changed_byte_an_unknown_key_or_another_algorithm_is_refused() {
    let (keys, _dir) = keys().await;
    let (certificate, public) = signed(&keys, "answer 0").await;
    // Tamper with the payload: the statement now claims another status.
    let parts: Vec<&str> = certificate.split('.').collect();
    let mut statement: serde_json::Value =
        serde_json::from_slice(&b64_decode(parts[1])).expect("json");
    statement["predicate"]["status"] = "not_reached".into();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64_encode(statement.to_string()),
        parts[2]
    );
    assert_eq!(
        verify(&forged, &public, at(1)),
        Err(CertificateError::Signature)
    );
    let other_keys = keys.rotate(CERTIFICATE_KEY_PURPOSE).await.expect("rotated");
    let after = keys
        .public_keys(CERTIFICATE_KEY_PURPOSE)
        .await
        .expect("public");
    assert!(
        !verify(&certificate, &after, at(1))
            .expect("old keys still verify")
            .key_active
    );
    let only_new: Vec<_> = after
        .into_iter()
        .filter(|k| k.kid == other_keys.kid())
        .collect();
    assert!(matches!(
        verify(&certificate, &only_new, at(1)),
        Err(CertificateError::UnknownKey(_))
    ));
    let none_header = b64_encode(r#"{"alg":"none","kid":"x"}"#);
    assert_eq!(
        verify(&format!("{none_header}.{}.", parts[1]), &public, at(1)),
        Err(CertificateError::Algorithm)
    );
    for junk in ["", "a.b", "a.b.c.d", "!!!.###.$$$"] {
        assert!(
            matches!(
                verify(junk, &public, at(1)),
                Err(CertificateError::Malformed(_))
            ),
            "{junk:?}"
        );
    }
}
