//! Decks, cards and the review log, per user, in the store. Every query is scoped by the
//! owner; a card or deck of someone else reads as missing. A review updates the card and
//! appends to the log in one transaction, and only if nobody reviewed the card meanwhile,
//! so no review is lost or counted twice. This file schedules nothing itself.

use std::sync::Arc;

use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use super::scheduler::{CardState, Rating, Schedule, Scheduler, Settings};
use crate::identity::{Clock, Timestamp, UserId};
use crate::store::{Store, StoreError};

pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_FIELD_CHARS: usize = 10_000;
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG_CHARS: usize = 64;
/// Cards `add_cards` takes in one call.
pub const MAX_CARDS_PER_CALL: usize = 200;
/// Cards one store write takes (an import).
pub const MAX_CARDS_PER_STORE: usize = 5_000;
pub const DEFAULT_RETENTION: f64 = 0.9;

#[derive(Debug, thiserror::Error)]
pub enum DecksError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Invalid(String),
    #[error("no {0} with that id")]
    NotFound(&'static str),
    #[error("a deck named {0:?} already exists")]
    Duplicate(String),
    #[error("the card was reviewed by another call meanwhile; read it again and retry")]
    Conflict,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Deck {
    pub id: String,
    pub name: String,
    pub description: String,
    pub desired_retention: f64,
    pub cards: u64,
    /// Cards due now (suspended ones excluded), new cards included.
    pub due: u64,
    pub new: u64,
    pub suspended: u64,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Card {
    pub id: String,
    pub deck_id: String,
    pub front: String,
    pub back: String,
    pub tags: Vec<String>,
    pub source: String,
    /// `student`, `import`, or `model:<provider>/<model>` for a model-written card.
    pub written_by: String,
    pub suspended: bool,
    pub state: CardState,
    pub step: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stability: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub difficulty: Option<f64>,
    pub due: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_review: Option<String>,
    pub reps: u32,
    pub lapses: u32,
    pub created_at: String,
    pub updated_at: String,
}

impl Card {
    /// The card's place in its schedule.
    pub fn schedule(&self) -> Result<Schedule, DecksError> {
        let bad = || DecksError::Invalid("the card's stored schedule is unreadable".into());
        Ok(Schedule {
            state: self.state,
            step: self.step,
            stability: self.stability,
            difficulty: self.difficulty,
            due: Timestamp::parse_rfc3339(&self.due).ok_or_else(bad)?,
            last_review: match &self.last_review {
                Some(text) => Some(Timestamp::parse_rfc3339(text).ok_or_else(bad)?),
                None => None,
            },
            reps: self.reps,
            lapses: self.lapses,
        })
    }
}

/// A card to add, checked by [`NewCard::checked`].
#[derive(Debug, Clone)]
pub struct NewCard {
    pub front: String,
    pub back: String,
    pub tags: Vec<String>,
    pub source: String,
    pub written_by: String,
}

impl NewCard {
    /// Trims the fields and normalises the tags; refuses empty or oversized fields.
    pub fn checked(mut self) -> Result<NewCard, DecksError> {
        self.front = field("front", &self.front, true)?;
        self.back = field("back", &self.back, true)?;
        self.source = field("source", &self.source, false)?;
        self.tags = tags(&self.tags)?;
        Ok(self)
    }
}

/// A change to a card's content; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct CardEdit {
    pub front: Option<String>,
    pub back: Option<String>,
    pub tags: Option<Vec<String>>,
    pub source: Option<String>,
}

/// One review from the log.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewEntry {
    pub card_id: String,
    pub deck_id: String,
    pub reviewed_at: Timestamp,
    pub rating: u32,
    pub state_before: String,
    pub elapsed_days: u32,
    pub scheduled_days: f64,
}

/// How a review went.
#[derive(Debug, Clone)]
pub enum ReviewOutcome {
    Done {
        card: Box<Card>,
        scheduled_days: f64,
        /// Whether the owner's fitted parameters scheduled it.
        fitted: bool,
    },
    NotFound,
    Suspended,
}

/// A search hit, best first.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CardHit {
    #[serde(flatten)]
    pub card: Card,
    /// BM25 rank from SQLite FTS5: lower is better.
    pub rank: f64,
}

