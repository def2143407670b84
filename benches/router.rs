//! Router benchmark: what the server adds to one model call — authenticate the bearer
//! credential, admit the call against the plan, choose a key, open it, send through the
//! router, record its health, settle the usage — against calling the same scripted
//! OpenAI-compatible upstream directly with a plain HTTP client.
//!
//! Run with `cargo bench --bench router`. The upstream is a real HTTP server on 127.0.0.1
//! answering at once, so the difference between the two paths is the server's own cost.
//! Measured at 1 and 16 concurrent callers. `CONSILIUM_BENCH_QUICK=1` runs fewer calls.

#[path = "support/mod.rs"]
#[allow(dead_code)]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router as HttpRouter;
use axum::routing::post;
use consilium::accounts::Requester;
use consilium::app::{App, AppOptions};
use consilium::config::{Config, PlanLimits};
use consilium::identity::{Email, Plan, Role, Scope};
use consilium::llm::manage::{self, KeyToAdd, Pool};
use consilium::llm::{CompletionRequest, Message, Route};
use consilium::metering::{CallRequest, CallUsage, Outcome};
use serde_json::{Value, json};
use support::percentile;
use zeroize::Zeroizing;

/// Target: what the router path may add at p99.
const TARGET_ADDED_P99_MICROS: f64 = 1000.0;

async fn upstream() -> anyhow::Result<String> {
    let reply = json!({
        "id": "b", "model": "bench-model",
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": "ok" } }],
        "usage": { "prompt_tokens": 10, "completion_tokens": 1 }
    });
    let app = HttpRouter::new().route(
        "/v1/chat/completions",
        post(move || {
            let reply = reply.clone();
            async move { axum::Json(reply) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(format!("http://{addr}/v1"))
}

/// The direct path: one POST and the JSON read back.
async fn direct(client: &reqwest::Client, url: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let body = json!({ "model": "bench-model", "messages": [{ "role": "user", "content": "hi" }], "max_tokens": 8 });
    let reply: Value = client
        .post(url)
        .bearer_auth("sk-bench-0123456789abcdef")
        .json(&body)
        .send()
        .await?
        .json()
        .await?;
    anyhow::ensure!(reply["choices"][0]["message"]["content"] == "ok");
    Ok(started.elapsed())
}

/// The server's path.
async fn routed(app: &App, bearer: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let principal = app
        .auth
        .authenticate_bearer(bearer)
        .await
        .map_err(|e| anyhow::anyhow!("authentication failed: {e}"))?;
    let call = CallRequest::by(&principal, "chat", Some("chat"), 0, 100);
    let admission = app
        .meter
        .admit(&call)
        .await
        .map_err(|e| anyhow::anyhow!("admission failed: {e}"))?;
    let route = Route {
        feature: "chat",
        user: &principal.user_id,
        provider: None,
        model: None,
        client_model: None,
        prefer_client_model: false,
    };
    let request = CompletionRequest::new(vec![Message::user("hi")], 8);
    let done = app.llm.complete(route, &request).await?;
    let mut usage = CallUsage::nothing(Duration::from_micros(1), Outcome::Ok);
    usage.tokens_in = done.usage.input;
    usage.tokens_out = done.usage.output;
    app.meter.settle(admission, usage);
    Ok(started.elapsed())
}

async fn measure<F, Fut>(callers: usize, calls: usize, one: F) -> anyhow::Result<Vec<Duration>>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<Duration>> + Send,
{
    let one = Arc::new(one);
    let mut tasks = Vec::new();
    for _ in 0..callers {
        let one = one.clone();
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::with_capacity(calls / callers);
            for _ in 0..calls / callers {
                samples.push(one().await?);
            }
            anyhow::Ok(samples)
        }));
    }
    let mut all = Vec::with_capacity(calls);
    for task in tasks {
        all.extend(task.await??);
    }
    all.sort();
    Ok(all)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let quick = std::env::var_os("CONSILIUM_BENCH_QUICK").is_some();
    let calls = if quick { 1_600 } else { 16_000 };
    let base = upstream().await?;
    let dir = tempfile::tempdir()?;
    let mut config = Config::default();
    config.store.path = Some(dir.path().join("bench.db"));
    config.plans.0.insert(
        "bench".into(),
        PlanLimits {
            daily_tokens: Some(u64::MAX / 4),
            daily_requests: Some(u64::MAX / 4),
            mcqs_per_day: Some(0),
            flashcards_per_day: Some(0),
            pdf_uploads: Some(0),
            images_per_day: Some(0),
            requests_per_minute: Some(u32::MAX),
        },
    );
    let app = App::start(config, AppOptions::default()).await?;
    let requester = Requester::local(app.local_principal());
    let key = KeyToAdd {
        provider: "openai".into(),
        label: "bench".into(),
        secret: Zeroizing::new("sk-bench-0123456789abcdef".into()),
        base_url: Some(base.clone()),
        models: vec!["bench-model".into()],
        features: vec!["chat".into()],
        priority: 0,
        skip_test: true,
    };
    manage::add(&app, &requester, Pool::Shared, key)
        .await
        .context("adding the key")?;
    let user = app
        .users
        .create(
            Email::parse("bench@example.org")?,
            "Bench",
            Role::User,
            Plan::new("bench")?,
        )
        .await?;
    let (_, api_key) = app
        .api_keys
        .create(&user.id, "bench", &[Scope::Chat], None)
        .await?;
    let bearer: Arc<str> = api_key.expose().into();
    let client = reqwest::Client::new();
    let url: Arc<str> = format!("{base}/chat/completions").into();

    println!("Router overhead per model call ({calls} calls per row, after 500 warm-up)");
    let mut worst = f64::MIN;
    for callers in [1usize, 16] {
        for _ in 0..500 {
            direct(&client, &url).await?;
            routed(&app, &bearer).await?;
        }
        let (c, u) = (client.clone(), url.clone());
        let baseline = measure(callers, calls, move || {
            let (c, u) = (c.clone(), u.clone());
            async move { direct(&c, &u).await }
        })
        .await?;
        let (a, b) = (app.clone(), bearer.clone());
        let through = measure(callers, calls, move || {
            let (a, b) = (a.clone(), b.clone());
            async move { routed(&a, &b).await }
        })
        .await?;
        let (d50, d99) = (percentile(&baseline, 0.5), percentile(&baseline, 0.99));
        let (r50, r99) = (percentile(&through, 0.5), percentile(&through, 0.99));
        println!(
            "{callers:>2} caller(s): direct p50 {d50:>7.1} µs p99 {d99:>7.1} µs | routed p50 {r50:>7.1} µs p99 {r99:>7.1} µs | added p50 {:>6.1} µs p99 {:>6.1} µs",
            r50 - d50,
            r99 - d99
        );
        worst = worst.max(r99 - d99);
    }
    app.shutdown().await?;
    println!(
        "target: at most {TARGET_ADDED_P99_MICROS} µs added at p99 — {}",
        if worst <= TARGET_ADDED_P99_MICROS {
            "met"
        } else {
            "NOT met"
        }
    );
    Ok(())
}
