//! A student's own documents: reading an upload (plain text, Markdown, or a PDF's text
//! layer, page by page), cutting it into chunks that keep their page numbers, and storing
//! and searching them per user with SQLite FTS5 (BM25). Bad files get clear errors before
//! anything is stored; a document is stored with all its chunks or not at all. This file
//! asks no model.

use std::sync::Arc;

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::decks::DecksError;
use super::vectors::{VectorCache, VectorIndex, unit, unit_vector_bytes};
use crate::identity::{Clock, UserId};
use crate::store::Store;

/// The largest upload read, in bytes.
pub const MAX_UPLOAD_BYTES: usize = 20 * 1024 * 1024;
/// Characters a chunk aims for; paragraphs are packed up to it, longer ones split.
const CHUNK_CHARS: usize = 900;
const MAX_TITLE_CHARS: usize = 300;
/// Chunks one document may have.
const MAX_CHUNKS: usize = 20_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    Text,
    Markdown,
    Pdf,
}

impl DocumentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Text => "text",
            DocumentKind::Markdown => "markdown",
            DocumentKind::Pdf => "pdf",
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ReadError {
    #[error("the file is larger than {} MB", MAX_UPLOAD_BYTES / (1024 * 1024))]
    TooLarge,
    #[error("the file is empty")]
    Empty,
    #[error("the file is not UTF-8 text")]
    NotText,
    #[error("the file looks binary, not text")]
    Binary,
    #[error("the file is not a PDF (it does not start with %PDF-)")]
    NotPdf,
    #[error("the PDF is encrypted; remove its password and upload it again")]
    Encrypted,
    #[error("the PDF could not be read: {0}")]
    BadPdf(String),
    #[error("the PDF has no text layer (a scan?); run it through OCR first")]
    NoText,
    #[error("the document is too long ({0} chunks; at most {MAX_CHUNKS})")]
    TooLong(usize),
}

/// One page's text, numbered from 1.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub number: u32,
    pub text: String,
}

/// A chunk with where it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    pub ordinal: u32,
    pub page: u32,
    pub text: String,
}

/// The pages of an upload. Text splits into pages at form feeds; a PDF gives its text
/// layer page by page. Blocking for PDFs: call on a blocking thread.
pub fn read_pages(kind: DocumentKind, bytes: &[u8]) -> Result<Vec<Page>, ReadError> {
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err(ReadError::TooLarge);
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ReadError::Empty);
    }
    let texts: Vec<String> = match kind {
        DocumentKind::Text | DocumentKind::Markdown => {
            let text = std::str::from_utf8(bytes).map_err(|_| ReadError::NotText)?;
            let controls = text
                .chars()
                .filter(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\u{c}'))
                .count();
            if controls * 100 > text.chars().count().max(1) {
                return Err(ReadError::Binary);
            }
            text.split('\u{c}').map(String::from).collect()
        }
        DocumentKind::Pdf => pdf_pages(bytes)?,
    };
    let pages: Vec<Page> = texts
        .into_iter()
        .enumerate()
        .map(|(i, text)| Page {
            number: i as u32 + 1,
            text,
        })
        .collect();
    if pages.iter().all(|p| p.text.trim().is_empty()) {
        return Err(if kind == DocumentKind::Pdf {
            ReadError::NoText
        } else {
            ReadError::Empty
        });
    }
    Ok(pages)
}

fn pdf_pages(bytes: &[u8]) -> Result<Vec<String>, ReadError> {
    if !bytes.starts_with(b"%PDF-") {
        return Err(ReadError::NotPdf);
    }
    // An encrypted PDF names its encryption dictionary in the trailer.
    if bytes.windows(8).any(|w| w == b"/Encrypt") {
        return Err(ReadError::Encrypted);
    }
    // The extractor can panic on malformed files; a panic here is a bad file, not a crash.
    let extracted = std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem_by_pages(bytes));
    match extracted {
        Ok(Ok(pages)) => Ok(pages),
        Ok(Err(error)) => {
            let message = error.to_string();
            if message.to_lowercase().contains("encrypt") {
                Err(ReadError::Encrypted)
            } else {
                Err(ReadError::BadPdf(message.chars().take(200).collect()))
            }
        }
        Err(_) => Err(ReadError::BadPdf("its structure is damaged".into())),
    }
}

