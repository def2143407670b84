//! The MCP surface of the provider layer: admin tools over the shared pool, maintenance
//! and feature switches; every user's tools over their own keys; and the resources
//! `consilium://providers/health` (admins) and `consilium://maintenance` (everyone). A thin
//! layer over [`super::manage`] and `crate::maintenance`.

use rmcp::ErrorData as McpError;
use rmcp::model::{ReadResourceResult, Resource, ResourceContents};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use zeroize::Zeroizing;

use super::manage::{self, KeyToAdd, ManageError, Pool};
use super::pool::KeyView;
use crate::accounts::requester;
use crate::identity::Scope;
use crate::maintenance::{MaintenanceError, MaintenanceMode, MaintenanceState};
use crate::mcp::tool::codes;
use crate::mcp::{RegistryBuilder, ToolContext, ToolError, ToolOutput};

pub const PROVIDERS_HEALTH_URI: &str = "consilium://providers/health";
pub const MAINTENANCE_URI: &str = "consilium://maintenance";

pub fn register(builder: &mut RegistryBuilder<'_>) {
    builder.tool("admin_provider_add", admin_add);
    builder.tool("admin_provider_list", admin_list);
    builder.tool("admin_provider_set_status", admin_set_status);
    builder.tool("admin_provider_set_priority", admin_set_priority);
    builder.tool("admin_provider_delete", delete);
    builder.tool("admin_provider_test", test);
    builder.tool("admin_set_maintenance", set_maintenance);
    builder.tool("admin_set_feature", set_feature);
    builder.tool("provider_key_add", own_add);
    builder.tool("provider_key_list", own_list);
    builder.tool("provider_key_delete", delete);
    builder.tool("provider_key_test", test);
    builder.tool("provider_preferences", preferences);
    builder.resource_for(
        Some(Scope::Admin),
        Resource::new(PROVIDERS_HEALTH_URI, "providers-health")
            .with_title("Provider key health")
            .with_description("Every provider key: status, success rate, latency, last failure, cost; keys masked")
            .with_mime_type("application/json"),
        |scope, uri| async move {
            let keys = scope.app.llm.pool().views(&super::pool::KeyScope::All);
            let body = json!({
                "keys": keys,
                "maintenance": *scope.app.maintenance.state(),
                "disabled_features": scope.app.maintenance.disabled_features(),
            });
            json_resource(&body, uri)
        },
    );
    builder.resource(
        Resource::new(MAINTENANCE_URI, "maintenance")
            .with_title("Maintenance state")
            .with_description(
                "Whether the server is in maintenance, why, and which features are switched off",
            )
            .with_mime_type("application/json"),
        |scope, uri| async move {
            let body = json!({
                "maintenance": *scope.app.maintenance.state(),
                "disabled_features": scope.app.maintenance.disabled_features(),
            });
            json_resource(&body, uri)
        },
    );
}

fn json_resource(body: &serde_json::Value, uri: String) -> Result<ReadResourceResult, McpError> {
    let text = serde_json::to_string_pretty(body)
        .map_err(|e| McpError::internal_error(e.to_string(), None))?;
    Ok(ReadResourceResult::new(vec![
        ResourceContents::text(text, uri).with_mime_type("application/json"),
    ]))
}

impl From<ManageError> for ToolError {
    fn from(error: ManageError) -> Self {
        let code = match &error {
            ManageError::Forbidden(_) => codes::FORBIDDEN,
            ManageError::Invalid(_) | ManageError::Duplicate(_) | ManageError::TestFailed(_) => {
                codes::INVALID_ARGUMENTS
            }
            ManageError::NotFound => codes::NOT_FOUND,
            ManageError::Unavailable(_) => codes::UNAVAILABLE,
        };
        ToolError::new(code, error.to_string())
    }
}

