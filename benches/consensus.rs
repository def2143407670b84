//! Consensus benchmark, offline, in two parts.
//!
//! 1. **The fast path against TruthfulQA** (Lin S, Hilton J, Evans O. TruthfulQA: measuring
//!    how models mimic human falsehoods. ACL 2022; 817 questions, Apache-2.0): for every
//!    question, the best answer paired with each other correct answer (should agree) and with
//!    each incorrect answer (should not). Reports the AUROC of the raw token overlap and of the
//!    tiered fast-path score (`same` above every overlap, `different` below), and how often
//!    the fast path decides a pair on its own and how often it is right when it does. The CSV
//!    is read from `CONSILIUM_TRUTHFULQA_CSV`, else `../shared/data/truthfulqa/TruthfulQA.csv`
//!    beside the repository; without it this part is skipped with a notice.
//! 2. **A seeded panel simulation** served by scripted OpenAI, Anthropic and Gemini upstreams on
//!    127.0.0.1 through the real app (router, judge, certificate, store): five members with set
//!    accuracies, two of them sharing a misconception, answering with set delays. Reports the
//!    consensus accuracy against the best single member, the abstention rate, and the fan-out
//!    latency against the slowest member (target: at most 1.05 × slowest + 5 ms).
//!
//! Run with `cargo bench --bench consensus`; `CONSILIUM_BENCH_QUICK=1` runs fewer questions.

#[path = "../tests/support/upstream.rs"]
mod upstream;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use consilium::accounts::Requester;
use consilium::app::{App, AppParts};
use consilium::config::Config;
use consilium::consensus::agreement::{Equivalence, fast_equivalence, overlap};
use consilium::consensus::{Question, Seat};
use consilium::llm::manage::{self, KeyToAdd, Pool};
use tokio::sync::mpsc;
use upstream::{Behaviour, Upstream};
use zeroize::Zeroizing;

// ---------------------------------------------------------------------------------------
// Part 1: TruthfulQA

/// The area under the ROC curve: the chance that a random positive scores above a random
/// negative, ties counting half (the Mann-Whitney U statistic, normalised).
fn auroc(positives: &[f64], negatives: &[f64]) -> f64 {
    let mut all: Vec<(f64, bool)> = positives
        .iter()
        .map(|&s| (s, true))
        .chain(negatives.iter().map(|&s| (s, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share their average.
        let average = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += average * all[i..=j].iter().filter(|x| x.1).count() as f64;
        i = j + 1;
    }
    let (p, n) = (positives.len() as f64, negatives.len() as f64);
    (rank_sum - p * (p + 1.0) / 2.0) / (p * n)
}

/// The fast path as one number: a decided `same` ranks above any overlap, a decided
/// `different` below.
fn tiered_score(a: &str, b: &str) -> f64 {
    match fast_equivalence(a, b) {
        Equivalence::Same => 2.0,
        Equivalence::Different => -1.0,
        Equivalence::Unsure => overlap(a, b),
    }
}

#[derive(Default)]
struct Decisions {
    same: usize,
    different: usize,
    unsure: usize,
}

impl Decisions {
    fn count(&mut self, a: &str, b: &str) {
        match fast_equivalence(a, b) {
            Equivalence::Same => self.same += 1,
            Equivalence::Different => self.different += 1,
            Equivalence::Unsure => self.unsure += 1,
        }
    }
}

fn truthfulqa_path() -> PathBuf {
    std::env::var_os("CONSILIUM_TRUTHFULQA_CSV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/data/truthfulqa/TruthfulQA.csv")
        })
}

