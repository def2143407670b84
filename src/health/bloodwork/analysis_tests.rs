//! Tests of the whole analysis: conversions at the edge, flags, errors naming the field,
//! derived values and the text a client shows.

use super::*;

fn table() -> ReferenceTable {
    let catalog = crate::catalog::Catalog::load(None, None).unwrap();
    let file = catalog.tool_file(super::super::table::TABLE_PATH).unwrap();
    ReferenceTable::parse(&file.text).unwrap()
}

fn args(sex: Sex, age: f64, results: &[(&str, f64, &str)]) -> BloodworkArguments {
    BloodworkArguments {
        sex,
        age_years: age,
        results: results
            .iter()
            .map(|&(test, value, unit)| LabResult {
                test: test.into(),
                value,
                unit: unit.into(),
            })
            .collect(),
    }
}

fn one(sex: Sex, test: &str, value: f64, unit: &str) -> Finding {
    let report = analyse(&table(), &args(sex, 45.0, &[(test, value, unit)])).unwrap();
    report.findings.into_iter().next().unwrap()
}

fn error(arguments: BloodworkArguments) -> InputError {
    analyse(&table(), &arguments).unwrap_err()
}

#[test]
fn glucose_in_mmol_per_litre_converts_to_mg_per_decilitre_and_back() {
    // 18.016 mg/dL per mmol/L (molar mass 180.16 g/mol): 5.55 mmol/L × 18.016 = 99.99 mg/dL,
    // and 100 mg/dL ÷ 18.016 = 5.5506 mmol/L, which converts back to 100.00 mg/dL.
    let finding = one(Sex::Male, "glucose", 5.55, "mmol/L");
    assert_eq!(finding.unit, "mg/dL");
    assert!((finding.value - 99.99).abs() < 0.005);
    assert_eq!(finding.flag, Flag::Normal);
    let back = one(Sex::Male, "glucose", 100.0 / 18.016, "mmol/L");
    assert!((back.value - 100.0).abs() < 1e-9);
    assert_eq!(back.flag, one(Sex::Male, "glucose", 100.0, "mg/dL").flag);
}

#[test]
fn creatinine_of_88_4_micromol_per_litre_is_1_mg_per_decilitre_with_any_micro_sign() {
    // 1 mg/dL = 88.4 µmol/L (creatinine 113.12 g/mol; Young 1987).
    for unit in ["µmol/L", "umol/L", "μmol/l", "micromol/L"] {
        let finding = one(Sex::Male, "creatinine", 88.4, unit);
        assert!((finding.value - 1.0).abs() < 1e-9, "{unit}");
    }
}

#[test]
fn inputs_used_carry_the_converted_value_and_the_given_one() {
    let report = analyse(
        &table(),
        &args(Sex::Female, 50.0, &[("Scr", 70.72, "µmol/L")]),
    )
    .unwrap();
    let input = &report.inputs_used.results[0];
    assert_eq!(input.analyte, "creatinine");
    assert_eq!(input.value, 0.8);
    assert_eq!(input.unit, "mg/dL");
    assert_eq!(input.given_value, 70.72);
    assert_eq!(input.given_unit, "µmol/L");
    // 70.72 µmol/L = 0.8 mg/dL: the CKD-EPI 2021 worked example (equations.rs), 89.71.
    let egfr = report.derived.iter().find(|d| d.id == "egfr").unwrap();
    assert_eq!(egfr.value, 89.71);
}

#[test]
fn hba1c_in_ifcc_units_converts_by_the_master_equation() {
    // 48 mmol/mol: 0.09148 × 48 + 2.152 = 6.54 % (Hoelzel 2004), the ADA diabetes range.
    let finding = one(Sex::Female, "HbA1c", 48.0, "mmol/mol");
    assert_eq!(finding.value, 6.54);
    assert_eq!(finding.flag, Flag::High);
    assert!(finding.category.unwrap().starts_with("diabetes range"));
}

#[test]
fn sodium_at_its_reference_limits_is_normal_and_just_outside_is_flagged() {
    assert_eq!(one(Sex::Male, "Na", 135.0, "mmol/L").flag, Flag::Normal);
    assert_eq!(one(Sex::Male, "Na", 145.0, "mEq/L").flag, Flag::Normal);
    assert_eq!(one(Sex::Male, "Na", 134.9, "mmol/L").flag, Flag::Low);
    assert_eq!(one(Sex::Male, "Na", 145.1, "mmol/L").flag, Flag::High);
}

#[test]
fn potassium_and_glucose_at_critical_limits_are_critical_with_a_warning() {
    // Kost 1990: potassium 2.8 and 6.2 mmol/L; glucose 46 and 484 mg/dL.
    assert_eq!(one(Sex::Male, "K", 6.2, "mmol/L").flag, Flag::CriticalHigh);
    assert_eq!(one(Sex::Male, "K", 2.8, "mmol/L").flag, Flag::CriticalLow);
    assert_eq!(one(Sex::Male, "K", 6.1, "mmol/L").flag, Flag::High);
    let report = analyse(
        &table(),
        &args(Sex::Male, 60.0, &[("glucose", 40.0, "mg/dL")]),
    )
    .unwrap();
    assert_eq!(report.findings[0].flag, Flag::CriticalLow);
    assert!(report.warnings[0].starts_with("CRITICAL"));
    assert!(report.summary.contains("critical limit"));
}

#[test]
fn sex_specific_intervals_apply_to_haemoglobin() {
    // Kratz 2004: men 13.5–17.5 g/dL, women 12.0–16.0 g/dL; 125 g/L = 12.5 g/dL.
    assert_eq!(one(Sex::Female, "Hb", 125.0, "g/L").flag, Flag::Normal);
    assert_eq!(one(Sex::Male, "Hb", 125.0, "g/L").flag, Flag::Low);
}

