//! The panel: who sits on it and asking them all at once. Every member gets the same
//! neutral prompt, in parallel, under its own deadline; none sees another's answer. A
//! member pinned to a provider and model is served by that model only (never a stand-in
//! from another provider or the client), so the panel is what it says it is.
//!
//! This file must not compare answers; that is `agreement` and `judge`.

use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::UnboundedSender;

use crate::identity::UserId;
use crate::llm::{
    Attempt, ClientModel, CompletionRequest, Message, ProviderKind, Route, RouteError, Router,
    ServedBy, Source, TokenUsage,
};

/// The feature tag panel members are served under.
pub const PANEL_FEATURE: &str = "consensus";
/// The provider name of the seat held by the connected client's own model.
pub const CLIENT_SEAT: &str = "client";

/// The instruction every member answers under: the same for all, naming none of them.
const MEMBER_PROMPT: &str = "You are one of several experts answering the same question \
independently; you will not see the others' answers. Answer accurately and concisely: state \
your answer in the first sentence, then justify it in at most four sentences. If the \
evidence is uncertain or the question has no single answer, say so plainly. Do not say who \
or what you are.";

/// A place on the panel: a model on a provider, or the client's own model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Seat {
    /// `openai`, `anthropic`, `gemini`, or `client` for this client's own model (MCP
    /// sampling).
    pub provider: String,
    /// The model id; ignored for `client`.
    #[serde(default)]
    pub model: String,
}

impl Seat {
    pub fn label(&self) -> String {
        if self.provider == CLIENT_SEAT {
            CLIENT_SEAT.to_string()
        } else {
            format!("{}/{}", self.provider, self.model)
        }
    }
}

/// Picks up to `size` seats from what the keys offer, spreading over providers: each
/// provider's best model in turn, then the second best, and so on.
pub fn spread(offered: &[(ProviderKind, String)], size: usize) -> Vec<Seat> {
    let mut providers: Vec<ProviderKind> = Vec::new();
    for (provider, _) in offered {
        if !providers.contains(provider) {
            providers.push(*provider);
        }
    }
    let mut per_provider: Vec<Vec<&String>> = providers
        .iter()
        .map(|p| {
            offered
                .iter()
                .filter(|(q, _)| q == p)
                .map(|(_, m)| m)
                .collect()
        })
        .collect();
    let mut seats = Vec::new();
    let mut round = 0;
    while seats.len() < size && per_provider.iter().any(|models| round < models.len()) {
        for (provider, models) in providers.iter().zip(per_provider.iter_mut()) {
            if seats.len() == size {
                break;
            }
            if let Some(model) = models.get(round) {
                seats.push(Seat {
                    provider: provider.to_string(),
                    model: (*model).clone(),
                });
            }
        }
        round += 1;
    }
    seats
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemberOutcome {
    Answered,
    /// Every key tried for it failed.
    Failed,
    /// No answer within the member deadline.
    TimedOut,
    /// No key serves this provider and model (or the client offers no model).
    NoRoute,
}

/// What one member did.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MemberReport {
    /// The member's place on the panel, from 0.
    pub member: usize,
    pub provider: String,
    pub model: String,
    pub outcome: MemberOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub served_by: Option<ServedBy>,
    pub latency_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Every key tried for this member, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<Attempt>,
    #[serde(skip)]
    pub usage: TokenUsage,
    #[serde(skip)]
    pub cost_micro_usd: u64,
}

/// Sent as each member finishes, for progress notifications.
#[derive(Debug, Clone)]
pub struct Arrival {
    pub member: usize,
    pub seat: String,
    pub outcome: MemberOutcome,
    pub finished: usize,
    pub total: usize,
}

/// What every member is asked.
pub fn member_request(question: &str, context: Option<&str>, max_tokens: u32) -> CompletionRequest {
    let mut text = format!("Question: {question}");
    if let Some(context) = context {
        text.push_str(&format!("\n\nContext given with the question:\n{context}"));
    }
    let mut request = CompletionRequest::new(vec![Message::user(text)], max_tokens);
    request.system = Some(MEMBER_PROMPT.into());
    // Each member's own most likely answer, not a sample of its spread.
    request.temperature = Some(0.0);
    request
}

/// Asks every seat at once and returns their reports in seat order. `arrivals` hears of
/// each as it finishes. Dropping the future drops every request still out.
pub async fn ask_all(
    router: &Router,
    user: &UserId,
    seats: &[Seat],
    client_model: Option<&ClientModel>,
    request: &CompletionRequest,
    deadline: Duration,
    arrivals: Option<&UnboundedSender<Arrival>>,
) -> Vec<MemberReport> {
    let total = seats.len();
    let mut pending = FuturesUnordered::new();
    for (member, seat) in seats.iter().enumerate() {
        pending.push(ask_member(
            router,
            user,
            member,
            seat,
            client_model,
            request,
            deadline,
        ));
    }
    let mut reports = Vec::with_capacity(total);
    while let Some(report) = pending.next().await {
        if let Some(arrivals) = arrivals {
            // The receiver may be gone (the caller stopped listening); the panel goes on.
            let _ = arrivals.send(Arrival {
                member: report.member,
                seat: seats[report.member].label(),
                outcome: report.outcome,
                finished: reports.len() + 1,
                total,
            });
        }
        reports.push(report);
    }
    reports.sort_by_key(|r| r.member);
    reports
}

