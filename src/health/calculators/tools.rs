//! `calculate`, `consilium://calculators` and `consilium://calculators/{id}`: a thin MCP layer
//! over the calculators.

use std::collections::BTreeMap;
use std::sync::Arc;

use rmcp::ErrorData as McpError;
use rmcp::model::{Resource, ResourceTemplate};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::inputs::InputValue;
use super::{CalculatorDescription, Values, all, find, round};
use crate::health::{InputError, Source};
use crate::mcp::registry::{Completer, CompletionQuery, prefix_matches};
use crate::mcp::{RegistryBuilder, ToolContext, ToolError, ToolOutput};
use crate::narrative::{WithNarrative, narrated};

pub const CALCULATORS_URI: &str = "consilium://calculators";
pub const CALCULATOR_URI_TEMPLATE: &str = "consilium://calculators/{id}";

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CalculateArguments {
    /// The calculator's id, as listed at consilium://calculators (e.g. `cockcroft_gault`).
    pub calculator: String,
    /// The calculator's inputs by name. A quantity is a number in the calculator's unit, or
    /// `{"value": 154, "unit": "lb"}`, or text such as "154 lb"; flags are true/false;
    /// choices are one of the listed options.
    pub inputs: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CalculationResult {
    pub calculator: String,
    pub name: String,
    /// The result, rounded for display (for a date result: days, see `result_text`).
    pub value: f64,
    /// The result when it is not a plain number, e.g. a date `2026-08-07`.
    pub result_text: Option<String>,
    pub unit: String,
    /// The category or reading the publication gives for this value, if any.
    pub interpretation: Option<String>,
    /// The formula with the numbers filled in.
    pub working: String,
    /// The inputs after unit conversion, in each input's canonical unit.
    pub inputs_used: BTreeMap<String, InputValue>,
    pub sources: Vec<Source>,
    pub warnings: Vec<String>,
    pub summary: String,
}

impl ToolOutput for CalculationResult {
    fn to_text(&self) -> String {
        let mut text = self.summary.clone();
        text.push_str(&format!("\nWorking: {}", self.working));
        for warning in &self.warnings {
            text.push_str(&format!("\nNote: {warning}"));
        }
        if let Some(source) = self.sources.first() {
            text.push_str(&format!("\nSource: {}", source.citation));
        }
        text
    }
}

/// Runs one calculator on JSON inputs: parse and convert, compute, round.
pub fn calculate(arguments: &CalculateArguments) -> Result<CalculationResult, InputError> {
    let calculator = find(&arguments.calculator).ok_or_else(|| {
        let suggestions = prefix_matches(&ids(), &arguments.calculator);
        InputError::new(
            "calculator",
            format!("no calculator {:?}", arguments.calculator),
            if suggestions.is_empty() {
                "an id listed at consilium://calculators".to_string()
            } else {
                format!("did you mean: {}", suggestions.join(", "))
            },
        )
    })?;
    let values = Values::parse(calculator.inputs, &arguments.inputs)?;
    let computed = (calculator.compute)(&values)?;
    if !computed.value.is_finite() {
        return Err(InputError::new(
            "inputs",
            "these inputs give no finite result",
            "values inside each input's range",
        ));
    }
    let value = round(computed.value, calculator.output.decimals);
    let shown = match &computed.text {
        Some(text) => text.clone(),
        None => format!("{value} {}", calculator.output.unit),
    };
    let summary = format!(
        "{}: {}{}",
        calculator.name,
        shown,
        computed
            .interpretation
            .as_deref()
            .map(|i| format!(" ({i})"))
            .unwrap_or_default()
    );
    Ok(CalculationResult {
        calculator: calculator.id.into(),
        name: calculator.name.into(),
        value,
        result_text: computed.text,
        unit: calculator.output.unit.into(),
        interpretation: computed.interpretation,
        working: computed.working,
        inputs_used: values.as_map(),
        sources: calculator.sources(),
        warnings: computed.warnings,
        summary,
    })
}

fn ids() -> Vec<String> {
    all().map(|c| c.id.to_string()).collect()
}

#[derive(Debug, Serialize)]
struct Listing {
    calculators: Vec<CalculatorDescription>,
}

pub fn register(builder: &mut RegistryBuilder<'_>) {
    builder.tool(
        "calculate",
        |ctx: ToolContext, arguments: WithNarrative<CalculateArguments>| async move {
            narrated(ctx, "calculate", arguments, |_, arguments| async move {
                calculate(&arguments).map_err(ToolError::from)
            })
            .await
        },
    );
    builder.resource(
        Resource::new(CALCULATORS_URI, "calculators")
            .with_title("Clinical calculators")
            .with_description(
                "Every calculator `calculate` offers: id, name, inputs with units, accepted alternatives and ranges, output and unit, primary reference",
            )
            .with_mime_type("application/json"),
        |_, uri| async move {
            crate::mcp::json_resource(
                &Listing {
                    calculators: all().map(|c| c.describe()).collect(),
                },
                uri,
            )
        },
    );
    let completer: Completer = Arc::new(|query: CompletionQuery| {
        Box::pin(std::future::ready(prefix_matches(&ids(), &query.value)))
    });
    builder.resource_template(
        ResourceTemplate::new(CALCULATOR_URI_TEMPLATE, "calculator")
            .with_title("One clinical calculator")
            .with_description("A calculator's full description, by id")
            .with_mime_type("application/json"),
        Some(completer),
        |_, uri, vars| async move {
            let id = vars.get("id").cloned().unwrap_or_default();
            match find(&id) {
                Some(calculator) => crate::mcp::json_resource(&calculator.describe(), uri),
                None => Err(McpError::resource_not_found(
                    format!("no calculator {id:?}"),
                    Some(serde_json::json!({ "uri": uri })),
                )),
            }
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn arguments(value: serde_json::Value) -> CalculateArguments {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn calculate_converts_computes_rounds_and_cites() {
        let result = calculate(&arguments(json!({
            "calculator": "bmi",
            "inputs": {"weight": 70, "height": "1.75 m"}
        })))
        .unwrap();
        assert_eq!(result.value, 22.9);
        assert_eq!(result.unit, "kg/m²");
        assert_eq!(result.inputs_used["height"], InputValue::Number(175.0));
        assert!(!result.sources.is_empty());
        assert!(result.summary.contains("22.9"));
    }

    #[test]
    fn an_unknown_calculator_suggests_close_ids() {
        let error = calculate(&arguments(json!({"calculator": "qtc", "inputs": {}}))).unwrap_err();
        assert_eq!(error.field, "calculator");
        assert!(error.accepted.contains("qtc_bazett"), "{error}");
    }
}
