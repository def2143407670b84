-- Clinical case and OSCE practice sessions. Owned by src/study/sessions.rs. A session holds
-- the model-written case or station that passed its checks, how far the student has got,
-- and every answer with its evaluation, so it can be resumed after a restart. Every row
-- carries its owner; every query is scoped by it.

CREATE TABLE study_sessions (
    id          TEXT PRIMARY KEY,                 -- a UUID
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,                    -- case | osce
    title       TEXT NOT NULL,
    topic       TEXT NOT NULL,                    -- the specialty or station asked for
    written_by  TEXT NOT NULL,                    -- model:<provider>/<model>
    state       TEXT NOT NULL,                    -- JSON: content, stage, turns
    status      TEXT NOT NULL,                    -- active | finished
    score       REAL,                             -- share of points met, once finished
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE INDEX study_sessions_by_user ON study_sessions (user_id, updated_at);
