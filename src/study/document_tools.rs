//! The MCP surface of a student's documents: `upload_document`, `list_documents`,
//! `delete_document`, `search_documents`, `ask_documents` and `consilium://documents/{id}`.
//! `ask_documents` answers only from retrieved chunks and cites them, or says the documents
//! do not hold the answer; with nothing retrieved no model is asked. Retrieval is BM25
//! alone, or hybrid when a provider key serves embeddings: chunks are embedded on upload,
//! questions on asking, and the two rankings fused; an embedding failure falls back to
//! BM25 and says so, never failing the call. Thin: reading, storage and fusion are in
//! `documents`, the model calls in `generate` and the router.

use base64::Engine;
use rmcp::ErrorData as McpError;
use rmcp::model::{ReadResourceResult, ResourceContents, ResourceTemplate};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::decks::DecksError;
use super::documents::{
    ChunkHit, DocumentInfo, DocumentKind, MAX_UPLOAD_BYTES, any_words_query, fuse,
};
use super::generate::generate;
use super::writing_tools::{Authorship, authorship};
use crate::identity::Scope;
use crate::llm::RouteError;
use crate::mcp::{RegistryBuilder, ToolContext, ToolError, ToolOutput};

/// Chunks shown to the model for one question.
const RETRIEVED: usize = 6;
/// Candidates taken from each ranking before fusing them.
const FUSION_CANDIDATES: usize = 20;
/// Chunks sent to the embedding model in one request.
const EMBED_BATCH: usize = 64;

