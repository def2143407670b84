//! The MCP protocol handler: one [`ConsiliumServer`] per client session, all of them sharing
//! the app and its registry. Every transport serves this same type.
//!
//! It translates between the protocol and the registry and must stay thin: no capability
//! logic lives here.

// MCP logging is deprecated from protocol 2026-07-28 (SEP-2577) but current clients use it.
#![allow(deprecated)]

use std::collections::HashMap;
use std::sync::Arc;

use rmcp::model::Extensions;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CompleteRequestParams, CompleteResult, CompletionInfo,
    GetPromptRequestParams, GetPromptResponse, Implementation, InitializeRequestParams,
    InitializeResult, ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult,
    ListToolsResult, LoggingMessageNotificationParam, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, Reference, ServerCapabilities,
    SetLevelRequestParams, SubscribeRequestParams, UnsubscribeRequestParams,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use tokio::sync::mpsc;
use tracing::Instrument;

use super::gate;
use super::registry::{CompletionQuery, RequestScope};
use super::session::{Session, TransportKind};
use super::tool::{ToolContext, ToolError, codes};
use crate::app::App;
use crate::identity::Principal;
use crate::observability::mcp_log::{LogSink, SINK_FIELD, SinkGuard};

const INSTRUCTIONS: &str = "Consilium is a health-AI server. Its health tools compute numbers \
(calories from MET values, nutrients from USDA data, lab values against reference ranges, \
validated clinical risk scores) in deterministic code from cited reference data: prefer them \
to estimating such numbers yourself, and quote their sources. Tools that need a language model \
say so and label model-written text. Read consilium://status for what this server runs. \
Prompts are slash commands for common study and analysis tasks.";

#[derive(Clone)]
pub struct ConsiliumServer {
    app: Arc<App>,
    session: Arc<Session>,
    /// Who every request of this session acts as, when the transport decides it once
    /// (stdio, a legacy SSE stream). Streamable HTTP authenticates each request instead.
    fixed_principal: Option<Principal>,
}

impl ConsiliumServer {
    pub fn new(app: Arc<App>, transport: TransportKind, principal: Option<Principal>) -> Self {
        Self {
            app,
            session: Arc::new(Session::new(transport)),
            fixed_principal: principal,
        }
    }

    pub fn session(&self) -> &Arc<Session> {
        &self.session
    }

