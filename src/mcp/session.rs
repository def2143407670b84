//! One client connection's state: its log level and its resource subscriptions.
//!
//! A session is created per stdio process, per streamable-HTTP session and per legacy SSE
//! stream; it must hold nothing another session could read.

// MCP logging is deprecated from protocol 2026-07-28 (SEP-2577) but current clients use it.
#![allow(deprecated)]

use std::collections::HashSet;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use rmcp::model::LoggingLevel;

use crate::identity::UserId;
use crate::observability::mcp_log::rank;

static NEXT_SESSION: AtomicU64 = AtomicU64::new(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TransportKind {
    Stdio,
    StreamableHttp,
    LegacySse,
    InProcess,
}

pub struct Session {
    pub id: u64,
    pub transport: TransportKind,
    log_level: AtomicU8,
    subscriptions: Mutex<HashSet<String>>,
    /// The user whose first request this session served; nobody else may use it.
    owner: OnceLock<UserId>,
}

const LEVELS: [LoggingLevel; 8] = [
    LoggingLevel::Debug,
    LoggingLevel::Info,
    LoggingLevel::Notice,
    LoggingLevel::Warning,
    LoggingLevel::Error,
    LoggingLevel::Critical,
    LoggingLevel::Alert,
    LoggingLevel::Emergency,
];

impl Session {
    pub fn new(transport: TransportKind) -> Self {
        Self {
            id: NEXT_SESSION.fetch_add(1, Ordering::Relaxed),
            transport,
            log_level: AtomicU8::new(rank(LoggingLevel::Info)),
            subscriptions: Mutex::new(HashSet::new()),
            owner: OnceLock::new(),
        }
    }

    /// Binds the session to `user` on its first request; afterwards, whether `user` is the one
    /// it is bound to.
    pub fn bind_owner(&self, user: &UserId) -> bool {
        self.owner.get_or_init(|| user.clone()) == user
    }

    /// The user this session serves, once known.
    pub fn owner(&self) -> Option<&UserId> {
        self.owner.get()
    }

    pub fn log_level(&self) -> LoggingLevel {
        let index = usize::from(self.log_level.load(Ordering::Relaxed));
        LEVELS.get(index).copied().unwrap_or(LoggingLevel::Info)
    }

    pub fn set_log_level(&self, level: LoggingLevel) {
        self.log_level.store(rank(level), Ordering::Relaxed);
    }

    pub fn subscribe(&self, uri: &str) {
        self.lock().insert(uri.to_string());
    }

    pub fn unsubscribe(&self, uri: &str) -> bool {
        self.lock().remove(uri)
    }

    pub fn is_subscribed(&self, uri: &str) -> bool {
        self.lock().contains(uri)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.subscriptions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_session_logs_from_info_and_remembers_a_new_level() {
        let session = Session::new(TransportKind::InProcess);
        assert_eq!(session.log_level(), LoggingLevel::Info);
        session.set_log_level(LoggingLevel::Error);
        assert_eq!(session.log_level(), LoggingLevel::Error);
    }

    #[test]
    fn a_session_serves_only_the_user_it_first_served() {
        let session = Session::new(TransportKind::InProcess);
        let (a, b) = (UserId::new_random(), UserId::new_random());
        assert!(session.bind_owner(&a));
        assert!(session.bind_owner(&a));
        assert!(!session.bind_owner(&b));
    }

    #[test]
    fn sessions_have_distinct_ids_and_separate_subscriptions() {
        let a = Session::new(TransportKind::InProcess);
        let b = Session::new(TransportKind::InProcess);
        assert_ne!(a.id, b.id);
        a.subscribe("consilium://status");
        assert!(!b.is_subscribed("consilium://status"));
    }
}
