-- Metering: a row for every tool call, admitted or refused, and a running
-- total per user per UTC day. Owned by src/metering/, which writes both in
-- the same batches through the store's writer, off the request path.
-- Timestamps are RFC 3339 UTC text ('2025-01-31T12:00:00Z') and days are
-- 'YYYY-MM-DD' (UTC), so text order is time order. Counts are never
-- negative. No row here may hold health data: only names, counts and codes.

-- One row per call. Append-only in practice; kept for burn rates and for
-- answering "what happened" later.
CREATE TABLE usage_events (
    id             INTEGER PRIMARY KEY,
    at             TEXT NOT NULL,             -- when the call was admitted (or refused)
    -- No foreign key to users: these rows are written in the background and
    -- must not fail (taking the rest of their batch with them) because a
    -- user was deleted in between; the history outlives the account.
    user_id        TEXT NOT NULL,
    api_key_id     TEXT,                      -- the key's public id; NULL for a session
    plan           TEXT NOT NULL,             -- the plan name the call was made under
    tool           TEXT NOT NULL,
    feature        TEXT,                      -- the metered feature, e.g. 'mcq'; NULL for none
    feature_units  INTEGER NOT NULL CHECK (feature_units >= 0),
    tokens_in      INTEGER NOT NULL CHECK (tokens_in >= 0),
    tokens_out     INTEGER NOT NULL CHECK (tokens_out >= 0),
    cost_micro_usd INTEGER NOT NULL CHECK (cost_micro_usd >= 0),
    latency_ms     INTEGER NOT NULL CHECK (latency_ms >= 0),
    -- 'ok', 'cancelled', 'tool_error:<CODE>' or 'refused:<CODE>'.
    outcome        TEXT NOT NULL CHECK (
        outcome IN ('ok', 'cancelled')
        OR outcome LIKE 'tool_error:%'
        OR outcome LIKE 'refused:%'
    )
);

-- The burn rate reads the last hour and the last day by time. The only
-- index, because every call pays for each index on the way in.
CREATE INDEX usage_events_by_time ON usage_events (at);

-- Admitted calls per user per UTC day: what seeds the in-memory counters
-- after a restart and what the usage reports read, so neither has to scan
-- usage_events. A new day is simply a new row; nothing runs at midnight.
CREATE TABLE usage_daily (
    user_id        TEXT NOT NULL,
    day            TEXT NOT NULL,             -- 'YYYY-MM-DD', UTC
    plan           TEXT NOT NULL,             -- the plan of the latest call counted
    requests       INTEGER NOT NULL DEFAULT 0 CHECK (requests >= 0),
    tokens_in      INTEGER NOT NULL DEFAULT 0 CHECK (tokens_in >= 0),
    tokens_out     INTEGER NOT NULL DEFAULT 0 CHECK (tokens_out >= 0),
    cost_micro_usd INTEGER NOT NULL DEFAULT 0 CHECK (cost_micro_usd >= 0),
    PRIMARY KEY (user_id, day)
) WITHOUT ROWID;

-- The platform report reads one day (or seven) across every user.
CREATE INDEX usage_daily_by_day ON usage_daily (day);

-- Feature units per user per UTC day ('mcq' → 5), beside usage_daily so a
-- new feature needs no schema change.
CREATE TABLE usage_daily_features (
    user_id TEXT NOT NULL,
    day     TEXT NOT NULL,
    feature TEXT NOT NULL,
    units   INTEGER NOT NULL DEFAULT 0 CHECK (units >= 0),
    PRIMARY KEY (user_id, day, feature)
) WITHOUT ROWID;