impl From<MaintenanceError> for ToolError {
    fn from(error: MaintenanceError) -> Self {
        match error {
            MaintenanceError::Invalid(message) => ToolError::invalid_arguments(message),
            MaintenanceError::Store(_) => {
                ToolError::new(codes::UNAVAILABLE, "the store is unavailable")
            }
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddArguments {
    /// `openai` (OpenAI or any compatible server: Groq, OpenRouter, Ollama, vLLM…),
    /// `anthropic` or `gemini`.
    pub provider: String,
    /// A name to tell keys apart.
    pub label: String,
    /// The provider API key. Stored encrypted; never shown again except as its last four
    /// characters.
    pub key: String,
    /// The API's base URL, e.g. `https://api.groq.com/openai/v1`; the provider's public
    /// endpoint by default.
    #[serde(default)]
    pub base_url: Option<String>,
    /// Model ids this key serves; the first is its default and is used for the test call.
    pub models: Vec<String>,
    /// Shared keys only: the feature tags it serves (`chat`, `consensus`, `flashcard`,
    /// `mcq`, `narrative`, `judge`…); `embedding` for an embedding model; empty: every feature but `embedding`.
    #[serde(default)]
    pub features: Vec<String>,
    /// Shared keys only: higher is tried first (-1000 to 1000, default 0).
    #[serde(default)]
    pub priority: i64,
    /// Store without the minimal test call (for offline set-up).
    #[serde(default)]
    pub skip_test: bool,
}

impl AddArguments {
    fn into_key(self) -> KeyToAdd {
        KeyToAdd {
            provider: self.provider,
            label: self.label,
            secret: Zeroizing::new(self.key),
            base_url: self.base_url,
            models: self.models,
            features: self.features,
            priority: self.priority,
            skip_test: self.skip_test,
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnAddArguments {
    /// `openai` (OpenAI or any compatible server), `anthropic` or `gemini`.
    pub provider: String,
    pub label: String,
    /// Your provider API key. Stored encrypted, used only for your own requests, shown
    /// again only as its last four characters.
    pub key: String,
    #[serde(default)]
    pub base_url: Option<String>,
    /// Model ids this key serves; the first is its default and is used for the test call.
    pub models: Vec<String>,
    #[serde(default)]
    pub skip_test: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct KeyResult {
    pub key: KeyView,
}

impl ToolOutput for KeyResult {
    fn to_text(&self) -> String {
        describe(&self.key)
    }
}

fn describe(k: &KeyView) -> String {
    format!(
        "{} {} {} [{}] {} priority={} status={} models={} features={}{}",
        k.id,
        k.pool,
        k.provider,
        k.label,
        k.key,
        k.priority,
        k.status.as_str(),
        k.models.join(","),
        if k.features.is_empty() {
            "all".to_string()
        } else {
            k.features.join(",")
        },
        k.last_error
            .as_ref()
            .map(|e| format!(" last_error={e}"))
            .unwrap_or_default()
    )
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct KeyList {
    pub keys: Vec<KeyView>,
}

impl ToolOutput for KeyList {
    fn to_text(&self) -> String {
        if self.keys.is_empty() {
            return "No provider keys.".into();
        }
        self.keys
            .iter()
            .map(describe)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

async fn admin_add(ctx: ToolContext, args: AddArguments) -> Result<KeyResult, ToolError> {
    let key = manage::add(&ctx.app, &requester(&ctx), Pool::Shared, args.into_key()).await?;
    Ok(KeyResult { key })
}

async fn own_add(ctx: ToolContext, args: OwnAddArguments) -> Result<KeyResult, ToolError> {
    let key = KeyToAdd {
        provider: args.provider,
        label: args.label,
        secret: Zeroizing::new(args.key),
        base_url: args.base_url,
        models: args.models,
        features: Vec::new(),
        priority: 0,
        skip_test: args.skip_test,
    };
    let key = manage::add(&ctx.app, &requester(&ctx), Pool::Own, key).await?;
    Ok(KeyResult { key })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminListArguments {
    /// `shared` for the shared pool only, `own` for users' own keys only; every key when
    /// left out.
    #[serde(default)]
    pub pool: Option<String>,
}

async fn admin_list(ctx: ToolContext, args: AdminListArguments) -> Result<KeyList, ToolError> {
    let mut keys = manage::list(&ctx.app, &requester(&ctx), None)?;
    match args.pool.as_deref() {
        None => {}
        Some("shared") => keys.retain(|k| k.pool == "shared"),
        Some("own") => keys.retain(|k| k.pool == "own"),
        Some(_) => return Err(ToolError::invalid_arguments("pool must be shared or own")),
    }
    Ok(KeyList { keys })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArguments {}

async fn own_list(ctx: ToolContext, _args: NoArguments) -> Result<KeyList, ToolError> {
    Ok(KeyList {
        keys: manage::list(&ctx.app, &requester(&ctx), Some(Pool::Own))?,
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyIdArguments {
    /// The key's id (`pk_…`), from a list.
    pub key_id: String,
}

async fn delete(ctx: ToolContext, args: KeyIdArguments) -> Result<KeyResult, ToolError> {
    let key = manage::delete(&ctx.app, &requester(&ctx), &args.key_id).await?;
    Ok(KeyResult { key })
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TestResult {
    pub key: KeyView,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// Why the test call failed (sanitised).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

impl ToolOutput for TestResult {
    fn to_text(&self) -> String {
        match (&self.failure, self.latency_ms) {
            (Some(failure), _) => format!("Test failed: {failure}\n{}", describe(&self.key)),
            (None, latency) => format!(
                "Test passed in {} ms\n{}",
                latency.unwrap_or(0),
                describe(&self.key)
            ),
        }
    }
}

async fn test(ctx: ToolContext, args: KeyIdArguments) -> Result<TestResult, ToolError> {
    let (key, outcome) = manage::test(&ctx.app, &requester(&ctx), &args.key_id).await?;
    Ok(match outcome {
        Ok(latency) => TestResult {
            key,
            ok: true,
            latency_ms: Some(latency),
            failure: None,
        },
        Err(failure) => TestResult {
            key,
            ok: false,
            latency_ms: None,
            failure: Some(failure),
        },
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusArguments {
    pub key_id: String,
    /// `active` (also clears failures and cooldown), `degraded` or `disabled`.
    pub status: String,
}

async fn admin_set_status(ctx: ToolContext, args: StatusArguments) -> Result<KeyResult, ToolError> {
    let key = manage::set_status(&ctx.app, &requester(&ctx), &args.key_id, &args.status).await?;
    Ok(KeyResult { key })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PriorityArguments {
    pub key_id: String,
    /// Higher is tried first (-1000 to 1000).
    pub priority: i64,
}

async fn admin_set_priority(
    ctx: ToolContext,
    args: PriorityArguments,
) -> Result<KeyResult, ToolError> {
    let key = manage::set_priority(&ctx.app, &requester(&ctx), &args.key_id, args.priority).await?;
    Ok(KeyResult { key })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceArguments {
    /// `off`, `soft` (results carry a banner; model-backed features pause) or `hard`
    /// (every non-admin call refused).
    pub mode: String,
    /// What users are told.
    #[serde(default)]
    pub message: Option<String>,
    /// When it should end (free text or a time).
    #[serde(default)]
    pub eta: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct MaintenanceResult {
    pub maintenance: MaintenanceState,
}

impl ToolOutput for MaintenanceResult {
    fn to_text(&self) -> String {
        match self.maintenance.mode {
            MaintenanceMode::Off => "Maintenance is off.".into(),
            mode => format!("Maintenance is {mode:?}: {}", self.maintenance.message).to_lowercase(),
        }
    }
}

async fn set_maintenance(
    ctx: ToolContext,
    args: MaintenanceArguments,
) -> Result<MaintenanceResult, ToolError> {
    if !ctx.principal.acts_as_admin() {
        return Err(ToolError::forbidden("maintenance is set by admins"));
    }
    let mode = MaintenanceMode::parse(&args.mode)
        .ok_or_else(|| ToolError::invalid_arguments("mode must be off, soft or hard"))?;
    let audit = requester(&ctx).audit("admin.maintenance.set");
    let state = ctx
        .app
        .maintenance
        .set_by_admin(mode, args.message, args.eta, audit)
        .await?;
    Ok(MaintenanceResult {
        maintenance: (*state).clone(),
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FeatureArguments {
    /// The feature tag: `chat`, `consensus`, `flashcard`, `mcq`…
    pub feature: String,
    pub enabled: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct FeatureResult {
    pub feature: String,
    pub enabled: bool,
    pub changed: bool,
    pub disabled_features: Vec<String>,
}

impl ToolOutput for FeatureResult {
    fn to_text(&self) -> String {
        format!(
            "{} is {}{}.",
            self.feature,
            if self.enabled { "on" } else { "off" },
            if self.changed { "" } else { " (unchanged)" }
        )
    }
}

async fn set_feature(ctx: ToolContext, args: FeatureArguments) -> Result<FeatureResult, ToolError> {
    if !ctx.principal.acts_as_admin() {
        return Err(ToolError::forbidden("features are switched by admins"));
    }
    let audit = requester(&ctx).audit("admin.feature.set");
    let changed = ctx
        .app
        .maintenance
        .set_feature(args.feature.trim(), args.enabled, audit)
        .await?;
    Ok(FeatureResult {
        feature: args.feature.trim().to_string(),
        enabled: args.enabled,
        changed,
        disabled_features: ctx.app.maintenance.disabled_features(),
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesArguments {
    /// Whether the shared key pool may answer for you when your own keys fail or do not
    /// fit. Without keys of your own the shared pool serves you anyway.
    pub shared_pool_fallback: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PreferencesResult {
    pub shared_pool_fallback: bool,
}

impl ToolOutput for PreferencesResult {
    fn to_text(&self) -> String {
        if self.shared_pool_fallback {
            "The shared pool may serve you when your own keys cannot.".into()
        } else {
            "Only your own keys serve you while you have any.".into()
        }
    }
}

async fn preferences(
    ctx: ToolContext,
    args: PreferencesArguments,
) -> Result<PreferencesResult, ToolError> {
    manage::set_shared_fallback(&ctx.app, &requester(&ctx), args.shared_pool_fallback).await?;
    Ok(PreferencesResult {
        shared_pool_fallback: args.shared_pool_fallback,
    })
}
