//! Health tools end to end: `calculate` over HTTP with authentication on, its result saved
//! for the caller and linked, readable by them and by nobody else; the calculator listing
//! and its completions.

mod common;

use std::path::Path;

use common::{HttpServer, call, cli, connect_http_as, fresh_db};
use rmcp::model::{
    ArgumentInfo, CompleteRequestParams, ContentBlock, ReadResourceRequestParams, Reference,
    ResourceContents,
};
use serde_json::{Value, json};

fn user_with_key(db: &Path, email: &str) -> String {
    cli(
        db,
        &[
            "admin",
            "create-user",
            email,
            "--name",
            "T",
            "--plan",
            "pro",
        ],
    );
    cli(
        db,
        &[
            "api-keys", "create", "--user", email, "--name", "t", "--scopes", "health",
        ],
    )
}

fn text_of(contents: &[ResourceContents]) -> String {
    match &contents[0] {
        ResourceContents::TextResourceContents { text, .. } => text.clone(),
        other => panic!("text contents expected: {other:?}"),
    }
}

#[tokio::test]
async fn a_calculation_is_saved_for_its_caller_and_hidden_from_everyone_else() {
    let (dir, db) = fresh_db();
    let ada = user_with_key(&db, "ada@example.org");
    let bob = user_with_key(&db, "bob@example.org");
    let server = HttpServer::spawn_on(dir, db, &[], &[]).await;
    let (ada_client, _) = connect_http_as(&server.mcp_url(), &ada).await;
    let result = call(
        &ada_client,
        "calculate",
        json!({"calculator": "cockcroft_gault", "inputs": {
            "age": 60, "weight": "158.7 lb", "creatinine": "88.4 umol/L", "sex": "male"
        }}),
    )
    .await;
    assert_ne!(result.is_error, Some(true), "{result:?}");
    let structured = result.structured_content.clone().unwrap_or(Value::Null);
    assert_eq!(structured["value"], 80.0, "{structured}");
    let link = result
        .content
        .iter()
        .find_map(|c| match c {
            ContentBlock::ResourceLink(link) => Some(link.uri.clone()),
            _ => None,
        })
        .expect("the result links to its saved copy");
    assert!(link.starts_with("consilium://analyses/"), "{link}");

    let mine = ada_client
        .read_resource(ReadResourceRequestParams::new(link.clone()))
        .await
        .expect("the owner reads it back");
    let saved: Value = serde_json::from_str(&text_of(&mine.contents)).unwrap();
    assert_eq!(saved["result"]["value"], 80.0);

    let (bob_client, _) = connect_http_as(&server.mcp_url(), &bob).await;
    assert!(
        bob_client
            .read_resource(ReadResourceRequestParams::new(link))
            .await
            .is_err(),
        "another user cannot read it"
    );

    let bad = call(
        &ada_client,
        "calculate",
        json!({"calculator": "bmi", "inputs": {"weight": -3, "height": 170}}),
    )
    .await;
    assert_eq!(bad.is_error, Some(true));
    let error = bad.structured_content.unwrap();
    assert_eq!(error["code"], "INVALID_ARGUMENTS");
    assert_eq!(error["details"]["field"], "inputs.weight");
}

