//! An operator's `prompts/` and `tools/` folders lay over the built-in ones: a new prompt
//! template is served as a real MCP prompt, and a broken file stops the server at start-up
//! with a message naming it, instead of serving half a catalog.

use std::collections::HashMap;
use std::time::Duration;

use rmcp::ServiceExt;
use rmcp::model::GetPromptRequestParams;
use rmcp::transport::TokioChildProcess;

const WARD_ROUND: &str = "+++
name = \"ward-round\"
description = \"Presents a patient on a ward round\"

[[arguments]]
name = \"patient\"
description = \"Who to present\"
required = true
+++
Present {{patient}} in the SBAR format.
";

#[tokio::test]
async fn a_prompt_added_in_the_override_folder_is_listed_and_rendered() {
    let dir = tempfile::tempdir().expect("temp dir");
    let prompts = dir.path().join("prompts");
    std::fs::create_dir(&prompts).expect("prompts folder");
    std::fs::write(prompts.join("ward-round.md"), WARD_ROUND).expect("write prompt");

    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_consilium"));
    command
        .env("CONSILIUM_PROMPTS_DIR", &prompts)
        .arg("--db")
        .arg(dir.path().join("c.db"))
        .arg("serve")
        .stderr(std::process::Stdio::null());
    let client =
        ().serve(TokioChildProcess::new(command).expect("spawn"))
            .await
            .expect("initialize");

    let names: Vec<String> = client
        .list_all_prompts()
        .await
        .expect("prompts/list")
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert!(
        names.contains(&"ward-round".to_string()),
        "override prompt missing from {names:?}"
    );
    assert!(
        names.contains(&"getting-started".to_string()),
        "built-in prompt lost: {names:?}"
    );

    let arguments: HashMap<String, serde_json::Value> =
        HashMap::from([("patient".to_string(), serde_json::json!("bed 4"))]);
    let result = tokio::time::timeout(
        Duration::from_secs(10),
        client.get_prompt(
            GetPromptRequestParams::new("ward-round")
                .with_arguments(arguments.into_iter().collect()),
        ),
    )
    .await
    .expect("prompts/get answered in time")
    .expect("prompts/get");
    let text = serde_json::to_string(&result.messages).expect("messages serialise");
    assert!(
        text.contains("Present bed 4 in the SBAR format."),
        "rendered: {text}"
    );
    let _ = client.cancel().await;
}

#[test]
fn a_broken_tool_spec_in_the_override_folder_stops_the_server_naming_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let specs = dir.path().join("tools").join("specs");
    std::fs::create_dir_all(&specs).expect("specs folder");
    std::fs::write(
        specs.join("status.toml"),
        "[[tool]]\nname = \"server status\"\n",
    )
    .expect("write spec");

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_consilium"))
        .env("CONSILIUM_TOOLS_DIR", dir.path().join("tools"))
        .arg("--db")
        .arg(dir.path().join("c.db"))
        .arg("tools")
        .output()
        .expect("run consilium tools");
    assert!(
        !output.status.success(),
        "a broken spec must stop the server"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("specs/status.toml"),
        "the message should name the file: {stderr}"
    );
}
