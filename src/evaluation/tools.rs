//! The MCP surface of trace evaluation: `submit_trace` (one or a batch), `redact_phi`,
//! `evaluation_settings`, `list_rule_packs`, and the resources `consilium://traces/{id}`,
//! `consilium://evaluations/{id}` and `consilium://traces/recent` (subscribe to hear when
//! evaluations complete). Thin: the work is in `ingest`, `judge`, `phi` and `store`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use rmcp::ErrorData as McpError;
use rmcp::model::{Resource, ResourceTemplate};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::IngestError;
use super::judge::{self, JUDGE_FEATURE, JudgeOutcome, JudgeRequest};
use super::packs::PackSummary;
use super::phi::{PhiKind, PhiSpan, RedactionMode, redact};
use super::pipeline::Finding;
use super::store::{Evaluation, EvaluationStoreError, Settings};
use super::trace::{TraceInput, TraceSource};
use crate::accounts::Requester;
use crate::app::App;
use crate::identity::{Principal, Scope};
use crate::llm::ClientModel;
use crate::mcp::tool::codes;
use crate::mcp::{RegistryBuilder, ToolContext, ToolError, ToolOutput};
use crate::metering::{CallRequest, CallUsage, Outcome};

pub const RECENT_URI: &str = "consilium://traces/recent";
const RECENT_LIMIT: usize = 50;
/// The largest text `redact_phi` takes.
const MAX_REDACT_BYTES: usize = 1024 * 1024;

fn trace_uri(id: &str) -> String {
    format!("consilium://traces/{id}")
}

fn evaluation_uri(id: &str) -> String {
    format!("consilium://evaluations/{id}")
}

impl From<EvaluationStoreError> for ToolError {
    fn from(error: EvaluationStoreError) -> Self {
        tracing::error!(%error, "the evaluation store failed");
        ToolError::new(codes::UNAVAILABLE, "the evaluation store is unavailable")
    }
}

impl From<IngestError> for ToolError {
    fn from(error: IngestError) -> Self {
        match error {
            IngestError::Invalid { index, message } => ToolError::invalid_arguments(format!(
                "trace {index}: {message}; nothing was stored"
            ))
            .with_details(json!({ "index": index })),
            IngestError::Batch(message) => ToolError::invalid_arguments(message),
            IngestError::Store(e) => e.into(),
            IngestError::Stopped => ToolError::internal("the evaluation stopped"),
        }
    }
}

fn unavailable(error: EvaluationStoreError) -> McpError {
    tracing::error!(%error, "the evaluation store failed");
    McpError::internal_error("the evaluation store is unavailable", None)
}

