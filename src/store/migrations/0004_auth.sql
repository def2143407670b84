-- Sign-in sessions: the server's signing keys, the refresh tokens it has
-- issued and the access tokens revoked before their expiry. Owned by
-- src/secrets/signing_keys.rs (signing_keys) and src/auth/ (the rest), which
-- check every value before it gets here. Timestamps are RFC 3339 UTC text
-- ('2025-01-31T12:00:00Z'), so text order is time order.

-- Ed25519 keys, one active per purpose ('jwt', 'audit', later
-- 'certificate'). Retired keys stay so that what they signed can still be
-- verified; they are never used to sign again.
CREATE TABLE signing_keys (
    kid            TEXT PRIMARY KEY,         -- RFC 7638 thumbprint of the public key, so a kid names exactly one key
    purpose        TEXT NOT NULL CHECK (length(purpose) BETWEEN 1 AND 32),
    public_key     BLOB NOT NULL CHECK (length(public_key) = 32),
    private_sealed BLOB NOT NULL,            -- the 32-byte seed sealed under the master key, bound to purpose and kid
    created_at     TEXT NOT NULL,
    retired_at     TEXT                      -- NULL while the key signs
);

-- At most one active key per purpose: a unique index over only the active
-- rows, so two servers starting at once cannot both create one.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (purpose) WHERE retired_at IS NULL;

-- Every refresh token issued, so each can be used once. A family is one
-- sign-in: each refresh replaces its token with a new one in the same
-- family, and a token presented twice means it was copied, so the whole
-- family is revoked. Rows go once expired: an expired token is refused
-- before its row is looked up.
CREATE TABLE refresh_tokens (
    jti        TEXT PRIMARY KEY,             -- a UUID; the token itself is never stored
    family_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    issued_at  TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT,                         -- set when exchanged for a new pair; a second use is theft
    revoked_at TEXT                          -- set on logout or when reuse is detected
);

CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_by_expiry ON refresh_tokens (expires_at);
CREATE INDEX refresh_tokens_by_user ON refresh_tokens (user_id);

-- Access tokens revoked before their expiry (logout). Only kept until the
-- token would have expired anyway; the server holds the same set in memory
-- so that checking a token does not read this table.
CREATE TABLE revoked_tokens (
    jti        TEXT PRIMARY KEY,
    expires_at TEXT NOT NULL
);

CREATE INDEX revoked_tokens_by_expiry ON revoked_tokens (expires_at);
