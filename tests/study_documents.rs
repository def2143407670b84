//! Documents end to end over streamable HTTP with rmcp's client and a scripted provider on
//! 127.0.0.1: a PDF uploaded, its text read page by page and found by full-text search with
//! page citations; `ask_documents` answering from retrieved chunks with citations, saying
//! when the documents do not hold the answer (without asking a model when nothing is
//! retrieved), and refusing an answer that cites passages it was not given; bad files
//! refused with clear errors; one student's documents invisible to another; hybrid
//! ranking with a provider's embeddings finding a paraphrased question's chunk that full
//! text cannot, and falling back to words when the embedding provider fails.

mod common;
#[path = "support/pdf.rs"]
mod pdf;
#[path = "support/upstream.rs"]
mod upstream;

use base64::Engine;
use common::{HttpServer, connect_http_as, fresh_db};
use serde_json::json;
use upstream::{Behaviour, Upstream};

/// Words of one idea share a dimension, as a real embedding model places paraphrases near
/// each other; any other word lands on one of four noise dimensions.
fn concepts(text: &str) -> Vec<f32> {
    let mut vector = vec![0.0; 8];
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let dimension = match word.to_lowercase().as_str() {
            "kidney" | "kidneys" | "renal" | "juxtaglomerular" | "nephron" => 0,
            "hormone" | "renin" | "enzyme" | "secrete" | "secreted" | "release" => 1,
            "liver" | "hepatic" | "bilirubin" | "conjugated" => 2,
            other => 4 + other.len() % 4,
        };
        vector[dimension] += if dimension < 4 { 3.0 } else { 0.2 };
    }
    vector
}

#[tokio::test]
async fn answers_come_from_the_students_pdf_with_page_citations() {
    let upstream = Upstream::start().await;
    let (dir, db) = fresh_db();
    common::add_shared_key(
        &db,
        "writer",
        "openai",
        &upstream.base_url("writer", "openai"),
        "explain",
    );
    let ada = common::user_with_key(&db, "ada@example.org", "student", "study");
    let bob = common::user_with_key(&db, "bob@example.org", "student", "study");
    let server = HttpServer::spawn_on(dir, db, &[], &[]).await;
    let (ada_client, _) = connect_http_as(&server.mcp_url(), &ada).await;
    let (bob_client, _) = connect_http_as(&server.mcp_url(), &bob).await;

    let pdf = pdf::pdf_with_pages(&[
        "Renal physiology. The glomerular filtration rate is about 120 mL per minute in young adults.",
        "Renin is secreted by the juxtaglomerular cells of the afferent arteriole.",
        "Loop diuretics block the NKCC2 cotransporter in the thick ascending limb.",
    ]);
    let (failed, uploaded, _) = common::outcome(
        &ada_client,
        "upload_document",
        json!({
            "title": "Renal lecture 3",
            "format": "pdf",
            "data_base64": base64::engine::general_purpose::STANDARD.encode(&pdf)
        }),
    )
    .await;
    assert!(!failed, "{uploaded}");
    let document = &uploaded["document"];
    assert_eq!(document["pages"], 3, "{uploaded}");
    assert_eq!(
        uploaded["embeddings"]["status"], "not_configured",
        "{uploaded}"
    );
    let document_id = document["id"].as_str().expect("id").to_string();

    let (_, found, _) = common::outcome(
        &ada_client,
        "search_documents",
        json!({ "query": "juxtaglomerular renin" }),
    )
    .await;
    assert_eq!(found["hits"][0]["page"], 2, "{found}");
    assert_eq!(found["hits"][0]["document_title"], "Renal lecture 3");
    assert_eq!(found["ranking"]["method"], "bm25", "{found}");

    // Answered from the retrieved chunk, cited by document and page.
    upstream.push(
        "writer",
        Behaviour::Text(
            json!({ "found": true, "answer": "The juxtaglomerular cells of the afferent arteriole.", "passages": [1] })
                .to_string(),
        ),
    );
    let (failed, answer, text) = common::outcome(
        &ada_client,
        "ask_documents",
        json!({ "question": "Which cells secrete renin?" }),
    )
    .await;
    assert!(!failed, "{answer}");
    assert_eq!(answer["found"], true);
    assert_eq!(answer["citations"][0]["page"], 2, "{answer}");
    assert_eq!(answer["citations"][0]["document_id"], document_id.as_str());
    assert_eq!(answer["label"], "model-written");
    assert!(text.contains("Renal lecture 3, p.2"), "{text}");
    let asked = upstream.received("writer")[0].body.to_string();
    assert!(
        asked.contains("juxtaglomerular"),
        "the model saw the chunk: {asked}"
    );

    // The model finds the passages do not answer it: said plainly.
    upstream.push(
        "writer",
        Behaviour::Text(json!({ "found": false, "answer": "", "passages": [] }).to_string()),
    );
    let (_, answer, text) = common::outcome(
        &ada_client,
        "ask_documents",
        json!({ "question": "What dose of furosemide is used in the renal clinic?" }),
    )
    .await;
    assert_eq!(answer["found"], false, "{answer}");
    assert!(text.contains("do not contain the answer"), "{text}");

    // Nothing retrieved: no model is asked at all.
    let asked_before = upstream.received("writer").len();
    let (_, answer, _) = common::outcome(
        &ada_client,
        "ask_documents",
        json!({ "question": "Tell me about hepatitis serology" }),
    )
    .await;
    assert_eq!(answer["found"], false);
    assert_eq!(upstream.received("writer").len(), asked_before);

    // A citation of a passage that was never given is sent back, then refused.
    for _ in 0..2 {
        upstream.push(
            "writer",
            Behaviour::Text(
                json!({ "found": true, "answer": "Made up.", "passages": [9] }).to_string(),
            ),
        );
    }
    let (failed, refused, _) = common::outcome(
        &ada_client,
        "ask_documents",
        json!({ "question": "Where is renin secreted?" }),
    )
    .await;
    assert!(failed);
    assert_eq!(refused["code"], "INVALID_GENERATION", "{refused}");

    // Bob sees none of Ada's documents.
    let (_, listed, _) = common::outcome(&bob_client, "list_documents", json!({})).await;
    assert_eq!(listed["documents"], json!([]));
    let (_, hits, _) =
        common::outcome(&bob_client, "search_documents", json!({ "query": "renin" })).await;
    assert_eq!(hits["hits"], json!([]));
    let (failed, _, _) = common::outcome(
        &bob_client,
        "search_documents",
        json!({ "query": "renin", "document_id": document_id }),
    )
    .await;
    assert!(failed);
}

