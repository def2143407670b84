//! A real MCP client connected to a real server over an in-memory pipe, so that
//! `consilium tools` and `consilium call` go through exactly the handler remote clients use.

use std::sync::Arc;

use rmcp::service::RunningService;
use rmcp::{RoleClient, ServiceExt};

use crate::app::App;
use crate::identity::Principal;
use crate::mcp::{ConsiliumServer, TransportKind};

/// Large enough for any single message the server sends.
const PIPE_BYTES: usize = 4 * 1024 * 1024;

pub async fn connect(
    app: Arc<App>,
    principal: Principal,
) -> anyhow::Result<RunningService<RoleClient, ()>> {
    let (server_end, client_end) = tokio::io::duplex(PIPE_BYTES);
    let server = ConsiliumServer::new(app, TransportKind::InProcess, Some(principal));
    tokio::spawn(async move {
        match server.serve(server_end).await {
            Ok(running) => {
                let _ = running.waiting().await;
            }
            Err(e) => tracing::warn!(error = %e, "in-process server did not start"),
        }
    });
    Ok(().serve(client_end).await?)
}