fn field(name: &str, value: &str, required: bool) -> Result<String, DecksError> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(DecksError::Invalid(format!("`{name}` must not be empty")));
    }
    if value.chars().count() > MAX_FIELD_CHARS {
        return Err(DecksError::Invalid(format!(
            "`{name}` is longer than {MAX_FIELD_CHARS} characters"
        )));
    }
    Ok(value.to_string())
}

/// Lower case, inner spaces to `_`, duplicates dropped, order kept.
pub fn tags(given: &[String]) -> Result<Vec<String>, DecksError> {
    let mut out: Vec<String> = Vec::new();
    for tag in given {
        let tag: String = tag
            .trim()
            .to_lowercase()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join("_");
        if tag.is_empty() {
            continue;
        }
        if tag.chars().count() > MAX_TAG_CHARS {
            return Err(DecksError::Invalid(format!(
                "a tag is longer than {MAX_TAG_CHARS} characters"
            )));
        }
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    if out.len() > MAX_TAGS {
        return Err(DecksError::Invalid(format!("at most {MAX_TAGS} tags")));
    }
    Ok(out)
}

/// A deck name: trimmed, not empty, not too long.
pub fn deck_name(name: &str) -> Result<String, DecksError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(DecksError::Invalid(
            "the deck name must not be empty".into(),
        ));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(DecksError::Invalid(format!(
            "the deck name is longer than {MAX_NAME_CHARS} characters"
        )));
    }
    Ok(name.to_string())
}

pub fn retention(value: f64) -> Result<f64, DecksError> {
    if (0.7..=0.99).contains(&value) {
        Ok(value)
    } else {
        Err(DecksError::Invalid(
            "desired_retention must be between 0.7 and 0.99".into(),
        ))
    }
}

/// The user's words as an FTS5 query that cannot be a syntax error: each word quoted, all
/// required, the last one also matching as a prefix.
pub fn fts_query(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .map(|w| format!("\"{w}\""))
        .collect();
    let (last, rest) = words.split_last()?;
    let mut query = rest.join(" ");
    if !query.is_empty() {
        query.push(' ');
    }
    query.push_str(last);
    query.push('*');
    Some(query)
}

const CARD_COLUMNS: &str = "id, deck_id, front, back, tags, source, written_by, suspended, \
    state, step, stability, difficulty, due, last_review, reps, lapses, created_at, updated_at";

fn card_from(row: &Row<'_>) -> rusqlite::Result<Card> {
    let tags: String = row.get(4)?;
    let state: String = row.get(8)?;
    Ok(Card {
        id: row.get(0)?,
        deck_id: row.get(1)?,
        front: row.get(2)?,
        back: row.get(3)?,
        tags: tags.split_whitespace().map(String::from).collect(),
        source: row.get(5)?,
        written_by: row.get(6)?,
        suspended: row.get::<_, i64>(7)? != 0,
        state: CardState::parse(&state).unwrap_or(CardState::New),
        step: row.get(9)?,
        stability: row.get(10)?,
        difficulty: row.get(11)?,
        due: row.get(12)?,
        last_review: row.get(13)?,
        reps: row.get(14)?,
        lapses: row.get(15)?,
        created_at: row.get(16)?,
        updated_at: row.get(17)?,
    })
}

fn deck_from(row: &Row<'_>) -> rusqlite::Result<Deck> {
    Ok(Deck {
        id: row.get(0)?,
        name: row.get(1)?,
        description: row.get(2)?,
        desired_retention: row.get(3)?,
        created_at: row.get(4)?,
        updated_at: row.get(5)?,
        cards: row.get::<_, i64>(6)?.max(0) as u64,
        due: row.get::<_, i64>(7)?.max(0) as u64,
        new: row.get::<_, i64>(8)?.max(0) as u64,
        suspended: row.get::<_, i64>(9)?.max(0) as u64,
    })
}

const DECK_SELECT: &str = "SELECT d.id, d.name, d.description, d.desired_retention, \
    d.created_at, d.updated_at, \
    (SELECT COUNT(*) FROM cards c WHERE c.deck_id = d.id), \
    (SELECT COUNT(*) FROM cards c WHERE c.deck_id = d.id AND c.suspended = 0 AND c.due <= ?2), \
    (SELECT COUNT(*) FROM cards c WHERE c.deck_id = d.id AND c.state = 'new' AND c.suspended = 0), \
    (SELECT COUNT(*) FROM cards c WHERE c.deck_id = d.id AND c.suspended = 1) \
    FROM decks d WHERE d.user_id = ?1";

