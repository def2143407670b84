//! Bedside scores: counts of criteria, each criterion as its publication defines it.

use super::inputs::{Alternative, InputSpec, Values, times, units};
use super::{Calculator, Computed, OutputSpec};
use crate::health::InputError;

pub const ALL: &[Calculator] = &[
    CURB_65,
    CENTOR_MCISAAC,
    PERC,
    SIRS,
    WELLS_PE,
    WELLS_DVT,
    HEART,
    REVISED_CARDIAC_RISK_INDEX,
    GLASGOW_COMA_SCALE,
    FEVERPAIN,
    GLASGOW_BLATCHFORD,
    CHARLSON,
    PNEUMONIA_SEVERITY_INDEX,
];

const PNEUMONIA_SEVERITY_INDEX: Calculator = Calculator {
    id: "pneumonia_severity_index",
    name: "Pneumonia Severity Index (PORT)",
    category: "scores",
    inputs: &[
        InputSpec::quantity("age", "Age", "years", &[], 18.0, 120.0),
        InputSpec::choice("sex", "Sex", &["female", "male"]),
        InputSpec::flag("nursing_home_resident", "Nursing home resident"),
        InputSpec::flag("neoplastic_disease", "Neoplastic disease"),
        InputSpec::flag("liver_disease", "Liver disease"),
        InputSpec::flag("congestive_heart_failure", "Congestive heart failure"),
        InputSpec::flag("cerebrovascular_disease", "Cerebrovascular disease"),
        InputSpec::flag("renal_disease", "Renal disease"),
        InputSpec::flag("altered_mental_status", "Altered mental status"),
        InputSpec::quantity(
            "respiratory_rate",
            "Respiratory rate",
            "breaths/min",
            &[],
            1.0,
            80.0,
        ),
        InputSpec::quantity("systolic", "Systolic pressure", "mmHg", &[], 20.0, 300.0),
        InputSpec::quantity("temperature", "Temperature", "C", TEMPERATURE_C, 25.0, 45.0),
        InputSpec::quantity("heart_rate", "Pulse", "beats/min", &[], 20.0, 250.0),
        InputSpec {
            optional: true,
            ..InputSpec::quantity("arterial_ph", "Arterial pH", "", &[], 6.5, 8.0)
        },
        InputSpec {
            optional: true,
            ..InputSpec::quantity(
                "bun",
                "Blood urea nitrogen",
                "mg/dL",
                units::BUN_MG_DL,
                1.0,
                300.0,
            )
        },
        InputSpec {
            optional: true,
            ..InputSpec::quantity(
                "sodium",
                "Sodium",
                "mmol/L",
                units::MONOVALENT_MMOL_L,
                90.0,
                200.0,
            )
        },
        InputSpec {
            optional: true,
            ..InputSpec::quantity(
                "glucose",
                "Glucose",
                "mg/dL",
                units::GLUCOSE_MG_DL,
                10.0,
                3000.0,
            )
        },
        InputSpec {
            optional: true,
            ..InputSpec::quantity("haematocrit", "Haematocrit", "%", &[], 5.0, 80.0)
        },
        InputSpec {
            optional: true,
            ..InputSpec::quantity(
                "pao2",
                "PaO2",
                "mmHg",
                &[times("kPa", 7.500_62)],
                10.0,
                700.0,
            )
        },
        InputSpec::flag(
            "pleural_effusion",
            "Pleural effusion on the chest radiograph",
        ),
    ],
    output: POINTS,
    references: &[(
        "fine-1997",
        "Fine MJ, Auble TE, Yealy DM, et al. A prediction rule to identify low-risk patients with community-acquired pneumonia. N Engl J Med 1997;336(4):243-250 (risk class I by the first step; points and classes II-V, with 30-day mortality in the validation cohorts).",
    )],
    compute: pneumonia_severity_index,
};

fn pneumonia_severity_index(values: &Values) -> Result<Computed, InputError> {
    let age = values.number("age")?;
    let female = values.choice("sex")? == "female";
    let respiratory_rate = values.number("respiratory_rate")?;
    let systolic = values.number("systolic")?;
    let temperature = values.number("temperature")?;
    let pulse = values.number("heart_rate")?;
    let comorbidities = [
        ("neoplastic_disease", 30),
        ("liver_disease", 20),
        ("congestive_heart_failure", 10),
        ("cerebrovascular_disease", 10),
        ("renal_disease", 10),
    ];
    let examination = [
        (
            values.flag("altered_mental_status"),
            20,
            "altered mental status",
        ),
        (respiratory_rate >= 30.0, 20, "respiratory rate ≥ 30"),
        (systolic < 90.0, 20, "systolic < 90"),
        (
            !(35.0..40.0).contains(&temperature),
            15,
            "temperature < 35 or ≥ 40 °C",
        ),
        (pulse >= 125.0, 10, "pulse ≥ 125"),
    ];
    let any_comorbidity = comorbidities.iter().any(|(name, _)| values.flag(name));
    let any_finding = examination.iter().any(|(met, _, _)| *met);
    // Step 1: age 50 or under, no comorbidity and no abnormal finding is class I, unscored.
    if age <= 50.0 && !any_comorbidity && !any_finding && !values.flag("nursing_home_resident") {
        return Ok(
            Computed::new(0.0, "step 1: age ≤ 50, no comorbidity, no abnormal finding")
                .interpreted("class I: 30-day mortality about 0.1 %; outpatient care"),
        );
    }
    let mut points = if female { age - 10.0 } else { age };
    let mut parts = vec![format!("age {points}")];
    let mut add = |met: bool, value: i32, name: &str| {
        if met {
            points += f64::from(value);
            parts.push(format!("{name} +{value}"));
        }
    };
    add(values.flag("nursing_home_resident"), 10, "nursing home");
    for (name, value) in comorbidities {
        add(values.flag(name), value, name);
    }
    for (met, value, name) in examination {
        add(met, value, name);
    }
    add(
        values
            .optional_number("arterial_ph")
            .is_some_and(|v| v < 7.35),
        30,
        "pH < 7.35",
    );
    add(
        values.optional_number("bun").is_some_and(|v| v >= 30.0),
        20,
        "BUN ≥ 30 mg/dL",
    );
    add(
        values.optional_number("sodium").is_some_and(|v| v < 130.0),
        20,
        "sodium < 130",
    );
    add(
        values
            .optional_number("glucose")
            .is_some_and(|v| v >= 250.0),
        10,
        "glucose ≥ 250 mg/dL",
    );
    add(
        values
            .optional_number("haematocrit")
            .is_some_and(|v| v < 30.0),
        10,
        "haematocrit < 30 %",
    );
    add(
        values.optional_number("pao2").is_some_and(|v| v < 60.0),
        10,
        "PaO2 < 60 mmHg",
    );
    add(values.flag("pleural_effusion"), 10, "pleural effusion");
    let reading = match points {
        p if p <= 70.0 => "class II (≤ 70): 30-day mortality about 0.6 %; outpatient care",
        p if p <= 90.0 => "class III (71–90): about 0.9 %; outpatient care or a brief admission",
        p if p <= 130.0 => "class IV (91–130): about 9.3 %; admit",
        _ => "class V (> 130): about 27 %; admit",
    };
    Ok(Computed::new(points, parts.join(" + "))
        .interpreted(reading)
        .warn("Laboratory items left out count as normal, as in the original rule."))
}

