//! Electrolyte and acid-base calculators.

use super::inputs::{InputSpec, Values, units};
use super::{Calculator, Computed, OutputSpec};
use crate::health::InputError;

pub const ALL: &[Calculator] = &[
    ANION_GAP,
    ALBUMIN_CORRECTED_ANION_GAP,
    DELTA_GAP,
    DELTA_RATIO,
    ALBUMIN_CORRECTED_DELTA_GAP,
    ALBUMIN_CORRECTED_DELTA_RATIO,
    CALCIUM_CORRECTION,
    SERUM_OSMOLALITY,
    SODIUM_CORRECTION_HYPERGLYCEMIA,
    FREE_WATER_DEFICIT,
];

const GAP_INPUTS: &[InputSpec] = &[
    InputSpec::quantity(
        "sodium",
        "Sodium",
        "mmol/L",
        units::MONOVALENT_MMOL_L,
        90.0,
        200.0,
    ),
    InputSpec::quantity(
        "chloride",
        "Chloride",
        "mmol/L",
        units::MONOVALENT_MMOL_L,
        50.0,
        160.0,
    ),
    InputSpec::quantity(
        "bicarbonate",
        "Bicarbonate",
        "mmol/L",
        units::MONOVALENT_MMOL_L,
        1.0,
        60.0,
    ),
];

fn gap(values: &Values) -> Result<(f64, String), InputError> {
    let sodium = values.number("sodium")?;
    let chloride = values.number("chloride")?;
    let bicarbonate = values.number("bicarbonate")?;
    Ok((
        sodium - (chloride + bicarbonate),
        format!("{sodium} − ({chloride} + {bicarbonate})"),
    ))
}

/// The normal anion gap the delta calculations assume, and the normal bicarbonate
/// (Wrenn 1990).
const NORMAL_GAP: f64 = 12.0;
const NORMAL_BICARBONATE: f64 = 24.0;

const WRENN: (&str, &str) = (
    "wrenn-1990",
    "Wrenn K. The delta (Δ) gap: an approach to mixed acid-base disorders. Ann Emerg Med 1990;19(11):1310-1313 (normal anion gap 12, bicarbonate 24 mmol/L).",
);

const ALBUMIN_CORRECTED_ANION_GAP: Calculator = Calculator {
    id: "albumin_corrected_anion_gap",
    name: "Albumin-corrected anion gap",
    category: "electrolytes",
    inputs: &[
        GAP_INPUTS[0],
        GAP_INPUTS[1],
        GAP_INPUTS[2],
        InputSpec::quantity(
            "albumin",
            "Serum albumin",
            "g/dL",
            units::ALBUMIN_G_DL,
            0.5,
            7.0,
        ),
    ],
    output: OutputSpec {
        name: "albumin-corrected anion gap",
        unit: "mmol/L",
        decimals: 1,
    },
    references: &[(
        "figge-1998",
        "Figge J, Jabor A, Kazda A, Fencl V. Anion gap and hypoalbuminemia. Crit Care Med 1998;26(11):1807-1810 (about 2.5 mmol/L per 1 g/dL of albumin below 4.0).",
    )],
    compute: albumin_corrected_anion_gap,
};

fn albumin_corrected_anion_gap(values: &Values) -> Result<Computed, InputError> {
    let (gap, working) = gap(values)?;
    let albumin = values.number("albumin")?;
    Ok(Computed::new(
        gap + 2.5 * (4.0 - albumin),
        format!("{working} + 2.5 × (4.0 − {albumin})"),
    ))
}

const ALBUMIN_GAP_INPUTS: &[InputSpec] = &[
    GAP_INPUTS[0],
    GAP_INPUTS[1],
    GAP_INPUTS[2],
    InputSpec::quantity(
        "albumin",
        "Serum albumin",
        "g/dL",
        units::ALBUMIN_G_DL,
        0.5,
        7.0,
    ),
];

const FIGGE: (&str, &str) = (
    "figge-1998",
    "Figge J, Jabor A, Kazda A, Fencl V. Anion gap and hypoalbuminemia. Crit Care Med 1998;26(11):1807-1810 (about 2.5 mmol/L per 1 g/dL of albumin below 4.0).",
);

