//! Medication equivalence: opioid morphine milligram equivalents and corticosteroid dose
//! conversion. Equivalence tables are approximations for comparing totals, not dosing
//! instructions; every result says so.

use super::inputs::{InputSpec, Values};
use super::{Calculator, Computed, OutputSpec};
use crate::health::InputError;

pub const ALL: &[Calculator] = &[MORPHINE_MILLIGRAM_EQUIVALENTS, STEROID_CONVERSION];

/// CDC 2022 guideline, conversion factors to oral morphine milligram equivalents (per mg,
/// fentanyl per µg/h of a transdermal patch).
const OPIOIDS: &[(&str, &str, f64)] = &[
    ("codeine_mg_per_day", "Codeine", 0.15),
    ("hydrocodone_mg_per_day", "Hydrocodone", 1.0),
    ("hydromorphone_mg_per_day", "Hydromorphone", 5.0),
    ("methadone_mg_per_day", "Methadone", 4.7),
    ("morphine_mg_per_day", "Morphine", 1.0),
    ("oxycodone_mg_per_day", "Oxycodone", 1.5),
    ("oxymorphone_mg_per_day", "Oxymorphone", 3.0),
    ("tapentadol_mg_per_day", "Tapentadol", 0.4),
    ("tramadol_mg_per_day", "Tramadol", 0.2),
    ("fentanyl_patch_mcg_per_hour", "Fentanyl transdermal", 2.4),
];

const fn dose(name: &'static str, label: &'static str) -> InputSpec {
    InputSpec {
        optional: true,
        ..InputSpec::quantity(name, label, "mg/day", &[], 0.0, 10_000.0)
    }
}

const MORPHINE_MILLIGRAM_EQUIVALENTS: Calculator = Calculator {
    id: "morphine_milligram_equivalents",
    name: "Morphine milligram equivalents per day",
    category: "medications",
    inputs: &[
        dose("codeine_mg_per_day", "Codeine, mg per day"),
        dose("hydrocodone_mg_per_day", "Hydrocodone, mg per day"),
        dose("hydromorphone_mg_per_day", "Hydromorphone, mg per day"),
        dose("methadone_mg_per_day", "Methadone, mg per day"),
        dose("morphine_mg_per_day", "Morphine, mg per day"),
        dose("oxycodone_mg_per_day", "Oxycodone, mg per day"),
        dose("oxymorphone_mg_per_day", "Oxymorphone, mg per day"),
        dose("tapentadol_mg_per_day", "Tapentadol, mg per day"),
        dose("tramadol_mg_per_day", "Tramadol, mg per day"),
        InputSpec {
            optional: true,
            ..InputSpec::quantity(
                "fentanyl_patch_mcg_per_hour",
                "Fentanyl patch strength",
                "mcg/h",
                &[],
                0.0,
                1000.0,
            )
        },
    ],
    output: OutputSpec {
        name: "total daily MME",
        unit: "MME/day",
        decimals: 1,
    },
    references: &[(
        "cdc-2022-opioids",
        "Dowell D, Ragan KR, Jones CM, Baldwin GT, Chou R. CDC Clinical Practice Guideline for Prescribing Opioids for Pain — United States, 2022. MMWR Recomm Rep 2022;71(3):1-95, table of morphine milligram equivalent conversion factors.",
    )],
    compute: morphine_milligram_equivalents,
};

fn morphine_milligram_equivalents(values: &Values) -> Result<Computed, InputError> {
    let mut total = 0.0;
    let mut parts = Vec::new();
    for (name, label, factor) in OPIOIDS {
        if let Some(amount) = values.optional_number(name).filter(|a| *a > 0.0) {
            total += amount * factor;
            parts.push(format!("{label} {amount} × {factor}"));
        }
    }
    if parts.is_empty() {
        return Err(InputError::new(
            "inputs",
            "no opioid dose was given",
            "at least one of the *_mg_per_day inputs or fentanyl_patch_mcg_per_hour",
        ));
    }
    let mut computed = Computed::new(total, parts.join(" + ")).warn(
        "MME compares total opioid exposure; it is not a conversion table for switching between opioids (CDC 2022).",
    );
    if total >= 50.0 {
        computed = computed.warn("At or above 50 MME/day the CDC 2022 guideline advises careful reassessment of benefits and risks.");
    }
    Ok(computed)
}