    /// The principal of one request: the one the HTTP layer authenticated, or the session's.
    /// A session belongs to the user who opened it; a request from anyone else is refused,
    /// so a leaked session id is worth nothing without that user's credentials.
    fn principal(&self, extensions: &Extensions) -> Result<Principal, McpError> {
        let principal = extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Principal>())
            .or(self.fixed_principal.as_ref())
            .cloned()
            .ok_or_else(|| {
                McpError::invalid_request("this request carries no credentials", None)
            })?;
        if !self.session.bind_owner(&principal.user_id) {
            return Err(McpError::invalid_request(
                "this session belongs to another user",
                None,
            ));
        }
        Ok(principal)
    }

    fn scope(&self, principal: Principal) -> RequestScope {
        RequestScope {
            app: self.app.clone(),
            session: self.session.clone(),
            principal,
        }
    }

    /// Runs one tool with cancellation, and forwards the `tracing` events it emits to this
    /// request's client from inside the request's own task (so streamable HTTP delivers them
    /// on the request's stream, before the response).
    async fn run_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let principal = self.principal(&context.extensions)?;
        let Some(tool) = self.app.registry.tool(&request.name) else {
            return Err(McpError::invalid_params(
                format!("unknown tool {:?}", request.name.as_ref()),
                Some(serde_json::json!({ "tool": request.name })),
            ));
        };
        if !tool.access.allows(&principal) {
            let needed = tool.access.scope.map(|s| s.as_str()).unwrap_or("");
            return Ok(CallToolResponse::Complete(
                ToolError::forbidden(format!(
                    "{} needs the {needed:?} scope, which this credential does not hold",
                    request.name
                ))
                .with_details(serde_json::json!({ "scope": needed }))
                .into_result(),
            ));
        }
        if let Some(refusal) = self
            .app
            .maintenance
            .refusal(principal.acts_as_admin(), tool.access.feature.as_deref())
        {
            return Ok(CallToolResponse::Complete(
                gate::maintenance_error(&refusal).into_result(),
            ));
        }
        let _running = self.app.in_flight.start();
        let started = std::time::Instant::now();
        let admission = match gate::admit(
            &self.app,
            &principal,
            &request.name,
            &tool.access,
            request.arguments.as_ref(),
        )
        .await
        {
            Ok(admission) => admission,
            Err(refusal) => return Ok(CallToolResponse::Complete(refusal.into_result())),
        };
        let cancelled = context.ct.clone();
        let peer = context.peer.clone();
        let tool_context = ToolContext::new(
            self.app.clone(),
            self.session.clone(),
            principal.clone(),
            context,
        );
        let usage = tool_context.usage_meter();
        let (log_tx, mut log_rx) = mpsc::channel::<LoggingMessageNotificationParam>(64);
        let guard = SinkGuard::register(LogSink {
            min_level: tool_context.min_log_level(),
            tx: log_tx,
        });
        let span = tracing::info_span!("tool", name = %request.name, session = self.session.id, { SINK_FIELD } = guard.key);
        let arguments = request.arguments.unwrap_or_default();
        let call = tool.call(tool_context, arguments).instrument(span);
        tokio::pin!(call);
        let outcome = loop {
            tokio::select! {
                biased;
                _ = cancelled.cancelled() => break Err(ToolError::new(codes::CANCELLED, "the client cancelled this call")),
                result = &mut call => break result,
                Some(message) = log_rx.recv() => {
                    let _ = peer.notify_logging_message(message).await;
                }
            }
        };
        drop(guard);
        while let Ok(message) = log_rx.try_recv() {
            let _ = peer.notify_logging_message(message).await;
        }
        gate::settle(
            &self.app,
            admission,
            usage.take(),
            started.elapsed(),
            &outcome,
        );
        let mut result = outcome.unwrap_or_else(ToolError::into_result);
        if let Some(banner) = self.app.maintenance.banner() {
            result.content.push(rmcp::model::ContentBlock::text(banner));
        }
        if tool.access.saves_analysis {
            self.save_analysis(&principal, &request.name, &mut result)
                .await;
        }
        Ok(CallToolResponse::Complete(result))
    }
}

impl ConsiliumServer {
    /// Keeps a successful result for its caller and links it from the result. A result that
    /// cannot be saved is still returned; the failure is logged without its contents.
    async fn save_analysis(
        &self,
        principal: &Principal,
        tool: &str,
        result: &mut rmcp::model::CallToolResult,
    ) {
        if result.is_error == Some(true) {
            return;
        }
        let Some(structured) = &result.structured_content else {
            return;
        };
        match self
            .app
            .analyses
            .save(&principal.user_id, tool, structured)
            .await
        {
            Ok(id) => {
                let uri = crate::health::history::ANALYSIS_URI_TEMPLATE.replace("{id}", &id);
                let link = rmcp::model::Resource::new(uri, format!("{tool} {id}"))
                    .with_description("This result, saved for you")
                    .with_mime_type("application/json");
                result
                    .content
                    .push(rmcp::model::ContentBlock::resource_link(link));
            }
            Err(error) => tracing::warn!(%error, tool, "a result could not be saved"),
        }
    }
}

pub fn server_capabilities() -> ServerCapabilities {
    let mut capabilities = ServerCapabilities::builder()
        .enable_tools()
        .enable_resources()
        .enable_resources_subscribe()
        .enable_prompts()
        .enable_completions()
        .enable_logging()
        .build();
    if let Some(tools) = capabilities.tools.as_mut() {
        tools.list_changed = Some(false);
    }
    capabilities
}