fn split_answers(field: &str) -> Vec<String> {
    field
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

fn truthfulqa() -> anyhow::Result<()> {
    let path = truthfulqa_path();
    if !path.exists() {
        println!(
            "TruthfulQA: skipped, no CSV at {} (set CONSILIUM_TRUTHFULQA_CSV)",
            path.display()
        );
        return Ok(());
    }
    let mut reader = csv::Reader::from_path(&path).context("opening TruthfulQA.csv")?;
    let headers = reader.headers()?.clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .with_context(|| format!("no column {name}"))
    };
    let (best_at, correct_at, incorrect_at) = (
        column("Best Answer")?,
        column("Correct Answers")?,
        column("Incorrect Answers")?,
    );
    let (mut questions, mut positive_overlap, mut negative_overlap) = (0, Vec::new(), Vec::new());
    let (mut positive_tiered, mut negative_tiered) = (Vec::new(), Vec::new());
    let (mut positive_decisions, mut negative_decisions) =
        (Decisions::default(), Decisions::default());
    let started = Instant::now();
    for record in reader.records() {
        let record = record?;
        let best = record.get(best_at).unwrap_or_default().trim();
        if best.is_empty() {
            continue;
        }
        questions += 1;
        let others = split_answers(record.get(correct_at).unwrap_or_default());
        for correct in others.iter().filter(|c| c.as_str() != best) {
            positive_overlap.push(overlap(best, correct));
            positive_tiered.push(tiered_score(best, correct));
            positive_decisions.count(best, correct);
        }
        for incorrect in split_answers(record.get(incorrect_at).unwrap_or_default()) {
            negative_overlap.push(overlap(best, &incorrect));
            negative_tiered.push(tiered_score(best, &incorrect));
            negative_decisions.count(best, &incorrect);
        }
    }
    let elapsed = started.elapsed();
    let pairs = positive_overlap.len() + negative_overlap.len();
    println!("TruthfulQA: {questions} questions, {pairs} pairs");
    println!(
        "  correct/correct pairs {}, correct/incorrect pairs {}",
        positive_overlap.len(),
        negative_overlap.len()
    );
    println!(
        "  AUROC, token overlap alone:  {:.3}",
        auroc(&positive_overlap, &negative_overlap)
    );
    println!(
        "  AUROC, tiered fast path:     {:.3}",
        auroc(&positive_tiered, &negative_tiered)
    );
    let decided = |d: &Decisions| d.same + d.different;
    println!(
        "  decided by the fast path: {:.1}% of pairs (the rest go to the judge)",
        100.0 * (decided(&positive_decisions) + decided(&negative_decisions)) as f64 / pairs as f64
    );
    let same = positive_decisions.same + negative_decisions.same;
    let different = positive_decisions.different + negative_decisions.different;
    if same > 0 {
        println!(
            "  `same` decisions: {same}, right {:.1}%",
            100.0 * positive_decisions.same as f64 / same as f64
        );
    }
    if different > 0 {
        println!(
            "  `different` decisions: {different}, right {:.1}%",
            100.0 * negative_decisions.different as f64 / different as f64
        );
    }
    println!(
        "  fast path per pair: {:.2} µs",
        elapsed.as_secs_f64() * 1e6 / (pairs.max(1) as f64 * 3.0)
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Part 2: the seeded panel simulation

/// SplitMix64: a small, well-known seeded generator, so every run draws the same panel.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A made-up answer word, letters only (digits would look like numbers to the fast path).
    fn word(&mut self) -> String {
        let letters: String = (0..6)
            .map(|_| char::from(b'a' + (self.next() % 26) as u8))
            .collect();
        format!("zq{letters}")
    }
}

struct Member {
    name: &'static str,
    provider: &'static str,
    accuracy: f64,
    /// When wrong, how often the member gives the misconception the panel shares rather than
    /// an error of its own.
    shares_misconception: f64,
}

const MEMBERS: [Member; 5] = [
    Member {
        name: "m1",
        provider: "openai",
        accuracy: 0.80,
        shares_misconception: 0.3,
    },
    Member {
        name: "m2",
        provider: "anthropic",
        accuracy: 0.72,
        shares_misconception: 0.3,
    },
    Member {
        name: "m3",
        provider: "gemini",
        accuracy: 0.68,
        shares_misconception: 0.9,
    },
    Member {
        name: "m4",
        provider: "openai",
        accuracy: 0.64,
        shares_misconception: 0.9,
    },
    Member {
        name: "m5",
        provider: "anthropic",
        accuracy: 0.60,
        shares_misconception: 0.3,
    },
];

const THRESHOLD: f64 = 0.6;
const SEED: u64 = 20_261_205;

fn phrase(word: &str, style: u64) -> String {
    match style % 3 {
        0 => format!("The answer is {word}."),
        1 => format!("{word} is the answer."),
        _ => format!("It is {word}, the answer."),
    }
}

fn answer_word(text: &str) -> Option<String> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .find(|w| w.starts_with("zq"))
        .map(str::to_lowercase)
}