const CHARLSON: Calculator = Calculator {
    id: "charlson",
    name: "Charlson Comorbidity Index (age-adjusted)",
    category: "scores",
    inputs: &[
        InputSpec::quantity("age", "Age", "years", &[], 0.0, 120.0),
        InputSpec::flag("myocardial_infarction", "Myocardial infarction"),
        InputSpec::flag("congestive_heart_failure", "Congestive heart failure"),
        InputSpec::flag("peripheral_vascular_disease", "Peripheral vascular disease"),
        InputSpec::flag("cerebrovascular_disease", "Cerebrovascular disease or TIA"),
        InputSpec::flag("dementia", "Dementia"),
        InputSpec::flag("chronic_pulmonary_disease", "Chronic pulmonary disease"),
        InputSpec::flag("connective_tissue_disease", "Connective tissue disease"),
        InputSpec::flag("peptic_ulcer_disease", "Peptic ulcer disease"),
        InputSpec {
            optional: true,
            ..InputSpec::choice(
                "liver_disease",
                "Liver disease",
                &["none", "mild", "moderate_to_severe"],
            )
        },
        InputSpec {
            optional: true,
            ..InputSpec::choice(
                "diabetes",
                "Diabetes",
                &["none", "uncomplicated", "end_organ_damage"],
            )
        },
        InputSpec::flag("hemiplegia", "Hemiplegia"),
        InputSpec::flag(
            "moderate_to_severe_renal_disease",
            "Moderate to severe renal disease",
        ),
        InputSpec {
            optional: true,
            ..InputSpec::choice(
                "solid_tumour",
                "Solid tumour",
                &["none", "localised", "metastatic"],
            )
        },
        InputSpec::flag("leukaemia", "Leukaemia"),
        InputSpec::flag("lymphoma", "Lymphoma"),
        InputSpec::flag("aids", "AIDS"),
    ],
    output: POINTS,
    references: &[
        (
            "charlson-1987",
            "Charlson ME, Pompei P, Ales KL, MacKenzie CR. A new method of classifying prognostic comorbidity in longitudinal studies: development and validation. J Chronic Dis 1987;40(5):373-383.",
        ),
        (
            "charlson-1994",
            "Charlson M, Szatrowski TP, Peterson J, Gold J. Validation of a combined comorbidity index. J Clin Epidemiol 1994;47(11):1245-1251 (one point per decade of age from 50).",
        ),
    ],
    compute: charlson,
};

fn charlson(values: &Values) -> Result<Computed, InputError> {
    let weighted = [
        ("myocardial_infarction", 1),
        ("congestive_heart_failure", 1),
        ("peripheral_vascular_disease", 1),
        ("cerebrovascular_disease", 1),
        ("dementia", 1),
        ("chronic_pulmonary_disease", 1),
        ("connective_tissue_disease", 1),
        ("peptic_ulcer_disease", 1),
        ("hemiplegia", 2),
        ("moderate_to_severe_renal_disease", 2),
        ("leukaemia", 2),
        ("lymphoma", 2),
        ("aids", 6),
    ];
    let mut total = 0;
    let mut parts = Vec::new();
    for (name, points) in weighted {
        if values.flag(name) {
            total += points;
            parts.push(format!("{name} {points}"));
        }
    }
    // Graded conditions count once, at their most severe grade.
    for (name, grades) in [
        ("liver_disease", [("mild", 1), ("moderate_to_severe", 3)]),
        ("diabetes", [("uncomplicated", 1), ("end_organ_damage", 2)]),
        ("solid_tumour", [("localised", 2), ("metastatic", 6)]),
    ] {
        if let Ok(grade) = values.choice(name)
            && let Some((_, points)) = grades.iter().find(|(g, _)| *g == grade)
        {
            total += points;
            parts.push(format!("{name} ({grade}) {points}"));
        }
    }
    let age = values.number("age")?;
    let age_points = match age {
        a if a < 50.0 => 0,
        a if a < 60.0 => 1,
        a if a < 70.0 => 2,
        a if a < 80.0 => 3,
        _ => 4,
    };
    total += age_points;
    parts.push(format!("age {age_points}"));
    // Charlson 1987: estimated 10-year survival = 0.983^(e^(0.9 × score)).
    let survival = 0.983f64.powf((0.9 * f64::from(total)).exp()) * 100.0;
    Ok(Computed::new(f64::from(total), parts.join(" + "))
        .interpreted(format!("estimated 10-year survival {survival:.0} %")))
}

/// Blood urea nitrogen in mg/dL to urea in mmol/L: ÷ 2.801.
const UREA_MMOL_L: &[Alternative] = &[times("mg/dL", 1.0 / 2.801)];
/// Haemoglobin g/L to g/dL.
const HAEMOGLOBIN_G_DL: &[Alternative] = &[times("g/L", 0.1)];

