-- Identity: the users who may use the server and their API keys. Owned by
-- src/identity/, which validates every value before it gets here; the
-- constraints below are the last line, not the first. Timestamps are
-- RFC 3339 UTC text ('2025-01-31T12:00:00Z'), so text order is time order.

CREATE TABLE users (
    id             TEXT PRIMARY KEY,         -- a UUID, lowercase and hyphenated
    email          TEXT NOT NULL UNIQUE,     -- stored trimmed and lowercased, so UNIQUE ignores case
    display_name   TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('admin', 'user')),
    plan           TEXT NOT NULL DEFAULT 'free',
    disabled       INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    password_hash  TEXT,                     -- an argon2id PHC string; NULL until a password is set
    failed_logins  INTEGER NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_at      TEXT,                     -- set by repeated failed logins; NULL while unlocked
    is_local_owner INTEGER NOT NULL DEFAULT 0 CHECK (is_local_owner IN (0, 1)),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);

-- At most one local owner: a unique index over only the rows that are one.
CREATE UNIQUE INDEX users_one_local_owner ON users (is_local_owner) WHERE is_local_owner = 1;

CREATE TABLE api_keys (
    key_id        TEXT PRIMARY KEY,          -- the public part of the key, used to look it up
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    secret_sha256 BLOB NOT NULL CHECK (length(secret_sha256) = 32), -- never the secret itself
    scopes        TEXT NOT NULL,             -- a JSON array of scope names
    created_at    TEXT NOT NULL,
    last_used_at  TEXT,
    expires_at    TEXT,
    revoked_at    TEXT,
    replaced_by   TEXT                       -- the key_id that replaced this one on rotation
);

CREATE INDEX api_keys_by_user ON api_keys (user_id);
