//! The fixtures of the official MCP conformance suite (`@modelcontextprotocol/conformance`):
//! the `test_*` tools, `test://` resources and `test_*` prompts its scenarios call, with the
//! contents the suite expects.
//!
//! Compiled only with the `conformance` cargo feature and served only with the hidden
//! `--conformance-fixtures` flag, through the real registry and HTTP stack, so the suite
//! tests the same middleware, sessions and handler as production. Never part of a release.

// Sampling, elicitation and logging are deprecated from protocol 2026-07-28 (SEP-2577); the
// suite tests the 2025-11-25 protocol, which has them.
#![allow(deprecated)]

use std::sync::Arc;
use std::time::Duration;

use rmcp::ErrorData as McpError;
use rmcp::handler::server::common::schema_for_empty_input;
use rmcp::model::{
    CallToolResult, ContentBlock, CreateMessageRequestParams, ElicitRequestParams, GetPromptResult,
    JsonObject, LoggingLevel, Prompt, PromptArgument, PromptMessage, ReadResourceResult, Resource,
    ResourceContents, ResourceTemplate, Role, Tool,
};
use serde_json::{Value, json};

use crate::mcp::registry::{Completer, CompletionQuery, ToolAccess, prefix_matches};
use crate::mcp::{RegistryBuilder, ToolContext, ToolError};

/// A 1×1 PNG.
const PNG_BASE64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg==";
/// A WAV header with no samples.
const WAV_BASE64: &str = "UklGRiQAAABXQVZFZm10IBAAAAABAAEARKwAAIhYAQACABAAZGF0YQAAAAA=";
const CAPABILITY: &str = "conformance";
const STEP: Duration = Duration::from_millis(50);

pub fn register(builder: &mut RegistryBuilder<'_>) {
    register_tools(builder);
    register_client_request_tools(builder);
    register_resources(builder);
    register_prompts(builder);
}

fn tool(name: &'static str, description: &'static str) -> Tool {
    Tool::new(name, description, schema_for_empty_input())
}

fn tool_with_schema(name: &'static str, description: &'static str, schema: Value) -> Tool {
    let schema: JsonObject = match schema {
        Value::Object(map) => map,
        _ => JsonObject::new(),
    };
    Tool::new(name, description, Arc::new(schema))
}

fn text(result: impl Into<String>) -> Result<CallToolResult, ToolError> {
    Ok(CallToolResult::success(vec![ContentBlock::text(result)]))
}

