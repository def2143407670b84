//! Kidney function calculators.

use super::inputs::{InputSpec, Values, units};
use super::{Calculator, Computed, OutputSpec};
use crate::health::InputError;

pub const ALL: &[Calculator] = &[COCKCROFT_GAULT];

const COCKCROFT_GAULT: Calculator = Calculator {
    id: "cockcroft_gault",
    name: "Creatinine clearance (Cockcroft-Gault)",
    category: "renal",
    inputs: &[
        InputSpec::quantity("age", "Age", "years", &[], 18.0, 110.0),
        InputSpec::quantity("weight", "Body weight", "kg", units::WEIGHT_KG, 20.0, 350.0),
        InputSpec::quantity(
            "creatinine",
            "Serum creatinine",
            "mg/dL",
            units::CREATININE_MG_DL,
            0.1,
            20.0,
        ),
        InputSpec::choice("sex", "Sex", &["female", "male"]),
    ],
    output: OutputSpec {
        name: "creatinine clearance",
        unit: "mL/min",
        decimals: 1,
    },
    references: &[(
        "cockcroft-gault-1976",
        "Cockcroft DW, Gault MH. Prediction of creatinine clearance from serum creatinine. Nephron 1976;16(1):31-41. doi:10.1159/000180580",
    )],
    compute: cockcroft_gault,
};

/// CrCl = (140 − age) × weight / (72 × Scr), × 0.85 for women (the paper's suggested
/// correction). Uses the weight given: which weight (actual, ideal, adjusted) suits a
/// patient is a clinical choice, flagged in a warning.
fn cockcroft_gault(values: &Values) -> Result<Computed, InputError> {
    let age = values.number("age")?;
    let weight = values.number("weight")?;
    let creatinine = values.number("creatinine")?;
    let female = values.choice("sex")? == "female";
    let sex_factor = if female { 0.85 } else { 1.0 };
    let clearance = (140.0 - age) * weight / (72.0 * creatinine) * sex_factor;
    Ok(Computed::new(
        clearance,
        format!(
            "(140 − {age}) × {weight} / (72 × {creatinine}){}",
            if female { " × 0.85" } else { "" }
        ),
    )
    .warn("Computed with the weight given; in obesity the ideal or adjusted body weight is often used instead."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(inputs: serde_json::Value) -> f64 {
        let values = Values::parse(COCKCROFT_GAULT.inputs, inputs.as_object().unwrap()).unwrap();
        cockcroft_gault(&values).unwrap().value
    }

    #[test]
    fn a_60_year_old_72_kg_man_with_creatinine_1_clears_80_ml_per_minute() {
        // Hand-computed from the published equation: (140 − 60) × 72 / (72 × 1.0) = 80.
        assert!(
            (run(json!({"age": 60, "weight": 72, "creatinine": 1.0, "sex": "male"})) - 80.0).abs()
                < 1e-9
        );
        // The same woman: 80 × 0.85 = 68.
        assert!(
            (run(json!({"age": 60, "weight": 72, "creatinine": 1.0, "sex": "female"})) - 68.0)
                .abs()
                < 1e-9
        );
        // 88.4 µmol/L is 1.0 mg/dL.
        let si = run(json!({"age": 60, "weight": 72, "creatinine": "88.4 umol/L", "sex": "male"}));
        assert!((si - 80.0).abs() < 1e-9);
    }

    #[test]
    fn clearance_falls_with_age_and_creatinine() {
        let mut last = f64::INFINITY;
        for age in 18..=110 {
            let value = run(json!({"age": age, "weight": 70, "creatinine": 1.2, "sex": "male"}));
            assert!(value < last);
            last = value;
        }
    }
}
