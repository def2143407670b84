//! The model-written study tools: `generate_flashcards`, `generate_mcqs` with
//! `answer_mcq`, `highyield_summary`, `explain_topic` and `concept_map`. Each asks a model
//! through `generate` for JSON checked by `written`, labels the result model-written with
//! the model that wrote it, and stores only what passed (cards into a deck, questions into
//! a quiz). Thin: no checking or storage logic here.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::decks::{Card, NewCard};
use super::generate::{Generated, generate};
use super::quizzes::{Marked, QuizQuestion};
use super::tools::announce;
use super::written::{
    ConceptMap, Explanation, FlashcardSet, HighYieldNotes, McqSet, check_concept_map,
    check_explanation, check_flashcards, check_highyield, check_mcqs, mermaid,
};
use crate::llm::ServedBy;
use crate::mcp::{RegistryBuilder, ToolContext, ToolError, ToolOutput};

const MAX_TOPIC_CHARS: usize = 300;
const MAX_NOTES_CHARS: usize = 20_000;

pub fn register(builder: &mut RegistryBuilder<'_>) {
    builder.tool("generate_flashcards", generate_flashcards);
    builder.tool("generate_mcqs", generate_mcqs);
    builder.tool("answer_mcq", answer_mcq);
    builder.tool("highyield_summary", highyield_summary);
    builder.tool("explain_topic", explain_topic);
    builder.tool("concept_map", concept_map);
}

/// Who the material is for.
#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Preclinical,
    #[default]
    Clinical,
    Finals,
    Postgraduate,
}

impl Level {
    pub fn words(self) -> &'static str {
        match self {
            Level::Preclinical => "a preclinical medical student (basic sciences)",
            Level::Clinical => "a clinical medical student",
            Level::Finals => "a final-year medical student preparing for finals",
            Level::Postgraduate => "a junior doctor preparing for postgraduate exams",
        }
    }
}

/// How a model-written result is labelled.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Authorship {
    /// Always `model-written`: check it against your sources.
    pub label: String,
    pub served_by: ServedBy,
    /// 2 when the first reply failed its checks and was asked for again.
    pub attempts: u32,
}

/// How `generated` is labelled.
pub fn authorship<T>(generated: &Generated<T>) -> Authorship {
    Authorship {
        label: "model-written".into(),
        served_by: generated.served_by.clone(),
        attempts: generated.attempts,
    }
}

fn written_by(served_by: &ServedBy) -> String {
    format!("model:{}/{}", served_by.provider, served_by.model)
}

fn topic(text: &str) -> Result<String, ToolError> {
    let topic = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if topic.is_empty() {
        return Err(ToolError::invalid_arguments("`topic` must not be empty"));
    }
    if topic.chars().count() > MAX_TOPIC_CHARS {
        return Err(ToolError::invalid_arguments(format!(
            "`topic` is longer than {MAX_TOPIC_CHARS} characters"
        )));
    }
    Ok(topic)
}

fn count(given: Option<u32>, default: u32, max: u32, what: &str) -> Result<u32, ToolError> {
    match given {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(_) => Err(ToolError::invalid_arguments(format!(
            "`{what}` must be between 1 and {max}"
        ))),
    }
}

fn notes(given: Option<String>) -> Result<Option<String>, ToolError> {
    match given {
        Some(text) if text.chars().count() > MAX_NOTES_CHARS => Err(ToolError::invalid_arguments(
            format!("`notes` is longer than {MAX_NOTES_CHARS} characters"),
        )),
        Some(text) if !text.trim().is_empty() => Ok(Some(text)),
        _ => Ok(None),
    }
}

