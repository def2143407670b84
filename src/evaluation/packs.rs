//! Domain rule packs: the data in `tools/domains/*.toml` (an operator's folder can replace
//! or add packs without recompiling), validated and compiled once at start. A rule is one
//! check — phrases, patterns, a required disclaimer, a required response, PHI, a numeric
//! bound or a format — with a severity and a message. Phrase lists become one
//! Aho-Corasick automaton per rule, patterns `regex` programs (linear time, so no input
//! can make a scan blow up).
//!
//! This file reads rules and matches text; it must not store, log or send the text.

use std::collections::BTreeMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::Regex;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::phi::PhiKind;

/// The folder of the packs under `tools/`.
pub const PACKS_FOLDER: &str = "domains/";

/// Spans kept per finding: enough to show where, not a copy of the text.
const MAX_SPANS: usize = 5;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// Which text of a trace a rule reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Field {
    Input,
    #[default]
    Output,
    System,
    /// Input, system instructions and output.
    All,
}

impl Field {
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Input => "input",
            Field::Output => "output",
            Field::System => "system",
            Field::All => "all",
        }
    }
}

/// When the pack wants the LLM judge (tier 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum JudgePolicy {
    Never,
    /// When a rule marked `uncertain` fires.
    #[default]
    Uncertain,
    Always,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PackFile {
    pack: PackHeader,
    #[serde(default, rename = "rule")]
    rules: Vec<RuleSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PackHeader {
    id: String,
    name: String,
    description: String,
    version: String,
    #[serde(default)]
    judge: JudgePolicy,
    /// Share of traces also sent to the judge at random, 0–1.
    #[serde(default)]
    judge_sample_rate: f64,
}

/// One rule as written. Which fields apply depends on `check`; the rest must be absent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    id: String,
    check: String,
    severity: Severity,
    message: String,
    #[serde(default)]
    field: Field,
    /// Where the guideline or law behind the rule is written.
    #[serde(default)]
    source: Option<String>,
    /// A firing leaves the verdict to the judge as well.
    #[serde(default)]
    uncertain: bool,
    /// Matches right after a negation ("do not", "never"…) do not count.
    #[serde(default)]
    skip_negated: bool,
    #[serde(default)]
    phrases: Vec<String>,
    #[serde(default)]
    patterns: Vec<String>,
    #[serde(default)]
    trigger_field: Option<Field>,
    #[serde(default)]
    trigger_phrases: Vec<String>,
    #[serde(default)]
    trigger_patterns: Vec<String>,
    #[serde(default)]
    required_phrases: Vec<String>,
    #[serde(default)]
    required_patterns: Vec<String>,
    #[serde(default)]
    phi_kinds: Vec<String>,
    #[serde(default)]
    min: Option<f64>,
    #[serde(default)]
    max: Option<f64>,
    #[serde(default)]
    valid_patterns: Vec<String>,
}

/// Phrases (whole words, any case) and patterns; matches if any of them does.
#[derive(Debug, Clone)]
pub struct Matcher {
    phrases: Option<AhoCorasick>,
    patterns: Vec<Regex>,
}

impl Matcher {
    fn new(phrases: &[String], patterns: &[String], what: &str) -> Result<Self, String> {
        let phrases: Vec<String> = phrases
            .iter()
            .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        if phrases.iter().any(String::is_empty) {
            return Err(format!("{what}: a phrase is empty"));
        }
        let automaton = if phrases.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(&phrases)
                    .map_err(|e| format!("{what}: the phrases cannot be compiled: {e}"))?,
            )
        };
        let patterns = patterns
            .iter()
            .map(|p| {
                regex::RegexBuilder::new(p)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| format!("{what}: pattern {p:?} is not a valid regex: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            phrases: automaton,
            patterns,
        })
    }

    fn is_empty(&self) -> bool {
        self.phrases.is_none() && self.patterns.is_empty()
    }

    /// Up to `limit` matches, as byte spans in text order.
    pub fn find(&self, text: &str, limit: usize) -> Vec<(usize, usize)> {
        let mut spans = Vec::new();
        if let Some(automaton) = &self.phrases {
            for m in automaton.find_iter(text) {
                if whole_words(text, m.start(), m.end()) {
                    spans.push((m.start(), m.end()));
                    if spans.len() >= limit {
                        break;
                    }
                }
            }
        }
        for pattern in &self.patterns {
            if spans.len() >= limit {
                break;
            }
            for m in pattern.find_iter(text).take(limit - spans.len()) {
                spans.push((m.start(), m.end()));
            }
        }
        spans.sort_unstable();
        spans
    }

    pub fn matches(&self, text: &str) -> bool {
        !self.find(text, 1).is_empty()
    }
}

/// A phrase counts only as whole words: "dose" is not found in "dosed" or "overdose".
fn whole_words(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
}

