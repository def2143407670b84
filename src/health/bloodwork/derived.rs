//! Which derived values the given results allow, computed through `equations` and flagged
//! where a cited threshold exists: eGFR with its KDIGO category, LDL by Friedewald and by
//! Sampson, non-HDL cholesterol, the anion gap and albumin-corrected calcium.
//!
//! It takes values already in canonical units; it must not parse units or word patterns.

use std::collections::HashMap;

use schemars::JsonSchema;
use serde::Serialize;

use super::Sex;
use super::equations::{
    FRIEDEWALD_MAX_TG, GPerDl, MgPerDl, MmolPerL, SAMPSON_MAX_TG, Years, anion_gap, ckd_epi_2021,
    corrected_calcium, kdigo_gfr_category, ldl_friedewald, ldl_sampson, non_hdl,
};
use super::flags::{Flag, flag};
use super::table::ReferenceTable;

/// The first given value of each analyte, by table id, in its canonical unit.
pub type Measured<'a> = HashMap<&'a str, f64>;

/// A value calculated from other results.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DerivedValue {
    /// A stable id: `egfr`, `ldl_friedewald`, `ldl_sampson`, `non_hdl`, `anion_gap`,
    /// `corrected_calcium`.
    pub id: String,
    /// What it is and how it was computed, e.g. `eGFR (CKD-EPI 2021, creatinine, no race term)`.
    pub name: String,
    /// The value, rounded to two decimals.
    pub value: f64,
    pub unit: String,
    /// Where the value sits against a cited threshold, when one applies.
    pub flag: Option<Flag>,
    /// The guideline band, e.g. `G2: mildly decreased` for eGFR.
    pub category: Option<String>,
    /// The analyte ids it was computed from.
    pub inputs: Vec<String>,
    /// A caveat on reading this value.
    pub note: Option<String>,
    /// Citation ids, resolved in the result's `sources`.
    pub sources: Vec<String>,
}

/// What `derive` found, and what it could not compute and why.
#[derive(Debug, Default)]
pub struct Derivation {
    pub values: Vec<DerivedValue>,
    pub warnings: Vec<String>,
}

pub fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

fn value(
    id: &str,
    name: &str,
    amount: f64,
    unit: &str,
    inputs: &[&str],
    sources: &[&str],
) -> DerivedValue {
    DerivedValue {
        id: id.into(),
        name: name.into(),
        value: round2(amount),
        unit: unit.into(),
        flag: None,
        category: None,
        inputs: inputs.iter().map(|s| s.to_string()).collect(),
        note: None,
        sources: sources.iter().map(|s| s.to_string()).collect(),
    }
}

