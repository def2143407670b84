//! The usage reports: a user's own, and the platform's.

use std::time::Duration;

use super::support::{Fixture, feature_call, token_call, used_tokens};
use crate::identity::{Plan, UserId};
use crate::metering::LimitUsage;

async fn spend(fx: &Fixture, user: &UserId, plan: &str, calls: usize, tokens_each: u64) {
    for _ in 0..calls {
        let admission = fx.meter.admit(&token_call(user, plan, 1)).await.unwrap();
        fx.meter.settle(admission, used_tokens(tokens_each, 0));
    }
}

#[tokio::test]
async fn usage_me_shows_each_limit_today_and_the_last_seven_days() {
    let fx = Fixture::new().await;
    let user = UserId::new_random();
    spend(&fx, &user, "free", 2, 100).await;
    // Three days later: two MCQs and one call of 250 tokens.
    fx.clock.advance(3 * 86_400);
    fx.call_ok(&feature_call(&user, "free", "mcq", 2)).await;
    spend(&fx, &user, "free", 1, 250).await;
    let report = fx.meter.usage_me(&user, &Plan::free()).await.unwrap();

    assert_eq!(report.user_id, user.to_string());
    assert_eq!(
        (report.plan.as_str(), report.limits_plan.as_str()),
        ("free", "free")
    );
    assert_eq!(report.day, "2026-11-25");
    assert_eq!(report.requests_per_minute, Some(30));
    let limit =
        |name: &str| -> &LimitUsage { report.limits.iter().find(|l| l.name == name).unwrap() };
    let requests = limit("daily_requests");
    assert_eq!(
        (requests.limit, requests.used, requests.remaining),
        (Some(20), 2, Some(18))
    );
    assert_eq!(requests.reset_at, "2026-11-26T00:00:00Z");
    assert_eq!(limit("daily_tokens").used, 250);
    assert_eq!(limit("mcqs_per_day").remaining, Some(3));
    assert_eq!(limit("pdf_uploads").limit, Some(0));
    assert_eq!(report.limits.len(), 6);

    let days: Vec<(&str, u64, u64)> = report
        .last_7_days
        .iter()
        .map(|d| (d.day.as_str(), d.requests, d.tokens_in + d.tokens_out))
        .collect();
    assert_eq!(
        days,
        [
            ("2026-11-19", 0, 0),
            ("2026-11-20", 0, 0),
            ("2026-11-21", 0, 0),
            ("2026-11-22", 2, 200),
            ("2026-11-23", 0, 0),
            ("2026-11-24", 0, 0),
            ("2026-11-25", 2, 250),
        ]
    );
    assert_eq!(report.last_7_days[6].feature_units.get("mcq"), Some(&2));
}

#[tokio::test]
async fn usage_me_of_one_user_never_contains_another() {
    let fx = Fixture::new().await;
    let (ada, bob) = (UserId::new_random(), UserId::new_random());
    spend(&fx, &ada, "free", 1, 10).await;
    spend(&fx, &bob, "pro", 7, 999).await;
    fx.call_ok(&feature_call(&bob, "pro", "flashcard", 40))
        .await;
    // Yesterday's rows come from the store, today's from memory: check both.
    fx.clock.advance(86_400);
    fx.ticks.advance(Duration::from_secs(120));
    fx.meter.flush().await.unwrap();
    spend(&fx, &bob, "pro", 3, 5).await;
    spend(&fx, &ada, "free", 2, 20).await;

    let report = fx.meter.usage_me(&ada, &Plan::free()).await.unwrap();
    let text = serde_json::to_string(&report).unwrap();
    assert!(!text.contains(bob.as_str()), "{text}");
    assert!(!text.contains("flashcard\":40"), "{text}");
    let mine: Vec<(u64, u64)> = report
        .last_7_days
        .iter()
        .map(|d| (d.requests, d.tokens_in))
        .filter(|(requests, _)| *requests > 0)
        .collect();
    assert_eq!(mine, [(1, 10), (2, 40)]);
}

#[tokio::test]
async fn the_platform_report_sums_by_plan_ranks_the_top_users_and_gives_the_burn_rate() {
    let fx = Fixture::new().await;
    let free_users: Vec<UserId> = (0..12).map(|_| UserId::new_random()).collect();
    let pro = UserId::new_random();
    // Yesterday, 20 hours ago: one pro call of 5000 tokens.
    fx.clock.advance(-20 * 3600);
    spend(&fx, &pro, "pro", 1, 5_000).await;
    fx.clock.advance(20 * 3600);
    // Today, more than an hour ago: each free user n+1 calls of 10 tokens.
    fx.clock.advance(-2 * 3600);
    for (n, user) in free_users.iter().enumerate() {
        spend(&fx, user, "free", n + 1, 10).await;
    }
    fx.clock.advance(2 * 3600);
    // In the last hour: the pro user, 2 calls of 1000 tokens.
    spend(&fx, &pro, "pro", 2, 1_000).await;
    // Refusals are no usage.
    let fresh = UserId::new_random();
    fx.refused(&feature_call(&fresh, "free", "image", 1)).await;
    fx.refused(&feature_call(&fresh, "free", "pdf_upload", 1))
        .await;

    let report = fx.meter.usage_platform().await.unwrap();
    assert_eq!(report.day, "2026-11-22");
    assert_eq!(report.generated_at, "2026-11-22T10:00:00Z");
    let today: Vec<_> = report
        .today_by_plan
        .iter()
        .map(|p| (p.plan.as_str(), p.users, p.requests, p.tokens))
        .collect();
    // 1 + 2 + … + 12 = 78 free calls of 10 tokens.
    assert_eq!(today, [("free", 12, 78, 780), ("pro", 1, 2, 2_000)]);
    let week: Vec<_> = report
        .last_7_days_by_plan
        .iter()
        .map(|p| (p.plan.as_str(), p.users, p.requests, p.tokens))
        .collect();
    assert_eq!(week, [("free", 12, 78, 780), ("pro", 1, 3, 7_000)]);

    assert_eq!(report.top_users_today.len(), 10);
    assert_eq!(report.top_users_today[0].user_id, pro.to_string());
    assert_eq!(
        report.top_users_today[1].user_id,
        free_users[11].to_string()
    );
    assert_eq!(
        (
            report.top_users_today[1].tokens,
            report.top_users_today[1].requests
        ),
        (120, 12)
    );
    assert_eq!(report.top_users_today[9].user_id, free_users[3].to_string());

    let burn = &report.burn_rate;
    assert_eq!((burn.last_hour_requests, burn.last_hour_tokens), (2, 2_000));
    assert_eq!(burn.requests_per_hour_24h, 81.0 / 24.0);
    assert_eq!(burn.tokens_per_hour_24h, 7_780.0 / 24.0);
}
