//! Anki interchange end to end over streamable HTTP with rmcp's client: a deck exported as
//! an `.apkg` is imported by Anki's own library (PyPI `anki`, run from the Python that
//! `CONSILIUM_TEST_ANKI_PYTHON` names, as CI sets it; skipped with a notice elsewhere) with
//! its notes, cards, deck name, fields, tags and review state; a text export imports back
//! into another deck unchanged; bad text is refused whole.

mod common;

use std::process::Command;

use base64::Engine;
use common::{HttpServer, call};
use serde_json::{Value, json};

/// What Anki's library made of `package`, or `None` with a notice when it is not at hand.
fn anki_import(package: &std::path::Path) -> Option<Value> {
    let Some(python) = std::env::var_os("CONSILIUM_TEST_ANKI_PYTHON") else {
        eprintln!(
            "notice: CONSILIUM_TEST_ANKI_PYTHON is not set; the .apkg was not imported with Anki's library"
        );
        return None;
    };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/anki/import_apkg.py");
    let output = Command::new(python)
        .arg(script)
        .arg(package)
        .output()
        .expect("the Anki import script runs");
    assert!(
        output.status.success(),
        "Anki refused the package: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(serde_json::from_slice(&output.stdout).expect("the script prints JSON"))
}

#[tokio::test]
async fn a_deck_goes_to_anki_and_text_comes_back() {
    let server = HttpServer::start_plain().await;
    let (client, _) = server.connect().await;
    let added = common::succeeded(
        &client,
        "add_cards",
        json!({ "deck": "Renal physiology", "cards": [
            { "front": "Normal GFR in young adults?", "back": "About 120 mL/min/1.73 m²", "tags": ["renal", "physiology"], "source": "Guyton & Hall" },
            { "front": "Where is renin made?", "back": "Juxtaglomerular cells\nof the afferent arteriole", "tags": ["renal"] },
            { "front": "Loop diuretic site <of action>?", "back": "Thick ascending limb: NKCC2", "tags": [] }
        ] }),
    )
    .await;
    let first = added["cards"][0]["id"].as_str().expect("id").to_string();
    common::succeeded(
        &client,
        "review_card",
        json!({ "card_id": first, "rating": "easy" }),
    )
    .await;

    let exported = common::succeeded(
        &client,
        "export_deck",
        json!({ "deck": "Renal physiology", "format": "apkg" }),
    )
    .await;
    assert_eq!(exported["file_name"], "Renal_physiology.apkg");
    assert_eq!(exported["cards"], 3);
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(exported["data_base64"].as_str().expect("data"))
        .expect("base64");
    assert_eq!(
        bytes.len() as u64,
        exported["size_bytes"].as_u64().unwrap_or(0)
    );
    let folder = tempfile::TempDir::new().expect("dir");
    let package = folder.path().join("Renal_physiology.apkg");
    std::fs::write(&package, &bytes).expect("written");
    if let Some(anki) = anki_import(&package) {
        assert_eq!(anki["notes"], 3, "{anki}");
        assert_eq!(anki["cards"], 3);
        assert!(
            anki["decks"]
                .as_array()
                .is_some_and(|d| d.iter().any(|n| n == "Renal physiology")),
            "{anki}"
        );
        assert!(anki["notetypes"].to_string().contains("Consilium Basic"));
        let fields = anki["fields"].to_string();
        assert!(fields.contains("Normal GFR in young adults?"), "{fields}");
        assert!(
            fields.contains("Guyton & Hall") || fields.contains("Guyton &amp; Hall"),
            "{fields}"
        );
        assert!(
            fields.contains("&lt;of action&gt;"),
            "markup in a field stays text: {fields}"
        );
        assert_eq!(anki["tags"][0], json!(["physiology", "renal"]));
        assert_eq!(
            anki["card_types"],
            json!([0, 0, 2]),
            "the reviewed card arrives in review"
        );
    }

    let text = common::succeeded(
        &client,
        "export_deck",
        json!({ "deck": "Renal physiology", "format": "tsv" }),
    )
    .await;
    let tsv = text["text"].as_str().expect("text").to_string();
    assert!(tsv.starts_with("#separator:tab\n"));
    let imported = common::succeeded(
        &client,
        "import_deck",
        json!({ "deck": "Renal copy", "text": tsv }),
    )
    .await;
    let original: Vec<(Value, Value, Value)> = added["cards"]
        .as_array()
        .expect("cards")
        .iter()
        .map(|c| (c["front"].clone(), c["back"].clone(), c["tags"].clone()))
        .collect();
    let copied: Vec<(Value, Value, Value)> = imported["cards"]
        .as_array()
        .expect("cards")
        .iter()
        .map(|c| (c["front"].clone(), c["back"].clone(), c["tags"].clone()))
        .collect();
    assert_eq!(copied, original);
    assert_eq!(imported["cards"][0]["written_by"], "import");

    let refused = call(
        &client,
        "import_deck",
        json!({ "deck": "Broken", "text": "front only\n" }),
    )
    .await;
    assert_eq!(refused.is_error, Some(true));
    let decks = common::succeeded(&client, "list_decks", json!({})).await;
    assert!(
        !decks.to_string().contains("Broken"),
        "a refused import leaves nothing behind: {decks}"
    );
}