#[derive(Debug, Clone)]
pub enum Check {
    /// Fires when any phrase or pattern is found.
    Forbidden(Matcher),
    /// Fires when the trigger is found and none of the required phrases is.
    RequiresDisclaimer { trigger: Matcher, required: Matcher },
    /// Fires when the trigger is in `trigger_field` and the reply holds none of the
    /// required phrases.
    RequiresResponse {
        trigger_field: Field,
        trigger: Matcher,
        required: Matcher,
    },
    /// Fires when the PHI detector finds one of these kinds (every kind when empty).
    Phi(Vec<PhiKind>),
    /// Fires when a number captured as `value` is outside [min, max].
    Numeric {
        pattern: Regex,
        min: Option<f64>,
        max: Option<f64>,
    },
    /// Fires for every candidate that matches none of the valid forms.
    Format {
        candidates: Matcher,
        valid: Vec<Regex>,
    },
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub severity: Severity,
    pub message: String,
    pub field: Field,
    pub source: Option<String>,
    pub uncertain: bool,
    pub skip_negated: bool,
    pub check: Check,
}

#[derive(Debug, Clone)]
pub struct Pack {
    pub id: String,
    pub name: String,
    pub description: String,
    pub version: String,
    pub judge: JudgePolicy,
    pub judge_sample_rate: f64,
    pub rules: Vec<Rule>,
}

/// A short summary of a pack for listings.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PackSummary {
    pub id: String,
    pub name: String,
    pub description: String,
    pub version: String,
    pub rules: usize,
    pub judge: JudgePolicy,
}

impl Pack {
    pub fn summary(&self) -> PackSummary {
        PackSummary {
            id: self.id.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            version: self.version.clone(),
            rules: self.rules.len(),
            judge: self.judge,
        }
    }

    /// Reads and compiles one pack file.
    pub fn parse(text: &str) -> Result<Pack, String> {
        let file: PackFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let header = file.pack;
        let id_ok = |id: &str| {
            !id.is_empty()
                && id.len() <= 64
                && id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        };
        if !id_ok(&header.id) {
            return Err(format!(
                "pack id {:?} must be 1–64 lower-case letters, digits, - or _",
                header.id
            ));
        }
        if !(0.0..=1.0).contains(&header.judge_sample_rate) {
            return Err("judge_sample_rate must be between 0 and 1".into());
        }
        if file.rules.is_empty() {
            return Err("a pack needs at least one [[rule]]".into());
        }
        let mut rules = Vec::with_capacity(file.rules.len());
        for spec in file.rules {
            if !id_ok(&spec.id) {
                return Err(format!(
                    "rule id {:?} must be 1–64 lower-case letters, digits, - or _",
                    spec.id
                ));
            }
            if rules.iter().any(|r: &Rule| r.id == spec.id) {
                return Err(format!("rule id {:?} is used twice", spec.id));
            }
            if spec.message.trim().is_empty() {
                return Err(format!("rule {:?} needs a message", spec.id));
            }
            rules.push(compile(spec)?);
        }
        Ok(Pack {
            id: header.id,
            name: header.name,
            description: header.description,
            version: header.version,
            judge: header.judge,
            judge_sample_rate: header.judge_sample_rate,
            rules,
        })
    }
}