const GLASGOW_BLATCHFORD: Calculator = Calculator {
    id: "glasgow_blatchford",
    name: "Glasgow-Blatchford bleeding score",
    category: "scores",
    inputs: &[
        InputSpec::quantity("urea", "Blood urea", "mmol/L", UREA_MMOL_L, 0.5, 100.0),
        InputSpec::quantity(
            "haemoglobin",
            "Haemoglobin",
            "g/dL",
            HAEMOGLOBIN_G_DL,
            1.0,
            25.0,
        ),
        InputSpec::choice("sex", "Sex", &["female", "male"]),
        InputSpec::quantity("systolic", "Systolic pressure", "mmHg", &[], 20.0, 300.0),
        InputSpec::quantity("heart_rate", "Pulse", "beats/min", &[], 20.0, 250.0),
        InputSpec::flag("melaena", "Melaena"),
        InputSpec::flag("syncope", "Presented with syncope"),
        InputSpec::flag("hepatic_disease", "Hepatic disease"),
        InputSpec::flag("cardiac_failure", "Cardiac failure"),
    ],
    output: POINTS,
    references: &[(
        "blatchford-2000",
        "Blatchford O, Murray WR, Blatchford M. A risk score to predict need for treatment for upper-gastrointestinal haemorrhage. Lancet 2000;356(9238):1318-1321.",
    )],
    compute: glasgow_blatchford,
};

fn glasgow_blatchford(values: &Values) -> Result<Computed, InputError> {
    let urea = values.number("urea")?;
    let haemoglobin = values.number("haemoglobin")?;
    let male = values.choice("sex")? == "male";
    let systolic = values.number("systolic")?;
    let urea_points = match urea {
        u if u >= 25.0 => 6,
        u if u >= 10.0 => 4,
        u if u >= 8.0 => 3,
        u if u >= 6.5 => 2,
        _ => 0,
    };
    let haemoglobin_points = match (male, haemoglobin) {
        (_, h) if h < 10.0 => 6,
        (true, h) if h < 12.0 => 3,
        (true, h) if h < 13.0 => 1,
        (false, h) if h < 12.0 => 1,
        _ => 0,
    };
    let systolic_points = match systolic {
        s if s < 90.0 => 3,
        s if s < 100.0 => 2,
        s if s < 110.0 => 1,
        _ => 0,
    };
    let others = [
        (values.number("heart_rate")? >= 100.0, 1, "pulse ≥ 100"),
        (values.flag("melaena"), 1, "melaena"),
        (values.flag("syncope"), 2, "syncope"),
        (values.flag("hepatic_disease"), 2, "hepatic disease"),
        (values.flag("cardiac_failure"), 2, "cardiac failure"),
    ];
    let other_points: i32 = others
        .iter()
        .filter(|(m, _, _)| *m)
        .map(|(_, p, _)| p)
        .sum();
    let total = urea_points + haemoglobin_points + systolic_points + other_points;
    let mut working = format!(
        "urea {urea_points} + haemoglobin {haemoglobin_points} + systolic {systolic_points}"
    );
    for (met, points, name) in others {
        if met {
            working.push_str(&format!(" + {name} {points}"));
        }
    }
    let reading = if total == 0 {
        "0: low risk; outpatient management may be considered"
    } else {
        "above 0: the score does not identify the patient as low risk"
    };
    Ok(Computed::new(f64::from(total), working).interpreted(reading))
}

const FEVERPAIN: Calculator = Calculator {
    id: "feverpain",
    name: "FeverPAIN score (streptococcal pharyngitis)",
    category: "scores",
    inputs: &[
        InputSpec::flag("fever_past_24h", "Fever in the past 24 hours"),
        InputSpec::flag("purulence", "Pharyngeal or tonsillar exudate"),
        InputSpec::flag("attended_within_3_days", "Attended within 3 days of onset"),
        InputSpec::flag("inflamed_tonsils", "Severely inflamed tonsils"),
        InputSpec::flag("no_cough_or_coryza", "No cough or coryza"),
    ],
    output: POINTS,
    references: &[(
        "little-2013",
        "Little P, Hobbs FDR, Moore M, et al. Clinical score and rapid antigen detection test to guide antibiotic use for sore throats: randomised controlled trial of PRISM (primary care streptococcal management). BMJ 2013;347:f5806.",
    )],
    compute: feverpain,
};

fn feverpain(values: &Values) -> Result<Computed, InputError> {
    let (score, working) = count(&[
        (values.flag("fever_past_24h"), "fever"),
        (values.flag("purulence"), "purulence"),
        (values.flag("attended_within_3_days"), "attended rapidly"),
        (values.flag("inflamed_tonsils"), "inflamed tonsils"),
        (values.flag("no_cough_or_coryza"), "no cough or coryza"),
    ]);
    let reading = match score as u8 {
        0 | 1 => "0–1: streptococcus unlikely; no antibiotic",
        2 | 3 => "2–3: consider a delayed antibiotic prescription",
        _ => "4–5: consider an immediate antibiotic or a delayed prescription",
    };
    Ok(Computed::new(score, working).interpreted(reading))
}

const WELLS_DVT: Calculator = Calculator {
    id: "wells_dvt",
    name: "Wells criteria for deep vein thrombosis",
    category: "scores",
    inputs: &[
        InputSpec::flag(
            "active_cancer",
            "Active cancer (treatment within 6 months or palliative)",
        ),
        InputSpec::flag(
            "paralysis_or_cast",
            "Paralysis, paresis or recent plaster cast of a leg",
        ),
        InputSpec::flag(
            "bedridden_or_major_surgery",
            "Bedridden ≥ 3 days or major surgery within 12 weeks",
        ),
        InputSpec::flag(
            "deep_vein_tenderness",
            "Localised tenderness along the deep veins",
        ),
        InputSpec::flag("entire_leg_swollen", "Entire leg swollen"),
        InputSpec::flag(
            "calf_swelling_3cm",
            "Calf swelling ≥ 3 cm over the other leg",
        ),
        InputSpec::flag(
            "pitting_oedema",
            "Pitting oedema confined to the symptomatic leg",
        ),
        InputSpec::flag(
            "collateral_superficial_veins",
            "Collateral superficial (non-varicose) veins",
        ),
        InputSpec::flag("previous_dvt", "Previously documented DVT"),
        InputSpec::flag(
            "alternative_diagnosis_as_likely",
            "An alternative diagnosis at least as likely",
        ),
    ],
    output: POINTS,
    references: &[(
        "wells-2003",
        "Wells PS, Anderson DR, Rodger M, et al. Evaluation of D-dimer in the diagnosis of suspected deep-vein thrombosis. N Engl J Med 2003;349(13):1227-1235 (the modified score with previous DVT).",
    )],
    compute: wells_dvt,
};

