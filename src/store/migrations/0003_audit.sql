-- The tamper-evident audit log, owned by `src/audit/`.
--
-- Every row is one security-relevant event. `hash` is SHA-256 over the row's
-- fields and `prev_hash` (the previous row's `hash`, 32 zero bytes for the
-- first row), so editing, removing or reordering rows breaks the chain; the
-- signed checkpoints in a file outside this database catch a chain rewritten
-- from scratch. The triggers below are the first line of defence only: they
-- stop the application (and careless hands) from changing history, but
-- anyone who can write the file can drop them, which is what
-- `consilium audit verify` is for.
--
-- A later migration that must reshape this table has to drop and recreate
-- the triggers itself, and must never rewrite existing rows.
CREATE TABLE audit_log (
    -- Contiguous from 1: verification treats any missing number as a gap.
    seq        INTEGER PRIMARY KEY,
    -- RFC 3339 UTC with microseconds, fixed width so text order is time order.
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT,
    -- A JSON object; never secrets or health data.
    details    TEXT NOT NULL CHECK (json_valid(details) AND json_type(details) = 'object'),
    ip         TEXT,
    user_agent TEXT,
    prev_hash  BLOB NOT NULL CHECK (length(prev_hash) = 32),
    hash       BLOB NOT NULL CHECK (length(hash) = 32)
) STRICT;

-- Appending out of order (or over an existing row with INSERT OR REPLACE,
-- which would otherwise delete without firing the DELETE trigger) is
-- refused: the only row that may be inserted is the next one.
CREATE TRIGGER audit_log_appends_in_sequence
BEFORE INSERT ON audit_log
WHEN NEW.seq IS NOT (SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_log)
BEGIN
    SELECT RAISE(ABORT, 'audit entries must be appended in sequence');
END;

CREATE TRIGGER audit_log_refuses_update
BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_log_refuses_delete
BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

-- Admin queries filter by who, by what (action prefixes are range scans)
-- and by when, newest first. Verification walks the primary key alone.
CREATE INDEX audit_log_by_actor ON audit_log (actor, seq);
CREATE INDEX audit_log_by_action ON audit_log (action, seq);
CREATE INDEX audit_log_by_time ON audit_log (at);