fn compile(spec: RuleSpec) -> Result<Rule, String> {
    let what = format!("rule {:?}", spec.id);
    // Fields a check does not read must be absent, so a typo in the check's name or a
    // misplaced list is an error, not a rule that silently never fires.
    let mut unused: Vec<&str> = Vec::new();
    let mut note = |present: bool, name: &'static str| {
        if present {
            unused.push(name);
        }
    };
    let check = match spec.check.as_str() {
        "phrases" | "pattern" => {
            note(
                !spec.trigger_phrases.is_empty() || !spec.trigger_patterns.is_empty(),
                "trigger_*",
            );
            note(
                !spec.required_phrases.is_empty() || !spec.required_patterns.is_empty(),
                "required_*",
            );
            let matcher = Matcher::new(&spec.phrases, &spec.patterns, &what)?;
            if matcher.is_empty() {
                return Err(format!("{what}: list `phrases` or `patterns`"));
            }
            Check::Forbidden(matcher)
        }
        "requires_disclaimer" | "requires_response" => {
            note(
                !spec.phrases.is_empty() || !spec.patterns.is_empty(),
                "phrases/patterns",
            );
            let trigger = Matcher::new(&spec.trigger_phrases, &spec.trigger_patterns, &what)?;
            let required = Matcher::new(&spec.required_phrases, &spec.required_patterns, &what)?;
            if trigger.is_empty() || required.is_empty() {
                return Err(format!(
                    "{what}: list `trigger_phrases`/`trigger_patterns` and `required_phrases`/`required_patterns`"
                ));
            }
            if spec.check == "requires_disclaimer" {
                note(spec.trigger_field.is_some(), "trigger_field");
                Check::RequiresDisclaimer { trigger, required }
            } else {
                Check::RequiresResponse {
                    trigger_field: spec.trigger_field.unwrap_or(Field::Input),
                    trigger,
                    required,
                }
            }
        }
        "phi" => {
            note(
                !spec.phrases.is_empty() || !spec.patterns.is_empty(),
                "phrases/patterns",
            );
            let kinds = spec
                .phi_kinds
                .iter()
                .map(|k| PhiKind::parse(k).ok_or_else(|| format!("{what}: unknown PHI kind {k:?}")))
                .collect::<Result<Vec<_>, _>>()?;
            Check::Phi(kinds)
        }
        "numeric" => {
            if spec.patterns.len() != 1 {
                return Err(format!("{what}: a numeric check has exactly one pattern"));
            }
            let pattern = Regex::new(&spec.patterns[0])
                .map_err(|e| format!("{what}: the pattern is not a valid regex: {e}"))?;
            if !pattern.capture_names().any(|n| n == Some("value")) {
                return Err(format!(
                    "{what}: the pattern needs a capture group named `value`"
                ));
            }
            if spec.min.is_none() && spec.max.is_none() {
                return Err(format!("{what}: give `min`, `max` or both"));
            }
            Check::Numeric {
                pattern,
                min: spec.min,
                max: spec.max,
            }
        }
        "format" => {
            let candidates = Matcher::new(&[], &spec.patterns, &what)?;
            if candidates.is_empty() || spec.valid_patterns.is_empty() {
                return Err(format!(
                    "{what}: list `patterns` (candidates) and `valid_patterns`"
                ));
            }
            let valid = spec
                .valid_patterns
                .iter()
                .map(|p| {
                    Regex::new(&format!("^(?:{p})$")).map_err(|e| {
                        format!("{what}: valid pattern {p:?} is not a valid regex: {e}")
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Check::Format { candidates, valid }
        }
        other => {
            return Err(format!(
                "{what}: unknown check {other:?}; use phrases, pattern, requires_disclaimer, requires_response, phi, numeric or format"
            ));
        }
    };
    if spec.check != "phi" {
        note(!spec.phi_kinds.is_empty(), "phi_kinds");
    }
    if spec.check != "numeric" {
        note(spec.min.is_some() || spec.max.is_some(), "min/max");
    }
    if spec.check != "format" {
        note(!spec.valid_patterns.is_empty(), "valid_patterns");
    }
    if !unused.is_empty() {
        return Err(format!(
            "{what}: a {} check does not read {}",
            spec.check,
            unused.join(", ")
        ));
    }
    Ok(Rule {
        id: spec.id,
        severity: spec.severity,
        message: spec.message.trim().to_string(),
        field: spec.field,
        source: spec.source,
        uncertain: spec.uncertain,
        skip_negated: spec.skip_negated,
        check,
    })
}

/// Every pack under `domains/` in the catalog's files, by id; the first problem found
/// names its file.
pub fn load_all<'f>(
    files: impl Iterator<Item = (&'f str, &'f str)>,
) -> Result<BTreeMap<String, Pack>, String> {
    let mut packs = BTreeMap::new();
    for (path, text) in files {
        let pack = Pack::parse(text).map_err(|e| format!("tools/{path}: {e}"))?;
        if packs.contains_key(&pack.id) {
            return Err(format!("tools/{path}: pack id {:?} is used twice", pack.id));
        }
        packs.insert(pack.id.clone(), pack);
    }
    if packs.is_empty() {
        return Err(format!("tools/{PACKS_FOLDER}: no rule packs"));
    }
    Ok(packs)
}

/// Words that turn what follows into its opposite.
const NEGATIONS: &[&str] = &[
    "not",
    "never",
    "don't",
    "dont",
    "do not",
    "doesn't",
    "shouldn't",
    "should not",
    "must not",
    "mustn't",
    "no",
    "avoid",
    "without",
    "won't",
    "cannot",
    "can't",
];

/// Whether a negation ends within the few words before `start`.
pub fn negated(text: &str, start: usize) -> bool {
    let before = &text[..start];
    let window_start = before.char_indices().rev().nth(24).map_or(0, |(i, _)| i);
    let window = before[window_start..].to_lowercase();
    let words: Vec<&str> = window
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’'))
        .filter(|w| !w.is_empty())
        .collect();
    let last = words.len().saturating_sub(4);
    words[last..].iter().enumerate().any(|(i, w)| {
        NEGATIONS.contains(w)
            || (i + 1 < words[last..].len()
                && NEGATIONS.contains(&format!("{w} {}", words[last + i + 1]).as_str()))
    })
}

/// Spans of one matcher in `text`, at most [`MAX_SPANS`].
pub fn spans(matcher: &Matcher, text: &str) -> Vec<(usize, usize)> {
    matcher.find(text, MAX_SPANS)
}

pub const SPAN_LIMIT: usize = MAX_SPANS;