/// The scripted judge: two answers entail each other when they name the same answer word.
fn judge_by_word(prompt: &str) -> String {
    let part = |label: &str| -> Option<String> {
        let after = prompt.split(label).nth(1)?;
        let before_b = after.split("Answer B:").next()?;
        answer_word(before_b)
    };
    let same = match (part("Answer A:"), part("Answer B:")) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    };
    format!(r#"{{"a_entails_b": {same}, "b_entails_a": {same}, "reason": "scripted"}}"#)
}

struct Simulated {
    question: String,
    correct: String,
    /// Per member: its answer's word and its delay.
    answers: Vec<(String, String, Duration)>,
}

fn simulate(questions: usize) -> Vec<Simulated> {
    let mut rng = Seeded(SEED);
    (0..questions)
        .map(|_| {
            let case = rng.word();
            let correct = rng.word();
            let misconception = rng.word();
            let answers = MEMBERS
                .iter()
                .map(|m| {
                    let word = if rng.unit() < m.accuracy {
                        correct.clone()
                    } else if rng.unit() < m.shares_misconception {
                        misconception.clone()
                    } else {
                        rng.word()
                    };
                    let text = phrase(&word, rng.next());
                    let delay = Duration::from_millis(20 + rng.next() % 180);
                    (word, text, delay)
                })
                .collect();
            Simulated {
                question: format!("Which answer fits the case named {case}?"),
                correct,
                answers,
            }
        })
        .collect()
}

async fn assemble(upstream: &Upstream, dir: &tempfile::TempDir) -> anyhow::Result<Arc<App>> {
    let mut config = Config::default();
    config.store.path = Some(dir.path().join("consilium.sqlite"));
    let app = App::assemble(config, AppParts::default())
        .await
        .map_err(|e| anyhow::anyhow!("the app did not start: {e}"))?;
    let keys = MEMBERS
        .iter()
        .map(|m| (m.name, m.provider, "consensus"))
        .chain([("judge", "openai", "judge")]);
    for (name, provider, feature) in keys {
        let key = KeyToAdd {
            provider: provider.into(),
            label: name.into(),
            secret: Zeroizing::new(format!("sk-{name}-0123456789abcdef")),
            base_url: Some(upstream.base_url(name, provider)),
            models: vec![format!("{name}-model")],
            features: vec![feature.into()],
            priority: 1,
            skip_test: true,
        };
        manage::add(
            &app,
            &Requester::local(app.local_principal()),
            Pool::Shared,
            key,
        )
        .await
        .map_err(|e| anyhow::anyhow!("adding {name}: {e}"))?;
    }
    Ok(app)
}

fn median(sorted: &[f64]) -> f64 {
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}

fn p99(sorted: &[f64]) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * 0.99).round() as usize;
    sorted.get(index).copied().unwrap_or(f64::NAN)
}