/// The anion gap corrected for albumin, and its working.
fn corrected_gap(values: &Values) -> Result<(f64, String), InputError> {
    let (gap, working) = gap(values)?;
    let albumin = values.number("albumin")?;
    Ok((
        gap + 2.5 * (4.0 - albumin),
        format!("({working} + 2.5 × (4.0 − {albumin}))"),
    ))
}

const ALBUMIN_CORRECTED_DELTA_GAP: Calculator = Calculator {
    id: "albumin_corrected_delta_gap",
    name: "Albumin-corrected delta gap",
    category: "electrolytes",
    inputs: ALBUMIN_GAP_INPUTS,
    output: OutputSpec {
        name: "albumin-corrected delta gap",
        unit: "mmol/L",
        decimals: 1,
    },
    references: &[FIGGE, WRENN],
    compute: albumin_corrected_delta_gap,
};

fn albumin_corrected_delta_gap(values: &Values) -> Result<Computed, InputError> {
    let (gap, working) = corrected_gap(values)?;
    Ok(Computed::new(gap - NORMAL_GAP, format!("{working} − 12")))
}

const ALBUMIN_CORRECTED_DELTA_RATIO: Calculator = Calculator {
    id: "albumin_corrected_delta_ratio",
    name: "Albumin-corrected delta ratio",
    category: "electrolytes",
    inputs: ALBUMIN_GAP_INPUTS,
    output: OutputSpec {
        name: "albumin-corrected delta ratio",
        unit: "",
        decimals: 2,
    },
    references: &[FIGGE, WRENN],
    compute: albumin_corrected_delta_ratio,
};

fn albumin_corrected_delta_ratio(values: &Values) -> Result<Computed, InputError> {
    let (gap, working) = corrected_gap(values)?;
    let bicarbonate = values.number("bicarbonate")?;
    if bicarbonate >= NORMAL_BICARBONATE {
        return Err(InputError::new(
            "inputs.bicarbonate",
            "the delta ratio needs a bicarbonate below the normal 24 mmol/L",
            "1–23.9 mmol/L",
        ));
    }
    Ok(Computed::new(
        (gap - NORMAL_GAP) / (NORMAL_BICARBONATE - bicarbonate),
        format!("({working} − 12) / (24 − {bicarbonate})"),
    ))
}

const DELTA_GAP: Calculator = Calculator {
    id: "delta_gap",
    name: "Delta gap",
    category: "electrolytes",
    inputs: GAP_INPUTS,
    output: OutputSpec {
        name: "delta gap",
        unit: "mmol/L",
        decimals: 1,
    },
    references: &[WRENN],
    compute: delta_gap,
};

fn delta_gap(values: &Values) -> Result<Computed, InputError> {
    let (gap, working) = gap(values)?;
    Ok(Computed::new(gap - NORMAL_GAP, format!("({working}) − 12")))
}

const DELTA_RATIO: Calculator = Calculator {
    id: "delta_ratio",
    name: "Delta ratio",
    category: "electrolytes",
    inputs: GAP_INPUTS,
    output: OutputSpec {
        name: "delta ratio",
        unit: "",
        decimals: 2,
    },
    references: &[WRENN],
    compute: delta_ratio,
};

fn delta_ratio(values: &Values) -> Result<Computed, InputError> {
    let (gap, working) = gap(values)?;
    let bicarbonate = values.number("bicarbonate")?;
    if bicarbonate >= NORMAL_BICARBONATE {
        return Err(InputError::new(
            "inputs.bicarbonate",
            "the delta ratio needs a bicarbonate below the normal 24 mmol/L",
            "1–23.9 mmol/L",
        ));
    }
    let ratio = (gap - NORMAL_GAP) / (NORMAL_BICARBONATE - bicarbonate);
    let reading = match ratio {
        r if r < 0.4 => "below 0.4: hyperchloraemic normal anion gap acidosis",
        r if r < 1.0 => "0.4–1: mixed high and normal anion gap acidosis",
        r if r <= 2.0 => "1–2: uncomplicated high anion gap acidosis",
        _ => {
            "above 2: high anion gap acidosis with a concurrent metabolic alkalosis or a pre-existing compensated respiratory acidosis"
        }
    };
    Ok(
        Computed::new(ratio, format!("(({working}) − 12) / (24 − {bicarbonate})"))
            .interpreted(reading),
    )
}

