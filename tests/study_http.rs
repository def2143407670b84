//! Decks, cards and reviews end to end over streamable HTTP with rmcp's client: each user
//! sees only their own decks, cards and search hits; reviews schedule with FSRS and survive
//! a restart of the server; a client subscribed to `consilium://reviews/due` hears when a
//! card falls due.

mod common;

use common::{HttpServer, call, connect_http, connect_http_as, fresh_db, within};
use rmcp::model::{ReadResourceRequestParams, SubscribeRequestParams};
use serde_json::{Value, json};
use tempfile::TempDir;

async fn error_code(client: &common::Client, tool: &str, arguments: Value) -> String {
    let result = call(client, tool, arguments).await;
    assert_eq!(result.is_error, Some(true), "{tool} should fail");
    result.structured_content.unwrap_or(Value::Null)["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn read(client: &common::Client, uri: &str) -> Result<Value, rmcp::ServiceError> {
    let result = within(
        uri,
        client.read_resource(ReadResourceRequestParams::new(uri)),
    )
    .await?;
    let text = match &common::json_of(&result)["contents"][0]["text"] {
        Value::String(text) => text.clone(),
        other => panic!("no text at {uri}: {other}"),
    };
    Ok(serde_json::from_str(&text).expect("JSON"))
}

#[tokio::test]
async fn decks_cards_and_search_belong_to_their_owner() {
    let (dir, db) = fresh_db();
    let ada = common::user_with_key(&db, "ada@example.org", "student", "study");
    let bob = common::user_with_key(&db, "bob@example.org", "student", "study");
    let server = HttpServer::spawn_on(dir, db, &[], &[]).await;
    let (ada_client, _) = connect_http_as(&server.mcp_url(), &ada).await;
    let (bob_client, _) = connect_http_as(&server.mcp_url(), &bob).await;

    let added = common::succeeded(
        &ada_client,
        "add_cards",
        json!({ "deck": "Cardiology", "cards": [
            { "front": "Drug class that ends in -olol?", "back": "Beta blockers", "tags": ["Pharmacology"] },
            { "front": "First-line test for suspected heart failure?", "back": "NT-proBNP", "source": "NICE NG106" }
        ] }),
    )
    .await;
    let deck_id = added["deck_id"].as_str().expect("deck id").to_string();
    let card_id = added["cards"][0]["id"]
        .as_str()
        .expect("card id")
        .to_string();
    assert_eq!(added["cards"][0]["tags"], json!(["pharmacology"]));
    assert_eq!(added["cards"][0]["state"], "new");

    let hits = common::succeeded(
        &ada_client,
        "search_cards",
        json!({ "query": "heart fail" }),
    )
    .await;
    assert_eq!(hits["hits"].as_array().map(Vec::len), Some(1), "{hits}");
    assert_eq!(hits["hits"][0]["back"], "NT-proBNP");
    // Query syntax is never an error: it is just words.
    common::succeeded(
        &ada_client,
        "search_cards",
        json!({ "query": "NEAR(\"x\" OR) *" }),
    )
    .await;

    let decks = read(&ada_client, "consilium://decks").await.expect("decks");
    assert_eq!(decks["decks"][0]["name"], "Cardiology");
    assert_eq!(decks["decks"][0]["cards"], 2);
    let deck = read(&ada_client, &format!("consilium://decks/{deck_id}"))
        .await
        .expect("deck");
    assert_eq!(deck["cards"].as_array().map(Vec::len), Some(2));

    // Bob sees none of it and can touch none of it.
    let listed = common::succeeded(&bob_client, "list_decks", json!({})).await;
    assert_eq!(listed["decks"], json!([]));
    let hits = common::succeeded(&bob_client, "search_cards", json!({ "query": "heart" })).await;
    assert_eq!(hits["hits"], json!([]));
    for (tool, arguments) in [
        (
            "review_card",
            json!({ "card_id": card_id, "rating": "good" }),
        ),
        (
            "edit_card",
            json!({ "card_id": card_id, "back": "mine now" }),
        ),
        ("delete_card", json!({ "card_id": card_id })),
        (
            "delete_deck",
            json!({ "deck": deck_id, "delete_cards": true }),
        ),
    ] {
        assert_eq!(
            error_code(&bob_client, tool, arguments).await,
            "NOT_FOUND",
            "{tool}"
        );
    }
    assert!(
        read(&bob_client, &format!("consilium://decks/{deck_id}"))
            .await
            .is_err()
    );

    // Bad input gets clear errors; a deck with cards is not deleted by accident.
    assert_eq!(
        error_code(
            &ada_client,
            "add_cards",
            json!({ "deck": "X", "cards": [{ "front": " ", "back": "b" }] })
        )
        .await,
        "INVALID_ARGUMENTS"
    );
    assert_eq!(
        error_code(
            &ada_client,
            "review_card",
            json!({ "card_id": card_id, "rating": "perfect" })
        )
        .await,
        "INVALID_ARGUMENTS"
    );
    assert_eq!(
        error_code(&ada_client, "create_deck", json!({ "name": "Cardiology" })).await,
        "ALREADY_EXISTS"
    );
    assert_eq!(
        error_code(&ada_client, "delete_deck", json!({ "deck": "Cardiology" })).await,
        "INVALID_ARGUMENTS"
    );
    let after = common::succeeded(&ada_client, "list_decks", json!({})).await;
    assert_eq!(after["decks"][0]["cards"], 2);
}

#[tokio::test]
async fn reviews_survive_a_restart_and_subscribers_hear_cards_fall_due() {
    let (keep, db) = fresh_db();
    let config = keep.path().join("consilium.toml");
    std::fs::write(
        &config,
        "[study]\nlearning_steps_secs = [1, 600]\ndue_check_interval_secs = 1\n",
    )
    .expect("config written");
    let env = [("CONSILIUM_CONFIG", config.to_str().expect("utf-8 path"))];
    let server = HttpServer::spawn_on(
        TempDir::new().expect("dir"),
        db.clone(),
        &["--insecure-no-auth"],
        &env,
    )
    .await;
    let (client, recorder) = connect_http(&server.mcp_url()).await;
    let added = common::succeeded(
        &client,
        "add_cards",
        json!({ "deck": "Renal", "cards": [
            { "front": "Normal GFR in young adults?", "back": "About 120 mL/min/1.73 m²" },
            { "front": "Most common cause of AKI in hospital?", "back": "Acute tubular necrosis" }
        ] }),
    )
    .await;
    let first = added["cards"][0]["id"].as_str().expect("id").to_string();
    let second = added["cards"][1]["id"].as_str().expect("id").to_string();
    // resources/subscribe is what the 2025 protocol versions clients speak today offer.
    #[allow(deprecated)]
    within(
        "subscribe",
        client.subscribe(SubscribeRequestParams::new("consilium://reviews/due")),
    )
    .await
    .expect("subscribed");

    // The first card graduates; the second is forgotten and comes back after a 1 s step.
    let good = common::succeeded(
        &client,
        "review_card",
        json!({ "card_id": first, "rating": "easy" }),
    )
    .await;
    assert_eq!(good["card"]["state"], "review");
    assert!(
        good["scheduled_days"].as_f64().unwrap_or(0.0) >= 1.0,
        "{good}"
    );
    let again = common::succeeded(
        &client,
        "review_card",
        json!({ "card_id": second, "rating": "again" }),
    )
    .await;
    assert_eq!(again["card"]["state"], "learning");
    let count = |r: &common::Recorded| {
        r.updated
            .iter()
            .filter(|u| *u == "consilium://reviews/due")
            .count()
    };
    // One notification per review, then one from the watcher when the step ends.
    recorder
        .wait_until("the forgotten card falling due", |r| count(r) >= 3)
        .await;
    let due = read(&client, "consilium://reviews/due").await.expect("due");
    assert_eq!(due["cards"][0]["id"], second, "{due}");

    let stats = common::succeeded(&client, "study_stats", json!({})).await;
    assert_eq!(stats["counts"]["total"], 2);
    assert_eq!(
        stats["reviews_per_day"]
            .as_array()
            .and_then(|d| d.last())
            .map(|d| d["reviews"].clone()),
        Some(json!(2))
    );

    // Stop the server and start another on the same database: everything is still there.
    drop(client);
    drop(server);
    let server = HttpServer::spawn_on(
        TempDir::new().expect("dir"),
        db.clone(),
        &["--insecure-no-auth"],
        &env,
    )
    .await;
    let (client, _) = connect_http(&server.mcp_url()).await;
    let decks = common::succeeded(&client, "list_decks", json!({})).await;
    assert_eq!(decks["decks"][0]["name"], "Renal");
    let deck = read(
        &client,
        &format!(
            "consilium://decks/{}",
            added["deck_id"].as_str().unwrap_or_default()
        ),
    )
    .await
    .expect("deck");
    let kept = deck["cards"]
        .as_array()
        .and_then(|cards| cards.iter().find(|c| c["id"] == first.as_str()).cloned())
        .expect("the first card");
    assert_eq!(kept["state"], "review");
    assert_eq!(kept["reps"], 1);
    assert_eq!(kept["due"], good["card"]["due"]);
    assert_eq!(kept["stability"], good["card"]["stability"]);
    let stats = common::succeeded(&client, "study_stats", json!({})).await;
    assert_eq!(stats["parameters"]["reviews_in_log"], 2);
    // The plan puts the reviews due first, then blocks on the decks.
    let plan = common::succeeded(
        &client,
        "study_plan",
        json!({ "days": 3, "minutes_per_day": 45, "topics": ["acid-base"] }),
    )
    .await;
    assert_eq!(plan["days"].as_array().map(Vec::len), Some(3), "{plan}");
    assert_eq!(plan["review_time"], "default");
    let blocks = plan["days"][0]["blocks"].to_string();
    assert!(
        blocks.contains("acid-base") && blocks.contains("Renal"),
        "{blocks}"
    );
    // And reviewing goes on from where it stood.
    let next = common::succeeded(
        &client,
        "review_card",
        json!({ "card_id": second, "rating": "good" }),
    )
    .await;
    assert_eq!(next["card"]["reps"], 2);
}
