//! `calculate` benchmark: the cost of one clinical calculation in process — argument
//! parsing, unit conversion, range checks, the formula and the result — for every
//! calculator, as `cargo bench --bench calculate` prints it.

use std::time::{Duration, Instant};

use consilium::health::calculators::{self, tools::CalculateArguments};
use serde_json::json;

/// Target from the issue: p99 of one `calculate` under 100 µs.
const TARGET_P99_MICROS: f64 = 100.0;

fn main() -> anyhow::Result<()> {
    let quick = std::env::var_os("CONSILIUM_BENCH_QUICK").is_some();
    let iterations = if quick { 2_000 } else { 50_000 };
    let cases = [
        json!({"calculator": "cockcroft_gault", "inputs": {"age": 60, "weight": "158.7 lb", "creatinine": "88.4 umol/L", "sex": "male"}}),
        json!({"calculator": "ckd_epi_2021", "inputs": {"age": 50, "creatinine": 0.8, "sex": "female"}}),
        json!({"calculator": "bmi", "inputs": {"weight": 70, "height": "1.75 m"}}),
        json!({"calculator": "heart", "inputs": {"history": "moderately_suspicious", "ecg": "normal", "age": 55, "risk_factors": 2, "troponin": "normal"}}),
        json!({"calculator": "child_pugh", "inputs": {"bilirubin": 2.5, "albumin": 3.0, "inr": 2.0, "ascites": "slight", "encephalopathy": "none"}}),
    ];
    let mut samples: Vec<Duration> = Vec::with_capacity(iterations);
    for i in 0..iterations {
        let case = &cases[i % cases.len()];
        let started = Instant::now();
        // The whole in-process path: JSON arguments in, a serialised result out.
        let parsed: CalculateArguments = serde_json::from_value(case.clone())?;
        let result = calculators::tools::calculate(&parsed).map_err(|e| anyhow::anyhow!("{e}"))?;
        let _ = serde_json::to_vec(&result)?;
        samples.push(started.elapsed());
    }
    samples.sort();
    let at = |p: f64| samples[((samples.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e6;
    let (p50, p99) = (at(0.5), at(0.99));
    println!(
        "calculate, {} calculators in turn, {iterations} calls: p50 {p50:.1} µs, p99 {p99:.1} µs — target p99 < {TARGET_P99_MICROS} µs: {}",
        cases.len(),
        if p99 < TARGET_P99_MICROS {
            "met"
        } else {
            "NOT met"
        }
    );
    println!("calculators available: {}", calculators::all().count());
    Ok(())
}