const SERUM_OSMOLALITY: Calculator = Calculator {
    id: "serum_osmolality",
    name: "Calculated serum osmolality",
    category: "electrolytes",
    inputs: &[
        GAP_INPUTS[0],
        InputSpec::quantity(
            "glucose",
            "Glucose",
            "mg/dL",
            units::GLUCOSE_MG_DL,
            10.0,
            3000.0,
        ),
        InputSpec::quantity(
            "bun",
            "Blood urea nitrogen",
            "mg/dL",
            units::BUN_MG_DL,
            1.0,
            300.0,
        ),
    ],
    output: OutputSpec {
        name: "calculated osmolality",
        unit: "mOsm/kg",
        decimals: 0,
    },
    references: &[(
        "dorwart-1975",
        "Dorwart WV, Chalmers L. Comparison of methods for calculating serum osmolality from chemical concentrations, and the prognostic value of such calculations. Clin Chem 1975;21(2):190-194 (2 × Na + glucose/18 + BUN/2.8).",
    )],
    compute: serum_osmolality,
};

fn serum_osmolality(values: &Values) -> Result<Computed, InputError> {
    let sodium = values.number("sodium")?;
    let glucose = values.number("glucose")?;
    let bun = values.number("bun")?;
    Ok(Computed::new(
        2.0 * sodium + glucose / 18.0 + bun / 2.8,
        format!("2 × {sodium} + {glucose} / 18 + {bun} / 2.8"),
    ))
}

const SODIUM_CORRECTION_HYPERGLYCEMIA: Calculator = Calculator {
    id: "sodium_correction_hyperglycemia",
    name: "Sodium corrected for hyperglycaemia",
    category: "electrolytes",
    inputs: &[
        GAP_INPUTS[0],
        InputSpec::quantity(
            "glucose",
            "Glucose",
            "mg/dL",
            units::GLUCOSE_MG_DL,
            10.0,
            3000.0,
        ),
        InputSpec {
            optional: true,
            ..InputSpec::choice("method", "Correction factor", &["katz", "hillier"])
        },
    ],
    output: OutputSpec {
        name: "corrected sodium",
        unit: "mmol/L",
        decimals: 1,
    },
    references: &[
        (
            "katz-1973",
            "Katz MA. Hyperglycemia-induced hyponatremia: calculation of expected serum sodium depression. N Engl J Med 1973;289(16):843-844 (1.6 mmol/L per 100 mg/dL of glucose over 100).",
        ),
        (
            "hillier-1999",
            "Hillier TA, Abbott RD, Barrett EJ. Hyponatremia: evaluating the correction factor for hyperglycemia. Am J Med 1999;106(4):399-403 (2.4 mmol/L per 100 mg/dL).",
        ),
    ],
    compute: sodium_correction,
};

/// Na + factor × (glucose − 100) / 100; Katz's 1.6 unless Hillier's 2.4 is asked for.
fn sodium_correction(values: &Values) -> Result<Computed, InputError> {
    let sodium = values.number("sodium")?;
    let glucose = values.number("glucose")?;
    let hillier = matches!(values.choice("method"), Ok("hillier"));
    let factor = if hillier { 2.4 } else { 1.6 };
    Ok(Computed::new(
        sodium + factor * (glucose - 100.0) / 100.0,
        format!("{sodium} + {factor} × ({glucose} − 100) / 100"),
    )
    .warn(if hillier {
        "Hillier's factor of 2.4 (1999); Katz's 1.6 (1973) gives a smaller correction."
    } else {
        "Katz's factor of 1.6 (1973); Hillier's 2.4 (1999) fits glucose above 400 mg/dL better."
    }))
}

const FREE_WATER_DEFICIT: Calculator = Calculator {
    id: "free_water_deficit",
    name: "Free water deficit",
    category: "electrolytes",
    inputs: &[
        InputSpec::quantity(
            "sodium",
            "Sodium",
            "mmol/L",
            units::MONOVALENT_MMOL_L,
            140.0,
            200.0,
        ),
        InputSpec::quantity("weight", "Body weight", "kg", units::WEIGHT_KG, 2.0, 350.0),
        InputSpec::quantity("age", "Age", "years", &[], 0.0, 120.0),
        InputSpec::choice("sex", "Sex", &["female", "male"]),
    ],
    output: OutputSpec {
        name: "free water deficit",
        unit: "L",
        decimals: 1,
    },
    references: &[(
        "adrogue-madias-2000",
        "Adrogué HJ, Madias NE. Hypernatremia. N Engl J Med 2000;342(20):1493-1499 (total body water: 0.6 of weight in children and men, 0.5 in women and elderly men, 0.45 in elderly women).",
    )],
    compute: free_water_deficit,
};

