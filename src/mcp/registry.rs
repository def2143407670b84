//! The registry through which every capability contributes its tools, resources, resource
//! templates and prompts. Built once at start-up and shared by every session and transport;
//! adding a capability means one `register` call, never another arm in a central match.
//!
//! The registry only routes: it must not know what any tool does.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;

use rmcp::ErrorData as McpError;
use rmcp::handler::server::common::{schema_for_input, schema_for_output};
use rmcp::model::{
    CallToolResult, ContentBlock, GetPromptResult, JsonObject, Prompt, PromptArgument,
    PromptMessage, ReadResourceResult, Resource, ResourceContents, ResourceTemplate, Role, Tool,
    ToolAnnotations,
};
use serde::de::DeserializeOwned;

use super::tool::{ToolContext, ToolError, ToolOutput};
use super::uri_template::UriTemplate;
use crate::app::App;
use crate::catalog::{Catalog, PromptRole, PromptTemplate, RenderError, ToolSpec};
use crate::identity::{Principal, Scope};
use crate::mcp::session::Session;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

type ToolHandler = Arc<
    dyn Fn(ToolContext, JsonObject) -> BoxFuture<Result<CallToolResult, ToolError>> + Send + Sync,
>;
type ResourceHandler = Arc<
    dyn Fn(
            RequestScope,
            String,
            HashMap<String, String>,
        ) -> BoxFuture<Result<ReadResourceResult, McpError>>
        + Send
        + Sync,
>;
type PromptHandler = Arc<
    dyn Fn(RequestScope, HashMap<String, String>) -> BoxFuture<Result<GetPromptResult, McpError>>
        + Send
        + Sync,
>;
/// Offers completion values for one argument, given its partial value and the other arguments.
pub type Completer = Arc<dyn Fn(CompletionQuery) -> BoxFuture<Vec<String>> + Send + Sync>;

/// A resource's contents as pretty JSON, the form every JSON resource of the server takes.
pub fn json_resource(
    value: &impl serde::Serialize,
    uri: String,
) -> Result<ReadResourceResult, McpError> {
    let body = serde_json::to_string_pretty(value)
        .map_err(|e| McpError::internal_error(e.to_string(), None))?;
    Ok(ReadResourceResult::new(vec![
        ResourceContents::text(body, uri).with_mime_type("application/json"),
    ]))
}

/// What a resource reader or prompt renderer may use: the app, the asking session and who
/// it acts as.
#[derive(Clone)]
pub struct RequestScope {
    pub app: Arc<App>,
    pub session: Arc<Session>,
    pub principal: Principal,
}

pub struct CompletionQuery {
    pub app: Arc<App>,
    /// Completions may name the caller's own things (decks, documents), never anyone else's.
    pub principal: Principal,
    pub argument: String,
    pub value: String,
    pub context: HashMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("tool {0:?} is registered in code but has no spec under tools/specs")]
    MissingSpec(String),
    #[error("tool {name:?}: {message}")]
    BadSchema { name: String, message: String },
    #[error("{kind} {name:?} is registered twice")]
    Duplicate { kind: &'static str, name: String },
    #[error("resource template {template:?}: {message}")]
    BadTemplate { template: String, message: String },
    #[error("tool {name:?}: unknown scope {scope:?}")]
    UnknownScope { name: String, scope: String },
    #[error("{origin}: {message}")]
    Data { origin: String, message: String },
}

/// Who may call a tool and what a call consumes, from its spec.
#[derive(Debug, Clone, Default)]
pub struct ToolAccess {
    /// The scope a caller needs; `None`: any signed-in caller.
    pub scope: Option<Scope>,
    pub feature: Option<String>,
    pub token_estimate: u64,
    /// The argument naming how many feature units a call asks for.
    pub units_argument: Option<String>,
    /// Save a successful result for the caller (see `crate::health::history`).
    pub saves_analysis: bool,
}

