-- Decks, cards and the review log of spaced repetition. Owned by src/study/decks.rs.
-- Study material (a card's front and back) is not health data about a person, and full-text
-- search needs it readable, so it is stored in the clear like the rest of the database file
-- (owner-only on disk). Every row carries its owner; every query is scoped by it.

CREATE TABLE decks (
    id                 TEXT PRIMARY KEY,           -- a UUID
    user_id            TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    description        TEXT NOT NULL DEFAULT '',
    desired_retention  REAL NOT NULL DEFAULT 0.9,
    created_at         TEXT NOT NULL,              -- RFC 3339 UTC
    updated_at         TEXT NOT NULL,
    UNIQUE (user_id, name)
);

CREATE TABLE cards (
    id           TEXT PRIMARY KEY,                 -- a UUID
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    deck_id      TEXT NOT NULL REFERENCES decks (id) ON DELETE CASCADE,
    front        TEXT NOT NULL,
    back         TEXT NOT NULL,
    tags         TEXT NOT NULL DEFAULT '',         -- space-separated, lower case
    source       TEXT NOT NULL DEFAULT '',         -- where the fact comes from
    written_by   TEXT NOT NULL DEFAULT 'student',  -- student | import | model:<provider>/<model>
    suspended    INTEGER NOT NULL DEFAULT 0,
    state        TEXT NOT NULL DEFAULT 'new',      -- new | learning | review | relearning
    step         INTEGER NOT NULL DEFAULT 0,
    stability    REAL,
    difficulty   REAL,
    due          TEXT NOT NULL,                    -- RFC 3339 UTC
    last_review  TEXT,
    reps         INTEGER NOT NULL DEFAULT 0,
    lapses       INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

CREATE INDEX cards_due ON cards (user_id, suspended, due);
-- A deck's listing counts its cards, its due cards and its new cards from these alone.
CREATE INDEX cards_by_deck ON cards (deck_id, suspended, due);
CREATE INDEX cards_by_deck_state ON cards (deck_id, state, suspended);

-- Full-text search over the cards (BM25 ranking), kept in step by triggers.
CREATE VIRTUAL TABLE cards_fts USING fts5 (
    front, back, tags,
    content = 'cards', content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER cards_fts_insert AFTER INSERT ON cards BEGIN
    INSERT INTO cards_fts (rowid, front, back, tags) VALUES (new.rowid, new.front, new.back, new.tags);
END;
CREATE TRIGGER cards_fts_delete AFTER DELETE ON cards BEGIN
    INSERT INTO cards_fts (cards_fts, rowid, front, back, tags)
        VALUES ('delete', old.rowid, old.front, old.back, old.tags);
END;
CREATE TRIGGER cards_fts_update AFTER UPDATE OF front, back, tags ON cards BEGIN
    INSERT INTO cards_fts (cards_fts, rowid, front, back, tags)
        VALUES ('delete', old.rowid, old.front, old.back, old.tags);
    INSERT INTO cards_fts (rowid, front, back, tags) VALUES (new.rowid, new.front, new.back, new.tags);
END;

-- Every review, kept for statistics and for fitting the student's own FSRS parameters.
-- The card id is kept without a foreign key so a deleted card's history still counts.
CREATE TABLE reviews (
    id              INTEGER PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    card_id         TEXT NOT NULL,
    deck_id         TEXT NOT NULL,
    reviewed_at     TEXT NOT NULL,                 -- RFC 3339 UTC
    rating          INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 4),
    state_before    TEXT NOT NULL,
    elapsed_days    INTEGER NOT NULL,
    scheduled_days  REAL NOT NULL,
    stability       REAL NOT NULL,
    difficulty      REAL NOT NULL,
    due             TEXT NOT NULL,
    duration_ms     INTEGER
);

CREATE INDEX reviews_by_user ON reviews (user_id, reviewed_at);
CREATE INDEX reviews_by_card ON reviews (card_id, reviewed_at);

-- A student's own FSRS parameters, once fitted to their review log.
CREATE TABLE fsrs_parameters (
    user_id       TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    parameters    TEXT NOT NULL,                   -- JSON array of 21 numbers
    review_count  INTEGER NOT NULL,
    fitted_at     TEXT NOT NULL
);