pub fn register(builder: &mut RegistryBuilder<'_>) {
    builder.tool("upload_document", upload_document);
    builder.tool("list_documents", list_documents);
    builder.tool("delete_document", delete_document);
    builder.tool("search_documents", search_documents);
    builder.tool("ask_documents", ask_documents);
    builder.resource_template(
        ResourceTemplate::new("consilium://documents/{id}", "document")
            .with_title("A document")
            .with_description(
                "One of your uploaded documents with its chunks and their pages (yours only)",
            )
            .with_mime_type("application/json"),
        None,
        |scope, uri, vars| async move {
            let not_found = || {
                McpError::resource_not_found(
                    format!("no document at {uri}"),
                    Some(json!({ "uri": uri })),
                )
            };
            if !scope.principal.has_scope(Scope::Study) {
                return Err(not_found());
            }
            let id = vars.get("id").cloned().unwrap_or_default();
            let owner = &scope.principal.user_id;
            let documents = &scope.app.documents;
            let unavailable =
                |_| McpError::internal_error("the document store is unavailable", None);
            let Some(info) = documents.info(owner, &id).await.map_err(unavailable)? else {
                return Err(not_found());
            };
            let chunks: Vec<serde_json::Value> = documents
                .chunks(owner, &id)
                .await
                .map_err(unavailable)?
                .into_iter()
                .map(|c| json!({ "chunk": c.ordinal, "page": c.page, "text": c.text }))
                .collect();
            let body = serde_json::to_string_pretty(&json!({ "document": info, "chunks": chunks }))
                .map_err(|e| McpError::internal_error(e.to_string(), None))?;
            Ok(ReadResourceResult::new(vec![
                ResourceContents::text(body, uri).with_mime_type("application/json"),
            ]))
        },
    );
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadDocumentArguments {
    /// What to call the document, e.g. "Renal physiology lecture 3".
    pub title: String,
    pub format: DocumentKind,
    /// The text of a `text` or `markdown` document (a form feed starts a new page).
    #[serde(default)]
    pub text: Option<String>,
    /// A `pdf` document's bytes, base64-encoded.
    #[serde(default)]
    pub data_base64: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DocumentResult {
    pub document: DocumentInfo,
    /// Whether the chunks were also embedded for search by meaning.
    pub embeddings: EmbeddingReport,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EmbeddingStatus {
    /// Every chunk has a vector: searches rank by words and meaning.
    Embedded,
    /// No provider key serves embeddings: searches rank by words (BM25).
    NotConfigured,
    /// The embedding provider failed; nothing was embedded and searches rank by words.
    Failed,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct EmbeddingReport {
    pub status: EmbeddingStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub chunks: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl ToolOutput for DocumentResult {
    fn to_text(&self) -> String {
        let d = &self.document;
        let ranking = match self.embeddings.status {
            EmbeddingStatus::Embedded => "searchable by words and meaning",
            EmbeddingStatus::NotConfigured => "searchable by words",
            EmbeddingStatus::Failed => "searchable by words (embedding failed, so not by meaning)",
        };
        format!(
            "Stored {:?} ({}): {} page(s), {} chunk(s); {ranking}. Its id is {}.",
            d.title, d.kind, d.pages, d.chunks, d.id
        )
    }
}

/// How a search ranked its hits.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Ranking {
    /// `bm25` (words only) or `hybrid` (words and embeddings, fused by reciprocal rank).
    pub method: &'static str,
    /// Why a search that could have been hybrid was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Embeds a stored document's chunks in batches, all or none, with the user's current
/// embedding model when a key still serves it. Never fails the upload.
async fn embed_document(
    ctx: &ToolContext,
    document_id: &str,
    texts: Vec<(u32, String)>,
) -> EmbeddingReport {
    let owner = &ctx.principal.user_id;
    let documents = &ctx.app.documents;
    let report = |status, model: Option<String>, chunks, message: Option<String>| EmbeddingReport {
        status,
        model,
        chunks,
        message,
    };
    let mut model = match documents.vector_model(owner).await {
        Ok(model) => model,
        Err(error) => {
            return report(EmbeddingStatus::Failed, None, 0, Some(error.to_string()));
        }
    };
    let mut vectors = Vec::with_capacity(texts.len());
    let batches: Vec<&[(u32, String)]> = texts.chunks(EMBED_BATCH).collect();
    let total = batches.len();
    for (done, batch) in batches.into_iter().enumerate() {
        let inputs: Vec<String> = batch.iter().map(|(_, t)| t.clone()).collect();
        let mut result = ctx.app.llm.embed(owner, model.as_deref(), &inputs).await;
        if done == 0 && model.is_some() && matches!(result, Err(RouteError::NoRoute { .. })) {
            // The model earlier documents were embedded with is gone: start on another.
            model = None;
            result = ctx.app.llm.embed(owner, None, &inputs).await;
        }
        match result {
            Ok(routed) => {
                ctx.charge_tokens(routed.usage.input, 0, routed.cost_micro_usd);
                model = Some(routed.model);
                vectors.extend(batch.iter().map(|(o, _)| *o).zip(routed.vectors));
            }
            Err(RouteError::NoRoute { .. }) => {
                return report(EmbeddingStatus::NotConfigured, None, 0, None);
            }
            Err(RouteError::AllFailed { .. }) => {
                return report(
                    EmbeddingStatus::Failed,
                    model,
                    0,
                    Some("every embedding provider tried failed; the document is searchable by words".into()),
                );
            }
        }
        if total > 1 {
            ctx.progress(
                (done + 1) as f64,
                Some(total as f64),
                Some("embedding chunks".into()),
            )
            .await;
        }
    }
    let Some(model) = model else {
        return report(EmbeddingStatus::NotConfigured, None, 0, None);
    };
    match documents
        .save_vectors(owner, document_id, &model, vectors)
        .await
    {
        Ok(stored) => report(EmbeddingStatus::Embedded, Some(model), stored, None),
        Err(error) => report(
            EmbeddingStatus::Failed,
            Some(model),
            0,
            Some(error.to_string()),
        ),
    }
}

async fn upload_document(
    ctx: ToolContext,
    args: UploadDocumentArguments,
) -> Result<DocumentResult, ToolError> {
    let bytes = match (args.format, args.text, args.data_base64) {
        (DocumentKind::Pdf, None, Some(data)) => {
            // Checked before decoding: base64 is 4/3 of the bytes it holds.
            if data.len() > MAX_UPLOAD_BYTES / 3 * 4 + 4 {
                return Err(ToolError::invalid_arguments(format!(
                    "the file is larger than {} MB",
                    MAX_UPLOAD_BYTES / (1024 * 1024)
                )));
            }
            base64::engine::general_purpose::STANDARD
                .decode(data.trim())
                .map_err(|_| ToolError::invalid_arguments("`data_base64` is not valid base64"))?
        }
        (DocumentKind::Pdf, _, _) => {
            return Err(ToolError::invalid_arguments(
                "a pdf is sent as `data_base64` (and no `text`)",
            ));
        }
        (_, Some(text), None) => text.into_bytes(),
        (_, _, _) => {
            return Err(ToolError::invalid_arguments(
                "a text or markdown document is sent as `text` (and no `data_base64`)",
            ));
        }
    };
    let kind = args.format;
    let size = bytes.len() as u64;
    let sha256: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let read = tokio::task::spawn_blocking(move || {
        let pages = super::documents::read_pages(kind, &bytes)?;
        let chunks = super::documents::chunk(&pages)?;
        Ok::<_, super::documents::ReadError>((pages.len() as u32, chunks))
    })
    .await
    .map_err(|_| ToolError::invalid_arguments("the file could not be read"))?
    .map_err(|e| ToolError::new("UNREADABLE_DOCUMENT", e.to_string()))?;
    let (pages, chunks) = read;
    let owner = &ctx.principal.user_id;
    let texts: Vec<(u32, String)> = chunks.iter().map(|c| (c.ordinal, c.text.clone())).collect();
    let document = ctx
        .app
        .documents
        .save(owner, &args.title, kind, pages, (size, sha256), chunks)
        .await?;
    let embeddings = embed_document(&ctx, &document.id, texts).await;
    Ok(DocumentResult {
        document,
        embeddings,
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArguments {}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DocumentList {
    pub documents: Vec<DocumentInfo>,
}

impl ToolOutput for DocumentList {
    fn to_text(&self) -> String {
        if self.documents.is_empty() {
            return "No documents yet: upload one with upload_document.".into();
        }
        self.documents
            .iter()
            .map(|d| format!("- {} ({}, {} pages, id {})", d.title, d.kind, d.pages, d.id))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

async fn list_documents(ctx: ToolContext, _: NoArguments) -> Result<DocumentList, ToolError> {
    Ok(DocumentList {
        documents: ctx.app.documents.list(&ctx.principal.user_id).await?,
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentIdArguments {
    pub document_id: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DeletedDocument {
    pub deleted: String,
}

impl ToolOutput for DeletedDocument {
    fn to_text(&self) -> String {
        format!("Deleted document {} and its chunks.", self.deleted)
    }
}

async fn delete_document(
    ctx: ToolContext,
    args: DocumentIdArguments,
) -> Result<DeletedDocument, ToolError> {
    ctx.app
        .documents
        .delete(&ctx.principal.user_id, &args.document_id)
        .await?;
    Ok(DeletedDocument {
        deleted: args.document_id,
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchDocumentsArguments {
    /// Words to find; chunks holding all of them rank first.
    pub query: String,
    /// Only this document.
    #[serde(default)]
    pub document_id: Option<String>,
    /// At most this many chunks (1–50, default 10).
    #[serde(default)]
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SearchHits {
    pub hits: Vec<ChunkHit>,
    pub ranking: Ranking,
}

impl ToolOutput for SearchHits {
    fn to_text(&self) -> String {
        if self.hits.is_empty() {
            return "Nothing in your documents matches.".into();
        }
        self.hits
            .iter()
            .map(|h| {
                let preview: String = h.text.chars().take(200).collect();
                format!(
                    "- {} p.{} (chunk {}): {preview}",
                    h.document_title, h.page, h.chunk
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

async fn retrieve(
    ctx: &ToolContext,
    text: &str,
    document_id: Option<&str>,
    limit: usize,
) -> Result<(Vec<ChunkHit>, Ranking), ToolError> {
    let documents = &ctx.app.documents;
    let owner = &ctx.principal.user_id;
    if let Some(id) = document_id
        && documents.info(owner, id).await?.is_none()
    {
        return Err(DecksError::NotFound("document").into());
    }
    let Some(any) = any_words_query(text) else {
        return Err(ToolError::invalid_arguments(
            "the query needs at least one word that carries meaning",
        ));
    };
    let candidates = limit.max(FUSION_CANDIDATES);
    // Chunks with every word first; when none has them all, any word, ranked by BM25.
    let all = any.replace(" OR ", " ");
    let mut by_words = documents
        .search(owner, all, document_id, candidates)
        .await?;
    if by_words.is_empty() {
        by_words = documents
            .search(owner, any, document_id, candidates)
            .await?;
    }
    let words_only = |note: Option<String>, mut hits: Vec<ChunkHit>| {
        hits.truncate(limit);
        (
            hits,
            Ranking {
                method: "bm25",
                note,
            },
        )
    };
    let Some(model) = documents.vector_model(owner).await? else {
        return Ok(words_only(None, by_words));
    };
    let question = [text.to_string()];
    let embedded = match ctx.app.llm.embed(owner, Some(&model), &question).await {
        Ok(routed) => {
            ctx.charge_tokens(routed.usage.input, 0, routed.cost_micro_usd);
            routed.vectors.into_iter().next()
        }
        Err(RouteError::NoRoute { .. }) => {
            return Ok(words_only(
                Some(format!(
                    "no provider key serves the embedding model {model} any more; ranked by words"
                )),
                by_words,
            ));
        }
        Err(RouteError::AllFailed { .. }) => {
            return Ok(words_only(
                Some("the embedding provider failed; ranked by words".into()),
                by_words,
            ));
        }
    };
    let Some(vector) = embedded else {
        return Ok(words_only(None, by_words));
    };
    let by_meaning = documents
        .nearest(
            owner,
            &model,
            &vector,
            document_id,
            candidates,
            ctx.app.config.study.embedding_min_similarity,
        )
        .await?;
    Ok((
        fuse(by_words, by_meaning, limit),
        Ranking {
            method: "hybrid",
            note: None,
        },
    ))
}

async fn search_documents(
    ctx: ToolContext,
    args: SearchDocumentsArguments,
) -> Result<SearchHits, ToolError> {
    let limit = match args.limit {
        None => 10,
        Some(n) if (1..=50).contains(&n) => n,
        Some(_) => {
            return Err(ToolError::invalid_arguments(
                "limit must be between 1 and 50",
            ));
        }
    };
    let (hits, ranking) = retrieve(&ctx, &args.query, args.document_id.as_deref(), limit).await?;
    Ok(SearchHits { hits, ranking })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AskDocumentsArguments {
    pub question: String,
    /// Only this document.
    #[serde(default)]
    pub document_id: Option<String>,
}

/// What the model returns: an answer from the numbered passages, or that they do not hold one.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroundedAnswer {
    /// false when the passages do not contain the answer.
    pub found: bool,
    /// The answer, using only the passages; empty when not found.
    pub answer: String,
    /// The numbers of the passages the answer rests on.
    pub passages: Vec<u32>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Citation {
    pub document_id: String,
    pub document_title: String,
    pub page: u32,
    pub chunk: u32,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct AskResult {
    /// false: your documents do not contain the answer.
    pub found: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    pub citations: Vec<Citation>,
    /// How the passages were retrieved.
    pub ranking: Ranking,
    /// Who wrote the answer; absent when nothing relevant was retrieved and no model was asked.
    #[serde(skip_serializing_if = "Option::is_none", flatten)]
    pub authorship: Option<Authorship>,
}

impl ToolOutput for AskResult {
    fn to_text(&self) -> String {
        match (&self.answer, self.found) {
            (Some(answer), true) => {
                let cites: Vec<String> = self
                    .citations
                    .iter()
                    .map(|c| format!("{}, p.{} (chunk {})", c.document_title, c.page, c.chunk))
                    .collect();
                format!("{answer}\n\nSources: {}", cites.join("; "))
            }
            _ => "Your documents do not contain the answer to this question.".into(),
        }
    }
}

const GROUNDED_INSTRUCTIONS: &str = "Answer the student's question using only the numbered \
passages from their own documents. Do not use outside knowledge, even if you know the answer. \
If the passages do not contain the answer, set found to false and leave the answer empty. \
Otherwise answer concisely and list the numbers of the passages you used.";

async fn ask_documents(
    ctx: ToolContext,
    args: AskDocumentsArguments,
) -> Result<AskResult, ToolError> {
    let question = args.question.trim();
    if question.is_empty() || question.chars().count() > 2_000 {
        return Err(ToolError::invalid_arguments(
            "the question must be 1–2,000 characters",
        ));
    }
    let (hits, ranking) = retrieve(&ctx, question, args.document_id.as_deref(), RETRIEVED).await?;
    if hits.is_empty() {
        return Ok(AskResult {
            found: false,
            answer: None,
            citations: Vec::new(),
            ranking,
            authorship: None,
        });
    }
    let mut request = format!("Question: {question}\n\nPassages:");
    for (i, hit) in hits.iter().enumerate() {
        request.push_str(&format!(
            "\n\n[{}] ({}, page {})\n{}",
            i + 1,
            hit.document_title,
            hit.page,
            hit.text
        ));
    }
    let shown = hits.len() as u32;
    let generated = generate::<GroundedAnswer, _>(
        &ctx,
        "explain",
        GROUNDED_INSTRUCTIONS,
        request,
        1_500,
        |a| {
            let mut problems = Vec::new();
            if a.found {
                if a.answer.trim().is_empty() {
                    problems.push("found is true but the answer is empty".to_string());
                }
                if a.passages.is_empty() {
                    problems.push("found is true but no passage is cited".to_string());
                }
            }
            for n in &a.passages {
                if !(1..=shown).contains(n) {
                    problems.push(format!("passage {n} was not given"));
                }
            }
            problems
        },
    )
    .await?;
    let authorship = Some(authorship(&generated));
    let answer = generated.value;
    if !answer.found {
        return Ok(AskResult {
            found: false,
            answer: None,
            citations: Vec::new(),
            ranking,
            authorship,
        });
    }
    let mut cited: Vec<u32> = answer.passages.clone();
    cited.sort_unstable();
    cited.dedup();
    let citations = cited
        .into_iter()
        .filter_map(|n| hits.get(n as usize - 1))
        .map(|h| Citation {
            document_id: h.document_id.clone(),
            document_title: h.document_title.clone(),
            page: h.page,
            chunk: h.chunk,
        })
        .collect();
    Ok(AskResult {
        found: true,
        answer: Some(answer.answer.trim().to_string()),
        citations,
        ranking,
        authorship,
    })
}
