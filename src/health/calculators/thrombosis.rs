//! Venous thromboembolism risk: the Caprini score (2005 risk assessment model).

use super::inputs::{InputSpec, Values};
use super::{Calculator, Computed, OutputSpec};
use crate::health::InputError;

pub const ALL: &[Calculator] = &[CAPRINI];

/// The 2005 form's items: input name, label, points (Caprini 2005, Figure 1).
const ITEMS: &[(&str, &str, i32)] = &[
    ("minor_surgery", "Minor surgery planned", 1),
    (
        "major_surgery_past_month",
        "Major surgery in the past month",
        1,
    ),
    ("varicose_veins", "Varicose veins", 1),
    (
        "inflammatory_bowel_disease",
        "History of inflammatory bowel disease",
        1,
    ),
    ("swollen_legs", "Swollen legs now", 1),
    ("obesity_bmi_over_25", "Obesity (BMI over 25)", 1),
    (
        "acute_myocardial_infarction",
        "Acute myocardial infarction",
        1,
    ),
    (
        "heart_failure_past_month",
        "Congestive heart failure in the past month",
        1,
    ),
    ("sepsis_past_month", "Sepsis in the past month", 1),
    (
        "serious_lung_disease_past_month",
        "Serious lung disease, including pneumonia, in the past month",
        1,
    ),
    (
        "abnormal_pulmonary_function",
        "Abnormal pulmonary function (COPD)",
        1,
    ),
    (
        "medical_patient_at_bed_rest",
        "Medical patient currently at bed rest",
        1,
    ),
    (
        "oral_contraceptives_or_hrt",
        "Oral contraceptives or hormone replacement therapy",
        1,
    ),
    (
        "pregnant_or_postpartum",
        "Pregnant or postpartum (under a month)",
        1,
    ),
    (
        "adverse_pregnancy_history",
        "Unexplained stillbirth, three or more spontaneous abortions, or premature birth with toxaemia or growth restriction",
        1,
    ),
    ("arthroscopic_surgery", "Arthroscopic surgery", 2),
    ("malignancy", "Malignancy, present or previous", 2),
    (
        "major_surgery_over_45_min",
        "Major open surgery over 45 minutes",
        2,
    ),
    (
        "laparoscopic_surgery_over_45_min",
        "Laparoscopic surgery over 45 minutes",
        2,
    ),
    (
        "confined_to_bed_over_72_h",
        "Confined to bed over 72 hours",
        2,
    ),
    (
        "immobilising_cast",
        "Immobilising plaster cast in the past month",
        2,
    ),
    ("central_venous_access", "Central venous access", 2),
    ("history_of_vte", "History of DVT or pulmonary embolism", 3),
    (
        "family_history_of_thrombosis",
        "Family history of thrombosis",
        3,
    ),
    ("factor_v_leiden", "Factor V Leiden positive", 3),
    ("prothrombin_20210a", "Prothrombin 20210A positive", 3),
    ("elevated_homocysteine", "Elevated serum homocysteine", 3),
    ("lupus_anticoagulant", "Lupus anticoagulant positive", 3),
    (
        "anticardiolipin_antibodies",
        "Elevated anticardiolipin antibodies",
        3,
    ),
    (
        "heparin_induced_thrombocytopenia",
        "Heparin-induced thrombocytopenia",
        3,
    ),
    (
        "other_thrombophilia",
        "Other congenital or acquired thrombophilia",
        3,
    ),
    (
        "lower_limb_arthroplasty",
        "Elective major lower extremity arthroplasty",
        5,
    ),
    (
        "hip_pelvis_or_leg_fracture",
        "Hip, pelvis or leg fracture in the past month",
        5,
    ),
    ("stroke_past_month", "Stroke in the past month", 5),
    (
        "multiple_trauma_past_month",
        "Multiple trauma in the past month",
        5,
    ),
    (
        "spinal_cord_injury_past_month",
        "Acute spinal cord injury with paralysis in the past month",
        5,
    ),
];

const fn inputs() -> [InputSpec; ITEMS.len() + 1] {
    let mut specs = [InputSpec::quantity("age", "Age", "years", &[], 18.0, 120.0); ITEMS.len() + 1];
    let mut i = 0;
    while i < ITEMS.len() {
        specs[i + 1] = InputSpec::flag(ITEMS[i].0, ITEMS[i].1);
        i += 1;
    }
    specs
}

const CAPRINI_INPUTS: [InputSpec; ITEMS.len() + 1] = inputs();

