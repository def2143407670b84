//! Liver calculators.

use super::inputs::{Alternative, InputSpec, Values, times, units};
use super::{Calculator, Computed, OutputSpec};
use crate::health::InputError;

pub const ALL: &[Calculator] = &[FIB_4, CHILD_PUGH, MELD_NA];

const MELD_NA: Calculator = Calculator {
    id: "meld_na",
    name: "MELD-Na (UNOS 2016)",
    category: "liver",
    inputs: &[
        InputSpec::quantity(
            "creatinine",
            "Serum creatinine",
            "mg/dL",
            units::CREATININE_MG_DL,
            0.1,
            20.0,
        ),
        InputSpec::quantity(
            "bilirubin",
            "Total bilirubin",
            "mg/dL",
            units::BILIRUBIN_MG_DL,
            0.1,
            80.0,
        ),
        InputSpec::quantity("inr", "INR", "", &[], 0.5, 15.0),
        InputSpec::quantity(
            "sodium",
            "Sodium",
            "mmol/L",
            &[times("mEq/L", 1.0)],
            100.0,
            180.0,
        ),
        InputSpec::flag(
            "dialysis_twice_in_past_week",
            "Dialysis at least twice, or 24 h of CVVHD, in the past week",
        ),
    ],
    output: OutputSpec {
        name: "MELD-Na",
        unit: "points",
        decimals: 0,
    },
    references: &[
        (
            "kim-2008",
            "Kim WR, Biggins SW, Kremers WK, et al. Hyponatremia and mortality among patients on the liver-transplant waiting list. N Engl J Med 2008;359(10):1018-1026.",
        ),
        (
            "optn-meld-2016",
            "Organ Procurement and Transplantation Network. MELD serum sodium policy, effective 11 January 2016: bounds (creatinine, bilirubin, INR at least 1.0; creatinine at most 4.0 or 4.0 on dialysis; sodium 125-137), MELD(i) rounded to the tenth and multiplied by 10, the sodium term applied when MELD(i) > 11, maximum 40.",
        ),
    ],
    compute: meld_na,
};

fn meld_na(values: &Values) -> Result<Computed, InputError> {
    let dialysis = values.flag("dialysis_twice_in_past_week");
    let creatinine = if dialysis {
        4.0
    } else {
        values.number("creatinine")?.clamp(1.0, 4.0)
    };
    let bilirubin = values.number("bilirubin")?.max(1.0);
    let inr = values.number("inr")?.max(1.0);
    let sodium = values.number("sodium")?.clamp(125.0, 137.0);
    let raw = 0.957 * creatinine.ln() + 0.378 * bilirubin.ln() + 1.120 * inr.ln() + 0.643;
    let meld = (raw * 10.0).round() / 10.0 * 10.0;
    let with_sodium = if meld > 11.0 {
        meld + 1.32 * (137.0 - sodium) - 0.033 * meld * (137.0 - sodium)
    } else {
        meld
    };
    let score = with_sodium.round().min(40.0);
    Ok(Computed::new(
        score,
        format!(
            "MELD(i) = 10 × round(0.957 ln {creatinine} + 0.378 ln {bilirubin} + 1.120 ln {inr} + 0.643, 1) = {meld:.1}; \
             {}",
            if meld > 11.0 {
                format!("+ 1.32 × (137 − {sodium}) − 0.033 × {meld:.1} × (137 − {sodium}) = {with_sodium:.2}")
            } else {
                "MELD(i) ≤ 11: no sodium term".to_string()
            }
        ),
    )
    .warn("Values below 1.0 are set to 1.0, creatinine above 4.0 (or on dialysis) to 4.0, and sodium is bounded to 125–137, as the OPTN policy requires."))
}

/// Platelets: per µL to 10^9/L.
const PLATELETS_10E9_L: &[Alternative] = &[times("/uL", 0.001)];

