//! Narratives: a model-written explanation on top of a deterministic result, when the
//! caller asks for one (`narrative: true`), or the consensus of a panel of models on it
//! (`narrative: {"consensus": true}`).
//!
//! The numbers stay the deterministic core's: the model is shown the finished result and
//! told to use its numbers only, and every number the narrative writes is checked against
//! the result; any that is not there is listed in `ungrounded_numbers`. The narrative is
//! labelled model-written and names who wrote it. When no model is available the result
//! still comes back, with `narrative.error` saying why: the computed answer is never held
//! hostage to the explanation. This module must not compute any clinical value.

use std::time::Duration;

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::consensus::{ConsensusReport, Question};
use crate::llm::{ClientModel, CompletionRequest, Message, Route, ServedBy};
use crate::mcp::tool::codes;
use crate::mcp::{ToolContext, ToolError, ToolOutput};

/// The feature tag narratives are served under.
pub const NARRATIVE_FEATURE: &str = "narrative";
/// The most result text shown to the model.
const MAX_RESULT_CHARS: usize = 12_000;

const NARRATIVE_PROMPT: &str = "You explain a result that Consilium computed deterministically \
from cited reference data. In plain language for a clinician or an informed patient, say what \
was computed, what the value and its interpretation mean, and what its warnings imply. Use only \
the numbers that appear in the result; never calculate, change, round differently or add a \
number. Do not diagnose or prescribe; suggest discussing decisions with a clinician. At most \
180 words, no headings.";

/// The arguments of a tool that can add a narrative: its own, plus `narrative`. Read by
/// hand rather than with `#[serde(flatten)]`, which would silently accept unknown fields
/// and drop `additionalProperties: false` from the tool's schema.
#[derive(Debug)]
pub struct WithNarrative<A> {
    pub arguments: A,
    pub narrative: Option<NarrativeOption>,
}

const NARRATIVE_FIELD: &str = "narrative";
const NARRATIVE_DESCRIPTION: &str = "Add a model-written explanation of the result (`true`), \
or one agreed by a panel of models with its trust certificate (`{\"consensus\": true}`). The \
numbers are never the model's; the result comes back even when no model is available.";

impl<'de, A: DeserializeOwned> Deserialize<'de> for WithNarrative<A> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut fields = serde_json::Map::<String, Value>::deserialize(deserializer)?;
        let narrative = match fields.remove(NARRATIVE_FIELD) {
            None | Some(Value::Null) => None,
            Some(value) => Some(NarrativeOption::deserialize(value).map_err(|_| {
                D::Error::custom("`narrative` must be true, false or {\"consensus\": true}")
            })?),
        };
        let arguments = A::deserialize(Value::Object(fields)).map_err(D::Error::custom)?;
        Ok(WithNarrative {
            arguments,
            narrative,
        })
    }
}