#[tokio::test]
async fn bad_files_are_refused_with_clear_errors_and_nothing_is_stored() {
    let server = HttpServer::start_plain().await;
    let (client, _) = server.connect().await;
    let encode = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut encrypted = pdf::pdf_with_pages(&["secret"]);
    let at = encrypted.len() - 30;
    encrypted.splice(at..at, b"/Encrypt 9 0 R ".iter().copied());
    let cases = [
        (
            json!({ "title": "enc", "format": "pdf", "data_base64": encode(&encrypted) }),
            "encrypted",
        ),
        (
            json!({ "title": "junk", "format": "pdf", "data_base64": encode(&[0x00, 0x9f, 0x42, 0x13]) }),
            "not a PDF",
        ),
        (
            json!({ "title": "bin", "format": "text", "text": "\u{1}\u{2}\u{3}\u{4}\u{5}\u{6}\u{7}\u{8}" }),
            "binary",
        ),
        (
            json!({ "title": "b64", "format": "pdf", "data_base64": "%%%not base64%%%" }),
            "base64",
        ),
        (
            json!({ "title": "both", "format": "text", "text": "x", "data_base64": "eA==" }),
            "text",
        ),
    ];
    for (arguments, expected) in cases {
        let (failed, error, _) = common::outcome(&client, "upload_document", arguments).await;
        assert!(failed, "{expected}");
        assert!(
            error["message"]
                .as_str()
                .is_some_and(|m| m.contains(expected)),
            "{expected}: {error}"
        );
    }
    let (_, listed, _) = common::outcome(&client, "list_documents", json!({})).await;
    assert_eq!(listed["documents"], json!([]));
    // Markdown is stored and searchable, page 1.
    let (failed, uploaded, _) = common::outcome(
        &client,
        "upload_document",
        json!({ "title": "Notes", "format": "markdown", "text": "# Sepsis\n\nLactate above 2 mmol/L suggests hypoperfusion." }),
    )
    .await;
    assert!(!failed, "{uploaded}");
    let (_, hits, _) =
        common::outcome(&client, "search_documents", json!({ "query": "lactate" })).await;
    assert_eq!(hits["hits"][0]["page"], 1);
}

