//! Trace-evaluation benchmark: tier 1 (the healthcare pack's rules and the PHI detector
//! over input, system and output) on a 2 KB trace, and ingestion — checking, screening,
//! redacting, sealing and storing — of 10,000 traces through the real app on a SQLite file,
//! in batches of 100 and as single traces from 8 concurrent callers.
//!
//! Run with `cargo bench --bench evaluation`; `CONSILIUM_BENCH_QUICK=1` runs fewer.

#[path = "support/mod.rs"]
#[allow(dead_code)]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use consilium::app::App;
use consilium::evaluation::trace::{TraceInput, TraceSource};
use support::percentile;

/// Targets: tier 1 on a 2 KB trace p99 under 200 µs; 10,000 traces a minute ingested.
const TARGET_TIER1_P99_MICROS: f64 = 200.0;
const TARGET_TRACES_PER_MINUTE: f64 = 10_000.0;

/// A realistic clinical exchange of about 2 KB, with identifiers and a dose in it.
fn trace(i: usize) -> TraceInput {
    let input = format!(
        "Hello, my name is Maria Gonzalez and my MRN is A{:07}. I am 54 and was seen at the \
         clinic on March 3, 2026 for high blood pressure. My doctor started me on amlodipine. \
         Since then I get ankle swelling by the evening and sometimes a headache. I also take \
         metformin for type 2 diabetes and atorvastatin. My last HbA1c was 7.2% and my blood \
         pressure this morning was 148/92. Should I keep taking the amlodipine, and is the \
         swelling dangerous? You can reach me on (602) 272-9781 if you need more details. \
         I walk 30 minutes most days and try to keep my salt intake low. My mother had a \
         stroke at 71 and my father has heart failure, so I worry about my heart. I sleep \
         badly, drink two cups of coffee a day and stopped smoking five years ago. My last \
         cholesterol test showed an LDL of 2.9 mmol/L. I would like to know whether the \
         swelling could mean my heart is struggling, whether I should ask for a different \
         tablet, and what else I can do myself to bring my blood pressure down before my \
         next appointment in April. Thank you for your help.",
        i % 10_000_000
    );
    let output = "Ankle swelling is a common side effect of amlodipine, especially at higher doses, \
        and it is usually not dangerous, but it is worth discussing with your doctor, who may \
        lower the dose or switch you to another medicine. Do not stop taking it on your own. \
        Keep a record of your home blood pressure readings: a reading of 148/92 is above the \
        usual target of 130/80 for people with diabetes. Many people take amlodipine 5 mg \
        once daily; your prescriber decides the dose. Seek urgent care if the swelling comes \
        with shortness of breath, chest pain or swelling in only one leg. Raising your legs \
        in the evening and reducing salt can help. This is not medical advice; please check \
        with your doctor or pharmacist before changing anything. At your next appointment, \
        bring your readings, a list of every medicine you take, and any questions about \
        your heart; your doctor can check your kidneys and heart with simple tests.";
    serde_json::from_value(serde_json::json!({
        "model": "gpt-4o-mini",
        "provider": "openai",
        "domain": "healthcare",
        "system": "You are a careful health assistant. Never give a diagnosis.",
        "input": [{ "role": "user", "content": input }],
        "output": output,
        "input_tokens": 412,
        "output_tokens": 188,
        "latency_ms": 1830
    }))
    .unwrap_or_else(|e| panic!("the bench trace is valid JSON: {e}"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let quick = std::env::var_os("CONSILIUM_BENCH_QUICK").is_some();
    let screens = if quick { 2_000 } else { 20_000 };
    let total = if quick { 2_000 } else { 10_000 };
    let dir = tempfile::TempDir::new()?;
    let app: Arc<App> = support::app_in(&dir).await?;
    let owner = app.local_owner.id.clone();
    let evaluation = &app.evaluation;

    let sample = trace(1);
    let texts = sample.texts();
    let bytes = texts.input.len() + texts.system.len() + texts.output.len();
    let pack = evaluation
        .pipeline
        .pack("healthcare")
        .ok_or_else(|| anyhow::anyhow!("no healthcare pack"))?;
    let mut samples: Vec<Duration> = Vec::with_capacity(screens);
    let mut findings = 0;
    for i in 0..screens + 500 {
        let started = Instant::now();
        let screened = evaluation.pipeline.screen(pack, &texts, "bench");
        let took = started.elapsed();
        findings = screened.findings.len() + screened.phi.all().len();
        if i >= 500 {
            samples.push(took);
        }
    }
    samples.sort();
    let p99 = percentile(&samples, 0.99);
    let detector = evaluation.pipeline.phi();
    let mut phi_only: Vec<Duration> = Vec::with_capacity(screens);
    for _ in 0..screens {
        let started = Instant::now();
        for text in [&texts.input, &texts.system, &texts.output] {
            std::hint::black_box(detector.detect(text));
        }
        phi_only.push(started.elapsed());
    }
    phi_only.sort();
    println!(
        "of which PHI detection over the three texts: p50 {:.0} µs",
        percentile(&phi_only, 0.5)
    );
    println!(
        "tier 1 on a {bytes}-byte trace ({} rules, PHI over input, system and output; {findings} findings and identifiers): p50 {:.0} µs, p99 {p99:.0} µs — target p99 < {TARGET_TIER1_P99_MICROS} µs: {}",
        pack.rules.len(),
        percentile(&samples, 0.5),
        if p99 < TARGET_TIER1_P99_MICROS {
            "met"
        } else {
            "NOT met"
        }
    );

    // Batches of 100, one after another, as an exporter sends them.
    let started = Instant::now();
    for batch in 0..total / 100 {
        let traces: Vec<TraceInput> = (0..100).map(|i| trace(batch * 100 + i)).collect();
        evaluation
            .ingest(&owner, traces, TraceSource::Mcp)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let per_minute = total as f64 / started.elapsed().as_secs_f64() * 60.0;
    println!(
        "ingestion in batches of 100: {total} traces in {:.2} s, {per_minute:.0} traces/min — target {TARGET_TRACES_PER_MINUTE:.0}/min: {}",
        started.elapsed().as_secs_f64(),
        if per_minute >= TARGET_TRACES_PER_MINUTE {
            "met"
        } else {
            "NOT met"
        }
    );

    // Single traces from 8 concurrent callers, as submit_trace receives them.
    let started = Instant::now();
    let mut callers = Vec::new();
    for caller in 0..8 {
        let app = app.clone();
        let owner = owner.clone();
        let each = total / 8;
        callers.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(each);
            for i in 0..each {
                let one = Instant::now();
                app.evaluation
                    .ingest(&owner, vec![trace(caller * each + i)], TraceSource::Mcp)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                latencies.push(one.elapsed());
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for caller in callers {
        latencies.extend(caller.await??);
    }
    latencies.sort();
    let per_minute = latencies.len() as f64 / started.elapsed().as_secs_f64() * 60.0;
    println!(
        "ingestion one at a time, 8 callers: {} traces, {per_minute:.0} traces/min, per trace p50 {:.0} µs, p99 {:.0} µs — target {TARGET_TRACES_PER_MINUTE:.0}/min: {}",
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        if per_minute >= TARGET_TRACES_PER_MINUTE {
            "met"
        } else {
            "NOT met"
        }
    );
    Ok(())
}
