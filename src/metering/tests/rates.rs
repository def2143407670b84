//! The per-minute rate limit as the meter applies it: per principal, on the
//! monotonic clock, after the daily limits.

use std::time::Duration;

use serde_json::json;

use super::support::{Fixture, call};
use crate::config::PlanLimits;
use crate::identity::UserId;
use crate::metering::LimitCode;

/// Plenty of daily room, 6 calls a minute (one every 10 s, bursts of 6).
fn six_a_minute() -> PlanLimits {
    PlanLimits {
        requests_per_minute: Some(6),
        ..PlanLimits::unlimited()
    }
}

#[tokio::test]
async fn a_burst_passes_then_calls_wait_with_retry_after_then_pass_again() {
    let fx = Fixture::with_plan("steady", six_a_minute()).await;
    let user = UserId::new_random();
    for _ in 0..6 {
        fx.call_ok(&call(&user, "steady")).await;
    }
    let refusal = fx.refused(&call(&user, "steady")).await;
    assert_eq!(
        refusal.to_json(),
        json!({
            "code": "RATE_LIMITED",
            "message": "The steady plan allows 6 requests per minute. Please wait 10 seconds before trying again.",
            "details": {
                "limit": 6,
                "used": 6,
                "reset_at": "2026-11-22T10:00:10Z",
                "retry_after_seconds": 10,
            },
            "action": "upgrade",
        })
    );
    fx.ticks.advance(Duration::from_secs(4));
    let refusal = fx.refused(&call(&user, "steady")).await;
    assert_eq!(refusal.retry_after_seconds, Some(6));
    fx.ticks.advance(Duration::from_secs(6));
    fx.call_ok(&call(&user, "steady")).await;
    assert_eq!(
        fx.refused(&call(&user, "steady")).await.code,
        LimitCode::RateLimited
    );
    // A quiet minute brings the whole burst back.
    fx.ticks.advance(Duration::from_secs(60));
    for _ in 0..6 {
        fx.call_ok(&call(&user, "steady")).await;
    }
}

#[tokio::test]
async fn a_rate_refused_call_does_not_use_up_the_daily_requests() {
    let fx = Fixture::new().await;
    let user = UserId::new_random();
    // Free: 30 a minute, 20 a day. The daily limit is checked first.
    for _ in 0..20 {
        fx.call_ok(&call(&user, "free")).await;
    }
    assert_eq!(
        fx.refused(&call(&user, "free")).await.code,
        LimitCode::RequestLimitExceeded
    );
    let fx = Fixture::with_plan("steady", six_a_minute()).await;
    for _ in 0..6 {
        fx.call_ok(&call(&user, "steady")).await;
    }
    for _ in 0..10 {
        fx.refused(&call(&user, "steady")).await;
    }
    fx.meter.flush().await.unwrap();
    assert_eq!(fx.count("SELECT requests FROM usage_daily").await, 6);
    assert_eq!(fx.count("SELECT COUNT(*) FROM usage_events").await, 16);
}

#[tokio::test]
async fn each_api_key_and_the_session_have_their_own_rate() {
    let fx = Fixture::with_plan("steady", six_a_minute()).await;
    let user = UserId::new_random();
    let mut by_key = call(&user, "steady");
    by_key.api_key_id = Some("0123456789abcdef".to_owned());
    for _ in 0..6 {
        fx.call_ok(&call(&user, "steady")).await;
        fx.call_ok(&by_key).await;
    }
    fx.refused(&call(&user, "steady")).await;
    fx.refused(&by_key).await;
    // Someone else is not slowed down by them.
    fx.call_ok(&call(&UserId::new_random(), "steady")).await;
}

#[tokio::test]
async fn admins_are_not_rate_limited() {
    let fx = Fixture::with_plan("steady", six_a_minute()).await;
    let mut request = call(&UserId::new_random(), "steady");
    request.bypass_limits = true;
    for _ in 0..100 {
        fx.call_ok(&request).await;
    }
}

#[tokio::test]
async fn a_wall_clock_set_back_does_not_refill_the_burst() {
    let fx = Fixture::with_plan("steady", six_a_minute()).await;
    let user = UserId::new_random();
    for _ in 0..6 {
        fx.call_ok(&call(&user, "steady")).await;
    }
    fx.clock.advance(-3600);
    fx.refused(&call(&user, "steady")).await;
    fx.clock.advance(7200);
    fx.refused(&call(&user, "steady")).await;
}
