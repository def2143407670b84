//! Metering benchmark: how many usage rows a second the metering writer sustains, and how
//! long `admit` + `settle` take for a user whose day is already in memory.
//!
//! Run with `cargo bench --bench metering`. It opens a real store in a scratch folder and
//! drives `consilium::metering::Meter` directly, in-process; no server is started.
//!
//! 1. Writer throughput: several tasks admit and settle calls as fast as they can, spread
//!    over many users; the clock stops when `Meter::flush` returns, i.e. once every row
//!    and every per-day total is committed. For comparison, the same rows are also written
//!    the naive way: one `Store::enqueue` job per row.
//! 2. Latency: one warm user, one call at a time, each `admit` + `settle` timed.
//!
//! `CONSILIUM_BENCH_QUICK=1` shortens every phase (for checking that the bench works).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use consilium::config::{FeaturesConfig, PlanLimits, PlansConfig};
use consilium::identity::{Clock, Plan, SystemClock, UserId};
use consilium::metering::{CallRequest, CallUsage, Meter, Outcome};
use consilium::store::{Store, StoreOptions};

/// The target from the issue.
const TARGET_ROWS_PER_SECOND: f64 = 20_000.0;

/// A plan with every limit set (so every check runs) but too high to be reached.
const PLAN: &str = "bench";

fn main() -> anyhow::Result<()> {
    let quick = std::env::var_os("CONSILIUM_BENCH_QUICK").is_some();
    let scale = if quick { 10 } else { 1 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    println!("consilium metering benchmark");
    println!(
        "machine: {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if quick {
        println!("QUICK MODE: shortened runs, figures are indicative only");
    }
    runtime.block_on(async move {
        let work = tempfile::tempdir().context("creating a scratch folder")?;
        let store = open(work.path().join("metering.sqlite")).await?;
        writer_throughput(&store, 200_000 / scale, 4).await?;
        naive_enqueue(&store, 50_000 / scale).await?;
        admit_settle_latency(&store, 100_000 / scale).await?;
        store.shutdown().await?;
        anyhow::Ok(())
    })
}

async fn open(path: std::path::PathBuf) -> anyhow::Result<Store> {
    Ok(tokio::task::spawn_blocking(move || Store::open(&path, StoreOptions::default())).await??)
}

fn meter(store: &Store) -> Meter {
    let mut plans = PlansConfig::default();
    plans.0.insert(
        PLAN.to_owned(),
        PlanLimits {
            daily_tokens: Some(u64::MAX / 2),
            daily_requests: Some(u64::MAX / 2),
            mcqs_per_day: Some(u64::MAX / 2),
            flashcards_per_day: Some(u64::MAX / 2),
            pdf_uploads: Some(u64::MAX / 2),
            images_per_day: Some(u64::MAX / 2),
            requests_per_minute: Some(u32::MAX),
        },
    );
    Meter::new(
        store.clone(),
        plans,
        FeaturesConfig::default(),
        Arc::new(SystemClock),
    )
}

fn request(user: &UserId) -> anyhow::Result<CallRequest> {
    Ok(CallRequest {
        user_id: user.clone(),
        api_key_id: Some("0123456789abcdef".to_owned()),
        plan: Plan::new(PLAN)?,
        bypass_limits: false,
        tool: "make_mcqs".to_owned(),
        feature: Some("mcq".to_owned()),
        feature_units: 5,
        token_estimate: 800,
    })
}

fn usage() -> CallUsage {
    CallUsage {
        tokens_in: 350,
        tokens_out: 420,
        cost_micro_usd: 1_540,
        feature_units: Some(5),
        latency: Duration::from_millis(840),
        outcome: Outcome::Ok,
    }
}

async fn count_rows(store: &Store, table: &'static str) -> anyhow::Result<i64> {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    Ok(store
        .read(move |conn| Ok(conn.query_row(&sql, [], |row| row.get(0))?))
        .await?)
}

