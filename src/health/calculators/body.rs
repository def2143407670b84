//! Body size calculators.

use super::inputs::{InputSpec, Values, units};
use super::{Calculator, Computed, OutputSpec};
use crate::health::InputError;

pub const ALL: &[Calculator] = &[
    BMI,
    BODY_SURFACE_AREA,
    IDEAL_BODY_WEIGHT,
    ADJUSTED_BODY_WEIGHT,
    TARGET_WEIGHT,
    MAINTENANCE_FLUIDS,
];

const DEVINE: (&str, &str) = (
    "devine-1974",
    "Devine BJ. Gentamicin therapy. Drug Intell Clin Pharm 1974;8:650-655 (ideal body weight: 50 kg men / 45.5 kg women + 2.3 kg per inch over 5 feet).",
);

/// Devine's ideal body weight in kg for a height in cm.
fn devine_kg(height_cm: f64, female: bool) -> f64 {
    let inches_over_five_feet = height_cm / 2.54 - 60.0;
    (if female { 45.5 } else { 50.0 }) + 2.3 * inches_over_five_feet
}

const IDEAL_BODY_WEIGHT: Calculator = Calculator {
    id: "ideal_body_weight",
    name: "Ideal body weight (Devine)",
    category: "body",
    inputs: &[
        InputSpec::quantity("height", "Height", "cm", units::HEIGHT_CM, 152.4, 250.0),
        InputSpec::choice("sex", "Sex", &["female", "male"]),
    ],
    output: OutputSpec {
        name: "ideal body weight",
        unit: "kg",
        decimals: 1,
    },
    references: &[DEVINE],
    compute: ideal_body_weight,
};

fn ideal_body_weight(values: &Values) -> Result<Computed, InputError> {
    let height = values.number("height")?;
    let female = values.choice("sex")? == "female";
    Ok(Computed::new(
        devine_kg(height, female),
        format!(
            "{} + 2.3 × ({height} / 2.54 − 60)",
            if female { "45.5" } else { "50" }
        ),
    )
    .warn("Devine's formula was made for heights of 5 feet (152.4 cm) and over."))
}

const ADJUSTED_BODY_WEIGHT: Calculator = Calculator {
    id: "adjusted_body_weight",
    name: "Adjusted body weight",
    category: "body",
    inputs: &[
        InputSpec::quantity(
            "weight",
            "Actual body weight",
            "kg",
            units::WEIGHT_KG,
            20.0,
            350.0,
        ),
        InputSpec::quantity("height", "Height", "cm", units::HEIGHT_CM, 152.4, 250.0),
        InputSpec::choice("sex", "Sex", &["female", "male"]),
    ],
    output: OutputSpec {
        name: "adjusted body weight",
        unit: "kg",
        decimals: 1,
    },
    references: &[
        (
            "bauer-2008",
            "Bauer LA. Applied Clinical Pharmacokinetics, 2nd ed. McGraw-Hill 2008, ch. 4: adjusted body weight = IBW + 0.4 × (total weight − IBW) for aminoglycoside dosing in obesity.",
        ),
        DEVINE,
    ],
    compute: adjusted_body_weight,
};

fn adjusted_body_weight(values: &Values) -> Result<Computed, InputError> {
    let weight = values.number("weight")?;
    let ideal = devine_kg(values.number("height")?, values.choice("sex")? == "female");
    Ok(Computed::new(
        ideal + 0.4 * (weight - ideal),
        format!("IBW {ideal:.1} + 0.4 × ({weight} − {ideal:.1})"),
    ))
}

const TARGET_WEIGHT: Calculator = Calculator {
    id: "target_weight",
    name: "Target weight for a BMI",
    category: "body",
    inputs: &[
        InputSpec::quantity("target_bmi", "Target BMI", "kg/m²", &[], 10.0, 60.0),
        InputSpec::quantity("height", "Height", "cm", units::HEIGHT_CM, 50.0, 250.0),
    ],
    output: OutputSpec {
        name: "target weight",
        unit: "kg",
        decimals: 1,
    },
    references: &[(
        "who-trs-894",
        "World Health Organization. Obesity: preventing and managing the global epidemic. WHO Technical Report Series 894, Geneva 2000 (BMI = kg / m²).",
    )],
    compute: target_weight,
};

fn target_weight(values: &Values) -> Result<Computed, InputError> {
    let bmi = values.number("target_bmi")?;
    let height_m = values.number("height")? / 100.0;
    Ok(Computed::new(
        bmi * height_m * height_m,
        format!("{bmi} × {height_m}²"),
    ))
}

const MAINTENANCE_FLUIDS: Calculator = Calculator {
    id: "maintenance_fluids",
    name: "Maintenance fluids (Holliday-Segar 4-2-1)",
    category: "body",
    inputs: &[InputSpec::quantity(
        "weight",
        "Body weight",
        "kg",
        units::WEIGHT_KG,
        0.5,
        350.0,
    )],
    output: OutputSpec {
        name: "maintenance fluid rate",
        unit: "mL/h",
        decimals: 1,
    },
    references: &[(
        "holliday-segar-1957",
        "Holliday MA, Segar WE. The maintenance need for water in parenteral fluid therapy. Pediatrics 1957;19(5):823-832 (100/50/20 mL/kg/day, the hourly 4-2-1 rule).",
    )],
    compute: maintenance_fluids,
};

/// 4 mL/kg/h for the first 10 kg, 2 for the next 10, 1 for every kg beyond.
fn maintenance_fluids(values: &Values) -> Result<Computed, InputError> {
    let weight = values.number("weight")?;
    let first = weight.min(10.0);
    let second = (weight - 10.0).clamp(0.0, 10.0);
    let rest = (weight - 20.0).max(0.0);
    Ok(Computed::new(
        4.0 * first + 2.0 * second + rest,
        format!("4 × {first} + 2 × {second} + 1 × {rest}"),
    ))
}

