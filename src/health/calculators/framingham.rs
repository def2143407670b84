//! The Framingham 10-year risk of hard coronary heart disease (myocardial infarction or
//! coronary death) as the NCEP ATP III report publishes it: sex-specific point tables and
//! the risk each total carries.

use super::inputs::{InputSpec, Values, units};
use super::{Calculator, Computed, OutputSpec};
use crate::health::InputError;

pub const ALL: &[Calculator] = &[FRAMINGHAM_HARD_CHD];

const FRAMINGHAM_HARD_CHD: Calculator = Calculator {
    id: "framingham_hard_chd",
    name: "Framingham 10-year hard CHD risk (ATP III point tables)",
    category: "risk",
    inputs: &[
        InputSpec::quantity("age", "Age", "years", &[], 20.0, 79.0),
        InputSpec::choice("sex", "Sex", &["female", "male"]),
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
            "systolic_bp",
            "Systolic blood pressure",
            "mmHg",
            &[],
            60.0,
            300.0,
        ),
        InputSpec::flag(
            "treated_hypertension",
            "On treatment for high blood pressure",
        ),
        InputSpec::flag("smoker", "Current smoker"),
    ],
    output: OutputSpec {
        name: "10-year hard CHD risk",
        unit: "%",
        decimals: 0,
    },
    references: &[(
        "ncep-atp3-2002",
        "National Cholesterol Education Program Expert Panel. Third Report of the NCEP Expert Panel on Detection, Evaluation, and Treatment of High Blood Cholesterol in Adults (Adult Treatment Panel III), final report. Circulation 2002;106(25):3143-3421 (Appendix III-A: estimate of 10-year risk for men and for women, Framingham point scores).",
    )],
    compute: framingham,
};

/// Index of the age decade used by the cholesterol and smoking rows: 20–39, 40–49, 50–59,
/// 60–69, 70–79.
fn decade(age: f64) -> usize {
    match age {
        a if a < 40.0 => 0,
        a if a < 50.0 => 1,
        a if a < 60.0 => 2,
        a if a < 70.0 => 3,
        _ => 4,
    }
}

/// Column of total cholesterol: < 160, 160–199, 200–239, 240–279, ≥ 280 mg/dL.
fn cholesterol_column(tc: f64) -> usize {
    [160.0, 200.0, 240.0, 280.0]
        .iter()
        .filter(|t| tc >= **t)
        .count()
}

/// Column of systolic pressure: < 120, 120–129, 130–139, 140–159, ≥ 160 mmHg.
fn pressure_column(sbp: f64) -> usize {
    [120.0, 130.0, 140.0, 160.0]
        .iter()
        .filter(|t| sbp >= **t)
        .count()
}

struct PointTable {
    /// Age bands 20–34, 35–39, 40–44 … 75–79.
    age: [i32; 10],
    cholesterol: [[i32; 5]; 5],
    smoker: [i32; 5],
    untreated_sbp: [i32; 5],
    treated_sbp: [i32; 5],
    /// The lowest total with a tabulated risk, the risks (%) from there, and the total from
    /// which the risk is "30 % or more".
    first_total: i32,
    risks: &'static [i32],
}

const MEN: PointTable = PointTable {
    age: [-9, -4, 0, 3, 6, 8, 10, 11, 12, 13],
    cholesterol: [
        [0, 4, 7, 9, 11],
        [0, 3, 5, 6, 8],
        [0, 2, 3, 4, 5],
        [0, 1, 1, 2, 3],
        [0, 0, 0, 1, 1],
    ],
    smoker: [8, 5, 3, 1, 1],
    untreated_sbp: [0, 0, 1, 1, 2],
    treated_sbp: [0, 1, 2, 2, 3],
    // Totals 0–16; below 0 under 1 %, 17 or more 30 % or more.
    first_total: 0,
    risks: &[1, 1, 1, 1, 1, 2, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 25],
};

const WOMEN: PointTable = PointTable {
    age: [-7, -3, 0, 3, 6, 8, 10, 12, 14, 16],
    cholesterol: [
        [0, 4, 8, 11, 13],
        [0, 3, 6, 8, 10],
        [0, 2, 4, 5, 7],
        [0, 1, 2, 3, 4],
        [0, 1, 1, 2, 2],
    ],
    smoker: [9, 7, 4, 2, 1],
    untreated_sbp: [0, 1, 2, 3, 4],
    treated_sbp: [0, 3, 4, 5, 6],
    // Totals 9–24; below 9 under 1 %, 25 or more 30 % or more.
    first_total: 9,
    risks: &[1, 1, 1, 1, 2, 2, 3, 4, 5, 6, 8, 11, 14, 17, 22, 27],
};