/// Paragraphs packed into chunks of about [`CHUNK_CHARS`], never across a page; a longer
/// paragraph is split at the last space before the limit.
pub fn chunk(pages: &[Page]) -> Result<Vec<Chunk>, ReadError> {
    let mut chunks = Vec::new();
    for page in pages {
        let mut current = String::new();
        let flush = |current: &mut String, chunks: &mut Vec<Chunk>| {
            let text = current.trim();
            if !text.is_empty() {
                chunks.push(Chunk {
                    ordinal: chunks.len() as u32 + 1,
                    page: page.number,
                    text: text.to_string(),
                });
            }
            current.clear();
        };
        let normalised = page.text.replace("\r\n", "\n");
        for paragraph in normalised.split("\n\n") {
            let paragraph = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
            if paragraph.is_empty() {
                continue;
            }
            if current.chars().count() + paragraph.chars().count() > CHUNK_CHARS {
                flush(&mut current, &mut chunks);
            }
            let mut rest = paragraph.as_str();
            while rest.chars().count() > CHUNK_CHARS {
                let limit = rest
                    .char_indices()
                    .nth(CHUNK_CHARS)
                    .map_or(rest.len(), |(i, _)| i);
                let cut = rest[..limit].rfind(' ').filter(|&i| i > 0).unwrap_or(limit);
                current.push_str(&rest[..cut]);
                flush(&mut current, &mut chunks);
                rest = rest[cut..].trim_start();
            }
            if !current.is_empty() {
                current.push('\n');
            }
            current.push_str(rest);
        }
        flush(&mut current, &mut chunks);
        if chunks.len() > MAX_CHUNKS {
            return Err(ReadError::TooLong(chunks.len()));
        }
    }
    Ok(chunks)
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct DocumentInfo {
    pub id: String,
    pub title: String,
    pub kind: String,
    pub pages: u32,
    pub chunks: u32,
    pub bytes: u64,
    pub sha256: String,
    pub created_at: String,
}

/// A chunk found by a search, best first.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ChunkHit {
    pub document_id: String,
    pub document_title: String,
    pub page: u32,
    pub chunk: u32,
    pub text: String,
    /// BM25 rank from SQLite FTS5 (lower is better), when the chunk matched by words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank: Option<f64>,
    /// Cosine similarity of the chunk's embedding to the query's, when it matched by
    /// meaning.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub similarity: Option<f32>,
}

/// Reciprocal-rank fusion's constant (Cormack, Clarke and Büttcher, SIGIR 2009): damps
/// the difference between the first few places of either list.
const FUSION_K: f64 = 60.0;

/// Merges a word-ranked and a meaning-ranked list, best first, by reciprocal-rank fusion:
/// each chunk scores the sum of 1 / (k + place) over the lists it is in, so a chunk both
/// lists agree on rises, and one found only by meaning still gets in.
pub fn fuse(by_words: Vec<ChunkHit>, by_meaning: Vec<ChunkHit>, limit: usize) -> Vec<ChunkHit> {
    let mut fused: Vec<(f64, ChunkHit)> = Vec::new();
    for (list, from_words) in [(by_words, true), (by_meaning, false)] {
        for (place, hit) in list.into_iter().enumerate() {
            let score = 1.0 / (FUSION_K + place as f64 + 1.0);
            match fused
                .iter_mut()
                .find(|(_, h)| h.document_id == hit.document_id && h.chunk == hit.chunk)
            {
                Some((total, known)) => {
                    *total += score;
                    if from_words {
                        known.rank = hit.rank;
                    } else {
                        known.similarity = hit.similarity;
                    }
                }
                None => fused.push((score, hit)),
            }
        }
    }
    // Stable: ties keep the word list's order.
    fused.sort_by(|a, b| b.0.total_cmp(&a.0));
    fused.into_iter().take(limit).map(|(_, h)| h).collect()
}