fn wells_dvt(values: &Values) -> Result<Computed, InputError> {
    let (positives, working) = count(&[
        (values.flag("active_cancer"), "active cancer"),
        (values.flag("paralysis_or_cast"), "paralysis or cast"),
        (
            values.flag("bedridden_or_major_surgery"),
            "bedridden or surgery",
        ),
        (values.flag("deep_vein_tenderness"), "deep vein tenderness"),
        (values.flag("entire_leg_swollen"), "entire leg swollen"),
        (values.flag("calf_swelling_3cm"), "calf swelling ≥ 3 cm"),
        (values.flag("pitting_oedema"), "pitting oedema"),
        (
            values.flag("collateral_superficial_veins"),
            "collateral veins",
        ),
        (values.flag("previous_dvt"), "previous DVT"),
    ]);
    let alternative = values.flag("alternative_diagnosis_as_likely");
    let score = positives - if alternative { 2.0 } else { 0.0 };
    let reading = if score >= 2.0 {
        "DVT likely (≥ 2)"
    } else {
        "DVT unlikely (< 2)"
    };
    Ok(Computed::new(
        score,
        format!(
            "{working}{}",
            if alternative {
                "; alternative diagnosis −2"
            } else {
                ""
            }
        ),
    )
    .interpreted(reading))
}

const HEART_HISTORY: [&str; 3] = [
    "slightly_suspicious",
    "moderately_suspicious",
    "highly_suspicious",
];
const HEART_ECG: [&str; 3] = [
    "normal",
    "nonspecific_repolarisation",
    "significant_st_deviation",
];
const HEART_TROPONIN: [&str; 3] = [
    "normal",
    "one_to_three_times_normal",
    "over_three_times_normal",
];

const HEART: Calculator = Calculator {
    id: "heart",
    name: "HEART score for chest pain",
    category: "scores",
    inputs: &[
        InputSpec::choice("history", "History", &HEART_HISTORY),
        InputSpec::choice("ecg", "ECG", &HEART_ECG),
        InputSpec::quantity("age", "Age", "years", &[], 18.0, 120.0),
        InputSpec::quantity(
            "risk_factors",
            "Number of risk factors (hypertension, hypercholesterolaemia, diabetes, obesity, smoking, family history)",
            "count",
            &[],
            0.0,
            10.0,
        ),
        InputSpec::flag(
            "known_atherosclerotic_disease",
            "Known atherosclerotic disease (prior MI, PCI/CABG, stroke, peripheral arterial disease)",
        ),
        InputSpec::choice("troponin", "Initial troponin", &HEART_TROPONIN),
    ],
    output: POINTS,
    references: &[(
        "six-2008",
        "Six AJ, Backus BE, Kelder JC. Chest pain in the emergency room: value of the HEART score. Neth Heart J 2008;16(6):191-196.",
    )],
    compute: heart,
};

fn heart(values: &Values) -> Result<Computed, InputError> {
    let level = |name: &str, options: [&str; 3]| -> Result<f64, InputError> {
        let chosen = values.choice(name)?;
        Ok(options.iter().position(|o| *o == chosen).unwrap_or(0) as f64)
    };
    let history = level("history", HEART_HISTORY)?;
    let ecg = level("ecg", HEART_ECG)?;
    let age = values.number("age")?;
    let age_points = if age < 45.0 {
        0.0
    } else if age < 65.0 {
        1.0
    } else {
        2.0
    };
    let factors = values.number("risk_factors")?;
    let risk_points = if values.flag("known_atherosclerotic_disease") || factors >= 3.0 {
        2.0
    } else if factors >= 1.0 {
        1.0
    } else {
        0.0
    };
    let troponin = level("troponin", HEART_TROPONIN)?;
    let score = history + ecg + age_points + risk_points + troponin;
    let reading = match score {
        s if s <= 3.0 => "0–3: low risk (MACE about 2.5 % in the derivation cohort)",
        s if s <= 6.0 => "4–6: moderate risk (about 20 %)",
        _ => "7–10: high risk (about 73 %)",
    };
    Ok(Computed::new(
        score,
        format!("H{history} + E{ecg} + A{age_points} + R{risk_points} + T{troponin}"),
    )
    .interpreted(reading))
}

const REVISED_CARDIAC_RISK_INDEX: Calculator = Calculator {
    id: "revised_cardiac_risk_index",
    name: "Revised Cardiac Risk Index (Lee)",
    category: "scores",
    inputs: &[
        InputSpec::flag(
            "high_risk_surgery",
            "Intraperitoneal, intrathoracic or suprainguinal vascular surgery",
        ),
        InputSpec::flag(
            "ischaemic_heart_disease",
            "History of ischaemic heart disease",
        ),
        InputSpec::flag("heart_failure", "History of congestive heart failure"),
        InputSpec::flag(
            "cerebrovascular_disease",
            "History of stroke or transient ischaemic attack",
        ),
        InputSpec::flag("insulin_treated_diabetes", "Diabetes treated with insulin"),
        InputSpec::quantity(
            "creatinine",
            "Preoperative creatinine",
            "mg/dL",
            units::CREATININE_MG_DL,
            0.1,
            20.0,
        ),
    ],
    output: POINTS,
    references: &[(
        "lee-1999",
        "Lee TH, Marcantonio ER, Mangione CM, et al. Derivation and prospective validation of a simple index for prediction of cardiac risk of major noncardiac surgery. Circulation 1999;100(10):1043-1049.",
    )],
    compute: revised_cardiac_risk_index,
};

