//! Model-written study material end to end: a server over streamable HTTP with a shared
//! provider key pointing at a scripted OpenAI-compatible upstream on 127.0.0.1, a student
//! on the free plan, and rmcp's client. Valid replies become cards in a deck and quizzes;
//! an invalid reply is sent back once with its problems named; a second invalid reply is
//! refused and nothing is stored; the plan's daily cap refuses a call before any model is
//! asked; MCQ answers are marked and counted per topic; a concept map comes with Mermaid.

mod common;
#[path = "support/upstream.rs"]
mod upstream;

use common::{HttpServer, connect_http_as, fresh_db};
use serde_json::{Value, json};
use upstream::{Behaviour, Upstream};

fn cards(n: usize) -> String {
    let cards: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "front": format!("Beta blocker fact {i}?"),
                "back": format!("Answer {i}"),
                "tags": ["pharmacology"],
                "source": "BNF, beta-adrenoceptor blocking drugs"
            })
        })
        .collect();
    json!({ "cards": cards }).to_string()
}

fn mcqs() -> String {
    let question = |stem: &str, topic: &str| {
        json!({
            "stem": stem,
            "options": [
                { "text": "ECG", "rationale": "First test: within 10 minutes." },
                { "text": "Troponin", "rationale": "Needed, but after the ECG." },
                { "text": "CT coronary angiography", "rationale": "Not in the acute setting." },
                { "text": "Exercise test", "rationale": "Contraindicated in ongoing pain." }
            ],
            "answer": "A",
            "explanation": "An ECG within 10 minutes of arrival.",
            "topic": topic
        })
    };
    json!({ "questions": [
        question("Crushing chest pain for 20 minutes. First investigation?", "acute coronary syndrome"),
        question("Chest pain at rest, sweating. What do you do first?", "acute coronary syndrome")
    ] })
    .to_string()
}

/// A server whose shared key writes through a scripted upstream, and a student on the free
/// plan connected to it.
async fn writer_and_free_student() -> (Upstream, HttpServer, common::Client) {
    let upstream = Upstream::start().await;
    let (dir, db) = fresh_db();
    common::add_shared_key(
        &db,
        "writer",
        "openai",
        &upstream.base_url("writer", "openai"),
        "flashcard,mcq,highyield,explain,map",
    );
    let key = common::user_with_key(&db, "sam@example.org", "free", "study");
    let server = HttpServer::spawn_on(dir, db, &[], &[]).await;
    let (client, _) = connect_http_as(&server.mcp_url(), &key).await;
    (upstream, server, client)
}

