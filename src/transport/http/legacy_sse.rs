//! The HTTP+SSE transport of MCP 2024-11-05, for older clients. `GET /sse` opens a session
//! and an event stream whose first event, `endpoint`, names `/messages?sessionId=…`; the
//! client POSTs its JSON-RPC messages there and reads every reply from the stream.
//!
//! rmcp no longer ships this transport, so each session is an rmcp server running over a
//! pair of channels. The stream owns the session: when the client disconnects, the idle
//! timeout passes or the server shuts down, the session ends and its id stops working.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Extension, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};
use rmcp::ServiceExt;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::{CancellationToken, PollSender};

use super::HttpState;
use super::guard::refusal;
use crate::identity::{Principal, UserId};
use crate::mcp::{ConsiliumServer, TransportKind};

/// Messages a client may have queued before the session reads them.
const INBOUND_QUEUE: usize = 64;
/// How long a POST waits for room in a full queue before it is told to retry.
const INBOUND_WAIT: Duration = Duration::from_secs(5);

struct LegacySession {
    inbound: mpsc::Sender<ClientJsonRpcMessage>,
    activity: Arc<Activity>,
    /// The user who opened the stream; only their credentials may post to it.
    owner: UserId,
}

/// When the client last posted, as milliseconds since the session opened.
struct Activity {
    opened: Instant,
    last_millis: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            last_millis: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let now = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_millis.store(now, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_millis.load(Ordering::Relaxed));
        self.opened.elapsed().saturating_sub(last)
    }
}

/// The live legacy sessions, by id.
#[derive(Default)]
pub struct LegacySessions {
    sessions: Mutex<HashMap<String, LegacySession>>,
}

impl LegacySessions {
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, LegacySession>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Removes the session from the table when its stream is dropped, however that happens.
struct SessionLease {
    state: Arc<HttpState>,
    id: String,
    ended: CancellationToken,
}

impl Drop for SessionLease {
    fn drop(&mut self) {
        self.state.legacy_sessions.lock().remove(&self.id);
        self.ended.cancel();
        tracing::debug!(session = %self.id, "legacy SSE session closed");
    }
}

pub async fn open_stream(
    State(state): State<Arc<HttpState>>,
    Extension(principal): Extension<Principal>,
) -> Response {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (inbound_tx, inbound_rx) = mpsc::channel::<ClientJsonRpcMessage>(INBOUND_QUEUE);
    let (outbound_tx, outbound_rx) = mpsc::channel::<ServerJsonRpcMessage>(INBOUND_QUEUE);
    let activity = Arc::new(Activity::new());
    state.legacy_sessions.lock().insert(
        id.clone(),
        LegacySession {
            inbound: inbound_tx,
            activity: activity.clone(),
            owner: principal.user_id.clone(),
        },
    );
    let ended = state.sessions.child_token();
    let server = ConsiliumServer::new(state.app.clone(), TransportKind::LegacySse, Some(principal));
    let session_ct = ended.clone();
    tokio::spawn(async move {
        let transport = (
            PollSender::new(outbound_tx),
            ReceiverStream::new(inbound_rx),
        );
        match server.serve_with_ct(transport, session_ct).await {
            Ok(running) => {
                let _ = running.waiting().await;
            }
            Err(e) => tracing::debug!(error = %e, "legacy SSE session ended before initialisation"),
        }
    });
    watch_idleness(
        Duration::from_secs(state.app.config.http.session_idle_timeout_secs),
        activity,
        ended.clone(),
    );
    let lease = SessionLease {
        state: state.clone(),
        id: id.clone(),
        ended: ended.clone(),
    };
    Sse::new(event_stream(id, outbound_rx, lease))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

fn event_stream(
    id: String,
    outbound: mpsc::Receiver<ServerJsonRpcMessage>,
    lease: SessionLease,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let ended = lease.ended.clone();
    let endpoint = Event::default()
        .event("endpoint")
        .data(format!("/messages?sessionId={id}"));
    let messages = ReceiverStream::new(outbound).filter_map(move |message| {
        // The lease lives as long as the stream does.
        let _lease = &lease;
        let event = match serde_json::to_string(&message) {
            Ok(json) => Some(Ok(Event::default().event("message").data(json))),
            Err(e) => {
                tracing::warn!(error = %e, "a server message could not be serialised");
                None
            }
        };
        std::future::ready(event)
    });
    futures::stream::once(std::future::ready(Ok(endpoint)))
        .chain(messages)
        .take_until(ended.cancelled_owned())
}

fn watch_idleness(limit: Duration, activity: Arc<Activity>, ended: CancellationToken) {
    tokio::spawn(async move {
        let tick = (limit / 4).max(Duration::from_millis(250));
        loop {
            tokio::select! {
                _ = ended.cancelled() => return,
                _ = tokio::time::sleep(tick) => {}
            }
            if activity.idle_for() > limit {
                tracing::debug!("legacy SSE session idle too long; closing");
                ended.cancel();
                return;
            }
        }
    });
}

#[derive(Deserialize)]
pub struct MessageQuery {
    #[serde(rename = "sessionId")]
    session_id: Option<String>,
}

pub async fn post_message(
    State(state): State<Arc<HttpState>>,
    Extension(principal): Extension<Principal>,
    Query(query): Query<MessageQuery>,
    body: Bytes,
) -> Response {
    let Some(session_id) = query.session_id.filter(|s| !s.is_empty()) else {
        return refusal(
            StatusCode::BAD_REQUEST,
            -32600,
            "missing sessionId query parameter",
        );
    };
    let session = {
        let sessions = state.legacy_sessions.lock();
        sessions
            .get(&session_id)
            .filter(|s| s.owner == principal.user_id)
            .map(|s| (s.inbound.clone(), s.activity.clone()))
    };
    // Another user's session is answered like a missing one: its id reveals nothing.
    let Some((inbound, activity)) = session else {
        return refusal(
            StatusCode::NOT_FOUND,
            -32001,
            "session not found; open a new one with GET /sse",
        );
    };
    let message: ClientJsonRpcMessage = match serde_json::from_slice(&body) {
        Ok(message) => message,
        Err(e) => {
            let code = if serde_json::from_slice::<serde_json::Value>(&body).is_ok() {
                -32600
            } else {
                -32700
            };
            return refusal(
                StatusCode::BAD_REQUEST,
                code,
                format!("not a valid JSON-RPC message: {e}"),
            );
        }
    };
    activity.touch();
    match tokio::time::timeout(INBOUND_WAIT, inbound.send(message)).await {
        Ok(Ok(())) => StatusCode::ACCEPTED.into_response(),
        Ok(Err(_)) => refusal(StatusCode::NOT_FOUND, -32001, "session has ended"),
        Err(_) => refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            -32000,
            "session is busy; retry shortly",
        ),
    }
}
