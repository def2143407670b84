-- Health analyses kept for their owner. Owned by src/health/history.rs. The result is
-- health data, so it is stored sealed (AES-256-GCM under the master key, with the row's
-- id and owner as associated data): a copied database file alone reveals none of it.

CREATE TABLE analyses (
    id          TEXT PRIMARY KEY,                 -- a UUID
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tool        TEXT NOT NULL,                    -- the tool that produced it
    created_at  TEXT NOT NULL,                    -- RFC 3339 UTC
    sealed      BLOB NOT NULL                     -- the sealed JSON result
);

CREATE INDEX analyses_by_user ON analyses (user_id, created_at);
