//! Cardiovascular calculators: blood pressure and the corrected QT interval.

use super::inputs::{InputSpec, Values};
use super::{Calculator, Computed, OutputSpec};
use crate::health::InputError;

pub const ALL: &[Calculator] = &[
    MEAN_ARTERIAL_PRESSURE,
    QTC_BAZETT,
    QTC_FRIDERICIA,
    QTC_FRAMINGHAM,
    QTC_HODGES,
    QTC_RAUTAHARJU,
    CHA2DS2_VASC,
    HAS_BLED,
];

const CHA2DS2_VASC: Calculator = Calculator {
    id: "cha2ds2_vasc",
    name: "CHA2DS2-VASc (stroke risk in atrial fibrillation)",
    category: "cardiac",
    inputs: &[
        InputSpec::quantity("age", "Age", "years", &[], 18.0, 120.0),
        InputSpec::choice("sex", "Sex", &["female", "male"]),
        InputSpec::flag(
            "congestive_heart_failure",
            "Congestive heart failure or LV dysfunction",
        ),
        InputSpec::flag("hypertension", "Hypertension"),
        InputSpec::flag("diabetes", "Diabetes mellitus"),
        InputSpec::flag(
            "stroke_tia_or_thromboembolism",
            "Prior stroke, TIA or thromboembolism",
        ),
        InputSpec::flag(
            "vascular_disease",
            "Vascular disease (prior MI, peripheral artery disease, aortic plaque)",
        ),
    ],
    output: OutputSpec {
        name: "CHA2DS2-VASc",
        unit: "points",
        decimals: 0,
    },
    references: &[
        (
            "lip-2010",
            "Lip GYH, Nieuwlaat R, Pisters R, Lane DA, Crijns HJGM. Refining clinical risk stratification for predicting stroke and thromboembolism in atrial fibrillation using a novel risk factor-based approach: the Euro Heart Survey on atrial fibrillation. Chest 2010;137(2):263-272.",
        ),
        (
            "esc-af-2020",
            "Hindricks G, Potpara T, Dagres N, et al. 2020 ESC Guidelines for the diagnosis and management of atrial fibrillation. Eur Heart J 2021;42(5):373-498 (anticoagulation recommended from 2 points in men and 3 in women, considered at 1 and 2).",
        ),
    ],
    compute: cha2ds2_vasc,
};

fn cha2ds2_vasc(values: &Values) -> Result<Computed, InputError> {
    let age = values.number("age")?;
    let female = values.choice("sex")? == "female";
    let items = [
        (values.flag("congestive_heart_failure"), 1, "heart failure"),
        (values.flag("hypertension"), 1, "hypertension"),
        (age >= 75.0, 2, "age ≥ 75"),
        (values.flag("diabetes"), 1, "diabetes"),
        (
            values.flag("stroke_tia_or_thromboembolism"),
            2,
            "stroke/TIA/thromboembolism",
        ),
        (values.flag("vascular_disease"), 1, "vascular disease"),
        ((65.0..75.0).contains(&age), 1, "age 65–74"),
        (female, 1, "female sex"),
    ];
    let score: i32 = items.iter().filter(|(m, _, _)| *m).map(|(_, p, _)| p).sum();
    let working = items
        .iter()
        .filter(|(m, _, _)| *m)
        .map(|(_, p, n)| format!("{n} {p}"))
        .collect::<Vec<_>>()
        .join(" + ");
    // ESC 2020: the sex point alone does not count toward treatment.
    let risk_factors = score - i32::from(female);
    let reading = match risk_factors {
        0 => "low risk: no antithrombotic therapy for stroke prevention (ESC 2020)",
        1 => "oral anticoagulation should be considered (ESC 2020)",
        _ => "oral anticoagulation is recommended (ESC 2020)",
    };
    Ok(Computed::new(
        f64::from(score),
        if working.is_empty() {
            "no item present".into()
        } else {
            working
        },
    )
    .interpreted(reading))
}

