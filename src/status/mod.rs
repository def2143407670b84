//! The status capability: what this server is, how long it has run, which store and schema
//! it uses and which transports are up. Served as the `consilium://status` resource and the
//! `server_status` tool.
//!
//! It reports; it must not change anything.

use rmcp::ErrorData as McpError;
use rmcp::model::{ReadResourceResult, Resource, ResourceContents};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::mcp::{RegistryBuilder, ToolOutput};
use crate::store::Store;

pub const STATUS_URI: &str = "consilium://status";

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct StatusReport {
    pub name: String,
    pub version: String,
    pub uptime_seconds: u64,
    /// Unix time (seconds) at which this process started serving.
    pub started_at_unix: u64,
    pub store: StoreStatus,
    /// The transports accepting clients, e.g. `stdio` or `streamable-http http://127.0.0.1:8787/mcp`.
    pub transports: Vec<String>,
    pub offers: Offers,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct StoreStatus {
    pub path: String,
    pub schema_version: u32,
    pub latest_schema_version: u32,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Offers {
    pub tools: usize,
    pub resources: usize,
    pub resource_templates: usize,
    pub prompts: usize,
}

impl ToolOutput for StatusReport {
    fn to_text(&self) -> String {
        format!(
            "{} {} up {} s; store {} (schema {} of {}); transports: {}; {} tools, {} resources, {} templates, {} prompts",
            self.name,
            self.version,
            self.uptime_seconds,
            self.store.path,
            self.store.schema_version,
            self.store.latest_schema_version,
            if self.transports.is_empty() {
                "none".into()
            } else {
                self.transports.join(", ")
            },
            self.offers.tools,
            self.offers.resources,
            self.offers.resource_templates,
            self.offers.prompts,
        )
    }
}

pub fn report(app: &App) -> StatusReport {
    let registry = &app.registry;
    StatusReport {
        name: "consilium".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        uptime_seconds: app.uptime_seconds(),
        started_at_unix: app.started_unix(),
        store: StoreStatus {
            path: app.store.path().display().to_string(),
            schema_version: app.store.schema_version(),
            latest_schema_version: Store::latest_schema_version(),
        },
        transports: app.transports(),
        offers: Offers {
            tools: registry.tools().count(),
            resources: registry.resources().count(),
            resource_templates: registry.templates().count(),
            prompts: registry.prompts().count(),
        },
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArguments {}

pub fn register(builder: &mut RegistryBuilder<'_>) {
    builder.tool("server_status", |ctx, _: NoArguments| async move {
        Ok(report(&ctx.app))
    });
    builder.resource(
        Resource::new(STATUS_URI, "status")
            .with_title("Server status")
            .with_description("Version, uptime, store path and schema version, transports up")
            .with_mime_type("application/json"),
        |scope, uri| async move {
            let body = serde_json::to_string_pretty(&report(&scope.app))
                .map_err(|e| McpError::internal_error(e.to_string(), None))?;
            Ok(ReadResourceResult::new(vec![
                ResourceContents::text(body, uri).with_mime_type("application/json"),
            ]))
        },
    );
}