const BMI: Calculator = Calculator {
    id: "bmi",
    name: "Body mass index",
    category: "body",
    inputs: &[
        InputSpec::quantity("weight", "Body weight", "kg", units::WEIGHT_KG, 2.0, 350.0),
        InputSpec::quantity("height", "Height", "cm", units::HEIGHT_CM, 50.0, 250.0),
    ],
    output: OutputSpec {
        name: "BMI",
        unit: "kg/m²",
        decimals: 1,
    },
    references: &[(
        "who-trs-894",
        "World Health Organization. Obesity: preventing and managing the global epidemic. WHO Technical Report Series 894, Geneva 2000 (BMI classes, adults).",
    )],
    compute: bmi,
};

/// WHO adult classes (TRS 894, table 2.1).
fn bmi_class(bmi: f64) -> &'static str {
    match bmi {
        b if b < 18.5 => "underweight",
        b if b < 25.0 => "normal range",
        b if b < 30.0 => "overweight (pre-obese)",
        b if b < 35.0 => "obese class I",
        b if b < 40.0 => "obese class II",
        _ => "obese class III",
    }
}

fn bmi(values: &Values) -> Result<Computed, InputError> {
    let weight = values.number("weight")?;
    let height_m = values.number("height")? / 100.0;
    let bmi = weight / (height_m * height_m);
    Ok(Computed::new(bmi, format!("{weight} / {height_m}²"))
        .interpreted(bmi_class(bmi))
        .warn("BMI classes are for adults; children need age- and sex-specific percentiles."))
}

const BODY_SURFACE_AREA: Calculator = Calculator {
    id: "body_surface_area",
    name: "Body surface area (Mosteller)",
    category: "body",
    inputs: &[
        InputSpec::quantity("weight", "Body weight", "kg", units::WEIGHT_KG, 0.5, 350.0),
        InputSpec::quantity("height", "Height", "cm", units::HEIGHT_CM, 30.0, 250.0),
    ],
    output: OutputSpec {
        name: "body surface area",
        unit: "m²",
        decimals: 2,
    },
    references: &[(
        "mosteller-1987",
        "Mosteller RD. Simplified calculation of body-surface area. N Engl J Med 1987;317(17):1098. doi:10.1056/NEJM198710223171717",
    )],
    compute: body_surface_area,
};

/// BSA = √(height cm × weight kg / 3600).
fn body_surface_area(values: &Values) -> Result<Computed, InputError> {
    let weight = values.number("weight")?;
    let height = values.number("height")?;
    Ok(Computed::new(
        (height * weight / 3600.0).sqrt(),
        format!("√({height} × {weight} / 3600)"),
    ))
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
    fn seventy_kg_at_175_cm_is_a_bmi_of_22_9_in_the_normal_range() {
        // 70 / 1.75² = 22.857.
        let result = run(&BMI, json!({"weight": 70, "height": 175}));
        assert!((result.value - 22.857).abs() < 0.001);
        assert_eq!(result.interpretation.as_deref(), Some("normal range"));
        // The WHO class edges.
        assert_eq!(bmi_class(18.49), "underweight");
        assert_eq!(bmi_class(25.0), "overweight (pre-obese)");
        assert_eq!(bmi_class(30.0), "obese class I");
        // 154.3 lb and 68.9 in are the same person.
        let imperial = run(&BMI, json!({"weight": "154.3 lb", "height": "68.9 in"}));
        assert!((imperial.value - 22.86).abs() < 0.05);
    }

    #[test]
    fn devine_gives_a_180_cm_man_75_kg_and_adjusts_a_heavier_one_toward_it() {
        // 180 cm = 70.866 in; 50 + 2.3 × 10.866 = 74.99 kg.
        let man = run(&IDEAL_BODY_WEIGHT, json!({"height": 180, "sex": "male"}));
        assert!((man.value - 74.99).abs() < 0.01);
        // A 165 cm woman: 64.961 in; 45.5 + 2.3 × 4.961 = 56.91 kg.
        let woman = run(&IDEAL_BODY_WEIGHT, json!({"height": 165, "sex": "female"}));
        assert!((woman.value - 56.91).abs() < 0.01);
        // 120 kg at 180 cm: 74.99 + 0.4 × (120 − 74.99) = 92.99 kg.
        let adjusted = run(
            &ADJUSTED_BODY_WEIGHT,
            json!({"weight": 120, "height": 180, "sex": "male"}),
        );
        assert!((adjusted.value - 92.99).abs() < 0.01);
    }

    #[test]
    fn the_4_2_1_rule_gives_65_ml_per_hour_at_25_kg() {
        // 4 × 10 + 2 × 10 + 1 × 5 = 65.
        assert_eq!(run(&MAINTENANCE_FLUIDS, json!({"weight": 25})).value, 65.0);
        assert_eq!(run(&MAINTENANCE_FLUIDS, json!({"weight": 8})).value, 32.0);
        // Target weight at BMI 22 and 170 cm: 22 × 1.7² = 63.58 kg.
        assert!(
            (run(&TARGET_WEIGHT, json!({"target_bmi": 22, "height": 170})).value - 63.58).abs()
                < 1e-9
        );
    }

    #[test]
    fn mostellers_formula_gives_2_m2_for_180_cm_and_80_kg() {
        // √(180 × 80 / 3600) = √4 = 2.
        assert!(
            (run(&BODY_SURFACE_AREA, json!({"weight": 80, "height": 180})).value - 2.0).abs()
                < 1e-12
        );
    }
}
