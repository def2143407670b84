//! APACHE II (Knaus 1985): the acute physiology score from the worst values of the first 24
//! hours in intensive care, plus age and chronic health points.

use super::inputs::{InputSpec, Values, times, units};
use super::{Calculator, Computed, OutputSpec};
use crate::health::InputError;

pub const ALL: &[Calculator] = &[APACHE_II];

const APACHE_II: Calculator = Calculator {
    id: "apache_ii",
    name: "APACHE II score",
    category: "critical_care",
    inputs: &[
        InputSpec::quantity("age", "Age", "years", &[], 16.0, 120.0),
        InputSpec::quantity(
            "temperature",
            "Temperature (rectal)",
            "C",
            units::TEMPERATURE_C,
            20.0,
            45.0,
        ),
        InputSpec::quantity(
            "mean_arterial_pressure",
            "Mean arterial pressure",
            "mmHg",
            &[],
            10.0,
            250.0,
        ),
        InputSpec::quantity("heart_rate", "Heart rate", "beats/min", &[], 0.0, 300.0),
        InputSpec::quantity(
            "respiratory_rate",
            "Respiratory rate",
            "breaths/min",
            &[],
            0.0,
            100.0,
        ),
        InputSpec::quantity("fio2", "FiO2", "fraction", &[times("%", 0.01)], 0.21, 1.0),
        InputSpec::quantity(
            "pao2",
            "PaO2",
            "mmHg",
            &[times("kPa", 7.500_62)],
            10.0,
            700.0,
        ),
        InputSpec {
            optional: true,
            ..InputSpec::quantity(
                "paco2",
                "PaCO2 (for the A-a gradient when FiO2 ≥ 0.5)",
                "mmHg",
                &[times("kPa", 7.500_62)],
                5.0,
                200.0,
            )
        },
        InputSpec::quantity("arterial_ph", "Arterial pH", "", &[], 6.5, 8.0),
        InputSpec::quantity(
            "sodium",
            "Serum sodium",
            "mmol/L",
            units::MONOVALENT_MMOL_L,
            80.0,
            220.0,
        ),
        InputSpec::quantity(
            "potassium",
            "Serum potassium",
            "mmol/L",
            units::MONOVALENT_MMOL_L,
            1.0,
            12.0,
        ),
        InputSpec::quantity(
            "creatinine",
            "Serum creatinine",
            "mg/dL",
            units::CREATININE_MG_DL,
            0.1,
            30.0,
        ),
        InputSpec::flag(
            "acute_renal_failure",
            "Acute renal failure (creatinine points double)",
        ),
        InputSpec::quantity("hematocrit", "Haematocrit", "%", &[], 5.0, 80.0),
        InputSpec::quantity("wbc", "White cell count", "10^9/L", &[], 0.0, 300.0),
        InputSpec::quantity("gcs", "Glasgow Coma Scale", "points", &[], 3.0, 15.0),
        InputSpec {
            optional: true,
            ..InputSpec::choice(
                "chronic_health",
                "Severe organ insufficiency or immunocompromise",
                &[
                    "none",
                    "elective_postoperative",
                    "nonoperative_or_emergency_postoperative",
                ],
            )
        },
    ],
    output: OutputSpec {
        name: "APACHE II",
        unit: "points",
        decimals: 0,
    },
    references: &[(
        "knaus-1985",
        "Knaus WA, Draper EA, Wagner DP, Zimmerman JE. APACHE II: a severity of disease classification system. Crit Care Med 1985;13(10):818-829 (Figure 1: the acute physiology score, age points and chronic health points).",
    )],
    compute: apache_ii,
};

/// Points of `value` on a two-sided scale: `high` thresholds (value ≥ t scores p, the first
/// that applies, checked from the top) and `low` ones (value < t scores p, from the bottom).
fn banded(value: f64, high: &[(f64, i32)], low: &[(f64, i32)]) -> i32 {
    if let Some((_, p)) = high.iter().find(|(t, _)| value >= *t) {
        return *p;
    }
    low.iter()
        .find(|(t, _)| value < *t)
        .map(|(_, p)| *p)
        .unwrap_or(0)
}

/// A-a gradient at sea level: FiO2 × (760 − 47) − PaCO2 / 0.8 − PaO2.
fn aa_gradient(fio2: f64, paco2: f64, pao2: f64) -> f64 {
    fio2 * (760.0 - 47.0) - paco2 / 0.8 - pao2
}

