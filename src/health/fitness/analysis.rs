//! Energy and weekly totals: kcal = MET × kg × hours (the Compendium's convention, 1 MET ≈
//! 1 kcal/kg/h), MET-minutes, and the week against the WHO 2020 recommendations, where a
//! vigorous minute counts as two moderate ones.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::matching::{self, Matched, intensity};
use super::table::{Activity, ActivityTable};
use crate::health::{InputError, Source};
use crate::mcp::ToolOutput;

/// 1 lb = 0.45359237 kg exactly (international avoirdupois pound, 1959).
const KG_PER_LB: f64 = 0.453_592_37;
/// WHO 2020: at least 150 (up to 300 or more) moderate-equivalent minutes a week, and
/// muscle strengthening on at least 2 days (Bull 2020).
const WHO_MINIMUM_MINUTES: f64 = 150.0;
const WHO_UPPER_MINUTES: f64 = 300.0;
const WHO_STRENGTH_DAYS: u8 = 2;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityInput {
    /// The activity as a Compendium code ("12050") or in words: "running 6 mph", "brisk
    /// walking", "cycling leisurely", "hatha yoga", "5:30 min/km run".
    pub activity: String,
    /// How long, in minutes (1–1440).
    pub minutes: f64,
    /// On how many days a week this is done (1–7, default 1), for the weekly totals.
    #[serde(default)]
    pub days_per_week: Option<u8>,
    /// `light`, `moderate` or `vigorous`: used only to choose between equally good matches.
    #[serde(default)]
    pub intensity: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FitnessArguments {
    /// Body weight in kilograms (20–350). Give this or `weight_lb`.
    #[serde(default)]
    pub weight_kg: Option<f64>,
    /// Body weight in pounds. Give this or `weight_kg`.
    #[serde(default)]
    pub weight_lb: Option<f64>,
    /// The activities (1–50).
    pub activities: Vec<ActivityInput>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Candidate {
    pub code: String,
    pub description: String,
    pub met: f64,
    pub score: f64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ActivityResult {
    pub input: String,
    /// `matched`, `ambiguous` (the candidates are listed: say which) or `unmatched`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub met: Option<f64>,
    /// How well the text matched the row, 0–1 (1: its code).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub match_score: Option<f64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<Candidate>,
    /// `light` (< 3 MET), `moderate` (3–5.9) or `vigorous` (≥ 6).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intensity: Option<String>,
    pub minutes: f64,
    pub days_per_week: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kcal_per_session: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub met_minutes_per_session: Option<f64>,
    pub muscle_strengthening: bool,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct WeeklyTotals {
    pub kcal: f64,
    pub met_minutes: f64,
    pub moderate_minutes: f64,
    pub vigorous_minutes: f64,
    /// Moderate minutes plus twice the vigorous minutes.
    pub moderate_equivalent_minutes: f64,
    /// Days with muscle-strengthening activity (the most days any one such activity is done).
    pub strength_days: u8,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct WhoAssessment {
    /// At least 150 moderate-equivalent minutes a week.
    pub meets_minimum: bool,
    /// At least 300: the upper end of the range, with additional benefits.
    pub meets_upper_range: bool,
    /// Muscle strengthening on 2 or more days a week.
    pub meets_strength: bool,
    pub minutes_short_of_minimum: f64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FitnessResult {
    pub activities: Vec<ActivityResult>,
    /// The sessions as given, once each.
    pub total_kcal_per_session_set: f64,
    pub weekly: WeeklyTotals,
    pub who_2020: WhoAssessment,
    pub inputs_used: InputsUsed,
    pub sources: Vec<Source>,
    pub warnings: Vec<String>,
    pub summary: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct InputsUsed {
    pub weight_kg: f64,
}

impl ToolOutput for FitnessResult {
    fn to_text(&self) -> String {
        let mut text = self.summary.clone();
        for a in &self.activities {
            match (&a.code, a.kcal_per_session) {
                (Some(code), Some(kcal)) => text.push_str(&format!(
                    "\n- {} → {code} {} ({} MET), {} min: {kcal:.0} kcal",
                    a.input,
                    a.description.as_deref().unwrap_or_default(),
                    a.met.unwrap_or_default(),
                    a.minutes
                )),
                _ => text.push_str(&format!("\n- {}: {}", a.input, a.status)),
            }
        }
        for warning in &self.warnings {
            text.push_str(&format!("\nNote: {warning}"));
        }
        text
    }
}

fn weight(arguments: &FitnessArguments) -> Result<f64, InputError> {
    let kg = match (arguments.weight_kg, arguments.weight_lb) {
        (Some(kg), None) => kg,
        (None, Some(lb)) => lb * KG_PER_LB,
        _ => {
            return Err(InputError::new(
                "weight_kg",
                "give the body weight once, in kg or in lb",
                "weight_kg 20–350 or weight_lb 44–771",
            ));
        }
    };
    if !(kg.is_finite() && (20.0..=350.0).contains(&kg)) {
        return Err(InputError::new(
            "weight_kg",
            format!("{kg:.1} kg is outside the accepted range"),
            "20–350 kg",
        ));
    }
    Ok(kg)
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

pub fn analyse(
    arguments: &FitnessArguments,
    table: &ActivityTable,
) -> Result<FitnessResult, InputError> {
    let kg = weight(arguments)?;
    if arguments.activities.is_empty() || arguments.activities.len() > 50 {
        return Err(InputError::new(
            "activities",
            "give 1 to 50 activities",
            "1–50 activities",
        ));
    }
    let mut results = Vec::new();
    let mut warnings = Vec::new();
    let (mut session_kcal, mut week_kcal, mut week_met_min) = (0.0, 0.0, 0.0);
    let (mut moderate, mut vigorous, mut strength_days) = (0.0, 0.0, 0u8);
    for (i, input) in arguments.activities.iter().enumerate() {
        let text = input.activity.trim();
        if text.is_empty() || text.chars().count() > 200 {
            return Err(InputError::new(
                format!("activities[{i}].activity"),
                "name the activity",
                "a Compendium code or 1–200 characters",
            ));
        }
        if !(input.minutes.is_finite() && (1.0..=1440.0).contains(&input.minutes)) {
            return Err(InputError::new(
                format!("activities[{i}].minutes"),
                format!("{} minutes is out of range", input.minutes),
                "1–1440 minutes",
            ));
        }
        let days = input.days_per_week.unwrap_or(1);
        if !(1..=7).contains(&days) {
            return Err(InputError::new(
                format!("activities[{i}].days_per_week"),
                format!("{days} days"),
                "1–7",
            ));
        }
        let hint = match input.intensity.as_deref().map(str::trim) {
            None => None,
            Some(h @ ("light" | "moderate" | "vigorous")) => Some(h),
            Some(other) => {
                return Err(InputError::new(
                    format!("activities[{i}].intensity"),
                    format!("{other:?} is not an intensity"),
                    "light, moderate or vigorous",
                ));
            }
        };
        let matched = if text.len() == 5 && text.chars().all(|c| c.is_ascii_digit()) {
            match table.by_code(text) {
                Some(activity) => Matched::Found {
                    activity,
                    score: 1.0,
                },
                None => {
                    return Err(InputError::new(
                        format!("activities[{i}].activity"),
                        format!("code {text} is not in the activity table"),
                        "a code listed in tools/health/compendium.toml, or words",
                    ));
                }
            }
        } else {
            matching::best(text, hint, table)
        };
        let mut result = ActivityResult {
            input: text.to_string(),
            status: String::new(),
            code: None,
            description: None,
            met: None,
            match_score: None,
            candidates: Vec::new(),
            intensity: None,
            minutes: input.minutes,
            days_per_week: days,
            kcal_per_session: None,
            met_minutes_per_session: None,
            muscle_strengthening: false,
        };
        let candidates = |list: &[(&Activity, f64)]| {
            list.iter()
                .map(|(a, s)| Candidate {
                    code: a.code.clone(),
                    description: a.description.clone(),
                    met: a.met,
                    score: (s * 100.0).round() / 100.0,
                })
                .collect::<Vec<_>>()
        };
        match matched {
            Matched::Found { activity, score } => {
                let kcal = activity.met * kg * input.minutes / 60.0;
                let met_minutes = activity.met * input.minutes;
                let class = intensity(activity.met);
                session_kcal += kcal;
                week_kcal += kcal * f64::from(days);
                week_met_min += met_minutes * f64::from(days);
                // WHO 2020 counts muscle strengthening apart from aerobic minutes.
                match (class, activity.muscle_strengthening) {
                    (_, true) => {}
                    ("moderate", false) => moderate += input.minutes * f64::from(days),
                    ("vigorous", false) => vigorous += input.minutes * f64::from(days),
                    _ => {}
                }
                if activity.muscle_strengthening {
                    strength_days = strength_days.max(days);
                }
                result.status = "matched".into();
                result.code = Some(activity.code.clone());
                result.description = Some(activity.description.clone());
                result.met = Some(activity.met);
                result.match_score = Some((score * 100.0).round() / 100.0);
                result.intensity = Some(class.into());
                result.kcal_per_session = Some(round1(kcal));
                result.met_minutes_per_session = Some(round1(met_minutes));
                result.muscle_strengthening = activity.muscle_strengthening;
            }
            Matched::Ambiguous { candidates: list } => {
                result.status = "ambiguous".into();
                result.candidates = candidates(&list);
                warnings.push(format!("activities[{i}] {text:?} fits several activities about equally; name it more precisely or give its code (see the candidates). It is left out of the totals"));
            }
            Matched::Unmatched { nearest } => {
                result.status = "unmatched".into();
                result.candidates = candidates(&nearest);
                warnings.push(format!("activities[{i}] {text:?} matched no activity well enough and is left out of the totals"));
            }
        }
        results.push(result);
    }
    let equivalent = moderate + 2.0 * vigorous;
    warnings.push("Energy is a population estimate (MET × kg × hours): individuals differ by 20–30 % with fitness, body composition and efficiency; MET values assume the standard resting rate of 3.5 mL O2/kg/min.".into());
    warnings.push("Light activities (under 3 MET) and muscle-strengthening sessions count toward energy but not toward the WHO aerobic minutes.".into());
    let who = WhoAssessment {
        meets_minimum: equivalent >= WHO_MINIMUM_MINUTES,
        meets_upper_range: equivalent >= WHO_UPPER_MINUTES,
        meets_strength: strength_days >= WHO_STRENGTH_DAYS,
        minutes_short_of_minimum: round1((WHO_MINIMUM_MINUTES - equivalent).max(0.0)),
    };
    let summary = format!(
        "{} of {} activities matched at {kg:.1} kg: {:.0} kcal per session set, {:.0} kcal and {:.0} moderate-equivalent minutes a week. WHO 2020: aerobic minimum {}, strength on 2+ days {}.",
        results.iter().filter(|r| r.status == "matched").count(),
        results.len(),
        session_kcal,
        week_kcal,
        equivalent,
        if who.meets_minimum { "met" } else { "not met" },
        if who.meets_strength { "met" } else { "not met" },
    );
    Ok(FitnessResult {
        activities: results,
        total_kcal_per_session_set: round1(session_kcal),
        weekly: WeeklyTotals {
            kcal: round1(week_kcal),
            met_minutes: round1(week_met_min),
            moderate_minutes: round1(moderate),
            vigorous_minutes: round1(vigorous),
            moderate_equivalent_minutes: round1(equivalent),
            strength_days,
        },
        who_2020: who,
        inputs_used: InputsUsed {
            weight_kg: (kg * 100.0).round() / 100.0,
        },
        sources: table.sources.clone(),
        warnings,
        summary,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn table() -> ActivityTable {
        ActivityTable::parse(include_str!("../../../tools/health/compendium.toml")).expect("valid")
    }

    fn run(arguments: serde_json::Value) -> Result<FitnessResult, InputError> {
        analyse(
            &serde_json::from_value(arguments).expect("arguments"),
            &table(),
        )
    }

    #[test]
    fn the_compendiums_arithmetic_holds_for_a_30_minute_run() {
        // 12050, running 6 mph = 9.8 MET; 70 kg for 0.5 h: 9.8 × 70 × 0.5 = 343 kcal;
        // 9.8 × 30 = 294 MET-minutes.
        let result =
            run(json!({"weight_kg": 70, "activities": [{"activity": "12050", "minutes": 30}]}))
                .expect("ok");
        assert_eq!(result.activities[0].kcal_per_session, Some(343.0));
        assert_eq!(result.activities[0].met_minutes_per_session, Some(294.0));
        assert_eq!(result.activities[0].intensity.as_deref(), Some("vigorous"));
    }

    #[test]
    fn the_who_thresholds_sit_at_their_edges() {
        let week = |activity: &str, minutes: f64| {
            run(json!({"weight_kg": 70, "activities": [{"activity": activity, "minutes": minutes}]})).expect("ok").who_2020
        };
        // 17200 brisk walking is moderate (4.3 MET); 12050 running is vigorous.
        assert!(!week("17200", 149.0).meets_minimum);
        assert!(week("17200", 150.0).meets_minimum);
        assert!(!week("12050", 74.0).meets_minimum);
        assert!(
            week("12050", 75.0).meets_minimum,
            "75 vigorous minutes count as 150"
        );
        assert!(week("12050", 150.0).meets_upper_range);
        assert_eq!(week("17200", 100.0).minutes_short_of_minimum, 50.0);
    }

    #[test]
    fn strength_days_count_muscle_strengthening_activities() {
        let result = run(json!({"weight_kg": 70, "activities": [
            {"activity": "02054", "minutes": 40, "days_per_week": 2},
            {"activity": "17200", "minutes": 30, "days_per_week": 5}
        ]}))
        .expect("ok");
        assert_eq!(result.weekly.strength_days, 2);
        assert!(result.who_2020.meets_strength && result.who_2020.meets_minimum);
        assert_eq!(
            result.weekly.moderate_minutes, 150.0,
            "strength sessions are not aerobic minutes"
        );
    }

    #[test]
    fn more_minutes_and_more_weight_mean_more_energy() {
        let kcal = |kg: f64, minutes: f64| {
            run(json!({"weight_kg": kg, "activities": [{"activity": "01030", "minutes": minutes}]}))
                .expect("ok")
                .total_kcal_per_session_set
        };
        for step in 1..20 {
            let m = f64::from(step) * 10.0;
            assert!(kcal(70.0, m + 10.0) > kcal(70.0, m));
            assert!(kcal(50.0 + m, 30.0) > kcal(40.0 + m, 30.0));
        }
    }

    #[test]
    fn pounds_are_converted_once() {
        let result = run(
            json!({"weight_lb": 154.3236, "activities": [{"activity": "12050", "minutes": 30}]}),
        )
        .expect("ok");
        assert!((result.inputs_used.weight_kg - 70.0).abs() < 0.01);
    }

    #[test]
    fn an_ambiguous_activity_is_reported_and_left_out() {
        let result =
            run(json!({"weight_kg": 70, "activities": [{"activity": "skiing", "minutes": 60}]}))
                .expect("ok");
        assert_eq!(result.activities[0].status, "ambiguous");
        assert!(result.activities[0].candidates.len() >= 2);
        assert_eq!(result.total_kcal_per_session_set, 0.0);
    }

    #[test]
    fn bad_inputs_name_their_field() {
        let cases = [
            (
                json!({"activities": [{"activity": "12050", "minutes": 30}]}),
                "weight_kg",
            ),
            (
                json!({"weight_kg": 10, "activities": [{"activity": "12050", "minutes": 30}]}),
                "weight_kg",
            ),
            (json!({"weight_kg": 70, "activities": []}), "activities"),
            (
                json!({"weight_kg": 70, "activities": [{"activity": "12050", "minutes": 0}]}),
                "activities[0].minutes",
            ),
            (
                json!({"weight_kg": 70, "activities": [{"activity": "99999", "minutes": 10}]}),
                "activities[0].activity",
            ),
            (
                json!({"weight_kg": 70, "activities": [{"activity": "12050", "minutes": 10, "days_per_week": 8}]}),
                "activities[0].days_per_week",
            ),
            (
                json!({"weight_kg": 70, "activities": [{"activity": "run", "minutes": 10, "intensity": "extreme"}]}),
                "activities[0].intensity",
            ),
        ];
        for (arguments, field) in cases {
            let error = run(arguments.clone()).expect_err("refused");
            assert_eq!(error.field, field, "{arguments}");
        }
        let nan: Result<FitnessArguments, _> =
            serde_json::from_value(json!({"weight_kg": "heavy", "activities": []}));
        assert!(nan.is_err());
    }
}
