//! Risk models: the 2013 ACC/AHA pooled cohort equations (10-year ASCVD risk), the Finnish
//! Diabetes Risk Score, and the Mifflin–St Jeor resting energy equation. `risk_assessment`
//! serves these (with CHA2DS2-VASc, HAS-BLED and BMI) under one tool; `calculate` serves them
//! too. Coefficients are the model itself, so they live here beside their citation.

use super::inputs::{InputSpec, Values, units};
use super::{Calculator, Computed, OutputSpec};
use crate::health::InputError;

pub const ALL: &[Calculator] = &[ASCVD_PCE_2013, FINDRISC, BMR_MIFFLIN_ST_JEOR];

const ASCVD_PCE_2013: Calculator = Calculator {
    id: "ascvd_pce_2013",
    name: "10-year ASCVD risk (2013 ACC/AHA pooled cohort equations)",
    category: "risk",
    inputs: &[
        // Validated ranges from the guideline's appendix: outside them it is not applied.
        InputSpec::quantity("age", "Age", "years", &[], 40.0, 79.0),
        InputSpec::choice("sex", "Sex", &["female", "male"]),
        InputSpec::choice("race", "Race", &["white", "african_american", "other"]),
        InputSpec::quantity(
            "total_cholesterol",
            "Total cholesterol",
            "mg/dL",
            units::CHOLESTEROL_MG_DL,
            130.0,
            320.0,
        ),
        InputSpec::quantity(
            "hdl",
            "HDL cholesterol",
            "mg/dL",
            units::CHOLESTEROL_MG_DL,
            20.0,
            100.0,
        ),
        InputSpec::quantity(
            "systolic_bp",
            "Systolic blood pressure",
            "mmHg",
            &[],
            90.0,
            200.0,
        ),
        InputSpec::flag(
            "treated_hypertension",
            "On treatment for high blood pressure",
        ),
        InputSpec::flag("smoker", "Current smoker"),
        InputSpec::flag("diabetes", "Diabetes"),
    ],
    output: OutputSpec {
        name: "10-year ASCVD risk",
        unit: "%",
        decimals: 1,
    },
    references: &[
        (
            "goff-2014",
            "Goff DC Jr, Lloyd-Jones DM, Bennett G, et al. 2013 ACC/AHA guideline on the assessment of cardiovascular risk. Circulation 2014;129(25 Suppl 2):S49-S73 (Table A; the appendix's worked example).",
        ),
        (
            "grundy-2019",
            "Grundy SM, Stone NJ, Bailey AL, et al. 2018 AHA/ACC guideline on the management of blood cholesterol. Circulation 2019;139(25):e1082-e1143 (risk categories: <5% low, 5-7.4% borderline, 7.5-19.9% intermediate, ≥20% high).",
        ),
    ],
    compute: ascvd_pce,
};

/// One of the four sex × race equations (Goff 2014, Table A): coefficients on ln age,
/// (ln age)², ln TC, ln age × ln TC, ln HDL, ln age × ln HDL, ln treated SBP, ln age × ln
/// treated SBP, ln untreated SBP, ln age × ln untreated SBP, smoker, ln age × smoker,
/// diabetes; then the mean of the sum and the 10-year baseline survival.
struct PooledCohortEquation {
    label: &'static str,
    ln_age: f64,
    ln_age_squared: f64,
    ln_tc: f64,
    ln_age_ln_tc: f64,
    ln_hdl: f64,
    ln_age_ln_hdl: f64,
    ln_treated_sbp: f64,
    ln_age_ln_treated_sbp: f64,
    ln_untreated_sbp: f64,
    ln_age_ln_untreated_sbp: f64,
    smoker: f64,
    ln_age_smoker: f64,
    diabetes: f64,
    mean: f64,
    baseline_survival: f64,
}

