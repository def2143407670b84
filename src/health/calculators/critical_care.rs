//! Critical care scores.

use super::inputs::{Alternative, InputSpec, Values, times, units};
use super::{Calculator, Computed, OutputSpec};
use crate::health::InputError;

pub const ALL: &[Calculator] = &[SOFA];

/// PaO2 kPa to mmHg.
const PAO2_MMHG: &[Alternative] = &[times("kPa", 7.500_62)];

const fn optional(spec: InputSpec) -> InputSpec {
    InputSpec {
        optional: true,
        ..spec
    }
}

const SOFA: Calculator = Calculator {
    id: "sofa",
    name: "SOFA score (Sequential Organ Failure Assessment)",
    category: "critical_care",
    inputs: &[
        InputSpec::quantity("pao2", "PaO2", "mmHg", PAO2_MMHG, 10.0, 700.0),
        InputSpec::quantity("fio2", "FiO2", "fraction", &[times("%", 0.01)], 0.21, 1.0),
        InputSpec::flag("respiratory_support", "Mechanical ventilation or CPAP"),
        InputSpec::quantity(
            "platelets",
            "Platelets",
            "10^9/L",
            &[times("/uL", 0.001)],
            0.0,
            2000.0,
        ),
        InputSpec::quantity(
            "bilirubin",
            "Bilirubin",
            "mg/dL",
            units::BILIRUBIN_MG_DL,
            0.0,
            80.0,
        ),
        InputSpec::quantity(
            "mean_arterial_pressure",
            "Mean arterial pressure",
            "mmHg",
            &[],
            10.0,
            250.0,
        ),
        optional(InputSpec::quantity(
            "dopamine",
            "Dopamine",
            "ug/kg/min",
            &[],
            0.0,
            100.0,
        )),
        InputSpec::flag("dobutamine", "Any dose of dobutamine"),
        optional(InputSpec::quantity(
            "epinephrine",
            "Epinephrine",
            "ug/kg/min",
            &[],
            0.0,
            10.0,
        )),
        optional(InputSpec::quantity(
            "norepinephrine",
            "Norepinephrine",
            "ug/kg/min",
            &[],
            0.0,
            10.0,
        )),
        InputSpec::quantity(
            "glasgow_coma_scale",
            "Glasgow Coma Scale",
            "points",
            &[],
            3.0,
            15.0,
        ),
        InputSpec::quantity(
            "creatinine",
            "Creatinine",
            "mg/dL",
            units::CREATININE_MG_DL,
            0.0,
            30.0,
        ),
        optional(InputSpec::quantity(
            "urine_output",
            "Urine output",
            "mL/day",
            &[],
            0.0,
            20_000.0,
        )),
    ],
    output: OutputSpec {
        name: "SOFA score",
        unit: "points",
        decimals: 0,
    },
    references: &[(
        "vincent-1996",
        "Vincent JL, Moreno R, Takala J, et al. The SOFA (Sepsis-related Organ Failure Assessment) score to describe organ dysfunction/failure. Intensive Care Med 1996;22(7):707-710, table 1 (catecholamine doses in µg/kg/min given for at least one hour).",
    )],
    compute: sofa,
};