const HAS_BLED: Calculator = Calculator {
    id: "has_bled",
    name: "HAS-BLED (bleeding risk on anticoagulation)",
    category: "cardiac",
    inputs: &[
        InputSpec::flag(
            "uncontrolled_hypertension",
            "Hypertension (systolic above 160 mmHg)",
        ),
        InputSpec::flag(
            "abnormal_renal_function",
            "Abnormal renal function (dialysis, transplant, creatinine ≥ 200 µmol/L)",
        ),
        InputSpec::flag(
            "abnormal_liver_function",
            "Abnormal liver function (cirrhosis, or bilirubin > 2× and AST/ALT > 3× normal)",
        ),
        InputSpec::flag("stroke", "Prior stroke"),
        InputSpec::flag("bleeding", "Prior major bleeding or predisposition"),
        InputSpec::flag("labile_inr", "Labile INR (time in range < 60 %)"),
        InputSpec::quantity("age", "Age", "years", &[], 18.0, 120.0),
        InputSpec::flag("drugs", "Antiplatelet agents or NSAIDs"),
        InputSpec::flag("alcohol", "Alcohol use (≥ 8 drinks a week)"),
    ],
    output: OutputSpec {
        name: "HAS-BLED",
        unit: "points",
        decimals: 0,
    },
    references: &[(
        "pisters-2010",
        "Pisters R, Lane DA, Nieuwlaat R, de Vos CB, Crijns HJGM, Lip GYH. A novel user-friendly score (HAS-BLED) to assess 1-year risk of major bleeding in patients with atrial fibrillation: the Euro Heart Survey. Chest 2010;138(5):1093-1100.",
    )],
    compute: has_bled,
};

fn has_bled(values: &Values) -> Result<Computed, InputError> {
    let items = [
        (values.flag("uncontrolled_hypertension"), "hypertension"),
        (values.flag("abnormal_renal_function"), "renal"),
        (values.flag("abnormal_liver_function"), "liver"),
        (values.flag("stroke"), "stroke"),
        (values.flag("bleeding"), "bleeding"),
        (values.flag("labile_inr"), "labile INR"),
        (values.number("age")? > 65.0, "age > 65"),
        (values.flag("drugs"), "drugs"),
        (values.flag("alcohol"), "alcohol"),
    ];
    let met: Vec<&str> = items.iter().filter(|(m, _)| *m).map(|(_, n)| *n).collect();
    let score = met.len() as f64;
    let reading = if score >= 3.0 {
        "≥ 3: high bleeding risk; address modifiable factors and review regularly (not by itself a reason to withhold anticoagulation)"
    } else {
        "0–2: lower bleeding risk"
    };
    Ok(Computed::new(
        score,
        if met.is_empty() {
            "no item present".into()
        } else {
            format!("met: {}", met.join(", "))
        },
    )
    .interpreted(reading))
}

const QTC_RAUTAHARJU: Calculator = Calculator {
    id: "qtc_rautaharju",
    name: "Corrected QT interval (Rautaharju)",
    category: "cardiac",
    inputs: QT_INPUTS,
    output: OutputSpec {
        name: "QTc",
        unit: "ms",
        decimals: 0,
    },
    references: &[(
        "rautaharju-2014",
        "Rautaharju PM, Mason JW, Akiyama T. New age- and sex-specific criteria for QT prolongation based on rate correction formulas that minimize bias at the upper normal limits. Int J Cardiol 2014;174(3):535-540.",
    )],
    compute: qtc_rautaharju,
};

/// QTc = QT × (120 + heart rate) / 180.
fn qtc_rautaharju(values: &Values) -> Result<Computed, InputError> {
    let qt = values.number("qt")?;
    let heart_rate = values.number("heart_rate")?;
    Ok(Computed::new(
        qt * (120.0 + heart_rate) / 180.0,
        format!("{qt} × (120 + {heart_rate}) / 180"),
    ))
}

const QT_INPUTS: &[InputSpec] = &[
    InputSpec::quantity("qt", "QT interval", "ms", &[], 200.0, 800.0),
    InputSpec::quantity("heart_rate", "Heart rate", "beats/min", &[], 20.0, 250.0),
];

const QTC_FRIDERICIA: Calculator = Calculator {
    id: "qtc_fridericia",
    name: "Corrected QT interval (Fridericia)",
    category: "cardiac",
    inputs: QT_INPUTS,
    output: OutputSpec {
        name: "QTc",
        unit: "ms",
        decimals: 0,
    },
    references: &[(
        "fridericia-1920",
        "Fridericia LS. Die Systolendauer im Elektrokardiogramm bei normalen Menschen und bei Herzkranken. Acta Med Scand 1920;53:469-486.",
    )],
    compute: qtc_fridericia,
};

/// QTc = QT / ∛RR.
fn qtc_fridericia(values: &Values) -> Result<Computed, InputError> {
    let qt = values.number("qt")?;
    let rr = 60.0 / values.number("heart_rate")?;
    Ok(Computed::new(qt / rr.cbrt(), format!("{qt} / ∛{rr:.3}")))
}

