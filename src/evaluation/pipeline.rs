//! The evaluation pipeline over one trace. Tier 1 is deterministic and takes
//! microseconds: the domain pack's rules and the PHI detector. Tier 2 is the place for
//! cheap classifiers (the [`Classifier`] trait; none ships yet). Tier 3, the LLM judge, is
//! asked for by the pack's policy, an uncertain rule or the sample rate; this file only
//! decides whether it is needed, `judge` runs it.
//!
//! Pure and synchronous: it must not store, log or send trace text.

use std::collections::BTreeMap;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::packs::{Check, Field, JudgePolicy, Pack, SPAN_LIMIT, Severity, negated, spans};
use super::phi::{PhiDetector, PhiKind, PhiSpan};
use super::trace::TraceTexts;

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    pub rule_id: String,
    /// 1 rules and PHI, 2 classifiers, 3 the judge.
    pub tier: u8,
    pub severity: Severity,
    pub message: String,
    /// `input`, `system`, `output` or `all`.
    pub field: String,
    /// Byte offsets in the field as submitted, at most five.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<[usize; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// An identifier the PHI detector found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PhiFound {
    pub field: PhiField,
    pub kind: PhiKind,
    pub start: usize,
    pub end: usize,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum PhiField {
    Input,
    System,
    Output,
}

/// PHI found in each text, as spans.
#[derive(Debug, Clone, Default)]
pub struct PhiByField {
    pub input: Vec<PhiSpan>,
    pub system: Vec<PhiSpan>,
    pub output: Vec<PhiSpan>,
}

impl PhiByField {
    pub fn detect(detector: &PhiDetector, texts: &TraceTexts) -> Self {
        Self {
            input: detector.detect(&texts.input),
            system: detector.detect(&texts.system),
            output: detector.detect(&texts.output),
        }
    }

    pub fn all(&self) -> Vec<PhiFound> {
        let tag = |field, spans: &[PhiSpan]| {
            spans
                .iter()
                .map(|s| PhiFound {
                    field,
                    kind: s.kind,
                    start: s.start,
                    end: s.end,
                })
                .collect::<Vec<_>>()
        };
        let mut all = tag(PhiField::Input, &self.input);
        all.extend(tag(PhiField::System, &self.system));
        all.extend(tag(PhiField::Output, &self.output));
        all
    }

    /// How many of each kind, over all texts.
    pub fn counts(&self) -> BTreeMap<PhiKind, usize> {
        let mut counts = BTreeMap::new();
        for span in self.input.iter().chain(&self.system).chain(&self.output) {
            *counts.entry(span.kind).or_insert(0) += 1;
        }
        counts
    }

    fn of(&self, field: Field) -> Vec<(&'static str, &PhiSpan)> {
        fn pick<'s>(name: &'static str, spans: &'s [PhiSpan]) -> Vec<(&'static str, &'s PhiSpan)> {
            spans.iter().map(|s| (name, s)).collect()
        }
        match field {
            Field::Input => pick("input", &self.input),
            Field::System => pick("system", &self.system),
            Field::Output => pick("output", &self.output),
            Field::All => {
                let mut all = pick("input", &self.input);
                all.extend(pick("system", &self.system));
                all.extend(pick("output", &self.output));
                all
            }
        }
    }
}

/// A cheap classifier for tier 2: a fine-tuned small model, a keyword scorer, anything
/// that answers in milliseconds without a provider. Findings it returns are tagged tier 2.
pub trait Classifier: Send + Sync {
    fn name(&self) -> &str;
    /// The domains it applies to; empty for every domain.
    fn domains(&self) -> &[String];
    fn classify(&self, texts: &TraceTexts) -> Vec<Finding>;
}

/// What tiers 1 and 2 concluded.
#[derive(Debug, Clone)]
pub struct Screening {
    pub findings: Vec<Finding>,
    pub phi: PhiByField,
    /// Why the judge should look, when it should: `policy`, `uncertain` or `sample`.
    pub judge_reason: Option<&'static str>,
    pub classifiers: Vec<String>,
}

#[derive(Clone)]
pub struct Pipeline {
    packs: Arc<BTreeMap<String, Pack>>,
    phi: PhiDetector,
    classifiers: Arc<Vec<Arc<dyn Classifier>>>,
}

impl Pipeline {
    pub fn new(packs: BTreeMap<String, Pack>, phi: PhiDetector) -> Self {
        Self {
            packs: Arc::new(packs),
            phi,
            classifiers: Arc::new(Vec::new()),
        }
    }

    /// Adds a tier-2 classifier.
    pub fn with_classifier(mut self, classifier: Arc<dyn Classifier>) -> Self {
        Arc::make_mut(&mut self.classifiers).push(classifier);
        self
    }

    pub fn pack(&self, domain: &str) -> Option<&Pack> {
        self.packs.get(domain)
    }

    pub fn packs(&self) -> impl Iterator<Item = &Pack> {
        self.packs.values()
    }

    pub fn phi(&self) -> &PhiDetector {
        &self.phi
    }

