//! Combinations of flagged results worth a clinician's look, each stated as "consistent
//! with" and paired with what would confirm or refute it, with its sources.
//!
//! A pattern is a prompt for follow-up; this file must never word one as a diagnosis, and
//! must not compute values (it reads flags and derived values already made).

use std::collections::HashMap;

use schemars::JsonSchema;
use serde::Serialize;

use super::derived::DerivedValue;
use super::flags::Flag;

/// The first given value of each analyte, by table id: canonical value and its flag.
pub type Readings<'a> = HashMap<&'a str, (f64, Flag)>;

/// A combination of results that may mean something, with what would confirm it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Pattern {
    /// A stable id, e.g. `diabetes_range` or `microcytic_anaemia`.
    pub id: String,
    /// What the results are consistent with: never a diagnosis.
    pub statement: String,
    /// What a clinician would do to confirm or refute it.
    pub confirm_with: String,
    /// Citation ids, resolved in the result's `sources`.
    pub sources: Vec<String>,
}

fn pattern(id: &str, statement: String, confirm_with: &str, sources: &[&str]) -> Pattern {
    Pattern {
        id: id.into(),
        statement,
        confirm_with: confirm_with.into(),
        sources: sources.iter().map(|s| s.to_string()).collect(),
    }
}

fn is_high(flag: Flag) -> bool {
    matches!(flag, Flag::High | Flag::CriticalHigh)
}

fn is_low(flag: Flag) -> bool {
    matches!(flag, Flag::Low | Flag::CriticalLow)
}

/// Every pattern the readings and derived values show.
pub fn find_patterns(readings: &Readings, derived: &[DerivedValue]) -> Vec<Pattern> {
    let mut out = Vec::new();
    let value = |id: &str| readings.get(id).map(|&(v, _)| v);
    let flag_of = |id: &str| readings.get(id).map(|&(_, f)| f);
    glycaemia(value("glucose"), value("hba1c"), &mut out);
    anaemia(&flag_of, value("ferritin"), value("vitamin_b12"), &mut out);

    if let Some(egfr) = derived.iter().find(|d| d.id == "egfr")
        && egfr.value < 60.0
    {
        out.push(pattern(
            "reduced_egfr",
            format!(
                "eGFR {:.0} mL/min/1.73 m² is below 60: consistent with reduced kidney function if it persists.",
                egfr.value
            ),
            "Repeat creatinine (eGFR) after 3 months and measure the urine albumin-to-creatinine ratio (KDIGO 2012); a single result can reflect dehydration, acute illness, muscle mass or a recent meat meal.",
            &["kdigo-2012", "ckd-epi-2021"],
        ));
    }

    thyroid(flag_of("tsh"), flag_of("free_t4"), &mut out);

    let hepatocellular = [flag_of("alt"), flag_of("ast")]
        .into_iter()
        .flatten()
        .any(is_high);
    let cholestatic = [flag_of("alp"), flag_of("ggt")]
        .into_iter()
        .flatten()
        .any(is_high);
    if hepatocellular || cholestatic {
        let kind = match (hepatocellular, cholestatic) {
            (true, true) => {
                "transaminases and ALP/GGT both above range: a mixed liver-test pattern"
            }
            (true, false) => "transaminases (ALT/AST) above range: a hepatocellular pattern",
            _ => "ALP/GGT above range with transaminases not raised: a cholestatic pattern",
        };
        out.push(pattern(
            "liver_tests",
            format!("{}{}.", kind[..1].to_uppercase(), &kind[1..]),
            "Repeat the liver tests; a clinician weighs alcohol, medicines, fatty liver and viral hepatitis. ALP also comes from bone, and GGT confirms a liver source.",
            &["kratz-2004"],
        ));
    }

    let ldl = value("ldl").or_else(|| {
        derived
            .iter()
            .find(|d| d.id == "ldl_sampson" || d.id == "ldl_friedewald")
            .map(|d| d.value)
    });
    if ldl.is_some_and(|v| v >= 190.0) {
        out.push(pattern(
            "severe_hypercholesterolaemia",
            "LDL cholesterol of 190 mg/dL or more: in the 2018 AHA/ACC guideline's severe hypercholesterolaemia range.".into(),
            "Repeat a fasting lipid panel and exclude secondary causes (hypothyroidism, nephrotic syndrome, cholestasis, medicines); the guideline then considers familial hypercholesterolaemia.",
            &["aha-acc-2018"],
        ));
    }
    if value("triglycerides").is_some_and(|v| v >= 500.0) {
        out.push(pattern(
            "severe_hypertriglyceridaemia",
            "Triglycerides of 500 mg/dL or more: severe hypertriglyceridaemia, with a risk of pancreatitis that rises further above 1000 mg/dL.".into(),
            "Repeat fasting and review secondary causes (uncontrolled diabetes, alcohol, hypothyroidism, kidney or liver disease, medicines).",
            &["aha-acc-2018"],
        ));
    }
    if let Some(calcium) = derived.iter().find(|d| d.id == "corrected_calcium")
        && let Some(flag) = calcium.flag.filter(|f| *f != Flag::Normal)
    {
        let side = if is_high(flag) { "above" } else { "below" };
        out.push(pattern(
            "corrected_calcium",
            format!("Albumin-corrected calcium {:.1} mg/dL is {side} the reference interval.", calcium.value),
            "Repeat with an ionised calcium; if confirmed, a clinician would check PTH, vitamin D, phosphate and kidney function.",
            &["payne-1973", "kratz-2004"],
        ));
    }
    out
}

