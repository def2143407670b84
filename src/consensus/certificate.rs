//! Trust certificates: what a consensus run found, signed so anyone can check it offline.
//!
//! A certificate is a compact JWS (RFC 7515) signed with Ed25519 (`alg` EdDSA, RFC 8037)
//! whose payload is an in-toto Statement v1: the subject is the SHA-256 of the consensus
//! answer, the predicate the question's digest, the panel, each answer's digest, the
//! clusters, the scores, the threshold, the method's version and the times. It carries no
//! question or answer text, only digests, so it holds no health data. The header's `kid` is
//! the key's RFC 7638 thumbprint; the public keys, old ones included, are a JWK Set.
//!
//! This file signs and checks; it must not choose what a consensus is.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer, VerifyingKey};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::identity::Timestamp;
use crate::secrets::{ActiveSigningKey, PublicSigningKey};

/// The signing-key purpose of certificates.
pub const CERTIFICATE_KEY_PURPOSE: &str = "consensus";
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
pub const PREDICATE_TYPE: &str = "https://consilium.dev/attestations/consensus/v1";
/// The JWS `typ`: an in-toto statement as JSON.
pub const JWS_TYPE: &str = "application/vnd.in-toto+json";
/// The longest certificate text accepted for checking.
pub const MAX_CERTIFICATE_BYTES: usize = 64 * 1024;

/// Hex SHA-256 of `text` as UTF-8: how every question and answer is referred to.
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PanelMember {
    pub provider: String,
    pub model: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AnswerDigest {
    /// Index into `panel`.
    pub member: usize,
    pub sha256: String,
}

/// What a consensus run found, by digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConsensusPredicate {
    pub question_sha256: String,
    pub panel: Vec<PanelMember>,
    pub answers: Vec<AnswerDigest>,
    /// Clusters of equivalent answers, as indices into `answers`, largest first.
    pub clusters: Vec<Vec<usize>>,
    /// Share of the answers in the largest cluster.
    pub agreement: f64,
    pub semantic_entropy: f64,
    pub threshold: f64,
    /// `reached`, `not_reached` or `insufficient`.
    pub status: String,
    pub method_version: String,
    pub issued_at: String,
    pub expires_at: String,
}

/// Signs the statement about `answer` and `predicate` with `key`: a compact JWS.
pub fn sign(
    key: &ActiveSigningKey,
    answer: &str,
    predicate: &ConsensusPredicate,
) -> Result<String, serde_json::Error> {
    let header = json!({ "alg": "EdDSA", "kid": key.kid(), "typ": JWS_TYPE });
    let statement = json!({
        "_type": STATEMENT_TYPE,
        "subject": [{ "name": "consensus-answer", "digest": { "sha256": sha256_hex(answer) } }],
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate,
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&statement)?)
    );
    let signature: Signature = key.signing_key().sign(signing_input.as_bytes());
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature.to_bytes())
    ))
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CertificateError {
    #[error("not a compact JWS: {0}")]
    Malformed(&'static str),
    #[error("the algorithm must be EdDSA")]
    Algorithm,
    #[error("no known key has the id {0}")]
    UnknownKey(String),
    #[error("the signature does not verify")]
    Signature,
    #[error("the payload is not a Consilium consensus statement")]
    NotAStatement,
}

/// A certificate whose signature verified.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub kid: String,
    pub key_active: bool,
    pub answer_sha256: String,
    pub predicate: ConsensusPredicate,
    pub statement: Value,
    pub expired: bool,
}

fn decode(part: &str) -> Result<Vec<u8>, CertificateError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| CertificateError::Malformed("a part is not base64url"))
}

/// Checks `certificate` against `keys` (active and retired) at `now`. An expired
/// certificate still verifies, with `expired` set: the caller decides what that means.
pub fn verify(
    certificate: &str,
    keys: &[PublicSigningKey],
    now: Timestamp,
) -> Result<Verified, CertificateError> {
    if certificate.len() > MAX_CERTIFICATE_BYTES {
        return Err(CertificateError::Malformed("longer than 64 KiB"));
    }
    let parts: Vec<&str> = certificate.trim().split('.').collect();
    let [header, payload, signature] = parts.as_slice() else {
        return Err(CertificateError::Malformed(
            "it must have three dot-separated parts",
        ));
    };
    let header_json: Value = serde_json::from_slice(&decode(header)?)
        .map_err(|_| CertificateError::Malformed("the header is not JSON"))?;
    if header_json.get("alg").and_then(Value::as_str) != Some("EdDSA") {
        return Err(CertificateError::Algorithm);
    }
    let kid = header_json
        .get("kid")
        .and_then(Value::as_str)
        .ok_or(CertificateError::Malformed("the header has no kid"))?
        .to_string();
    let key = keys
        .iter()
        .find(|k| k.kid == kid)
        .ok_or_else(|| CertificateError::UnknownKey(kid.clone()))?;
    let signature_bytes: [u8; 64] = decode(signature)?
        .try_into()
        .map_err(|_| CertificateError::Malformed("the signature is not 64 bytes"))?;
    let signing_input = format!("{header}.{payload}");
    verify_with(
        &key.verifying_key,
        signing_input.as_bytes(),
        &Signature::from_bytes(&signature_bytes),
    )?;
    let statement: Value =
        serde_json::from_slice(&decode(payload)?).map_err(|_| CertificateError::NotAStatement)?;
    if statement.get("_type").and_then(Value::as_str) != Some(STATEMENT_TYPE)
        || statement.get("predicateType").and_then(Value::as_str) != Some(PREDICATE_TYPE)
    {
        return Err(CertificateError::NotAStatement);
    }
    let answer_sha256 = statement
        .pointer("/subject/0/digest/sha256")
        .and_then(Value::as_str)
        .ok_or(CertificateError::NotAStatement)?
        .to_string();
    let predicate: ConsensusPredicate = statement
        .get("predicate")
        .cloned()
        .and_then(|p| serde_json::from_value(p).ok())
        .ok_or(CertificateError::NotAStatement)?;
    let expired = Timestamp::parse_rfc3339(&predicate.expires_at).is_none_or(|at| at <= now);
    Ok(Verified {
        kid,
        key_active: key.is_active(),
        answer_sha256,
        predicate,
        statement,
        expired,
    })
}

fn verify_with(
    key: &VerifyingKey,
    message: &[u8],
    signature: &Signature,
) -> Result<(), CertificateError> {
    key.verify_strict(message, signature)
        .map_err(|_| CertificateError::Signature)
}
