//! Kidney function calculators.

use super::inputs::{InputSpec, Values, units};
use super::{Calculator, Computed, OutputSpec};
use crate::health::InputError;
use crate::health::bloodwork::{Sex, equations};

pub const ALL: &[Calculator] = &[CKD_EPI_2021, COCKCROFT_GAULT, MDRD_GFR, FENA];

const CKD_EPI_2021: Calculator = Calculator {
    id: "ckd_epi_2021",
    name: "eGFR (CKD-EPI 2021 creatinine, without race)",
    category: "renal",
    inputs: &[
        InputSpec::quantity("age", "Age", "years", &[], 18.0, 110.0),
        InputSpec::quantity(
            "creatinine",
            "Serum creatinine (IDMS-traceable)",
            "mg/dL",
            units::CREATININE_MG_DL,
            0.1,
            20.0,
        ),
        InputSpec::choice("sex", "Sex", &["female", "male"]),
    ],
    output: OutputSpec {
        name: "eGFR",
        unit: "mL/min/1.73 m²",
        decimals: 0,
    },
    references: &[(
        "inker-2021",
        "Inker LA, Eneanya ND, Coresh J, et al. New creatinine- and cystatin C-based equations to estimate GFR without race. N Engl J Med 2021;385(19):1737-1749. doi:10.1056/NEJMoa2102953",
    )],
    compute: ckd_epi_2021,
};

/// The equation is written once, with bloodwork's derived values.
fn ckd_epi_2021_egfr(creatinine_mg_dl: f64, age: f64, female: bool) -> f64 {
    let sex = if female { Sex::Female } else { Sex::Male };
    equations::ckd_epi_2021(
        equations::MgPerDl(creatinine_mg_dl),
        equations::Years(age),
        sex,
    )
    .0
}

fn kdigo_gfr_category(egfr: f64) -> String {
    let (stage, words) = equations::kdigo_gfr_category(equations::Egfr(egfr));
    format!("{stage} ({words})")
}

fn ckd_epi_2021(values: &Values) -> Result<Computed, InputError> {
    let age = values.number("age")?;
    let creatinine = values.number("creatinine")?;
    let female = values.choice("sex")? == "female";
    let egfr = ckd_epi_2021_egfr(creatinine, age, female);
    let (kappa, alpha) = if female { (0.7, -0.241) } else { (0.9, -0.302) };
    Ok(Computed::new(
        egfr,
        format!(
            "142 × min({creatinine}/{kappa}, 1)^{alpha} × max({creatinine}/{kappa}, 1)^−1.200 × 0.9938^{age}{}",
            if female { " × 1.012" } else { "" }
        ),
    )
    .interpreted(kdigo_gfr_category(egfr))
    .warn("A GFR category alone does not diagnose chronic kidney disease: KDIGO requires 3 months' duration and albuminuria staging."))
}

const MDRD_GFR: Calculator = Calculator {
    id: "mdrd_gfr",
    name: "eGFR (MDRD, IDMS-traceable)",
    category: "renal",
    inputs: &[
        InputSpec::quantity("age", "Age", "years", &[], 18.0, 110.0),
        InputSpec::quantity(
            "creatinine",
            "Serum creatinine (IDMS-traceable)",
            "mg/dL",
            units::CREATININE_MG_DL,
            0.1,
            20.0,
        ),
        InputSpec::choice("sex", "Sex", &["female", "male"]),
        InputSpec::flag("black", "Black race (the published equation's coefficient)"),
    ],
    output: OutputSpec {
        name: "eGFR",
        unit: "mL/min/1.73 m²",
        decimals: 0,
    },
    references: &[(
        "levey-2006",
        "Levey AS, Coresh J, Greene T, et al. Using standardized serum creatinine values in the Modification of Diet in Renal Disease study equation for estimating glomerular filtration rate. Ann Intern Med 2006;145(4):247-254.",
    )],
    compute: mdrd_gfr,
};

/// 175 × Scr^−1.154 × age^−0.203 × 0.742 (female) × 1.212 (black).
fn mdrd_gfr(values: &Values) -> Result<Computed, InputError> {
    let age = values.number("age")?;
    let creatinine = values.number("creatinine")?;
    let female = values.choice("sex")? == "female";
    let black = values.flag("black");
    let mut egfr = 175.0 * creatinine.powf(-1.154) * age.powf(-0.203);
    if female {
        egfr *= 0.742;
    }
    if black {
        egfr *= 1.212;
    }
    Ok(Computed::new(
        egfr,
        format!(
            "175 × {creatinine}^−1.154 × {age}^−0.203{}{}",
            if female { " × 0.742" } else { "" },
            if black { " × 1.212" } else { "" }
        ),
    )
    .warn("MDRD underestimates GFR above 60; KDIGO and the NKF-ASN task force (2021) recommend CKD-EPI 2021, which has no race coefficient."))
}

