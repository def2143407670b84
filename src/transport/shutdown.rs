//! Shutdown in two phases, driven by SIGINT or SIGTERM: first stop taking new connections
//! (`requested`), then, once the running tool calls have finished or the drain deadline has
//! passed, end the sessions (`sessions`). The store is flushed by the caller afterwards.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::app::App;

/// A finished call's response is handed to its session's writer after the call returns;
/// ending the session at once could drop it. This is ample for a response to be written.
const FLUSH_GRACE: Duration = Duration::from_millis(250);

#[derive(Clone)]
pub struct Shutdown {
    /// Cancelled at the signal: listeners stop accepting.
    pub requested: CancellationToken,
    /// Cancelled when the calls have drained: sessions and their streams end.
    pub sessions: CancellationToken,
}

impl Shutdown {
    /// Watches for SIGINT and SIGTERM.
    pub fn on_signal(app: Arc<App>, drain_deadline: Duration) -> Self {
        let shutdown = Self {
            requested: CancellationToken::new(),
            sessions: CancellationToken::new(),
        };
        let requested = shutdown.requested.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutdown requested; letting running calls finish");
            requested.cancel();
        });
        let phases = shutdown.clone();
        tokio::spawn(async move {
            phases.requested.cancelled().await;
            if !app.in_flight.drained(drain_deadline).await {
                tracing::warn!(
                    running = app.in_flight.running(),
                    "calls still running after {drain_deadline:?}; ending them"
                );
            }
            tokio::time::sleep(FLUSH_GRACE).await;
            phases.sessions.cancel();
        });
        shutdown
    }
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C will stop the server");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
