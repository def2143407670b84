//! Who hears about a changed resource. Sessions register when they first subscribe; a
//! capability that changes a resource calls [`SubscriptionHub::notify_updated`] and only the
//! sessions subscribed to that URI are told.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use rmcp::model::ResourceUpdatedNotificationParam;
use rmcp::{Peer, RoleServer};

use super::session::Session;
use crate::identity::UserId;

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
        self.notify(uri, None).await
    }

    /// Tells the sessions of `user` subscribed to `uri`: for resources whose URI is the same
    /// for everyone but whose content is each user's own (`consilium://decks`), so nobody
    /// hears of another user's changes.
    pub async fn notify_updated_for(&self, user: &UserId, uri: &str) -> usize {
        self.notify(uri, Some(user)).await
    }

    async fn notify(&self, uri: &str, user: Option<&UserId>) -> usize {
        let targets: Vec<Peer<RoleServer>> = {
            let mut sessions = self.lock();
            sessions.retain(|_, (session, _)| session.strong_count() > 0);
            sessions
                .values()
                .filter(|(session, _)| {
                    session.upgrade().is_some_and(|s| {
                        s.is_subscribed(uri) && user.is_none_or(|u| s.owner() == Some(u))
                    })
                })
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

    /// The users with a live session subscribed to `uri`.
    pub fn subscribed_users(&self, uri: &str) -> Vec<UserId> {
        let mut users: Vec<UserId> = self
            .lock()
            .values()
            .filter_map(|(session, _)| session.upgrade())
            .filter(|s| s.is_subscribed(uri))
            .filter_map(|s| s.owner().cloned())
            .collect();
        users.sort();
        users.dedup();
        users
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Subscriber>> {
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
