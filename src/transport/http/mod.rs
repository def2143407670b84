//! The HTTP transports: streamable HTTP at `/mcp` (stateful sessions, rmcp's service), the
//! legacy HTTP+SSE transport of protocol 2024-11-05 at `/sse` and `/messages`, OTLP
//! trace export at `/v1/traces`, and the `/healthz` and `/readyz` probes, all behind the
//! same guard, body limit and timeout.

mod door;
mod guard;
mod health;
mod json_rpc_errors;
mod legacy_sse;
mod otlp;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::app::App;
use crate::mcp::{ConsiliumServer, TransportKind};
use crate::transport::shutdown::Shutdown;

pub use legacy_sse::LegacySessions;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error(
        "refusing to serve {0} without authentication: --insecure-no-auth is for loopback addresses only, since anyone who could reach {0} would act as the local owner"
    )]
    NonLoopbackWithoutAuth(SocketAddr),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the HTTP server failed: {0}")]
    Serve(std::io::Error),
}

/// What every HTTP handler shares.
pub struct HttpState {
    pub app: Arc<App>,
    pub streamable_sessions: Arc<LocalSessionManager>,
    pub legacy_sessions: LegacySessions,
    pub sessions: CancellationToken,
}

impl HttpState {
    pub async fn live_sessions(&self) -> usize {
        self.streamable_sessions.sessions.read().await.len() + self.legacy_sessions.len()
    }
}

/// The whole HTTP surface as one router, for `serve` and for in-process tests.
/// `sessions` ends every session and stream when cancelled.
pub fn router(app: Arc<App>, sessions: CancellationToken) -> Router {
    let http = app.config.http.clone();
    let mut manager = LocalSessionManager::default();
    manager.session_config.keep_alive = Some(Duration::from_secs(http.session_idle_timeout_secs));
    let streamable_sessions = Arc::new(manager);
    let state = Arc::new(HttpState {
        app: app.clone(),
        streamable_sessions: streamable_sessions.clone(),
        legacy_sessions: LegacySessions::default(),
        sessions: sessions.clone(),
    });
    // Our guard checks Host and Origin on every route; rmcp is given the same lists so the
    // two layers can never disagree about the streamable endpoint.
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(
            http.allowed_hosts
                .iter()
                .map(|h| h.trim_matches(['[', ']']).to_string()),
        )
        .disable_allowed_origins()
        .with_max_request_body_bytes(http.max_body_bytes)
        .with_cancellation_token(sessions.child_token());
    let factory_app = app.clone();
    let streamable = StreamableHttpService::new(
        move || {
            Ok(ConsiliumServer::new(
                factory_app.clone(),
                TransportKind::StreamableHttp,
                None,
            ))
        },
        streamable_sessions,
        config,
    );
    // Only the MCP and OTLP routes need credentials; the probes and the sign-in routes must not.
    let mcp_routes = Router::new()
        .nest_service("/mcp", streamable)
        .route("/sse", get(legacy_sse::open_stream))
        .route("/messages", post(legacy_sse::post_message))
        .route("/v1/traces", post(otlp::export_traces))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            door::authenticate,
        ));
    Router::new()
        .merge(mcp_routes)
        .merge(crate::auth::http::router(app.auth.clone()))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            json_rpc_errors::normalise,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::cap_sessions,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::check_host_and_origin,
        ))
        .layer(RequestBodyLimitLayer::new(http.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(http.request_timeout_secs),
        ))
        .with_state(state)
}

/// Serves until a shutdown is requested, then stops accepting and returns once the
/// sessions have ended and the connections closed.
pub async fn serve(app: Arc<App>, addr: SocketAddr, shutdown: Shutdown) -> Result<(), HttpError> {
    if app.config.http.insecure_no_auth {
        if !addr.ip().is_loopback() {
            return Err(HttpError::NonLoopbackWithoutAuth(addr));
        }
        tracing::warn!(
            %addr,
            "serving without authentication: every local process that reaches {addr} acts as the local owner"
        );
    }
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| HttpError::Bind { addr, source })?;
    let local = listener.local_addr().map_err(HttpError::Serve)?;
    app.transport_up(format!("streamable-http http://{local}/mcp"));
    app.transport_up(format!("legacy-sse http://{local}/sse"));
    // Tests and scripts read this line to learn the port when they asked for port 0.
    eprintln!("consilium listening on http://{local}/mcp (legacy SSE at /sse)");
    tracing::info!(%local, "HTTP transports up");
    let router = router(app, shutdown.sessions.clone());
    // Responses are small and written in pieces (SSE framing); without TCP_NODELAY, Nagle's
    // algorithm and delayed ACKs add ~40 ms to every call on a kept-alive connection.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown.requested.cancelled_owned())
    .await
    .map_err(HttpError::Serve)
}
