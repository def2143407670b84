-- Embedding vectors of document chunks, for hybrid ranking beside FTS5 when a provider
-- key serves embeddings. Owned by src/study/documents.rs. A vector is little-endian f32,
-- scaled to unit length, so cosine similarity is a dot product. The model that made it is
-- kept: only vectors of one model are comparable.

CREATE TABLE document_chunk_vectors (
    chunk_id     INTEGER PRIMARY KEY REFERENCES document_chunks (id) ON DELETE CASCADE,
    document_id  TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    model        TEXT NOT NULL,
    dimensions   INTEGER NOT NULL,
    vector       BLOB NOT NULL,
    created_at   TEXT NOT NULL                    -- RFC 3339 UTC
);

CREATE INDEX document_chunk_vectors_by_user ON document_chunk_vectors (user_id, model, created_at);
