//! The daily limits: requests, tokens and feature caps; admins; switched-off
//! features; unknown plans; many calls at once.

use std::sync::Arc;

use serde_json::json;
use tokio::sync::Barrier;

use super::support::{Fixture, call, feature_call, ok_usage, token_call, used_tokens};
use crate::config::{FeaturesConfig, PlanLimits, PlansConfig};
use crate::identity::UserId;
use crate::metering::{AdmitError, LimitCode};

#[tokio::test]
async fn the_twentieth_free_request_passes_and_the_twenty_first_gets_the_request_limit_json() {
    let fx = Fixture::new().await;
    let user = UserId::new_random();
    for _ in 0..20 {
        fx.call_ok(&call(&user, "free")).await;
    }
    let refusal = fx.refused(&call(&user, "free")).await;
    assert_eq!(
        refusal.to_json(),
        json!({
            "code": "REQUEST_LIMIT_EXCEEDED",
            "message": "The free plan allows 20 requests per day; 20 have been used today. The limit resets at 2026-11-23T00:00:00Z.",
            "details": { "limit": 20, "used": 20, "reset_at": "2026-11-23T00:00:00Z" },
            "action": "upgrade",
        })
    );
}

#[tokio::test]
async fn the_request_counter_starts_again_after_the_next_utc_midnight() {
    let fx = Fixture::new().await;
    let user = UserId::new_random();
    for _ in 0..20 {
        fx.call_ok(&call(&user, "free")).await;
    }
    fx.refused(&call(&user, "free")).await;
    // 10:00 + 13h59m59s is 23:59:59, still the same day.
    fx.clock.advance(14 * 3600 - 1);
    fx.refused(&call(&user, "free")).await;
    fx.clock.advance(1);
    fx.ticks.advance(std::time::Duration::from_secs(14 * 3600));
    for _ in 0..20 {
        fx.call_ok(&call(&user, "free")).await;
    }
    let refusal = fx.refused(&call(&user, "free")).await;
    assert_eq!(
        refusal.to_json()["details"]["reset_at"],
        "2026-11-24T00:00:00Z"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn fifty_concurrent_admits_for_a_plan_allowing_twenty_admit_exactly_twenty() {
    let fx = Fixture::new().await;
    let user = UserId::new_random();
    let start = Arc::new(Barrier::new(50));
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let meter = fx.meter.clone();
        let call = call(&user, "free");
        let start = Arc::clone(&start);
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            // Held until every task has answered, so none settles early.
            meter.admit(&call).await
        }));
    }
    let mut admitted = Vec::new();
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(admission) => admitted.push(admission),
            Err(AdmitError::Refused(refusal)) => {
                assert_eq!(refusal.code, LimitCode::RequestLimitExceeded);
                refused += 1;
            }
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!(admitted.len(), 20);
    assert_eq!(refused, 30);
    for admission in admitted {
        fx.meter.settle(admission, ok_usage());
    }
    fx.meter.flush().await.unwrap();
    assert_eq!(
        fx.count("SELECT requests FROM usage_daily").await,
        20,
        "the store agrees with memory"
    );
}

#[tokio::test]
async fn an_estimate_past_the_daily_token_budget_is_refused_with_token_limit_exceeded() {
    let fx = Fixture::new().await;
    let user = UserId::new_random();
    let admission = fx
        .meter
        .admit(&token_call(&user, "free", 6_000))
        .await
        .unwrap();
    // The running call's estimate is reserved: 6000 + 5000 > 10000.
    let refusal = fx.refused(&token_call(&user, "free", 5_000)).await;
    assert_eq!(refusal.code, LimitCode::TokenLimitExceeded);
    assert_eq!((refusal.limit, refusal.used), (10_000, 6_000));
    assert_eq!(
        refusal.message,
        "The free plan allows 10000 tokens per day; 6000 have been used today and this request needs about 5000 more. The limit resets at 2026-11-23T00:00:00Z."
    );
    // It used far less than estimated: the rest of the reservation comes back.
    fx.meter.settle(admission, used_tokens(1_000, 500));
    let admission = fx
        .meter
        .admit(&token_call(&user, "free", 5_000))
        .await
        .unwrap();
    fx.meter.settle(admission, used_tokens(4_000, 4_000));
    // 1500 + 8000 used: a call expecting 600 more no longer fits, 500 does.
    let refusal = fx.refused(&token_call(&user, "free", 600)).await;
    assert_eq!(refusal.used, 9_500);
    fx.call_ok(&token_call(&user, "free", 500)).await;
}