fn is_unique_violation(error: &StoreError) -> bool {
    matches!(
        error,
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _))
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
    )
}

#[derive(Clone)]
pub struct Decks {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl Decks {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub async fn create_deck(
        &self,
        owner: &UserId,
        name: &str,
        description: &str,
        desired_retention: Option<f64>,
    ) -> Result<Deck, DecksError> {
        let name = deck_name(name)?;
        let description = field("description", description, false)?;
        let retention = retention(desired_retention.unwrap_or(DEFAULT_RETENTION))?;
        let id = uuid::Uuid::new_v4().to_string();
        let now = self.clock.now().to_rfc3339();
        let row = (
            id.clone(),
            owner.to_string(),
            name.clone(),
            description,
            retention,
            now,
        );
        let written = self
            .store
            .write(move |tx| {
                tx.execute(
                    "INSERT INTO decks (id, user_id, name, description, desired_retention,
                         created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                    params![row.0, row.1, row.2, row.3, row.4, row.5],
                )?;
                Ok(())
            })
            .await;
        match written {
            Err(e) if is_unique_violation(&e) => Err(DecksError::Duplicate(name)),
            Err(e) => Err(e.into()),
            Ok(()) => self
                .deck(owner, &id)
                .await?
                .ok_or(DecksError::NotFound("deck")),
        }
    }

    pub async fn decks(&self, owner: &UserId) -> Result<Vec<Deck>, DecksError> {
        let (user, now) = (owner.to_string(), self.clock.now().to_rfc3339());
        Ok(self
            .store
            .read(move |c| {
                let mut statement = c.prepare(&format!("{DECK_SELECT} ORDER BY d.name"))?;
                let decks = statement
                    .query_map(params![user, now], deck_from)?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(decks)
            })
            .await?)
    }

    pub async fn deck(&self, owner: &UserId, id: &str) -> Result<Option<Deck>, DecksError> {
        let (user, now, id) = (
            owner.to_string(),
            self.clock.now().to_rfc3339(),
            id.to_string(),
        );
        Ok(self
            .store
            .read(move |c| {
                Ok(c.query_row(
                    &format!("{DECK_SELECT} AND d.id = ?3"),
                    params![user, now, id],
                    deck_from,
                )
                .optional()?)
            })
            .await?)
    }

    /// The deck `reference` names: its id, else its exact name.
    pub async fn find_deck(&self, owner: &UserId, reference: &str) -> Result<Deck, DecksError> {
        let reference = reference.trim();
        if let Some(deck) = self.deck(owner, reference).await? {
            return Ok(deck);
        }
        let (user, name) = (owner.to_string(), reference.to_string());
        let id: Option<String> = self
            .store
            .read(move |c| {
                Ok(c.query_row(
                    "SELECT id FROM decks WHERE user_id = ?1 AND name = ?2",
                    params![user, name],
                    |r| r.get(0),
                )
                .optional()?)
            })
            .await?;
        match id {
            Some(id) => self
                .deck(owner, &id)
                .await?
                .ok_or(DecksError::NotFound("deck")),
            None => Err(DecksError::NotFound("deck")),
        }
    }

    /// The deck named `name`, made if it does not exist yet.
    pub async fn deck_named(&self, owner: &UserId, name: &str) -> Result<Deck, DecksError> {
        match self.find_deck(owner, name).await {
            Ok(deck) => Ok(deck),
            Err(DecksError::NotFound(_)) => match self.create_deck(owner, name, "", None).await {
                // Made by a concurrent call in between: use theirs.
                Err(DecksError::Duplicate(_)) => self.find_deck(owner, name).await,
                other => other,
            },
            Err(e) => Err(e),
        }
    }