const CAPRINI: Calculator = Calculator {
    id: "caprini",
    name: "Caprini score (venous thromboembolism risk, 2005)",
    category: "scores",
    inputs: &CAPRINI_INPUTS,
    output: OutputSpec {
        name: "Caprini score",
        unit: "points",
        decimals: 0,
    },
    references: &[
        (
            "caprini-2005",
            "Caprini JA. Thrombosis risk assessment as a guide to quality patient care. Dis Mon 2005;51(2-3):70-78 (the risk assessment form: items worth 1, 2, 3 and 5 points; age 41-60 years 1, 61-74 years 2, 75 years or more 3).",
        ),
        (
            "gould-2012",
            "Gould MK, Garcia DA, Wren SM, et al. Prevention of VTE in nonorthopedic surgical patients: Antithrombotic Therapy and Prevention of Thrombosis, 9th ed: American College of Chest Physicians evidence-based clinical practice guidelines. Chest 2012;141(2 Suppl):e227S-e277S (risk groups: 0 very low, 1-2 low, 3-4 moderate, 5 or more high).",
        ),
    ],
    compute: caprini,
};

fn caprini(values: &Values) -> Result<Computed, InputError> {
    let age = values.number("age")?;
    let age_points = match age {
        a if a <= 40.0 => 0,
        a if a <= 60.0 => 1,
        a if a < 75.0 => 2,
        _ => 3,
    };
    let mut total = age_points;
    let mut parts = vec![format!("age {age_points}")];
    for (name, _, points) in ITEMS {
        if values.flag(name) {
            total += points;
            parts.push(format!("{name} {points}"));
        }
    }
    // The ACCP 2012 groups (Gould 2012), which most current protocols use; Caprini's own
    // 2005 paper grouped 0-1 low, 2 moderate, 3-4 high, 5 or more highest.
    let group = match total {
        0 => "very low risk (ACCP 2012: early ambulation, no specific prophylaxis)",
        1 | 2 => "low risk (ACCP 2012: mechanical prophylaxis suggested)",
        3 | 4 => "moderate risk (ACCP 2012: pharmacological or mechanical prophylaxis)",
        _ => "high risk (ACCP 2012: pharmacological prophylaxis, with mechanical if appropriate)",
    };
    let mut computed = Computed::new(f64::from(total), parts.join(" + ")).interpreted(group);
    computed.warnings.push(
        "Caprini's 2005 paper grouped the same totals differently (0-1 low, 2 moderate, 3-4 high, 5+ highest); the ACCP 2012 groups are given.".into(),
    );
    Ok(computed)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn run(inputs: Value) -> Computed {
        let values =
            Values::parse(CAPRINI.inputs, inputs.as_object().expect("object")).expect("valid");
        (CAPRINI.compute)(&values).expect("computes")
    }

    #[test]
    fn caprini_adds_the_age_band_and_every_item_present() {
        // A 68-year-old (2) having major open surgery over 45 minutes (2) for a malignancy
        // (2), with varicose veins (1) and a history of DVT (3): 10, high risk.
        let result = run(
            json!({"age": 68, "major_surgery_over_45_min": true, "malignancy": true,
            "varicose_veins": true, "history_of_vte": true}),
        );
        assert_eq!(result.value, 10.0);
        assert!(
            result
                .interpretation
                .unwrap_or_default()
                .starts_with("high")
        );
    }

    #[test]
    fn caprini_age_bands_and_groups_sit_at_their_edges() {
        assert_eq!(run(json!({"age": 40})).value, 0.0);
        assert_eq!(run(json!({"age": 41})).value, 1.0);
        assert_eq!(run(json!({"age": 60})).value, 1.0);
        assert_eq!(run(json!({"age": 61})).value, 2.0);
        assert_eq!(run(json!({"age": 74})).value, 2.0);
        assert_eq!(run(json!({"age": 75})).value, 3.0);
        assert!(
            run(json!({"age": 30}))
                .interpretation
                .unwrap_or_default()
                .starts_with("very low")
        );
        assert!(
            run(json!({"age": 75, "minor_surgery": true}))
                .interpretation
                .unwrap_or_default()
                .starts_with("moderate")
        );
        assert_eq!(
            run(json!({"age": 30, "hip_pelvis_or_leg_fracture": true})).value,
            5.0
        );
    }

    #[test]
    fn every_item_of_the_form_counts_its_points() {
        let all: serde_json::Map<String, Value> = ITEMS
            .iter()
            .map(|(name, _, _)| (name.to_string(), json!(true)))
            .collect();
        let mut inputs = all;
        inputs.insert("age".into(), json!(30));
        let expected: i32 = ITEMS.iter().map(|(_, _, p)| p).sum();
        assert_eq!(run(Value::Object(inputs)).value, f64::from(expected));
    }
}
