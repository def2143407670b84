//! The connected MCP client's own model, reached through `sampling/createMessage`: the
//! route of last resort when no key fits, or the first one when the caller asks for it.
//!
//! The client (and often its user) decides whether to answer and with which model; the
//! server only states preferences. Nothing here is billed to a provider key.

// Sampling is deprecated from protocol 2026-07-28 (SEP-2577), but current clients use it.
#![allow(deprecated)]

use std::time::{Duration, Instant};

use rmcp::model::{
    CreateMessageRequestParams, ModelPreferences, Role as McpRole, SamplingMessage,
    SamplingMessageContentBlock,
};
use rmcp::{Peer, RoleServer};
use serde_json::json;

use super::failure::{FailureKind, ProviderFailure};
use super::request::{Completion, CompletionRequest, Role, TimedCompletion, TokenUsage};

/// A client that declared the sampling capability.
#[derive(Clone)]
pub struct ClientModel {
    peer: Peer<RoleServer>,
    timeout: Duration,
}

impl ClientModel {
    /// `None` unless the client declared sampling in its handshake.
    pub fn of(peer: &Peer<RoleServer>, timeout: Duration) -> Option<ClientModel> {
        let declared = peer
            .peer_info()
            .is_some_and(|info| info.capabilities.sampling.is_some());
        declared.then(|| ClientModel {
            peer: peer.clone(),
            timeout,
        })
    }

    /// Asks the client's model; `model_hint` is passed as a preference, not a demand.
    pub async fn complete(
        &self,
        request: &CompletionRequest,
        model_hint: Option<&str>,
    ) -> Result<TimedCompletion, ProviderFailure> {
        let started = Instant::now();
        let messages = request
            .messages
            .iter()
            .map(|m| {
                let role = match m.role {
                    Role::User => McpRole::User,
                    Role::Assistant => McpRole::Assistant,
                };
                SamplingMessage::new(role, SamplingMessageContentBlock::text(m.content.clone()))
            })
            .collect();
        let mut params = CreateMessageRequestParams::new(messages, request.max_tokens);
        let mut system = request.system.clone();
        if let Some(schema) = &request.response_schema {
            let instruction = format!(
                "Reply with one JSON value only, no prose and no code fences, that validates against this JSON Schema:\n{}",
                schema.schema
            );
            system = Some(match system {
                Some(s) => format!("{s}\n\n{instruction}"),
                None => instruction,
            });
        }
        params.system_prompt = system;
        params.temperature = request.temperature;
        let hints = model_hint
            .map(|name| vec![json!({ "name": name })])
            .unwrap_or_default();
        params.model_preferences = serde_json::from_value::<ModelPreferences>(json!({
            "hints": hints,
            "intelligencePriority": 0.8,
        }))
        .ok();
        let reply = tokio::time::timeout(self.timeout, self.peer.create_message(params))
            .await
            .map_err(|_| {
                ProviderFailure::new(
                    FailureKind::Timeout,
                    "the client's model did not answer in time",
                )
            })?
            .map_err(|_| {
                ProviderFailure::new(
                    FailureKind::Rejected,
                    "the client declined or failed the sampling request",
                )
            })?;
        let text = match &reply.message.content {
            rmcp::model::SamplingContent::Single(block) => {
                block.as_text().map(|t| t.text.clone()).unwrap_or_default()
            }
            rmcp::model::SamplingContent::Multiple(blocks) => blocks
                .iter()
                .filter_map(|b| b.as_text().map(|t| t.text.clone()))
                .collect::<Vec<_>>()
                .concat(),
        };
        if text.is_empty() {
            return Err(ProviderFailure::new(
                FailureKind::Malformed,
                "the client's model returned no text",
            ));
        }
        Ok(TimedCompletion {
            completion: Completion {
                text,
                model: reply.model,
                usage: TokenUsage::default(),
            },
            latency: started.elapsed(),
        })
    }
}
