//! The consensus tools — `consensus_query` and `verify_certificate` — and the resources
//! `consilium://consensus/{id}` (a run, to its owner) and `consilium://keys/jwks.json`: a
//! thin layer over [`super::Consensus`], [`super::certificate`] and the signing keys.

use rmcp::ErrorData as McpError;
use std::time::Duration;

use rmcp::model::{ReadResourceResult, Resource, ResourceContents, ResourceTemplate};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::certificate::{self, CERTIFICATE_KEY_PURPOSE, sha256_hex};
use super::convene::{ConsensusReport, Question};
use super::panel::{CLIENT_SEAT, MemberOutcome, Seat};
use crate::llm::{ClientModel, ProviderKind};
use crate::mcp::tool::codes;
use crate::mcp::{RegistryBuilder, ToolContext, ToolError, ToolOutput};

pub const JWKS_URI: &str = "consilium://keys/jwks.json";
pub const RUN_URI_TEMPLATE: &str = "consilium://consensus/{id}";
/// Longest question accepted, in characters.
const MAX_QUESTION_CHARS: usize = 8_000;
/// Longest context accepted, in characters.
const MAX_CONTEXT_CHARS: usize = 32_000;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryArguments {
    /// The question every member answers.
    pub question: String,
    /// Background given to every member with the question (a case summary, a passage).
    #[serde(default)]
    pub context: Option<String>,
    /// The panel; left out, the server's default panel (models from different providers
    /// where the keys allow). Use provider `client` for this client's own model.
    #[serde(default)]
    pub panel: Option<Vec<Seat>>,
    /// Add this client's own model (MCP sampling) to the panel.
    #[serde(default)]
    pub include_client_model: bool,
    /// Agreement at or above which consensus is reached (0–1; default from the server,
    /// 0.6).
    #[serde(default)]
    pub threshold: Option<f64>,
    /// Seconds each member may take (1–300; default from the server, 60).
    #[serde(default)]
    pub member_deadline_secs: Option<u64>,
    /// The longest answer wanted from each member, in tokens (16–4096, default 600).
    #[serde(default)]
    pub max_tokens: Option<u32>,
}

impl ToolOutput for ConsensusReport {
    fn to_text(&self) -> String {
        let mut text = match (&self.answer, self.status.as_str()) {
            (Some(answer), "reached") => format!(
                "Consensus reached (agreement {:.2}, threshold {:.2}, {} of {} answered):\n{}",
                self.agreement, self.threshold, self.answered, self.panel_size, answer.text
            ),
            (Some(answer), _) if self.answered >= 2 => format!(
                "No consensus (agreement {:.2}, below the threshold {:.2}). The largest group said:\n{}",
                self.agreement, self.threshold, answer.text
            ),
            _ => format!(
                "Insufficient: {} of {} members answered; no consensus can be claimed.",
                self.answered, self.panel_size
            ),
        };
        if let Some(agreeing) = &self.agreeing {
            text.push_str(&format!("\n\nAgreeing: {}", agreeing.models.join(", ")));
        }
        for dissent in &self.dissent {
            text.push_str(&format!(
                "\nDissent ({}): {}",
                dissent.models.join(", "),
                dissent.answer
            ));
        }
        for member in self
            .members
            .iter()
            .filter(|m| m.outcome != MemberOutcome::Answered)
        {
            text.push_str(&format!(
                "\nNo answer from {}/{}: {}",
                member.provider,
                member.model,
                member.error.as_deref().unwrap_or("failed")
            ));
        }
        for note in &self.notes {
            text.push_str(&format!("\nNote: {note}"));
        }
        text.push_str(&format!(
            "\n\nModel-written. Run {} (consilium://consensus/{}).",
            self.id, self.id
        ));
        if let Some(certificate) = &self.certificate {
            text.push_str(&format!("\nCertificate: {certificate}"));
        }
        text
    }
}

fn field_error(field: &str, message: impl Into<String>) -> ToolError {
    ToolError::invalid_arguments(message).with_details(json!({ "field": field }))
}

/// The panel asked for, checked: known providers, valid model ids, no seat twice.
fn checked_seats(seats: Vec<Seat>, max: usize) -> Result<Vec<Seat>, ToolError> {
    let mut checked: Vec<Seat> = Vec::with_capacity(seats.len());
    for seat in seats {
        let seat = if seat.provider.trim().eq_ignore_ascii_case(CLIENT_SEAT) {
            Seat {
                provider: CLIENT_SEAT.into(),
                model: String::new(),
            }
        } else {
            let provider = seat
                .provider
                .parse::<ProviderKind>()
                .map_err(|e| field_error("panel", e))?;
            if !crate::llm::providers::valid_model_id(&seat.model) {
                return Err(field_error(
                    "panel",
                    format!("{:?} is not a valid model id", seat.model),
                ));
            }
            Seat {
                provider: provider.to_string(),
                model: seat.model,
            }
        };
        if checked.contains(&seat) {
            return Err(field_error(
                "panel",
                format!("{} sits on the panel twice", seat.label()),
            ));
        }
        checked.push(seat);
    }
    if checked.len() > max {
        return Err(field_error(
            "panel",
            format!("a panel has at most {max} members"),
        ));
    }
    Ok(checked)
}

