//! Recording: every call becomes a row, flush loses nothing, counters
//! survive a restart, dropped admissions and resets are accounted for.

use std::time::{Duration, Instant};

use super::support::{Fixture, call, feature_call, ok_usage, token_call, used_tokens};
use crate::identity::UserId;
use crate::metering::{BATCH_ROWS, CallUsage, LimitCode, Outcome};

#[tokio::test]
async fn flush_loses_nothing() {
    let fx = Fixture::new().await;
    let users: Vec<UserId> = (0..7).map(|_| UserId::new_random()).collect();
    // Several full batches and a partial one, spread over users and days.
    let calls = 3 * BATCH_ROWS + 123;
    for n in 0..calls {
        if n == calls / 2 {
            fx.clock.advance(86_400);
        }
        fx.call_ok(&call(&users[n % users.len()], "unlimited"))
            .await;
    }
    fx.meter.flush().await.unwrap();
    let calls = i64::try_from(calls).unwrap();
    assert_eq!(fx.count("SELECT COUNT(*) FROM usage_events").await, calls);
    assert_eq!(
        fx.count("SELECT SUM(requests) FROM usage_daily").await,
        calls
    );
    assert_eq!(
        fx.count("SELECT COUNT(DISTINCT day) FROM usage_daily")
            .await,
        2
    );
}

#[tokio::test]
async fn a_row_holds_the_principal_tool_feature_tokens_cost_latency_and_outcome() {
    let fx = Fixture::new().await;
    let user = UserId::new_random();
    let mut request = feature_call(&user, "student", "mcq", 5);
    request.api_key_id = Some("0123456789abcdef".to_owned());
    request.token_estimate = 900;
    let admission = fx.meter.admit(&request).await.unwrap();
    let mut usage = used_tokens(300, 400);
    usage.latency = Duration::from_millis(1234);
    usage.feature_units = Some(4);
    usage.outcome = Outcome::ToolError("UPSTREAM_TIMEOUT".to_owned());
    fx.meter.settle(admission, usage);
    fx.meter.flush().await.unwrap();
    let row = fx
        .store
        .read(|conn| {
            Ok(conn.query_row(
                "SELECT at, user_id, api_key_id, plan, tool, feature, feature_units, tokens_in, \
                 tokens_out, cost_micro_usd, latency_ms, outcome FROM usage_events",
                [],
                |row| {
                    Ok(format!(
                        "{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}",
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, String>(3)?,
                        row.get::<_, String>(4)?,
                        row.get::<_, String>(5)?,
                        row.get::<_, i64>(6)?,
                        row.get::<_, i64>(7)?,
                        row.get::<_, i64>(8)?,
                        row.get::<_, i64>(9)?,
                        row.get::<_, i64>(10)?,
                        row.get::<_, String>(11)?,
                    ))
                },
            )?)
        })
        .await
        .unwrap();
    assert_eq!(
        row,
        format!(
            "2026-11-22T10:00:00Z|{user}|0123456789abcdef|student|make_mcq|mcq|4|300|400|1100|1234|tool_error:UPSTREAM_TIMEOUT"
        )
    );
}

#[tokio::test]
async fn refusals_are_recorded_but_do_not_count_against_the_day() {
    let fx = Fixture::new().await;
    let user = UserId::new_random();
    for _ in 0..20 {
        fx.call_ok(&call(&user, "free")).await;
    }
    fx.refused(&call(&user, "free")).await;
    fx.refused(&feature_call(&user, "free", "mcq", 1)).await;
    fx.meter.flush().await.unwrap();
    let outcomes = fx.outcomes().await;
    assert_eq!(outcomes.len(), 22);
    assert_eq!(outcomes[20..], ["refused:REQUEST_LIMIT_EXCEEDED"; 2]);
    assert_eq!(fx.count("SELECT requests FROM usage_daily").await, 20);
}

#[tokio::test]
async fn counters_survive_a_restart() {
    let mut fx = Fixture::new().await;
    let user = UserId::new_random();
    for _ in 0..15 {
        fx.call_ok(&call(&user, "free")).await;
    }
    for _ in 0..3 {
        fx.call_ok(&feature_call(&user, "free", "mcq", 1)).await;
    }
    let admission = fx
        .meter
        .admit(&token_call(&user, "free", 5_000))
        .await
        .unwrap();
    fx.meter.settle(admission, used_tokens(4_000, 4_000));
    fx.restart().await;
    // 19 used: one more request, two more MCQs in it, and 2000 tokens left.
    let refusal = fx.refused(&token_call(&user, "free", 2_001)).await;
    assert_eq!(
        (refusal.code, refusal.used),
        (LimitCode::TokenLimitExceeded, 8_000)
    );
    let refusal = fx.refused(&feature_call(&user, "free", "mcq", 3)).await;
    assert_eq!(
        (refusal.code, refusal.used),
        (LimitCode::McqLimitExceeded, 3)
    );
    fx.call_ok(&feature_call(&user, "free", "mcq", 2)).await;
    let refusal = fx.refused(&call(&user, "free")).await;
    assert_eq!(
        (refusal.code, refusal.used),
        (LimitCode::RequestLimitExceeded, 20)
    );
}