/// Deficit = total body water × (Na / 140 − 1).
fn free_water_deficit(values: &Values) -> Result<Computed, InputError> {
    let sodium = values.number("sodium")?;
    let weight = values.number("weight")?;
    let age = values.number("age")?;
    let female = values.choice("sex")? == "female";
    let fraction = match (age < 18.0, age >= 65.0, female) {
        (true, _, _) => 0.6,
        (false, false, false) => 0.6,
        (false, false, true) => 0.5,
        (false, true, false) => 0.5,
        (false, true, true) => 0.45,
    };
    Ok(Computed::new(
        fraction * weight * (sodium / 140.0 - 1.0),
        format!("{fraction} × {weight} × ({sodium} / 140 − 1)"),
    ))
}

const ANION_GAP: Calculator = Calculator {
    id: "anion_gap",
    name: "Serum anion gap",
    category: "electrolytes",
    inputs: GAP_INPUTS,
    output: OutputSpec {
        name: "anion gap",
        unit: "mmol/L",
        decimals: 0,
    },
    references: &[(
        "kraut-madias-2007",
        "Kraut JA, Madias NE. Serum anion gap: its uses and limitations in clinical medicine. Clin J Am Soc Nephrol 2007;2(1):162-174. doi:10.2215/CJN.03020906",
    )],
    compute: anion_gap,
};

/// AG = Na − (Cl + HCO3). The normal range depends on the analyser (about 3–11 mmol/L with
/// modern ion-selective electrodes, Kraut & Madias 2007), so the reading is cautious.
fn anion_gap(values: &Values) -> Result<Computed, InputError> {
    let sodium = values.number("sodium")?;
    let chloride = values.number("chloride")?;
    let bicarbonate = values.number("bicarbonate")?;
    let gap = sodium - (chloride + bicarbonate);
    let reading = if gap > 11.0 {
        "above the usual 3–11 mmol/L range of modern analysers"
    } else if gap < 3.0 {
        "below the usual 3–11 mmol/L range of modern analysers"
    } else {
        "within the usual 3–11 mmol/L range of modern analysers"
    };
    Ok(Computed::new(gap, format!("{sodium} − ({chloride} + {bicarbonate})"))
        .interpreted(reading)
        .warn("The anion gap falls about 2.5 mmol/L per 1 g/dL fall in albumin; use the albumin-corrected gap when albumin is low."))
}

const CALCIUM_CORRECTION: Calculator = Calculator {
    id: "calcium_correction",
    name: "Albumin-corrected calcium (Payne)",
    category: "electrolytes",
    inputs: &[
        InputSpec::quantity(
            "calcium",
            "Total serum calcium",
            "mg/dL",
            units::CALCIUM_MG_DL,
            2.0,
            25.0,
        ),
        InputSpec::quantity(
            "albumin",
            "Serum albumin",
            "g/dL",
            units::ALBUMIN_G_DL,
            0.5,
            7.0,
        ),
    ],
    output: OutputSpec {
        name: "corrected calcium",
        unit: "mg/dL",
        decimals: 2,
    },
    references: &[(
        "payne-1973",
        "Payne RB, Little AJ, Williams RB, Milner JR. Interpretation of serum calcium in patients with abnormal serum proteins. BMJ 1973;4(5893):643-646. doi:10.1136/bmj.4.5893.643",
    )],
    compute: calcium_correction,
};