const QTC_FRAMINGHAM: Calculator = Calculator {
    id: "qtc_framingham",
    name: "Corrected QT interval (Framingham)",
    category: "cardiac",
    inputs: QT_INPUTS,
    output: OutputSpec {
        name: "QTc",
        unit: "ms",
        decimals: 0,
    },
    references: &[(
        "sagie-1992",
        "Sagie A, Larson MG, Goldberg RJ, Bengtson JR, Levy D. An improved method for adjusting the QT interval for heart rate (the Framingham Heart Study). Am J Cardiol 1992;70(7):797-801.",
    )],
    compute: qtc_framingham,
};

/// QTc = QT + 154 × (1 − RR), RR in seconds.
fn qtc_framingham(values: &Values) -> Result<Computed, InputError> {
    let qt = values.number("qt")?;
    let rr = 60.0 / values.number("heart_rate")?;
    Ok(Computed::new(
        qt + 154.0 * (1.0 - rr),
        format!("{qt} + 154 × (1 − {rr:.3})"),
    ))
}

const QTC_HODGES: Calculator = Calculator {
    id: "qtc_hodges",
    name: "Corrected QT interval (Hodges)",
    category: "cardiac",
    inputs: QT_INPUTS,
    output: OutputSpec {
        name: "QTc",
        unit: "ms",
        decimals: 0,
    },
    references: &[(
        "hodges-1983",
        "Hodges M, Salerno D, Erlien D. Bazett's QT correction reviewed: evidence that a linear QT correction for heart rate is better. J Am Coll Cardiol 1983;1:694.",
    )],
    compute: qtc_hodges,
};

/// QTc = QT + 1.75 × (heart rate − 60).
fn qtc_hodges(values: &Values) -> Result<Computed, InputError> {
    let qt = values.number("qt")?;
    let heart_rate = values.number("heart_rate")?;
    Ok(Computed::new(
        qt + 1.75 * (heart_rate - 60.0),
        format!("{qt} + 1.75 × ({heart_rate} − 60)"),
    ))
}

const MEAN_ARTERIAL_PRESSURE: Calculator = Calculator {
    id: "mean_arterial_pressure",
    name: "Mean arterial pressure",
    category: "cardiac",
    inputs: &[
        InputSpec::quantity("systolic", "Systolic pressure", "mmHg", &[], 40.0, 300.0),
        InputSpec::quantity("diastolic", "Diastolic pressure", "mmHg", &[], 20.0, 200.0),
    ],
    output: OutputSpec {
        name: "mean arterial pressure",
        unit: "mmHg",
        decimals: 1,
    },
    references: &[(
        "klabunde-map",
        "Klabunde RE. Cardiovascular Physiology Concepts, 3rd ed. Wolters Kluwer 2021: mean arterial pressure ≈ diastolic + ⅓ pulse pressure at resting heart rates.",
    )],
    compute: mean_arterial_pressure,
};

fn mean_arterial_pressure(values: &Values) -> Result<Computed, InputError> {
    let systolic = values.number("systolic")?;
    let diastolic = values.number("diastolic")?;
    if diastolic >= systolic {
        return Err(InputError::new(
            "inputs.diastolic",
            "must be lower than the systolic pressure",
            format!("below {systolic} mmHg"),
        ));
    }
    let map = diastolic + (systolic - diastolic) / 3.0;
    Ok(Computed::new(
        map,
        format!("{diastolic} + ({systolic} − {diastolic}) / 3"),
    ))
}

const QTC_BAZETT: Calculator = Calculator {
    id: "qtc_bazett",
    name: "Corrected QT interval (Bazett)",
    category: "cardiac",
    inputs: &[
        InputSpec::quantity("qt", "QT interval", "ms", &[], 200.0, 800.0),
        InputSpec::quantity("heart_rate", "Heart rate", "beats/min", &[], 20.0, 250.0),
    ],
    output: OutputSpec {
        name: "QTc",
        unit: "ms",
        decimals: 0,
    },
    references: &[(
        "bazett-1920",
        "Bazett HC. An analysis of the time-relations of electrocardiograms. Heart 1920;7:353-370.",
    )],
    compute: qtc_bazett,
};