impl ToolAccess {
    /// The spec's scope, or the capability's name when that is a scope.
    fn from_spec(spec: &ToolSpec) -> Result<ToolAccess, RegistryError> {
        let scope = match &spec.scope {
            Some(name) => Some(
                Scope::from_str(name).map_err(|_| RegistryError::UnknownScope {
                    name: spec.name.clone(),
                    scope: name.clone(),
                })?,
            ),
            None => Scope::from_str(&spec.capability).ok(),
        };
        Ok(ToolAccess {
            scope,
            feature: spec.feature.clone(),
            token_estimate: spec.token_estimate,
            units_argument: spec.units_argument.clone(),
            saves_analysis: spec.saves_analysis,
        })
    }

    pub fn allows(&self, principal: &Principal) -> bool {
        self.scope.is_none_or(|scope| principal.has_scope(scope))
    }
}

pub struct RegisteredTool {
    pub definition: Tool,
    pub capability: String,
    pub access: ToolAccess,
    handler: ToolHandler,
}

impl RegisteredTool {
    pub fn call(
        &self,
        context: ToolContext,
        arguments: JsonObject,
    ) -> BoxFuture<Result<CallToolResult, ToolError>> {
        (self.handler)(context, arguments)
    }
}

pub struct RegisteredResource {
    pub resource: Resource,
    /// The scope a reader needs; `None`: any signed-in caller.
    pub scope: Option<Scope>,
    handler: ResourceHandler,
}

pub struct RegisteredTemplate {
    pub template: ResourceTemplate,
    pattern: UriTemplate,
    handler: ResourceHandler,
    completer: Option<Completer>,
}

pub struct RegisteredPrompt {
    pub prompt: Prompt,
    handler: PromptHandler,
    completer: Option<Completer>,
}

/// Everything the server offers, in the order it was registered.
#[derive(Default)]
pub struct Registry {
    tools: Vec<RegisteredTool>,
    tool_index: HashMap<String, usize>,
    resources: Vec<RegisteredResource>,
    templates: Vec<RegisteredTemplate>,
    prompts: Vec<RegisteredPrompt>,
}

impl Registry {
    pub fn tools(&self) -> impl Iterator<Item = &RegisteredTool> {
        self.tools.iter()
    }

    pub fn tool(&self, name: &str) -> Option<&RegisteredTool> {
        self.tool_index.get(name).and_then(|&i| self.tools.get(i))
    }

    pub fn resources(&self) -> impl Iterator<Item = &Resource> {
        self.resources.iter().map(|r| &r.resource)
    }