async fn consensus_query(
    ctx: ToolContext,
    args: QueryArguments,
) -> Result<ConsensusReport, ToolError> {
    let question = args.question.trim();
    if question.is_empty() || question.chars().count() > MAX_QUESTION_CHARS {
        return Err(field_error(
            "question",
            format!("question must have 1 to {MAX_QUESTION_CHARS} characters"),
        ));
    }
    let context = match args.context.as_deref().map(str::trim) {
        Some(c) if c.chars().count() > MAX_CONTEXT_CHARS => {
            return Err(field_error(
                "context",
                format!("context must have at most {MAX_CONTEXT_CHARS} characters"),
            ));
        }
        Some("") | None => None,
        Some(c) => Some(c.to_string()),
    };
    let consensus = &ctx.app.consensus;
    let config = consensus.config();
    let threshold = args.threshold.unwrap_or(config.threshold);
    if !(threshold > 0.0 && threshold <= 1.0) {
        return Err(field_error(
            "threshold",
            "threshold must be above 0 and at most 1",
        ));
    }
    let deadline = args
        .member_deadline_secs
        .unwrap_or(config.member_deadline_secs);
    if !(1..=300).contains(&deadline) {
        return Err(field_error(
            "member_deadline_secs",
            "member_deadline_secs must be between 1 and 300",
        ));
    }
    let max_tokens = args.max_tokens.unwrap_or(600);
    if !(16..=4096).contains(&max_tokens) {
        return Err(field_error(
            "max_tokens",
            "max_tokens must be between 16 and 4096",
        ));
    }
    let user = ctx.principal.user_id.clone();
    let mut seats = match args.panel {
        Some(seats) => checked_seats(seats, config.max_panel_size)?,
        None => consensus.default_seats(&user).await,
    };
    let client_model = ClientModel::of(ctx.peer(), ctx.app.llm.client_model_timeout());
    if args.include_client_model && !seats.iter().any(|s| s.provider == CLIENT_SEAT) {
        if client_model.is_none() {
            return Err(field_error(
                "include_client_model",
                "this client did not declare MCP sampling, so its model cannot sit on the panel",
            ));
        }
        seats.push(Seat {
            provider: CLIENT_SEAT.into(),
            model: String::new(),
        });
    }
    if seats.len() > config.max_panel_size {
        seats.truncate(config.max_panel_size);
    }
    if seats.len() < 2 {
        return Err(ToolError::new(
            codes::NO_PROVIDER,
            format!(
                "A consensus panel needs at least two models and only {} is available: add provider keys serving consensus (from different providers where possible), name a panel, or set include_client_model. Nothing was asked.",
                seats.len()
            ),
        )
        .with_details(json!({ "feature": "consensus", "available": seats.iter().map(Seat::label).collect::<Vec<_>>() }))
        .with_action("add_provider_key"));
    }
    let run = Question {
        question: question.to_string(),
        context,
        seats,
        threshold,
        member_deadline: Duration::from_secs(deadline),
        max_tokens,
    };
    let (arrivals, mut heard) = tokio::sync::mpsc::unbounded_channel();
    let convene = consensus.convene(&user, &run, client_model, Some(&arrivals));
    tokio::pin!(convene);
    let total = run.seats.len() as f64;
    let announce = |arrival: crate::consensus::panel::Arrival| {
        let message = format!(
            "{} {} ({} of {})",
            arrival.seat,
            match arrival.outcome {
                MemberOutcome::Answered => "answered",
                MemberOutcome::Failed => "failed",
                MemberOutcome::TimedOut => "timed out",
                MemberOutcome::NoRoute => "has no route",
            },
            arrival.finished,
            arrival.total
        );
        ctx.progress(arrival.finished as f64, Some(total), Some(message))
    };
    let outcome = loop {
        tokio::select! {
            outcome = &mut convene => break outcome,
            Some(arrival) = heard.recv() => announce(arrival).await,
        }
    };
    // Members that finished together with the run are still queued: every one of them is
    // announced, in order, before the result.
    while let Ok(arrival) = heard.try_recv() {
        announce(arrival).await;
    }
    let report = outcome.map_err(|e| {
        tracing::warn!(error = %e, "a consensus run could not be completed");
        ToolError::new(
            codes::UNAVAILABLE,
            "the consensus run could not be signed or stored; try again shortly",
        )
    })?;
    ctx.charge_tokens(
        report.usage.tokens_in,
        report.usage.tokens_out,
        report.usage.cost_micro_usd,
    );
    ctx.set_feature_units(1);
    Ok(report)
}

pub fn register(builder: &mut RegistryBuilder<'_>) {
    builder.tool("consensus_query", consensus_query);
    builder.tool("verify_certificate", verify_certificate);
    builder.resource_template(
        ResourceTemplate::new(RUN_URI_TEMPLATE, "consensus-run")
            .with_title("A consensus run")
            .with_description("One of your consensus runs: the question, every member's answer, the clusters, the scores and the certificate (yours only)")
            .with_mime_type("application/json"),
        None,
        |scope, uri, vars| async move {
            let id = vars.get("id").cloned().unwrap_or_default();
            let found = scope
                .app
                .consensus
                .runs()
                .get(&scope.principal.user_id, &id)
                .await
                .map_err(|e| McpError::internal_error(format!("consensus run unavailable: {e}"), None))?;
            let Some(run) = found else {
                return Err(McpError::resource_not_found(
                    format!("no consensus run at {uri}"),
                    Some(json!({ "uri": uri })),
                ));
            };
            let body = serde_json::to_string_pretty(&run)
                .map_err(|e| McpError::internal_error(e.to_string(), None))?;
            Ok(ReadResourceResult::new(vec![
                ResourceContents::text(body, uri).with_mime_type("application/json"),
            ]))
        },
    );
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