fn revised_cardiac_risk_index(values: &Values) -> Result<Computed, InputError> {
    let (score, working) = count(&[
        (values.flag("high_risk_surgery"), "high-risk surgery"),
        (
            values.flag("ischaemic_heart_disease"),
            "ischaemic heart disease",
        ),
        (values.flag("heart_failure"), "heart failure"),
        (
            values.flag("cerebrovascular_disease"),
            "cerebrovascular disease",
        ),
        (
            values.flag("insulin_treated_diabetes"),
            "insulin-treated diabetes",
        ),
        (values.number("creatinine")? > 2.0, "creatinine > 2 mg/dL"),
    ]);
    // Lee 1999, validation cohort rates of major cardiac complications by class.
    let reading = match score as u8 {
        0 => "class I (0): 0.4 % major cardiac complications",
        1 => "class II (1): 0.9 %",
        2 => "class III (2): 6.6 %",
        _ => "class IV (≥ 3): 11 %",
    };
    Ok(Computed::new(score, working).interpreted(reading))
}

const POINTS: OutputSpec = OutputSpec {
    name: "score",
    unit: "points",
    decimals: 1,
};

const TEMPERATURE_C: &[Alternative] = units::TEMPERATURE_C;

fn count(criteria: &[(bool, &str)]) -> (f64, String) {
    let met: Vec<&str> = criteria
        .iter()
        .filter(|(m, _)| *m)
        .map(|(_, n)| *n)
        .collect();
    let working = if met.is_empty() {
        "no criterion met".to_string()
    } else {
        format!("met: {}", met.join(", "))
    };
    (met.len() as f64, working)
}

const CURB_65: Calculator = Calculator {
    id: "curb_65",
    name: "CURB-65 (community-acquired pneumonia severity)",
    category: "scores",
    inputs: &[
        InputSpec::flag("confusion", "New confusion"),
        InputSpec::quantity(
            "bun",
            "Blood urea nitrogen",
            "mg/dL",
            units::BUN_MG_DL,
            1.0,
            300.0,
        ),
        InputSpec::quantity(
            "respiratory_rate",
            "Respiratory rate",
            "breaths/min",
            &[],
            1.0,
            80.0,
        ),
        InputSpec::quantity("systolic", "Systolic pressure", "mmHg", &[], 20.0, 300.0),
        InputSpec::quantity("diastolic", "Diastolic pressure", "mmHg", &[], 10.0, 200.0),
        InputSpec::quantity("age", "Age", "years", &[], 18.0, 120.0),
    ],
    output: POINTS,
    references: &[(
        "lim-2003",
        "Lim WS, van der Eerden MM, Laing R, et al. Defining community acquired pneumonia severity on presentation to hospital: an international derivation and validation study. Thorax 2003;58(5):377-382.",
    )],
    compute: curb_65,
};

/// Confusion; urea > 7 mmol/L (BUN > 19 mg/dL); RR ≥ 30; SBP < 90 or DBP ≤ 60; age ≥ 65.
fn curb_65(values: &Values) -> Result<Computed, InputError> {
    let (score, working) = count(&[
        (values.flag("confusion"), "confusion"),
        (
            values.number("bun")? > 19.0,
            "BUN > 19 mg/dL (urea > 7 mmol/L)",
        ),
        (
            values.number("respiratory_rate")? >= 30.0,
            "respiratory rate ≥ 30",
        ),
        (
            values.number("systolic")? < 90.0 || values.number("diastolic")? <= 60.0,
            "SBP < 90 or DBP ≤ 60 mmHg",
        ),
        (values.number("age")? >= 65.0, "age ≥ 65"),
    ]);
    // Lim 2003, the three management groups and their 30-day mortality in the derivation set.
    let reading = match score as u8 {
        0 | 1 => {
            "group 1 (0–1): low risk, 30-day mortality about 1.5 %; likely suitable for home treatment"
        }
        2 => "group 2 (2): intermediate risk, about 9.2 %; consider hospital treatment",
        _ => {
            "group 3 (3–5): severe pneumonia, about 22 %; manage in hospital, assess for intensive care at 4–5"
        }
    };
    Ok(Computed::new(score, working).interpreted(reading))
}

const CENTOR_MCISAAC: Calculator = Calculator {
    id: "centor_mcisaac",
    name: "Centor score, McIsaac modification (streptococcal pharyngitis)",
    category: "scores",
    inputs: &[
        InputSpec::quantity("temperature", "Temperature", "C", TEMPERATURE_C, 30.0, 45.0),
        InputSpec::flag("cough_absent", "Absence of cough"),
        InputSpec::flag(
            "tender_anterior_nodes",
            "Swollen, tender anterior cervical nodes",
        ),
        InputSpec::flag(
            "tonsillar_exudate_or_swelling",
            "Tonsillar swelling or exudate",
        ),
        InputSpec::quantity("age", "Age", "years", &[], 3.0, 120.0),
    ],
    output: POINTS,
    references: &[(
        "mcisaac-1998",
        "McIsaac WJ, White D, Tannenbaum D, Low DE. A clinical score to reduce unnecessary antibiotic use in patients with sore throat. CMAJ 1998;158(1):75-83.",
    )],
    compute: centor_mcisaac,
};

/// +1 each: temperature > 38 °C, no cough, tender anterior nodes, tonsillar swelling or
/// exudate; age 3–14 +1, 15–44 0, ≥ 45 −1.
fn centor_mcisaac(values: &Values) -> Result<Computed, InputError> {
    let (criteria, working) = count(&[
        (values.number("temperature")? > 38.0, "temperature > 38 °C"),
        (values.flag("cough_absent"), "no cough"),
        (
            values.flag("tender_anterior_nodes"),
            "tender anterior nodes",
        ),
        (
            values.flag("tonsillar_exudate_or_swelling"),
            "tonsillar swelling or exudate",
        ),
    ]);
    let age = values.number("age")?;
    let age_points = if age < 15.0 {
        1.0
    } else if age < 45.0 {
        0.0
    } else {
        -1.0
    };
    let score = criteria + age_points;
    let reading = match score {
        s if s <= 1.0 => "≤ 1: no culture or antibiotic needed (McIsaac 1998)",
        s if s <= 3.0 => "2–3: culture or rapid antigen test; treat if positive",
        _ => "≥ 4: culture and consider empirical antibiotics",
    };
    Ok(Computed::new(score, format!("{working}; age {age}: {age_points:+}")).interpreted(reading))
}

