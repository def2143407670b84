//! `risk_assessment`: the validated risk models under one tool — 10-year ASCVD risk (2013
//! pooled cohort equations), Framingham hard CHD (ATP III), FINDRISC, CHA2DS2-VASc, HAS-BLED, BMI and resting energy
//! expenditure. Each model is a calculator of `calculate` (same inputs, units, ranges and
//! citations), so the two tools can never disagree; this module only chooses among the
//! risk models and must not compute anything itself.

use crate::narrative::{WithNarrative, narrated};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::InputError;
use super::calculators::tools::{CalculateArguments, CalculationResult, calculate};
use crate::mcp::{RegistryBuilder, ToolContext, ToolError};

/// The models `risk_assessment` offers, each a calculator id.
pub const MODELS: &[&str] = &[
    "ascvd_pce_2013",
    "framingham_hard_chd",
    "findrisc",
    "cha2ds2_vasc",
    "has_bled",
    "bmi",
    "bmr_mifflin_st_jeor",
];

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RiskArguments {
    /// The model: `ascvd_pce_2013` (10-year ASCVD risk, ages 40–79), `framingham_hard_chd`
    /// (10-year hard coronary heart disease risk, ATP III, ages 20–79), `findrisc` (type 2
    /// diabetes risk), `cha2ds2_vasc` (stroke risk in atrial fibrillation), `has_bled`
    /// (bleeding risk on anticoagulation), `bmi`, or `bmr_mifflin_st_jeor` (resting energy).
    pub model: String,
    /// The model's inputs by name, as listed at consilium://calculators/{model}. Quantities
    /// may carry units ("5.5 mmol/L", "154 lb"); flags are true/false; choices one of the
    /// listed options.
    pub inputs: Map<String, Value>,
}

pub fn assess(arguments: &RiskArguments) -> Result<CalculationResult, InputError> {
    let model = arguments.model.trim();
    if !MODELS.contains(&model) {
        return Err(InputError::new(
            "model",
            format!("no risk model {model:?}"),
            MODELS.join(", "),
        ));
    }
    calculate(&CalculateArguments {
        calculator: model.to_string(),
        inputs: arguments.inputs.clone(),
    })
}

pub fn register(builder: &mut RegistryBuilder<'_>) {
    builder.tool(
        "risk_assessment",
        |ctx: ToolContext, arguments: WithNarrative<RiskArguments>| async move {
            narrated(
                ctx,
                "risk_assessment",
                arguments,
                |_, arguments| async move { assess(&arguments).map_err(ToolError::from) },
            )
            .await
        },
    );
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn assess_json(model: &str, inputs: Value) -> Result<CalculationResult, InputError> {
        assess(&RiskArguments {
            model: model.into(),
            inputs: inputs.as_object().cloned().unwrap_or_default(),
        })
    }

    #[test]
    fn every_model_is_a_calculator_with_a_cited_source() {
        for model in MODELS {
            let calculator = crate::health::calculators::find(model);
            assert!(
                calculator.is_some_and(|c| !c.references.is_empty()),
                "{model}"
            );
        }
    }

    #[test]
    fn a_model_answers_with_its_category_inputs_and_sources() {
        let result = assess_json(
            "ascvd_pce_2013",
            json!({"age": 55, "sex": "female", "race": "white", "total_cholesterol": 213,
                   "hdl": 50, "systolic_bp": 120}),
        )
        .expect("assessed");
        assert_eq!(result.value, 2.1);
        assert!(result.interpretation.unwrap_or_default().starts_with("low"));
        assert!(result.sources.iter().any(|s| s.citation.contains("Goff")));
        assert!(result.inputs_used.contains_key("total_cholesterol"));
    }

    #[test]
    fn a_calculator_that_is_not_a_risk_model_is_refused_by_name() {
        let refused = assess_json("anion_gap", json!({})).expect_err("refused");
        assert_eq!(refused.field, "model");
        assert!(refused.accepted.contains("findrisc"));
    }
}