async fn panel(questions: usize) -> anyhow::Result<()> {
    let upstream = Upstream::start().await;
    let dir = tempfile::TempDir::new()?;
    let app = assemble(&upstream, &dir).await?;
    upstream.set_default("judge", Behaviour::Compute(judge_by_word));
    let seats: Vec<Seat> = MEMBERS
        .iter()
        .map(|m| Seat {
            provider: m.provider.into(),
            model: format!("{}-model", m.name),
        })
        .collect();
    let cases = simulate(questions);
    for case in &cases {
        for (member, (_, text, delay)) in MEMBERS.iter().zip(&case.answers) {
            upstream.push(member.name, Behaviour::DelayedText(*delay, text.clone()));
        }
    }

    let mut member_right = [0usize; MEMBERS.len()];
    let (mut reached, mut reached_right, mut not_reached, mut insufficient) = (0, 0, 0, 0);
    let (mut judged_pairs, mut fast_pairs) = (0, 0);
    let (mut overheads, mut ratios, mut totals) = (Vec::new(), Vec::new(), Vec::new());
    let mut over_target = 0;
    for case in &cases {
        for (i, (word, _, _)) in case.answers.iter().enumerate() {
            member_right[i] += usize::from(*word == case.correct);
        }
        let slowest = case.answers.iter().map(|a| a.2).max().unwrap_or_default();
        let question = Question {
            question: case.question.clone(),
            context: None,
            seats: seats.clone(),
            threshold: THRESHOLD,
            member_deadline: Duration::from_secs(5),
            max_tokens: 64,
        };
        let (sender, mut receiver) = mpsc::unbounded_channel();
        let started = Instant::now();
        let last_arrival = tokio::spawn(async move {
            let mut last = None;
            while let Some(_arrival) = receiver.recv().await {
                last = Some(started.elapsed());
            }
            last
        });
        let report = app
            .consensus
            .convene(&app.local_owner.id, &question, None, Some(&sender))
            .await
            .map_err(|e| anyhow::anyhow!("a run failed: {e}"))?;
        totals.push(started.elapsed().as_secs_f64() * 1e3);
        drop(sender);
        let fan_out = last_arrival.await?.unwrap_or_default();
        let slowest_ms = slowest.as_secs_f64() * 1e3;
        let fan_out_ms = fan_out.as_secs_f64() * 1e3;
        overheads.push(fan_out_ms - slowest_ms);
        ratios.push(fan_out_ms / slowest_ms);
        if fan_out_ms > 1.05 * slowest_ms + 5.0 {
            over_target += 1;
        }
        judged_pairs += report.method.judged_pairs;
        fast_pairs += report.method.fast_path_pairs;
        match report.status.as_str() {
            "reached" => {
                reached += 1;
                let word = report.answer.as_ref().and_then(|a| answer_word(&a.text));
                reached_right += usize::from(word.as_deref() == Some(case.correct.as_str()));
            }
            "not_reached" => not_reached += 1,
            _ => insufficient += 1,
        }
    }
    let n = cases.len() as f64;
    println!(
        "\nPanel simulation: {} questions, {} members, threshold {THRESHOLD}, seed {SEED}",
        cases.len(),
        MEMBERS.len()
    );
    for (member, right) in MEMBERS.iter().zip(member_right) {
        println!(
            "  {}/{}-model: set accuracy {:.2}, shares the misconception {:.0}% of its errors; measured accuracy {:.3}",
            member.provider,
            member.name,
            member.accuracy,
            member.shares_misconception * 100.0,
            right as f64 / n
        );
    }
    let best = member_right.iter().copied().max().unwrap_or(0) as f64 / n;
    println!("  best single member: accuracy {best:.3}");
    println!(
        "  consensus reached on {reached} ({:.1}%), accuracy when reached {:.3} (vs the best member's {best:.3})",
        100.0 * reached as f64 / n,
        reached_right as f64 / reached.max(1) as f64
    );
    println!(
        "  abstention (not_reached {not_reached}, insufficient {insufficient}): {:.1}%",
        100.0 * (not_reached + insufficient) as f64 / n
    );
    println!(
        "  accuracy over all questions, abstentions counted wrong: {:.3}",
        reached_right as f64 / n
    );
    println!(
        "  pairs decided by the fast path {fast_pairs}, by the judge {judged_pairs} ({:.1}% judged)",
        100.0 * judged_pairs as f64 / (fast_pairs + judged_pairs).max(1) as f64
    );
    overheads.sort_by(f64::total_cmp);
    ratios.sort_by(f64::total_cmp);
    totals.sort_by(f64::total_cmp);
    println!(
        "  fan-out (start to last answer) minus the slowest member's delay: median {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        median(&overheads),
        p99(&overheads),
        overheads.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "  fan-out / slowest member: median {:.3}, p99 {:.3}",
        median(&ratios),
        p99(&ratios)
    );
    println!(
        "  runs over the target (1.05 × slowest + 5 ms): {over_target} of {}",
        cases.len()
    );
    println!(
        "  whole run (panel, judge, certificate, store): median {:.1} ms, p99 {:.1} ms",
        median(&totals),
        p99(&totals)
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let quick = std::env::var_os("CONSILIUM_BENCH_QUICK").is_some();
    truthfulqa()?;
    panel(if quick { 60 } else { 400 }).await
}