#[tokio::test]
async fn a_dropped_admission_is_recorded_as_cancelled_and_releases_its_reservation() {
    let fx = Fixture::new().await;
    let user = UserId::new_random();
    let request = feature_call(&user, "free", "mcq", 5);
    let admission = fx.meter.admit(&request).await.unwrap();
    let task = tokio::spawn(async move {
        let _held = admission;
        panic!("the tool crashed");
    });
    assert!(task.await.is_err());
    // The 5 reserved MCQs came back; the request itself still counts.
    fx.call_ok(&request).await;
    fx.meter.flush().await.unwrap();
    assert_eq!(fx.outcomes().await, ["cancelled", "ok"]);
    assert_eq!(fx.count("SELECT requests FROM usage_daily").await, 2);
    assert_eq!(fx.count("SELECT units FROM usage_daily_features").await, 5);
}

#[tokio::test]
async fn reset_usage_zeroes_today_and_returns_what_was_used() {
    let fx = Fixture::new().await;
    let user = UserId::new_random();
    let other = UserId::new_random();
    for _ in 0..20 {
        let admission = fx.meter.admit(&feature_call(&user, "free", "mcq", 0)).await;
        fx.meter.settle(admission.unwrap(), used_tokens(10, 20));
    }
    fx.call_ok(&call(&other, "free")).await;
    fx.refused(&call(&user, "free")).await;
    fx.meter.flush().await.unwrap();
    let before = fx.meter.reset_usage(&user).await.unwrap();
    assert_eq!(before.day, "2026-11-22");
    assert_eq!(before.requests, 20);
    assert_eq!((before.tokens_in, before.tokens_out), (200, 400));
    assert_eq!(before.feature_units.get("mcq"), Some(&0));
    // Memory and store are both back to zero, and nobody else was touched.
    let stored = format!(
        "SELECT requests + tokens_in + tokens_out + cost_micro_usd FROM usage_daily WHERE user_id = '{user}'"
    );
    assert_eq!(fx.count(&stored).await, 0);
    assert_eq!(
        fx.count("SELECT COUNT(*) FROM usage_daily_features").await,
        0
    );
    let theirs = format!("SELECT requests FROM usage_daily WHERE user_id = '{other}'");
    assert_eq!(fx.count(&theirs).await, 1);
    // A minute later, so the per-minute rate is no obstacle to another 20.
    fx.ticks.advance(Duration::from_secs(60));
    for _ in 0..20 {
        fx.call_ok(&call(&user, "free")).await;
    }
    fx.refused(&call(&user, "free")).await;
    // And a restart keeps the reset.
    let mut fx = fx;
    fx.restart().await;
    let refusal = fx.refused(&call(&user, "free")).await;
    assert_eq!(refusal.used, 20);
}

#[tokio::test]
async fn a_call_running_across_a_reset_counts_in_the_new_total_in_memory_and_store() {
    let fx = Fixture::new().await;
    let user = UserId::new_random();
    fx.call_ok(&call(&user, "free")).await;
    let running = fx
        .meter
        .admit(&token_call(&user, "free", 500))
        .await
        .unwrap();
    let before = fx.meter.reset_usage(&user).await.unwrap();
    assert_eq!(before.requests, 2, "the running call was counted");
    fx.meter.settle(running, used_tokens(100, 100));
    fx.meter.flush().await.unwrap();
    let report = fx
        .meter
        .usage_me(&user, &crate::identity::Plan::free())
        .await
        .unwrap();
    assert_eq!(report.limits[0].used, 1);
    assert_eq!(report.limits[1].used, 200);
    assert_eq!(fx.count("SELECT requests FROM usage_daily").await, 1);
    assert_eq!(
        fx.count("SELECT tokens_in + tokens_out FROM usage_daily")
            .await,
        200
    );
}

#[tokio::test]
async fn rows_reach_the_store_in_the_background_without_a_flush() {
    let fx = Fixture::new().await;
    let user = UserId::new_random();
    fx.meter.settle(
        fx.meter.admit(&call(&user, "free")).await.unwrap(),
        ok_usage(),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while fx.count("SELECT COUNT(*) FROM usage_events").await == 0 {
        assert!(Instant::now() < deadline, "the row never arrived");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_flush_after_the_store_shut_down_reports_the_failure() {
    let fx = Fixture::new().await;
    let admission = fx
        .meter
        .admit(&call(&UserId::new_random(), "free"))
        .await
        .unwrap();
    fx.store.shutdown().await.unwrap();
    fx.meter
        .settle(admission, CallUsage::nothing(Duration::ZERO, Outcome::Ok));
    assert!(fx.meter.flush().await.is_err());
}