#[tokio::test]
async fn actual_tokens_are_charged_on_settle_even_past_the_estimate() {
    let fx = Fixture::new().await;
    let user = UserId::new_random();
    let admission = fx
        .meter
        .admit(&token_call(&user, "free", 100))
        .await
        .unwrap();
    fx.meter.settle(admission, used_tokens(7_000, 3_000));
    let refusal = fx.refused(&token_call(&user, "free", 1)).await;
    assert_eq!(refusal.used, 10_000);
    // A call that expects no tokens is not held to the token budget.
    fx.call_ok(&call(&user, "free")).await;
    fx.meter.flush().await.unwrap();
    assert_eq!(
        fx.count("SELECT tokens_in + tokens_out FROM usage_daily")
            .await,
        10_000
    );
    assert_eq!(
        fx.count("SELECT cost_micro_usd FROM usage_daily").await,
        13_000
    );
}

#[tokio::test]
async fn the_sixth_mcq_of_a_free_user_is_refused() {
    let fx = Fixture::new().await;
    let user = UserId::new_random();
    for _ in 0..5 {
        fx.call_ok(&feature_call(&user, "free", "mcq", 1)).await;
    }
    let refusal = fx.refused(&feature_call(&user, "free", "mcq", 1)).await;
    assert_eq!(refusal.code, LimitCode::McqLimitExceeded);
    assert_eq!(
        refusal.to_json(),
        json!({
            "code": "MCQ_LIMIT_EXCEEDED",
            "message": "The free plan allows 5 MCQs per day; 5 have been used today. The limit resets at 2026-11-23T00:00:00Z.",
            "details": { "limit": 5, "used": 5, "reset_at": "2026-11-23T00:00:00Z" },
            "action": "upgrade",
        })
    );
    // Other features have caps of their own, and uncapped ones none.
    fx.call_ok(&feature_call(&user, "free", "flashcard", 10))
        .await;
    fx.call_ok(&feature_call(&user, "free", "chat", 1_000))
        .await;
}

#[tokio::test]
async fn feature_units_really_produced_replace_the_units_asked_for() {
    let fx = Fixture::new().await;
    let user = UserId::new_random();
    let admission = fx
        .meter
        .admit(&feature_call(&user, "free", "mcq", 5))
        .await
        .unwrap();
    let mut usage = ok_usage();
    usage.feature_units = Some(2);
    fx.meter.settle(admission, usage);
    let refusal = fx.refused(&feature_call(&user, "free", "mcq", 4)).await;
    assert_eq!((refusal.used, refusal.limit), (2, 5));
    assert!(
        refusal.message.contains("this request asks for 4 more"),
        "{}",
        refusal.message
    );
    fx.call_ok(&feature_call(&user, "free", "mcq", 3)).await;
}

#[tokio::test]
async fn a_feature_the_plan_does_not_include_is_refused_from_the_first_call() {
    let fx = Fixture::new().await;
    let user = UserId::new_random();
    let refusal = fx
        .refused(&feature_call(&user, "free", "pdf_upload", 0))
        .await;
    assert_eq!(refusal.code, LimitCode::PdfUploadLimitExceeded);
    let refusal = fx.refused(&feature_call(&user, "free", "image", 1)).await;
    assert_eq!(refusal.code, LimitCode::ImageLimitExceeded);
    fx.call_ok(&feature_call(&user, "student", "pdf_upload", 1))
        .await;
}