const PERC: Calculator = Calculator {
    id: "perc",
    name: "PERC rule (pulmonary embolism rule-out criteria)",
    category: "scores",
    inputs: &[
        InputSpec::quantity("age", "Age", "years", &[], 18.0, 120.0),
        InputSpec::quantity("heart_rate", "Heart rate", "beats/min", &[], 20.0, 250.0),
        InputSpec::quantity(
            "oxygen_saturation",
            "Oxygen saturation on room air",
            "%",
            &[],
            50.0,
            100.0,
        ),
        InputSpec::flag("unilateral_leg_swelling", "Unilateral leg swelling"),
        InputSpec::flag("haemoptysis", "Haemoptysis"),
        InputSpec::flag(
            "recent_surgery_or_trauma",
            "Surgery or trauma in the last 4 weeks",
        ),
        InputSpec::flag("prior_pe_or_dvt", "Prior PE or DVT"),
        InputSpec::flag(
            "hormone_use",
            "Oral contraceptives, hormone replacement or oestrogen",
        ),
    ],
    output: OutputSpec {
        name: "criteria met",
        unit: "criteria",
        decimals: 0,
    },
    references: &[(
        "kline-2004",
        "Kline JA, Mitchell AM, Kabrhel C, Richman PB, Courtney DM. Clinical criteria to prevent unnecessary diagnostic testing in emergency department patients with suspected pulmonary embolism. J Thromb Haemost 2004;2(8):1247-1255.",
    )],
    compute: perc,
};

fn perc(values: &Values) -> Result<Computed, InputError> {
    let (met, working) = count(&[
        (values.number("age")? >= 50.0, "age ≥ 50"),
        (values.number("heart_rate")? >= 100.0, "heart rate ≥ 100"),
        (values.number("oxygen_saturation")? < 95.0, "SaO2 < 95 %"),
        (
            values.flag("unilateral_leg_swelling"),
            "unilateral leg swelling",
        ),
        (values.flag("haemoptysis"), "haemoptysis"),
        (
            values.flag("recent_surgery_or_trauma"),
            "recent surgery or trauma",
        ),
        (values.flag("prior_pe_or_dvt"), "prior PE or DVT"),
        (values.flag("hormone_use"), "hormone use"),
    ]);
    let reading = if met == 0.0 {
        "PERC negative: in a patient whose pretest probability is already low (< 15 %), PE can be ruled out without further testing"
    } else {
        "PERC positive: the rule cannot exclude PE; proceed with the usual work-up"
    };
    Ok(Computed::new(met, working)
        .interpreted(reading)
        .warn("Apply PERC only when the clinician's pretest probability of PE is low."))
}

const SIRS: Calculator = Calculator {
    id: "sirs",
    name: "SIRS criteria",
    category: "scores",
    inputs: &[
        InputSpec::quantity("temperature", "Temperature", "C", TEMPERATURE_C, 25.0, 45.0),
        InputSpec::quantity("heart_rate", "Heart rate", "beats/min", &[], 20.0, 250.0),
        InputSpec::quantity(
            "respiratory_rate",
            "Respiratory rate",
            "breaths/min",
            &[],
            1.0,
            80.0,
        ),
        InputSpec {
            optional: true,
            ..InputSpec::quantity(
                "paco2",
                "PaCO2",
                "mmHg",
                &[times("kPa", 7.500_62)],
                5.0,
                150.0,
            )
        },
        InputSpec::quantity(
            "wbc",
            "White cell count",
            "10^9/L",
            &[times("/uL", 0.001)],
            0.0,
            500.0,
        ),
        InputSpec::flag(
            "bands_over_10_percent",
            "More than 10 % immature (band) forms",
        ),
    ],
    output: OutputSpec {
        name: "criteria met",
        unit: "criteria",
        decimals: 0,
    },
    references: &[(
        "bone-1992",
        "Bone RC, Balk RA, Cerra FB, et al. Definitions for sepsis and organ failure and guidelines for the use of innovative therapies in sepsis. ACCP/SCCM Consensus Conference. Chest 1992;101(6):1644-1655.",
    )],
    compute: sirs,
};

fn sirs(values: &Values) -> Result<Computed, InputError> {
    let temperature = values.number("temperature")?;
    let wbc = values.number("wbc")?;
    let (met, working) = count(&[
        (
            !(36.0..=38.0).contains(&temperature),
            "temperature > 38 or < 36 °C",
        ),
        (values.number("heart_rate")? > 90.0, "heart rate > 90"),
        (
            values.number("respiratory_rate")? > 20.0
                || values.optional_number("paco2").is_some_and(|p| p < 32.0),
            "respiratory rate > 20 or PaCO2 < 32 mmHg",
        ),
        (
            !(4.0..=12.0).contains(&wbc) || values.flag("bands_over_10_percent"),
            "WBC > 12 or < 4 × 10^9/L or > 10 % bands",
        ),
    ]);
    let reading = if met >= 2.0 {
        "SIRS present (2 or more criteria)"
    } else {
        "SIRS absent (fewer than 2 criteria)"
    };
    Ok(Computed::new(met, working)
        .interpreted(reading)
        .warn("Sepsis-3 (2016) defines sepsis by organ dysfunction (SOFA), not by SIRS."))
}

const WELLS_PE: Calculator = Calculator {
    id: "wells_pe",
    name: "Wells criteria for pulmonary embolism",
    category: "scores",
    inputs: &[
        InputSpec::flag("dvt_signs", "Clinical signs and symptoms of DVT"),
        InputSpec::flag("pe_most_likely", "PE is the most likely diagnosis"),
        InputSpec::quantity("heart_rate", "Heart rate", "beats/min", &[], 20.0, 250.0),
        InputSpec::flag(
            "immobilisation_or_recent_surgery",
            "Immobilisation ≥ 3 days or surgery in the last 4 weeks",
        ),
        InputSpec::flag("prior_pe_or_dvt", "Previous PE or DVT"),
        InputSpec::flag("haemoptysis", "Haemoptysis"),
        InputSpec::flag(
            "malignancy",
            "Malignancy (treated within 6 months or palliative)",
        ),
    ],
    output: POINTS,
    references: &[(
        "wells-2000",
        "Wells PS, Anderson DR, Rodger M, et al. Derivation of a simple clinical model to categorize patients' probability of pulmonary embolism: increasing the model's utility with the SimpliRED D-dimer. Thromb Haemost 2000;83(3):416-420.",
    )],
    compute: wells_pe,
};

