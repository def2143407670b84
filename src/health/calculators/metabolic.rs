//! Metabolic calculators.

use super::inputs::{Alternative, InputSpec, Values, times, units};
use super::{Calculator, Computed, OutputSpec};
use crate::health::InputError;

pub const ALL: &[Calculator] = &[HOMA_IR, CALCULATED_LDL];

/// Triglycerides: 1 mmol/L = 88.57 mg/dL (as triolein, 885.7 g/mol).
const TRIGLYCERIDES_MG_DL: &[Alternative] = &[times("mmol/L", 88.57)];

const CALCULATED_LDL: Calculator = Calculator {
    id: "calculated_ldl",
    name: "LDL cholesterol (Friedewald)",
    category: "metabolic",
    inputs: &[
        InputSpec::quantity(
            "total_cholesterol",
            "Total cholesterol",
            "mg/dL",
            units::CHOLESTEROL_MG_DL,
            50.0,
            1000.0,
        ),
        InputSpec::quantity(
            "hdl",
            "HDL cholesterol",
            "mg/dL",
            units::CHOLESTEROL_MG_DL,
            5.0,
            200.0,
        ),
        InputSpec::quantity(
            "triglycerides",
            "Triglycerides",
            "mg/dL",
            TRIGLYCERIDES_MG_DL,
            10.0,
            399.0,
        ),
    ],
    output: OutputSpec {
        name: "LDL cholesterol",
        unit: "mg/dL",
        decimals: 0,
    },
    references: &[(
        "friedewald-1972",
        "Friedewald WT, Levy RI, Fredrickson DS. Estimation of the concentration of low-density lipoprotein cholesterol in plasma, without use of the preparative ultracentrifuge. Clin Chem 1972;18(6):499-502 (not valid at triglycerides of 400 mg/dL or more).",
    )],
    compute: calculated_ldl,
};

/// LDL = total − HDL − triglycerides / 5 (mg/dL), for triglycerides under 400 mg/dL.
fn calculated_ldl(values: &Values) -> Result<Computed, InputError> {
    let total = values.number("total_cholesterol")?;
    let hdl = values.number("hdl")?;
    let triglycerides = values.number("triglycerides")?;
    let mut computed = Computed::new(
        total - hdl - triglycerides / 5.0,
        format!("{total} − {hdl} − {triglycerides} / 5"),
    );
    if triglycerides > 150.0 {
        computed = computed.warn("Above 150 mg/dL of triglycerides Friedewald underestimates LDL; the Martin-Hopkins or Sampson equations, or a direct LDL, are more accurate.");
    }
    Ok(computed)
}

/// Insulin: 1 µU/mL = 6.0 pmol/L (the conversion the WHO standard uses; some labs use 6.945).
const INSULIN_UU_ML: &[Alternative] = &[times("pmol/L", 1.0 / 6.0)];

const HOMA_IR: Calculator = Calculator {
    id: "homa_ir",
    name: "HOMA-IR (insulin resistance)",
    category: "metabolic",
    inputs: &[
        InputSpec::quantity(
            "glucose",
            "Fasting glucose",
            "mg/dL",
            units::GLUCOSE_MG_DL,
            20.0,
            1000.0,
        ),
        InputSpec::quantity(
            "insulin",
            "Fasting insulin",
            "uU/mL",
            INSULIN_UU_ML,
            0.5,
            500.0,
        ),
    ],
    output: OutputSpec {
        name: "HOMA-IR",
        unit: "",
        decimals: 2,
    },
    references: &[(
        "matthews-1985",
        "Matthews DR, Hosker JP, Rudenski AS, et al. Homeostasis model assessment: insulin resistance and β-cell function from fasting plasma glucose and insulin concentrations in man. Diabetologia 1985;28(7):412-419 (glucose mmol/L × insulin µU/mL / 22.5).",
    )],
    compute: homa_ir,
};

/// Glucose (mg/dL) × insulin (µU/mL) / 405, the same as mmol/L × µU/mL / 22.5.
fn homa_ir(values: &Values) -> Result<Computed, InputError> {
    let glucose = values.number("glucose")?;
    let insulin = values.number("insulin")?;
    Ok(Computed::new(
        glucose * insulin / 405.0,
        format!("{glucose} × {insulin} / 405"),
    )
    .warn("Cut-offs for insulin resistance vary by population and insulin assay; there is no single threshold."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn friedewald_gives_130_for_total_200_hdl_50_and_triglycerides_100() {
        // 200 − 50 − 100 / 5 = 130.
        let values = Values::parse(
            CALCULATED_LDL.inputs,
            json!({"total_cholesterol": 200, "hdl": 50, "triglycerides": 100})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(calculated_ldl(&values).unwrap().value, 130.0);
        // Triglycerides of 400 mg/dL are outside the equation's range.
        let refused = Values::parse(
            CALCULATED_LDL.inputs,
            json!({"total_cholesterol": 200, "hdl": 50, "triglycerides": 400})
                .as_object()
                .unwrap(),
        )
        .unwrap_err();
        assert_eq!(refused.field, "inputs.triglycerides");
    }

    #[test]
    fn glucose_100_and_insulin_10_give_a_homa_ir_of_2_47() {
        // 100 × 10 / 405 = 2.469.
        let values = Values::parse(
            HOMA_IR.inputs,
            json!({"glucose": 100, "insulin": 10}).as_object().unwrap(),
        )
        .unwrap();
        assert!((homa_ir(&values).unwrap().value - 2.469).abs() < 0.001);
        // 5.55 mmol/L (100 mg/dL) and 60 pmol/L (10 µU/mL) agree.
        let si = Values::parse(
            HOMA_IR.inputs,
            json!({"glucose": "5.5506 mmol/L", "insulin": "60 pmol/L"})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        assert!((homa_ir(&si).unwrap().value - 2.469).abs() < 0.001);
    }
}