    pub async fn update_deck(
        &self,
        owner: &UserId,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
        desired_retention: Option<f64>,
    ) -> Result<Deck, DecksError> {
        let name = name.map(deck_name).transpose()?;
        let description = description
            .map(|d| field("description", d, false))
            .transpose()?;
        let retention = desired_retention.map(retention).transpose()?;
        let (user, key, now) = (
            owner.to_string(),
            id.to_string(),
            self.clock.now().to_rfc3339(),
        );
        let clash = name.clone().unwrap_or_default();
        let changed = self
            .store
            .write(move |tx| {
                Ok(tx.execute(
                    "UPDATE decks SET name = COALESCE(?3, name),
                         description = COALESCE(?4, description),
                         desired_retention = COALESCE(?5, desired_retention), updated_at = ?6
                     WHERE id = ?1 AND user_id = ?2",
                    params![key, user, name, description, retention, now],
                )?)
            })
            .await;
        match changed {
            Err(e) if is_unique_violation(&e) => Err(DecksError::Duplicate(clash)),
            Err(e) => Err(e.into()),
            Ok(0) => Err(DecksError::NotFound("deck")),
            Ok(_) => self
                .deck(owner, id)
                .await?
                .ok_or(DecksError::NotFound("deck")),
        }
    }

    /// Deletes a deck with its cards; their review history stays in the log.
    pub async fn delete_deck(&self, owner: &UserId, id: &str) -> Result<u64, DecksError> {
        let (user, key) = (owner.to_string(), id.to_string());
        let removed = self
            .store
            .write(move |tx| {
                let cards = tx.execute(
                    "DELETE FROM cards WHERE deck_id = ?1 AND user_id = ?2",
                    params![key, user],
                )?;
                let decks = tx.execute(
                    "DELETE FROM decks WHERE id = ?1 AND user_id = ?2",
                    params![key, user],
                )?;
                Ok((decks, cards))
            })
            .await?;
        match removed {
            (0, _) => Err(DecksError::NotFound("deck")),
            (_, cards) => Ok(cards as u64),
        }
    }

    /// Adds `cards` to deck `deck_id` in one transaction, all or none.
    pub async fn add_cards(
        &self,
        owner: &UserId,
        deck_id: &str,
        cards: Vec<NewCard>,
    ) -> Result<Vec<Card>, DecksError> {
        if cards.is_empty() {
            return Err(DecksError::Invalid("no cards to add".into()));
        }
        if cards.len() > MAX_CARDS_PER_STORE {
            return Err(DecksError::Invalid(format!(
                "at most {MAX_CARDS_PER_STORE} cards at once"
            )));
        }
        let cards = cards
            .into_iter()
            .map(NewCard::checked)
            .collect::<Result<Vec<_>, _>>()?;
        let now = self.clock.now().to_rfc3339();
        let ids: Vec<String> = cards
            .iter()
            .map(|_| uuid::Uuid::new_v4().to_string())
            .collect();
        let (user, deck, rows) = (owner.to_string(), deck_id.to_string(), ids.clone());
        let added = self
            .store
            .write(move |tx| {
                let owned: Option<i64> = tx
                    .query_row(
                        "SELECT 1 FROM decks WHERE id = ?1 AND user_id = ?2",
                        params![deck, user],
                        |r| r.get(0),
                    )
                    .optional()?;
                if owned.is_none() {
                    return Ok(false);
                }
                let mut insert = tx.prepare(
                    "INSERT INTO cards (id, user_id, deck_id, front, back, tags, source,
                         written_by, due, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?9)",
                )?;
                for (id, card) in rows.iter().zip(&cards) {
                    insert.execute(params![
                        id,
                        user,
                        deck,
                        card.front,
                        card.back,
                        card.tags.join(" "),
                        card.source,
                        card.written_by,
                        now
                    ])?;
                }
                tx.execute(
                    "UPDATE decks SET updated_at = ?2 WHERE id = ?1",
                    params![deck, now],
                )?;
                Ok(true)
            })
            .await?;
        if !added {
            return Err(DecksError::NotFound("deck"));
        }
        self.cards_by_id(owner, ids).await
    }

    async fn cards_by_id(&self, owner: &UserId, ids: Vec<String>) -> Result<Vec<Card>, DecksError> {
        let user = owner.to_string();
        Ok(self
            .store
            .read(move |c| {
                let mut statement = c.prepare(&format!(
                    "SELECT {CARD_COLUMNS} FROM cards WHERE id = ?1 AND user_id = ?2"
                ))?;
                let mut out = Vec::with_capacity(ids.len());
                for id in &ids {
                    if let Some(card) = statement
                        .query_row(params![id, user], card_from)
                        .optional()?
                    {
                        out.push(card);
                    }
                }
                Ok(out)
            })
            .await?)
    }

    pub async fn card(&self, owner: &UserId, id: &str) -> Result<Option<Card>, DecksError> {
        Ok(self
            .cards_by_id(owner, vec![id.to_string()])
            .await?
            .into_iter()
            .next())
    }