/// Approximately equivalent anti-inflammatory doses, mg (Liu et al. 2013, table 1).
const STEROIDS: &[(&str, f64)] = &[
    ("cortisone", 25.0),
    ("hydrocortisone", 20.0),
    ("prednisone", 5.0),
    ("prednisolone", 5.0),
    ("methylprednisolone", 4.0),
    ("triamcinolone", 4.0),
    ("dexamethasone", 0.75),
];
const STEROID_NAMES: &[&str] = &[
    "cortisone",
    "hydrocortisone",
    "prednisone",
    "prednisolone",
    "methylprednisolone",
    "triamcinolone",
    "dexamethasone",
];

const STEROID_CONVERSION: Calculator = Calculator {
    id: "steroid_conversion",
    name: "Corticosteroid dose conversion",
    category: "medications",
    inputs: &[
        InputSpec::choice("from_steroid", "The steroid given", STEROID_NAMES),
        InputSpec::quantity("dose", "Its dose", "mg", &[], 0.01, 10_000.0),
        InputSpec::choice("to_steroid", "The steroid to express it as", STEROID_NAMES),
    ],
    output: OutputSpec {
        name: "equivalent dose",
        unit: "mg",
        decimals: 2,
    },
    references: &[(
        "liu-2013",
        "Liu D, Ahmet A, Ward L, et al. A practical guide to the monitoring and management of the complications of systemic corticosteroid therapy. Allergy Asthma Clin Immunol 2013;9(1):30, table 1 (equivalent glucocorticoid doses).",
    )],
    compute: steroid_conversion,
};

fn equivalent(name: &str) -> Result<f64, InputError> {
    STEROIDS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, mg)| *mg)
        .ok_or_else(|| InputError::new("inputs", "unknown steroid", STEROID_NAMES.join(", ")))
}

fn steroid_conversion(values: &Values) -> Result<Computed, InputError> {
    let from = values.choice("from_steroid")?;
    let to = values.choice("to_steroid")?;
    let dose = values.number("dose")?;
    let (from_mg, to_mg) = (equivalent(from)?, equivalent(to)?);
    Ok(Computed::new(
        dose / from_mg * to_mg,
        format!("{dose} mg {from} ÷ {from_mg} × {to_mg}"),
    )
    .warn("Equivalences compare anti-inflammatory potency only; mineralocorticoid effect and duration of action differ."))
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
    fn oxycodone_30_mg_and_a_25_mcg_fentanyl_patch_are_105_mme() {
        // 30 × 1.5 + 25 × 2.4 = 45 + 60 = 105.
        let total = run(
            &MORPHINE_MILLIGRAM_EQUIVALENTS,
            json!({"oxycodone_mg_per_day": 30, "fentanyl_patch_mcg_per_hour": 25}),
        )
        .unwrap();
        assert!((total.value - 105.0).abs() < 1e-9);
        assert_eq!(total.warnings.len(), 2);
        assert_eq!(
            run(&MORPHINE_MILLIGRAM_EQUIVALENTS, json!({}))
                .unwrap_err()
                .field,
            "inputs"
        );
    }

    #[test]
    fn forty_mg_of_prednisone_is_6_mg_of_dexamethasone() {
        // 40 / 5 × 0.75 = 6.
        let result = run(
            &STEROID_CONVERSION,
            json!({"from_steroid": "prednisone", "dose": 40, "to_steroid": "dexamethasone"}),
        )
        .unwrap();
        assert!((result.value - 6.0).abs() < 1e-12);
        // 100 mg hydrocortisone = 20 mg methylprednisolone.
        let iv = run(
            &STEROID_CONVERSION,
            json!({"from_steroid": "hydrocortisone", "dose": 100, "to_steroid": "methylprednisolone"}),
        )
        .unwrap();
        assert!((iv.value - 20.0).abs() < 1e-12);
    }
}