fn register_tools(b: &mut RegistryBuilder<'_>) {
    b.tool_raw(
        tool("test_simple_text", "Returns a simple text response"),
        CAPABILITY,
        ToolAccess::default(),
        |_, _| async { text("This is a simple text response for testing.") },
    );
    b.tool_raw(
        tool("test_image_content", "Returns an image"),
        CAPABILITY,
        ToolAccess::default(),
        |_, _| async {
            Ok(CallToolResult::success(vec![ContentBlock::image(
                PNG_BASE64,
                "image/png",
            )]))
        },
    );
    b.tool_raw(
        tool("test_audio_content", "Returns audio"),
        CAPABILITY,
        ToolAccess::default(),
        |_, _| async {
            Ok(CallToolResult::success(vec![ContentBlock::audio(
                WAV_BASE64,
                "audio/wav",
            )]))
        },
    );
    b.tool_raw(
        tool("test_embedded_resource", "Returns an embedded resource"),
        CAPABILITY,
        ToolAccess::default(),
        |_, _| async {
            Ok(CallToolResult::success(vec![ContentBlock::resource(
                ResourceContents::text(
                    "This is an embedded resource content.",
                    "test://embedded-resource",
                )
                .with_mime_type("text/plain"),
            )]))
        },
    );
    b.tool_raw(
        tool(
            "test_multiple_content_types",
            "Returns text, an image and a resource",
        ),
        CAPABILITY,
        ToolAccess::default(),
        |_, _| async {
            Ok(CallToolResult::success(vec![
                ContentBlock::text("Multiple content types test:"),
                ContentBlock::image(PNG_BASE64, "image/png"),
                ContentBlock::resource(
                    ResourceContents::text(
                        r#"{"test":"data","value":123}"#,
                        "test://mixed-content-resource",
                    )
                    .with_mime_type("application/json"),
                ),
            ]))
        },
    );
    b.tool_raw(
        tool(
            "test_tool_with_logging",
            "Sends three log messages while it runs",
        ),
        CAPABILITY,
        ToolAccess::default(),
        |ctx: ToolContext, _| async move {
            for (i, message) in [
                "Tool execution started",
                "Tool processing data",
                "Tool execution completed",
            ]
            .into_iter()
            .enumerate()
            {
                if i > 0 {
                    tokio::time::sleep(STEP).await;
                }
                ctx.log(LoggingLevel::Info, "conformance-server", json!(message))
                    .await;
            }
            text("Logging test completed")
        },
    );
    b.tool_raw(
        tool("test_error_handling", "Always returns an error result"),
        CAPABILITY,
        ToolAccess::default(),
        |_, _| async {
            Ok(CallToolResult::error(vec![ContentBlock::text(
                "This tool intentionally returns an error for testing",
            )]))
        },
    );
    b.tool_raw(
        tool(
            "test_tool_with_progress",
            "Reports progress 0, 50 and 100 of 100, then returns",
        ),
        CAPABILITY,
        ToolAccess::default(),
        |ctx: ToolContext, _| async move {
            for (i, (progress, message)) in
                [(0.0, "Starting"), (50.0, "Halfway"), (100.0, "Complete")]
                    .into_iter()
                    .enumerate()
            {
                if i > 0 {
                    tokio::time::sleep(STEP).await;
                }
                ctx.progress(progress, Some(100.0), Some(message.to_string()))
                    .await;
            }
            text("Progress test completed")
        },
    );
    b.tool_raw(
        tool_with_schema(
            "json_schema_2020_12_tool",
            "Tool with JSON Schema 2020-12 features",
            json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "$defs": {
                    "address": {
                        "type": "object",
                        "properties": { "street": { "type": "string" }, "city": { "type": "string" } }
                    }
                },
                "properties": { "name": { "type": "string" }, "address": { "$ref": "#/$defs/address" } },
                "additionalProperties": false
            }),
        ),
        CAPABILITY,
        ToolAccess::default(),
        |_, args| async move { text(format!("Received: {}", Value::Object(args))) },
    );
    // Not one of the suite's fixtures: our own end-to-end tests use it to cancel a call that
    // is still running and to watch progress arrive.
    b.tool_raw(
        tool_with_schema(
            "test_slow_operation",
            "Runs for the given number of milliseconds, reporting progress every 50 ms",
            json!({ "type": "object", "properties": { "millis": { "type": "integer", "minimum": 0, "maximum": 60000 } }, "required": ["millis"] }),
        ),
        CAPABILITY,
        ToolAccess::default(),
        |ctx: ToolContext, args| async move {
            let millis = args
                .get("millis")
                .and_then(Value::as_u64)
                .filter(|m| *m <= 60_000)
                .ok_or_else(|| ToolError::invalid_arguments("millis must be an integer from 0 to 60000"))?;
            let steps = millis.div_ceil(50);
            for step in 0..steps {
                ctx.progress(step as f64, Some(steps as f64), None).await;
                tokio::time::sleep(STEP).await;
            }
            text(format!("slept {millis} ms"))
        },
    );
    b.tool_raw(
        tool(
            "test_reconnection",
            "Completes after a short pause, for SSE resumption tests",
        ),
        CAPABILITY,
        ToolAccess::default(),
        |_, _| async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            text("Reconnection test completed")
        },
    );
}

