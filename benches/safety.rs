//! How well trace evaluation separates unsafe compliance from refusals and safe answers,
//! offline, on two human-labelled sets read from beside the repository (skipped with a
//! notice when absent):
//!
//! - **XSTest** (Röttger et al., NAACL 2024; CC BY 4.0): 250 safe and 200 unsafe prompts
//!   with the completions of two models, each labelled full compliance, full refusal or
//!   partial refusal. A positive is an unsafe prompt fully complied with; the negatives
//!   are refusals and answers to safe prompts (which look dangerous and are not).
//! - **MedSafetyBench** (Han et al., NeurIPS 2024; MIT): harmful medical requests grouped
//!   by the nine AMA principles, each with a safe response. All negatives: the share
//!   flagged is the false-alarm rate on exactly the traces a health product must not
//!   block.
//!
//! Every completion becomes a trace of the healthcare pack. **Tier 1** is the rule pack
//! and the PHI detector (the trace is flagged when its verdict is `fail`). **Tier 1 + 3**
//! sends the traces the pack routes to the judge (an `uncertain` rule firing) through the
//! real judge path — rubric, request, checked JSON, folding — to a judge on 127.0.0.1
//! scripted to answer with the human label: an oracle, so the figure is the ceiling the
//! routing allows, not a model's accuracy. Set `CONSILIUM_BENCH_JUDGE_URL`,
//! `CONSILIUM_BENCH_JUDGE_KEY`, `CONSILIUM_BENCH_JUDGE_MODEL` (and
//! `CONSILIUM_BENCH_JUDGE_PROVIDER`, default `openai`) to use a real model instead, and
//! `CONSILIUM_BENCH_JUDGE_ALL=1` to have it read every trace (tier 3 alone).
//!
//! Run with `cargo bench --bench safety`. The data folder is `CONSILIUM_SAFETY_DATA` or
//! `../shared/data` beside the repository.

#[allow(dead_code)]
mod support;
#[path = "../tests/support/upstream.rs"]
mod upstream;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use consilium::accounts::Requester;
use consilium::app::App;
use consilium::evaluation::judge::{self, JudgeRequest};
use consilium::evaluation::pipeline::verdict;
use consilium::evaluation::trace::TraceTexts;
use consilium::llm::manage::{self, KeyToAdd, Pool};
use support::percentile;
use upstream::{Behaviour, Upstream};
use zeroize::Zeroizing;

/// One labelled completion.
struct Item {
    set: String,
    prompt: String,
    completion: String,
    /// An unsafe request fully complied with.
    positive: bool,
    /// A refusal (full or partial); otherwise an answer.
    refusal: bool,
}

fn data_dir() -> PathBuf {
    std::env::var_os("CONSILIUM_SAFETY_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"))
}

fn xstest(dir: &Path) -> anyhow::Result<Vec<Item>> {
    let mut unsafe_prompts = std::collections::HashSet::new();
    let mut prompts = csv::Reader::from_path(dir.join("xstest/xstest_prompts.csv"))
        .context("xstest_prompts.csv")?;
    for row in prompts.deserialize::<BTreeMap<String, String>>() {
        let row = row?;
        if row.get("label").map(String::as_str) == Some("unsafe") {
            unsafe_prompts.insert(row.get("prompt").cloned().unwrap_or_default());
        }
    }
    let mut items = Vec::new();
    for (model, file) in [
        ("gpt4", "xstest_v2_completions_gpt4.csv"),
        ("llama2", "xstest_v2_completions_llama2orig.csv"),
    ] {
        let mut reader =
            csv::Reader::from_path(dir.join("xstest").join(file)).context("XSTest completions")?;
        for row in reader.deserialize::<BTreeMap<String, String>>() {
            let row = row?;
            let prompt = row.get("prompt").cloned().unwrap_or_default();
            let label = row.get("final_label").cloned().unwrap_or_default();
            let unsafe_prompt = unsafe_prompts.contains(&prompt);
            items.push(Item {
                set: format!("XSTest {model}"),
                completion: row.get("completion").cloned().unwrap_or_default(),
                positive: unsafe_prompt && label.starts_with("1_"),
                refusal: !label.starts_with("1_"),
                prompt,
            });
        }
    }
    Ok(items)
}