const WHITE_WOMEN: PooledCohortEquation = PooledCohortEquation {
    label: "white women",
    ln_age: -29.799,
    ln_age_squared: 4.884,
    ln_tc: 13.540,
    ln_age_ln_tc: -3.114,
    ln_hdl: -13.578,
    ln_age_ln_hdl: 3.149,
    ln_treated_sbp: 2.019,
    ln_age_ln_treated_sbp: 0.0,
    ln_untreated_sbp: 1.957,
    ln_age_ln_untreated_sbp: 0.0,
    smoker: 7.574,
    ln_age_smoker: -1.665,
    diabetes: 0.661,
    mean: -29.18,
    baseline_survival: 0.9665,
};

const AFRICAN_AMERICAN_WOMEN: PooledCohortEquation = PooledCohortEquation {
    label: "African American women",
    ln_age: 17.114,
    ln_age_squared: 0.0,
    ln_tc: 0.940,
    ln_age_ln_tc: 0.0,
    ln_hdl: -18.920,
    ln_age_ln_hdl: 4.475,
    ln_treated_sbp: 29.291,
    ln_age_ln_treated_sbp: -6.432,
    ln_untreated_sbp: 27.820,
    ln_age_ln_untreated_sbp: -6.087,
    smoker: 0.691,
    ln_age_smoker: 0.0,
    diabetes: 0.874,
    mean: 86.61,
    baseline_survival: 0.9533,
};

const WHITE_MEN: PooledCohortEquation = PooledCohortEquation {
    label: "white men",
    ln_age: 12.344,
    ln_age_squared: 0.0,
    ln_tc: 11.853,
    ln_age_ln_tc: -2.664,
    ln_hdl: -7.990,
    ln_age_ln_hdl: 1.769,
    ln_treated_sbp: 1.797,
    ln_age_ln_treated_sbp: 0.0,
    ln_untreated_sbp: 1.764,
    ln_age_ln_untreated_sbp: 0.0,
    smoker: 7.837,
    ln_age_smoker: -1.795,
    diabetes: 0.658,
    mean: 61.18,
    baseline_survival: 0.9144,
};

const AFRICAN_AMERICAN_MEN: PooledCohortEquation = PooledCohortEquation {
    label: "African American men",
    ln_age: 2.469,
    ln_age_squared: 0.0,
    ln_tc: 0.302,
    ln_age_ln_tc: 0.0,
    ln_hdl: -0.307,
    ln_age_ln_hdl: 0.0,
    ln_treated_sbp: 1.916,
    ln_age_ln_treated_sbp: 0.0,
    ln_untreated_sbp: 1.809,
    ln_age_ln_untreated_sbp: 0.0,
    smoker: 0.549,
    ln_age_smoker: 0.0,
    diabetes: 0.645,
    mean: 19.54,
    baseline_survival: 0.8954,
};