const FIB_4: Calculator = Calculator {
    id: "fib_4",
    name: "FIB-4 index for liver fibrosis",
    category: "liver",
    inputs: &[
        InputSpec::quantity("age", "Age", "years", &[], 18.0, 110.0),
        InputSpec::quantity("ast", "AST", "U/L", &[], 1.0, 10_000.0),
        InputSpec::quantity("alt", "ALT", "U/L", &[], 1.0, 10_000.0),
        InputSpec::quantity(
            "platelets",
            "Platelets",
            "10^9/L",
            PLATELETS_10E9_L,
            1.0,
            2000.0,
        ),
    ],
    output: OutputSpec {
        name: "FIB-4",
        unit: "",
        decimals: 2,
    },
    references: &[(
        "sterling-2006",
        "Sterling RK, Lissen E, Clumeck N, et al. Development of a simple noninvasive index to predict significant fibrosis in patients with HIV/HCV coinfection. Hepatology 2006;43(6):1317-1325.",
    )],
    compute: fib_4,
};

/// FIB-4 = age × AST / (platelets [10^9/L] × √ALT).
fn fib_4(values: &Values) -> Result<Computed, InputError> {
    let age = values.number("age")?;
    let ast = values.number("ast")?;
    let alt = values.number("alt")?;
    let platelets = values.number("platelets")?;
    let index = age * ast / (platelets * alt.sqrt());
    // Sterling 2006: < 1.45 excludes, > 3.25 indicates advanced fibrosis.
    let reading = if index < 1.45 {
        "< 1.45: advanced fibrosis unlikely"
    } else if index > 3.25 {
        "> 3.25: advanced fibrosis likely"
    } else {
        "1.45–3.25: indeterminate; consider elastography"
    };
    Ok(
        Computed::new(index, format!("{age} × {ast} / ({platelets} × √{alt})"))
            .interpreted(reading),
    )
}

const CHILD_PUGH: Calculator = Calculator {
    id: "child_pugh",
    name: "Child-Pugh score",
    category: "liver",
    inputs: &[
        InputSpec::quantity(
            "bilirubin",
            "Total bilirubin",
            "mg/dL",
            units::BILIRUBIN_MG_DL,
            0.1,
            50.0,
        ),
        InputSpec::quantity("albumin", "Albumin", "g/dL", units::ALBUMIN_G_DL, 0.5, 7.0),
        InputSpec::quantity("inr", "INR", "", &[], 0.5, 15.0),
        InputSpec::choice("ascites", "Ascites", &["none", "slight", "moderate"]),
        InputSpec::choice(
            "encephalopathy",
            "Hepatic encephalopathy",
            &["none", "grade_1_2", "grade_3_4"],
        ),
    ],
    output: OutputSpec {
        name: "Child-Pugh score",
        unit: "points",
        decimals: 0,
    },
    references: &[(
        "pugh-1973",
        "Pugh RN, Murray-Lyon IM, Dawson JL, Pietroni MC, Williams R. Transection of the oesophagus for bleeding oesophageal varices. Br J Surg 1973;60(8):646-649 (the INR bands are the later convention replacing prothrombin time).",
    )],
    compute: child_pugh,
};