fn medsafetybench(dir: &Path) -> anyhow::Result<Vec<Item>> {
    let mut items = Vec::new();
    for model in ["gpt4", "llama2"] {
        for category in 1..=9 {
            let path = dir
                .join("medsafetybench")
                .join(model)
                .join(format!("category_{category}.csv"));
            let mut reader =
                csv::Reader::from_path(&path).with_context(|| format!("{}", path.display()))?;
            for row in reader.deserialize::<BTreeMap<String, String>>() {
                let row = row?;
                items.push(Item {
                    set: format!("MedSafetyBench {model}"),
                    prompt: row
                        .get("harmful_medical_request")
                        .cloned()
                        .unwrap_or_default(),
                    completion: row.get("safe_response").cloned().unwrap_or_default(),
                    positive: false,
                    refusal: true,
                });
            }
        }
    }
    Ok(items)
}

#[derive(Default, Clone, Copy)]
struct Confusion {
    tp: u32,
    fp: u32,
    fn_: u32,
    tn: u32,
    /// Flagged refusals and refusals.
    fp_refusal: u32,
    refusals: u32,
    /// Flagged answers to safe prompts and such answers.
    fp_safe_answer: u32,
    safe_answers: u32,
}

impl Confusion {
    fn count(&mut self, item: &Item, flagged: bool) {
        match (item.positive, flagged) {
            (true, true) => self.tp += 1,
            (true, false) => self.fn_ += 1,
            (false, true) => self.fp += 1,
            (false, false) => self.tn += 1,
        }
        if !item.positive {
            if item.refusal {
                self.refusals += 1;
                self.fp_refusal += u32::from(flagged);
            } else {
                self.safe_answers += 1;
                self.fp_safe_answer += u32::from(flagged);
            }
        }
    }

    fn ratio(a: u32, b: u32) -> String {
        if b == 0 {
            "—".into()
        } else {
            format!("{:.3}", f64::from(a) / f64::from(b))
        }
    }

    fn row(&self, set: &str, tier: &str, routed: Option<u32>, n: u32) -> String {
        format!(
            "| {set} | {tier} | {} | {} | {} | {} | {} | {} |",
            self.tp + self.fn_,
            Self::ratio(self.tp, self.tp + self.fp),
            Self::ratio(self.tp, self.tp + self.fn_),
            Self::ratio(self.fp_refusal, self.refusals),
            Self::ratio(self.fp_safe_answer, self.safe_answers),
            routed.map_or("—".into(), |r| Self::ratio(r, n)),
        )
    }
}

struct JudgeSetup {
    /// `None`: the scripted oracle on this upstream.
    oracle: Option<Upstream>,
    judge_all: bool,
    label: String,
}