const FENA: Calculator = Calculator {
    id: "fena",
    name: "Fractional excretion of sodium",
    category: "renal",
    inputs: &[
        InputSpec::quantity(
            "urine_sodium",
            "Urine sodium",
            "mmol/L",
            units::MONOVALENT_MMOL_L,
            1.0,
            400.0,
        ),
        InputSpec::quantity(
            "plasma_sodium",
            "Plasma sodium",
            "mmol/L",
            units::MONOVALENT_MMOL_L,
            90.0,
            200.0,
        ),
        InputSpec::quantity(
            "urine_creatinine",
            "Urine creatinine",
            "mg/dL",
            units::CREATININE_MG_DL,
            1.0,
            1000.0,
        ),
        InputSpec::quantity(
            "plasma_creatinine",
            "Plasma creatinine",
            "mg/dL",
            units::CREATININE_MG_DL,
            0.1,
            20.0,
        ),
    ],
    output: OutputSpec {
        name: "FENa",
        unit: "%",
        decimals: 2,
    },
    references: &[(
        "espinel-1976",
        "Espinel CH. The FENa test: use in the differential diagnosis of acute renal failure. JAMA 1976;236(6):579-581.",
    )],
    compute: fena,
};

/// FENa = (urine Na × plasma Cr) / (plasma Na × urine Cr) × 100.
fn fena(values: &Values) -> Result<Computed, InputError> {
    let urine_sodium = values.number("urine_sodium")?;
    let plasma_sodium = values.number("plasma_sodium")?;
    let urine_creatinine = values.number("urine_creatinine")?;
    let plasma_creatinine = values.number("plasma_creatinine")?;
    let fena = urine_sodium * plasma_creatinine / (plasma_sodium * urine_creatinine) * 100.0;
    let reading = if fena < 1.0 {
        "below 1 %: suggests a prerenal cause in oliguric acute kidney injury"
    } else if fena > 2.0 {
        "above 2 %: suggests intrinsic renal (tubular) injury"
    } else {
        "1–2 %: indeterminate"
    };
    Ok(Computed::new(
        fena,
        format!(
            "({urine_sodium} × {plasma_creatinine}) / ({plasma_sodium} × {urine_creatinine}) × 100"
        ),
    )
    .interpreted(reading)
    .warn("Diuretics raise FENa; the fractional excretion of urea is preferred after them."))
}

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
    fn ckd_epi_2021_matches_its_equation_for_a_woman_and_a_man() {
        // Woman, 50 y, Scr 0.8: ratio 0.8/0.7 = 1.142857 > 1, so the min term is 1 and
        // 142 × 1.142857^−1.2 × 0.9938^50 × 1.012
        //   = 142 × 0.851914 × 0.732880 × 1.012 = 89.72 → 90.
        let woman = ckd_epi_2021_egfr(0.8, 50.0, true);
        assert!((woman - 89.72).abs() < 0.05, "{woman}");
        // Man, 60 y, Scr 1.0: ratio 1.111111; 142 × 1.111111^−1.2 × 0.9938^60
        //   = 142 × 0.881232 × 0.688593 = 86.17 → 86.
        let man = ckd_epi_2021_egfr(1.0, 60.0, false);
        assert!((man - 86.17).abs() < 0.01, "{man}");
        // Below κ the α term applies: man, 40 y, Scr 0.7: 142 × 0.777778^−0.302 × 0.9938^40
        //   = 142 × 1.078822 × 0.779880 = 119.47.
        let low = ckd_epi_2021_egfr(0.7, 40.0, false);
        assert!((low - 119.47).abs() < 0.05, "{low}");
        assert_eq!(
            kdigo_gfr_category(59.9),
            "G3a (mildly to moderately decreased)"
        );
    }

    #[test]
    fn mdrd_and_fena_follow_their_formulas() {
        let run_with = |calculator: &Calculator, inputs: serde_json::Value| {
            let values = Values::parse(calculator.inputs, inputs.as_object().unwrap()).unwrap();
            (calculator.compute)(&values).unwrap().value
        };
        // 175 × 1.0^−1.154 × 60^−0.203 = 175 × 0.43558 = 76.2.
        let man = run_with(
            &MDRD_GFR,
            json!({"age": 60, "creatinine": 1.0, "sex": "male"}),
        );
        assert!((man - 76.23).abs() < 0.02, "{man}");
        let woman = run_with(
            &MDRD_GFR,
            json!({"age": 60, "creatinine": 1.0, "sex": "female"}),
        );
        assert!((woman - 76.23 * 0.742).abs() < 0.02, "{woman}");
        // (20 × 2) / (140 × 100) × 100 = 0.2857 %.
        let fena = run_with(
            &FENA,
            json!({"urine_sodium": 20, "plasma_sodium": 140, "urine_creatinine": 100, "plasma_creatinine": 2}),
        );
        assert!((fena - 0.285_714).abs() < 1e-6);
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

    #[test]
    fn the_ckd_epi_calculator_rounds_and_stages_its_result() {
        let values = Values::parse(
            CKD_EPI_2021.inputs,
            json!({"age": 50, "creatinine": "70.72 umol/L", "sex": "female"})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        let result = ckd_epi_2021(&values).unwrap();
        // 70.72 µmol/L = 0.8 mg/dL: 89.71, category G2.
        assert!((result.value - 89.71).abs() < 0.01);
        assert_eq!(
            result.interpretation.as_deref(),
            Some("G2 (mildly decreased)")
        );
    }
}