    pub async fn edit_card(
        &self,
        owner: &UserId,
        id: &str,
        edit: CardEdit,
    ) -> Result<Card, DecksError> {
        let front = edit.front.map(|v| field("front", &v, true)).transpose()?;
        let back = edit.back.map(|v| field("back", &v, true)).transpose()?;
        let source = edit
            .source
            .map(|v| field("source", &v, false))
            .transpose()?;
        let tags = edit
            .tags
            .map(|t| tags(&t))
            .transpose()?
            .map(|t| t.join(" "));
        let (user, key, now) = (
            owner.to_string(),
            id.to_string(),
            self.clock.now().to_rfc3339(),
        );
        let changed = self
            .store
            .write(move |tx| {
                Ok(tx.execute(
                    "UPDATE cards SET front = COALESCE(?3, front), back = COALESCE(?4, back),
                         tags = COALESCE(?5, tags), source = COALESCE(?6, source), updated_at = ?7
                     WHERE id = ?1 AND user_id = ?2",
                    params![key, user, front, back, tags, source, now],
                )?)
            })
            .await?;
        self.changed_card(owner, id, changed).await
    }

    async fn changed_card(
        &self,
        owner: &UserId,
        id: &str,
        changed: usize,
    ) -> Result<Card, DecksError> {
        if changed == 0 {
            return Err(DecksError::NotFound("card"));
        }
        self.card(owner, id)
            .await?
            .ok_or(DecksError::NotFound("card"))
    }

    /// Moves a card to another of the owner's decks, keeping its schedule and history.
    pub async fn move_card(
        &self,
        owner: &UserId,
        id: &str,
        deck_id: &str,
    ) -> Result<Card, DecksError> {
        let (user, key, deck, now) = (
            owner.to_string(),
            id.to_string(),
            deck_id.to_string(),
            self.clock.now().to_rfc3339(),
        );
        let changed = self
            .store
            .write(move |tx| {
                Ok(tx.execute(
                    "UPDATE cards SET deck_id = ?3, updated_at = ?4
                     WHERE id = ?1 AND user_id = ?2
                       AND EXISTS (SELECT 1 FROM decks WHERE id = ?3 AND user_id = ?2)",
                    params![key, user, deck, now],
                )?)
            })
            .await?;
        if changed == 0 && self.card(owner, id).await?.is_some() {
            return Err(DecksError::NotFound("deck"));
        }
        self.changed_card(owner, id, changed).await
    }

    pub async fn set_suspended(
        &self,
        owner: &UserId,
        id: &str,
        suspended: bool,
    ) -> Result<Card, DecksError> {
        let (user, key, now) = (
            owner.to_string(),
            id.to_string(),
            self.clock.now().to_rfc3339(),
        );
        let changed = self
            .store
            .write(move |tx| {
                Ok(tx.execute(
                    "UPDATE cards SET suspended = ?3, updated_at = ?4 WHERE id = ?1 AND user_id = ?2",
                    params![key, user, i64::from(suspended), now],
                )?)
            })
            .await?;
        self.changed_card(owner, id, changed).await
    }

    /// Deletes a card; its review history stays in the log.
    pub async fn delete_card(&self, owner: &UserId, id: &str) -> Result<(), DecksError> {
        let (user, key) = (owner.to_string(), id.to_string());
        let removed = self
            .store
            .write(move |tx| {
                Ok(tx.execute(
                    "DELETE FROM cards WHERE id = ?1 AND user_id = ?2",
                    params![key, user],
                )?)
            })
            .await?;
        if removed == 0 {
            return Err(DecksError::NotFound("card"));
        }
        Ok(())
    }