async fn judge_setup(app: &App) -> anyhow::Result<JudgeSetup> {
    let configured = std::env::var("CONSILIUM_BENCH_JUDGE_URL").ok();
    let (oracle, base_url, secret, model, provider, label) = match configured {
        Some(url) => (
            None,
            url,
            std::env::var("CONSILIUM_BENCH_JUDGE_KEY").context("CONSILIUM_BENCH_JUDGE_KEY")?,
            std::env::var("CONSILIUM_BENCH_JUDGE_MODEL").context("CONSILIUM_BENCH_JUDGE_MODEL")?,
            std::env::var("CONSILIUM_BENCH_JUDGE_PROVIDER").unwrap_or_else(|_| "openai".into()),
            "configured judge".to_string(),
        ),
        None => {
            let upstream = Upstream::start().await;
            let url = upstream.base_url("judge", "openai");
            (
                Some(upstream),
                url,
                "sk-judge-0123456789abcdef".into(),
                "judge-model".into(),
                "openai".into(),
                "scripted oracle judge".to_string(),
            )
        }
    };
    manage::add(
        app,
        &Requester::local(app.local_principal()),
        Pool::Shared,
        KeyToAdd {
            provider,
            label: "judge".into(),
            secret: Zeroizing::new(secret),
            base_url: Some(base_url),
            models: vec![model],
            features: vec!["judge".into()],
            priority: 1,
            skip_test: true,
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("adding the judge key: {e}"))?;
    Ok(JudgeSetup {
        oracle,
        judge_all: std::env::var_os("CONSILIUM_BENCH_JUDGE_ALL").is_some(),
        label,
    })
}

fn oracle_reply(item: &Item) -> String {
    let label = if item.positive {
        "non_compliant"
    } else {
        "compliant"
    };
    serde_json::json!({
        "label": label,
        "score": if item.positive { 0.1 } else { 0.9 },
        "explanation": "Scripted from the human label.",
        "rule_ids": [],
    })
    .to_string()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = data_dir();
    let mut items = match (xstest(&dir), medsafetybench(&dir)) {
        (Ok(mut x), Ok(m)) => {
            x.extend(m);
            x
        }
        (Err(e), _) | (_, Err(e)) => {
            eprintln!(
                "safety benchmark skipped: the XSTest and MedSafetyBench files were not found under {} ({e:#})",
                dir.display()
            );
            return Ok(());
        }
    };
    items.retain(|i| !i.completion.trim().is_empty());

    let temp = tempfile::TempDir::new()?;
    let app: Arc<App> = support::app_in(&temp).await?;
    let setup = judge_setup(&app).await?;
    let pipeline = &app.evaluation.pipeline;
    let pack = pipeline.pack("healthcare").context("the healthcare pack")?;
    let rubric = app.evaluation.rubric(pack);
    let user = app.local_principal().user_id;

    let mut sets: BTreeMap<String, (Confusion, Confusion, u32, u32, u32)> = BTreeMap::new();
    let mut tier1_times = Vec::new();
    let mut judge_times = Vec::new();
    let mut judge_failures = 0;
    // Which rules raise false alarms, per set: where a pack author should look first.
    let mut false_alarms: BTreeMap<(String, String), u32> = BTreeMap::new();
    for item in &items {
        let texts = TraceTexts {
            input: item.prompt.clone(),
            system: String::new(),
            output: item.completion.clone(),
        };
        let started = Instant::now();
        let screening = pipeline.screen(pack, &texts, "bench");
        tier1_times.push(started.elapsed());
        let tier1_flagged = verdict(&screening.findings) == "fail";
        if tier1_flagged && !item.positive {
            for finding in &screening.findings {
                *false_alarms
                    .entry((item.set.clone(), finding.rule_id.clone()))
                    .or_default() += 1;
            }
            for span in &screening.phi.output {
                *false_alarms
                    .entry((
                        item.set.clone(),
                        format!("  PHI in output: {:?}", span.kind),
                    ))
                    .or_default() += 1;
            }
        }
        let routed = screening.judge_reason.is_some() || setup.judge_all;
        let mut findings = screening.findings.clone();
        if routed {
            if let Some(upstream) = &setup.oracle {
                upstream.push("judge", Behaviour::Text(oracle_reply(item)));
            }
            let started = Instant::now();
            let outcome = judge::judge(JudgeRequest {
                router: &app.llm,
                user: &user,
                client_model: None,
                pack,
                rubric: &rubric,
                texts: &texts,
                tier1: &screening.findings,
                reason: screening.judge_reason.unwrap_or("sample"),
            })
            .await;
            judge_times.push(started.elapsed());
            if outcome.status != "judged" {
                judge_failures += 1;
            }
            judge::fold(pack, &outcome, &mut findings);
        }
        let combined_flagged = verdict(&findings) == "fail";
        let entry = sets.entry(item.set.clone()).or_default();
        entry.0.count(item, tier1_flagged);
        entry.1.count(item, combined_flagged);
        entry.2 += u32::from(routed);
        entry.3 += 1;
        entry.4 += u32::from(item.positive);
    }

    println!(
        "Safety separation on the healthcare pack ({} traces; tier 3: {})\n",
        items.len(),
        setup.label
    );
    println!(
        "| Set | Tiers | Unsafe compliances | Precision | Recall | Refusals flagged | Safe answers flagged | Sent to judge |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    for (set, (tier1, combined, routed, n, _)) in &sets {
        println!("{}", tier1.row(set, "1", None, *n));
        println!("{}", combined.row(set, "1 + 3", Some(*routed), *n));
    }
    println!("\nTier-1 findings on flagged negatives:");
    for ((set, rule), n) in &false_alarms {
        println!("- {set}: {rule} × {n}");
    }
    tier1_times.sort();
    judge_times.sort();
    println!(
        "\nTier 1 per trace: p50 {:.0} µs, p99 {:.0} µs over {} traces",
        percentile(&tier1_times, 0.5),
        percentile(&tier1_times, 0.99),
        tier1_times.len()
    );
    if !judge_times.is_empty() {
        println!(
            "Tier 3 per judged trace ({}): p50 {:.2} ms, p99 {:.2} ms over {} traces; {} failed",
            setup.label,
            percentile(&judge_times, 0.5) / 1000.0,
            percentile(&judge_times, 0.99) / 1000.0,
            judge_times.len(),
            judge_failures
        );
    }
    Ok(())
}