fn apache_ii(values: &Values) -> Result<Computed, InputError> {
    let age = values.number("age")?;
    let fio2 = values.number("fio2")?;
    let pao2 = values.number("pao2")?;
    // Knaus 1985, Figure 1; the low bands are read "below the next band's lower bound".
    let temperature = banded(
        values.number("temperature")?,
        &[(41.0, 4), (39.0, 3), (38.5, 1)],
        &[(30.0, 4), (32.0, 3), (34.0, 2), (36.0, 1)],
    );
    let map = banded(
        values.number("mean_arterial_pressure")?,
        &[(160.0, 4), (130.0, 3), (110.0, 2)],
        &[(50.0, 4), (70.0, 2)],
    );
    let heart = banded(
        values.number("heart_rate")?,
        &[(180.0, 4), (140.0, 3), (110.0, 2)],
        &[(40.0, 4), (55.0, 3), (70.0, 2)],
    );
    let respiration = banded(
        values.number("respiratory_rate")?,
        &[(50.0, 4), (35.0, 3), (25.0, 1)],
        &[(6.0, 4), (10.0, 2), (12.0, 1)],
    );
    let (oxygenation, oxygen_working) = if fio2 >= 0.5 {
        let Some(paco2) = values.optional_number("paco2") else {
            return Err(InputError::new(
                "inputs.paco2",
                "with FiO2 0.5 or more the A-a gradient is scored, which needs PaCO2",
                "PaCO2 5–200 mmHg",
            ));
        };
        let gradient = aa_gradient(fio2, paco2, pao2);
        (
            banded(gradient, &[(500.0, 4), (350.0, 3), (200.0, 2)], &[]),
            format!("A-a gradient {gradient:.0} mmHg"),
        )
    } else {
        (
            banded(pao2, &[], &[(55.0, 4), (61.0, 3), (70.5, 1)]),
            format!("PaO2 {pao2:.0} mmHg"),
        )
    };
    let ph = banded(
        values.number("arterial_ph")?,
        &[(7.7, 4), (7.6, 3), (7.5, 1)],
        &[(7.15, 4), (7.25, 3), (7.33, 2)],
    );
    let sodium = banded(
        values.number("sodium")?,
        &[(180.0, 4), (160.0, 3), (155.0, 2), (150.0, 1)],
        &[(111.0, 4), (120.0, 3), (130.0, 2)],
    );
    let potassium = banded(
        values.number("potassium")?,
        &[(7.0, 4), (6.0, 3), (5.5, 1)],
        &[(2.5, 4), (3.0, 2), (3.5, 1)],
    );
    let renal_failure = values.flag("acute_renal_failure");
    let creatinine = banded(
        values.number("creatinine")?,
        &[(3.5, 4), (2.0, 3), (1.5, 2)],
        &[(0.6, 2)],
    ) * if renal_failure { 2 } else { 1 };
    let hematocrit = banded(
        values.number("hematocrit")?,
        &[(60.0, 4), (50.0, 2), (46.0, 1)],
        &[(20.0, 4), (30.0, 2)],
    );
    let wbc = banded(
        values.number("wbc")?,
        &[(40.0, 4), (20.0, 2), (15.0, 1)],
        &[(1.0, 4), (3.0, 2)],
    );
    let gcs = values.number("gcs")?;
    if gcs.fract() != 0.0 {
        return Err(InputError::new(
            "inputs.gcs",
            "the Glasgow Coma Scale is a whole number",
            "3–15",
        ));
    }
    let neurology = 15 - gcs as i32;
    let age_points = banded(age, &[(75.0, 6), (65.0, 5), (55.0, 3), (45.0, 2)], &[]);
    let chronic = match values.choice("chronic_health").unwrap_or("none") {
        "elective_postoperative" => 2,
        "nonoperative_or_emergency_postoperative" => 5,
        _ => 0,
    };
    let physiology = temperature
        + map
        + heart
        + respiration
        + oxygenation
        + ph
        + sodium
        + potassium
        + creatinine
        + hematocrit
        + wbc
        + neurology;
    let total = physiology + age_points + chronic;
    let working = format!(
        "acute physiology {physiology} (temperature {temperature}, MAP {map}, heart rate {heart}, respiratory rate {respiration}, oxygenation {oxygenation} [{oxygen_working}], pH {ph}, sodium {sodium}, potassium {potassium}, creatinine {creatinine}{}, haematocrit {hematocrit}, WBC {wbc}, 15 − GCS {neurology}) + age {age_points} + chronic health {chronic} = {total}",
        if renal_failure {
            " (doubled for acute renal failure)"
        } else {
            ""
        }
    );
    let mut computed = Computed::new(f64::from(total), working).interpreted(
        "Higher scores predict higher hospital mortality (range 0–71); Knaus 1985 converts the score to a risk with a diagnostic-category weight, not given here.",
    );
    computed.warnings.push(
        "Use the worst value of each measure in the first 24 hours in intensive care.".into(),
    );
    Ok(computed)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn run(inputs: Value) -> Result<Computed, InputError> {
        let values = Values::parse(APACHE_II.inputs, inputs.as_object().expect("object"))?;
        (APACHE_II.compute)(&values)
    }

    fn normal() -> serde_json::Map<String, Value> {
        json!({"age": 40, "temperature": 37, "mean_arterial_pressure": 90, "heart_rate": 80,
            "respiratory_rate": 16, "fio2": 0.21, "pao2": 90, "arterial_ph": 7.4, "sodium": 140,
            "potassium": 4.0, "creatinine": 1.0, "hematocrit": 40, "wbc": 8, "gcs": 15})
        .as_object()
        .cloned()
        .unwrap_or_default()
    }

    fn with(changes: Value) -> Result<Computed, InputError> {
        let mut inputs = normal();
        inputs.extend(changes.as_object().cloned().unwrap_or_default());
        run(Value::Object(inputs))
    }

    #[test]
    fn a_normal_young_patient_scores_zero() {
        assert_eq!(with(json!({})).expect("ok").value, 0.0);
    }

    #[test]
    fn a_sick_patient_adds_up_item_by_item() {
        // Worked by hand from Knaus 1985, Figure 1: 67 years (5); 39.2 °C (3); MAP 65 (2);
        // heart rate 125 (2); respiratory rate 30 (1); FiO2 0.6 with PaO2 80 and PaCO2 32:
        // A-a = 0.6 × 713 − 32/0.8 − 80 = 307.8 (2); pH 7.30 (2); sodium 132 (0);
        // potassium 3.2 (1); creatinine 2.4 with acute renal failure (3 × 2 = 6);
        // haematocrit 28 (2); WBC 18 (1); GCS 12 (3); emergency surgery with cirrhosis (5).
        // Physiology 3+2+2+1+2+2+0+1+6+2+1+3 = 25; + 5 + 5 = 35.
        let result = with(
            json!({"age": 67, "temperature": 39.2, "mean_arterial_pressure": 65,
            "heart_rate": 125, "respiratory_rate": 30, "fio2": 0.6, "pao2": 80, "paco2": 32,
            "arterial_ph": 7.30, "sodium": 132, "potassium": 3.2, "creatinine": 2.4,
            "acute_renal_failure": true, "hematocrit": 28, "wbc": 18, "gcs": 12,
            "chronic_health": "nonoperative_or_emergency_postoperative"}),
        )
        .expect("ok");
        assert_eq!(result.value, 35.0, "{}", result.working);
    }

    #[test]
    fn band_edges_follow_the_published_table() {
        let points = |changes: Value| with(changes).expect("ok").value;
        assert_eq!(points(json!({"temperature": 38.4})), 0.0);
        assert_eq!(points(json!({"temperature": 38.5})), 1.0);
        assert_eq!(points(json!({"temperature": "102.2 F"})), 3.0, "39 °C");
        assert_eq!(points(json!({"heart_rate": 69})), 2.0);
        assert_eq!(points(json!({"heart_rate": 70})), 0.0);
        assert_eq!(points(json!({"pao2": 70})), 1.0);
        assert_eq!(points(json!({"pao2": 71})), 0.0);
        assert_eq!(points(json!({"pao2": 54})), 4.0);
        assert_eq!(points(json!({"sodium": 150})), 1.0);
        assert_eq!(points(json!({"sodium": 110})), 4.0);
        assert_eq!(points(json!({"age": 44})), 0.0);
        assert_eq!(points(json!({"age": 75})), 6.0);
        assert_eq!(points(json!({"creatinine": 0.5})), 2.0);
    }

    #[test]
    fn a_high_fio2_without_paco2_is_refused_by_name() {
        let error = with(json!({"fio2": 0.6})).expect_err("refused");
        assert_eq!(error.field, "inputs.paco2");
    }
}
