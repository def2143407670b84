//! The shapes of model-written study material — flashcards, MCQs, high-yield notes,
//! explanations, concept maps — and the checks each must pass before anyone sees it or it
//! is stored. A model is asked for JSON against these types' schemas; what it returns is
//! read into them (unknown fields refused) and checked here. Pure: no model, no store.

use std::collections::HashSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

const MAX_TEXT: usize = 4_000;

fn normalised(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
        .trim_end_matches(['.', '?', '!'])
        .to_string()
}

fn text_problem(what: &str, text: &str, problems: &mut Vec<String>) {
    if text.trim().is_empty() {
        problems.push(format!("{what} is empty"));
    } else if text.chars().count() > MAX_TEXT {
        problems.push(format!("{what} is longer than {MAX_TEXT} characters"));
    }
}

// ---------------------------------------------------------------------------------------
// Flashcards

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlashcardSet {
    pub cards: Vec<FlashcardDraft>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlashcardDraft {
    /// One question or cue, answerable in a few words.
    pub front: String,
    /// The answer.
    pub back: String,
    pub tags: Vec<String>,
    /// Where the fact can be checked: a guideline, textbook or review, named.
    pub source: String,
}

pub fn check_flashcards(set: &FlashcardSet, wanted: usize) -> Vec<String> {
    let mut problems = Vec::new();
    if set.cards.is_empty() {
        problems.push("there are no cards".to_string());
    }
    if set.cards.len() > wanted {
        problems.push(format!(
            "{} cards were written but at most {wanted} were asked for",
            set.cards.len()
        ));
    }
    let mut fronts = HashSet::new();
    for (i, card) in set.cards.iter().enumerate() {
        let n = i + 1;
        text_problem(&format!("card {n}'s front"), &card.front, &mut problems);
        text_problem(&format!("card {n}'s back"), &card.back, &mut problems);
        if card.source.trim().is_empty() {
            problems.push(format!("card {n} names no source"));
        }
        if card.tags.len() > 10 {
            problems.push(format!("card {n} has more than 10 tags"));
        }
        if normalised(&card.front) == normalised(&card.back) {
            problems.push(format!("card {n}'s back repeats its front"));
        }
        if !fronts.insert(normalised(&card.front)) {
            problems.push(format!("card {n} repeats an earlier card's front"));
        }
    }
    problems
}

// ---------------------------------------------------------------------------------------
// MCQs

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct McqSet {
    pub questions: Vec<McqDraft>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct McqDraft {
    /// The question, usually a short clinical vignette ending in a question.
    pub stem: String,
    /// Four or five distinct options, in the order shown (A, B, C…).
    pub options: Vec<McqOption>,
    /// The letter of the one correct option.
    pub answer: String,
    /// Why the answer is right.
    pub explanation: String,
    /// The narrower topic the question tests, for per-topic accuracy.
    pub topic: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct McqOption {
    pub text: String,
    /// Why this option is right or wrong.
    pub rationale: String,
}

pub const LETTERS: [&str; 5] = ["A", "B", "C", "D", "E"];

/// The index of the option `letter` names, if it is one letter of the options.
pub fn answer_index(letter: &str, options: usize) -> Option<usize> {
    let letter = letter.trim().trim_end_matches([')', '.']).to_uppercase();
    LETTERS
        .iter()
        .take(options)
        .position(|l| *l == letter.as_str())
}

pub fn check_mcqs(set: &McqSet, wanted: usize) -> Vec<String> {
    let mut problems = Vec::new();
    if set.questions.is_empty() {
        problems.push("there are no questions".to_string());
    }
    if set.questions.len() > wanted {
        problems.push(format!(
            "{} questions were written but at most {wanted} were asked for",
            set.questions.len()
        ));
    }
    let mut stems = HashSet::new();
    for (i, q) in set.questions.iter().enumerate() {
        let n = i + 1;
        text_problem(&format!("question {n}'s stem"), &q.stem, &mut problems);
        text_problem(
            &format!("question {n}'s explanation"),
            &q.explanation,
            &mut problems,
        );
        if q.topic.trim().is_empty() {
            problems.push(format!("question {n} names no topic"));
        }
        if !stems.insert(normalised(&q.stem)) {
            problems.push(format!("question {n} repeats an earlier stem"));
        }
        if !(4..=5).contains(&q.options.len()) {
            problems.push(format!(
                "question {n} has {} options; it needs 4 or 5",
                q.options.len()
            ));
        }
        let mut texts = HashSet::new();
        for (j, option) in q.options.iter().enumerate() {
            let letter = LETTERS.get(j).copied().unwrap_or("?");
            text_problem(
                &format!("question {n} option {letter}"),
                &option.text,
                &mut problems,
            );
            if option.rationale.trim().is_empty() {
                problems.push(format!("question {n} option {letter} has no rationale"));
            }
            if !texts.insert(normalised(&option.text)) {
                problems.push(format!(
                    "question {n} option {letter} repeats another option"
                ));
            }
        }
        if answer_index(&q.answer, q.options.len().min(5)).is_none() {
            problems.push(format!(
                "question {n}'s answer {:?} is not exactly one option letter",
                q.answer
            ));
        }
    }
    problems
}

// ---------------------------------------------------------------------------------------
// High-yield notes and explanations

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HighYieldNotes {
    pub title: String,
    /// The facts most often examined, each with why it matters.
    pub points: Vec<HighYieldPoint>,
    /// Classic traps and confusions.
    pub pitfalls: Vec<String>,
    pub mnemonics: Vec<String>,
    /// Guidelines or texts to check the points against.
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HighYieldPoint {
    pub point: String,
    pub why: String,
}

pub fn check_highyield(notes: &HighYieldNotes) -> Vec<String> {
    let mut problems = Vec::new();
    text_problem("the title", &notes.title, &mut problems);
    if !(3..=30).contains(&notes.points.len()) {
        problems.push(format!("{} points; write 3 to 30", notes.points.len()));
    }
    for (i, p) in notes.points.iter().enumerate() {
        text_problem(&format!("point {}", i + 1), &p.point, &mut problems);
    }
    if notes.sources.iter().all(|s| s.trim().is_empty()) {
        problems.push("no source is named".to_string());
    }
    problems
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Explanation {
    /// Two or three sentences that carry the core idea.
    pub summary: String,
    pub sections: Vec<ExplanationSection>,
    pub key_terms: Vec<KeyTerm>,
    /// Questions the student can answer to check understanding.
    pub check_questions: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExplanationSection {
    pub heading: String,
    pub body: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyTerm {
    pub term: String,
    pub definition: String,
}

pub fn check_explanation(explanation: &Explanation) -> Vec<String> {
    let mut problems = Vec::new();
    text_problem("the summary", &explanation.summary, &mut problems);
    if !(1..=12).contains(&explanation.sections.len()) {
        problems.push(format!(
            "{} sections; write 1 to 12",
            explanation.sections.len()
        ));
    }
    for (i, s) in explanation.sections.iter().enumerate() {
        text_problem(
            &format!("section {}'s heading", i + 1),
            &s.heading,
            &mut problems,
        );
        text_problem(&format!("section {}'s body", i + 1), &s.body, &mut problems);
    }
    problems
}

// ---------------------------------------------------------------------------------------
// Concept maps

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConceptMap {
    pub nodes: Vec<ConceptNode>,
    pub edges: Vec<ConceptEdge>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConceptNode {
    /// Letters, digits and `_` only, unique in the map.
    pub id: String,
    pub label: String,
    pub kind: NodeKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    Disease,
    Mechanism,
    Finding,
    Test,
    Drug,
    Treatment,
    Anatomy,
    RiskFactor,
    Concept,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConceptEdge {
    pub from: String,
    pub to: String,
    pub relation: Relation,
}

/// The typed relations a concept map may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    Causes,
    LeadsTo,
    RiskFactorFor,
    ComplicationOf,
    PresentsWith,
    DiagnosedBy,
    TreatedWith,
    Inhibits,
    Activates,
    IsA,
    PartOf,
    AssociatedWith,
}

impl Relation {
    pub fn words(self) -> &'static str {
        match self {
            Relation::Causes => "causes",
            Relation::LeadsTo => "leads to",
            Relation::RiskFactorFor => "risk factor for",
            Relation::ComplicationOf => "complication of",
            Relation::PresentsWith => "presents with",
            Relation::DiagnosedBy => "diagnosed by",
            Relation::TreatedWith => "treated with",
            Relation::Inhibits => "inhibits",
            Relation::Activates => "activates",
            Relation::IsA => "is a",
            Relation::PartOf => "part of",
            Relation::AssociatedWith => "associated with",
        }
    }
}

pub fn check_concept_map(map: &ConceptMap, max_nodes: usize) -> Vec<String> {
    let mut problems = Vec::new();
    if !(3..=max_nodes).contains(&map.nodes.len()) {
        problems.push(format!("{} nodes; write 3 to {max_nodes}", map.nodes.len()));
    }
    let mut ids = HashSet::new();
    for node in &map.nodes {
        let valid = !node.id.is_empty()
            && node.id.len() <= 40
            && node
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            problems.push(format!(
                "node id {:?} must be 1–40 letters, digits or _",
                node.id
            ));
        }
        if !ids.insert(node.id.as_str()) {
            problems.push(format!("node id {:?} is used twice", node.id));
        }
        text_problem(
            &format!("node {:?}'s label", node.id),
            &node.label,
            &mut problems,
        );
    }
    if map.edges.is_empty() {
        problems.push("there are no edges".to_string());
    }
    let mut seen = HashSet::new();
    for edge in &map.edges {
        for end in [&edge.from, &edge.to] {
            if !ids.contains(end.as_str()) {
                problems.push(format!(
                    "an edge names node {end:?}, which is not in the map"
                ));
            }
        }
        if edge.from == edge.to {
            problems.push(format!("an edge joins node {:?} to itself", edge.from));
        }
        if !seen.insert((edge.from.as_str(), edge.to.as_str(), edge.relation)) {
            problems.push(format!(
                "the edge {} -{}-> {} is repeated",
                edge.from,
                edge.relation.words(),
                edge.to
            ));
        }
    }
    problems
}

/// The map as a Mermaid flowchart, labels escaped so no text can break out of its node.
pub fn mermaid(map: &ConceptMap) -> String {
    let escape = |text: &str| {
        text.replace('"', "#quot;")
            .replace(['\n', '\r'], " ")
            .replace('|', "#124;")
    };
    let mut out = String::from("flowchart LR\n");
    for node in &map.nodes {
        out.push_str(&format!("  {}[\"{}\"]\n", node.id, escape(&node.label)));
    }
    for edge in &map.edges {
        out.push_str(&format!(
            "  {} -->|{}| {}\n",
            edge.from,
            edge.relation.words(),
            edge.to
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mcq(options: &[&str], answer: &str) -> McqSet {
        serde_json::from_value(json!({ "questions": [{
            "stem": "A 60-year-old has crushing chest pain. First test?",
            "options": options.iter().map(|o| json!({ "text": o, "rationale": "because" })).collect::<Vec<_>>(),
            "answer": answer,
            "explanation": "An ECG within 10 minutes.",
            "topic": "acute coronary syndrome"
        }] }))
        .unwrap()
    }

    #[test]
    fn an_mcq_needs_four_or_five_distinct_options_and_one_answer_letter() {
        assert!(check_mcqs(&mcq(&["ECG", "Troponin", "CT", "Echo"], "A"), 5).is_empty());
        assert!(check_mcqs(&mcq(&["ECG", "Troponin", "CT", "Echo", "CXR"], "e)"), 5).is_empty());
        let three = check_mcqs(&mcq(&["ECG", "Troponin", "CT"], "A"), 5);
        assert!(three.iter().any(|p| p.contains("3 options")), "{three:?}");
        let same = check_mcqs(&mcq(&["ECG", "ecg.", "CT", "Echo"], "A"), 5);
        assert!(
            same.iter().any(|p| p.contains("repeats another option")),
            "{same:?}"
        );
        for answer in ["A and B", "F", "", "AB"] {
            let bad = check_mcqs(&mcq(&["ECG", "Troponin", "CT", "Echo"], answer), 5);
            assert!(
                bad.iter().any(|p| p.contains("answer")),
                "{answer}: {bad:?}"
            );
        }
        let many = McqSet {
            questions: vec![mcq(&["a", "b", "c", "d"], "A").questions[0].clone(); 2],
        };
        let problems = check_mcqs(&many, 1);
        assert!(problems.iter().any(|p| p.contains("at most 1")));
        assert!(
            problems
                .iter()
                .any(|p| p.contains("repeats an earlier stem"))
        );
    }

    #[test]
    fn a_flashcard_needs_a_source_and_a_distinct_back() {
        let set: FlashcardSet = serde_json::from_value(json!({ "cards": [
            { "front": "Antidote to paracetamol?", "back": "Acetylcysteine", "tags": [], "source": "BNF" },
            { "front": "Antidote to paracetamol", "back": "NAC", "tags": [], "source": "" },
            { "front": "Same", "back": "same.", "tags": [], "source": "x" }
        ] }))
        .unwrap();
        let problems = check_flashcards(&set, 10);
        assert_eq!(problems.len(), 3, "{problems:?}");
        let unknown = serde_json::from_value::<FlashcardSet>(json!({ "cards": [
            { "front": "f", "back": "b", "tags": [], "source": "s", "confidence": 0.9 }
        ] }));
        assert!(unknown.is_err(), "unknown fields are refused");
    }

    #[test]
    fn a_concept_map_is_closed_typed_and_renders_safely() {
        let map: ConceptMap = serde_json::from_value(json!({
            "nodes": [
                { "id": "dm", "label": "Type 2 \"diabetes\"", "kind": "disease" },
                { "id": "ir", "label": "Insulin resistance", "kind": "mechanism" },
                { "id": "met", "label": "Metformin", "kind": "drug" }
            ],
            "edges": [
                { "from": "ir", "to": "dm", "relation": "causes" },
                { "from": "dm", "to": "met", "relation": "treated_with" }
            ]
        }))
        .unwrap();
        assert!(check_concept_map(&map, 40).is_empty());
        let text = mermaid(&map);
        assert!(text.starts_with("flowchart LR\n"));
        assert!(text.contains("dm[\"Type 2 #quot;diabetes#quot;\"]"));
        assert!(text.contains("dm -->|treated with| met"));
        let mut broken = map.clone();
        broken.edges.push(ConceptEdge {
            from: "dm".into(),
            to: "ghost".into(),
            relation: Relation::Causes,
        });
        broken.nodes.push(broken.nodes[0].clone());
        let problems = check_concept_map(&broken, 40);
        assert!(problems.iter().any(|p| p.contains("ghost")));
        assert!(problems.iter().any(|p| p.contains("used twice")));
        assert!(
            serde_json::from_value::<ConceptEdge>(
                json!({ "from": "a", "to": "b", "relation": "cures" })
            )
            .is_err(),
            "untyped relations are refused"
        );
    }
}
