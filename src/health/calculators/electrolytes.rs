//! Electrolyte and acid-base calculators.

use super::inputs::{InputSpec, Values, units};
use super::{Calculator, Computed, OutputSpec};
use crate::health::InputError;

pub const ALL: &[Calculator] = &[ANION_GAP, CALCIUM_CORRECTION];

const ANION_GAP: Calculator = Calculator {
    id: "anion_gap",
    name: "Serum anion gap",
    category: "electrolytes",
    inputs: &[
        InputSpec::quantity(
            "sodium",
            "Sodium",
            "mmol/L",
            units::MONOVALENT_MMOL_L,
            90.0,
            200.0,
        ),
        InputSpec::quantity(
            "chloride",
            "Chloride",
            "mmol/L",
            units::MONOVALENT_MMOL_L,
            50.0,
            160.0,
        ),
        InputSpec::quantity(
            "bicarbonate",
            "Bicarbonate",
            "mmol/L",
            units::MONOVALENT_MMOL_L,
            1.0,
            60.0,
        ),
    ],
    output: OutputSpec {
        name: "anion gap",
        unit: "mmol/L",
        decimals: 0,
    },
    references: &[(
        "kraut-madias-2007",
        "Kraut JA, Madias NE. Serum anion gap: its uses and limitations in clinical medicine. Clin J Am Soc Nephrol 2007;2(1):162-174. doi:10.2215/CJN.03020906",
    )],
    compute: anion_gap,
};

/// AG = Na − (Cl + HCO3). The normal range depends on the analyser (about 3–11 mmol/L with
/// modern ion-selective electrodes, Kraut & Madias 2007), so the reading is cautious.
fn anion_gap(values: &Values) -> Result<Computed, InputError> {
    let sodium = values.number("sodium")?;
    let chloride = values.number("chloride")?;
    let bicarbonate = values.number("bicarbonate")?;
    let gap = sodium - (chloride + bicarbonate);
    let reading = if gap > 11.0 {
        "above the usual 3–11 mmol/L range of modern analysers"
    } else if gap < 3.0 {
        "below the usual 3–11 mmol/L range of modern analysers"
    } else {
        "within the usual 3–11 mmol/L range of modern analysers"
    };
    Ok(Computed::new(gap, format!("{sodium} − ({chloride} + {bicarbonate})"))
        .interpreted(reading)
        .warn("The anion gap falls about 2.5 mmol/L per 1 g/dL fall in albumin; use the albumin-corrected gap when albumin is low."))
}

const CALCIUM_CORRECTION: Calculator = Calculator {
    id: "calcium_correction",
    name: "Albumin-corrected calcium (Payne)",
    category: "electrolytes",
    inputs: &[
        InputSpec::quantity(
            "calcium",
            "Total serum calcium",
            "mg/dL",
            units::CALCIUM_MG_DL,
            2.0,
            25.0,
        ),
        InputSpec::quantity(
            "albumin",
            "Serum albumin",
            "g/dL",
            units::ALBUMIN_G_DL,
            0.5,
            7.0,
        ),
    ],
    output: OutputSpec {
        name: "corrected calcium",
        unit: "mg/dL",
        decimals: 2,
    },
    references: &[(
        "payne-1973",
        "Payne RB, Little AJ, Williams RB, Milner JR. Interpretation of serum calcium in patients with abnormal serum proteins. BMJ 1973;4(5893):643-646. doi:10.1136/bmj.4.5893.643",
    )],
    compute: calcium_correction,
};

/// Corrected Ca = Ca + 0.8 × (4.0 − albumin), in mg/dL and g/dL.
fn calcium_correction(values: &Values) -> Result<Computed, InputError> {
    let calcium = values.number("calcium")?;
    let albumin = values.number("albumin")?;
    Ok(Computed::new(
        calcium + 0.8 * (4.0 - albumin),
        format!("{calcium} + 0.8 × (4.0 − {albumin})"),
    )
    .warn("Albumin correction is an approximation; ionised calcium is the reference measurement."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(calculator: &Calculator, inputs: serde_json::Value) -> Computed {
        let values = Values::parse(calculator.inputs, inputs.as_object().unwrap()).unwrap();
        (calculator.compute)(&values).unwrap()
    }

    #[test]
    fn sodium_140_chloride_104_bicarbonate_24_leave_a_gap_of_12() {
        // 140 − (104 + 24) = 12.
        let result = run(
            &ANION_GAP,
            json!({"sodium": 140, "chloride": 104, "bicarbonate": 24}),
        );
        assert_eq!(result.value, 12.0);
        assert!(result.interpretation.unwrap().starts_with("above"));
    }

    #[test]
    fn calcium_8_with_albumin_2_corrects_to_9_6_mg_per_dl() {
        // 8.0 + 0.8 × (4.0 − 2.0) = 9.6.
        assert!(
            (run(&CALCIUM_CORRECTION, json!({"calcium": 8.0, "albumin": 2.0})).value - 9.6).abs()
                < 1e-9
        );
        // 2.0 mmol/L calcium = 8.016 mg/dL; 20 g/L albumin = 2.0 g/dL.
        let si = run(
            &CALCIUM_CORRECTION,
            json!({"calcium": "2.0 mmol/L", "albumin": "20 g/L"}),
        );
        assert!((si.value - 9.616).abs() < 1e-9);
    }
}
