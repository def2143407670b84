//! `verify_certificate` and `consilium://keys/jwks.json`: a thin layer over
//! [`super::certificate`] and the server's signing keys.

use rmcp::ErrorData as McpError;
use rmcp::model::{ReadResourceResult, Resource, ResourceContents};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::certificate::{self, CERTIFICATE_KEY_PURPOSE, sha256_hex};
use crate::mcp::tool::codes;
use crate::mcp::{RegistryBuilder, ToolContext, ToolError, ToolOutput};

pub const JWKS_URI: &str = "consilium://keys/jwks.json";

pub fn register(builder: &mut RegistryBuilder<'_>) {
    builder.tool("verify_certificate", verify_certificate);
    builder.resource(
        Resource::new(JWKS_URI, "jwks")
            .with_title("Certificate signing keys")
            .with_description("The public keys (JWK Set, RFC 7517) that verify consensus trust certificates, retired ones included")
            .with_mime_type("application/json"),
        |scope, uri| async move {
            let jwks = scope
                .app
                .signing_keys
                .jwks(CERTIFICATE_KEY_PURPOSE)
                .await
                .map_err(|e| McpError::internal_error(format!("keys unavailable: {e}"), None))?;
            let text = serde_json::to_string_pretty(&jwks).map_err(|e| McpError::internal_error(e.to_string(), None))?;
            Ok(ReadResourceResult::new(vec![ResourceContents::text(text, uri).with_mime_type("application/json")]))
        },
    );
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyArguments {
    /// The certificate: a compact JWS (three base64url parts joined by dots).
    pub certificate: String,
    /// The consensus answer's text, to check against the certificate's subject digest.
    #[serde(default)]
    pub answer: Option<String>,
    /// The question's text, to check against its digest.
    #[serde(default)]
    pub question: Option<String>,
    /// The panel's answers in the certificate's order, to check against their digests.
    #[serde(default)]
    pub answers: Option<Vec<String>>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct VerifyResult {
    /// The signature verifies with a key of this server, the certificate has not expired,
    /// and every text given matches its digest.
    pub valid: bool,
    pub signature_valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// `active`, or `retired` for a key replaced since (still trusted for what it signed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_status: Option<String>,
    pub expired: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer_matches: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub question_matches: Option<bool>,
    /// Per answer given, whether it matches the digest at that position.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answers_match: Option<Vec<bool>>,
    /// The signed in-toto statement, when the signature verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<Value>,
    /// Why the certificate is not valid, if it is not.
    pub problems: Vec<String>,
}

impl ToolOutput for VerifyResult {
    fn to_text(&self) -> String {
        if self.valid {
            format!(
                "The certificate is valid (key {}).",
                self.key_id.as_deref().unwrap_or_default()
            )
        } else {
            format!("The certificate is NOT valid: {}", self.problems.join("; "))
        }
    }
}

async fn verify_certificate(
    ctx: ToolContext,
    args: VerifyArguments,
) -> Result<VerifyResult, ToolError> {
    if args.certificate.len() > certificate::MAX_CERTIFICATE_BYTES {
        return Err(ToolError::invalid_arguments(
            "the certificate is longer than 64 KiB",
        ));
    }
    let keys = ctx
        .app
        .signing_keys
        .public_keys(CERTIFICATE_KEY_PURPOSE)
        .await
        .map_err(|_| {
            ToolError::new(
                codes::UNAVAILABLE,
                "the signing keys cannot be read right now",
            )
        })?;
    let mut result = VerifyResult {
        valid: false,
        signature_valid: false,
        key_id: None,
        key_status: None,
        expired: false,
        answer_matches: None,
        question_matches: None,
        answers_match: None,
        statement: None,
        problems: Vec::new(),
    };
    let verified = match certificate::verify(&args.certificate, &keys, ctx.app.clock.now()) {
        Ok(verified) => verified,
        Err(error) => {
            result.problems.push(error.to_string());
            return Ok(result);
        }
    };
    result.signature_valid = true;
    result.key_id = Some(verified.kid.clone());
    result.key_status = Some(
        if verified.key_active {
            "active"
        } else {
            "retired"
        }
        .into(),
    );
    result.expired = verified.expired;
    if verified.expired {
        result
            .problems
            .push(format!("it expired at {}", verified.predicate.expires_at));
    }
    if let Some(answer) = &args.answer {
        let matches = sha256_hex(answer) == verified.answer_sha256;
        if !matches {
            result
                .problems
                .push("the answer given is not the one certified".into());
        }
        result.answer_matches = Some(matches);
    }
    if let Some(question) = &args.question {
        let matches = sha256_hex(question) == verified.predicate.question_sha256;
        if !matches {
            result
                .problems
                .push("the question given is not the one certified".into());
        }
        result.question_matches = Some(matches);
    }
    if let Some(answers) = &args.answers {
        let matches: Vec<bool> = answers
            .iter()
            .enumerate()
            .map(|(i, text)| {
                verified
                    .predicate
                    .answers
                    .get(i)
                    .is_some_and(|a| a.sha256 == sha256_hex(text))
            })
            .collect();
        if matches.iter().any(|m| !m) || answers.len() != verified.predicate.answers.len() {
            result
                .problems
                .push("the answers given do not all match the certified digests".into());
        }
        result.answers_match = Some(matches);
    }
    result.valid = result.problems.is_empty();
    result.statement = Some(verified.statement);
    Ok(result)
}