fn sofa(values: &Values) -> Result<Computed, InputError> {
    let ratio = values.number("pao2")? / values.number("fio2")?;
    let supported = values.flag("respiratory_support");
    let respiration = match ratio {
        r if r < 100.0 && supported => 4,
        r if r < 200.0 && supported => 3,
        r if r < 300.0 => 2,
        r if r < 400.0 => 1,
        _ => 0,
    };
    let platelets = values.number("platelets")?;
    let coagulation = match platelets {
        p if p < 20.0 => 4,
        p if p < 50.0 => 3,
        p if p < 100.0 => 2,
        p if p < 150.0 => 1,
        _ => 0,
    };
    let bilirubin = values.number("bilirubin")?;
    let liver = match bilirubin {
        b if b >= 12.0 => 4,
        b if b >= 6.0 => 3,
        b if b >= 2.0 => 2,
        b if b >= 1.2 => 1,
        _ => 0,
    };
    let dopamine = values.optional_number("dopamine").unwrap_or(0.0);
    let epinephrine = values.optional_number("epinephrine").unwrap_or(0.0);
    let norepinephrine = values.optional_number("norepinephrine").unwrap_or(0.0);
    let cardiovascular = if dopamine > 15.0 || epinephrine > 0.1 || norepinephrine > 0.1 {
        4
    } else if dopamine > 5.0 || epinephrine > 0.0 || norepinephrine > 0.0 {
        3
    } else if dopamine > 0.0 || values.flag("dobutamine") {
        2
    } else if values.number("mean_arterial_pressure")? < 70.0 {
        1
    } else {
        0
    };
    let gcs = values.number("glasgow_coma_scale")?;
    let nervous = match gcs {
        g if g < 6.0 => 4,
        g if g < 10.0 => 3,
        g if g < 13.0 => 2,
        g if g < 15.0 => 1,
        _ => 0,
    };
    let creatinine = values.number("creatinine")?;
    let urine = values.optional_number("urine_output");
    let by_creatinine = match creatinine {
        c if c >= 5.0 => 4,
        c if c >= 3.5 => 3,
        c if c >= 2.0 => 2,
        c if c >= 1.2 => 1,
        _ => 0,
    };
    let by_urine = match urine {
        Some(u) if u < 200.0 => 4,
        Some(u) if u < 500.0 => 3,
        _ => 0,
    };
    let renal = by_creatinine.max(by_urine);
    let total = respiration + coagulation + liver + cardiovascular + nervous + renal;
    let mut computed = Computed::new(
        f64::from(total),
        format!(
            "respiration {respiration} (PaO2/FiO2 {ratio:.0}) + coagulation {coagulation} + liver {liver} + cardiovascular {cardiovascular} + CNS {nervous} + renal {renal}"
        ),
    );
    if ratio < 200.0 && !supported {
        computed = computed.warn("A PaO2/FiO2 below 200 scores 3 or 4 only with respiratory support; without it the respiratory score is capped at 2.");
    }
    Ok(computed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(inputs: serde_json::Value) -> Computed {
        let values = Values::parse(SOFA.inputs, inputs.as_object().unwrap()).unwrap();
        sofa(&values).unwrap()
    }

    #[test]
    fn a_well_patient_scores_0_and_each_organ_adds_its_band() {
        let well = run(
            json!({"pao2": 95, "fio2": 0.21, "platelets": 250, "bilirubin": 0.8,
            "mean_arterial_pressure": 85, "glasgow_coma_scale": 15, "creatinine": 0.9}),
        );
        // PaO2/FiO2 = 452: 0.
        assert_eq!(well.value, 0.0);
        // Ventilated, P/F 150 (3); platelets 80 (2); bilirubin 2.5 (2); norepinephrine 0.05 (3);
        // GCS 12 (2); creatinine 1.5 (1) but urine 400 mL/day (3): 3+2+2+3+2+3 = 15.
        let sick = run(json!({"pao2": 75, "fio2": 0.5, "respiratory_support": true,
            "platelets": 80, "bilirubin": 2.5, "mean_arterial_pressure": 65,
            "norepinephrine": 0.05, "glasgow_coma_scale": 12, "creatinine": 1.5,
            "urine_output": 400}));
        assert_eq!(sick.value, 15.0);
        // Without support the same P/F scores 2.
        let unsupported = run(
            json!({"pao2": 75, "fio2": "50 %", "platelets": 250, "bilirubin": 0.8,
            "mean_arterial_pressure": 85, "glasgow_coma_scale": 15, "creatinine": 0.9}),
        );
        assert_eq!(unsupported.value, 2.0);
        assert!(!unsupported.warnings.is_empty());
    }
}