impl<A: JsonSchema> JsonSchema for WithNarrative<A> {
    fn schema_name() -> Cow<'static, str> {
        format!("{}WithNarrative", A::schema_name()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let mut schema = A::json_schema(generator);
        let mut option = generator.subschema_for::<NarrativeOption>();
        option.insert("description".into(), NARRATIVE_DESCRIPTION.into());
        if let Some(object) = schema.as_object_mut() {
            let properties = object
                .entry("properties")
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
            if let Some(properties) = properties.as_object_mut() {
                properties.insert(NARRATIVE_FIELD.into(), option.to_value());
            }
        }
        schema
    }
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum NarrativeOption {
    Wanted(bool),
    Options {
        /// Ask the consensus panel instead of one model.
        #[serde(default)]
        consensus: bool,
    },
}

impl NarrativeOption {
    fn wanted(self) -> Option<bool> {
        match self {
            NarrativeOption::Wanted(false) => None,
            NarrativeOption::Wanted(true) => Some(false),
            NarrativeOption::Options { consensus } => Some(consensus),
        }
    }
}

/// A tool's result with its narrative, if one was asked for.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Narrated<T> {
    #[serde(flatten)]
    pub result: T,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub narrative: Option<Narrative>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct NarrativeConsensus {
    /// The run: `consilium://consensus/{id}`.
    pub run_id: String,
    pub status: String,
    pub agreement: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// The models whose explanations differed.
    pub dissenting_models: Vec<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct NarrativeError {
    /// `NO_PROVIDER`, `PROVIDERS_FAILED`, `MAINTENANCE`, `NO_CONSENSUS`…
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Narrative {
    /// Always `model-written`.
    pub label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub served_by: Option<ServedBy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consensus: Option<NarrativeConsensus>,
    /// Numbers in the narrative that are not in the result: read the result, not these.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ungrounded_numbers: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<NarrativeError>,
}

impl<T: ToolOutput> ToolOutput for Narrated<T> {
    fn to_text(&self) -> String {
        let mut text = self.result.to_text();
        match &self.narrative {
            Some(Narrative {
                text: Some(story),
                served_by,
                consensus,
                ungrounded_numbers,
                ..
            }) => {
                let by = match (consensus, served_by) {
                    (Some(c), _) => format!(
                        "agreed by a panel, agreement {:.2}, run {}",
                        c.agreement, c.run_id
                    ),
                    (None, Some(s)) => format!("by {} ({})", s.model, s.provider),
                    (None, None) => String::new(),
                };
                text.push_str(&format!("\n\nExplanation (model-written, {by}):\n{story}"));
                if !ungrounded_numbers.is_empty() {
                    text.push_str(&format!(
                        "\nCaution: the explanation mentions numbers not in the result ({}); the result's numbers stand.",
                        ungrounded_numbers.join(", ")
                    ));
                }
            }
            Some(Narrative {
                error: Some(error), ..
            }) => {
                text.push_str(&format!(
                    "\n\nNo explanation: {} ({})",
                    error.message, error.code
                ));
            }
            _ => {}
        }
        text
    }
}

/// Runs `compute`, then adds the narrative asked for.
pub async fn narrated<A, T, Fut>(
    ctx: ToolContext,
    tool: &str,
    arguments: WithNarrative<A>,
    compute: impl FnOnce(ToolContext, A) -> Fut,
) -> Result<Narrated<T>, ToolError>
where
    T: Serialize,
    Fut: Future<Output = Result<T, ToolError>>,
{
    let wanted = arguments.narrative.and_then(NarrativeOption::wanted);
    let result = compute(ctx.clone(), arguments.arguments).await?;
    let narrative = match wanted {
        None => None,
        Some(consensus) => Some(narrate(&ctx, tool, &result, consensus).await),
    };
    Ok(Narrated { result, narrative })
}

fn failed(code: &str, message: impl Into<String>) -> Narrative {
    Narrative {
        label: "model-written".into(),
        text: None,
        served_by: None,
        consensus: None,
        ungrounded_numbers: Vec::new(),
        error: Some(NarrativeError {
            code: code.into(),
            message: message.into(),
        }),
    }
}

fn from_tool_error(error: ToolError) -> Narrative {
    failed(error.code, error.message)
}

async fn narrate<T: Serialize>(
    ctx: &ToolContext,
    tool: &str,
    result: &T,
    consensus: bool,
) -> Narrative {
    let feature = if consensus {
        crate::consensus::panel::PANEL_FEATURE
    } else {
        NARRATIVE_FEATURE
    };
    if let Some(refusal) = ctx.app.maintenance.refusal(false, Some(feature)) {
        return from_tool_error(crate::mcp::gate::maintenance_error(&refusal));
    }
    let Ok(result_json) = serde_json::to_value(result) else {
        return failed(codes::INTERNAL, "the result could not be shown to a model");
    };
    let mut shown = result_json.to_string();
    if shown.len() > MAX_RESULT_CHARS {
        let mut end = MAX_RESULT_CHARS;
        while !shown.is_char_boundary(end) {
            end -= 1;
        }
        shown.truncate(end);
    }
    let question = format!("Explain this result of Consilium's {tool} tool.");
    let (text, served_by, consensus_report) = if consensus {
        match by_consensus(ctx, &question, &shown).await {
            Ok(report) => {
                let text = match (&report.answer, report.status.as_str()) {
                    (Some(answer), "reached") => answer.text.clone(),
                    _ => {
                        let mut narrative = failed(
                            "NO_CONSENSUS",
                            format!(
                                "the panel did not agree on an explanation (status {}, agreement {:.2})",
                                report.status, report.agreement
                            ),
                        );
                        narrative.consensus = Some(summary(&report));
                        return narrative;
                    }
                };
                (text, None, Some(report))
            }
            Err(error) => return from_tool_error(error),
        }
    } else {
        let mut request = CompletionRequest::new(
            vec![Message::user(format!(
                "{question}\n\nResult (JSON):\n{shown}"
            ))],
            400,
        );
        request.system = Some(NARRATIVE_PROMPT.into());
        request.temperature = Some(0.2);
        let route = Route {
            feature: NARRATIVE_FEATURE,
            user: &ctx.principal.user_id,
            provider: None,
            model: None,
            client_model: ClientModel::of(ctx.peer(), ctx.app.llm.client_model_timeout()),
            prefer_client_model: false,
        };
        match ctx.app.llm.complete(route, &request).await {
            Ok(routed) => {
                ctx.charge_tokens(
                    routed.usage.input,
                    routed.usage.output,
                    routed.cost_micro_usd,
                );
                (routed.text, Some(routed.served_by), None)
            }
            Err(error) => return from_tool_error(crate::chat::route_error(ctx, error)),
        }
    };
    Narrative {
        label: "model-written".into(),
        ungrounded_numbers: ungrounded_numbers(&text, &result_json),
        text: Some(text),
        served_by,
        consensus: consensus_report.as_ref().map(summary),
        error: None,
    }
}

fn summary(report: &ConsensusReport) -> NarrativeConsensus {
    NarrativeConsensus {
        run_id: report.id.clone(),
        status: report.status.clone(),
        agreement: report.agreement,
        certificate: report.certificate.clone(),
        dissenting_models: report
            .dissent
            .iter()
            .flat_map(|d| d.models.clone())
            .collect(),
    }
}

async fn by_consensus(
    ctx: &ToolContext,
    question: &str,
    shown: &str,
) -> Result<ConsensusReport, ToolError> {
    let consensus = &ctx.app.consensus;
    let user = &ctx.principal.user_id;
    let seats = consensus.default_seats(user).await;
    if seats.len() < 2 {
        return Err(ToolError::new(
            codes::NO_PROVIDER,
            "a consensus narrative needs at least two models serving consensus",
        ));
    }
    let config = consensus.config();
    let run = Question {
        question: format!("{question} {NARRATIVE_PROMPT}"),
        context: Some(format!("Result (JSON):\n{shown}")),
        seats,
        threshold: config.threshold,
        member_deadline: Duration::from_secs(config.member_deadline_secs),
        max_tokens: 400,
    };
    let client_model = ClientModel::of(ctx.peer(), ctx.app.llm.client_model_timeout());
    let report = consensus
        .convene(user, &run, client_model, None)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "a consensus narrative could not be completed");
            ToolError::new(codes::UNAVAILABLE, "the consensus panel is unavailable")
        })?;
    ctx.charge_tokens(
        report.usage.tokens_in,
        report.usage.tokens_out,
        report.usage.cost_micro_usd,
    );
    Ok(report)
}