fn child_pugh(values: &Values) -> Result<Computed, InputError> {
    let bilirubin = values.number("bilirubin")?;
    let albumin = values.number("albumin")?;
    let inr = values.number("inr")?;
    let bilirubin_points = if bilirubin < 2.0 {
        1
    } else if bilirubin <= 3.0 {
        2
    } else {
        3
    };
    let albumin_points = if albumin > 3.5 {
        1
    } else if albumin >= 2.8 {
        2
    } else {
        3
    };
    let inr_points = if inr < 1.7 {
        1
    } else if inr <= 2.3 {
        2
    } else {
        3
    };
    let ascites_points = match values.choice("ascites")? {
        "none" => 1,
        "slight" => 2,
        _ => 3,
    };
    let encephalopathy_points = match values.choice("encephalopathy")? {
        "none" => 1,
        "grade_1_2" => 2,
        _ => 3,
    };
    let total =
        bilirubin_points + albumin_points + inr_points + ascites_points + encephalopathy_points;
    let class = match total {
        5 | 6 => "class A (5–6)",
        7..=9 => "class B (7–9)",
        _ => "class C (10–15)",
    };
    Ok(Computed::new(
        f64::from(total),
        format!(
            "bilirubin {bilirubin_points} + albumin {albumin_points} + INR {inr_points} + ascites {ascites_points} + encephalopathy {encephalopathy_points}"
        ),
    )
    .interpreted(class))
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
    fn fib_4_of_a_50_year_old_with_ast_40_alt_36_and_platelets_200_is_1_67() {
        // 50 × 40 / (200 × √36) = 2000 / 1200 = 1.667.
        let result = run(
            &FIB_4,
            json!({"age": 50, "ast": 40, "alt": 36, "platelets": 200}),
        );
        assert!((result.value - 1.6667).abs() < 1e-4);
        assert!(result.interpretation.unwrap().starts_with("1.45–3.25"));
        // Platelets per µL convert: 200,000/µL = 200 × 10^9/L.
        let per_ul = run(
            &FIB_4,
            json!({"age": 50, "ast": 40, "alt": 36, "platelets": "200000 /uL"}),
        );
        assert!((per_ul.value - 1.6667).abs() < 1e-4);
    }

    #[test]
    fn meld_na_follows_the_optn_rounding_and_bounds() {
        // Cr 1.9, bilirubin 4.2, INR 1.2: 0.957 ln 1.9 + 0.378 ln 4.2 + 1.120 ln 1.2 + 0.643
        //   = 0.61425 + 0.54246 + 0.20420 + 0.643 = 2.00392 → 2.0 → MELD(i) 20.0;
        // with Na 135: 20 + 1.32 × 2 − 0.033 × 20 × 2 = 21.32 → 21.
        let result = run(
            &MELD_NA,
            json!({"creatinine": 1.9, "bilirubin": 4.2, "inr": 1.2, "sodium": 135}),
        );
        assert_eq!(result.value, 21.0);
        // All at their lower bounds: round(0.643, 1) = 0.6, so MELD(i) = 6, no sodium term.
        let floor = run(
            &MELD_NA,
            json!({"creatinine": 0.5, "bilirubin": 0.5, "inr": 0.9, "sodium": 140}),
        );
        assert_eq!(floor.value, 6.0);
        // Dialysis sets creatinine to 4.0 whatever was measured.
        let dialysis = run(
            &MELD_NA,
            json!({"creatinine": 1.0, "bilirubin": 1.0, "inr": 1.0,
            "sodium": 137, "dialysis_twice_in_past_week": true}),
        );
        // 0.957 ln 4 + 0.643 = 1.97967 → 2.0 → 20.
        assert_eq!(dialysis.value, 20.0);
    }

    #[test]
    fn child_pugh_bands_each_item_and_classes_the_total() {
        let compensated = run(
            &CHILD_PUGH,
            json!({"bilirubin": 1.0, "albumin": 4.0, "inr": 1.1,
            "ascites": "none", "encephalopathy": "none"}),
        );
        assert_eq!(compensated.value, 5.0);
        assert_eq!(compensated.interpretation.as_deref(), Some("class A (5–6)"));
        // Bilirubin 2.5 (2), albumin 3.0 (2), INR 2.0 (2), slight ascites (2), none (1) = 9.
        let b = run(
            &CHILD_PUGH,
            json!({"bilirubin": 2.5, "albumin": 3.0, "inr": 2.0,
            "ascites": "slight", "encephalopathy": "none"}),
        );
        assert_eq!(b.value, 9.0);
        let c = run(
            &CHILD_PUGH,
            json!({"bilirubin": "60 umol/L", "albumin": "25 g/L", "inr": 2.5,
            "ascites": "moderate", "encephalopathy": "grade_3_4"}),
        );
        assert_eq!(c.value, 15.0);
    }
}