fn framingham(values: &Values) -> Result<Computed, InputError> {
    let age = values.number("age")?;
    let male = values.choice("sex")? == "male";
    let tc = values.number("total_cholesterol")?;
    let hdl = values.number("hdl")?;
    let sbp = values.number("systolic_bp")?;
    let table = if male { &MEN } else { &WOMEN };
    let age_band = if age < 35.0 {
        0
    } else {
        (((age - 35.0) / 5.0).floor() as usize + 1).min(9)
    };
    let age_points = table.age[age_band];
    let cholesterol_points = table.cholesterol[decade(age)][cholesterol_column(tc)];
    let smoking_points = if values.flag("smoker") {
        table.smoker[decade(age)]
    } else {
        0
    };
    let hdl_points = match hdl {
        h if h >= 60.0 => -1,
        h if h >= 50.0 => 0,
        h if h >= 40.0 => 1,
        _ => 2,
    };
    let sbp_points = if values.flag("treated_hypertension") {
        table.treated_sbp[pressure_column(sbp)]
    } else {
        table.untreated_sbp[pressure_column(sbp)]
    };
    let total = age_points + cholesterol_points + smoking_points + hdl_points + sbp_points;
    let last = table.first_total + table.risks.len() as i32;
    let (risk, reading) = if total < table.first_total {
        (0.5, "under 1 %".to_string())
    } else if total >= last {
        (30.0, "30 % or more".to_string())
    } else {
        let risk = table.risks[(total - table.first_total) as usize];
        (f64::from(risk), format!("{risk} %"))
    };
    let category = match risk {
        r if r < 10.0 => "low (under 10 %)",
        r if r < 20.0 => "intermediate (10-20 %)",
        _ => "high (20 % or more: a coronary heart disease risk equivalent in ATP III)",
    };
    let mut computed = Computed::new(
        risk,
        format!(
            "points: age {age_points} + total cholesterol {cholesterol_points} + smoking {smoking_points} + HDL {hdl_points} + systolic pressure {sbp_points} = {total}; ATP III table: {reading}"
        ),
    )
    .interpreted(format!("{reading} 10-year risk of myocardial infarction or coronary death: {category}"));
    computed.warnings.push("For adults without coronary heart disease or diabetes (ATP III counts diabetes as a risk equivalent).".into());
    if total < table.first_total {
        computed = computed.text("under 1 %");
    } else if total >= last {
        computed = computed.text("30 % or more");
    }
    Ok(computed)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn run(inputs: Value) -> Computed {
        let values = Values::parse(
            FRAMINGHAM_HARD_CHD.inputs,
            inputs.as_object().expect("object"),
        )
        .expect("valid");
        (FRAMINGHAM_HARD_CHD.compute)(&values).expect("computes")
    }

    #[test]
    fn a_man_is_scored_from_the_atp_iii_tables() {
        // ATP III, men: 55 years (8) + total cholesterol 250 at 50–59 (4) + smoker at 50–59
        // (3) + HDL 39 (2) + untreated systolic 146 (1) = 18 points: 30 % or more.
        let result = run(
            json!({"age": 55, "sex": "male", "total_cholesterol": 250, "hdl": 39,
            "systolic_bp": 146, "smoker": true}),
        );
        assert_eq!(
            result.text.as_deref(),
            Some("30 % or more"),
            "{}",
            result.working
        );
        // The same man not smoking, HDL 45: 8 + 4 + 0 + 1 + 1 = 14 → 16 %.
        let result = run(
            json!({"age": 55, "sex": "male", "total_cholesterol": 250, "hdl": 45,
            "systolic_bp": 146}),
        );
        assert_eq!(result.value, 16.0, "{}", result.working);
    }

    #[test]
    fn a_woman_is_scored_from_her_own_table() {
        // ATP III, women: 62 years (10) + total cholesterol 210 at 60–69 (2) + non-smoker
        // (0) + HDL 55 (0) + treated systolic 135 (4) = 16 points → 4 %.
        let result = run(
            json!({"age": 62, "sex": "female", "total_cholesterol": 210, "hdl": 55,
            "systolic_bp": 135, "treated_hypertension": true}),
        );
        assert_eq!(result.value, 4.0, "{}", result.working);
        // 30 years, low cholesterol, HDL 65: −7 + 0 − 1 + 0 = −8 → under 1 %.
        let low = run(
            json!({"age": 30, "sex": "female", "total_cholesterol": 150, "hdl": 65,
            "systolic_bp": 110}),
        );
        assert_eq!(low.text.as_deref(), Some("under 1 %"));
    }

    #[test]
    fn risk_never_falls_as_age_or_pressure_rises_for_a_non_smoker() {
        // Not for smokers: the published tables give fewer smoking and cholesterol points in
        // each older decade, so a smoker's total can dip by a point at 40, 50, 60 and 70.
        let risk = |age: f64, sbp: f64| {
            run(
                json!({"age": age, "sex": "male", "total_cholesterol": 220, "hdl": 45,
                "systolic_bp": sbp}),
            )
            .value
        };
        for age in 20..79 {
            assert!(
                risk(f64::from(age) + 1.0, 130.0) >= risk(f64::from(age), 130.0),
                "age {age}"
            );
        }
        for sbp in (100..200).step_by(5) {
            assert!(risk(50.0, f64::from(sbp) + 5.0) >= risk(50.0, f64::from(sbp)));
        }
    }
}