fn wells_pe(values: &Values) -> Result<Computed, InputError> {
    let items = [
        (values.flag("dvt_signs"), 3.0, "DVT signs"),
        (values.flag("pe_most_likely"), 3.0, "PE most likely"),
        (
            values.number("heart_rate")? > 100.0,
            1.5,
            "heart rate > 100",
        ),
        (
            values.flag("immobilisation_or_recent_surgery"),
            1.5,
            "immobilisation or surgery",
        ),
        (values.flag("prior_pe_or_dvt"), 1.5, "previous PE or DVT"),
        (values.flag("haemoptysis"), 1.0, "haemoptysis"),
        (values.flag("malignancy"), 1.0, "malignancy"),
    ];
    let score: f64 = items.iter().filter(|(m, _, _)| *m).map(|(_, p, _)| p).sum();
    let working = items
        .iter()
        .filter(|(m, _, _)| *m)
        .map(|(_, p, n)| format!("{n} +{p}"))
        .collect::<Vec<_>>()
        .join(", ");
    let three_tier = if score < 2.0 {
        "low"
    } else if score <= 6.0 {
        "moderate"
    } else {
        "high"
    };
    let two_tier = if score <= 4.0 {
        "PE unlikely"
    } else {
        "PE likely"
    };
    Ok(Computed::new(
        score,
        if working.is_empty() {
            "no item present".into()
        } else {
            working
        },
    )
    .interpreted(format!(
        "{three_tier} probability (three tiers); {two_tier} (two tiers, > 4)"
    )))
}

const GLASGOW_COMA_SCALE: Calculator = Calculator {
    id: "glasgow_coma_scale",
    name: "Glasgow Coma Scale",
    category: "scores",
    inputs: &[
        InputSpec::quantity(
            "eye",
            "Eye opening (1 none – 4 spontaneous)",
            "points",
            &[],
            1.0,
            4.0,
        ),
        InputSpec::quantity(
            "verbal",
            "Verbal response (1 none – 5 oriented)",
            "points",
            &[],
            1.0,
            5.0,
        ),
        InputSpec::quantity(
            "motor",
            "Motor response (1 none – 6 obeys commands)",
            "points",
            &[],
            1.0,
            6.0,
        ),
    ],
    output: POINTS,
    references: &[(
        "teasdale-jennett-1974",
        "Teasdale G, Jennett B. Assessment of coma and impaired consciousness: a practical scale. Lancet 1974;2(7872):81-84.",
    )],
    compute: glasgow_coma_scale,
};

