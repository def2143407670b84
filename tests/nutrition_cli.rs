//! `nutrition_analysis` through the real binary: the built-in foods with no import, then —
//! where the USDA SR28 release is available beside the project — `consilium data
//! import-usda` and a food only the full release has.

mod common;

use std::path::PathBuf;

use std::time::Duration;

use common::{fresh_db, run_cli, run_cli_within};
use serde_json::Value;

fn structured(output: &std::process::Output) -> Value {
    let text = String::from_utf8_lossy(&output.stdout);
    let value: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    value.get("structuredContent").cloned().unwrap_or(value)
}

#[test]
fn built_in_foods_answer_with_no_import() {
    let (_dir, db) = fresh_db();
    let output = run_cli(
        &db,
        &[
            "call",
            "nutrition_analysis",
            r#"{"items": [{"food": "banana", "amount": "1 medium"}, {"food": "kale raw", "amount": "1 cup"}]}"#,
        ],
    );
    let result = structured(&output);
    assert_eq!(result["items"][0]["status"], "matched");
    assert_eq!(result["items"][0]["matched"]["ndb"], "09040");
    // Kale is not built in: without the import it is reported, not replaced.
    assert_ne!(
        result["items"][1]["status"], "matched",
        "{}",
        result["items"][1]
    );
    assert_eq!(result["totals"]["energy_kcal"], 105.0);
}

#[test]
fn after_the_sr28_import_every_usda_food_is_available() {
    let release = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/usda-sr28");
    if !release.join("FOOD_DES.txt").exists() {
        eprintln!("skipped: the USDA SR28 release is not beside the project");
        return;
    }
    let (_dir, db) = fresh_db();
    let release = release.to_string_lossy().into_owned();
    // 4 s in a debug build on an idle machine; generous for a busy one.
    let imported = run_cli_within(
        &db,
        &["data", "import-usda", &release],
        Duration::from_secs(120),
    );
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    assert!(String::from_utf8_lossy(&imported.stderr).contains("imported 8789 foods"));
    let output = run_cli(
        &db,
        &[
            "call",
            "nutrition_analysis",
            r#"{"items": [{"food": "kale raw", "amount": "1 cup"}]}"#,
        ],
    );
    let result = structured(&output);
    let item = &result["items"][0];
    assert_eq!(item["status"], "matched", "{item}");
    // SR28 11233, Kale, raw: 49 kcal per 100 g (SR28 revision); the cup measure as listed.
    assert_eq!(item["matched"]["ndb"], "11233");
    assert_eq!(item["matched"]["table"], "usda_sr28_import");
}