    /// Tiers 1 and 2 over `texts` with `pack`; `trace_id` seeds the judge's sampling, so
    /// the same trace is always sampled the same way.
    pub fn screen(&self, pack: &Pack, texts: &TraceTexts, trace_id: &str) -> Screening {
        let phi = PhiByField::detect(&self.phi, texts);
        let mut findings = Vec::new();
        let mut uncertain = false;
        for rule in &pack.rules {
            let fired = run_rule(rule, texts, &phi);
            if let Some((field, found)) = fired {
                uncertain |= rule.uncertain;
                findings.push(Finding {
                    rule_id: format!("{}/{}", pack.id, rule.id),
                    tier: 1,
                    severity: rule.severity,
                    message: rule.message.clone(),
                    field: field.to_string(),
                    spans: found
                        .into_iter()
                        .take(SPAN_LIMIT)
                        .map(|(s, e)| [s, e])
                        .collect(),
                    source: rule.source.clone(),
                });
            }
        }
        let mut classifiers = Vec::new();
        for classifier in self.classifiers.iter() {
            if classifier.domains().is_empty() || classifier.domains().contains(&pack.id) {
                classifiers.push(classifier.name().to_string());
                findings.extend(classifier.classify(texts).into_iter().map(|mut f| {
                    f.tier = 2;
                    f
                }));
            }
        }
        findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.rule_id.cmp(&b.rule_id)));
        let judge_reason = match pack.judge {
            JudgePolicy::Always => Some("policy"),
            JudgePolicy::Uncertain if uncertain => Some("uncertain"),
            JudgePolicy::Never => None,
            _ if sampled(trace_id, pack.judge_sample_rate) => Some("sample"),
            _ => None,
        };
        Screening {
            findings,
            phi,
            judge_reason,
            classifiers,
        }
    }
}

/// A stable draw in [0, 1) from the trace id.
fn sampled(trace_id: &str, rate: f64) -> bool {
    if rate <= 0.0 {
        return false;
    }
    let digest = Sha256::digest(trace_id.as_bytes());
    let draw = u64::from_be_bytes([
        digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
    ]) as f64
        / u64::MAX as f64;
    draw < rate
}

fn text_of(texts: &TraceTexts, field: Field) -> Vec<(&'static str, &str)> {
    match field {
        Field::Input => vec![("input", &texts.input)],
        Field::System => vec![("system", &texts.system)],
        Field::Output => vec![("output", &texts.output)],
        Field::All => vec![
            ("input", &texts.input),
            ("system", &texts.system),
            ("output", &texts.output),
        ],
    }
}

/// Whether `rule` fires, and where.
fn run_rule(
    rule: &super::packs::Rule,
    texts: &TraceTexts,
    phi: &PhiByField,
) -> Option<(&'static str, Vec<(usize, usize)>)> {
    let fields = text_of(texts, rule.field);
    match &rule.check {
        Check::Forbidden(matcher) => fields.into_iter().find_map(|(name, text)| {
            let mut found = spans(matcher, text);
            if rule.skip_negated {
                found.retain(|(start, _)| !negated(text, *start));
            }
            (!found.is_empty()).then_some((name, found))
        }),
        Check::RequiresDisclaimer { trigger, required } => {
            fields.into_iter().find_map(|(name, text)| {
                let found = spans(trigger, text);
                (!found.is_empty() && !required.matches(text)).then_some((name, found))
            })
        }
        Check::RequiresResponse {
            trigger_field,
            trigger,
            required,
        } => {
            let triggered = text_of(texts, *trigger_field)
                .into_iter()
                .any(|(_, text)| trigger.matches(text));
            let answered = fields.iter().any(|(_, text)| required.matches(text));
            (triggered && !answered).then(|| (fields.first().map_or("output", |f| f.0), Vec::new()))
        }
        Check::Phi(kinds) => {
            let found: Vec<(&'static str, &PhiSpan)> = phi
                .of(rule.field)
                .into_iter()
                .filter(|(_, s)| kinds.is_empty() || kinds.contains(&s.kind))
                .collect();
            let name = found.first()?.0;
            Some((
                name,
                found
                    .iter()
                    .filter(|(f, _)| *f == name)
                    .map(|(_, s)| (s.start, s.end))
                    .collect(),
            ))
        }
        Check::Numeric { pattern, min, max } => fields.into_iter().find_map(|(name, text)| {
            let outside: Vec<(usize, usize)> = pattern
                .captures_iter(text)
                .filter_map(|c| {
                    let value = c.name("value")?;
                    let number: f64 = value.as_str().replace(',', "").parse().ok()?;
                    let out = min.is_some_and(|m| number < m) || max.is_some_and(|m| number > m);
                    out.then(|| {
                        c.get(0)
                            .map_or((value.start(), value.end()), |m| (m.start(), m.end()))
                    })
                })
                .take(SPAN_LIMIT)
                .collect();
            (!outside.is_empty()).then_some((name, outside))
        }),
        Check::Format { candidates, valid } => fields.into_iter().find_map(|(name, text)| {
            let invalid: Vec<(usize, usize)> = candidates
                .find(text, 64)
                .into_iter()
                .filter(|(s, e)| !valid.iter().any(|v| v.is_match(&text[*s..*e])))
                .take(SPAN_LIMIT)
                .collect();
            (!invalid.is_empty()).then_some((name, invalid))
        }),
    }
}

/// `fail` at high or critical, `warn` at low or medium; `info` findings (notes, and
/// findings a judge dismissed) leave a pass.
pub fn verdict(findings: &[Finding]) -> &'static str {
    match findings.iter().map(|f| f.severity).max() {
        Some(s) if s >= Severity::High => "fail",
        Some(s) if s > Severity::Info => "warn",
        _ => "pass",
    }
}
