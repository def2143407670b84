//! `mcp-manifest.json` must describe the server that ships: the tools and prompts it lists
//! are exactly those the binary announces over MCP, with the same descriptions and arguments.

use std::collections::BTreeMap;

use rmcp::ServiceExt;
use rmcp::transport::TokioChildProcess;
use serde_json::Value;

fn manifest() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/mcp-manifest.json"))
        .expect("mcp-manifest.json is readable");
    serde_json::from_str(&text).expect("mcp-manifest.json is JSON")
}

#[tokio::test]
async fn the_manifest_lists_exactly_the_tools_and_prompts_the_server_announces() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_consilium"));
    command
        .arg("--db")
        .arg(dir.path().join("c.db"))
        .arg("serve")
        .stderr(std::process::Stdio::null());
    let transport = TokioChildProcess::new(command).expect("spawn consilium");
    let client = ().serve(transport).await.expect("initialize over stdio");

    let announced_tools: BTreeMap<String, String> = client
        .list_all_tools()
        .await
        .expect("tools/list")
        .into_iter()
        .map(|t| {
            (
                t.name.to_string(),
                t.description.unwrap_or_default().to_string(),
            )
        })
        .collect();
    let announced_prompts: BTreeMap<String, (String, Vec<String>)> = client
        .list_all_prompts()
        .await
        .expect("prompts/list")
        .into_iter()
        .map(|p| {
            let args = p
                .arguments
                .unwrap_or_default()
                .into_iter()
                .map(|a| a.name)
                .collect();
            (p.name, (p.description.unwrap_or_default(), args))
        })
        .collect();
    let _ = client.cancel().await;

    let manifest = manifest();
    let listed_tools: BTreeMap<String, String> = manifest["tools"]
        .as_array()
        .expect("manifest has tools")
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap_or_default().to_string(),
                t["description"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let listed_prompts: BTreeMap<String, (String, Vec<String>)> = manifest["prompts"]
        .as_array()
        .expect("manifest has prompts")
        .iter()
        .map(|p| {
            let args = p["arguments"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            (
                p["name"].as_str().unwrap_or_default().to_string(),
                (
                    p["description"].as_str().unwrap_or_default().to_string(),
                    args,
                ),
            )
        })
        .collect();

    assert_eq!(
        listed_tools, announced_tools,
        "mcp-manifest.json's tools differ from what the server announces"
    );
    assert_eq!(
        listed_prompts, announced_prompts,
        "mcp-manifest.json's prompts differ from what the server announces"
    );
}

#[test]
fn the_manifest_is_a_binary_bundle_of_this_version() {
    let manifest = manifest();
    assert_eq!(manifest["manifest_version"], "0.3");
    assert_eq!(manifest["server"]["type"], "binary");
    assert_eq!(manifest["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(manifest["name"], "consilium");
}