/// Every derived value whose inputs are present.
pub fn derive(measured: &Measured, sex: Sex, age: Years, table: &ReferenceTable) -> Derivation {
    let mut out = Derivation::default();
    let get = |id: &str| measured.get(id).copied();

    if let Some(scr) = get("creatinine") {
        if scr > 0.0 {
            let egfr = ckd_epi_2021(MgPerDl(scr), age, sex);
            let (stage, wording) = kdigo_gfr_category(egfr);
            let mut v = value(
                "egfr",
                "eGFR (CKD-EPI 2021 creatinine equation, no race term)",
                egfr.0,
                "mL/min/1.73 m²",
                &["creatinine"],
                &["ckd-epi-2021", "kdigo-2012"],
            );
            v.flag = Some(if egfr.0 < 60.0 {
                Flag::Low
            } else {
                Flag::Normal
            });
            v.category = Some(format!("{stage}: {wording} (KDIGO 2012)"));
            v.note = Some(
                "Assumes stable kidney function. KDIGO defines chronic kidney disease only when \
                 eGFR below 60 or markers of kidney damage persist for more than 3 months."
                    .into(),
            );
            out.values.push(v);
        } else {
            out.warnings
                .push("eGFR not computed: creatinine must be above zero.".into());
        }
    }

    if let (Some(tc), Some(hdl)) = (get("total_cholesterol"), get("hdl")) {
        let mut v = value(
            "non_hdl",
            "Non-HDL cholesterol (total − HDL)",
            non_hdl(MgPerDl(tc), MgPerDl(hdl)).0,
            "mg/dL",
            &["total_cholesterol", "hdl"],
            &["ncep-atp3-2002"],
        );
        v.note = Some("ATP III sets the non-HDL goal 30 mg/dL above the LDL-C goal.".into());
        out.values.push(v);

        if let Some(tg) = get("triglycerides") {
            let ldl_analyte = table.analyte("ldl");
            let flag_ldl = |v: &mut DerivedValue| {
                if let Some(ldl) = ldl_analyte {
                    if let Some(interval) = ldl.interval_for(sex) {
                        v.flag = Some(flag(v.value, interval, ldl.critical.as_ref()));
                        if !v.sources.contains(&interval.source) {
                            v.sources.push(interval.source.clone());
                        }
                    }
                    if let Some(category) = ldl.category_for(v.value) {
                        v.category = Some(category.label.clone());
                        if !v.sources.contains(&category.source) {
                            v.sources.push(category.source.clone());
                        }
                    }
                }
            };
            let inputs = ["total_cholesterol", "hdl", "triglycerides"];
            match ldl_friedewald(MgPerDl(tc), MgPerDl(hdl), MgPerDl(tg)) {
                Some(ldl) => {
                    let mut v = value(
                        "ldl_friedewald",
                        "LDL cholesterol, calculated (Friedewald)",
                        ldl.0,
                        "mg/dL",
                        &inputs,
                        &["friedewald-1972"],
                    );
                    flag_ldl(&mut v);
                    v.note = Some("Assumes a fasting sample; underestimates LDL when triglycerides are high or LDL is low.".into());
                    out.values.push(v);
                }
                None => out.warnings.push(format!(
                    "Friedewald LDL not computed: triglycerides {tg:.0} mg/dL are at or above {:.0} mg/dL, where the equation is not valid.",
                    FRIEDEWALD_MAX_TG.0
                )),
            }
            if MgPerDl(tg) <= SAMPSON_MAX_TG {
                let mut v = value(
                    "ldl_sampson",
                    "LDL cholesterol, calculated (Sampson/NIH equation 2)",
                    ldl_sampson(MgPerDl(tc), MgPerDl(hdl), MgPerDl(tg)).0,
                    "mg/dL",
                    &inputs,
                    &["sampson-2020"],
                );
                flag_ldl(&mut v);
                out.values.push(v);
            } else {
                out.warnings.push(format!(
                    "Sampson LDL not computed: triglycerides {tg:.0} mg/dL are above {:.0} mg/dL, the limit it was validated to; a direct LDL measurement is needed.",
                    SAMPSON_MAX_TG.0
                ));
            }
        }
    }

    if let (Some(na), Some(cl), Some(hco3)) = (get("sodium"), get("chloride"), get("bicarbonate")) {
        let mut v = value(
            "anion_gap",
            "Anion gap (Na − (Cl + HCO3))",
            anion_gap(MmolPerL(na), MmolPerL(cl), MmolPerL(hco3)).0,
            "mmol/L",
            &["sodium", "chloride", "bicarbonate"],
            &["kraut-madias-2007"],
        );
        v.note = Some(
            "Its reference range depends on the analyser (about 3–11 mmol/L with ion-selective \
             electrodes, 8–16 mmol/L with older methods) and falls with low albumin; read it \
             against the laboratory's own range."
                .into(),
        );
        out.values.push(v);
    }

    if let (Some(ca), Some(alb)) = (get("calcium"), get("albumin")) {
        let mut v = value(
            "corrected_calcium",
            "Calcium corrected for albumin (Payne)",
            corrected_calcium(MgPerDl(ca), GPerDl(alb)).0,
            "mg/dL",
            &["calcium", "albumin"],
            &["payne-1973"],
        );
        if let Some(calcium) = table.analyte("calcium")
            && let Some(interval) = calcium.interval_for(sex)
        {
            v.flag = Some(flag(v.value, interval, calcium.critical.as_ref()));
            v.sources.push(interval.source.clone());
        }
        v.note = Some(
            "An approximation; ionised calcium is the direct measure when albumin is abnormal."
                .into(),
        );
        out.values.push(v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> ReferenceTable {
        let catalog = crate::catalog::Catalog::load(None, None).unwrap();
        let file = catalog.tool_file(super::super::table::TABLE_PATH).unwrap();
        ReferenceTable::parse(&file.text).unwrap()
    }

    #[test]
    fn nothing_is_derived_when_the_inputs_are_missing() {
        let measured: Measured = [("glucose", 90.0)].into_iter().collect();
        let d = derive(&measured, Sex::Male, Years(50.0), &table());
        assert!(d.values.is_empty());
        assert!(d.warnings.is_empty());
    }

    #[test]
    fn a_lipid_panel_gives_non_hdl_and_both_ldl_estimates_with_flags() {
        let measured: Measured = [
            ("total_cholesterol", 200.0),
            ("hdl", 50.0),
            ("triglycerides", 150.0),
        ]
        .into_iter()
        .collect();
        let d = derive(&measured, Sex::Female, Years(50.0), &table());
        let ids: Vec<_> = d.values.iter().map(|v| v.id.as_str()).collect();
        assert_eq!(ids, vec!["non_hdl", "ldl_friedewald", "ldl_sampson"]);
        let friedewald = &d.values[1];
        assert_eq!(friedewald.value, 120.0);
        assert_eq!(friedewald.flag, Some(Flag::Normal));
        assert_eq!(d.values[2].value, 123.4);
    }

    #[test]
    fn high_triglycerides_skip_friedewald_and_very_high_skip_sampson_with_warnings() {
        let mut measured: Measured = [
            ("total_cholesterol", 250.0),
            ("hdl", 35.0),
            ("triglycerides", 500.0),
        ]
        .into_iter()
        .collect();
        let d = derive(&measured, Sex::Male, Years(50.0), &table());
        assert!(d.values.iter().all(|v| v.id != "ldl_friedewald"));
        assert!(d.values.iter().any(|v| v.id == "ldl_sampson"));
        assert!(d.warnings[0].contains("Friedewald"));
        measured.insert("triglycerides", 900.0);
        let d = derive(&measured, Sex::Male, Years(50.0), &table());
        assert!(d.values.iter().all(|v| !v.id.starts_with("ldl")));
        assert_eq!(d.warnings.len(), 2);
    }

    #[test]
    fn egfr_below_60_is_flagged_low_with_its_kdigo_category() {
        let measured: Measured = [("creatinine", 2.0)].into_iter().collect();
        let d = derive(&measured, Sex::Male, Years(70.0), &table());
        let egfr = &d.values[0];
        assert_eq!(egfr.flag, Some(Flag::Low));
        assert!(egfr.category.as_deref().unwrap().starts_with("G3b"));
    }

    #[test]
    fn corrected_calcium_is_flagged_against_the_calcium_interval() {
        // 10.2 + 0.8 × (4.0 − 2.0) = 11.8 mg/dL, above 10.5.
        let measured: Measured = [("calcium", 10.2), ("albumin", 2.0)].into_iter().collect();
        let d = derive(&measured, Sex::Female, Years(40.0), &table());
        assert_eq!(d.values[0].value, 11.8);
        assert_eq!(d.values[0].flag, Some(Flag::High));
    }
}