#[tokio::test]
async fn admins_bypass_every_limit_but_their_calls_are_still_recorded() {
    let fx = Fixture::new().await;
    let admin = UserId::new_random();
    for _ in 0..40 {
        let mut request = token_call(&admin, "free", 20_000);
        request.bypass_limits = true;
        let admission = fx.meter.admit(&request).await.unwrap();
        fx.meter.settle(admission, used_tokens(10_000, 10_000));
    }
    let mut mcqs = feature_call(&admin, "free", "mcq", 50);
    mcqs.bypass_limits = true;
    fx.call_ok(&mcqs).await;
    fx.meter.flush().await.unwrap();
    assert_eq!(fx.count("SELECT COUNT(*) FROM usage_events").await, 41);
    assert_eq!(fx.count("SELECT requests FROM usage_daily").await, 41);
    assert_eq!(
        fx.count("SELECT tokens_in + tokens_out FROM usage_daily")
            .await,
        800_000
    );
    // Their counters are real: without the flag the same user is held to the plan.
    let refusal = fx.refused(&call(&admin, "free")).await;
    assert_eq!(refusal.used, 41);
}

#[tokio::test]
async fn a_switched_off_feature_is_refused_for_everyone_admins_included() {
    let features = FeaturesConfig {
        disabled: vec!["image".to_owned()],
    };
    let fx = Fixture::with(PlansConfig::default(), features).await;
    let user = UserId::new_random();
    let mut admin_call = feature_call(&UserId::new_random(), "unlimited", "image", 1);
    admin_call.bypass_limits = true;
    for request in [feature_call(&user, "pro", "image", 1), admin_call] {
        let refusal = fx.refused(&request).await;
        assert_eq!(
            refusal.to_json(),
            json!({
                "code": "FEATURE_DISABLED",
                "message": "The image feature is switched off on this server. An administrator can switch it back on.",
                "details": { "feature": "image" },
                "action": "contact_admin",
            })
        );
    }
    // Nothing was counted, other features carry on, and both refusals were recorded.
    fx.call_ok(&feature_call(&user, "pro", "mcq", 1)).await;
    fx.meter.flush().await.unwrap();
    assert_eq!(
        fx.outcomes().await,
        ["refused:FEATURE_DISABLED", "refused:FEATURE_DISABLED", "ok"]
    );
    assert_eq!(fx.count("SELECT SUM(requests) FROM usage_daily").await, 1);
}

#[tokio::test]
async fn a_plan_the_server_does_not_know_is_held_to_the_free_plan() {
    let fx = Fixture::new().await;
    let user = UserId::new_random();
    for _ in 0..20 {
        fx.call_ok(&call(&user, "platinum")).await;
    }
    let refusal = fx.refused(&call(&user, "platinum")).await;
    assert!(
        refusal
            .message
            .starts_with("The free plan allows 20 requests per day")
    );
}

#[tokio::test]
async fn a_configured_plan_uses_its_own_limits_and_unlimited_plans_have_none() {
    let tiny = PlanLimits {
        daily_requests: Some(1),
        ..PlanLimits::unlimited()
    };
    let fx = Fixture::with_plan("tiny", tiny).await;
    let user = UserId::new_random();
    fx.call_ok(&call(&user, "tiny")).await;
    let refusal = fx.refused(&call(&user, "tiny")).await;
    assert_eq!(
        refusal.message,
        "The tiny plan allows 1 request per day; 1 has been used today. The limit resets at 2026-11-23T00:00:00Z."
    );
    let owner = UserId::new_random();
    for _ in 0..1_000 {
        fx.call_ok(&token_call(&owner, "unlimited", 1_000_000))
            .await;
    }
}