    /// The static resources `principal` may read.
    pub fn resources_for<'a>(
        &'a self,
        principal: &'a Principal,
    ) -> impl Iterator<Item = &'a Resource> + 'a {
        self.resources
            .iter()
            .filter(|r| r.scope.is_none_or(|s| principal.has_scope(s)))
            .map(|r| &r.resource)
    }

    /// Whether `uri` names a resource `principal` may read.
    pub fn has_resource_for(&self, uri: &str, principal: &Principal) -> bool {
        match self.resources.iter().find(|r| r.resource.uri == uri) {
            Some(found) => found.scope.is_none_or(|s| principal.has_scope(s)),
            None => self
                .templates
                .iter()
                .any(|t| t.pattern.matches(uri).is_some()),
        }
    }

    pub fn templates(&self) -> impl Iterator<Item = &ResourceTemplate> {
        self.templates.iter().map(|t| &t.template)
    }

    pub fn prompts(&self) -> impl Iterator<Item = &Prompt> {
        self.prompts.iter().map(|p| &p.prompt)
    }

    pub fn has_resource(&self, uri: &str) -> bool {
        self.resources.iter().any(|r| r.resource.uri == uri)
            || self
                .templates
                .iter()
                .any(|t| t.pattern.matches(uri).is_some())
    }

    /// Reads a static resource, or the first template that matches the URI.
    pub async fn read_resource(
        &self,
        scope: RequestScope,
        uri: &str,
    ) -> Result<ReadResourceResult, McpError> {
        if let Some(found) = self.resources.iter().find(|r| r.resource.uri == uri) {
            if found.scope.is_some_and(|s| !scope.principal.has_scope(s)) {
                // Answered like a missing resource: a caller learns nothing it may not read.
                return Err(McpError::resource_not_found(
                    format!("no resource at {uri}"),
                    Some(serde_json::json!({ "uri": uri })),
                ));
            }
            return (found.handler)(scope, uri.to_string(), HashMap::new()).await;
        }
        for template in &self.templates {
            if let Some(vars) = template.pattern.matches(uri) {
                return (template.handler)(scope, uri.to_string(), vars).await;
            }
        }
        Err(McpError::resource_not_found(
            format!("no resource at {uri}"),
            Some(serde_json::json!({ "uri": uri })),
        ))
    }

    pub async fn get_prompt(
        &self,
        scope: RequestScope,
        name: &str,
        arguments: HashMap<String, String>,
    ) -> Result<GetPromptResult, McpError> {
        let prompt = self
            .prompts
            .iter()
            .find(|p| p.prompt.name == name)
            .ok_or_else(|| McpError::invalid_params(format!("unknown prompt {name:?}"), None))?;
        (prompt.handler)(scope, arguments).await
    }

    pub fn prompt_completer(&self, name: &str) -> Option<Completer> {
        self.prompts
            .iter()
            .find(|p| p.prompt.name == name)
            .and_then(|p| p.completer.clone())
    }

    pub fn template_completer(&self, uri_template: &str) -> Option<Completer> {
        self.templates
            .iter()
            .find(|t| t.template.uri_template == uri_template)
            .and_then(|t| t.completer.clone())
    }

    pub fn has_prompt(&self, name: &str) -> bool {
        self.prompts.iter().any(|p| p.prompt.name == name)
    }

    pub fn has_template(&self, uri_template: &str) -> bool {
        self.templates
            .iter()
            .any(|t| t.template.uri_template == uri_template)
    }
}

/// Collects registrations, then checks them as a whole in [`RegistryBuilder::build`].
pub struct RegistryBuilder<'c> {
    catalog: &'c Catalog,
    registry: Registry,
    errors: Vec<RegistryError>,
}

impl<'c> RegistryBuilder<'c> {
    pub fn new(catalog: &'c Catalog) -> Self {
        Self {
            catalog,
            registry: Registry::default(),
            errors: Vec::new(),
        }
    }