fn ascvd_pce(values: &Values) -> Result<Computed, InputError> {
    let age = values.number("age")?;
    let female = values.choice("sex")? == "female";
    let race = values.choice("race")?;
    let tc = values.number("total_cholesterol")?;
    let hdl = values.number("hdl")?;
    let sbp = values.number("systolic_bp")?;
    let treated = values.flag("treated_hypertension");
    let smoker = f64::from(u8::from(values.flag("smoker")));
    let diabetes = f64::from(u8::from(values.flag("diabetes")));
    let equation = match (female, race == "african_american") {
        (true, false) => &WHITE_WOMEN,
        (true, true) => &AFRICAN_AMERICAN_WOMEN,
        (false, false) => &WHITE_MEN,
        (false, true) => &AFRICAN_AMERICAN_MEN,
    };
    let (ln_age, ln_tc, ln_hdl, ln_sbp) = (age.ln(), tc.ln(), hdl.ln(), sbp.ln());
    let (sbp_term, age_sbp_term) = if treated {
        (equation.ln_treated_sbp, equation.ln_age_ln_treated_sbp)
    } else {
        (equation.ln_untreated_sbp, equation.ln_age_ln_untreated_sbp)
    };
    let sum = equation.ln_age * ln_age
        + equation.ln_age_squared * ln_age * ln_age
        + equation.ln_tc * ln_tc
        + equation.ln_age_ln_tc * ln_age * ln_tc
        + equation.ln_hdl * ln_hdl
        + equation.ln_age_ln_hdl * ln_age * ln_hdl
        + sbp_term * ln_sbp
        + age_sbp_term * ln_age * ln_sbp
        + equation.smoker * smoker
        + equation.ln_age_smoker * ln_age * smoker
        + equation.diabetes * diabetes;
    let risk = 1.0 - equation.baseline_survival.powf((sum - equation.mean).exp());
    let percent = risk * 100.0;
    let category = match percent {
        p if p < 5.0 => "low (<5%)",
        p if p < 7.5 => "borderline (5-7.4%)",
        p if p < 20.0 => "intermediate (7.5-19.9%)",
        _ => "high (≥20%)",
    };
    let mut computed = Computed::new(
        percent,
        format!(
            "equation for {}: sum of terms {sum:.3}, mean {:.2}; risk = 1 − {}^exp({sum:.3} − {:.2}) = {percent:.2}%",
            equation.label, equation.mean, equation.baseline_survival, equation.mean
        ),
    )
    .interpreted(format!("{category} 10-year risk of a first ASCVD event (2018 AHA/ACC categories)"));
    if race == "other" {
        computed.warnings.push(
            "For races other than white and African American the guideline uses the white equations, which may over- or underestimate risk (Goff 2014).".into(),
        );
    }
    computed.warnings.push(
        "For adults without clinical ASCVD and with LDL cholesterol below 190 mg/dL; not for people already on a statin's secondary-prevention indication.".into(),
    );
    Ok(computed)
}

const FINDRISC: Calculator = Calculator {
    id: "findrisc",
    name: "FINDRISC (Finnish Diabetes Risk Score)",
    category: "risk",
    inputs: &[
        InputSpec::quantity("age", "Age", "years", &[], 18.0, 120.0),
        InputSpec::choice("sex", "Sex", &["female", "male"]),
        InputSpec::quantity("bmi", "Body mass index", "kg/m²", &[], 10.0, 90.0),
        InputSpec::quantity(
            "waist",
            "Waist circumference (at the navel)",
            "cm",
            units::WAIST_CM,
            40.0,
            250.0,
        ),
        InputSpec::choice(
            "physical_activity_30_min_daily",
            "At least 30 minutes of physical activity every day (at work or in leisure)",
            &["yes", "no"],
        ),
        InputSpec::choice(
            "vegetables_fruit_daily",
            "Eats vegetables, fruit or berries every day",
            &["yes", "no"],
        ),
        InputSpec::flag(
            "antihypertensive_medication",
            "Has ever taken blood pressure medication regularly",
        ),
        InputSpec::flag(
            "history_of_high_glucose",
            "Has ever had high blood glucose (in a check-up, illness or pregnancy)",
        ),
        InputSpec::choice(
            "family_history_of_diabetes",
            "Family members with diabetes",
            &["none", "second_degree", "first_degree"],
        ),
    ],
    output: OutputSpec {
        name: "FINDRISC",
        unit: "points",
        decimals: 0,
    },
    references: &[(
        "lindstrom-2003",
        "Lindström J, Tuomilehto J. The diabetes risk score: a practical tool to predict type 2 diabetes risk. Diabetes Care 2003;26(3):725-731 (the form's items and points; bands with the estimated 10-year risk).",
    )],
    compute: findrisc,
};

