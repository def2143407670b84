//! The chat tools (`chat`, `chat_sessions`, `chat_history`) and the resource template
//! `consilium://chats/{id}`.

use rmcp::ErrorData as McpError;
use rmcp::model::{ReadResourceResult, ResourceContents, ResourceTemplate};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{ChatMessage, ChatSession, Exchange};
use crate::llm::{
    Attempt, ClientModel, CompletionRequest, Message, ProviderKind, Route, RouteError, ServedBy,
};
use crate::mcp::tool::codes;
use crate::mcp::{RegistryBuilder, ToolContext, ToolError, ToolOutput};

/// The instruction every chat starts from.
const SYSTEM_PROMPT: &str = "You are the assistant of Consilium, a health-AI server used by clinicians, \
medical students and health-product teams. Answer accurately and concisely. Say when evidence is \
uncertain. You do not diagnose or prescribe for an individual: for personal medical decisions, \
point to a clinician, and for an emergency, to the local emergency number. For numbers that \
Consilium computes (clinical calculators, lab flags, nutrition, fitness), suggest its tools \
rather than estimating.";

/// Longest message accepted, in characters.
const MAX_MESSAGE_CHARS: usize = 32_000;
/// History sent with a message: at most this many earlier messages…
const HISTORY_MESSAGES: u32 = 40;
/// …and at most this many characters of them, newest kept.
const HISTORY_CHARS: usize = 60_000;

