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
];

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
}
