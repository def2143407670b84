//! The stdio transport: one session over the process's stdin and stdout. Stdout carries
//! only protocol messages; every log goes to stderr.

use std::sync::Arc;

use rmcp::ServiceExt;
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::identity::Principal;
use crate::mcp::{ConsiliumServer, TransportKind};

#[derive(Debug, thiserror::Error)]
pub enum StdioError {
    #[error("the client did not complete the MCP handshake: {0}")]
    Handshake(String),
    #[error("the session ended abnormally: {0}")]
    Session(String),
}

/// Serves until the client closes stdin or `sessions` is cancelled.
/// Every request acts as `principal`: whoever can start the binary on this machine already
/// holds its database, so stdio is trusted as the local owner (or the user `--user` names).
pub async fn serve(
    app: Arc<App>,
    principal: Principal,
    sessions: CancellationToken,
) -> Result<(), StdioError> {
    app.transport_up("stdio");
    let server = ConsiliumServer::new(app, TransportKind::Stdio, Some(principal));
    let running = server
        .serve_with_ct(rmcp::transport::stdio(), sessions.child_token())
        .await
        .map_err(|e| StdioError::Handshake(e.to_string()))?;
    let reason = running
        .waiting()
        .await
        .map_err(|e| StdioError::Session(e.to_string()))?;
    tracing::debug!(?reason, "stdio session ended");
    Ok(())
}