#[tokio::test]
async fn the_calculators_are_listed_and_their_ids_completed() {
    let (dir, db) = fresh_db();
    let key = user_with_key(&db, "ada@example.org");
    let server = HttpServer::spawn_on(dir, db, &[], &[]).await;
    let (client, _) = connect_http_as(&server.mcp_url(), &key).await;
    let listing = client
        .read_resource(ReadResourceRequestParams::new("consilium://calculators"))
        .await
        .unwrap();
    let listing: Value = serde_json::from_str(&text_of(&listing.contents)).unwrap();
    let ids: Vec<&str> = listing["calculators"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert!(
        ids.contains(&"cockcroft_gault") && ids.contains(&"bmi"),
        "{ids:?}"
    );
    let completion = client
        .complete(CompleteRequestParams::new(
            Reference::for_resource("consilium://calculators/{id}"),
            ArgumentInfo::new("id", "qtc"),
        ))
        .await
        .unwrap();
    assert!(
        completion
            .completion
            .values
            .contains(&"qtc_bazett".to_string())
    );
}

#[tokio::test]
async fn a_risk_model_answers_over_http_and_an_out_of_range_input_is_refused_by_name() {
    let (dir, db) = fresh_db();
    let key = user_with_key(&db, "grace@example.org");
    let server = HttpServer::spawn_on(dir, db, &[], &[]).await;
    let (client, _) = connect_http_as(&server.mcp_url(), &key).await;
    let inputs = json!({"age": 55, "sex": "male", "race": "african_american",
        "total_cholesterol": "5.51 mmol/L", "hdl": 50, "systolic_bp": 120});
    let result = call(
        &client,
        "risk_assessment",
        json!({"model": "ascvd_pce_2013", "inputs": inputs}),
    )
    .await;
    assert_ne!(result.is_error, Some(true), "{result:?}");
    let body = result.structured_content.clone().unwrap_or_default();
    // Goff 2014's worked example for African American men: 6.1%.
    assert_eq!(body["value"], 6.1);
    let converted = body["inputs_used"]["total_cholesterol"]
        .as_f64()
        .unwrap_or_default();
    assert!(
        (converted - 213.07).abs() < 0.01,
        "5.51 mmol/L × 38.67 = {converted} mg/dL"
    );
    let young = json!({"age": 30, "sex": "male", "race": "white", "total_cholesterol": 213,
        "hdl": 50, "systolic_bp": 120});
    let refused = call(
        &client,
        "risk_assessment",
        json!({"model": "ascvd_pce_2013", "inputs": young}),
    )
    .await;
    assert_eq!(refused.is_error, Some(true));
    let error = refused.structured_content.clone().unwrap_or_default();
    assert_eq!(error["code"], "INVALID_ARGUMENTS");
    assert_eq!(error["details"]["field"], "inputs.age");
}

#[tokio::test]
async fn fitness_activities_are_matched_and_totalled_against_the_who_guidelines() {
    let (dir, db) = fresh_db();
    let key = user_with_key(&db, "kate@example.org");
    let server = HttpServer::spawn_on(dir, db, &[], &[]).await;
    let (client, _) = connect_http_as(&server.mcp_url(), &key).await;
    let arguments = json!({"weight_kg": 70, "activities": [
        {"activity": "running 6 mph", "minutes": 30, "days_per_week": 3},
        {"activity": "weight lifting", "minutes": 40, "days_per_week": 2}
    ]});
    let result = call(&client, "fitness_analysis", arguments).await;
    assert_ne!(result.is_error, Some(true), "{result:?}");
    let body = result.structured_content.clone().unwrap_or_default();
    // Compendium 12050 (9.8 MET): 9.8 × 70 × 0.5 = 343 kcal a session.
    assert_eq!(body["activities"][0]["code"], "12050");
    assert_eq!(body["activities"][0]["kcal_per_session"], 343.0);
    // 90 vigorous minutes count as 180 moderate-equivalent ones.
    assert_eq!(body["weekly"]["moderate_equivalent_minutes"], 180.0);
    assert_eq!(body["who_2020"]["meets_minimum"], true);
    assert_eq!(body["who_2020"]["meets_strength"], true);
}

#[tokio::test]
async fn a_raw_genotype_file_is_read_over_http() {
    let (dir, db) = fresh_db();
    let key = user_with_key(&db, "lin@example.org");
    let server = HttpServer::spawn_on(dir, db, &[], &[]).await;
    let (client, _) = connect_http_as(&server.mcp_url(), &key).await;
    // Hand-written lines in the 23andMe layout; not anyone's data.
    let raw = "# rsid\tchromosome\tposition\tgenotype\nrs429358\t19\t45411941\tTC\nrs7412\t19\t45412079\tCC\nrs4244285\t10\t96541616\tGA\nrs4986893\t10\t96540410\tGG\nrs12248560\t10\t96521657\tCC\n";
    let result = call(&client, "dna_analysis", json!({"raw_file": raw})).await;
    assert_ne!(result.is_error, Some(true), "{result:?}");
    let body = result.structured_content.clone().unwrap_or_default();
    let findings = body["findings"].as_array().cloned().unwrap_or_default();
    let apoe = findings
        .iter()
        .find(|f| f["gene"] == "APOE")
        .expect("an APOE finding");
    assert!(apoe.to_string().contains("ε3/ε4"), "{apoe}");
    let cyp = findings
        .iter()
        .find(|f| f["gene"] == "CYP2C19")
        .expect("a CYP2C19 finding");
    assert!(
        cyp.to_string().to_lowercase().contains("intermediate"),
        "{cyp}"
    );
}
