//! What a capability sees when its tool runs ([`ToolContext`]), how it fails ([`ToolError`])
//! and how its result reads ([`ToolOutput`]).
//!
//! A tool error is a result the calling model can read and act on (`isError` with a
//! machine-readable `code`), not a protocol failure: protocol errors are for requests the
//! server cannot even route.

// MCP logging is deprecated from protocol 2026-07-28 (SEP-2577) but current clients use it.
#![allow(deprecated)]

use std::sync::Arc;

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
use crate::mcp::session::Session;
use crate::observability::mcp_log::rank;

/// Machine-readable error codes shared by every tool.
pub mod codes {
    pub const INVALID_ARGUMENTS: &str = "INVALID_ARGUMENTS";
    pub const NOT_FOUND: &str = "NOT_FOUND";
    pub const CANCELLED: &str = "CANCELLED";
    pub const UNAVAILABLE: &str = "UNAVAILABLE";
    pub const INTERNAL: &str = "INTERNAL";
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ToolError {
    pub code: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

impl ToolError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: None,
        }
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

    pub fn into_result(self) -> CallToolResult {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some(details) = self.details {
            error["details"] = details;
        }
        let text = format!(
            "Error {}: {}",
            self.code,
            error["message"].as_str().unwrap_or("")
        );
        let mut result = CallToolResult::error(vec![ContentBlock::text(text)]);
        result.structured_content = Some(json!({ "error": error }));
        result
    }
}

/// A structured tool result. `to_text` is the readable block that clients without
/// structured-content support show; it must say the same as the structure.
pub trait ToolOutput: Serialize + JsonSchema {
    fn to_text(&self) -> String;
}

/// The request a tool is serving: the app's services, the client connection, cancellation.
#[derive(Clone)]
pub struct ToolContext {
    pub app: Arc<App>,
    pub session: Arc<Session>,
    request: RequestContext<RoleServer>,
}

impl ToolContext {
    pub fn new(app: Arc<App>, session: Arc<Session>, request: RequestContext<RoleServer>) -> Self {
        Self {
            app,
            session,
            request,
        }
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