fn register_client_request_tools(b: &mut RegistryBuilder<'_>) {
    b.tool_raw(
        tool_with_schema(
            "test_sampling",
            "Asks the client's model to answer a prompt",
            json!({ "type": "object", "properties": { "prompt": { "type": "string" } }, "required": ["prompt"] }),
        ),
        CAPABILITY,
        ToolAccess::default(),
        |ctx: ToolContext, args| async move {
            let prompt = string_argument(&args, "prompt")?;
            let params: CreateMessageRequestParams = from_json(json!({
                "messages": [{ "role": "user", "content": { "type": "text", "text": prompt } }],
                "maxTokens": 100
            }))?;
            let reply = ctx
                .peer()
                .create_message(params)
                .await
                .map_err(|e| ToolError::new("SAMPLING_FAILED", e.to_string()))?;
            let said = serde_json::to_value(&reply.message.content)
                .ok()
                .and_then(|v| v.get("text").and_then(Value::as_str).map(String::from))
                .unwrap_or_default();
            text(format!("LLM response: {said}"))
        },
    );
    b.tool_raw(
        tool_with_schema(
            "test_elicitation",
            "Asks the user for a username and an email address",
            json!({ "type": "object", "properties": { "message": { "type": "string" } }, "required": ["message"] }),
        ),
        CAPABILITY,
        ToolAccess::default(),
        |ctx: ToolContext, args| async move {
            let message = string_argument(&args, "message")?;
            elicit(
                &ctx,
                json!({
                    "message": message,
                    "requestedSchema": {
                        "type": "object",
                        "properties": {
                            "username": { "type": "string", "description": "User's response" },
                            "email": { "type": "string", "description": "User's email address" }
                        },
                        "required": ["username", "email"]
                    }
                }),
                "User response",
            )
            .await
        },
    );
    b.tool_raw(
        tool("test_elicitation_sep1034_defaults", "Elicits fields that carry default values"),
        CAPABILITY,
        ToolAccess::default(),
        |ctx: ToolContext, _| async move {
            elicit(
                &ctx,
                json!({
                    "message": "Please review and update the form fields with defaults",
                    "requestedSchema": {
                        "type": "object",
                        "properties": {
                            "name": { "type": "string", "description": "User name", "default": "John Doe" },
                            "age": { "type": "integer", "description": "User age", "default": 30 },
                            "score": { "type": "number", "description": "User score", "default": 95.5 },
                            "status": { "type": "string", "description": "User status", "enum": ["active", "inactive", "pending"], "default": "active" },
                            "verified": { "type": "boolean", "description": "Verification status", "default": true }
                        }
                    }
                }),
                "Elicitation completed",
            )
            .await
        },
    );
    b.tool_raw(
        tool("test_elicitation_sep1330_enums", "Elicits every enum form of SEP-1330"),
        CAPABILITY,
        ToolAccess::default(),
        |ctx: ToolContext, _| async move {
            elicit(
                &ctx,
                json!({
                    "message": "Please select options from the enum fields",
                    "requestedSchema": {
                        "type": "object",
                        "properties": {
                            "untitledSingle": { "type": "string", "enum": ["option1", "option2", "option3"] },
                            "titledSingle": { "type": "string", "oneOf": [
                                { "const": "value1", "title": "First Option" },
                                { "const": "value2", "title": "Second Option" },
                                { "const": "value3", "title": "Third Option" }
                            ] },
                            "legacyEnum": { "type": "string", "enum": ["opt1", "opt2", "opt3"], "enumNames": ["Option One", "Option Two", "Option Three"] },
                            "untitledMulti": { "type": "array", "items": { "type": "string", "enum": ["option1", "option2", "option3"] } },
                            "titledMulti": { "type": "array", "items": { "anyOf": [
                                { "const": "value1", "title": "First Choice" },
                                { "const": "value2", "title": "Second Choice" },
                                { "const": "value3", "title": "Third Choice" }
                            ] } }
                        }
                    }
                }),
                "Elicitation completed",
            )
            .await
        },
    );
}

async fn elicit(
    ctx: &ToolContext,
    request: Value,
    label: &str,
) -> Result<CallToolResult, ToolError> {
    let params: ElicitRequestParams = from_json(request)?;
    let answer = ctx
        .peer()
        .create_elicitation(params)
        .await
        .map_err(|e| ToolError::new("ELICITATION_FAILED", e.to_string()))?;
    let answer = serde_json::to_value(&answer).unwrap_or(Value::Null);
    let action = answer
        .get("action")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    let content = answer.get("content").cloned().unwrap_or(Value::Null);
    text(format!("{label}: action={action}, content={content}"))
}

fn from_json<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, ToolError> {
    serde_json::from_value(value)
        .map_err(|e| ToolError::internal(format!("fixture request is malformed: {e}")))
}

fn string_argument(args: &JsonObject, name: &str) -> Result<String, ToolError> {
    args.get(name)
        .and_then(Value::as_str)
        .map(String::from)
        .ok_or_else(|| ToolError::invalid_arguments(format!("{name} must be a string")))
}