#[tokio::test]
async fn embeddings_find_a_paraphrased_question_that_full_text_cannot() {
    let upstream = Upstream::start().await;
    upstream.set_embedder("embedder", concepts);
    let (dir, db) = fresh_db();
    common::add_shared_key(
        &db,
        "writer",
        "openai",
        &upstream.base_url("writer", "openai"),
        "explain",
    );
    common::add_shared_key(
        &db,
        "embedder",
        "openai",
        &upstream.base_url("embedder", "openai"),
        "embedding",
    );
    let ada = common::user_with_key(&db, "ada@example.org", "student", "study");
    let server = HttpServer::spawn_on(dir, db, &[], &[]).await;
    let (client, _) = connect_http_as(&server.mcp_url(), &ada).await;

    let pdf = pdf::pdf_with_pages(&[
        "Bilirubin is conjugated in the hepatic microsomes.",
        "Renin is secreted by the juxtaglomerular cells of the afferent arteriole.",
        "Loop diuretics block the NKCC2 cotransporter in the thick ascending limb.",
    ]);
    let (failed, uploaded, text) = common::outcome(
        &client,
        "upload_document",
        json!({
            "title": "Physiology",
            "format": "pdf",
            "data_base64": base64::engine::general_purpose::STANDARD.encode(&pdf)
        }),
    )
    .await;
    assert!(!failed, "{uploaded}");
    assert_eq!(uploaded["embeddings"]["status"], "embedded", "{uploaded}");
    assert_eq!(uploaded["embeddings"]["model"], "embedder-model");
    assert_eq!(uploaded["embeddings"]["chunks"], 3);
    assert!(text.contains("words and meaning"), "{text}");
    // The chat key (no features named) was never asked to embed.
    assert!(upstream.received("writer").is_empty());
    let sent = &upstream.received("embedder")[0];
    assert_eq!(sent.path, "embeddings");
    assert_eq!(sent.body["model"], "embedder-model");
    assert_eq!(sent.body["input"].as_array().map(Vec::len), Some(3));

    // No word of the question is in the document; its meaning is on page 2.
    let question = "Which hormone do the kidneys release?";
    let (_, found, _) =
        common::outcome(&client, "search_documents", json!({ "query": question })).await;
    assert_eq!(found["ranking"]["method"], "hybrid", "{found}");
    assert_eq!(found["hits"][0]["page"], 2, "{found}");
    assert!(
        found["hits"][0]["similarity"]
            .as_f64()
            .is_some_and(|s| s > 0.9)
    );
    assert!(found["hits"][0].get("rank").is_none(), "{found}");
    // Unrelated chunks fall under the similarity floor.
    assert_eq!(found["hits"].as_array().map(Vec::len), Some(1), "{found}");

    upstream.push(
        "writer",
        Behaviour::Text(
            json!({ "found": true, "answer": "Renin, from the juxtaglomerular cells.", "passages": [1] })
                .to_string(),
        ),
    );
    let (failed, answer, _) =
        common::outcome(&client, "ask_documents", json!({ "question": question })).await;
    assert!(!failed, "{answer}");
    assert_eq!(answer["found"], true, "{answer}");
    assert_eq!(answer["citations"][0]["page"], 2, "{answer}");
    assert_eq!(answer["ranking"]["method"], "hybrid");

    // Words and meaning agreeing put the same chunk first.
    let (_, found, _) = common::outcome(
        &client,
        "search_documents",
        json!({ "query": "renin secreted by which cells" }),
    )
    .await;
    assert_eq!(found["hits"][0]["page"], 2, "{found}");
    assert!(found["hits"][0]["rank"].is_number() && found["hits"][0]["similarity"].is_number());

    // The embedding provider failing: ranked by words, said so, not an error.
    upstream.push("embedder", Behaviour::Status(500, None, "down"));
    let (failed, found, _) = common::outcome(
        &client,
        "search_documents",
        json!({ "query": "loop diuretics" }),
    )
    .await;
    assert!(!failed, "{found}");
    assert_eq!(found["ranking"]["method"], "bm25", "{found}");
    assert!(
        found["ranking"]["note"]
            .as_str()
            .is_some_and(|n| n.contains("failed"))
    );
    assert_eq!(found["hits"][0]["page"], 3, "{found}");
}