    pub fn catalog(&self) -> &'c Catalog {
        self.catalog
    }

    /// Reports a capability's reference data (under `tools/`) as unusable; start-up then fails
    /// naming `origin`, with every other problem found.
    pub fn data_error(&mut self, origin: impl Into<String>, message: impl Into<String>) {
        self.errors.push(RegistryError::Data {
            origin: origin.into(),
            message: message.into(),
        });
    }

    /// A capability's reference table, the file `relative` under `tools/` parsed once by
    /// `parse`, shared by the tool that reads it. A missing or invalid file is recorded as a
    /// data error naming it (start-up then fails) and gives `None`.
    pub fn data_table<T>(
        &mut self,
        relative: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<Arc<T>> {
        let parsed = match self.catalog.tool_file(relative) {
            Some(file) => parse(&file.text),
            None => Err("the file is missing".to_string()),
        };
        match parsed {
            Ok(table) => Some(Arc::new(table)),
            Err(message) => {
                self.data_error(format!("tools/{relative}"), message);
                None
            }
        }
    }

    /// A tool described by its spec under `tools/specs`, taking `A` and answering `O`. The
    /// input and output schemas come from the types, so they cannot drift from the code.
    pub fn tool<A, O, F, Fut>(&mut self, name: &str, handler: F) -> &mut Self
    where
        A: DeserializeOwned + schemars::JsonSchema + Send + 'static,
        O: ToolOutput + Send + 'static,
        F: Fn(ToolContext, A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, ToolError>> + Send + 'static,
    {
        let Some(spec) = self.catalog.tool_spec(name) else {
            self.errors
                .push(RegistryError::MissingSpec(name.to_string()));
            return self;
        };
        let input_schema = match schema_for_input::<A>() {
            Ok(schema) => schema,
            Err(message) => {
                self.errors.push(RegistryError::BadSchema {
                    name: name.to_string(),
                    message,
                });
                return self;
            }
        };
        let access = match ToolAccess::from_spec(spec) {
            Ok(access) => access,
            Err(error) => {
                self.errors.push(error);
                return self;
            }
        };
        let definition = tool_from_spec(spec, portable(input_schema))
            .with_raw_output_schema(portable(schema_for_output::<O>()));
        let handler = Arc::new(handler);
        let erased: ToolHandler = Arc::new(move |context, arguments| {
            let handler = handler.clone();
            Box::pin(async move {
                let args: A = serde_json::from_value(serde_json::Value::Object(arguments))
                    .map_err(|e| ToolError::invalid_arguments(e.to_string()))?;
                let output = handler(context, args).await?;
                let structured = serde_json::to_value(&output).map_err(|e| {
                    ToolError::internal(format!("result could not be serialised: {e}"))
                })?;
                let mut result =
                    CallToolResult::success(vec![ContentBlock::text(output.to_text())]);
                result.structured_content = Some(structured);
                Ok(result)
            })
        });
        self.push_tool(definition, spec.capability.clone(), access, erased)
    }

    /// A tool whose definition and content are built by hand, for results that are not one
    /// structured value (images, audio, embedded resources).
    pub fn tool_raw<F, Fut>(
        &mut self,
        definition: Tool,
        capability: &str,
        access: ToolAccess,
        handler: F,
    ) -> &mut Self
    where
        F: Fn(ToolContext, JsonObject) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<CallToolResult, ToolError>> + Send + 'static,
    {
        let handler = Arc::new(handler);
        let erased: ToolHandler =
            Arc::new(move |context, arguments| Box::pin(handler(context, arguments)));
        self.push_tool(definition, capability.to_string(), access, erased)
    }

    fn push_tool(
        &mut self,
        definition: Tool,
        capability: String,
        access: ToolAccess,
        handler: ToolHandler,
    ) -> &mut Self {
        let name = definition.name.to_string();
        if self.registry.tool_index.contains_key(&name) {
            self.errors
                .push(RegistryError::Duplicate { kind: "tool", name });
            return self;
        }
        self.registry
            .tool_index
            .insert(name, self.registry.tools.len());
        self.registry.tools.push(RegisteredTool {
            definition,
            capability,
            access,
            handler,
        });
        self
    }

    pub fn resource<F, Fut>(&mut self, resource: Resource, handler: F) -> &mut Self
    where
        F: Fn(RequestScope, String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ReadResourceResult, McpError>> + Send + 'static,
    {
        self.resource_for(None, resource, handler)
    }

    /// A static resource only principals holding `scope` see and read.
    pub fn resource_for<F, Fut>(
        &mut self,
        scope: Option<Scope>,
        resource: Resource,
        handler: F,
    ) -> &mut Self
    where
        F: Fn(RequestScope, String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ReadResourceResult, McpError>> + Send + 'static,
    {
        if self
            .registry
            .resources
            .iter()
            .any(|r| r.resource.uri == resource.uri)
        {
            self.errors.push(RegistryError::Duplicate {
                kind: "resource",
                name: resource.uri.clone(),
            });
            return self;
        }
        let handler = Arc::new(handler);
        self.registry.resources.push(RegisteredResource {
            resource,
            scope,
            handler: Arc::new(move |scope, uri, _| Box::pin(handler(scope, uri))),
        });
        self
    }

    pub fn resource_template<F, Fut>(
        &mut self,
        template: ResourceTemplate,
        completer: Option<Completer>,
        handler: F,
    ) -> &mut Self
    where
        F: Fn(RequestScope, String, HashMap<String, String>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ReadResourceResult, McpError>> + Send + 'static,
    {
        let pattern = match UriTemplate::parse(&template.uri_template) {
            Ok(pattern) => pattern,
            Err(message) => {
                self.errors.push(RegistryError::BadTemplate {
                    template: template.uri_template.clone(),
                    message,
                });
                return self;
            }
        };
        let handler = Arc::new(handler);
        self.registry.templates.push(RegisteredTemplate {
            template,
            pattern,
            handler: Arc::new(move |scope, uri, vars| Box::pin(handler(scope, uri, vars))),
            completer,
        });
        self
    }

    /// A prompt built in code, for content a template cannot express (images, resources).
    pub fn prompt<F, Fut>(
        &mut self,
        prompt: Prompt,
        completer: Option<Completer>,
        handler: F,
    ) -> &mut Self
    where
        F: Fn(RequestScope, HashMap<String, String>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<GetPromptResult, McpError>> + Send + 'static,
    {
        if self.registry.has_prompt(&prompt.name) {
            self.errors.push(RegistryError::Duplicate {
                kind: "prompt",
                name: prompt.name.clone(),
            });
            return self;
        }
        let handler = Arc::new(handler);
        self.registry.prompts.push(RegisteredPrompt {
            prompt,
            handler: Arc::new(move |scope, args| Box::pin(handler(scope, args))),
            completer,
        });
        self
    }

    /// Adds the catalog's prompt templates, then checks everything. Reports every problem
    /// at once so an operator fixes their override folder in one go.
    pub fn build(mut self) -> Result<Registry, Vec<RegistryError>> {
        for template in &self.catalog.prompts {
            let template = Arc::new(template.clone());
            let prompt = prompt_from_template(&template);
            let completer = template_completer(template.clone());
            self.prompt(prompt, Some(completer), move |_, args| {
                let template = template.clone();
                async move { render_template(&template, &args) }
            });
        }
        if self.errors.is_empty() {
            Ok(self.registry)
        } else {
            Err(self.errors)
        }
    }
}

/// Formats JSON Schema defines; schemars also emits Rust ones (`uint64`, `double`) that
/// validators such as ajv warn about on every call. The numeric range stays in `minimum`.
pub const STANDARD_FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

fn portable(schema: Arc<JsonObject>) -> Arc<JsonObject> {
    fn clean(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                let non_standard = map
                    .get("format")
                    .and_then(|f| f.as_str())
                    .is_some_and(|f| !STANDARD_FORMATS.contains(&f));
                if non_standard {
                    map.remove("format");
                }
                map.values_mut().for_each(clean);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(clean),
            _ => {}
        }
    }
    let mut value = serde_json::Value::Object((*schema).clone());
    clean(&mut value);
    match value {
        serde_json::Value::Object(map) => Arc::new(map),
        _ => schema,
    }
}

fn tool_from_spec(spec: &ToolSpec, input_schema: Arc<JsonObject>) -> Tool {
    let mut annotations = ToolAnnotations::with_title(spec.title.clone());
    annotations.read_only_hint = spec.annotations.read_only;
    annotations.destructive_hint = spec.annotations.destructive;
    annotations.idempotent_hint = spec.annotations.idempotent;
    annotations.open_world_hint = spec.annotations.open_world;
    Tool::new(spec.name.clone(), spec.description.clone(), input_schema)
        .with_title(spec.title.clone())
        .with_annotations(annotations)
}

fn prompt_from_template(template: &PromptTemplate) -> Prompt {
    let arguments: Vec<PromptArgument> = template
        .arguments
        .iter()
        .map(|a| {
            let mut argument = PromptArgument::new(a.name.clone())
                .with_description(a.description.clone())
                .with_required(a.required);
            if let Some(title) = &a.title {
                argument = argument.with_title(title.clone());
            }
            argument
        })
        .collect();
    let mut prompt = Prompt::new(
        template.name.clone(),
        Some(template.description.clone()),
        Some(arguments),
    );
    if let Some(title) = &template.title {
        prompt = prompt.with_title(title.clone());
    }
    prompt
}

fn render_template(
    template: &PromptTemplate,
    args: &HashMap<String, String>,
) -> Result<GetPromptResult, McpError> {
    let messages = template.render(args).map_err(|e| {
        let field = match &e {
            RenderError::MissingArgument(name) | RenderError::UnknownArgument(name) => name.clone(),
            RenderError::TooLong { name, .. } => name.clone(),
        };
        McpError::invalid_params(
            e.to_string(),
            Some(serde_json::json!({ "argument": field })),
        )
    })?;
    let messages = messages
        .into_iter()
        .map(|(role, text)| {
            let role = match role {
                PromptRole::User => Role::User,
                PromptRole::Assistant => Role::Assistant,
            };
            PromptMessage::new_text(role, text)
        })
        .collect();
    Ok(GetPromptResult::new(messages).with_description(template.description.clone()))
}

fn template_completer(template: Arc<PromptTemplate>) -> Completer {
    Arc::new(move |query: CompletionQuery| {
        let values = template
            .argument(&query.argument)
            .map(|a| prefix_matches(&a.suggestions, &query.value))
            .unwrap_or_default();
        Box::pin(std::future::ready(values))
    })
}

/// Case-insensitive prefix matches first, then substring matches, as editors do.
pub fn prefix_matches(candidates: &[String], typed: &str) -> Vec<String> {
    let typed = typed.trim().to_lowercase();
    let mut prefix: Vec<String> = Vec::new();
    let mut inner: Vec<String> = Vec::new();
    for candidate in candidates {
        let lower = candidate.to_lowercase();
        if lower.starts_with(&typed) {
            prefix.push(candidate.clone());
        } else if lower.contains(&typed) {
            inner.push(candidate.clone());
        }
    }
    prefix.extend(inner);
    prefix
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_specific_formats_are_dropped_from_schemas_and_standard_ones_kept() {
        let schema: JsonObject = serde_json::from_value(serde_json::json!({
            "type": "object",
            "properties": {
                "count": { "type": "integer", "format": "uint64", "minimum": 0 },
                "when": { "type": "string", "format": "date-time" }
            }
        }))
        .unwrap();
        let cleaned = portable(Arc::new(schema));
        let properties = &cleaned["properties"];
        assert!(properties["count"].get("format").is_none());
        assert_eq!(properties["count"]["minimum"], 0);
        assert_eq!(properties["when"]["format"], "date-time");
    }

    #[test]
    fn prefix_matches_come_before_substring_matches() {
        let values = vec![
            "cardiology".to_string(),
            "neurology".into(),
            "cardiac arrest".into(),
        ];
        assert_eq!(
            prefix_matches(&values, "CARD"),
            vec!["cardiology", "cardiac arrest"]
        );
        assert_eq!(
            prefix_matches(&values, "olog"),
            vec!["cardiology", "neurology"]
        );
    }

    #[test]
    fn a_tool_without_a_spec_is_reported_at_build() {
        let catalog = Catalog::default();
        let mut builder = RegistryBuilder::new(&catalog);
        #[derive(serde::Deserialize, schemars::JsonSchema)]
        struct NoArgs {}
        #[derive(serde::Serialize, schemars::JsonSchema)]
        struct Out {}
        impl ToolOutput for Out {
            fn to_text(&self) -> String {
                String::new()
            }
        }
        builder.tool("nowhere", |_, _: NoArgs| async { Ok(Out {}) });
        let errors = builder.build().err().unwrap();
        assert!(matches!(&errors[0], RegistryError::MissingSpec(name) if name == "nowhere"));
    }
}