/// QTc = QT / √RR, RR in seconds = 60 / heart rate.
fn qtc_bazett(values: &Values) -> Result<Computed, InputError> {
    let qt = values.number("qt")?;
    let heart_rate = values.number("heart_rate")?;
    let rr = 60.0 / heart_rate;
    let qtc = qt / rr.sqrt();
    let mut computed = Computed::new(
        qtc,
        format!("{qt} / √(60 / {heart_rate}) = {qt} / √{rr:.3}"),
    );
    if !(50.0..=120.0).contains(&heart_rate) {
        computed = computed.warn(
            "Bazett's formula over-corrects at fast heart rates and under-corrects at slow ones; consider Fridericia or Framingham.",
        );
    }
    Ok(computed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(calculator: &Calculator, inputs: serde_json::Value) -> Result<Computed, InputError> {
        let values = Values::parse(calculator.inputs, inputs.as_object().unwrap())?;
        (calculator.compute)(&values)
    }

    #[test]
    fn a_pressure_of_120_over_80_has_a_mean_of_93_point_3() {
        // 80 + 40 / 3 = 93.33 mmHg.
        let map = run(
            &MEAN_ARTERIAL_PRESSURE,
            json!({"systolic": 120, "diastolic": 80}),
        )
        .unwrap();
        assert!((map.value - 93.333).abs() < 0.001);
        let inverted = run(
            &MEAN_ARTERIAL_PRESSURE,
            json!({"systolic": 80, "diastolic": 120}),
        )
        .unwrap_err();
        assert_eq!(inverted.field, "inputs.diastolic");
    }

    #[test]
    fn at_60_beats_per_minute_bazett_leaves_qt_unchanged_and_at_75_lengthens_it() {
        // RR = 1 s at 60/min, so QTc = QT.
        assert!(
            (run(&QTC_BAZETT, json!({"qt": 400, "heart_rate": 60}))
                .unwrap()
                .value
                - 400.0)
                .abs()
                < 1e-9
        );
        // RR = 0.8 s at 75/min: 400 / √0.8 = 447.2 ms.
        let qtc = run(&QTC_BAZETT, json!({"qt": 400, "heart_rate": 75})).unwrap();
        assert!((qtc.value - 447.21).abs() < 0.01);
        assert!(qtc.warnings.is_empty());
        assert!(
            !run(&QTC_BAZETT, json!({"qt": 400, "heart_rate": 140}))
                .unwrap()
                .warnings
                .is_empty()
        );
    }

    #[test]
    fn the_other_corrections_agree_with_their_formulas_at_75_beats_per_minute() {
        let at_75 = json!({"qt": 400, "heart_rate": 75});
        // Fridericia: 400 / ∛0.8 = 400 / 0.92832 = 430.9 ms.
        assert!((run(&QTC_FRIDERICIA, at_75.clone()).unwrap().value - 430.887).abs() < 0.01);
        // Framingham: 400 + 154 × 0.2 = 430.8 ms.
        assert!((run(&QTC_FRAMINGHAM, at_75.clone()).unwrap().value - 430.8).abs() < 1e-9);
        // Hodges: 400 + 1.75 × 15 = 426.25 ms.
        assert!((run(&QTC_HODGES, at_75.clone()).unwrap().value - 426.25).abs() < 1e-9);
        // Rautaharju: 400 × 195 / 180 = 433.3 ms.
        assert!((run(&QTC_RAUTAHARJU, at_75).unwrap().value - 433.333).abs() < 0.001);
        // All leave QT unchanged at 60/min.
        for calculator in [
            &QTC_FRIDERICIA,
            &QTC_FRAMINGHAM,
            &QTC_HODGES,
            &QTC_RAUTAHARJU,
        ] {
            let at_60 = run(calculator, json!({"qt": 400, "heart_rate": 60})).unwrap();
            assert!((at_60.value - 400.0).abs() < 1e-9, "{}", calculator.id);
        }
    }

    #[test]
    fn cha2ds2_vasc_and_has_bled_add_their_items() {
        // A 78-year-old woman with hypertension: age ≥ 75 (2) + hypertension (1) + female (1) = 4.
        let woman = run(
            &CHA2DS2_VASC,
            json!({"age": 78, "sex": "female", "hypertension": true}),
        )
        .unwrap();
        assert_eq!(woman.value, 4.0);
        assert_eq!(
            woman.interpretation.as_deref(),
            Some("oral anticoagulation is recommended (ESC 2020)")
        );
        // A 60-year-old woman with nothing else: 1 point, still low risk.
        let low = run(&CHA2DS2_VASC, json!({"age": 60, "sex": "female"})).unwrap();
        assert_eq!(low.value, 1.0);
        assert!(low.interpretation.unwrap().starts_with("low risk"));
        // Age 70 and diabetes in a man: 1 + 1 = 2.
        let man = run(
            &CHA2DS2_VASC,
            json!({"age": 70, "sex": "male", "diabetes": true}),
        )
        .unwrap();
        assert_eq!(man.value, 2.0);
        let bled = run(
            &HAS_BLED,
            json!({"age": 70, "drugs": true, "labile_inr": true}),
        )
        .unwrap();
        assert_eq!(bled.value, 3.0);
        assert!(bled.interpretation.unwrap().starts_with("≥ 3"));
    }
}