fn glycaemia(glucose: Option<f64>, a1c: Option<f64>, out: &mut Vec<Pattern>) {
    let glucose_dm = glucose.is_some_and(|g| g >= 126.0);
    let a1c_dm = a1c.is_some_and(|a| a >= 6.5);
    let sources = ["ada-2024-dx"];
    if glucose_dm && a1c_dm {
        out.push(pattern(
            "diabetes_range",
            "Fasting glucose and HbA1c are both in the diabetes range: consistent with diabetes.".into(),
            "ADA 2024 counts two abnormal results (from one sample or two) as meeting its diagnostic criteria, provided the glucose was truly fasting and nothing interferes with HbA1c (anaemia, haemoglobin variants, recent transfusion, pregnancy); a clinician makes the diagnosis.",
            &sources,
        ));
    } else if glucose_dm || a1c_dm {
        let which = if glucose_dm {
            "Fasting glucose"
        } else {
            "HbA1c"
        };
        out.push(pattern(
            "diabetes_range",
            format!("{which} is in the diabetes range: consistent with diabetes, but one result is not enough."),
            "ADA 2024 requires confirmation by a second abnormal result (the same test repeated, or another test) unless there is unequivocal hyperglycaemia with classic symptoms.",
            &sources,
        ));
    } else if glucose.is_some_and(|g| g >= 100.0) || a1c.is_some_and(|a| a >= 5.7) {
        out.push(pattern(
            "prediabetes_range",
            "Glucose or HbA1c is in the prediabetes range (fasting glucose 100–125 mg/dL or HbA1c 5.7–6.4%).".into(),
            "ADA 2024: confirm with a repeat test; the glucose thresholds apply only to a fasting sample.",
            &sources,
        ));
    }
}

fn anaemia(
    flag_of: &dyn Fn(&str) -> Option<Flag>,
    ferritin: Option<f64>,
    b12: Option<f64>,
    out: &mut Vec<Pattern>,
) {
    let low_hb = flag_of("haemoglobin").is_some_and(is_low);
    let mcv = flag_of("mcv");
    let low_ferritin = ferritin.is_some_and(|f| f < 15.0);
    if low_hb && mcv.is_some_and(is_low) {
        let support = if low_ferritin {
            " Ferritin below 15 µg/L (WHO 2020) supports iron deficiency."
        } else {
            ""
        };
        out.push(pattern(
            "microcytic_anaemia",
            format!("Low haemoglobin with a low MCV: a microcytic anaemia pattern, most often from iron deficiency.{support}"),
            "Ferritin and iron studies if not done; thalassaemia trait and chronic inflammation can look similar (ferritin rises with inflammation); a clinician looks for the cause of any iron loss.",
            &["kratz-2004", "who-2020-ferritin"],
        ));
    } else if low_hb && mcv.is_some_and(is_high) {
        let support = if b12.is_some_and(|b| b < 200.0) {
            " Vitamin B12 below 200 pg/mL supports B12 deficiency."
        } else {
            ""
        };
        out.push(pattern(
            "macrocytic_anaemia",
            format!("Low haemoglobin with a high MCV: a macrocytic anaemia pattern.{support}"),
            "Vitamin B12 and folate (methylmalonic acid if B12 is borderline), reticulocytes and a blood film; alcohol, liver disease and some medicines also raise MCV.",
            &["kratz-2004", "stabler-2013"],
        ));
    } else if low_ferritin {
        out.push(pattern(
            "low_ferritin",
            "Ferritin below 15 µg/L: below the WHO 2020 threshold for iron deficiency in apparently healthy adults.".into(),
            "A full blood count if not done; a clinician looks for the cause of iron loss or poor absorption.",
            &["who-2020-ferritin"],
        ));
    }
}

