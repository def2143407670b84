//! Who hears about a changed resource. Sessions register when they first subscribe; a
//! capability that changes a resource calls [`SubscriptionHub::notify_updated`] and only the
//! sessions subscribed to that URI are told.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use rmcp::model::ResourceUpdatedNotificationParam;
use rmcp::{Peer, RoleServer};

use super::session::Session;

/// A session that has subscribed to something, and the connection to tell it on.
type Subscriber = (Weak<Session>, Peer<RoleServer>);

#[derive(Default)]
pub struct SubscriptionHub {
    sessions: Mutex<HashMap<u64, Subscriber>>,
}

impl SubscriptionHub {
    pub fn add(&self, session: &Arc<Session>, peer: Peer<RoleServer>) {
        self.lock()
            .insert(session.id, (Arc::downgrade(session), peer));
    }

    /// Tells every live session subscribed to `uri`; forgets sessions that have ended.
    pub async fn notify_updated(&self, uri: &str) -> usize {
        let targets: Vec<Peer<RoleServer>> = {
            let mut sessions = self.lock();
            sessions.retain(|_, (session, _)| session.strong_count() > 0);
            sessions
                .values()
                .filter(|(session, _)| session.upgrade().is_some_and(|s| s.is_subscribed(uri)))
                .map(|(_, peer)| peer.clone())
                .collect()
        };
        let mut told = 0;
        for peer in targets {
            if peer
                .notify_resource_updated(ResourceUpdatedNotificationParam::new(uri))
                .await
                .is_ok()
            {
                told += 1;
            }
        }
        told
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Subscriber>> {
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
