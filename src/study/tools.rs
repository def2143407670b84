//! The MCP surface of decks, cards and reviews: the deck and card tools, `review_card`,
//! `study_stats`, `optimize_schedule`, and the resources `consilium://decks`,
//! `consilium://decks/{id}` and `consilium://reviews/due`. Thin: the work is in `decks`,
//! `scheduler` and `stats`.

use std::sync::Arc;

use rmcp::ErrorData as McpError;
use rmcp::model::{Resource, ResourceTemplate};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::decks::{Card, CardEdit, CardHit, Deck, Decks, DecksError, NewCard, ReviewOutcome};
use super::scheduler::{Rating, SchedulerError, Settings};
use super::stats::{self, FitError, MIN_REVIEWS_TO_FIT, Workload};
use crate::app::App;
use crate::identity::{Scope, UserId};
use crate::mcp::registry::{Completer, CompletionQuery};
use crate::mcp::tool::codes;
use crate::mcp::{RegistryBuilder, ToolContext, ToolError, ToolOutput};

pub const DECKS_URI: &str = "consilium://decks";
pub const DECK_URI_TEMPLATE: &str = "consilium://decks/{id}";
pub const DUE_URI: &str = "consilium://reviews/due";
const MAX_LIST: usize = 500;

impl From<DecksError> for ToolError {
    fn from(error: DecksError) -> Self {
        match error {
            DecksError::Invalid(message) => ToolError::invalid_arguments(message),
            DecksError::NotFound(what) => {
                ToolError::not_found(format!("no {what} of yours has that id"))
            }
            DecksError::Duplicate(name) => ToolError::new(
                "ALREADY_EXISTS",
                format!("you already have a deck named {name:?}"),
            ),
            DecksError::Conflict => ToolError::new("CONFLICT", error.to_string()),
            DecksError::Store(e) => {
                tracing::error!(error = %e, "the study store failed");
                ToolError::new(codes::UNAVAILABLE, "the study store is unavailable")
            }
        }
    }
}

impl From<SchedulerError> for ToolError {
    fn from(error: SchedulerError) -> Self {
        ToolError::invalid_arguments(error.to_string())
    }
}

/// The scheduler for `owner` on a deck with `retention`: their fitted parameters if any.
/// How a deck with `retention` schedules under the server's study settings.
pub fn deck_settings(study: &crate::config::StudyConfig, retention: f64) -> Settings {
    Settings {
        desired_retention: retention,
        learning_steps: study.learning_steps_secs.clone(),
        relearning_steps: study.relearning_steps_secs.clone(),
        maximum_interval_days: study.maximum_interval_days,
        fuzz: study.fuzz,
    }
}

/// Tells the owner's subscribed sessions that their decks or due cards changed, off the
/// request path.
pub fn announce(app: &Arc<App>, owner: &UserId, deck_ids: &[&str]) {
    let app = app.clone();
    let owner = owner.clone();
    let mut uris = vec![DECKS_URI.to_string(), DUE_URI.to_string()];
    uris.extend(deck_ids.iter().map(|id| format!("{DECKS_URI}/{id}")));
    tokio::spawn(async move {
        for uri in uris {
            app.subscriptions.notify_updated_for(&owner, &uri).await;
        }
    });
}