fn thyroid(tsh: Option<Flag>, ft4: Option<Flag>, out: &mut Vec<Pattern>) {
    let Some(tsh) = tsh.filter(|f| *f != Flag::Normal) else {
        return;
    };
    let statement = match (is_high(tsh), ft4) {
        (true, Some(f)) if is_low(f) => {
            "TSH above and free T4 below range: consistent with primary hypothyroidism."
        }
        (true, Some(Flag::Normal)) => {
            "TSH above range with a normal free T4: a subclinical hypothyroidism pattern."
        }
        (false, Some(f)) if is_high(f) => {
            "TSH below and free T4 above range: consistent with hyperthyroidism."
        }
        (false, Some(Flag::Normal)) => {
            "TSH below range with a normal free T4: a subclinical hyperthyroidism pattern."
        }
        (true, None) => "TSH above range; free T4 is needed to interpret it.",
        (false, None) => "TSH below range; free T4 (and T3) are needed to interpret it.",
        _ => {
            "TSH and free T4 are both outside range in the same direction, an unusual combination (assay interference or pituitary causes)."
        }
    };
    out.push(pattern(
        "thyroid",
        statement.into(),
        "Repeat TSH with free T4 after some weeks; acute illness, recovery from illness, biotin supplements and some medicines change results.",
        &["hollowell-2002"],
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(readings: &Readings) -> Vec<String> {
        find_patterns(readings, &[])
            .into_iter()
            .map(|p| p.id)
            .collect()
    }

    #[test]
    fn glucose_and_hba1c_both_in_the_diabetes_range_are_stated_as_consistent_with_diabetes() {
        let readings: Readings = [
            ("glucose", (130.0, Flag::High)),
            ("hba1c", (7.0, Flag::High)),
        ]
        .into_iter()
        .collect();
        let found = find_patterns(&readings, &[]);
        assert_eq!(found[0].id, "diabetes_range");
        assert!(found[0].statement.contains("consistent with diabetes"));
        assert!(!found[0].statement.to_lowercase().contains("you have"));
    }

    #[test]
    fn one_result_in_the_diabetes_range_asks_for_confirmation() {
        let readings: Readings = [("hba1c", (6.6, Flag::High))].into_iter().collect();
        let found = find_patterns(&readings, &[]);
        assert!(found[0].confirm_with.contains("second abnormal result"));
        let readings: Readings = [("hba1c", (6.0, Flag::High))].into_iter().collect();
        assert_eq!(ids(&readings), vec!["prediabetes_range"]);
    }

    #[test]
    fn low_haemoglobin_and_mcv_with_low_ferritin_is_a_microcytic_pattern() {
        let readings: Readings = [
            ("haemoglobin", (10.0, Flag::Low)),
            ("mcv", (72.0, Flag::Low)),
            ("ferritin", (8.0, Flag::Low)),
        ]
        .into_iter()
        .collect();
        let found = find_patterns(&readings, &[]);
        assert_eq!(found[0].id, "microcytic_anaemia");
        assert!(found[0].statement.contains("supports iron deficiency"));
    }

    #[test]
    fn high_tsh_with_low_free_t4_reads_as_consistent_with_hypothyroidism() {
        let readings: Readings = [("tsh", (9.0, Flag::High)), ("free_t4", (0.6, Flag::Low))]
            .into_iter()
            .collect();
        let found = find_patterns(&readings, &[]);
        assert!(found[0].statement.contains("primary hypothyroidism"));
    }

    #[test]
    fn normal_results_show_no_pattern() {
        let readings: Readings = [
            ("glucose", (90.0, Flag::Normal)),
            ("haemoglobin", (14.0, Flag::Normal)),
            ("tsh", (2.0, Flag::Normal)),
        ]
        .into_iter()
        .collect();
        assert!(ids(&readings).is_empty());
    }
}