/// Words that carry no meaning for retrieval.
const STOPWORDS: &[&str] = &[
    "a", "an", "the", "is", "are", "was", "were", "be", "been", "of", "to", "in", "on", "and",
    "or", "for", "with", "as", "at", "by", "from", "what", "which", "who", "whom", "how", "why",
    "when", "where", "does", "do", "did", "it", "its", "this", "that", "these", "those", "can",
    "could", "should", "would", "i", "my", "me", "you", "your", "about", "into", "than",
];

/// A question as an FTS5 query: its content words, quoted, any of them matching.
pub fn any_words_query(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| !w.is_empty() && !STOPWORDS.contains(&w.as_str()))
        .take(24)
        .map(|w| format!("\"{w}\""))
        .collect();
    (!words.is_empty()).then(|| words.join(" OR "))
}

#[derive(Clone)]
pub struct Documents {
    store: Store,
    clock: Arc<dyn Clock>,
    vectors: Arc<VectorCache>,
}

const INFO_COLUMNS: &str = "id, title, kind, pages, chunks, bytes, sha256, created_at";

fn info_from(row: &rusqlite::Row<'_>) -> rusqlite::Result<DocumentInfo> {
    Ok(DocumentInfo {
        id: row.get(0)?,
        title: row.get(1)?,
        kind: row.get(2)?,
        pages: row.get(3)?,
        chunks: row.get(4)?,
        bytes: row.get::<_, i64>(5)?.max(0) as u64,
        sha256: row.get(6)?,
        created_at: row.get(7)?,
    })
}