/// E + V + M, each a whole number of its range; each counted once.
fn glasgow_coma_scale(values: &Values) -> Result<Computed, InputError> {
    let mut total = 0.0;
    let mut parts = Vec::new();
    for (name, letter) in [("eye", "E"), ("verbal", "V"), ("motor", "M")] {
        let points = values.number(name)?;
        if points.fract() != 0.0 {
            return Err(InputError::new(
                format!("inputs.{name}"),
                "must be a whole number of points",
                "a whole number in the component's range",
            ));
        }
        total += points;
        parts.push(format!("{letter}{points}"));
    }
    let reading = match total {
        t if t <= 8.0 => "severe (≤ 8)",
        t if t <= 12.0 => "moderate (9–12)",
        _ => "mild (13–15)",
    };
    Ok(Computed::new(total, parts.join(" + ")).interpreted(reading))
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
    fn curb_65_counts_each_criterion_once_at_its_published_threshold() {
        // An 80-year-old, confused, BUN 25, RR 32, BP 85/50: all five.
        let all = run(
            &CURB_65,
            json!({"confusion": true, "bun": 25, "respiratory_rate": 32,
            "systolic": 85, "diastolic": 50, "age": 80}),
        );
        assert_eq!(all.value, 5.0);
        // Just under every threshold: BUN 19, RR 29, BP 90/61, age 64.
        let none = run(
            &CURB_65,
            json!({"bun": 19, "respiratory_rate": 29,
            "systolic": 90, "diastolic": 61, "age": 64}),
        );
        assert_eq!(none.value, 0.0);
        // Urea 7.5 mmol/L is BUN 21 mg/dL: counts.
        let urea = run(
            &CURB_65,
            json!({"bun": "7.5 mmol/L", "respiratory_rate": 16,
            "systolic": 120, "diastolic": 80, "age": 40}),
        );
        assert_eq!(urea.value, 1.0);
    }

    #[test]
    fn mcisaac_adds_one_for_children_and_takes_one_from_adults_over_44() {
        let child = run(
            &CENTOR_MCISAAC,
            json!({"temperature": 38.5, "cough_absent": true,
            "tender_anterior_nodes": true, "tonsillar_exudate_or_swelling": true, "age": 10}),
        );
        assert_eq!(child.value, 5.0);
        let older = run(
            &CENTOR_MCISAAC,
            json!({"temperature": "101 F", "cough_absent": true, "age": 50}),
        );
        // 101 °F = 38.3 °C counts; no cough counts; age 50 takes one: 1.
        assert_eq!(older.value, 1.0);
    }

    #[test]
    fn glasgow_blatchford_bands_urea_haemoglobin_and_pressure() {
        let low = run(
            &GLASGOW_BLATCHFORD,
            json!({"urea": 5, "haemoglobin": 14, "sex": "male",
            "systolic": 120, "heart_rate": 80}),
        );
        assert_eq!(low.value, 0.0);
        // Urea 9 (3) + man Hb 11 (3) + SBP 95 (2) + pulse 105 (1) + melaena (1) = 10.
        let high = run(
            &GLASGOW_BLATCHFORD,
            json!({"urea": 9, "haemoglobin": 11, "sex": "male",
            "systolic": 95, "heart_rate": 105, "melaena": true}),
        );
        assert_eq!(high.value, 10.0);
        // The same haemoglobin in a woman scores 1; BUN 28 mg/dL is urea 10 mmol/L (4).
        let woman = run(
            &GLASGOW_BLATCHFORD,
            json!({"urea": "28.01 mg/dL", "haemoglobin": 11,
            "sex": "female", "systolic": 120, "heart_rate": 80}),
        );
        assert_eq!(woman.value, 5.0);
    }

    #[test]
    fn charlson_counts_each_condition_once_at_its_worst_grade_plus_age() {
        // 65 years (2) + myocardial infarction (1) + diabetes with end-organ damage (2)
        // + metastatic tumour (6) = 11.
        let result = run(
            &CHARLSON,
            json!({"age": 65, "myocardial_infarction": true,
            "diabetes": "end_organ_damage", "solid_tumour": "metastatic"}),
        );
        assert_eq!(result.value, 11.0);
        // A healthy 40-year-old: 0, and 0.983^(e^0) = 98 % survival.
        let healthy = run(&CHARLSON, json!({"age": 40}));
        assert_eq!(healthy.value, 0.0);
        assert_eq!(
            healthy.interpretation.as_deref(),
            Some("estimated 10-year survival 98 %")
        );
    }

    #[test]
    fn the_pneumonia_severity_index_sorts_class_i_first_and_then_adds_points() {
        let well = run(
            &PNEUMONIA_SEVERITY_INDEX,
            json!({"age": 40, "sex": "male",
            "respiratory_rate": 18, "systolic": 120, "temperature": 37.5, "heart_rate": 90}),
        );
        assert!(well.interpretation.unwrap().starts_with("class I:"));
        // A 75-year-old woman: 75 − 10 = 65, + heart failure 10 + BUN 35 (20) + effusion 10 = 105.
        let sick = run(
            &PNEUMONIA_SEVERITY_INDEX,
            json!({"age": 75, "sex": "female",
            "congestive_heart_failure": true, "respiratory_rate": 24, "systolic": 110,
            "temperature": 38.2, "heart_rate": 100, "bun": 35, "pleural_effusion": true}),
        );
        assert_eq!(sick.value, 105.0);
        assert!(sick.interpretation.unwrap().starts_with("class IV"));
    }

    #[test]
    fn feverpain_counts_its_five_items() {
        let all = run(
            &FEVERPAIN,
            json!({"fever_past_24h": true, "purulence": true,
            "attended_within_3_days": true, "inflamed_tonsils": true, "no_cough_or_coryza": true}),
        );
        assert_eq!(all.value, 5.0);
        assert_eq!(run(&FEVERPAIN, json!({"purulence": true})).value, 1.0);
    }

    #[test]
    fn wells_dvt_heart_and_rcri_add_their_items() {
        let dvt = run(
            &WELLS_DVT,
            json!({"active_cancer": true, "calf_swelling_3cm": true,
            "alternative_diagnosis_as_likely": true}),
        );
        assert_eq!(dvt.value, 0.0);
        assert_eq!(dvt.interpretation.as_deref(), Some("DVT unlikely (< 2)"));
        // Moderately suspicious 1, nonspecific ECG 1, age 55 1, two risk factors 1, troponin
        // normal 0 = 4.
        let heart_score = run(
            &HEART,
            json!({"history": "moderately_suspicious",
            "ecg": "nonspecific_repolarisation", "age": 55, "risk_factors": 2, "troponin": "normal"}),
        );
        assert_eq!(heart_score.value, 4.0);
        let atherosclerosis = run(
            &HEART,
            json!({"history": "slightly_suspicious", "ecg": "normal",
            "age": 40, "risk_factors": 0, "known_atherosclerotic_disease": true, "troponin": "normal"}),
        );
        assert_eq!(atherosclerosis.value, 2.0);
        // Creatinine 2.0 mg/dL does not count (> 2), 221 µmol/L (2.5 mg/dL) does.
        let rcri = run(
            &REVISED_CARDIAC_RISK_INDEX,
            json!({"high_risk_surgery": true, "creatinine": 2.0}),
        );
        assert_eq!(rcri.value, 1.0);
        let rcri = run(
            &REVISED_CARDIAC_RISK_INDEX,
            json!({"heart_failure": true, "creatinine": "221 umol/L"}),
        );
        assert_eq!(rcri.value, 2.0);
    }

    #[test]
    fn perc_sirs_wells_and_gcs_follow_their_definitions() {
        let negative = run(
            &PERC,
            json!({"age": 35, "heart_rate": 80, "oxygen_saturation": 98}),
        );
        assert_eq!(negative.value, 0.0);
        assert!(
            negative
                .interpretation
                .unwrap()
                .starts_with("PERC negative")
        );
        let sirs_two = run(
            &SIRS,
            json!({"temperature": 38.6, "heart_rate": 110,
            "respiratory_rate": 16, "wbc": 9}),
        );
        assert_eq!(sirs_two.value, 2.0);
        let by_paco2 = run(
            &SIRS,
            json!({"temperature": 37, "heart_rate": 80,
            "respiratory_rate": 16, "paco2": 30, "wbc": 9}),
        );
        assert_eq!(by_paco2.value, 1.0);
        // DVT signs 3 + HR > 100 1.5 + haemoptysis 1 = 5.5: moderate, PE likely.
        let wells = run(
            &WELLS_PE,
            json!({"dvt_signs": true, "heart_rate": 110, "haemoptysis": true}),
        );
        assert_eq!(wells.value, 5.5);
        assert_eq!(
            wells.interpretation.as_deref(),
            Some("moderate probability (three tiers); PE likely (two tiers, > 4)")
        );
        // E3 V4 M5 = 12, each part counted once.
        assert_eq!(
            run(
                &GLASGOW_COMA_SCALE,
                json!({"eye": 3, "verbal": 4, "motor": 5})
            )
            .value,
            12.0
        );
        let values = Values::parse(
            GLASGOW_COMA_SCALE.inputs,
            json!({"eye": 3.5, "verbal": 4, "motor": 5})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(glasgow_coma_scale(&values).unwrap_err().field, "inputs.eye");
    }
}