#[tokio::test]
async fn checked_cards_and_quizzes_are_stored_and_invalid_ones_never_are() {
    let (upstream, _server, client) = writer_and_free_student().await;

    // A reply with a duplicate front is sent back once with the problem named; the second
    // reply is valid and lands in a deck named after the topic.
    let duplicate = json!({ "cards": [
        { "front": "Beta blocker fact 0?", "back": "A", "tags": [], "source": "BNF" },
        { "front": "beta blocker fact 0", "back": "B", "tags": [], "source": "BNF" }
    ] })
    .to_string();
    upstream.push("writer", Behaviour::Text(duplicate));
    upstream.push("writer", Behaviour::Text(cards(3)));
    let (failed, made, text) = common::outcome(
        &client,
        "generate_flashcards",
        json!({ "topic": "beta blockers", "count": 3 }),
    )
    .await;
    assert!(!failed, "{made}");
    assert_eq!(made["attempts"], 2);
    assert_eq!(made["label"], "model-written");
    assert_eq!(made["deck"], "beta blockers");
    assert_eq!(made["cards"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        made["cards"][0]["written_by"],
        "model:openai/scripted-model"
    );
    assert!(text.contains("model-written"), "{text}");
    let retry = upstream.received("writer")[1].body.to_string();
    assert!(
        retry.contains("repeats an earlier card"),
        "the retry names the problem: {retry}"
    );

    // Two invalid replies: refused, with the problems, and nothing stored.
    upstream.push("writer", Behaviour::Text("{\"cards\": []}".into()));
    upstream.push("writer", Behaviour::Text("I cannot help with that.".into()));
    let (failed, refusal, _) = common::outcome(
        &client,
        "generate_flashcards",
        json!({ "topic": "statins", "count": 2 }),
    )
    .await;
    assert!(failed);
    assert_eq!(refusal["code"], "INVALID_GENERATION", "{refusal}");
    assert!(refusal["details"]["problems"][0].is_string());
    let (_, decks, _) = common::outcome(&client, "list_decks", json!({})).await;
    assert_eq!(decks["decks"].as_array().map(Vec::len), Some(1), "{decks}");

    // The free plan allows 10 flashcards a day: 3 were made (the refused call wrote none),
    // so 8 more are refused before any model is asked.
    let asked = upstream.received("writer").len();
    let (failed, capped, _) = common::outcome(
        &client,
        "generate_flashcards",
        json!({ "topic": "statins", "count": 8 }),
    )
    .await;
    assert!(failed);
    assert_eq!(capped["code"], "FLASHCARD_LIMIT_EXCEEDED", "{capped}");
    assert_eq!(
        upstream.received("writer").len(),
        asked,
        "no model was asked"
    );

    // A quiz: answers withheld, marked one by one, accuracy per topic.
    upstream.push("writer", Behaviour::Text(mcqs()));
    let (failed, quiz, text) = common::outcome(
        &client,
        "generate_mcqs",
        json!({ "topic": "chest pain", "count": 2 }),
    )
    .await;
    assert!(!failed, "{quiz}");
    assert!(
        !quiz.to_string().contains("\"answer\""),
        "answers are not shown: {quiz}"
    );
    assert!(text.contains("A) ECG"), "{text}");
    let first = quiz["questions"][0]["id"].as_str().expect("id").to_string();
    let second = quiz["questions"][1]["id"].as_str().expect("id").to_string();
    let (_, right, _) = common::outcome(
        &client,
        "answer_mcq",
        json!({ "question_id": first, "choice": "a" }),
    )
    .await;
    assert_eq!(right["correct"], true);
    let (_, wrong, text) = common::outcome(
        &client,
        "answer_mcq",
        json!({ "question_id": second, "choice": "C" }),
    )
    .await;
    assert_eq!(wrong["correct"], false);
    assert_eq!(wrong["answer"], "A");
    assert!(text.contains("Not in the acute setting"), "{text}");
    let (failed, bad, _) = common::outcome(
        &client,
        "answer_mcq",
        json!({ "question_id": second, "choice": "F" }),
    )
    .await;
    assert!(failed);
    assert_eq!(bad["code"], "INVALID_ARGUMENTS");
    let (_, stats, _) = common::outcome(&client, "study_stats", json!({})).await;
    assert_eq!(
        stats["mcq_accuracy"],
        json!([{ "topic": "acute coronary syndrome", "answered": 2, "correct": 1, "accuracy": 0.5 }])
    );

    // An MCQ with three options and two answers is refused twice over.
    let broken = json!({ "questions": [{
        "stem": "Which?", "options": [
            { "text": "a", "rationale": "r" }, { "text": "b", "rationale": "r" }, { "text": "c", "rationale": "r" }
        ], "answer": "A and B", "explanation": "e", "topic": "t"
    }] })
    .to_string();
    upstream.push("writer", Behaviour::Text(broken.clone()));
    upstream.push("writer", Behaviour::Text(broken));
    let (failed, refused, _) = common::outcome(
        &client,
        "generate_mcqs",
        json!({ "topic": "anything", "count": 1 }),
    )
    .await;
    assert!(failed);
    let problems = refused["details"]["problems"].to_string();
    assert!(
        problems.contains("3 options") && problems.contains("answer"),
        "{problems}"
    );
}

#[tokio::test]
async fn a_concept_map_comes_back_typed_with_its_mermaid() {
    let (upstream, _server, client) = writer_and_free_student().await;
    upstream.push(
        "writer",
        Behaviour::Text(
            json!({
                "nodes": [
                    { "id": "htn", "label": "Hypertension", "kind": "risk_factor" },
                    { "id": "lvh", "label": "Left ventricular hypertrophy", "kind": "finding" },
                    { "id": "hf", "label": "Heart failure", "kind": "disease" }
                ],
                "edges": [
                    { "from": "htn", "to": "lvh", "relation": "causes" },
                    { "from": "lvh", "to": "hf", "relation": "leads_to" }
                ]
            })
            .to_string(),
        ),
    );
    let (failed, map, text) =
        common::outcome(&client, "concept_map", json!({ "topic": "heart failure" })).await;
    assert!(!failed, "{map}");
    assert!(
        map["mermaid"]
            .as_str()
            .is_some_and(|m| m.contains("htn -->|causes| lvh"))
    );
    assert!(text.contains("```mermaid"), "{text}");
    assert_eq!(map["label"], "model-written");
}

#[tokio::test]
async fn the_study_slash_commands_list_render_and_complete() {
    use common::within;
    use rmcp::model::GetPromptRequestParams;
    let server = HttpServer::start_plain().await;
    let (client, _) = server.connect().await;
    let prompts = within("prompts/list", client.list_all_prompts())
        .await
        .expect("prompts/list");
    for (name, tool) in [
        ("flashcard", "generate_flashcards"),
        ("mcq", "generate_mcqs"),
        ("highyield", "highyield_summary"),
        ("explain", "explain_topic"),
        ("map", "concept_map"),
    ] {
        assert!(prompts.iter().any(|p| p.name == name), "/{name} is listed");
        let mut arguments = serde_json::Map::new();
        arguments.insert("topic".into(), json!("nephrotic syndrome"));
        let rendered = within(
            name,
            client.get_prompt(GetPromptRequestParams::new(name).with_arguments(arguments)),
        )
        .await
        .expect("renders");
        let text = common::json_of(&rendered).to_string();
        assert!(text.contains("nephrotic syndrome"), "/{name}: {text}");
        assert!(text.contains(tool), "/{name} names {tool}: {text}");
    }
    let values = within(
        "completion/complete",
        client.complete_prompt_simple("flashcard", "topic", "neph"),
    )
    .await
    .expect("completes");
    assert!(
        values.iter().any(|v| v == "nephrotic syndrome"),
        "{values:?}"
    );
}