pub fn register(builder: &mut RegistryBuilder<'_>) {
    builder.tool("chat", chat);
    builder.tool("chat_sessions", sessions);
    builder.tool("chat_history", history);
    builder.resource_template(
        ResourceTemplate::new("consilium://chats/{id}", "chat")
            .with_title("A chat session")
            .with_description("One of your chat sessions with its messages (yours only)")
            .with_mime_type("application/json"),
        None,
        |scope, uri, vars| async move {
            let id = vars.get("id").cloned().unwrap_or_default();
            let chats = &scope.app.chats;
            let unavailable = |e: super::ChatError| {
                McpError::internal_error(format!("chat unavailable: {e}"), None)
            };
            let Some(session) = chats
                .session(&scope.principal.user_id, &id)
                .await
                .map_err(unavailable)?
            else {
                return Err(McpError::resource_not_found(
                    format!("no chat at {uri}"),
                    Some(json!({ "uri": uri })),
                ));
            };
            let messages = chats
                .messages(&scope.principal.user_id, &id, 1000)
                .await
                .map_err(unavailable)?;
            let body =
                serde_json::to_string_pretty(&json!({ "session": session, "messages": messages }))
                    .map_err(|e| McpError::internal_error(e.to_string(), None))?;
            Ok(ReadResourceResult::new(vec![
                ResourceContents::text(body, uri).with_mime_type("application/json"),
            ]))
        },
    );
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatArguments {
    /// What you want to say or ask.
    pub message: String,
    /// Continue this session (from an earlier reply or `chat_sessions`); left out, a new
    /// session starts.
    #[serde(default)]
    pub session_id: Option<String>,
    /// A title for a new session; by default the start of the first message.
    #[serde(default)]
    pub title: Option<String>,
    /// Only keys of this provider: `openai` (any OpenAI-compatible server), `anthropic`
    /// or `gemini`.
    #[serde(default)]
    pub provider: Option<String>,
    /// Only keys that serve this model id.
    #[serde(default)]
    pub model: Option<String>,
    /// Ask the connected client's own model (MCP sampling) first, before any provider key.
    #[serde(default)]
    pub use_client_model: bool,
    /// The longest reply wanted, in tokens (1–8192, default 1024).
    #[serde(default)]
    pub max_tokens: Option<u32>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ChatUsage {
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost_usd: f64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ChatReply {
    pub session_id: String,
    pub reply: String,
    /// Always `model-written`: the reply comes from a language model, unchecked.
    pub label: String,
    pub served_by: ServedBy,
    pub usage: ChatUsage,
    /// Every provider tried, in order, with its outcome.
    pub attempts: Vec<Attempt>,
}

impl ToolOutput for ChatReply {
    fn to_text(&self) -> String {
        format!(
            "{}\n\n— model-written by {} ({}, {}); session {}",
            self.reply,
            self.served_by.model,
            self.served_by.provider,
            self.served_by.source.as_str(),
            self.session_id
        )
    }
}

fn title_from(message: &str) -> String {
    let line = message.lines().next().unwrap_or_default().trim();
    let mut title: String = line.chars().take(60).collect();
    if line.chars().count() > 60 {
        title.push('…');
    }
    if title.is_empty() {
        "Chat".into()
    } else {
        title
    }
}

async fn chat(ctx: ToolContext, args: ChatArguments) -> Result<ChatReply, ToolError> {
    let message = args.message.trim();
    if message.is_empty() || message.chars().count() > MAX_MESSAGE_CHARS {
        return Err(ToolError::invalid_arguments(format!(
            "message must have 1 to {MAX_MESSAGE_CHARS} characters"
        ))
        .with_details(json!({ "field": "message" })));
    }
    let max_tokens = args.max_tokens.unwrap_or(1024);
    if !(1..=8192).contains(&max_tokens) {
        return Err(
            ToolError::invalid_arguments("max_tokens must be between 1 and 8192")
                .with_details(json!({ "field": "max_tokens" })),
        );
    }
    let provider = match args.provider.as_deref() {
        Some(name) => Some(name.parse::<ProviderKind>().map_err(|e| {
            ToolError::invalid_arguments(e).with_details(json!({ "field": "provider" }))
        })?),
        None => None,
    };
    if let Some(model) = &args.model
        && !crate::llm::providers::valid_model_id(model)
    {
        return Err(
            ToolError::invalid_arguments("model is not a valid model id")
                .with_details(json!({ "field": "model" })),
        );
    }
    let title = match &args.title {
        Some(title) if title.trim().is_empty() || title.chars().count() > 120 => {
            return Err(
                ToolError::invalid_arguments("title must have 1 to 120 characters")
                    .with_details(json!({ "field": "title" })),
            );
        }
        Some(title) => title.trim().to_string(),
        None => title_from(message),
    };
    let owner = ctx.principal.user_id.clone();
    let chats = &ctx.app.chats;
    let storage = |e: super::ChatError| {
        tracing::warn!(error = %e, "chat storage failed");
        ToolError::new(
            codes::UNAVAILABLE,
            "the chat store is unavailable; try again shortly",
        )
    };
    let mut messages = Vec::new();
    if let Some(id) = &args.session_id {
        if chats.session(&owner, id).await.map_err(storage)?.is_none() {
            return Err(ToolError::not_found("no chat session of yours has that id")
                .with_details(json!({ "field": "session_id" })));
        }
        let earlier = chats
            .messages(&owner, id, HISTORY_MESSAGES)
            .await
            .map_err(storage)?;
        let mut budget = HISTORY_CHARS;
        let mut kept = Vec::new();
        for m in earlier.into_iter().rev() {
            let size = m.content.chars().count();
            if size > budget {
                break;
            }
            budget -= size;
            kept.push(Message {
                role: m.role,
                content: m.content,
            });
        }
        kept.reverse();
        // Providers want the conversation to open with the user.
        while kept
            .first()
            .is_some_and(|m| m.role != crate::llm::Role::User)
        {
            kept.remove(0);
        }
        messages = kept;
    }
    messages.push(Message::user(message));
    let mut request = CompletionRequest::new(messages, max_tokens);
    request.system = Some(SYSTEM_PROMPT.into());
    let router = &ctx.app.llm;
    let route = Route {
        feature: "chat",
        user: &owner,
        provider,
        model: args.model.as_deref(),
        client_model: ClientModel::of(ctx.peer(), router.client_model_timeout()),
        prefer_client_model: args.use_client_model,
    };
    let routed = match router.complete(route, &request).await {
        Ok(routed) => routed,
        Err(error) => return Err(route_error(&ctx, error)),
    };
    ctx.charge_tokens(
        routed.usage.input,
        routed.usage.output,
        routed.cost_micro_usd,
    );
    let session_id = chats
        .append(
            &owner,
            args.session_id.as_deref(),
            &title,
            Exchange {
                question: message.to_string(),
                answer: routed.text.clone(),
                served_by: routed.served_by.clone(),
                usage: routed.usage,
            },
        )
        .await
        .map_err(storage)?;
    Ok(ChatReply {
        session_id,
        reply: routed.text,
        label: "model-written".into(),
        served_by: routed.served_by,
        usage: ChatUsage {
            tokens_in: routed.usage.input,
            tokens_out: routed.usage.output,
            cost_usd: routed.cost_micro_usd as f64 / 1_000_000.0,
        },
        attempts: routed.attempts,
    })
}

/// The router's refusal as the caller reads it; if the failure just put the server into
/// maintenance, that is what the caller is told.
pub fn route_error(ctx: &ToolContext, error: RouteError) -> ToolError {
    match error {
        RouteError::NoRoute { feature, detail } => ToolError::new(
            codes::NO_PROVIDER,
            format!("No model is available for {feature}: no provider key fits and the client offers no model of its own (MCP sampling). Nothing was generated."),
        )
        .with_details(json!({ "feature": feature, "hint": detail }))
        .with_action("add_provider_key"),
        RouteError::AllFailed { feature, attempts } => {
            if let Some(refusal) = ctx.app.maintenance.refusal(false, Some(&feature)) {
                return crate::mcp::gate::maintenance_error(&refusal)
                    .with_details(json!({ "mode": refusal.mode, "eta": refusal.eta, "attempts": attempts }));
            }
            ToolError::new(
                codes::PROVIDERS_FAILED,
                format!("Every provider tried for {feature} failed; nothing was generated. Try again shortly."),
            )
            .with_details(json!({ "feature": feature, "attempts": attempts }))
            .with_action("retry_later")
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionsArguments {
    /// At most this many sessions, most recent first (default 50, at most 500).
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SessionList {
    pub sessions: Vec<ChatSession>,
}

impl ToolOutput for SessionList {
    fn to_text(&self) -> String {
        if self.sessions.is_empty() {
            return "No chat sessions yet.".into();
        }
        self.sessions
            .iter()
            .map(|s| {
                format!(
                    "{} {} ({} messages, last {})",
                    s.id, s.title, s.messages, s.updated_at
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

async fn sessions(ctx: ToolContext, args: SessionsArguments) -> Result<SessionList, ToolError> {
    let limit = args.limit.unwrap_or(50).clamp(1, 500);
    let sessions = ctx
        .app
        .chats
        .list(&ctx.principal.user_id, limit)
        .await
        .map_err(|_| ToolError::new(codes::UNAVAILABLE, "the chat store is unavailable"))?;
    Ok(SessionList { sessions })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryArguments {
    pub session_id: String,
    /// The last this many messages (default 100, at most 1000).
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct History {
    pub session: ChatSession,
    pub messages: Vec<ChatMessage>,
}

impl ToolOutput for History {
    fn to_text(&self) -> String {
        let mut text = format!("{} — {}\n", self.session.title, self.session.id);
        for m in &self.messages {
            let who = match (&m.role, &m.model) {
                (crate::llm::Role::User, _) => "you".to_string(),
                (_, Some(model)) => format!("assistant ({model})"),
                _ => "assistant".to_string(),
            };
            text.push_str(&format!("\n[{}] {who}: {}", m.seq, m.content));
        }
        text
    }
}

async fn history(ctx: ToolContext, args: HistoryArguments) -> Result<History, ToolError> {
    let limit = args.limit.unwrap_or(100).clamp(1, 1000);
    let unavailable = |_| ToolError::new(codes::UNAVAILABLE, "the chat store is unavailable");
    let owner = &ctx.principal.user_id;
    let Some(session) = ctx
        .app
        .chats
        .session(owner, &args.session_id)
        .await
        .map_err(unavailable)?
    else {
        return Err(ToolError::not_found("no chat session of yours has that id")
            .with_details(json!({ "field": "session_id" })));
    };
    let messages = ctx
        .app
        .chats
        .messages(owner, &args.session_id, limit)
        .await
        .map_err(unavailable)?;
    Ok(History { session, messages })
}
