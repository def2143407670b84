//! What a capability sees when its tool runs ([`ToolContext`]), how it fails ([`ToolError`])
//! and how its result reads ([`ToolOutput`]).
//!
//! A tool error is a result the calling model can read and act on (`isError` with a
//! machine-readable `code`), not a protocol failure: protocol errors are for requests the
//! server cannot even route.

// MCP logging is deprecated from protocol 2026-07-28 (SEP-2577) but current clients use it.
#![allow(deprecated)]

use std::sync::{Arc, Mutex};

use rmcp::model::{
    CallToolResult, ContentBlock, LoggingLevel, LoggingMessageNotificationParam,
    ProgressNotificationParam,
};
use rmcp::service::RequestContext;
use rmcp::{Peer, RoleServer};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::identity::Principal;
use crate::mcp::session::Session;
use crate::observability::mcp_log::rank;

/// Machine-readable error codes shared by every tool.
pub mod codes {
    pub const INVALID_ARGUMENTS: &str = "INVALID_ARGUMENTS";
    pub const NOT_FOUND: &str = "NOT_FOUND";
    pub const CANCELLED: &str = "CANCELLED";
    pub const UNAVAILABLE: &str = "UNAVAILABLE";
    pub const INTERNAL: &str = "INTERNAL";
    /// The principal lacks the scope or role the tool needs.
    pub const FORBIDDEN: &str = "FORBIDDEN";
    /// The server is in maintenance; `details` carry the mode and the expected end.
    pub const MAINTENANCE: &str = "MAINTENANCE";
    /// No provider key fits and the client offers no model of its own.
    pub const NO_PROVIDER: &str = "NO_PROVIDER";
    /// Every provider tried failed; `details.attempts` says how.
    pub const PROVIDERS_FAILED: &str = "PROVIDERS_FAILED";
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ToolError {
    pub code: &'static str,
    pub message: String,
    pub details: Option<Value>,
    /// What the caller can do about it (`upgrade`, `retry`, `contact_admin`), when anything.
    pub action: Option<&'static str>,
}

impl ToolError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: None,
            action: None,
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(codes::FORBIDDEN, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(codes::NOT_FOUND, message)
    }

    pub fn invalid_arguments(message: impl Into<String>) -> Self {
        Self::new(codes::INVALID_ARGUMENTS, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(codes::INTERNAL, message)
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn with_action(mut self, action: &'static str) -> Self {
        self.action = Some(action);
        self
    }

    /// The error object, as `structuredContent` carries it: `{code, message, details?, action?}`.
    /// Every refusal (bad arguments, a missing scope, an exhausted plan) has this one shape.
    pub fn to_json(&self) -> Value {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some(details) = &self.details {
            error["details"] = details.clone();
        }
        if let Some(action) = self.action {
            error["action"] = json!(action);
        }
        error
    }

    pub fn into_result(self) -> CallToolResult {
        let text = format!("Error {}: {}", self.code, self.message);
        let mut result = CallToolResult::error(vec![ContentBlock::text(text)]);
        result.structured_content = Some(self.to_json());
        result
    }
}

/// A structured tool result. `to_text` is the readable block that clients without
/// structured-content support show; it must say the same as the structure.
pub trait ToolOutput: Serialize + JsonSchema {
    fn to_text(&self) -> String;
}

/// The network origin of a request, for the audit log.
#[derive(Debug, Clone, Default)]
pub struct ClientAddress {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// What one call consumed beyond the call itself, as the tool reports it: model tokens,
/// their cost, and units of its metered feature (cards or questions made).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReportedUsage {
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost_micro_usd: u64,
    pub feature_units: Option<u64>,
}

/// Collects a call's [`ReportedUsage`]; shared by every clone of its [`ToolContext`].
#[derive(Debug, Clone, Default)]
pub struct UsageMeter(Arc<Mutex<ReportedUsage>>);

impl UsageMeter {
    fn with<R>(&self, f: impl FnOnce(&mut ReportedUsage) -> R) -> R {
        f(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn take(&self) -> ReportedUsage {
        self.with(std::mem::take)
    }
}

/// The request a tool is serving: who asks, the app's services, the client connection,
/// cancellation.
#[derive(Clone)]
pub struct ToolContext {
    pub app: Arc<App>,
    pub session: Arc<Session>,
    /// Who the call acts as. Every read or write of user data is scoped by it.
    pub principal: Principal,
    request: RequestContext<RoleServer>,
    usage: UsageMeter,
}

impl ToolContext {
    pub fn new(
        app: Arc<App>,
        session: Arc<Session>,
        principal: Principal,
        request: RequestContext<RoleServer>,
    ) -> Self {
        Self {
            app,
            session,
            principal,
            request,
            usage: UsageMeter::default(),
        }
    }

    /// Where the request came from, when it came over HTTP.
    pub fn client(&self) -> ClientAddress {
        let Some(parts) = self.request.extensions.get::<http::request::Parts>() else {
            return ClientAddress::default();
        };
        ClientAddress {
            ip: parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|info| info.0.ip().to_string()),
            user_agent: parts
                .headers
                .get(http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        }
    }

    /// Charges model tokens (and their cost) to this call; summed over the call.
    pub fn charge_tokens(&self, tokens_in: u64, tokens_out: u64, cost_micro_usd: u64) {
        self.usage.with(|u| {
            u.tokens_in = u.tokens_in.saturating_add(tokens_in);
            u.tokens_out = u.tokens_out.saturating_add(tokens_out);
            u.cost_micro_usd = u.cost_micro_usd.saturating_add(cost_micro_usd);
        });
    }

    /// How many units of the tool's metered feature the call produced (e.g. 5 MCQs).
    pub fn set_feature_units(&self, units: u64) {
        self.usage.with(|u| u.feature_units = Some(units));
    }

    pub(crate) fn usage_meter(&self) -> UsageMeter {
        self.usage.clone()
    }

    pub fn peer(&self) -> &Peer<RoleServer> {
        &self.request.peer
    }

    /// Cancelled when the client sends `notifications/cancelled` for this request.
    pub fn cancellation(&self) -> &CancellationToken {
        &self.request.ct
    }

    /// Sends `notifications/progress` when the client asked for progress; otherwise does nothing.
    pub async fn progress(&self, progress: f64, total: Option<f64>, message: Option<String>) {
        let Some(token) = self.request.meta.get_progress_token() else {
            return;
        };
        let mut param = ProgressNotificationParam::new(token, progress);
        param.total = total;
        param.message = message;
        if let Err(e) = self.request.peer.notify_progress(param).await {
            tracing::debug!(error = %e, "progress notification not delivered");
        }
    }

    /// The level below which this request's client does not want log messages.
    pub fn min_log_level(&self) -> LoggingLevel {
        self.request
            .meta
            .log_level()
            .unwrap_or_else(|| self.session.log_level())
    }

    /// Sends one log message to this request's client, if its level passes the client's filter.
    pub async fn log(&self, level: LoggingLevel, logger: &str, data: Value) {
        if rank(level) < rank(self.min_log_level()) {
            return;
        }
        let mut param = LoggingMessageNotificationParam::new(level, data);
        param.logger = Some(logger.to_string());
        if let Err(e) = self.request.peer.notify_logging_message(param).await {
            tracing::debug!(error = %e, "log notification not delivered");
        }
    }
}
