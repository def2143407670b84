-- A student's own documents and their chunks, for search and answers grounded in them.
-- Owned by src/study/documents.rs. The text is study material the student uploaded; it is
-- kept in the clear so SQLite FTS5 can index it (BM25), like the cards. Every row carries
-- its owner; every query is scoped by it.

CREATE TABLE documents (
    id          TEXT PRIMARY KEY,                 -- a UUID
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title       TEXT NOT NULL,
    kind        TEXT NOT NULL,                    -- text | markdown | pdf
    pages       INTEGER NOT NULL,
    chunks      INTEGER NOT NULL,
    bytes       INTEGER NOT NULL,                 -- size of the upload
    sha256      TEXT NOT NULL,                    -- of the upload
    created_at  TEXT NOT NULL                     -- RFC 3339 UTC
);

CREATE INDEX documents_by_user ON documents (user_id, created_at);

CREATE TABLE document_chunks (
    id           INTEGER PRIMARY KEY,
    document_id  TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    ordinal      INTEGER NOT NULL,                -- 1-based, in reading order
    page         INTEGER NOT NULL,                -- 1-based; 1 for text without pages
    text         TEXT NOT NULL
);

CREATE INDEX document_chunks_by_document ON document_chunks (document_id, ordinal);

CREATE VIRTUAL TABLE document_chunks_fts USING fts5 (
    text,
    content = 'document_chunks', content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE TRIGGER document_chunks_fts_insert AFTER INSERT ON document_chunks BEGIN
    INSERT INTO document_chunks_fts (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER document_chunks_fts_delete AFTER DELETE ON document_chunks BEGIN
    INSERT INTO document_chunks_fts (document_chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