impl Documents {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            vectors: Arc::new(VectorCache::default()),
        }
    }

    /// Stores a document with its chunks, all or none.
    pub async fn save(
        &self,
        owner: &UserId,
        title: &str,
        kind: DocumentKind,
        pages: u32,
        upload: (u64, String),
        chunks: Vec<Chunk>,
    ) -> Result<DocumentInfo, DecksError> {
        let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
        if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
            return Err(DecksError::Invalid(format!(
                "the title must be 1–{MAX_TITLE_CHARS} characters"
            )));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let now = self.clock.now().to_rfc3339();
        let (user, key) = (owner.to_string(), id.clone());
        let (bytes, sha256) = upload;
        let count = chunks.len() as u32;
        self.store
            .write(move |tx| {
                tx.execute(
                    "INSERT INTO documents (id, user_id, title, kind, pages, chunks, bytes, sha256,
                         created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    params![
                        key,
                        user,
                        title,
                        kind.as_str(),
                        pages,
                        count,
                        bytes.min(i64::MAX as u64) as i64,
                        sha256,
                        now
                    ],
                )?;
                let mut insert = tx.prepare(
                    "INSERT INTO document_chunks (document_id, user_id, ordinal, page, text)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                for chunk in &chunks {
                    insert.execute(params![key, user, chunk.ordinal, chunk.page, chunk.text])?;
                }
                Ok(())
            })
            .await?;
        self.info(owner, &id)
            .await?
            .ok_or(DecksError::NotFound("document"))
    }

    pub async fn info(&self, owner: &UserId, id: &str) -> Result<Option<DocumentInfo>, DecksError> {
        let (user, key) = (owner.to_string(), id.to_string());
        Ok(self
            .store
            .read(move |c| {
                Ok(c.query_row(
                    &format!("SELECT {INFO_COLUMNS} FROM documents WHERE id = ?1 AND user_id = ?2"),
                    params![key, user],
                    info_from,
                )
                .optional()?)
            })
            .await?)
    }

    pub async fn list(&self, owner: &UserId) -> Result<Vec<DocumentInfo>, DecksError> {
        let user = owner.to_string();
        Ok(self
            .store
            .read(move |c| {
                let mut statement = c.prepare(&format!(
                    "SELECT {INFO_COLUMNS} FROM documents WHERE user_id = ?1 ORDER BY created_at DESC"
                ))?;
                let rows = statement
                    .query_map(params![user], info_from)?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await?)
    }

    /// A document's chunks in reading order.
    pub async fn chunks(&self, owner: &UserId, id: &str) -> Result<Vec<Chunk>, DecksError> {
        let (user, key) = (owner.to_string(), id.to_string());
        Ok(self
            .store
            .read(move |c| {
                let mut statement = c.prepare(
                    "SELECT ordinal, page, text FROM document_chunks
                     WHERE document_id = ?1 AND user_id = ?2 ORDER BY ordinal",
                )?;
                let rows = statement
                    .query_map(params![key, user], |r| {
                        Ok(Chunk {
                            ordinal: r.get(0)?,
                            page: r.get(1)?,
                            text: r.get(2)?,
                        })
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await?)
    }

    pub async fn delete(&self, owner: &UserId, id: &str) -> Result<(), DecksError> {
        let (user, key) = (owner.to_string(), id.to_string());
        let removed = self
            .store
            .write(move |tx| {
                tx.execute(
                    "DELETE FROM document_chunk_vectors WHERE document_id = ?1 AND user_id = ?2",
                    params![key, user],
                )?;
                tx.execute(
                    "DELETE FROM document_chunks WHERE document_id = ?1 AND user_id = ?2",
                    params![key, user],
                )?;
                Ok(tx.execute(
                    "DELETE FROM documents WHERE id = ?1 AND user_id = ?2",
                    params![key, user],
                )?)
            })
            .await;
        self.vectors.forget(owner.as_str());
        if removed? == 0 {
            return Err(DecksError::NotFound("document"));
        }
        Ok(())
    }

    /// Stores the vectors of a document's chunks (by ordinal), made by `model`. A chunk
    /// keeps one vector: a later one replaces it.
    pub async fn save_vectors(
        &self,
        owner: &UserId,
        document_id: &str,
        model: &str,
        vectors: Vec<(u32, Vec<f32>)>,
    ) -> Result<usize, DecksError> {
        let (user, key, model) = (
            owner.to_string(),
            document_id.to_string(),
            model.to_string(),
        );
        let now = self.clock.now().to_rfc3339();
        let stored = self
            .store
            .write(move |tx| {
                let mut insert = tx.prepare(
                    "INSERT OR REPLACE INTO document_chunk_vectors
                         (chunk_id, document_id, user_id, model, dimensions, vector, created_at)
                     SELECT id, document_id, user_id, ?4, ?5, ?6, ?7 FROM document_chunks
                     WHERE document_id = ?1 AND user_id = ?2 AND ordinal = ?3",
                )?;
                let mut stored = 0;
                for (ordinal, vector) in &vectors {
                    let Some(bytes) = unit_vector_bytes(vector) else {
                        continue;
                    };
                    stored += insert.execute(params![
                        key,
                        user,
                        ordinal,
                        model,
                        vector.len(),
                        bytes,
                        now
                    ])?;
                }
                Ok(stored)
            })
            .await;
        self.vectors.forget(owner.as_str());
        Ok(stored?)
    }

    /// The model of the user's latest vectors: the one a query must be embedded with.
    pub async fn vector_model(&self, owner: &UserId) -> Result<Option<String>, DecksError> {
        let user = owner.to_string();
        Ok(self
            .store
            .read(move |c| {
                Ok(c.query_row(
                    "SELECT model FROM document_chunk_vectors WHERE user_id = ?1
                     ORDER BY created_at DESC LIMIT 1",
                    params![user],
                    |r| r.get(0),
                )
                .optional()?)
            })
            .await?)
    }

    /// The `limit` chunks whose `model` vectors are nearest `query` (at least
    /// `min_similarity`), best first, optionally in one document. An exact scan over the
    /// user's vectors held in memory: a student's documents are thousands of chunks, not
    /// millions.
    pub async fn nearest(
        &self,
        owner: &UserId,
        model: &str,
        query: &[f32],
        document_id: Option<&str>,
        limit: usize,
        min_similarity: f32,
    ) -> Result<Vec<ChunkHit>, DecksError> {
        let Some(query) = unit(query) else {
            return Ok(Vec::new());
        };
        let index = self.vector_index(owner, model, query.len()).await?;
        let document = document_id.map(str::to_string);
        // Milliseconds of arithmetic for a large library: kept off the async threads.
        let best = tokio::task::spawn_blocking(move || {
            index.nearest(&query, document.as_deref(), limit, min_similarity)
        })
        .await
        .map_err(|_| DecksError::Invalid("the vector scan stopped".into()))?;
        if best.is_empty() {
            return Ok(Vec::new());
        }
        let user = owner.to_string();
        Ok(self
            .store
            .read(move |c| {
                let mut fetch = c.prepare_cached(
                    "SELECT ch.document_id, d.title, ch.page, ch.ordinal, ch.text
                     FROM document_chunks ch JOIN documents d ON d.id = ch.document_id
                     WHERE ch.id = ?1 AND ch.user_id = ?2",
                )?;
                let mut hits = Vec::with_capacity(best.len());
                for (score, chunk_id) in best {
                    if let Some(hit) = fetch
                        .query_row(params![chunk_id, user], |r| {
                            Ok(ChunkHit {
                                document_id: r.get(0)?,
                                document_title: r.get(1)?,
                                page: r.get(2)?,
                                chunk: r.get(3)?,
                                text: r.get(4)?,
                                rank: None,
                                similarity: Some(score),
                            })
                        })
                        .optional()?
                    {
                        hits.push(hit);
                    }
                }
                Ok(hits)
            })
            .await?)
    }

    /// The user's `model` vectors of `dimensions`, from memory or loaded from the store.
    async fn vector_index(
        &self,
        owner: &UserId,
        model: &str,
        dimensions: usize,
    ) -> Result<Arc<VectorIndex>, DecksError> {
        if let Some(index) = self.vectors.get(owner.as_str(), model)
            && index.dimensions == dimensions
        {
            return Ok(index);
        }
        let generation = self.vectors.generation();
        let (user, key) = (owner.to_string(), model.to_string());
        let index = self
            .store
            .read(move |c| {
                let mut scan = c.prepare_cached(
                    "SELECT chunk_id, document_id, vector FROM document_chunk_vectors
                     WHERE user_id = ?1 AND model = ?2 AND dimensions = ?3 ORDER BY chunk_id",
                )?;
                let mut index = VectorIndex::new(dimensions);
                let mut rows = scan.query(params![user, key, dimensions])?;
                while let Some(row) = rows.next()? {
                    let document: String = row.get(1)?;
                    if let Ok(bytes) = row.get_ref(2)?.as_blob() {
                        index.push(row.get(0)?, &document, bytes);
                    }
                }
                Ok(index)
            })
            .await?;
        let index = Arc::new(index);
        self.vectors
            .keep(owner.as_str(), model, index.clone(), generation);
        Ok(index)
    }

    /// Chunks matching the FTS5 `query`, best first, optionally in one document.
    pub async fn search(
        &self,
        owner: &UserId,
        query: String,
        document_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ChunkHit>, DecksError> {
        let user = owner.to_string();
        let document = document_id.map(str::to_string);
        let limit = limit as i64;
        Ok(self
            .store
            .read(move |c| {
                let mut statement = c.prepare(
                    "SELECT ch.document_id, d.title, ch.page, ch.ordinal, ch.text,
                         bm25(document_chunks_fts) AS rank
                     FROM document_chunks_fts
                     JOIN document_chunks ch ON ch.id = document_chunks_fts.rowid
                     JOIN documents d ON d.id = ch.document_id
                     WHERE document_chunks_fts MATCH ?1 AND ch.user_id = ?2
                       AND (?3 IS NULL OR ch.document_id = ?3)
                     ORDER BY rank LIMIT ?4",
                )?;
                let rows = statement
                    .query_map(params![query, user, document, limit], |r| {
                        Ok(ChunkHit {
                            document_id: r.get(0)?,
                            document_title: r.get(1)?,
                            page: r.get(2)?,
                            chunk: r.get(3)?,
                            text: r.get(4)?,
                            rank: Some(r.get(5)?),
                            similarity: None,
                        })
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_read_by_page_and_binary_is_refused() {
        let pages = read_pages(DocumentKind::Text, b"Page one.\x0cPage two.").unwrap();
        assert_eq!(pages.len(), 2);
        assert_eq!(
            pages[1],
            Page {
                number: 2,
                text: "Page two.".into()
            }
        );
        assert_eq!(
            read_pages(DocumentKind::Text, b"   \n"),
            Err(ReadError::Empty)
        );
        assert_eq!(
            read_pages(DocumentKind::Text, &[0xff, 0xfe, 0x00, 0x41]),
            Err(ReadError::NotText)
        );
        let binary: Vec<u8> = (0..200u8).map(|i| i % 9).collect();
        assert_eq!(
            read_pages(DocumentKind::Markdown, &binary),
            Err(ReadError::Binary)
        );
        assert_eq!(
            read_pages(DocumentKind::Pdf, b"hello"),
            Err(ReadError::NotPdf)
        );
        assert_eq!(
            read_pages(
                DocumentKind::Pdf,
                b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer << /Encrypt 5 0 R >>"
            ),
            Err(ReadError::Encrypted)
        );
        assert!(matches!(
            read_pages(
                DocumentKind::Pdf,
                b"%PDF-1.7\nthis is not a pdf body at all"
            ),
            Err(ReadError::BadPdf(_))
        ));
        let huge = vec![b'a'; MAX_UPLOAD_BYTES + 1];
        assert_eq!(
            read_pages(DocumentKind::Text, &huge),
            Err(ReadError::TooLarge)
        );
    }

    #[test]
    fn chunks_keep_their_page_and_stay_near_the_target_size() {
        let long_paragraph = "word ".repeat(500);
        let pages = vec![
            Page {
                number: 1,
                text: format!("Short intro.\n\n{long_paragraph}\n\nTail."),
            },
            Page {
                number: 2,
                text: "Second page.".into(),
            },
        ];
        let chunks = chunk(&pages).unwrap();
        assert!(
            chunks
                .iter()
                .all(|c| c.text.chars().count() <= CHUNK_CHARS + 1)
        );
        assert_eq!(chunks.last().unwrap().page, 2);
        assert_eq!(chunks.last().unwrap().text, "Second page.");
        let ordinals: Vec<u32> = chunks.iter().map(|c| c.ordinal).collect();
        assert_eq!(ordinals, (1..=chunks.len() as u32).collect::<Vec<_>>());
        let words: usize = chunks
            .iter()
            .map(|c| c.text.split_whitespace().count())
            .sum();
        assert_eq!(words, 2 + 500 + 1 + 2, "no word lost or doubled");
    }

    fn hit(chunk: u32, rank: Option<f64>, similarity: Option<f32>) -> ChunkHit {
        ChunkHit {
            document_id: "d".into(),
            document_title: "D".into(),
            page: 1,
            chunk,
            text: String::new(),
            rank,
            similarity,
        }
    }

    #[test]
    fn fusion_lifts_what_both_rankings_agree_on_and_admits_meaning_only_hits() {
        let by_words = vec![
            hit(1, Some(-3.0), None),
            hit(2, Some(-2.0), None),
            hit(3, Some(-1.0), None),
        ];
        let by_meaning = vec![hit(9, None, Some(0.9)), hit(2, None, Some(0.8))];
        let fused = fuse(by_words, by_meaning, 3);
        let order: Vec<u32> = fused.iter().map(|h| h.chunk).collect();
        // Chunk 2 is in both lists; 1 and 9 lead one list each (a tie kept in word order).
        assert_eq!(order, vec![2, 1, 9]);
        assert_eq!(fused[0].rank, Some(-2.0));
        assert_eq!(fused[0].similarity, Some(0.8));
        assert_eq!(fused[2].rank, None);
        assert!(fuse(Vec::new(), Vec::new(), 5).is_empty());
    }

    #[test]
    fn a_question_becomes_a_safe_any_word_query() {
        assert_eq!(
            any_words_query("What is the first-line treatment of AKI?").as_deref(),
            Some("\"first\" OR \"line\" OR \"treatment\" OR \"aki\"")
        );
        assert_eq!(any_words_query("what is it?"), None);
    }
}