fn register_resources(b: &mut RegistryBuilder<'_>) {
    b.resource(
        Resource::new("test://static-text", "static-text")
            .with_description("A static text resource")
            .with_mime_type("text/plain"),
        |_, uri| async move {
            Ok(ReadResourceResult::new(vec![
                ResourceContents::text("This is the content of the static text resource.", uri)
                    .with_mime_type("text/plain"),
            ]))
        },
    );
    b.resource(
        Resource::new("test://static-binary", "static-binary")
            .with_description("A static binary resource (a PNG)")
            .with_mime_type("image/png"),
        |_, uri| async move {
            Ok(ReadResourceResult::new(vec![
                ResourceContents::blob(PNG_BASE64, uri).with_mime_type("image/png"),
            ]))
        },
    );
    b.resource(
        Resource::new("test://watched-resource", "watched-resource")
            .with_description("A resource clients subscribe to")
            .with_mime_type("text/plain"),
        |_, uri| async move {
            Ok(ReadResourceResult::new(vec![
                ResourceContents::text("Watched resource content", uri)
                    .with_mime_type("text/plain"),
            ]))
        },
    );
    let ids: Completer = Arc::new(|query: CompletionQuery| {
        let ids = ["123", "456", "789"].map(String::from);
        Box::pin(std::future::ready(prefix_matches(&ids, &query.value)))
    });
    b.resource_template(
        ResourceTemplate::new("test://template/{id}/data", "template-data")
            .with_description("A resource template with an id parameter")
            .with_mime_type("application/json"),
        Some(ids),
        |_, uri, vars| async move {
            let id = vars.get("id").cloned().unwrap_or_default();
            let body =
                json!({ "id": id, "templateTest": true, "data": format!("Data for ID: {id}") });
            Ok(ReadResourceResult::new(vec![
                ResourceContents::text(body.to_string(), uri).with_mime_type("application/json"),
            ]))
        },
    );
}

fn register_prompts(b: &mut RegistryBuilder<'_>) {
    b.prompt(
        Prompt::new(
            "test_simple_prompt",
            Some("A simple prompt without arguments"),
            None,
        ),
        None,
        |_, _| async {
            Ok(GetPromptResult::new(vec![PromptMessage::new_text(
                Role::User,
                "This is a simple prompt for testing.",
            )]))
        },
    );
    let arguments = vec![
        PromptArgument::new("arg1")
            .with_description("First test argument")
            .with_required(true),
        PromptArgument::new("arg2")
            .with_description("Second test argument")
            .with_required(true),
    ];
    let suggestions: Completer = Arc::new(|query: CompletionQuery| {
        let values = ["test", "testValue1", "testValue2", "example"].map(String::from);
        Box::pin(std::future::ready(prefix_matches(&values, &query.value)))
    });
    b.prompt(
        Prompt::new(
            "test_prompt_with_arguments",
            Some("A prompt with two required arguments"),
            Some(arguments),
        ),
        Some(suggestions),
        |_, args| async move {
            let arg1 = required(&args, "arg1")?;
            let arg2 = required(&args, "arg2")?;
            Ok(GetPromptResult::new(vec![PromptMessage::new_text(
                Role::User,
                format!("Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"),
            )]))
        },
    );
    b.prompt(
        Prompt::new(
            "test_prompt_with_embedded_resource",
            Some("A prompt that embeds a resource"),
            Some(vec![
                PromptArgument::new("resourceUri")
                    .with_description("URI of the resource to embed")
                    .with_required(true),
            ]),
        ),
        None,
        |_, args| async move {
            let uri = required(&args, "resourceUri")?;
            Ok(GetPromptResult::new(vec![
                PromptMessage::new(
                    Role::User,
                    ContentBlock::resource(
                        ResourceContents::text("Embedded resource content for testing.", uri)
                            .with_mime_type("text/plain"),
                    ),
                ),
                PromptMessage::new_text(Role::User, "Please process the embedded resource above."),
            ]))
        },
    );
    b.prompt(
        Prompt::new(
            "test_prompt_with_image",
            Some("A prompt that includes an image"),
            None,
        ),
        None,
        |_, _| async {
            Ok(GetPromptResult::new(vec![
                PromptMessage::new(Role::User, ContentBlock::image(PNG_BASE64, "image/png")),
                PromptMessage::new_text(Role::User, "Please analyze the image above."),
            ]))
        },
    );
}

fn required(
    args: &std::collections::HashMap<String, String>,
    name: &str,
) -> Result<String, McpError> {
    args.get(name).cloned().ok_or_else(|| {
        McpError::invalid_params(format!("missing required argument {name:?}"), None)
    })
}