/// One member under its deadline, as a report.
async fn ask_member(
    router: &Router,
    user: &UserId,
    member: usize,
    seat: &Seat,
    client_model: Option<&ClientModel>,
    request: &CompletionRequest,
    deadline: Duration,
) -> MemberReport {
    let started = Instant::now();
    let outcome =
        tokio::time::timeout(deadline, ask_one(router, user, seat, client_model, request)).await;
    let mut report = MemberReport {
        member,
        provider: seat.provider.clone(),
        model: seat.model.clone(),
        outcome: MemberOutcome::TimedOut,
        answer: None,
        served_by: None,
        latency_ms: started.elapsed().as_millis() as u64,
        error: None,
        attempts: Vec::new(),
        usage: TokenUsage::default(),
        cost_micro_usd: 0,
    };
    match outcome {
        Err(_) => {
            report.error = Some(format!(
                "no answer within the member deadline of {} s",
                deadline.as_secs_f64()
            ));
        }
        Ok(Ok(answer)) if answer.text.trim().is_empty() => {
            report.outcome = MemberOutcome::Failed;
            report.error = Some("the model returned an empty answer".into());
            report.attempts = answer.attempts;
        }
        Ok(Ok(answer)) => {
            report.outcome = MemberOutcome::Answered;
            report.answer = Some(answer.text);
            report.served_by = Some(answer.served_by);
            report.attempts = answer.attempts;
            report.usage = answer.usage;
            report.cost_micro_usd = answer.cost_micro_usd;
        }
        Ok(Err(RouteError::NoRoute { detail, .. })) => {
            report.outcome = MemberOutcome::NoRoute;
            report.error = Some(detail);
        }
        Ok(Err(RouteError::AllFailed { attempts, .. })) => {
            report.outcome = MemberOutcome::Failed;
            report.error = Some(
                attempts
                    .last()
                    .map(|a| format!("the provider failed ({})", a.outcome))
                    .unwrap_or_else(|| "the provider failed".into()),
            );
            report.attempts = attempts;
        }
    }
    report
}

/// One member's answer: its pinned provider and model only.
async fn ask_one(
    router: &Router,
    user: &UserId,
    seat: &Seat,
    client_model: Option<&ClientModel>,
    request: &CompletionRequest,
) -> Result<crate::llm::Routed, RouteError> {
    if seat.provider == CLIENT_SEAT {
        return ask_client(client_model, request).await;
    }
    let provider = seat
        .provider
        .parse::<ProviderKind>()
        .map_err(|detail| RouteError::NoRoute {
            feature: PANEL_FEATURE.into(),
            detail,
        })?;
    let route = Route {
        feature: PANEL_FEATURE,
        user,
        provider: Some(provider),
        model: Some(&seat.model),
        client_model: None,
        prefer_client_model: false,
    };
    router.complete(route, request).await
}

/// The client's own model as a member, with no fallback to a key.
pub async fn ask_client(
    client_model: Option<&ClientModel>,
    request: &CompletionRequest,
) -> Result<crate::llm::Routed, RouteError> {
    let Some(client) = client_model else {
        return Err(RouteError::NoRoute {
            feature: PANEL_FEATURE.into(),
            detail:
                "this client did not declare MCP sampling, so its model cannot sit on the panel"
                    .into(),
        });
    };
    let started = Instant::now();
    match client.complete(request, None).await {
        Ok(timed) => {
            let served_by = ServedBy {
                source: Source::ClientModel,
                provider: CLIENT_SEAT.into(),
                model: timed.completion.model.clone(),
                key_id: None,
            };
            let attempt = Attempt {
                source: Source::ClientModel,
                provider: CLIENT_SEAT.into(),
                model: timed.completion.model.clone(),
                key_id: None,
                outcome: "ok".into(),
                status: None,
                latency_ms: timed.latency.as_millis() as u64,
            };
            Ok(crate::llm::Routed {
                text: timed.completion.text,
                served_by,
                usage: timed.completion.usage,
                cost_micro_usd: 0,
                attempts: vec![attempt],
            })
        }
        Err(failure) => Err(RouteError::AllFailed {
            feature: PANEL_FEATURE.into(),
            attempts: vec![Attempt {
                source: Source::ClientModel,
                provider: CLIENT_SEAT.into(),
                model: String::new(),
                key_id: None,
                outcome: failure.kind.as_str().into(),
                status: None,
                latency_ms: started.elapsed().as_millis() as u64,
            }],
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_default_panel_spreads_over_providers_before_taking_seconds() {
        let offered = vec![
            (ProviderKind::Openai, "gpt-a".to_string()),
            (ProviderKind::Openai, "gpt-b".to_string()),
            (ProviderKind::Anthropic, "claude-a".to_string()),
            (ProviderKind::Gemini, "gemini-a".to_string()),
        ];
        let labels: Vec<String> = spread(&offered, 3).iter().map(Seat::label).collect();
        assert_eq!(
            labels,
            ["openai/gpt-a", "anthropic/claude-a", "gemini/gemini-a"]
        );
        let labels: Vec<String> = spread(&offered, 4).iter().map(Seat::label).collect();
        assert_eq!(labels[3], "openai/gpt-b");
        assert!(spread(&[], 3).is_empty());
        // One provider with one model: one seat, however many are wanted.
        assert_eq!(spread(&offered[..1], 3).len(), 1);
    }
}