async fn writer_throughput(store: &Store, calls: usize, tasks: usize) -> anyhow::Result<()> {
    const USERS: usize = 1_000;
    let meter = meter(store);
    let users: Vec<UserId> = (0..USERS).map(|_| UserId::new_random()).collect();
    // Seed every user's day first, so the measured part is the writing, not first reads.
    for user in &users {
        let admission = meter.admit(&request(user)?).await?;
        meter.settle(admission, usage());
    }
    meter.flush().await?;
    let before = count_rows(store, "usage_events").await?;

    let users = Arc::new(users);
    let per_task = calls / tasks;
    let start = Instant::now();
    let mut producers = Vec::new();
    for task in 0..tasks {
        let meter = meter.clone();
        let users = Arc::clone(&users);
        producers.push(tokio::spawn(async move {
            for n in 0..per_task {
                let user = &users[(task * per_task + n) % users.len()];
                let admission = meter.admit(&request(user)?).await?;
                meter.settle(admission, usage());
            }
            anyhow::Ok(())
        }));
    }
    for producer in producers {
        producer.await??;
    }
    let produced = start.elapsed();
    meter.flush().await?;
    let committed = start.elapsed();

    let written = count_rows(store, "usage_events").await? - before;
    let expected = i64::try_from(per_task * tasks)?;
    ensure!(
        written == expected,
        "{written} rows written, {expected} expected"
    );
    let rows_per_second = expected as f64 / committed.as_secs_f64();
    println!();
    println!("1. metering writer: {expected} calls from {tasks} tasks over {USERS} users");
    println!(
        "   admitted and settled in {:.0} ms ({:.0} calls/s); all committed after {:.0} ms",
        produced.as_secs_f64() * 1e3,
        expected as f64 / produced.as_secs_f64(),
        committed.as_secs_f64() * 1e3
    );
    println!(
        "   sustained: {rows_per_second:.0} rows/s (target {TARGET_ROWS_PER_SECOND:.0}: {})",
        if rows_per_second >= TARGET_ROWS_PER_SECOND {
            "met"
        } else {
            "MISSED"
        }
    );
    Ok(())
}

/// The design not taken: one queued store job per row, each with its own savepoint, doing
/// what a batch does for that row (the event, the day's totals, the feature's units) into
/// the same tables with the same values.
async fn naive_enqueue(store: &Store, rows: usize) -> anyhow::Result<()> {
    let before = count_rows(store, "usage_events").await?;
    let users: Vec<String> = (0..1_000)
        .map(|_| UserId::new_random().to_string())
        .collect();
    let clock = SystemClock;
    let start = Instant::now();
    for n in 0..rows {
        let user = users[n % users.len()].clone();
        let at = clock.now();
        store.enqueue(move |tx| {
            let day = at.to_rfc3339()[..10].to_owned();
            tx.prepare_cached(
                "INSERT INTO usage_events (at, user_id, api_key_id, plan, tool, feature, \
                 feature_units, tokens_in, tokens_out, cost_micro_usd, latency_ms, outcome) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?
            .execute(rusqlite::params![
                at.to_rfc3339(),
                user,
                "0123456789abcdef",
                PLAN,
                "make_mcqs",
                "mcq",
                5,
                350,
                420,
                1540,
                840,
                Outcome::Ok.as_text(),
            ])?;
            tx.prepare_cached(
                "INSERT INTO usage_daily (user_id, day, plan, requests, tokens_in, tokens_out, \
                 cost_micro_usd) VALUES (?1, ?2, ?3, 1, 350, 420, 1540) \
                 ON CONFLICT (user_id, day) DO UPDATE SET plan = excluded.plan, \
                 requests = requests + 1, tokens_in = tokens_in + 350, \
                 tokens_out = tokens_out + 420, cost_micro_usd = cost_micro_usd + 1540",
            )?
            .execute(rusqlite::params![user, day, PLAN])?;
            tx.prepare_cached(
                "INSERT INTO usage_daily_features (user_id, day, feature, units) \
                 VALUES (?1, ?2, 'mcq', 5) \
                 ON CONFLICT (user_id, day, feature) DO UPDATE SET units = units + 5",
            )?
            .execute(rusqlite::params![user, day])?;
            Ok(())
        });
    }
    store.write(|_| Ok(())).await?;
    let elapsed = start.elapsed();
    let written = count_rows(store, "usage_events").await? - before;
    ensure!(
        written == i64::try_from(rows)?,
        "{written} naive rows, {rows} expected"
    );
    println!();
    println!(
        "   for comparison, one Store::enqueue job per row: {rows} rows in {:.0} ms = {:.0} rows/s",
        elapsed.as_secs_f64() * 1e3,
        rows as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

async fn admit_settle_latency(store: &Store, calls: usize) -> anyhow::Result<()> {
    let meter = meter(store);
    let call = request(&UserId::new_random())?;
    for _ in 0..1_000 {
        let admission = meter.admit(&call).await?;
        meter.settle(admission, usage());
    }
    let mut latencies = Vec::with_capacity(calls);
    let start = Instant::now();
    for _ in 0..calls {
        let began = Instant::now();
        let admission = meter.admit(&call).await?;
        meter.settle(admission, usage());
        latencies.push(began.elapsed());
    }
    let total = start.elapsed();
    meter.flush().await?;
    latencies.sort_unstable();
    println!();
    println!("2. admit + settle, one warm user, one call at a time: {calls} calls");
    println!(
        "   p50 {:.2} µs, p99 {:.2} µs, max {:.1} µs; {:.0} calls/s on one task",
        percentile_us(&latencies, 50.0),
        percentile_us(&latencies, 99.0),
        percentile_us(&latencies, 100.0),
        calls as f64 / total.as_secs_f64()
    );
    Ok(())
}

fn percentile_us(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1e6
}
