//! Access benchmark: what authentication, the quota check and metering add to one tool call.
//!
//! Run with `cargo bench --bench access`. The app is the real one (real store in a temporary
//! folder, real services); each iteration does exactly the work the server adds in front of
//! and behind a tool's handler — authenticate the bearer credential, admit the call against
//! the caller's plan, settle it — and nothing else, so the figures are the added cost itself.
//! The same steps with authentication and metering off cost nothing, which is the baseline.
//!
//! `CONSILIUM_BENCH_QUICK=1` runs fewer iterations.

#[path = "support/mod.rs"]
#[allow(dead_code)]
mod support;

use std::time::{Duration, Instant};

use anyhow::Context;
use consilium::app::{App, AppOptions};
use consilium::config::{Config, PlanLimits};
use consilium::identity::{Email, Plan, Role, Scope};
use consilium::metering::{CallRequest, CallUsage, Outcome};
use support::percentile;

/// Target from the issue: what the three steps may add at p99.
const TARGET_P99_MICROS: f64 = 100.0;

fn report(name: &str, mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    let (p50, p99) = (percentile(&samples, 0.50), percentile(&samples, 0.99));
    println!(
        "{name:<48} n={:<6} p50 {p50:>7.1} µs   p99 {p99:>7.1} µs",
        samples.len()
    );
    p99
}

/// One call's added work: authenticate, admit, settle.
async fn added_work(app: &App, bearer: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let principal = app
        .auth
        .authenticate_bearer(bearer)
        .await
        .map_err(|e| anyhow::anyhow!("authentication failed: {e}"))?;
    let call = CallRequest::by(&principal, "server_status", None, 0, 0);
    let admission = app
        .meter
        .admit(&call)
        .await
        .map_err(|e| anyhow::anyhow!("admission failed: {e}"))?;
    app.meter.settle(
        admission,
        CallUsage::nothing(Duration::from_micros(1), Outcome::Ok),
    );
    Ok(started.elapsed())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let quick = std::env::var_os("CONSILIUM_BENCH_QUICK").is_some();
    let iterations = if quick { 2_000 } else { 20_000 };
    let dir = tempfile::tempdir()?;
    let mut config = Config::default();
    config.store.path = Some(dir.path().join("bench.db"));
    // A plan whose limits are checked on every call but never reached.
    config.plans.0.insert(
        "bench".into(),
        PlanLimits {
            daily_tokens: Some(u64::MAX / 4),
            daily_requests: Some(u64::MAX / 4),
            mcqs_per_day: Some(u64::MAX / 4),
            flashcards_per_day: Some(u64::MAX / 4),
            pdf_uploads: Some(0),
            images_per_day: Some(0),
            requests_per_minute: Some(u32::MAX),
        },
    );
    let app = App::start(config, AppOptions::default()).await?;
    let user = app
        .users
        .create(
            Email::parse("bench@example.org")?,
            "Bench",
            Role::User,
            Plan::new("bench")?,
        )
        .await?;
    let (_, key) = app
        .api_keys
        .create(&user.id, "bench", &[Scope::Health], None)
        .await?;
    let api_key = key.expose().to_string();
    let tokens = app.auth.tokens().issue(&user).await?;
    let access_token = tokens.access_token.clone();

    println!("Access overhead per tool call ({iterations} calls each, after 500 warm-up)");
    let mut worst = 0.0f64;
    for (name, bearer) in [
        ("API key: authenticate + admit + settle", api_key.as_str()),
        (
            "access token: authenticate + admit + settle",
            access_token.as_str(),
        ),
    ] {
        for _ in 0..500 {
            added_work(&app, bearer).await.context("warm-up")?;
        }
        let mut samples = Vec::with_capacity(iterations);
        for _ in 0..iterations {
            samples.push(added_work(&app, bearer).await?);
        }
        worst = worst.max(report(name, samples));
    }

    // The metering writer: rows recorded above, then flushed; how fast it drains.
    let started = Instant::now();
    app.meter.flush().await?;
    println!(
        "flush of the remaining usage rows: {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    app.shutdown().await?;
    println!(
        "target: at most {TARGET_P99_MICROS} µs added at p99 — {}",
        if worst <= TARGET_P99_MICROS {
            "met"
        } else {
            "NOT met"
        }
    );
    Ok(())
}