impl ServerHandler for ConsiliumServer {
    fn get_info(&self) -> InitializeResult {
        InitializeResult::new(server_capabilities())
            .with_server_info(
                Implementation::new("consilium", env!("CARGO_PKG_VERSION"))
                    .with_title("Consilium")
                    .with_description(env!("CARGO_PKG_DESCRIPTION")),
            )
            .with_instructions(INSTRUCTIONS)
    }

    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, McpError> {
        tracing::debug!(
            session = self.session.id,
            client = %request.client_info.name,
            protocol = %request.protocol_version,
            "client initialised"
        );
        context.peer.set_peer_info(request.clone());
        self.negotiate_initialize(&request)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let principal = self.principal(&context.extensions)?;
        let tools = self
            .app
            .registry
            .tools()
            .filter(|t| t.access.allows(&principal))
            .map(|t| t.definition.clone())
            .collect();
        Ok(ListToolsResult::with_all_items(tools))
    }

    fn get_tool(&self, name: &str) -> Option<rmcp::model::Tool> {
        self.app.registry.tool(name).map(|t| t.definition.clone())
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        self.run_tool(request, context).await
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let principal = self.principal(&context.extensions)?;
        Ok(ListResourcesResult::with_all_items(
            self.app
                .registry
                .resources_for(&principal)
                .cloned()
                .collect(),
        ))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        self.principal(&context.extensions)?;
        Ok(ListResourceTemplatesResult::with_all_items(
            self.app.registry.templates().cloned().collect(),
        ))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let principal = self.principal(&context.extensions)?;
        self.app
            .registry
            .read_resource(self.scope(principal), &request.uri)
            .await
            .map(ReadResourceResponse::Complete)
    }

    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        let principal = self.principal(&context.extensions)?;
        if !self.app.registry.has_resource_for(&request.uri, &principal) {
            return Err(McpError::resource_not_found(
                format!("no resource at {}", request.uri),
                None,
            ));
        }
        self.session.subscribe(&request.uri);
        self.app
            .subscriptions
            .add(&self.session, context.peer.clone());
        Ok(())
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.session.unsubscribe(&request.uri);
        Ok(())
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        self.principal(&context.extensions)?;
        Ok(ListPromptsResult::with_all_items(
            self.app.registry.prompts().cloned().collect(),
        ))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let principal = self.principal(&context.extensions)?;
        let arguments: HashMap<String, String> = request
            .arguments
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect();
        self.app
            .registry
            .get_prompt(self.scope(principal), &request.name, arguments)
            .await
            .map(GetPromptResponse::Complete)
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, McpError> {
        let principal = self.principal(&context.extensions)?;
        let registry = &self.app.registry;
        let completer = match &request.r#ref {
            Reference::Prompt(prompt) => {
                if !registry.has_prompt(&prompt.name) {
                    return Err(McpError::invalid_params(
                        format!("unknown prompt {:?}", prompt.name),
                        None,
                    ));
                }
                registry.prompt_completer(&prompt.name)
            }
            Reference::Resource(resource) => {
                if !registry.has_template(&resource.uri) {
                    return Err(McpError::invalid_params(
                        format!("unknown resource template {:?}", resource.uri),
                        None,
                    ));
                }
                registry.template_completer(&resource.uri)
            }
            _ => {
                return Err(McpError::invalid_params(
                    "unsupported completion reference",
                    None,
                ));
            }
        };
        let values = match completer {
            Some(completer) => {
                completer(CompletionQuery {
                    app: self.app.clone(),
                    principal,
                    argument: request.argument.name.clone(),
                    value: request.argument.value.clone(),
                    context: request
                        .context
                        .and_then(|c| c.arguments)
                        .unwrap_or_default(),
                })
                .await
            }
            None => Vec::new(),
        };
        let total = values.len();
        let shown: Vec<String> = values
            .into_iter()
            .take(CompletionInfo::MAX_VALUES)
            .collect();
        let mut info = CompletionInfo::new(shown).map_err(|e| McpError::internal_error(e, None))?;
        info.total = u32::try_from(total).ok();
        info.has_more = Some(total > CompletionInfo::MAX_VALUES);
        Ok(CompleteResult::new(info))
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.session.set_log_level(request.level);
        Ok(())
    }
}
