-- Trace evaluation: the traces applications submit, what the evaluation found, and each
-- tenant's choices. Owned by src/evaluation/store.rs. A trace's texts and metadata are
-- sealed under the master key, bound to the trace's id and owner, and hold PHI only when
-- the tenant opted in (otherwise every identifier found is replaced before sealing).
-- Evaluations hold rule ids, severities, messages, offsets and counts, never trace text.

CREATE TABLE traces (
    id             TEXT PRIMARY KEY,               -- a UUID
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    domain         TEXT NOT NULL,
    model          TEXT NOT NULL,
    provider       TEXT,
    source         TEXT NOT NULL,                  -- mcp | otlp
    external_id    TEXT,
    input_tokens   INTEGER,
    output_tokens  INTEGER,
    latency_ms     INTEGER,
    started_at     TEXT,
    ended_at       TEXT,
    received_at    TEXT NOT NULL,                  -- RFC 3339 UTC
    phi_found      INTEGER NOT NULL,
    phi_redacted   INTEGER NOT NULL,               -- 1: identifiers replaced before sealing
    sealed         BLOB NOT NULL                   -- {system, input, output, metadata}
);

CREATE INDEX traces_by_user ON traces (user_id, received_at);

CREATE TABLE evaluations (
    id            TEXT PRIMARY KEY,                -- a UUID
    trace_id      TEXT NOT NULL REFERENCES traces (id) ON DELETE CASCADE,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    domain        TEXT NOT NULL,
    pack_version  TEXT NOT NULL,
    status        TEXT NOT NULL,                   -- complete | awaiting_judge | judge_failed
    verdict       TEXT NOT NULL,                   -- pass | warn | fail
    severity      TEXT,                            -- the highest finding's
    findings      TEXT NOT NULL,                   -- JSON array
    phi           TEXT NOT NULL,                   -- JSON object: counts by kind
    tiers         TEXT NOT NULL,                   -- JSON: what ran
    judge         TEXT,                            -- JSON: the judge's outcome
    created_at    TEXT NOT NULL,
    completed_at  TEXT
);

CREATE INDEX evaluations_by_user ON evaluations (user_id, created_at);
CREATE INDEX evaluations_by_trace ON evaluations (trace_id);

CREATE TABLE evaluation_settings (
    user_id     TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    keep_phi    INTEGER NOT NULL DEFAULT 0,
    hash_salt   BLOB NOT NULL,                     -- 32 random bytes keying redact_phi's hashes
    updated_at  TEXT NOT NULL
);