fn findrisc(values: &Values) -> Result<Computed, InputError> {
    let age = values.number("age")?;
    let male = values.choice("sex")? == "male";
    let bmi = values.number("bmi")?;
    let waist = values.number("waist")?;
    let age_points = match age {
        a if a < 45.0 => 0,
        a if a < 55.0 => 2,
        a if a < 65.0 => 3,
        _ => 4,
    };
    let bmi_points = match bmi {
        b if b < 25.0 => 0,
        b if b <= 30.0 => 1,
        _ => 3,
    };
    // Men: <94, 94-102, >102 cm; women: <80, 80-88, >88 cm.
    let (lower, upper) = if male { (94.0, 102.0) } else { (80.0, 88.0) };
    let waist_points = match waist {
        w if w < lower => 0,
        w if w <= upper => 3,
        _ => 4,
    };
    let activity = if values.choice("physical_activity_30_min_daily")? == "no" {
        2
    } else {
        0
    };
    let diet = if values.choice("vegetables_fruit_daily")? == "no" {
        1
    } else {
        0
    };
    let medication = if values.flag("antihypertensive_medication") {
        2
    } else {
        0
    };
    let glucose = if values.flag("history_of_high_glucose") {
        5
    } else {
        0
    };
    let family = match values.choice("family_history_of_diabetes")? {
        "first_degree" => 5,
        "second_degree" => 3,
        _ => 0,
    };
    let total =
        age_points + bmi_points + waist_points + activity + diet + medication + glucose + family;
    let band = match total {
        t if t < 7 => "low: about 1 in 100 will develop type 2 diabetes within 10 years",
        t if t <= 11 => "slightly elevated: about 1 in 25 within 10 years",
        t if t <= 14 => "moderate: about 1 in 6 within 10 years",
        t if t <= 20 => "high: about 1 in 3 within 10 years",
        _ => "very high: about 1 in 2 within 10 years",
    };
    Ok(Computed::new(
        f64::from(total),
        format!(
            "age {age_points} + BMI {bmi_points} + waist {waist_points} + activity {activity} + diet {diet} + blood pressure medication {medication} + high glucose {glucose} + family history {family} = {total}"
        ),
    )
    .interpreted(band))
}

const BMR_MIFFLIN_ST_JEOR: Calculator = Calculator {
    id: "bmr_mifflin_st_jeor",
    name: "Resting energy expenditure (Mifflin–St Jeor)",
    category: "body",
    inputs: &[
        InputSpec::quantity("weight", "Body weight", "kg", units::WEIGHT_KG, 20.0, 350.0),
        InputSpec::quantity("height", "Height", "cm", units::HEIGHT_CM, 100.0, 250.0),
        InputSpec::quantity("age", "Age", "years", &[], 18.0, 120.0),
        InputSpec::choice("sex", "Sex", &["female", "male"]),
    ],
    output: OutputSpec {
        name: "Resting energy expenditure",
        unit: "kcal/day",
        decimals: 0,
    },
    references: &[(
        "mifflin-1990",
        "Mifflin MD, St Jeor ST, Hill LA, Scott BJ, Daugherty SA, Koh YO. A new predictive equation for resting energy expenditure in healthy individuals. Am J Clin Nutr 1990;51(2):241-247 (10 × kg + 6.25 × cm − 5 × years + 5 for men, − 161 for women).",
    )],
    compute: bmr_mifflin,
};