pub fn register(builder: &mut RegistryBuilder<'_>) {
    builder.tool("create_deck", create_deck);
    builder.tool("list_decks", list_decks);
    builder.tool("update_deck", update_deck);
    builder.tool("delete_deck", delete_deck);
    builder.tool("add_cards", add_cards);
    builder.tool("edit_card", edit_card);
    builder.tool("move_card", move_card);
    builder.tool("suspend_card", suspend_card);
    builder.tool("delete_card", delete_card);
    builder.tool("search_cards", search_cards);
    builder.tool("due_cards", due_cards);
    builder.tool("review_card", review_card);
    builder.tool("study_stats", study_stats);
    builder.tool("optimize_schedule", optimize_schedule);
    builder.tool("study_plan", study_plan);
    builder.tool("export_deck", export_deck);
    builder.tool("import_deck", import_deck);

    builder.resource_for(
        Some(Scope::Study),
        Resource::new(DECKS_URI, "decks")
            .with_title("My decks")
            .with_description("Your flashcard decks with their card, due and new counts")
            .with_mime_type("application/json"),
        |scope, uri| async move {
            let decks = scope
                .app
                .decks
                .decks(&scope.principal.user_id)
                .await
                .map_err(unavailable)?;
            crate::mcp::json_resource(&json!({ "decks": decks }), uri)
        },
    );
    builder.resource_for(
        Some(Scope::Study),
        Resource::new(DUE_URI, "reviews-due")
            .with_title("Cards due now")
            .with_description(
                "Your cards due for review now, most overdue first; subscribe to hear when more fall due",
            )
            .with_mime_type("application/json"),
        |scope, uri| async move {
            let owner = &scope.principal.user_id;
            let decks = &scope.app.decks;
            let cards = decks
                .due_cards(owner, None, MAX_LIST)
                .await
                .map_err(unavailable)?;
            let (due, next) = decks.due_summary(owner).await.map_err(unavailable)?;
            crate::mcp::json_resource(
                &json!({ "due": due, "next_due_at": next, "cards": cards }),
                uri,
            )
        },
    );
    let completer: Completer = Arc::new(|query: CompletionQuery| {
        Box::pin(async move {
            let decks = query
                .app
                .decks
                .decks(&query.principal.user_id)
                .await
                .unwrap_or_default();
            decks
                .into_iter()
                .filter(|d| d.id.starts_with(&query.value))
                .map(|d| d.id)
                .collect()
        })
    });
    builder.resource_template(
        ResourceTemplate::new(DECK_URI_TEMPLATE, "deck")
            .with_title("A deck")
            .with_description("One of your decks with its cards (yours only)")
            .with_mime_type("application/json"),
        Some(completer),
        |scope, uri, vars| async move {
            let not_found = || {
                McpError::resource_not_found(
                    format!("no deck at {uri}"),
                    Some(json!({ "uri": uri })),
                )
            };
            if !scope.principal.has_scope(Scope::Study) {
                return Err(not_found());
            }
            let id = vars.get("id").cloned().unwrap_or_default();
            let owner = &scope.principal.user_id;
            let decks = &scope.app.decks;
            let Some(deck) = decks.deck(owner, &id).await.map_err(unavailable)? else {
                return Err(not_found());
            };
            let cards = decks
                .cards_in_deck(owner, &id, 5_000, 0)
                .await
                .map_err(unavailable)?;
            crate::mcp::json_resource(&json!({ "deck": deck, "cards": cards }), uri)
        },
    );
}

fn unavailable(error: DecksError) -> McpError {
    tracing::error!(error = %error, "the study store failed");
    McpError::internal_error("the study store is unavailable", None)
}

