-- Consensus runs kept for their owner. Owned by src/consensus/runs.rs. The question and the
-- panel's answers are health conversation, so the full result is stored sealed
-- (AES-256-GCM under the master key, with the run's id and owner as associated data). The
-- certificate holds digests only and is kept in the clear so it can be served as issued.

CREATE TABLE consensus_runs (
    id           TEXT PRIMARY KEY,               -- a UUID
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   TEXT NOT NULL,                  -- RFC 3339 UTC
    status       TEXT NOT NULL,                  -- reached | not_reached | insufficient
    agreement    REAL NOT NULL,
    members      INTEGER NOT NULL,               -- panel size asked
    answered     INTEGER NOT NULL,               -- members that answered
    certificate  TEXT,                           -- compact JWS; none without an answer
    sealed       BLOB NOT NULL                   -- the sealed JSON result
);

CREATE INDEX consensus_runs_by_user ON consensus_runs (user_id, created_at);
