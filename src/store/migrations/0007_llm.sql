-- The LLM provider layer (src/llm/), platform switches (src/maintenance/) and chat
-- (src/chat/).
--
-- Provider keys are stored sealed (AES-256-GCM under the master key; the row's id and
-- provider, and for a user's own key the user id, are the associated data). Only a SHA-256
-- of the key, to refuse duplicates, and its last four characters, to show it masked, are
-- kept beside it.

CREATE TABLE provider_keys (
    id                    TEXT PRIMARY KEY,          -- pk_ + 16 hex digits
    owner_user_id         TEXT REFERENCES users (id) ON DELETE CASCADE, -- NULL: the shared pool
    provider              TEXT NOT NULL,             -- openai | anthropic | gemini
    label                 TEXT NOT NULL,
    base_url              TEXT NOT NULL,
    models                TEXT NOT NULL,             -- JSON array; the first is the default
    features              TEXT NOT NULL,             -- JSON array of feature tags; empty: every feature
    priority              INTEGER NOT NULL DEFAULT 0, -- higher is tried first
    status                TEXT NOT NULL DEFAULT 'active'
                          CHECK (status IN ('active', 'degraded', 'disabled')),
    sealed_key            BLOB NOT NULL,
    key_digest            TEXT NOT NULL,             -- hex SHA-256 of the key
    key_last4             TEXT NOT NULL,
    consecutive_failures  INTEGER NOT NULL DEFAULT 0,
    cooldown_until        TEXT,                      -- RFC 3339 UTC
    last_used_at          TEXT,
    last_failure_at       TEXT,
    last_error            TEXT,                      -- sanitised: never holds key material
    successes             INTEGER NOT NULL DEFAULT 0,
    failures              INTEGER NOT NULL DEFAULT 0,
    latency_ms_total      INTEGER NOT NULL DEFAULT 0,
    tokens_in             INTEGER NOT NULL DEFAULT 0,
    tokens_out            INTEGER NOT NULL DEFAULT 0,
    cost_micro_usd        INTEGER NOT NULL DEFAULT 0,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL
);

CREATE UNIQUE INDEX provider_keys_no_duplicates
    ON provider_keys (COALESCE(owner_user_id, ''), provider, key_digest);
CREATE INDEX provider_keys_by_owner ON provider_keys (owner_user_id);

-- A user's choices about their own keys.
CREATE TABLE provider_preferences (
    user_id               TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    shared_pool_fallback  INTEGER NOT NULL DEFAULT 0, -- 1: the shared pool may serve when own keys fail
    updated_at            TEXT NOT NULL
);

-- Switches that outlive a restart: maintenance mode and features switched off at run time.
CREATE TABLE platform_state (
    name        TEXT PRIMARY KEY,                    -- 'maintenance', 'feature:<name>'
    value       TEXT NOT NULL,                       -- JSON
    updated_at  TEXT NOT NULL
);

CREATE TABLE chat_sessions (
    id          TEXT PRIMARY KEY,                    -- a UUID
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title       TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE INDEX chat_sessions_by_user ON chat_sessions (user_id, updated_at);

-- Messages are health conversations, so their text is sealed with the session and its
-- owner as associated data.
CREATE TABLE chat_messages (
    session_id  TEXT NOT NULL REFERENCES chat_sessions (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    sealed      BLOB NOT NULL,
    provider    TEXT,                                -- who answered (assistant messages)
    model       TEXT,
    source      TEXT,                                -- own_key | shared_pool | client_model
    tokens_in   INTEGER NOT NULL DEFAULT 0,
    tokens_out  INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
);