    /// A deck's cards, oldest first.
    pub async fn cards_in_deck(
        &self,
        owner: &UserId,
        deck_id: &str,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<Card>, DecksError> {
        let (user, deck) = (owner.to_string(), deck_id.to_string());
        let (limit, offset) = (limit as i64, offset as i64);
        Ok(self
            .store
            .read(move |c| {
                let mut statement = c.prepare(&format!(
                    "SELECT {CARD_COLUMNS} FROM cards WHERE deck_id = ?1 AND user_id = ?2
                     ORDER BY created_at, rowid LIMIT ?3 OFFSET ?4"
                ))?;
                let cards = statement
                    .query_map(params![deck, user, limit, offset], card_from)?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(cards)
            })
            .await?)
    }

    /// Cards due at `now` (suspended ones never), most overdue first; new cards after the
    /// cards already in review.
    pub async fn due_cards(
        &self,
        owner: &UserId,
        deck_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Card>, DecksError> {
        let (user, now) = (owner.to_string(), self.clock.now().to_rfc3339());
        let deck = deck_id.map(str::to_string);
        let limit = limit as i64;
        Ok(self
            .store
            .read(move |c| {
                let mut statement = c.prepare(&format!(
                    "SELECT {CARD_COLUMNS} FROM cards
                     WHERE user_id = ?1 AND suspended = 0 AND due <= ?2
                       AND (?3 IS NULL OR deck_id = ?3)
                     ORDER BY state = 'new', due, rowid LIMIT ?4"
                ))?;
                let cards = statement
                    .query_map(params![user, now, deck, limit], card_from)?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(cards)
            })
            .await?)
    }

    /// How many cards are due now, and the earliest time another falls due.
    pub async fn due_summary(&self, owner: &UserId) -> Result<(u64, Option<String>), DecksError> {
        let (user, now) = (owner.to_string(), self.clock.now().to_rfc3339());
        Ok(self
            .store
            .read(move |c| {
                let due: i64 = c.query_row(
                    "SELECT COUNT(*) FROM cards WHERE user_id = ?1 AND suspended = 0 AND due <= ?2",
                    params![user, now],
                    |r| r.get(0),
                )?;
                let next: Option<String> = c.query_row(
                    "SELECT MIN(due) FROM cards WHERE user_id = ?1 AND suspended = 0 AND due > ?2",
                    params![user, now],
                    |r| r.get(0),
                )?;
                Ok((due.max(0) as u64, next))
            })
            .await?)
    }

    /// Whether any of the owner's cards fell due in (`after`, `until`].
    pub async fn fell_due(
        &self,
        owner: &UserId,
        after: Timestamp,
        until: Timestamp,
    ) -> Result<bool, DecksError> {
        let (user, after, until) = (owner.to_string(), after.to_rfc3339(), until.to_rfc3339());
        Ok(self
            .store
            .read(move |c| {
                Ok(c.query_row(
                    "SELECT EXISTS (SELECT 1 FROM cards WHERE user_id = ?1 AND suspended = 0
                         AND due > ?2 AND due <= ?3)",
                    params![user, after, until],
                    |r| r.get::<_, bool>(0),
                )?)
            })
            .await?)
    }

    /// Full-text search over front, back and tags, best match first.
    pub async fn search(
        &self,
        owner: &UserId,
        query: &str,
        deck_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<CardHit>, DecksError> {
        let Some(fts) = fts_query(query) else {
            return Err(DecksError::Invalid(
                "the search needs at least one word".into(),
            ));
        };
        let user = owner.to_string();
        let deck = deck_id.map(str::to_string);
        let limit = limit as i64;
        let columns = CARD_COLUMNS
            .split(", ")
            .map(|c| format!("c.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        Ok(self
            .store
            .read(move |c| {
                let mut statement = c.prepare(&format!(
                    "SELECT {columns}, bm25(cards_fts) AS rank FROM cards_fts
                     JOIN cards c ON c.rowid = cards_fts.rowid
                     WHERE cards_fts MATCH ?1 AND c.user_id = ?2 AND (?3 IS NULL OR c.deck_id = ?3)
                     ORDER BY rank LIMIT ?4"
                ))?;
                let hits = statement
                    .query_map(params![fts, user, deck, limit], |row| {
                        Ok(CardHit {
                            card: card_from(row)?,
                            rank: row.get(18)?,
                        })
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(hits)
            })
            .await?)
    }

    /// Reviews card `card_id` in one job on the store's writer: reads the card, its deck's
    /// retention and the owner's parameters, schedules with the settings `settings_for`
    /// gives for that retention, and writes the card and its log entry. Nothing can land in
    /// between, so no review is lost or counted twice, and the caller pays one hand-off.
    pub async fn review(
        &self,
        owner: &UserId,
        card_id: &str,
        rating: Rating,
        duration_ms: Option<u64>,
        settings_for: impl FnOnce(f64) -> Settings + Send + 'static,
    ) -> Result<ReviewOutcome, DecksError> {
        let (user, key, now) = (owner.to_string(), card_id.to_string(), self.clock.now());
        let duration = duration_ms.map(|d| d.min(i64::MAX as u64) as i64);
        Ok(self
            .store
            .write(move |tx| {
                let select =
                    format!("SELECT {CARD_COLUMNS} FROM cards WHERE id = ?1 AND user_id = ?2");
                // Cached statements: a review is a handful of small queries, and compiling
                // them each time was a measurable part of its latency.
                let Some(card) = tx
                    .prepare_cached(&select)?
                    .query_row(params![key, user], card_from)
                    .optional()?
                else {
                    return Ok(ReviewOutcome::NotFound);
                };
                if card.suspended {
                    return Ok(ReviewOutcome::Suspended);
                }
                let retention: f64 = tx
                    .prepare_cached(
                        "SELECT desired_retention FROM decks WHERE id = ?1 AND user_id = ?2",
                    )?
                    .query_row(params![card.deck_id, user], |r| r.get(0))
                    .optional()?
                    .unwrap_or(DEFAULT_RETENTION);
                let fitted: Option<Vec<f32>> = tx
                    .prepare_cached("SELECT parameters FROM fsrs_parameters WHERE user_id = ?1")?
                    .query_row(params![user], |r| r.get::<_, String>(0))
                    .optional()?
                    .and_then(|json| serde_json::from_str(&json).ok());
                let rejected = |what: String| StoreError::Rejected(what);
                let (scheduler, fitted) =
                    Scheduler::for_deck(fitted.as_deref(), settings_for(retention))
                        .map_err(|e| rejected(e.to_string()))?;
                let schedule = card.schedule().map_err(|e| rejected(e.to_string()))?;
                let reviewed = scheduler
                    .review(&card.id, &schedule, rating, now)
                    .map_err(|e| rejected(e.to_string()))?;
                let next = &reviewed.schedule;
                let at = now.to_rfc3339();
                tx.prepare_cached(
                    "UPDATE cards SET state = ?3, step = ?4, stability = ?5, difficulty = ?6,
                         due = ?7, last_review = ?8, reps = ?9, lapses = ?10, updated_at = ?8
                     WHERE id = ?1 AND user_id = ?2",
                )?
                .execute(params![
                    key,
                    user,
                    next.state.as_str(),
                    next.step,
                    next.stability,
                    next.difficulty,
                    next.due.to_rfc3339(),
                    at,
                    next.reps,
                    next.lapses
                ])?;
                tx.prepare_cached(
                    "INSERT INTO reviews (user_id, card_id, deck_id, reviewed_at, rating,
                         state_before, elapsed_days, scheduled_days, stability, difficulty, due,
                         duration_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                )?
                .execute(params![
                    user,
                    key,
                    card.deck_id,
                    at,
                    rating.number(),
                    card.state.as_str(),
                    reviewed.elapsed_days,
                    reviewed.scheduled_days,
                    next.stability.unwrap_or(0.0),
                    next.difficulty.unwrap_or(0.0),
                    next.due.to_rfc3339(),
                    duration
                ])?;
                let card = tx
                    .prepare_cached(&select)?
                    .query_row(params![key, user], card_from)?;
                Ok(ReviewOutcome::Done {
                    card: Box::new(card),
                    scheduled_days: reviewed.scheduled_days,
                    fitted,
                })
            })
            .await?)
    }

    /// The owner's reviews since `since` (all with `None`), oldest first, optionally of
    /// one deck.
    pub async fn reviews(
        &self,
        owner: &UserId,
        since: Option<Timestamp>,
        deck_id: Option<&str>,
    ) -> Result<Vec<ReviewEntry>, DecksError> {
        let user = owner.to_string();
        let since = since.map(Timestamp::to_rfc3339);
        let deck = deck_id.map(str::to_string);
        let rows: Vec<(String, String, String, u32, String, u32, f64)> = self
            .store
            .read(move |c| {
                let mut statement = c.prepare(
                    "SELECT card_id, deck_id, reviewed_at, rating, state_before, elapsed_days,
                         scheduled_days FROM reviews
                     WHERE user_id = ?1 AND (?2 IS NULL OR reviewed_at >= ?2)
                       AND (?3 IS NULL OR deck_id = ?3)
                     ORDER BY reviewed_at, id",
                )?;
                let rows = statement
                    .query_map(params![user, since, deck], |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                            r.get(6)?,
                        ))
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(
                |(card_id, deck_id, at, rating, state_before, elapsed, scheduled)| {
                    Some(ReviewEntry {
                        card_id,
                        deck_id,
                        reviewed_at: Timestamp::parse_rfc3339(&at)?,
                        rating,
                        state_before,
                        elapsed_days: elapsed,
                        scheduled_days: scheduled,
                    })
                },
            )
            .collect())
    }

    /// How long the owner's last 500 timed reviews took, in milliseconds.
    pub async fn review_durations(&self, owner: &UserId) -> Result<Vec<u64>, DecksError> {
        let user = owner.to_string();
        Ok(self
            .store
            .read(move |c| {
                let mut statement = c.prepare(
                    "SELECT duration_ms FROM reviews WHERE user_id = ?1 AND duration_ms IS NOT NULL
                     ORDER BY reviewed_at DESC LIMIT 500",
                )?;
                let rows = statement
                    .query_map(params![user], |r| r.get::<_, i64>(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows.into_iter().map(|d| d.max(0) as u64).collect())
            })
            .await?)
    }

    /// The due dates of the owner's unsuspended cards, optionally of one deck.
    pub async fn due_dates(
        &self,
        owner: &UserId,
        deck_id: Option<&str>,
    ) -> Result<Vec<(CardState, Timestamp)>, DecksError> {
        let user = owner.to_string();
        let deck = deck_id.map(str::to_string);
        let rows: Vec<(String, String)> = self
            .store
            .read(move |c| {
                let mut statement = c.prepare(
                    "SELECT state, due FROM cards WHERE user_id = ?1 AND suspended = 0
                       AND (?2 IS NULL OR deck_id = ?2)",
                )?;
                let rows = statement
                    .query_map(params![user, deck], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(state, due)| {
                Some((CardState::parse(&state)?, Timestamp::parse_rfc3339(&due)?))
            })
            .collect())
    }

    /// The owner's fitted FSRS parameters and how many reviews they were fitted on.
    pub async fn parameters(
        &self,
        owner: &UserId,
    ) -> Result<Option<(Vec<f32>, u64, String)>, DecksError> {
        let user = owner.to_string();
        let row: Option<(String, i64, String)> = self
            .store
            .read(move |c| {
                Ok(c.query_row(
                    "SELECT parameters, review_count, fitted_at FROM fsrs_parameters WHERE user_id = ?1",
                    params![user],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?)
            })
            .await?;
        Ok(row.and_then(|(json, count, at)| {
            let parameters: Vec<f32> = serde_json::from_str(&json).ok()?;
            Some((parameters, count.max(0) as u64, at))
        }))
    }

    pub async fn save_parameters(
        &self,
        owner: &UserId,
        parameters: &[f32],
        review_count: u64,
    ) -> Result<(), DecksError> {
        let json = serde_json::to_string(parameters)
            .map_err(|e| DecksError::Invalid(format!("parameters: {e}")))?;
        let (user, now) = (owner.to_string(), self.clock.now().to_rfc3339());
        let count = review_count.min(i64::MAX as u64) as i64;
        self.store
            .write(move |tx| {
                tx.execute(
                    "INSERT INTO fsrs_parameters (user_id, parameters, review_count, fitted_at)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (user_id) DO UPDATE SET parameters = excluded.parameters,
                         review_count = excluded.review_count, fitted_at = excluded.fitted_at",
                    params![user, json, count, now],
                )?;
                Ok(())
            })
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_is_always_a_valid_fts5_query() {
        assert_eq!(
            fts_query("beta blockers").as_deref(),
            Some("\"beta\" \"blockers\"*")
        );
        assert_eq!(
            fts_query("NEAR(\"x\" OR) AND -- *").as_deref(),
            Some("\"NEAR\" \"x\" \"OR\" \"AND\"*")
        );
        assert_eq!(fts_query("  ?! "), None);
    }

    #[test]
    fn tags_are_normalised_and_bounded() {
        let given = vec![
            " Cardiology ".into(),
            "heart failure".into(),
            "cardiology".into(),
            "".into(),
        ];
        assert_eq!(tags(&given).unwrap(), ["cardiology", "heart_failure"]);
        let many: Vec<String> = (0..30).map(|i| format!("t{i}")).collect();
        assert!(tags(&many).is_err());
    }
}