/// Every number written in `text` (digits with an optional decimal part).
fn numbers_in(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let decimal_point = c == '.'
            && !current.is_empty()
            && !current.contains('.')
            && chars.get(i + 1).is_some_and(char::is_ascii_digit);
        if c.is_ascii_digit() || decimal_point {
            current.push(c);
        } else if !current.is_empty() {
            found.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        found.push(current);
    }
    found
}

fn collect_numbers(value: &Value, out: &mut Vec<f64>) {
    match value {
        Value::Number(n) => out.extend(n.as_f64()),
        Value::String(s) => out.extend(numbers_in(s).iter().filter_map(|n| n.parse::<f64>().ok())),
        Value::Array(items) => items.iter().for_each(|v| collect_numbers(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_numbers(v, out)),
        _ => {}
    }
}

/// The numbers of `text` that the result does not hold (small counts excepted: "two
/// warnings", "1 in 10").
pub fn ungrounded_numbers(text: &str, result: &Value) -> Vec<String> {
    let mut known = Vec::new();
    collect_numbers(result, &mut known);
    let mut ungrounded: Vec<String> = Vec::new();
    for written in numbers_in(text) {
        let Ok(value) = written.parse::<f64>() else {
            continue;
        };
        let small_count = value.fract() == 0.0 && value <= 10.0;
        let decimals = written.split('.').nth(1).map_or(0, str::len) as i32;
        let step = 10f64.powi(-decimals);
        let grounded = known.iter().any(|k| (k - value).abs() <= step / 2.0 + 1e-9);
        if !small_count && !grounded && !ungrounded.contains(&written) {
            ungrounded.push(written);
        }
    }
    ungrounded
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_from_the_result_pass_and_invented_ones_are_listed() {
        let result =
            json!({ "value": 22.86, "unit": "kg/m²", "summary": "BMI 22.9 (normal, 18.5–24.9)" });
        assert!(
            ungrounded_numbers(
                "A BMI of 22.9 is in the normal range of 18.5 to 24.9.",
                &result
            )
            .is_empty()
        );
        // Rounded the way it was written: 23 is 22.86 to no decimals.
        assert!(ungrounded_numbers("About 23.", &result).is_empty());
        assert_eq!(
            ungrounded_numbers("Your risk is 35% and BMI 27.4.", &result),
            ["35", "27.4"]
        );
        assert!(ungrounded_numbers("Two warnings, 3 sources.", &result).is_empty());
    }

    #[derive(Debug, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        weight_kg: f64,
    }

    #[test]
    fn the_arguments_still_refuse_unknown_fields() {
        let read = |v: Value| serde_json::from_value::<WithNarrative<Sample>>(v);
        let plain = read(json!({ "weight_kg": 70.0 })).unwrap();
        assert!(plain.narrative.is_none());
        assert_eq!(plain.arguments.weight_kg, 70.0);
        let asked = read(json!({ "weight_kg": 70.0, "narrative": { "consensus": true } })).unwrap();
        assert_eq!(
            asked.narrative.and_then(NarrativeOption::wanted),
            Some(true)
        );
        let unknown = read(json!({ "weight_kg": 70.0, "bogus": 1 })).unwrap_err();
        assert!(unknown.to_string().contains("bogus"), "{unknown}");
        assert!(read(json!({ "weight_kg": 70.0, "narrative": "yes" })).is_err());
    }

    #[test]
    fn the_schema_keeps_the_arguments_closed_and_adds_narrative() {
        let schema = schemars::schema_for!(WithNarrative<Sample>).to_value();
        assert_eq!(schema["additionalProperties"], json!(false));
        assert!(schema["properties"]["weight_kg"].is_object());
        assert!(schema["properties"]["narrative"].is_object());
        assert_eq!(schema["required"], json!(["weight_kg"]));
    }

    #[test]
    fn the_option_reads_both_forms() {
        let parse = |v: Value| {
            serde_json::from_value::<NarrativeOption>(v)
                .unwrap()
                .wanted()
        };
        assert_eq!(parse(json!(true)), Some(false));
        assert_eq!(parse(json!(false)), None);
        assert_eq!(parse(json!({ "consensus": true })), Some(true));
        assert_eq!(parse(json!({})), Some(false));
    }
}