/// Corrected Ca = Ca + 0.8 × (4.0 − albumin), in mg/dL and g/dL.
fn calcium_correction(values: &Values) -> Result<Computed, InputError> {
    let calcium = values.number("calcium")?;
    let albumin = values.number("albumin")?;
    Ok(Computed::new(
        calcium + 0.8 * (4.0 - albumin),
        format!("{calcium} + 0.8 × (4.0 − {albumin})"),
    )
    .warn("Albumin correction is an approximation; ionised calcium is the reference measurement."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(calculator: &Calculator, inputs: serde_json::Value) -> Computed {
        let values = Values::parse(calculator.inputs, inputs.as_object().unwrap()).unwrap();
        (calculator.compute)(&values).unwrap()
    }

    #[test]
    fn sodium_140_chloride_104_bicarbonate_24_leave_a_gap_of_12() {
        // 140 − (104 + 24) = 12.
        let result = run(
            &ANION_GAP,
            json!({"sodium": 140, "chloride": 104, "bicarbonate": 24}),
        );
        assert_eq!(result.value, 12.0);
        assert!(result.interpretation.unwrap().starts_with("above"));
    }

    #[test]
    fn the_gap_family_follows_its_formulas() {
        // Na 140, Cl 100, HCO3 14: gap 26; delta gap 14; delta ratio 14 / 10 = 1.4.
        let acidosis = json!({"sodium": 140, "chloride": 100, "bicarbonate": 14});
        assert_eq!(run(&DELTA_GAP, acidosis.clone()).value, 14.0);
        let ratio = run(&DELTA_RATIO, acidosis);
        assert!((ratio.value - 1.4).abs() < 1e-12);
        assert!(ratio.interpretation.unwrap().starts_with("1–2"));
        // Gap 12 with albumin 2.0 g/dL: 12 + 2.5 × 2 = 17.
        let corrected = run(
            &ALBUMIN_CORRECTED_ANION_GAP,
            json!({"sodium": 140, "chloride": 104, "bicarbonate": 24, "albumin": 2.0}),
        );
        assert_eq!(corrected.value, 17.0);
    }

    #[test]
    fn the_albumin_corrected_deltas_add_figges_correction_first() {
        // Gap 26 (140 − 100 − 14), albumin 2.0: corrected 31; delta gap 19; ratio 19 / 10.
        let inputs = json!({"sodium": 140, "chloride": 100, "bicarbonate": 14, "albumin": 2.0});
        assert_eq!(
            run(&ALBUMIN_CORRECTED_DELTA_GAP, inputs.clone()).value,
            19.0
        );
        assert!((run(&ALBUMIN_CORRECTED_DELTA_RATIO, inputs).value - 1.9).abs() < 1e-12);
    }

    #[test]
    fn osmolality_sodium_correction_and_water_deficit_follow_their_formulas() {
        // 2 × 140 + 90 / 18 + 14 / 2.8 = 280 + 5 + 5 = 290.
        let osm = run(
            &SERUM_OSMOLALITY,
            json!({"sodium": 140, "glucose": 90, "bun": 14}),
        );
        assert!((osm.value - 290.0).abs() < 1e-9);
        // Na 130, glucose 500: Katz 130 + 1.6 × 4 = 136.4; Hillier 130 + 2.4 × 4 = 139.6.
        let katz = run(
            &SODIUM_CORRECTION_HYPERGLYCEMIA,
            json!({"sodium": 130, "glucose": 500}),
        );
        assert!((katz.value - 136.4).abs() < 1e-9);
        let hillier = run(
            &SODIUM_CORRECTION_HYPERGLYCEMIA,
            json!({"sodium": 130, "glucose": 500, "method": "hillier"}),
        );
        assert!((hillier.value - 139.6).abs() < 1e-9);
        // A 40-year-old 70 kg man at Na 160: 0.6 × 70 × (160/140 − 1) = 6.0 L.
        let deficit = run(
            &FREE_WATER_DEFICIT,
            json!({"sodium": 160, "weight": 70, "age": 40, "sex": "male"}),
        );
        assert!((deficit.value - 6.0).abs() < 1e-9);
        // The same weight as a 70-year-old woman: 0.45 × 70 × 1/7 = 4.5 L.
        let elderly = run(
            &FREE_WATER_DEFICIT,
            json!({"sodium": 160, "weight": 70, "age": 70, "sex": "female"}),
        );
        assert!((elderly.value - 4.5).abs() < 1e-9);
    }

    #[test]
    fn calcium_8_with_albumin_2_corrects_to_9_6_mg_per_dl() {
        // 8.0 + 0.8 × (4.0 − 2.0) = 9.6.
        assert!(
            (run(&CALCIUM_CORRECTION, json!({"calcium": 8.0, "albumin": 2.0})).value - 9.6).abs()
                < 1e-9
        );
        // 2.0 mmol/L calcium = 8.016 mg/dL; 20 g/L albumin = 2.0 g/dL.
        let si = run(
            &CALCIUM_CORRECTION,
            json!({"calcium": "2.0 mmol/L", "albumin": "20 g/L"}),
        );
        assert!((si.value - 9.616).abs() < 1e-9);
    }
}