// ---------------------------------------------------------------------------------------
// Decks

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDeckArguments {
    /// The deck's name, unique among your decks (e.g. "Cardiology").
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The share of reviews you want to recall, 0.7–0.99 (default 0.9). Higher means more
    /// reviews.
    #[serde(default)]
    pub desired_retention: Option<f64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DeckResult {
    pub deck: Deck,
}

impl ToolOutput for DeckResult {
    fn to_text(&self) -> String {
        let d = &self.deck;
        format!(
            "Deck {:?} ({}): {} cards, {} due, {} new; desired retention {}.",
            d.name, d.id, d.cards, d.due, d.new, d.desired_retention
        )
    }
}

async fn create_deck(ctx: ToolContext, args: CreateDeckArguments) -> Result<DeckResult, ToolError> {
    let owner = &ctx.principal.user_id;
    let deck = ctx
        .app
        .decks
        .create_deck(
            owner,
            &args.name,
            args.description.as_deref().unwrap_or_default(),
            args.desired_retention,
        )
        .await?;
    announce(&ctx.app, owner, &[]);
    Ok(DeckResult { deck })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArguments {}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DeckList {
    pub decks: Vec<Deck>,
}

impl ToolOutput for DeckList {
    fn to_text(&self) -> String {
        if self.decks.is_empty() {
            return "No decks yet: create one with create_deck or generate_flashcards.".into();
        }
        self.decks
            .iter()
            .map(|d| {
                format!(
                    "- {} ({}): {} cards, {} due, {} new",
                    d.name, d.id, d.cards, d.due, d.new
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

async fn list_decks(ctx: ToolContext, _: NoArguments) -> Result<DeckList, ToolError> {
    Ok(DeckList {
        decks: ctx.app.decks.decks(&ctx.principal.user_id).await?,
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDeckArguments {
    /// The deck's id or exact name.
    pub deck: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// 0.7–0.99; applies from each card's next review.
    #[serde(default)]
    pub desired_retention: Option<f64>,
}

async fn update_deck(ctx: ToolContext, args: UpdateDeckArguments) -> Result<DeckResult, ToolError> {
    let owner = &ctx.principal.user_id;
    let decks = &ctx.app.decks;
    let found = decks.find_deck(owner, &args.deck).await?;
    let deck = decks
        .update_deck(
            owner,
            &found.id,
            args.name.as_deref(),
            args.description.as_deref(),
            args.desired_retention,
        )
        .await?;
    announce(&ctx.app, owner, &[&deck.id]);
    Ok(DeckResult { deck })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteDeckArguments {
    /// The deck's id or exact name.
    pub deck: String,
    /// Must be true when the deck still holds cards: they are deleted with it.
    #[serde(default)]
    pub delete_cards: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Deleted {
    pub deleted: String,
    pub cards_deleted: u64,
}

impl ToolOutput for Deleted {
    fn to_text(&self) -> String {
        format!(
            "Deleted {} ({} cards with it); review history is kept for your statistics.",
            self.deleted, self.cards_deleted
        )
    }
}

async fn delete_deck(ctx: ToolContext, args: DeleteDeckArguments) -> Result<Deleted, ToolError> {
    let owner = &ctx.principal.user_id;
    let decks = &ctx.app.decks;
    let deck = decks.find_deck(owner, &args.deck).await?;
    if deck.cards > 0 && !args.delete_cards {
        return Err(ToolError::invalid_arguments(format!(
            "deck {:?} holds {} cards; pass delete_cards: true to delete them with it, or move them first",
            deck.name, deck.cards
        )));
    }
    let cards_deleted = decks.delete_deck(owner, &deck.id).await?;
    announce(&ctx.app, owner, &[&deck.id]);
    Ok(Deleted {
        deleted: format!("deck {:?}", deck.name),
        cards_deleted,
    })
}

// ---------------------------------------------------------------------------------------
// Cards

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CardInput {
    /// The question or cue.
    pub front: String,
    /// The answer.
    pub back: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Where the fact comes from (a textbook page, a guideline, a lecture).
    #[serde(default)]
    pub source: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddCardsArguments {
    /// The deck's id or exact name; a name that does not exist yet makes the deck.
    pub deck: String,
    /// 1–200 cards, added all or none.
    pub cards: Vec<CardInput>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CardsResult {
    pub deck_id: String,
    pub cards: Vec<Card>,
}

impl ToolOutput for CardsResult {
    fn to_text(&self) -> String {
        let mut text = format!("{} card(s) in deck {}:", self.cards.len(), self.deck_id);
        for card in &self.cards {
            text.push_str(&format!("\n- {} → {} ({})", card.front, card.back, card.id));
        }
        text
    }
}

async fn add_cards(ctx: ToolContext, args: AddCardsArguments) -> Result<CardsResult, ToolError> {
    if args.cards.len() > super::decks::MAX_CARDS_PER_CALL {
        return Err(ToolError::invalid_arguments(format!(
            "at most {} cards at once; import_deck takes more",
            super::decks::MAX_CARDS_PER_CALL
        )));
    }
    let owner = &ctx.principal.user_id;
    let decks = &ctx.app.decks;
    let deck = decks.deck_named(owner, &args.deck).await?;
    let cards = args
        .cards
        .into_iter()
        .map(|c| NewCard {
            front: c.front,
            back: c.back,
            tags: c.tags,
            source: c.source.unwrap_or_default(),
            written_by: "student".into(),
        })
        .collect();
    let cards = decks.add_cards(owner, &deck.id, cards).await?;
    announce(&ctx.app, owner, &[&deck.id]);
    Ok(CardsResult {
        deck_id: deck.id,
        cards,
    })
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CardResult {
    pub card: Card,
}

impl ToolOutput for CardResult {
    fn to_text(&self) -> String {
        let c = &self.card;
        format!(
            "Card {}: {} → {}\nDeck {}, {}{}, due {}.",
            c.id,
            c.front,
            c.back,
            c.deck_id,
            c.state.as_str(),
            if c.suspended { ", suspended" } else { "" },
            c.due
        )
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EditCardArguments {
    pub card_id: String,
    #[serde(default)]
    pub front: Option<String>,
    #[serde(default)]
    pub back: Option<String>,
    /// Replaces the card's tags.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    pub source: Option<String>,
}

async fn edit_card(ctx: ToolContext, args: EditCardArguments) -> Result<CardResult, ToolError> {
    let owner = &ctx.principal.user_id;
    let card = ctx
        .app
        .decks
        .edit_card(
            owner,
            &args.card_id,
            CardEdit {
                front: args.front,
                back: args.back,
                tags: args.tags,
                source: args.source,
            },
        )
        .await?;
    announce(&ctx.app, owner, &[&card.deck_id]);
    Ok(CardResult { card })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveCardArguments {
    pub card_id: String,
    /// The target deck's id or exact name.
    pub deck: String,
}

async fn move_card(ctx: ToolContext, args: MoveCardArguments) -> Result<CardResult, ToolError> {
    let owner = &ctx.principal.user_id;
    let decks = &ctx.app.decks;
    let before = decks
        .card(owner, &args.card_id)
        .await?
        .ok_or(DecksError::NotFound("card"))?;
    let target = decks.find_deck(owner, &args.deck).await?;
    let card = decks.move_card(owner, &args.card_id, &target.id).await?;
    announce(&ctx.app, owner, &[&before.deck_id, &target.id]);
    Ok(CardResult { card })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SuspendCardArguments {
    pub card_id: String,
    /// true suspends (never due), false brings the card back.
    #[serde(default = "yes")]
    pub suspended: bool,
}

fn yes() -> bool {
    true
}

async fn suspend_card(
    ctx: ToolContext,
    args: SuspendCardArguments,
) -> Result<CardResult, ToolError> {
    let owner = &ctx.principal.user_id;
    let card = ctx
        .app
        .decks
        .set_suspended(owner, &args.card_id, args.suspended)
        .await?;
    announce(&ctx.app, owner, &[&card.deck_id]);
    Ok(CardResult { card })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CardIdArguments {
    pub card_id: String,
}

async fn delete_card(ctx: ToolContext, args: CardIdArguments) -> Result<Deleted, ToolError> {
    let owner = &ctx.principal.user_id;
    let decks = &ctx.app.decks;
    let card = decks
        .card(owner, &args.card_id)
        .await?
        .ok_or(DecksError::NotFound("card"))?;
    decks.delete_card(owner, &card.id).await?;
    announce(&ctx.app, owner, &[&card.deck_id]);
    Ok(Deleted {
        deleted: format!("card {}", card.id),
        cards_deleted: 1,
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchCardsArguments {
    /// Words to find in fronts, backs and tags; the last word also matches as a prefix.
    pub query: String,
    /// Only this deck (id or exact name).
    #[serde(default)]
    pub deck: Option<String>,
    /// At most this many results (1–100, default 20).
    #[serde(default)]
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SearchResult {
    pub hits: Vec<CardHit>,
}

impl ToolOutput for SearchResult {
    fn to_text(&self) -> String {
        if self.hits.is_empty() {
            return "No card matches.".into();
        }
        self.hits
            .iter()
            .map(|h| format!("- {} → {} ({})", h.card.front, h.card.back, h.card.id))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn bounded(limit: Option<usize>, default: usize, max: usize) -> Result<usize, ToolError> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(_) => Err(ToolError::invalid_arguments(format!(
            "limit must be between 1 and {max}"
        ))),
    }
}

async fn deck_id_of(
    decks: &Decks,
    owner: &UserId,
    deck: Option<&str>,
) -> Result<Option<String>, ToolError> {
    Ok(match deck {
        Some(reference) => Some(decks.find_deck(owner, reference).await?.id),
        None => None,
    })
}

async fn search_cards(
    ctx: ToolContext,
    args: SearchCardsArguments,
) -> Result<SearchResult, ToolError> {
    let owner = &ctx.principal.user_id;
    let decks = &ctx.app.decks;
    let limit = bounded(args.limit, 20, 100)?;
    let deck = deck_id_of(decks, owner, args.deck.as_deref()).await?;
    let hits = decks
        .search(owner, &args.query, deck.as_deref(), limit)
        .await?;
    Ok(SearchResult { hits })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DueCardsArguments {
    /// Only this deck (id or exact name).
    #[serde(default)]
    pub deck: Option<String>,
    /// At most this many cards (1–500, default 50).
    #[serde(default)]
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DueCards {
    /// Cards due now in all (or in the deck), beyond the ones listed.
    pub due: u64,
    pub cards: Vec<Card>,
}

impl ToolOutput for DueCards {
    fn to_text(&self) -> String {
        if self.cards.is_empty() {
            return "Nothing is due. Well done.".into();
        }
        let mut text = format!(
            "{} card(s) due. Show the front, then the back, then ask how it went (again, hard, good, easy):",
            self.cards.len()
        );
        for card in &self.cards {
            text.push_str(&format!("\n- {} ({})", card.front, card.id));
        }
        text
    }
}

async fn due_cards(ctx: ToolContext, args: DueCardsArguments) -> Result<DueCards, ToolError> {
    let owner = &ctx.principal.user_id;
    let decks = &ctx.app.decks;
    let limit = bounded(args.limit, 50, MAX_LIST)?;
    let deck = deck_id_of(decks, owner, args.deck.as_deref()).await?;
    let cards = decks.due_cards(owner, deck.as_deref(), limit).await?;
    let due = match &deck {
        None => decks.due_summary(owner).await?.0,
        Some(_) => cards.len() as u64,
    };
    Ok(DueCards { due, cards })
}

// ---------------------------------------------------------------------------------------
// Reviews

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewCardArguments {
    pub card_id: String,
    /// How recall went: again (forgot), hard, good or easy.
    pub rating: Rating,
    /// How long the answer took, in milliseconds.
    #[serde(default)]
    pub duration_ms: Option<u64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ReviewResult {
    pub card: Card,
    pub rating: Rating,
    /// Days until the card is due again (fractions for a learning step).
    pub scheduled_days: f64,
    pub next_due: String,
    /// `default` FSRS-6 parameters, or `fitted` to your own reviews.
    pub parameters: String,
}

impl ToolOutput for ReviewResult {
    fn to_text(&self) -> String {
        let when = if self.scheduled_days < 1.0 {
            format!("in {} min", (self.scheduled_days * 1440.0).round())
        } else {
            format!("in {} day(s)", self.scheduled_days)
        };
        format!(
            "Rated {}: next review {when} ({}); the card is {}.",
            self.rating.as_str(),
            self.next_due,
            self.card.state.as_str()
        )
    }
}

async fn review_card(
    ctx: ToolContext,
    args: ReviewCardArguments,
) -> Result<ReviewResult, ToolError> {
    let owner = &ctx.principal.user_id;
    let decks = &ctx.app.decks;
    let study = ctx.app.config.study.clone();
    let outcome = decks
        .review(
            owner,
            &args.card_id,
            args.rating,
            args.duration_ms,
            move |retention| deck_settings(&study, retention),
        )
        .await?;
    let (updated, scheduled_days, fitted) = match outcome {
        ReviewOutcome::Done {
            card,
            scheduled_days,
            fitted,
        } => (*card, scheduled_days, fitted),
        ReviewOutcome::NotFound => return Err(DecksError::NotFound("card").into()),
        ReviewOutcome::Suspended => {
            return Err(ToolError::invalid_arguments(
                "the card is suspended; unsuspend it with suspend_card first",
            ));
        }
    };
    let card = &updated;
    announce(&ctx.app, owner, &[&card.deck_id]);
    Ok(ReviewResult {
        next_due: updated.due.clone(),
        card: updated.clone(),
        rating: args.rating,
        scheduled_days,
        parameters: if fitted { "fitted" } else { "default" }.into(),
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StudyStatsArguments {
    /// Only this deck (id or exact name).
    #[serde(default)]
    pub deck: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ParametersInfo {
    /// `default` (FSRS-6's published defaults) or `fitted` (to your own reviews).
    pub source: String,
    pub reviews_in_log: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fitted_at: Option<String>,
    pub note: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct StudyStats {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deck: Option<String>,
    #[serde(flatten)]
    pub workload: Workload,
    pub parameters: ParametersInfo,
    /// MCQ accuracy per topic, over every answer you gave.
    pub mcq_accuracy: Vec<super::quizzes::TopicAccuracy>,
}

impl ToolOutput for StudyStats {
    fn to_text(&self) -> String {
        let w = &self.workload;
        let retention = w
            .retention
            .measured
            .map_or("not yet measured".to_string(), |r| {
                format!(
                    "{:.1}% over {} reviews",
                    r * 100.0,
                    w.retention.reviews_counted
                )
            });
        let week: u64 = w.forecast.iter().take(7).map(|d| d.due).sum();
        format!(
            "{} cards ({} new, {} learning, {} review, {} relearning), {} due now.\nRetention (last 30 days): {retention}; desired {:.0}%.\nReviews per day (30-day average): {:.1}. Due in the next 7 days: {week}.\nScheduling parameters: {} — {}",
            w.counts.total,
            w.counts.new,
            w.counts.learning,
            w.counts.review,
            w.counts.relearning,
            w.counts.due_now,
            w.retention.desired * 100.0,
            w.average_reviews_per_day,
            self.parameters.source,
            self.parameters.note
        ) + &self
            .mcq_accuracy
            .iter()
            .map(|t| {
                format!(
                    "\nMCQs on {}: {}/{} right ({:.0}%)",
                    t.topic,
                    t.correct,
                    t.answered,
                    t.accuracy * 100.0
                )
            })
            .collect::<String>()
    }
}

async fn study_stats(ctx: ToolContext, args: StudyStatsArguments) -> Result<StudyStats, ToolError> {
    let owner = &ctx.principal.user_id;
    let decks = &ctx.app.decks;
    let deck = match &args.deck {
        Some(reference) => Some(decks.find_deck(owner, reference).await?),
        None => None,
    };
    let deck_id = deck.as_ref().map(|d| d.id.as_str());
    let now = decks.now();
    let since = now.plus_seconds(-stats::WINDOW_DAYS * 86_400);
    let recent = decks.reviews(owner, Some(since), deck_id).await?;
    let due_dates = decks.due_dates(owner, deck_id).await?;
    let retention = deck
        .as_ref()
        .map_or(super::decks::DEFAULT_RETENTION, |d| d.desired_retention);
    let workload = stats::workload(now, &recent, &due_dates, retention);
    let in_log = decks.reviews(owner, None, None).await?.len() as u64;
    let parameters = match decks.parameters(owner).await? {
        Some((_, fitted_on, at)) => ParametersInfo {
            source: "fitted".into(),
            reviews_in_log: in_log,
            fitted_at: Some(at),
            note: format!("fitted to your {fitted_on} reviews"),
        },
        None => ParametersInfo {
            source: "default".into(),
            reviews_in_log: in_log,
            fitted_at: None,
            note: if (in_log as usize) < MIN_REVIEWS_TO_FIT {
                format!(
                    "FSRS-6 defaults; fitting to your own reviews needs {MIN_REVIEWS_TO_FIT} (you have {in_log})"
                )
            } else {
                "FSRS-6 defaults; you have enough reviews to fit your own with optimize_schedule"
                    .into()
            },
        },
    };
    Ok(StudyStats {
        deck: deck.map(|d| d.name),
        workload,
        parameters,
        mcq_accuracy: ctx.app.quizzes.accuracy(owner).await?,
    })
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct OptimizeResult {
    /// `fitted`, or `default` when there were too few reviews.
    pub source: String,
    pub reviews: u64,
    pub parameters: Vec<f32>,
    pub note: String,
}

impl ToolOutput for OptimizeResult {
    fn to_text(&self) -> String {
        self.note.clone()
    }
}

async fn optimize_schedule(ctx: ToolContext, _: NoArguments) -> Result<OptimizeResult, ToolError> {
    let owner = &ctx.principal.user_id;
    let decks = &ctx.app.decks;
    let reviews = decks.reviews(owner, None, None).await?;
    let count = reviews.len() as u64;
    let fitted = tokio::task::spawn_blocking(move || stats::fit_parameters(&reviews))
        .await
        .map_err(|_| ToolError::internal("the optimiser stopped"))?;
    match fitted {
        Ok(parameters) => {
            decks.save_parameters(owner, &parameters, count).await?;
            Ok(OptimizeResult {
                source: "fitted".into(),
                reviews: count,
                note: format!(
                    "Fitted FSRS-6 parameters to your {count} reviews; they schedule every review from now on."
                ),
                parameters,
            })
        }
        Err(FitError::TooFew { have }) => Ok(OptimizeResult {
            source: "default".into(),
            reviews: count,
            parameters: fsrs::DEFAULT_PARAMETERS.to_vec(),
            note: format!(
                "You have {have} reviews; fitting needs {MIN_REVIEWS_TO_FIT}, so the FSRS-6 defaults stay in use."
            ),
        }),
        Err(FitError::Optimiser(message)) => Err(ToolError::new(
            codes::UNAVAILABLE,
            format!(
                "the optimiser could not fit your reviews ({message}); the current parameters stay"
            ),
        )),
    }
}

// ---------------------------------------------------------------------------------------
// Anki

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// An Anki package: open it in Anki (File > Import) to get the deck with its cards.
    Apkg,
    /// Anki's tab-separated text import format.
    Tsv,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportDeckArguments {
    /// The deck's id or exact name.
    pub deck: String,
    pub format: ExportFormat,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ExportResult {
    pub deck: String,
    pub format: String,
    pub file_name: String,
    pub cards: usize,
    pub size_bytes: usize,
    pub sha256: String,
    /// The `.tsv` file's text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The `.apkg` file, base64-encoded: decode it and save it under `file_name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_base64: Option<String>,
}

impl ToolOutput for ExportResult {
    fn to_text(&self) -> String {
        match &self.text {
            Some(text) => format!(
                "{} card(s) of deck {:?} in Anki's text format; save as {}:\n\n{text}",
                self.cards, self.deck, self.file_name
            ),
            None => format!(
                "{} card(s) of deck {:?} as an Anki package ({} bytes, SHA-256 {}): decode structuredContent.data_base64 and save it as {}, then open it in Anki.",
                self.cards, self.deck, self.size_bytes, self.sha256, self.file_name
            ),
        }
    }
}

fn file_stem(name: &str) -> String {
    let stem: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if stem.trim_matches('_').is_empty() {
        "deck".into()
    } else {
        stem
    }
}

async fn export_deck(
    ctx: ToolContext,
    args: ExportDeckArguments,
) -> Result<ExportResult, ToolError> {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let owner = &ctx.principal.user_id;
    let decks = &ctx.app.decks;
    let deck = decks.find_deck(owner, &args.deck).await?;
    let cards = decks
        .cards_in_deck(owner, &deck.id, super::decks::MAX_CARDS_PER_STORE * 20, 0)
        .await?;
    let count = cards.len();
    let stem = file_stem(&deck.name);
    let (format, file_name, bytes, text) = match args.format {
        ExportFormat::Tsv => {
            let text = super::anki::export_tsv(&deck.name, &cards);
            (
                "tsv",
                format!("{stem}.txt"),
                text.clone().into_bytes(),
                Some(text),
            )
        }
        ExportFormat::Apkg => {
            let (name, description, now) =
                (deck.name.clone(), deck.description.clone(), decks.now());
            let bytes = tokio::task::spawn_blocking(move || {
                super::anki::export_apkg(&name, &description, &cards, now)
            })
            .await
            .map_err(|_| ToolError::internal("the export stopped"))?
            .map_err(|e| {
                tracing::error!(error = %e, "an Anki export failed");
                ToolError::internal("the Anki package could not be written")
            })?;
            ("apkg", format!("{stem}.apkg"), bytes, None)
        }
    };
    let sha256 = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(ExportResult {
        deck: deck.name,
        format: format.into(),
        file_name,
        cards: count,
        size_bytes: bytes.len(),
        sha256,
        data_base64: text
            .is_none()
            .then(|| base64::engine::general_purpose::STANDARD.encode(&bytes)),
        text,
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportDeckArguments {
    /// The deck to add the cards to (id or name); a new name creates the deck.
    pub deck: String,
    /// The file's text in Anki's text format: one note per line, front and back separated
    /// by a tab (or the `#separator:` header's character), tags where `#tags column:` says.
    pub text: String,
}

async fn import_deck(
    ctx: ToolContext,
    args: ImportDeckArguments,
) -> Result<CardsResult, ToolError> {
    let cards = super::anki::import_tsv(&args.text)
        .map_err(|e| ToolError::invalid_arguments(e.to_string()))?;
    let owner = &ctx.principal.user_id;
    let decks = &ctx.app.decks;
    let deck = decks.deck_named(owner, &args.deck).await?;
    let cards = decks.add_cards(owner, &deck.id, cards).await?;
    announce(&ctx.app, owner, &[&deck.id]);
    Ok(CardsResult {
        deck_id: deck.id,
        cards,
    })
}

// ---------------------------------------------------------------------------------------
// The study plan

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StudyPlanArguments {
    /// Days to plan, 1–30 (default 7).
    #[serde(default)]
    pub days: Option<u32>,
    /// Minutes you can study each day, 10–600 (default 60).
    #[serde(default)]
    pub minutes_per_day: Option<u32>,
    /// Topics to cover besides those your quizzes and decks show; by default those alone.
    #[serde(default)]
    pub topics: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct StudyPlan {
    pub days: Vec<stats::PlanDay>,
    pub seconds_per_review: f64,
    /// Whether the review time is your own median (`measured`) or the default.
    pub review_time: String,
}

impl ToolOutput for StudyPlan {
    fn to_text(&self) -> String {
        let mut text = format!(
            "Study plan ({} s per review, {}):",
            self.seconds_per_review, self.review_time
        );
        for day in &self.days {
            text.push_str(&format!(
                "\n{}: {} reviews (~{} min)",
                day.date, day.reviews_due, day.review_minutes
            ));
            for b in &day.blocks {
                text.push_str(&format!(
                    "; {} min {} on {} ({})",
                    b.minutes, b.activity, b.topic, b.why
                ));
            }
        }
        text
    }
}

async fn study_plan(ctx: ToolContext, args: StudyPlanArguments) -> Result<StudyPlan, ToolError> {
    let days = args.days.unwrap_or(7);
    let minutes = args.minutes_per_day.unwrap_or(60);
    if !(1..=30).contains(&days) || !(10..=600).contains(&minutes) {
        return Err(ToolError::invalid_arguments(
            "days must be 1–30 and minutes_per_day 10–600",
        ));
    }
    if args.topics.len() > 50
        || args
            .topics
            .iter()
            .any(|t| t.trim().is_empty() || t.chars().count() > 200)
    {
        return Err(ToolError::invalid_arguments(
            "at most 50 topics, each 1–200 characters",
        ));
    }
    let owner = &ctx.principal.user_id;
    let decks = &ctx.app.decks;
    let now = decks.now();
    let due_dates = decks.due_dates(owner, None).await?;
    let forecast = stats::workload(now, &[], &due_dates, super::decks::DEFAULT_RETENTION).forecast;
    let (seconds, measured) = stats::review_seconds(&decks.review_durations(owner).await?);
    let mut topics: Vec<stats::TopicStanding> = ctx
        .app
        .quizzes
        .accuracy(owner)
        .await?
        .into_iter()
        .map(|t| stats::TopicStanding {
            topic: t.topic,
            accuracy: Some(t.accuracy),
        })
        .collect();
    let mut add = |topic: String| {
        let topic = topic.trim().to_string();
        if !topics.iter().any(|t| t.topic.eq_ignore_ascii_case(&topic)) {
            topics.push(stats::TopicStanding {
                topic,
                accuracy: None,
            });
        }
    };
    for topic in args.topics {
        add(topic);
    }
    for deck in decks.decks(owner).await? {
        add(deck.name);
    }
    Ok(StudyPlan {
        days: stats::plan(&forecast, days as usize, minutes, seconds, &topics),
        seconds_per_review: seconds,
        review_time: if measured { "measured" } else { "default" }.into(),
    })
}
