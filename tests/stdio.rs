//! MCP over stdio, end to end: the real `consilium serve` child process driven by rmcp's
//! client — handshake, tools, the status tool and resource, the getting-started prompt and
//! its completion, log levels, progress and cancellation.

mod common;

use common::{connect_stdio, scenarios};

#[tokio::test]
async fn the_handshake_names_consilium_gives_instructions_and_announces_every_capability() {
    let (client, _recorder, _dir) = connect_stdio().await;
    scenarios::handshake_announces_consilium(&client).await;
    let _ = client.cancel().await;
}

#[tokio::test]
async fn tools_list_includes_server_status_with_an_output_schema() {
    let (client, _recorder, _dir) = connect_stdio().await;
    scenarios::tools_include_server_status_with_an_output_schema(&client).await;
    let _ = client.cancel().await;
}

#[tokio::test]
async fn server_status_returns_structured_content_and_a_text_block_on_a_migrated_store() {
    let (client, _recorder, _dir) = connect_stdio().await;
    scenarios::server_status_is_structured_with_a_text_block(&client).await;
    let _ = client.cancel().await;
}

#[tokio::test]
async fn the_status_resource_reports_version_uptime_store_path_and_the_stdio_transport() {
    let (client, _recorder, _dir) = connect_stdio().await;
    scenarios::status_resource_reports_the_transport(&client, "stdio").await;
    let _ = client.cancel().await;
}

#[tokio::test]
async fn the_getting_started_prompt_is_listed_rendered_and_completes_med_to_medical_student() {
    let (client, _recorder, _dir) = connect_stdio().await;
    scenarios::getting_started_prompt_lists_renders_and_completes(&client).await;
    let _ = client.cancel().await;
}

#[tokio::test]
async fn the_log_level_silences_tool_logs_at_error_and_lets_all_three_through_at_debug() {
    let (client, recorder, _dir) = connect_stdio().await;
    scenarios::log_level_filters_tool_logs(&client, &recorder).await;
    let _ = client.cancel().await;
}

#[tokio::test]
async fn a_slow_call_reports_increasing_progress_against_its_own_token() {
    let (client, recorder, _dir) = connect_stdio().await;
    scenarios::slow_call_reports_progress(&client, &recorder).await;
    let _ = client.cancel().await;
}

#[tokio::test]
async fn a_cancelled_thirty_second_call_stops_and_the_server_answers_at_once() {
    let (client, recorder, _dir) = connect_stdio().await;
    scenarios::cancelled_call_stops_and_server_stays_responsive(&client, &recorder).await;
    let _ = client.cancel().await;
}

#[tokio::test]
async fn listed_tool_schemas_use_only_formats_json_schema_defines() {
    let (client, _recorder, _dir) = connect_stdio().await;
    scenarios::listed_schemas_use_only_standard_formats(&client).await;
    let _ = client.cancel().await;
}