#[test]
fn an_unknown_unit_names_the_field_and_the_accepted_units() {
    let e = error(args(
        Sex::Male,
        40.0,
        &[("glucose", 5.0, "mg/dL"), ("glucose", 5.0, "g/L")],
    ));
    assert_eq!(e.field, "results[1].unit");
    assert!(
        e.accepted.contains("mg/dL") && e.accepted.contains("mmol/L"),
        "{}",
        e.accepted
    );
}

#[test]
fn an_unknown_test_names_the_field_and_suggests_close_names() {
    let e = error(args(Sex::Male, 40.0, &[("cholesterl", 5.0, "mmol/L")]));
    assert_eq!(e.field, "results[0].test");
    assert!(e.accepted.contains("cholesterol"), "{}", e.accepted);
    let e = error(args(Sex::Male, 40.0, &[("  ", 5.0, "mmol/L")]));
    assert_eq!(e.field, "results[0].test");
}

#[test]
fn missing_nan_negative_and_out_of_range_inputs_name_their_field() {
    let e = error(args(Sex::Male, 40.0, &[("glucose", f64::NAN, "mg/dL")]));
    assert_eq!(e.field, "results[0].value");
    let e = error(args(Sex::Male, 40.0, &[("glucose", -1.0, "mg/dL")]));
    assert_eq!(e.field, "results[0].value");
    let e = error(args(Sex::Male, 17.0, &[("glucose", 90.0, "mg/dL")]));
    assert_eq!(e.field, "age_years");
    assert!(e.accepted.contains("18"));
    let e = error(args(Sex::Male, f64::NAN, &[("glucose", 90.0, "mg/dL")]));
    assert_eq!(e.field, "age_years");
    let e = error(args(Sex::Male, 121.0, &[("glucose", 90.0, "mg/dL")]));
    assert_eq!(e.field, "age_years");
    let e = error(args(Sex::Male, 40.0, &[]));
    assert_eq!(e.field, "results");
    let many = vec![("glucose", 90.0, "mg/dL"); MAX_RESULTS + 1];
    assert_eq!(error(args(Sex::Male, 40.0, &many)).field, "results");
    let e = error(args(Sex::Male, 40.0, &[("glucose", 1e308, "mmol/L")]));
    assert_eq!(e.field, "results[0].value");
}

#[test]
fn arguments_refuse_unknown_fields_and_unknown_sexes() {
    let parse = |v: serde_json::Value| serde_json::from_value::<BloodworkArguments>(v);
    assert!(
        parse(
            serde_json::json!({"sex": "female", "age_years": 40, "results": [
        {"test": "glucose", "value": 90, "unit": "mg/dL"}]})
        )
        .is_ok()
    );
    assert!(
        parse(
            serde_json::json!({"sex": "female", "age_years": 40, "fasting": true,
        "results": []})
        )
        .is_err()
    );
    assert!(parse(serde_json::json!({"sex": "other", "age_years": 40, "results": []})).is_err());
    assert!(parse(serde_json::json!({"sex": "male", "results": []})).is_err());
}

#[test]
fn a_full_panel_derives_values_finds_patterns_and_cites_every_source() {
    let report = analyse(
        &table(),
        &args(
            Sex::Female,
            50.0,
            &[
                ("fasting glucose", 7.2, "mmol/L"),
                ("HbA1c", 7.1, "%"),
                ("total cholesterol", 200.0, "mg/dL"),
                ("HDL", 50.0, "mg/dL"),
                ("triglycerides", 150.0, "mg/dL"),
                ("creatinine", 0.8, "mg/dL"),
                ("sodium", 140.0, "mmol/L"),
                ("chloride", 104.0, "mmol/L"),
                ("bicarbonate", 24.0, "mmol/L"),
                ("calcium", 2.0, "mmol/L"),
                ("albumin", 30.0, "g/L"),
                ("2345-7", 130.0, "mg/dL"),
            ],
        ),
    )
    .unwrap();
    let derived: Vec<_> = report.derived.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(
        derived,
        vec![
            "egfr",
            "non_hdl",
            "ldl_friedewald",
            "ldl_sampson",
            "anion_gap",
            "corrected_calcium"
        ]
    );
    assert_eq!(report.patterns[0].id, "diabetes_range");
    assert!(report.warnings.iter().any(|w| w.contains("more than once")));
    let cited: Vec<&String> = report
        .findings
        .iter()
        .flat_map(|f| &f.sources)
        .chain(report.derived.iter().flat_map(|d| &d.sources))
        .chain(report.patterns.iter().flat_map(|p| &p.sources))
        .collect();
    for id in cited {
        assert!(
            report.sources.iter().any(|s| &s.id == id),
            "{id} not resolved"
        );
    }
    assert!(report.sources.iter().any(|s| s.id == "young-1987"));
    let text = report.to_text();
    assert!(text.starts_with(&report.summary));
    assert!(text.contains("eGFR (CKD-EPI 2021"));
    assert!(text.contains("89.71"));
    assert!(text.contains("not a diagnosis"));
}

#[test]
fn a_normal_panel_has_no_patterns_and_says_all_within_range() {
    let report = analyse(
        &table(),
        &args(
            Sex::Male,
            30.0,
            &[("TSH", 2.0, "mIU/L"), ("WBC", 6.0, "10^3/µL")],
        ),
    )
    .unwrap();
    assert!(report.patterns.is_empty());
    assert!(report.summary.contains("2 within range, 0 outside."));
}