// ---------------------------------------------------------------------------------------
// Flashcards

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateFlashcardsArguments {
    /// What the cards are about, e.g. "beta blockers" or "nephrotic syndrome".
    pub topic: String,
    /// How many cards, 1–30 (default 10); counted against your plan's daily flashcards.
    #[serde(default)]
    pub count: Option<u32>,
    /// The deck to add them to (id or name); by default a deck named after the topic.
    #[serde(default)]
    pub deck: Option<String>,
    #[serde(default)]
    pub level: Option<Level>,
    /// Your own notes to base the cards on (at most 20,000 characters).
    #[serde(default)]
    pub notes: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct GeneratedCards {
    pub deck_id: String,
    pub deck: String,
    pub cards: Vec<Card>,
    #[serde(flatten)]
    pub authorship: Authorship,
}

impl ToolOutput for GeneratedCards {
    fn to_text(&self) -> String {
        let mut text = format!(
            "{} model-written card(s) (by {} via {}) added to deck {:?}; check them against the sources named:",
            self.cards.len(),
            self.authorship.served_by.model,
            self.authorship.served_by.provider,
            self.deck
        );
        for card in &self.cards {
            text.push_str(&format!(
                "\n- {} → {} [{}]",
                card.front, card.back, card.source
            ));
        }
        text
    }
}

const FLASHCARD_INSTRUCTIONS: &str = "Write flashcards: one fact per card, the front a precise \
question or cue, the back a short answer (a few words or one sentence). Cover the topic's \
high-yield facts without repeating yourself. Tag each card with the topic and its subject \
(e.g. pharmacology). Give each card a source a student can check.";

async fn generate_flashcards(
    ctx: ToolContext,
    args: GenerateFlashcardsArguments,
) -> Result<GeneratedCards, ToolError> {
    let topic = topic(&args.topic)?;
    let wanted = count(args.count, 10, 30, "count")? as usize;
    let notes = notes(args.notes)?;
    let level = args.level.unwrap_or_default();
    let mut request = format!(
        "Topic: {topic}\nFor: {}\nWrite {wanted} flashcards.",
        level.words()
    );
    if let Some(notes) = &notes {
        request.push_str(&format!(
            "\nBase the cards on these notes of the student's, and cite them as the source where they are:\n---\n{notes}\n---"
        ));
    }
    let generated = generate::<FlashcardSet, _>(
        &ctx,
        "flashcard",
        FLASHCARD_INSTRUCTIONS,
        request,
        4_000,
        |set| check_flashcards(set, wanted),
    )
    .await?;
    let owner = &ctx.principal.user_id;
    let decks = &ctx.app.decks;
    let deck = decks
        .deck_named(owner, args.deck.as_deref().unwrap_or(&topic))
        .await?;
    let by = written_by(&generated.served_by);
    let new_cards = generated
        .value
        .cards
        .iter()
        .map(|c| NewCard {
            front: c.front.clone(),
            back: c.back.clone(),
            tags: c.tags.clone(),
            source: c.source.clone(),
            written_by: by.clone(),
        })
        .collect();
    let cards = decks.add_cards(owner, &deck.id, new_cards).await?;
    ctx.set_feature_units(cards.len() as u64);
    announce(&ctx.app, owner, &[&deck.id]);
    Ok(GeneratedCards {
        deck_id: deck.id,
        deck: deck.name,
        authorship: authorship(&generated),
        cards,
    })
}

// ---------------------------------------------------------------------------------------
// MCQs

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateMcqsArguments {
    /// What the questions test, e.g. "acid-base disorders".
    pub topic: String,
    /// How many questions, 1–20 (default 5); counted against your plan's daily MCQs.
    #[serde(default)]
    pub count: Option<u32>,
    #[serde(default)]
    pub level: Option<Level>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct GeneratedQuiz {
    pub quiz_id: String,
    pub topic: String,
    /// The questions without their answers: answer each with answer_mcq.
    pub questions: Vec<QuizQuestion>,
    #[serde(flatten)]
    pub authorship: Authorship,
}

impl ToolOutput for GeneratedQuiz {
    fn to_text(&self) -> String {
        let mut text = format!(
            "Quiz on {} ({} model-written question(s) by {}). Ask each in turn and record the student's choice with answer_mcq:",
            self.topic,
            self.questions.len(),
            self.authorship.served_by.model
        );
        for q in &self.questions {
            text.push_str(&format!("\n\n{}. {} (id {})", q.position + 1, q.stem, q.id));
            for (letter, option) in super::written::LETTERS.iter().zip(&q.options) {
                text.push_str(&format!("\n   {letter}) {option}"));
            }
        }
        text
    }
}

const MCQ_INSTRUCTIONS: &str = "Write single-best-answer multiple-choice questions as in \
medical licensing exams: a short clinical vignette or a direct question as the stem, four or \
five plausible, distinct options of the same kind, exactly one correct answer given by its \
letter, an explanation, and for every option a rationale saying why it is right or wrong. \
Avoid 'all of the above' and 'none of the above'. Name the narrower topic each question \
tests.";

async fn generate_mcqs(
    ctx: ToolContext,
    args: GenerateMcqsArguments,
) -> Result<GeneratedQuiz, ToolError> {
    let topic = topic(&args.topic)?;
    let wanted = count(args.count, 5, 20, "count")? as usize;
    let level = args.level.unwrap_or_default();
    let request = format!(
        "Topic: {topic}\nFor: {}\nWrite {wanted} questions.",
        level.words()
    );
    let generated = generate::<McqSet, _>(&ctx, "mcq", MCQ_INSTRUCTIONS, request, 6_000, |set| {
        check_mcqs(set, wanted)
    })
    .await?;
    let owner = &ctx.principal.user_id;
    let (quiz_id, questions) = ctx
        .app
        .quizzes
        .save(
            owner,
            &topic,
            &written_by(&generated.served_by),
            &generated.value.questions,
        )
        .await?;
    ctx.set_feature_units(questions.len() as u64);
    Ok(GeneratedQuiz {
        quiz_id,
        topic,
        authorship: authorship(&generated),
        questions,
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerMcqArguments {
    /// The question's id, from generate_mcqs.
    pub question_id: String,
    /// The letter chosen: A, B, C, D or E.
    pub choice: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct AnswerResult {
    #[serde(flatten)]
    pub marked: Marked,
}

impl ToolOutput for AnswerResult {
    fn to_text(&self) -> String {
        let m = &self.marked;
        let mut text = if m.correct {
            format!("Correct: {}.", m.answer)
        } else {
            format!(
                "Not quite: you chose {}, the answer is {}.",
                m.choice, m.answer
            )
        };
        text.push_str(&format!("\n{}", m.explanation));
        for r in &m.rationales {
            text.push_str(&format!("\n{}) {} — {}", r.letter, r.text, r.rationale));
        }
        text
    }
}

async fn answer_mcq(ctx: ToolContext, args: AnswerMcqArguments) -> Result<AnswerResult, ToolError> {
    let marked = ctx
        .app
        .quizzes
        .answer(&ctx.principal.user_id, &args.question_id, &args.choice)
        .await?;
    Ok(AnswerResult { marked })
}

// ---------------------------------------------------------------------------------------
// Notes, explanations, maps

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TopicArguments {
    pub topic: String,
    #[serde(default)]
    pub level: Option<Level>,
    /// What to concentrate on, e.g. "pathophysiology" or "management".
    #[serde(default)]
    pub focus: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct HighYieldResult {
    pub topic: String,
    pub notes: HighYieldNotes,
    #[serde(flatten)]
    pub authorship: Authorship,
}

impl ToolOutput for HighYieldResult {
    fn to_text(&self) -> String {
        let n = &self.notes;
        let mut text = format!(
            "# {}\n(model-written by {}; check against the sources)\n",
            n.title, self.authorship.served_by.model
        );
        for p in &n.points {
            text.push_str(&format!("\n- **{}** — {}", p.point, p.why));
        }
        if !n.pitfalls.is_empty() {
            text.push_str("\n\nPitfalls:");
            for p in &n.pitfalls {
                text.push_str(&format!("\n- {p}"));
            }
        }
        if !n.mnemonics.is_empty() {
            text.push_str("\n\nMnemonics:");
            for m in &n.mnemonics {
                text.push_str(&format!("\n- {m}"));
            }
        }
        text.push_str(&format!("\n\nSources: {}", n.sources.join("; ")));
        text
    }
}

fn topic_request(args: &TopicArguments) -> Result<String, ToolError> {
    let topic = topic(&args.topic)?;
    let mut request = format!(
        "Topic: {topic}\nFor: {}",
        args.level.unwrap_or_default().words()
    );
    if let Some(focus) = args.focus.as_deref().filter(|f| !f.trim().is_empty()) {
        if focus.chars().count() > MAX_TOPIC_CHARS {
            return Err(ToolError::invalid_arguments(format!(
                "`focus` is longer than {MAX_TOPIC_CHARS} characters"
            )));
        }
        request.push_str(&format!("\nFocus on: {focus}"));
    }
    Ok(request)
}

async fn highyield_summary(
    ctx: ToolContext,
    args: TopicArguments,
) -> Result<HighYieldResult, ToolError> {
    let request = topic_request(&args)?;
    let generated = generate::<HighYieldNotes, _>(
        &ctx,
        "highyield",
        "Write high-yield revision notes: the facts most often examined on the topic, each with \
         why it matters, the classic pitfalls, any widely used mnemonics, and the guidelines or \
         textbooks to check them against.",
        request,
        3_000,
        check_highyield,
    )
    .await?;
    Ok(HighYieldResult {
        topic: args.topic.trim().to_string(),
        authorship: authorship(&generated),
        notes: generated.value,
    })
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ExplanationResult {
    pub topic: String,
    pub explanation: Explanation,
    #[serde(flatten)]
    pub authorship: Authorship,
}

impl ToolOutput for ExplanationResult {
    fn to_text(&self) -> String {
        let e = &self.explanation;
        let mut text = format!(
            "{}\n(model-written by {})\n",
            e.summary, self.authorship.served_by.model
        );
        for s in &e.sections {
            text.push_str(&format!("\n## {}\n{}\n", s.heading, s.body));
        }
        if !e.key_terms.is_empty() {
            text.push_str("\nKey terms:");
            for k in &e.key_terms {
                text.push_str(&format!("\n- {}: {}", k.term, k.definition));
            }
        }
        if !e.check_questions.is_empty() {
            text.push_str("\n\nCheck yourself:");
            for q in &e.check_questions {
                text.push_str(&format!("\n- {q}"));
            }
        }
        text
    }
}

async fn explain_topic(
    ctx: ToolContext,
    args: TopicArguments,
) -> Result<ExplanationResult, ToolError> {
    let request = topic_request(&args)?;
    let generated = generate::<Explanation, _>(
        &ctx,
        "explain",
        "Explain the topic from first principles to the level given: a short summary, then \
         sections that build on each other (mechanism before consequences), the key terms \
         defined, and three to five questions the student can answer to check understanding.",
        request,
        3_500,
        check_explanation,
    )
    .await?;
    Ok(ExplanationResult {
        topic: args.topic.trim().to_string(),
        authorship: authorship(&generated),
        explanation: generated.value,
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConceptMapArguments {
    pub topic: String,
    /// The most concepts in the map, 5–40 (default 20).
    #[serde(default)]
    pub max_nodes: Option<u32>,
    #[serde(default)]
    pub level: Option<Level>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ConceptMapResult {
    pub topic: String,
    pub map: ConceptMap,
    /// The same map as a Mermaid flowchart.
    pub mermaid: String,
    #[serde(flatten)]
    pub authorship: Authorship,
}

impl ToolOutput for ConceptMapResult {
    fn to_text(&self) -> String {
        format!(
            "Concept map of {} (model-written by {}), {} concepts and {} links:\n\n```mermaid\n{}```",
            self.topic,
            self.authorship.served_by.model,
            self.map.nodes.len(),
            self.map.edges.len(),
            self.mermaid
        )
    }
}

async fn concept_map(
    ctx: ToolContext,
    args: ConceptMapArguments,
) -> Result<ConceptMapResult, ToolError> {
    let topic = topic(&args.topic)?;
    let max_nodes = match args.max_nodes {
        None => 20,
        Some(n) if (5..=40).contains(&n) => n as usize,
        Some(_) => {
            return Err(ToolError::invalid_arguments(
                "`max_nodes` must be between 5 and 40",
            ));
        }
    };
    let request = format!(
        "Topic: {topic}\nFor: {}\nAt most {max_nodes} concepts.",
        args.level.unwrap_or_default().words()
    );
    let generated = generate::<ConceptMap, _>(
        &ctx,
        "map",
        "Draw a concept map of the topic: its key concepts as nodes (each with a short label \
         and a kind) and typed links between them, so the causal and clinical chain is clear \
         (risk factors, mechanisms, findings, tests, treatments, complications). Use only the \
         relations the schema allows.",
        request,
        3_000,
        |map| check_concept_map(map, max_nodes),
    )
    .await?;
    Ok(ConceptMapResult {
        topic,
        mermaid: mermaid(&generated.value),
        authorship: authorship(&generated),
        map: generated.value,
    })
}