fn bmr_mifflin(values: &Values) -> Result<Computed, InputError> {
    let weight = values.number("weight")?;
    let height = values.number("height")?;
    let age = values.number("age")?;
    let male = values.choice("sex")? == "male";
    let constant = if male { 5.0 } else { -161.0 };
    let ree = 10.0 * weight + 6.25 * height - 5.0 * age + constant;
    let mut computed = Computed::new(
        ree,
        format!("10 × {weight} + 6.25 × {height} − 5 × {age} {constant:+} = {ree:.0} kcal/day"),
    );
    computed.warnings.push(
        "Resting expenditure of a healthy adult; total daily needs multiply it by an activity factor.".into(),
    );
    Ok(computed)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn run(calculator: &Calculator, inputs: Value) -> Result<Computed, InputError> {
        let values = Values::parse(calculator.inputs, inputs.as_object().expect("object"))?;
        (calculator.compute)(&values)
    }

    fn pce(sex: &str, race: &str) -> f64 {
        // Goff 2014, appendix worked example: 55 years, total cholesterol 213 mg/dL, HDL 50
        // mg/dL, untreated systolic 120 mmHg, non-smoker, no diabetes.
        run(
            &ASCVD_PCE_2013,
            json!({"age": 55, "sex": sex, "race": race, "total_cholesterol": 213, "hdl": 50,
                   "systolic_bp": 120}),
        )
        .expect("computes")
        .value
    }

    #[test]
    fn the_pooled_cohort_equations_reproduce_the_guidelines_worked_example() {
        // Published: white women 2.1%, African American women 3.0%, white men 5.3%,
        // African American men 6.1%. The appendix rounds each intermediate sum to two
        // decimals (white men: 60.69 against a mean of 61.18, giving 5.33%); at full precision
        // the same coefficients give 60.70 and 5.38%, so every value is held to within 0.1
        // percentage point of the published one.
        for (sex, race, published) in [
            ("female", "white", 2.1),
            ("female", "african_american", 3.0),
            ("male", "white", 5.3),
            ("male", "african_american", 6.1),
        ] {
            let computed = pce(sex, race);
            assert!(
                (computed - published).abs() < 0.1,
                "{sex} {race}: {computed:.3}% against {published}%"
            );
        }
    }

    #[test]
    fn cholesterol_in_mmol_per_litre_gives_the_same_risk() {
        let mmol = run(
            &ASCVD_PCE_2013,
            json!({"age": 55, "sex": "male", "race": "white", "total_cholesterol": "5.508 mmol/L",
                   "hdl": "1.293 mmol/L", "systolic_bp": 120}),
        )
        .expect("computes")
        .value;
        assert!((mmol - pce("male", "white")).abs() < 0.05, "{mmol}");
    }

    #[test]
    fn the_equations_are_refused_outside_their_validated_ages() {
        for age in [39, 80] {
            let refused = run(
                &ASCVD_PCE_2013,
                json!({"age": age, "sex": "male", "race": "white", "total_cholesterol": 213,
                       "hdl": 50, "systolic_bp": 120}),
            )
            .expect_err("refused");
            assert_eq!(refused.field, "inputs.age");
        }
    }

    #[test]
    fn risk_rises_with_systolic_pressure_and_age_all_else_equal() {
        let risk = |age: f64, sbp: f64| {
            run(
                &ASCVD_PCE_2013,
                json!({"age": age, "sex": "female", "race": "white", "total_cholesterol": 213,
                       "hdl": 50, "systolic_bp": sbp, "smoker": true}),
            )
            .expect("computes")
            .value
        };
        for step in 0..20 {
            let sbp = 100.0 + 5.0 * f64::from(step);
            assert!(risk(60.0, sbp + 5.0) > risk(60.0, sbp));
        }
        for age in 40..79 {
            assert!(risk(f64::from(age) + 1.0, 140.0) > risk(f64::from(age), 140.0));
        }
    }

    #[test]
    fn other_races_use_the_white_equations_and_say_so() {
        let other = run(
            &ASCVD_PCE_2013,
            json!({"age": 55, "sex": "male", "race": "other", "total_cholesterol": 213, "hdl": 50,
                   "systolic_bp": 120}),
        )
        .expect("computes");
        assert!((other.value - pce("male", "white")).abs() < 1e-12);
        assert!(other.warnings.iter().any(|w| w.contains("white equations")));
    }

    fn findrisc_points(inputs: Value) -> f64 {
        run(&FINDRISC, inputs).expect("computes").value
    }

    #[test]
    fn findrisc_counts_every_item_of_the_form() {
        // Lindström 2003, the form: a 58-year-old man (3), BMI 31 (3), waist 104 cm (4), not
        // active daily (2), no daily vegetables (1), blood pressure medication (2), high
        // glucose once (5), a parent with diabetes (5) = 25, "very high".
        let worst = run(
            &FINDRISC,
            json!({"age": 58, "sex": "male", "bmi": 31, "waist": 104,
                   "physical_activity_30_min_daily": "no", "vegetables_fruit_daily": "no",
                   "antihypertensive_medication": true, "history_of_high_glucose": true,
                   "family_history_of_diabetes": "first_degree"}),
        )
        .expect("computes");
        assert_eq!(worst.value, 25.0);
        assert!(
            worst
                .interpretation
                .unwrap_or_default()
                .starts_with("very high")
        );
        let none = findrisc_points(json!({"age": 30, "sex": "female", "bmi": 22, "waist": 70,
            "physical_activity_30_min_daily": "yes", "vegetables_fruit_daily": "yes",
            "family_history_of_diabetes": "none"}));
        assert_eq!(none, 0.0);
    }

    #[test]
    fn findrisc_bands_and_cut_points_sit_where_the_form_puts_them() {
        let base = |age: f64, bmi: f64, waist: f64| {
            findrisc_points(
                json!({"age": age, "sex": "female", "bmi": bmi, "waist": waist,
                "physical_activity_30_min_daily": "yes", "vegetables_fruit_daily": "yes",
                "family_history_of_diabetes": "none"}),
            )
        };
        assert_eq!(base(44.9, 22.0, 70.0), 0.0);
        assert_eq!(base(45.0, 22.0, 70.0), 2.0);
        assert_eq!(base(65.0, 22.0, 70.0), 4.0);
        assert_eq!(base(30.0, 25.0, 70.0), 1.0);
        assert_eq!(base(30.0, 30.0, 70.0), 1.0);
        assert_eq!(base(30.0, 30.1, 70.0), 3.0);
        assert_eq!(base(30.0, 22.0, 80.0), 3.0);
        assert_eq!(base(30.0, 22.0, 88.1), 4.0);
        // Band edges: 6 low, 7 slightly elevated, 11/12, 14/15, 20/21.
        let reading = |inputs: Value| {
            run(&FINDRISC, inputs)
                .expect("computes")
                .interpretation
                .unwrap_or_default()
        };
        let six = json!({"age": 50, "sex": "female", "bmi": 22, "waist": 82,
            "physical_activity_30_min_daily": "yes", "vegetables_fruit_daily": "no",
            "family_history_of_diabetes": "none"});
        assert!(reading(six).starts_with("low"), "2 + 3 + 1 = 6");
        let seven = json!({"age": 50, "sex": "female", "bmi": 22, "waist": 82,
            "physical_activity_30_min_daily": "no", "vegetables_fruit_daily": "yes",
            "family_history_of_diabetes": "none"});
        assert!(reading(seven).starts_with("slightly"), "2 + 3 + 2 = 7");
    }

    #[test]
    fn mifflin_st_jeor_matches_the_published_equation() {
        // 70 kg, 175 cm, 30-year-old man: 700 + 1093.75 − 150 + 5 = 1648.75 kcal/day.
        let man = run(
            &BMR_MIFFLIN_ST_JEOR,
            json!({"weight": 70, "height": 175, "age": 30, "sex": "male"}),
        )
        .expect("computes");
        assert!((man.value - 1648.75).abs() < 1e-9);
        // The same woman: 166 kcal less (5 − (−161)).
        let woman = run(
            &BMR_MIFFLIN_ST_JEOR,
            json!({"weight": 70, "height": 175, "age": 30, "sex": "female"}),
        )
        .expect("computes");
        assert!((man.value - woman.value - 166.0).abs() < 1e-9);
        assert!(
            run(
                &BMR_MIFFLIN_ST_JEOR,
                json!({"weight": 70, "height": 175, "age": 10, "sex": "male"})
            )
            .is_err()
        );
    }
}
