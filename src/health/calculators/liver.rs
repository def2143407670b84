//! Liver calculators.

use super::inputs::{Alternative, InputSpec, Values, times, units};
use super::{Calculator, Computed, OutputSpec};
use crate::health::InputError;

pub const ALL: &[Calculator] = &[FIB_4, CHILD_PUGH];

/// Platelets: per µL to 10^9/L.
const PLATELETS_10E9_L: &[Alternative] = &[times("/uL", 0.001)];
/// Bilirubin: 1 mg/dL = 17.1 µmol/L (molar mass 584.66 g/mol).
const BILIRUBIN_MG_DL: &[Alternative] = &[times("umol/L", 1.0 / 17.1)];

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
            BILIRUBIN_MG_DL,
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
