//! Telling subscribed clients that cards fell due: a background task that, every
//! `study.due_check_interval_secs`, looks for the subscribers of `consilium://reviews/due`
//! whose cards became due since the last look and notifies each of them alone. It reads
//! only; it must never change a card.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::MissedTickBehavior;

use super::tools::DUE_URI;
use crate::app::App;

pub fn watch(app: &Arc<App>) {
    let weak = Arc::downgrade(app);
    let every = Duration::from_secs(app.config.study.due_check_interval_secs.max(1));
    let stop = app.background.clone();
    let mut last = app.clock.now();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
        ticker.tick().await;
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = ticker.tick() => {}
            }
            let Some(app) = weak.upgrade() else { return };
            let now = app.clock.now();
            for user in app.subscriptions.subscribed_users(DUE_URI) {
                match app.decks.fell_due(&user, last, now).await {
                    Ok(true) => {
                        app.subscriptions.notify_updated_for(&user, DUE_URI).await;
                    }
                    Ok(false) => {}
                    Err(error) => tracing::warn!(error = %error, "checking due cards failed"),
                }
            }
            last = now;
        }
    });
}
