//! Telling admins what happened to the platform: webhook POSTs for a key failing or
//! degrading, failovers, maintenance entered and left, and admin overrides.
//!
//! Each event is queued and delivered by a background task, never on the request path: a
//! body is JSON, signed with HMAC-SHA256 under the target's secret
//! (`X-Consilium-Signature: sha256=<hex>`), and retried with doubling waits. Events carry
//! ids and masked keys only; this module must not receive a secret, and delivery failures
//! are logged without the target's secret.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use serde_json::Value;
use sha2::Sha256;
use tokio::sync::mpsc;

use crate::config::{NotificationsConfig, WebhookTarget};
use crate::identity::Clock;

/// How many undelivered events may wait; beyond it new ones are dropped (and logged).
const QUEUE: usize = 1024;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Event {
    /// `key_disabled`, `key_degraded`, `key_recovered`, `failover`, `maintenance_entered`,
    /// `maintenance_left`, `admin_override`…
    pub event: &'static str,
    pub at: String,
    pub message: String,
    pub details: Value,
}

#[derive(Clone)]
pub struct Notifier {
    sender: Option<mpsc::Sender<Event>>,
    clock: Arc<dyn Clock>,
}

impl Notifier {
    /// Starts the delivery task when targets are configured; without targets events are
    /// only logged. Needs a tokio runtime.
    pub fn start(config: &NotificationsConfig, clock: Arc<dyn Clock>) -> Notifier {
        if config.webhooks.is_empty() {
            return Notifier {
                sender: None,
                clock,
            };
        }
        let (sender, receiver) = mpsc::channel(QUEUE);
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        tokio::spawn(deliver_all(receiver, client, config.clone()));
        Notifier {
            sender: Some(sender),
            clock,
        }
    }

    /// Queues an event for every target; returns at once.
    pub fn notify(&self, event: &'static str, message: impl Into<String>, details: Value) {
        let event = Event {
            event,
            at: self.clock.now().to_rfc3339(),
            message: message.into(),
            details,
        };
        tracing::warn!(event = event.event, message = %event.message, "platform event");
        if let Some(sender) = &self.sender
            && sender.try_send(event).is_err()
        {
            tracing::warn!("the webhook queue is full; an event was dropped");
        }
    }
}

async fn deliver_all(
    mut receiver: mpsc::Receiver<Event>,
    client: reqwest::Client,
    config: NotificationsConfig,
) {
    let config = Arc::new(config);
    while let Some(event) = receiver.recv().await {
        let Ok(body) = serde_json::to_vec(&event) else {
            continue;
        };
        let body = Arc::new(body);
        for index in 0..config.webhooks.len() {
            // One slow target must not hold back the others or the next event.
            let (client, config, body) = (client.clone(), config.clone(), body.clone());
            tokio::spawn(async move {
                let target = &config.webhooks[index];
                deliver(
                    &client,
                    target,
                    event.event,
                    &body,
                    config.attempts,
                    config.first_retry_secs,
                )
                .await;
            });
        }
    }
}

async fn deliver(
    client: &reqwest::Client,
    target: &WebhookTarget,
    event: &str,
    body: &[u8],
    attempts: u32,
    first_retry_secs: u64,
) {
    let signature = format!("sha256={}", sign(&target.secret, body));
    let mut wait = Duration::from_secs(first_retry_secs.max(1));
    for attempt in 1..=attempts.max(1) {
        let sent = client
            .post(&target.url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header("X-Consilium-Event", event)
            .header("X-Consilium-Signature", &signature)
            .body(body.to_vec())
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => return,
            Ok(response) => tracing::warn!(
                url = %target.url, status = response.status().as_u16(), attempt,
                "a webhook target refused an event"
            ),
            Err(_) => {
                tracing::warn!(url = %target.url, attempt, "a webhook target could not be reached")
            }
        }
        if attempt < attempts {
            tokio::time::sleep(wait).await;
            wait = wait.saturating_mul(2);
        }
    }
    tracing::error!(url = %target.url, event, "a webhook event was given up after every retry");
}

/// Hex HMAC-SHA256 of `body` under `secret`, as receivers recompute it.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_rfc_4231_hmac_sha256() {
        // RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
