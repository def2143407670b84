//! A student's own documents: reading an upload (plain text, Markdown, or a PDF's text
//! layer, page by page), cutting it into chunks that keep their page numbers, and storing
//! and searching them per user with SQLite FTS5 (BM25). Bad files get clear errors before
//! anything is stored; a document is stored with all its chunks or not at all. This file
//! asks no model.

use std::sync::Arc;

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::decks::DecksError;
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
    /// BM25 rank from SQLite FTS5: lower is better.
    pub rank: f64,
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
        Self { store, clock }
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
                    "DELETE FROM document_chunks WHERE document_id = ?1 AND user_id = ?2",
                    params![key, user],
                )?;
                Ok(tx.execute(
                    "DELETE FROM documents WHERE id = ?1 AND user_id = ?2",
                    params![key, user],
                )?)
            })
            .await?;
        if removed == 0 {
            return Err(DecksError::NotFound("document"));
        }
        Ok(())
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
                            rank: r.get(5)?,
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

    #[test]
    fn a_question_becomes_a_safe_any_word_query() {
        assert_eq!(
            any_words_query("What is the first-line treatment of AKI?").as_deref(),
            Some("\"first\" OR \"line\" OR \"treatment\" OR \"aki\"")
        );
        assert_eq!(any_words_query("what is it?"), None);
    }
}