pub fn register(builder: &mut RegistryBuilder<'_>) {
    builder.tool("submit_trace", submit_trace);
    builder.tool("redact_phi", redact_phi);
    builder.tool("evaluation_settings", evaluation_settings);
    builder.tool("list_rule_packs", list_rule_packs);
    builder.resource_for(
        Some(Scope::Eval),
        Resource::new(RECENT_URI, "traces-recent")
            .with_title("Recent traces")
            .with_description(
                "Your 50 latest traces with their verdicts; subscribe to hear when an evaluation completes",
            )
            .with_mime_type("application/json"),
        |scope, uri| async move {
            let recent = scope
                .app
                .evaluation
                .traces
                .recent(&scope.principal.user_id, RECENT_LIMIT)
                .await
                .map_err(unavailable)?;
            crate::mcp::json_resource(&json!({ "traces": recent }), uri)
        },
    );
    builder.resource_template(
        ResourceTemplate::new("consilium://traces/{id}", "trace")
            .with_title("A trace")
            .with_description("One of your traces as stored (PHI replaced unless you keep it), with its evaluation")
            .with_mime_type("application/json"),
        None,
        |scope, uri, vars| async move {
            let not_found =
                || McpError::resource_not_found(format!("no trace at {uri}"), Some(json!({ "uri": uri })));
            if !scope.principal.has_scope(Scope::Eval) {
                return Err(not_found());
            }
            let id = vars.get("id").cloned().unwrap_or_default();
            let owner = &scope.principal.user_id;
            let traces = &scope.app.evaluation.traces;
            let Some(trace) = traces.trace(owner, &id).await.map_err(unavailable)? else {
                return Err(not_found());
            };
            let evaluation = traces.evaluation_of(owner, &id).await.map_err(unavailable)?;
            crate::mcp::json_resource(&json!({ "trace": trace, "evaluation": evaluation }), uri)
        },
    );
    builder.resource_template(
        ResourceTemplate::new("consilium://evaluations/{id}", "evaluation")
            .with_title("An evaluation")
            .with_description("What the evaluation of one of your traces found; subscribe to hear when the judge finishes")
            .with_mime_type("application/json"),
        None,
        |scope, uri, vars| async move {
            let not_found = || {
                McpError::resource_not_found(format!("no evaluation at {uri}"), Some(json!({ "uri": uri })))
            };
            if !scope.principal.has_scope(Scope::Eval) {
                return Err(not_found());
            }
            let id = vars.get("id").cloned().unwrap_or_default();
            let Some(evaluation) = scope
                .app
                .evaluation
                .traces
                .evaluation(&scope.principal.user_id, &id)
                .await
                .map_err(unavailable)?
            else {
                return Err(not_found());
            };
            crate::mcp::json_resource(&evaluation, uri)
        },
    );
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitTraceArguments {
    /// One trace.
    #[serde(default)]
    pub trace: Option<TraceInput>,
    /// Or up to 100 traces, stored all or none.
    #[serde(default)]
    pub traces: Option<Vec<TraceInput>>,
    /// Wait for the LLM judge when the rule pack asks for it (default: no; subscribe to the
    /// evaluation to hear when it finishes).
    #[serde(default)]
    pub wait_for_judge: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SubmittedTrace {
    pub trace_id: String,
    pub evaluation_id: String,
    /// `complete`, `awaiting_judge` or `judge_failed`.
    pub status: String,
    /// `pass`, `warn`, `fail`, or `undetermined` when the judge was needed and failed.
    pub verdict: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    pub findings: Vec<Finding>,
    /// Identifiers found, by kind.
    pub phi: BTreeMap<PhiKind, usize>,
    pub trace_uri: String,
    pub evaluation_uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub judge: Option<JudgeOutcome>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SubmittedTraces {
    pub results: Vec<SubmittedTrace>,
    /// Median microseconds of tiers 1–2 per trace.
    pub screening_micros: u64,
}

impl ToolOutput for SubmittedTraces {
    fn to_text(&self) -> String {
        let mut lines = Vec::new();
        for r in &self.results {
            let worst = r
                .findings
                .first()
                .map(|f| format!(" — {} ({}): {}", f.rule_id, f.severity.as_str(), f.message))
                .unwrap_or_default();
            lines.push(format!(
                "{}: {} [{}], {} finding(s), {} identifier(s){worst}",
                r.trace_id,
                r.verdict,
                r.status,
                r.findings.len(),
                r.phi.values().sum::<usize>()
            ));
        }
        lines.join("\n")
    }
}

fn submitted(evaluation: &Evaluation, judge: Option<JudgeOutcome>) -> SubmittedTrace {
    SubmittedTrace {
        trace_id: evaluation.trace_id.clone(),
        evaluation_id: evaluation.id.clone(),
        status: evaluation.status.clone(),
        verdict: evaluation.verdict.clone(),
        severity: evaluation.severity.clone(),
        findings: evaluation.findings.clone(),
        phi: evaluation.phi.clone(),
        trace_uri: trace_uri(&evaluation.trace_id),
        evaluation_uri: evaluation_uri(&evaluation.id),
        judge,
    }
}

async fn submit_trace(
    ctx: ToolContext,
    args: SubmitTraceArguments,
) -> Result<SubmittedTraces, ToolError> {
    let inputs = match (args.trace, args.traces) {
        (Some(one), None) => vec![one],
        (None, Some(many)) => many,
        _ => {
            return Err(ToolError::invalid_arguments(
                "send either `trace` (one) or `traces` (a batch), not both",
            ));
        }
    };
    let owner = ctx.principal.user_id.clone();
    let app = ctx.app.clone();
    let ingested = app
        .evaluation
        .ingest(&owner, inputs, TraceSource::Mcp)
        .await?;
    let mut micros: Vec<u64> = ingested.iter().map(|i| i.screening_micros).collect();
    micros.sort_unstable();
    let screening_micros = micros.get(micros.len() / 2).copied().unwrap_or(0);
    let mut results = Vec::with_capacity(ingested.len());
    for item in ingested {
        let Some(reason) = item.judge_reason else {
            results.push(submitted(&item.evaluation, None));
            continue;
        };
        if args.wait_for_judge {
            let outcome = run_judge(
                &app,
                &ctx.principal,
                ClientModel::of(ctx.peer(), app.llm.client_model_timeout()),
                &item,
                reason,
            )
            .await;
            ctx.charge_tokens(
                outcome.tokens_in,
                outcome.tokens_out,
                outcome.cost_micro_usd,
            );
            let finished = app
                .evaluation
                .finish_judging(&owner, item.evaluation, outcome.clone())
                .await?;
            announce(&app, &owner, Some(&finished.id));
            results.push(submitted(&finished, Some(outcome)));
        } else {
            results.push(submitted(&item.evaluation, None));
            judge_in_background(app.clone(), ctx.principal.clone(), item, reason);
        }
    }
    announce(&app, &owner, None);
    Ok(SubmittedTraces {
        results,
        screening_micros,
    })
}

async fn run_judge(
    app: &Arc<App>,
    principal: &Principal,
    client_model: Option<ClientModel>,
    item: &super::Ingested,
    reason: &'static str,
) -> JudgeOutcome {
    let evaluation = &app.evaluation;
    let Some(pack) = evaluation.pipeline.pack(&item.evaluation.domain) else {
        return judge::failed(reason, "the domain's rule pack is gone".into());
    };
    let rubric = evaluation.rubric(pack);
    let tier1: Vec<Finding> = item.evaluation.findings.clone();
    judge::judge(JudgeRequest {
        router: &app.llm,
        user: &principal.user_id,
        client_model,
        pack,
        rubric: &rubric,
        texts: &item.texts,
        tier1: &tier1,
        reason,
    })
    .await
}

/// Judges after the call has answered, metered as a call of its own under the feature
/// `judge`; a refusal by the limits is a failed judging, recorded as such.
pub(crate) fn judge_in_background(
    app: Arc<App>,
    principal: Principal,
    item: super::Ingested,
    reason: &'static str,
) {
    tokio::spawn(async move {
        let started = Instant::now();
        let call = CallRequest::by(&principal, "submit_trace", Some(JUDGE_FEATURE), 0, 1_500);
        let outcome = match app.meter.admit(&call).await {
            Ok(admission) => {
                let outcome = run_judge(&app, &principal, None, &item, reason).await;
                app.meter.settle(
                    admission,
                    CallUsage {
                        tokens_in: outcome.tokens_in,
                        tokens_out: outcome.tokens_out,
                        cost_micro_usd: outcome.cost_micro_usd,
                        feature_units: None,
                        latency: started.elapsed(),
                        outcome: if outcome.status == "judged" {
                            Outcome::Ok
                        } else {
                            Outcome::ToolError("JUDGE_FAILED".into())
                        },
                    },
                );
                outcome
            }
            Err(error) => judge::failed(reason, format!("the judge was not run: {error}")),
        };
        let owner = principal.user_id.clone();
        match app
            .evaluation
            .finish_judging(&owner, item.evaluation, outcome)
            .await
        {
            Ok(finished) => announce(&app, &owner, Some(&finished.id)),
            Err(error) => tracing::error!(%error, "a judged evaluation could not be stored"),
        }
    });
}

/// Tells the owner's subscribed sessions that their recent traces (and an evaluation)
/// changed.
pub(crate) fn announce(
    app: &Arc<App>,
    owner: &crate::identity::UserId,
    evaluation_id: Option<&str>,
) {
    let app = app.clone();
    let owner = owner.clone();
    let mut uris = vec![RECENT_URI.to_string()];
    uris.extend(evaluation_id.map(evaluation_uri));
    tokio::spawn(async move {
        for uri in uris {
            app.subscriptions.notify_updated_for(&owner, &uri).await;
        }
    });
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedactPhiArguments {
    /// The text to clean (at most 1 MB).
    pub text: String,
    /// `replace` ([NAME], the default), `mask` (****) or `hash` ([NAME:1f0c9a2b], the same
    /// identifier giving the same token for your account only).
    #[serde(default)]
    pub mode: RedactionMode,
    /// Only these kinds (default: all 18 Safe Harbor identifiers).
    #[serde(default)]
    pub kinds: Option<Vec<PhiKind>>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RedactedText {
    pub redacted: String,
    /// Where each identifier was, as byte offsets into the text given.
    pub spans: Vec<PhiSpan>,
    pub counts: BTreeMap<PhiKind, usize>,
}

impl ToolOutput for RedactedText {
    fn to_text(&self) -> String {
        format!(
            "{}\n\n({} identifier(s) removed)",
            self.redacted,
            self.spans.len()
        )
    }
}

async fn redact_phi(ctx: ToolContext, args: RedactPhiArguments) -> Result<RedactedText, ToolError> {
    if args.text.len() > MAX_REDACT_BYTES {
        return Err(ToolError::invalid_arguments("the text is larger than 1 MB"));
    }
    let salt = if args.mode == RedactionMode::Hash {
        ctx.app
            .evaluation
            .traces
            .settings(&ctx.principal.user_id)
            .await?
            .1
    } else {
        Vec::new()
    };
    let detector = ctx.app.evaluation.pipeline.phi().clone();
    let (redacted, spans) = tokio::task::spawn_blocking(move || {
        let mut spans = detector.detect(&args.text);
        if let Some(kinds) = &args.kinds {
            spans.retain(|s| kinds.contains(&s.kind));
        }
        (redact(&args.text, &spans, args.mode, &salt), spans)
    })
    .await
    .map_err(|_| ToolError::internal("the redaction stopped"))?;
    let mut counts = BTreeMap::new();
    for span in &spans {
        *counts.entry(span.kind).or_insert(0) += 1;
    }
    Ok(RedactedText {
        redacted,
        spans,
        counts,
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluationSettingsArguments {
    /// Keep the PHI in stored traces (true) or replace it before storing (false, the
    /// default). Leave out to read the current setting.
    #[serde(default)]
    pub keep_phi: Option<bool>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SettingsResult {
    pub settings: Settings,
}

impl ToolOutput for SettingsResult {
    fn to_text(&self) -> String {
        if self.settings.keep_phi {
            "Traces are stored with the PHI they hold.".into()
        } else {
            "PHI found in traces is replaced before they are stored.".into()
        }
    }
}

async fn evaluation_settings(
    ctx: ToolContext,
    args: EvaluationSettingsArguments,
) -> Result<SettingsResult, ToolError> {
    let traces = &ctx.app.evaluation.traces;
    let owner = &ctx.principal.user_id;
    let settings = match args.keep_phi {
        None => traces.settings(owner).await?.0,
        Some(keep) => {
            let before = traces.settings(owner).await?.0;
            let after = traces.set_keep_phi(owner, keep).await?;
            if before.keep_phi != keep {
                let requester = Requester::local(ctx.principal.clone());
                crate::accounts::keys::record(
                    &ctx.app,
                    requester
                        .audit("evaluation.keep_phi.changed")
                        .target(format!("user:{owner}"))
                        .details(json!({ "keep_phi": keep, "via": requester.via() })),
                )
                .await;
            }
            after
        }
    };
    Ok(SettingsResult { settings })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArguments {}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RulePacks {
    pub packs: Vec<PackSummary>,
}

impl ToolOutput for RulePacks {
    fn to_text(&self) -> String {
        self.packs
            .iter()
            .map(|p| {
                format!(
                    "- {} ({} rules, v{}): {}",
                    p.id, p.rules, p.version, p.description
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

async fn list_rule_packs(ctx: ToolContext, _: NoArguments) -> Result<RulePacks, ToolError> {
    Ok(RulePacks {
        packs: ctx
            .app
            .evaluation
            .pipeline
            .packs()
            .map(|p| p.summary())
            .collect(),
    })
}
