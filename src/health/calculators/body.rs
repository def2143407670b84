//! Body size calculators.

use super::inputs::{InputSpec, Values, units};
use super::{Calculator, Computed, OutputSpec};
use crate::health::InputError;

pub const ALL: &[Calculator] = &[BMI, BODY_SURFACE_AREA];

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
    fn mostellers_formula_gives_2_m2_for_180_cm_and_80_kg() {
        // √(180 × 80 / 3600) = √4 = 2.
        assert!(
            (run(&BODY_SURFACE_AREA, json!({"weight": 80, "height": 180})).value - 2.0).abs()
                < 1e-12
        );
    }
}
