//! A calculator's inputs: what each one is ([`InputSpec`]), and turning a caller's JSON into
//! canonical values ([`Values::parse`]). A quantity may come as a number (in the canonical
//! unit), as `{"value": 154, "unit": "lb"}`, or as the text `"154 lb"`; it is converted once
//! and checked against the calculator's validated range, and an error names the field and
//! what it accepts.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use super::super::InputError;

/// A unit a quantity may be given in, and how to reach the canonical unit:
/// canonical = value × factor + offset.
#[derive(Debug, Clone, Copy)]
pub struct Alternative {
    pub unit: &'static str,
    pub factor: f64,
    pub offset: f64,
}

/// An alternative unit that is a plain multiple of the canonical one.
pub const fn times(unit: &'static str, factor: f64) -> Alternative {
    Alternative {
        unit,
        factor,
        offset: 0.0,
    }
}

#[derive(Debug, Clone, Copy)]
pub enum InputKind {
    /// A measured number with a unit and the range the calculator was validated for.
    Quantity {
        unit: &'static str,
        alternatives: &'static [Alternative],
        min: f64,
        max: f64,
    },
    /// Present or absent (a criterion of a score).
    Flag,
    /// One of a few named options.
    Choice(&'static [&'static str]),
    /// A calendar date, `YYYY-MM-DD`, within the years 1900–2200.
    Date,
}

#[derive(Debug, Clone, Copy)]
pub struct InputSpec {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: InputKind,
    /// Whether the calculator can run without it (a flag left out is false).
    pub optional: bool,
}

impl InputSpec {
    pub const fn quantity(
        name: &'static str,
        label: &'static str,
        unit: &'static str,
        alternatives: &'static [Alternative],
        min: f64,
        max: f64,
    ) -> Self {
        Self {
            name,
            label,
            kind: InputKind::Quantity {
                unit,
                alternatives,
                min,
                max,
            },
            optional: false,
        }
    }

    pub const fn flag(name: &'static str, label: &'static str) -> Self {
        Self {
            name,
            label,
            kind: InputKind::Flag,
            optional: true,
        }
    }

    pub const fn date(name: &'static str, label: &'static str) -> Self {
        Self {
            name,
            label,
            kind: InputKind::Date,
            optional: false,
        }
    }

    pub const fn choice(
        name: &'static str,
        label: &'static str,
        options: &'static [&'static str],
    ) -> Self {
        Self {
            name,
            label,
            kind: InputKind::Choice(options),
            optional: false,
        }
    }

    /// What the field accepts, for errors and listings.
    pub fn accepted(&self) -> String {
        match self.kind {
            InputKind::Quantity {
                unit,
                alternatives,
                min,
                max,
            } => {
                let mut text = format!("{min}–{max} {unit}");
                if !alternatives.is_empty() {
                    let units: Vec<&str> = alternatives.iter().map(|a| a.unit).collect();
                    text.push_str(&format!(" (or in {})", units.join(", ")));
                }
                text
            }
            InputKind::Flag => "true or false".into(),
            InputKind::Choice(options) => format!("one of: {}", options.join(", ")),
            InputKind::Date => "a date as YYYY-MM-DD (years 1900–2200)".into(),
        }
    }

    pub fn describe(&self) -> InputDescription {
        let (kind, unit, alternative_units) = match self.kind {
            InputKind::Quantity {
                unit, alternatives, ..
            } => (
                "quantity",
                Some(unit.to_string()),
                alternatives.iter().map(|a| a.unit.to_string()).collect(),
            ),
            InputKind::Flag => ("flag", None, Vec::new()),
            InputKind::Choice(_) => ("choice", None, Vec::new()),
            InputKind::Date => ("date", None, Vec::new()),
        };
        InputDescription {
            name: self.name.into(),
            label: self.label.into(),
            kind: kind.into(),
            unit,
            alternative_units,
            accepted: self.accepted(),
            optional: self.optional,
        }
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct InputDescription {
    pub name: String,
    pub label: String,
    /// `quantity`, `flag` or `choice`.
    pub kind: String,
    /// The canonical unit of a quantity.
    pub unit: Option<String>,
    /// Other units a quantity may be given in.
    pub alternative_units: Vec<String>,
    pub accepted: String,
    pub optional: bool,
}

/// One input after parsing and conversion.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum InputValue {
    Number(f64),
    Flag(bool),
    /// A choice, or a date as `YYYY-MM-DD`.
    Choice(String),
}

/// A calculator's inputs, canonical and checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Values {
    values: BTreeMap<&'static str, InputValue>,
}

fn normalise_unit(unit: &str) -> String {
    unit.trim()
        .to_ascii_lowercase()
        .replace('µ', "u")
        .replace("μ", "u")
        .replace(' ', "")
}

fn split_text_quantity(text: &str) -> Option<(f64, &str)> {
    let text = text.trim();
    let end = text
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))
        .map_or(text.len(), |(i, _)| i);
    let number = text.get(..end)?.parse::<f64>().ok()?;
    Some((number, text.get(end..)?.trim()))
}

impl Values {
    /// Reads `given` (a JSON object of input name → value) against `specs`. Unknown names,
    /// missing required inputs, wrong units and out-of-range values are errors naming the
    /// input.
    pub fn parse(
        specs: &[InputSpec],
        given: &serde_json::Map<String, Value>,
    ) -> Result<Values, InputError> {
        for name in given.keys() {
            if !specs.iter().any(|s| s.name == name) {
                let known: Vec<&str> = specs.iter().map(|s| s.name).collect();
                return Err(InputError::new(
                    format!("inputs.{name}"),
                    "is not an input of this calculator",
                    format!("inputs: {}", known.join(", ")),
                ));
            }
        }
        let mut values = BTreeMap::new();
        for spec in specs {
            let field = format!("inputs.{}", spec.name);
            let Some(raw) = given.get(spec.name).filter(|v| !v.is_null()) else {
                match spec.kind {
                    InputKind::Flag => {
                        values.insert(spec.name, InputValue::Flag(false));
                        continue;
                    }
                    _ if spec.optional => continue,
                    _ => {
                        return Err(InputError::new(field, "is required", spec.accepted()));
                    }
                }
            };
            let value = match spec.kind {
                InputKind::Quantity {
                    unit,
                    alternatives,
                    min,
                    max,
                } => {
                    let (number, given_unit) = match raw {
                        Value::Number(n) => (n.as_f64(), None),
                        Value::String(text) => match split_text_quantity(text) {
                            Some((n, u)) => (Some(n), (!u.is_empty()).then(|| u.to_string())),
                            None => (None, None),
                        },
                        Value::Object(map) => (
                            map.get("value").and_then(Value::as_f64),
                            map.get("unit").and_then(Value::as_str).map(str::to_string),
                        ),
                        _ => (None, None),
                    };
                    let number = number.filter(|n| n.is_finite()).ok_or_else(|| {
                        InputError::new(&field, "must be a number", spec.accepted())
                    })?;
                    let canonical = match given_unit.as_deref().map(normalise_unit) {
                        None => number,
                        Some(u) if u == normalise_unit(unit) => number,
                        Some(u) => {
                            let alternative = alternatives
                                .iter()
                                .find(|a| normalise_unit(a.unit) == u)
                                .ok_or_else(|| {
                                    InputError::new(
                                        &field,
                                        format!("unit {u:?} is not accepted"),
                                        spec.accepted(),
                                    )
                                })?;
                            number * alternative.factor + alternative.offset
                        }
                    };
                    InputValue::Number(InputError::check_range(&field, canonical, min, max, unit)?)
                }
                InputKind::Flag => match raw {
                    Value::Bool(b) => InputValue::Flag(*b),
                    _ => {
                        return Err(InputError::new(
                            field,
                            "must be true or false",
                            spec.accepted(),
                        ));
                    }
                },
                InputKind::Date => {
                    let parsed = raw
                        .as_str()
                        .and_then(|t| chrono::NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d").ok());
                    match parsed.filter(|d| (1900..=2200).contains(&chrono::Datelike::year(d))) {
                        Some(date) => InputValue::Choice(date.format("%Y-%m-%d").to_string()),
                        None => {
                            return Err(InputError::new(
                                field,
                                "is not a valid date",
                                spec.accepted(),
                            ));
                        }
                    }
                }
                InputKind::Choice(options) => {
                    let text = raw.as_str().map(|s| s.trim().to_ascii_lowercase());
                    match text.filter(|t| options.contains(&t.as_str())) {
                        Some(choice) => InputValue::Choice(choice),
                        None => {
                            return Err(InputError::new(
                                field,
                                "is not one of the options",
                                spec.accepted(),
                            ));
                        }
                    }
                }
            };
            values.insert(spec.name, value);
        }
        Ok(Values { values })
    }

    /// A quantity in its canonical unit. Calculators ask only for inputs they declared, so
    /// a missing one is a declaration mistake, reported as an input error rather than a panic.
    pub fn number(&self, name: &str) -> Result<f64, InputError> {
        match self.values.get(name) {
            Some(InputValue::Number(n)) => Ok(*n),
            _ => Err(InputError::new(
                format!("inputs.{name}"),
                "is required",
                "a number",
            )),
        }
    }

    pub fn optional_number(&self, name: &str) -> Option<f64> {
        match self.values.get(name) {
            Some(InputValue::Number(n)) => Some(*n),
            _ => None,
        }
    }

    pub fn flag(&self, name: &str) -> bool {
        matches!(self.values.get(name), Some(InputValue::Flag(true)))
    }

    pub fn date(&self, name: &str) -> Result<chrono::NaiveDate, InputError> {
        match self.values.get(name) {
            Some(InputValue::Choice(text)) => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| {
                    InputError::new(
                        format!("inputs.{name}"),
                        "is not a valid date",
                        "YYYY-MM-DD",
                    )
                }),
            _ => Err(InputError::new(
                format!("inputs.{name}"),
                "is required",
                "YYYY-MM-DD",
            )),
        }
    }

    pub fn choice(&self, name: &str) -> Result<&str, InputError> {
        match self.values.get(name) {
            Some(InputValue::Choice(c)) => Ok(c),
            _ => Err(InputError::new(
                format!("inputs.{name}"),
                "is required",
                "an option",
            )),
        }
    }

    /// The inputs as used, for `inputs_used`.
    pub fn as_map(&self) -> BTreeMap<String, InputValue> {
        self.values
            .iter()
            .map(|(k, v)| ((*k).to_string(), v.clone()))
            .collect()
    }
}

/// Common alternative units, with their conversion to the canonical unit.
pub mod units {
    use super::{Alternative, times};

    /// Pounds to kilograms: 1 lb = 0.45359237 kg exactly (international avoirdupois pound).
    pub const WEIGHT_KG: &[Alternative] = &[times("lb", 0.453_592_37), times("g", 0.001)];
    /// Inches (2.54 cm exactly) and metres to centimetres.
    pub const HEIGHT_CM: &[Alternative] = &[times("in", 2.54), times("m", 100.0)];
    /// Creatinine: 1 mg/dL = 88.4 µmol/L (molar mass 113.12 g/mol; KDIGO 2012 uses 88.4).
    pub const CREATININE_MG_DL: &[Alternative] = &[times("umol/L", 1.0 / 88.4)];
    /// Calcium: 1 mmol/L = 4.008 mg/dL (molar mass 40.08 g/mol).
    pub const CALCIUM_MG_DL: &[Alternative] = &[times("mmol/L", 4.008)];
    /// Albumin: g/L to g/dL.
    pub const ALBUMIN_G_DL: &[Alternative] = &[times("g/L", 0.1)];
    /// Electrolytes already in mmol/L equal mEq/L for monovalent ions.
    pub const MONOVALENT_MMOL_L: &[Alternative] = &[times("mEq/L", 1.0)];
    /// Bilirubin: 1 mg/dL = 17.1 µmol/L (molar mass 584.66 g/mol).
    pub const BILIRUBIN_MG_DL: &[Alternative] = &[times("umol/L", 1.0 / 17.1)];
    /// Glucose: 1 mmol/L = 18.016 mg/dL (molar mass 180.16 g/mol).
    pub const GLUCOSE_MG_DL: &[Alternative] = &[times("mmol/L", 18.016)];
    /// Urea in mmol/L to blood urea nitrogen in mg/dL: × 2.801 (2 × 14.007 g/mol of nitrogen).
    pub const BUN_MG_DL: &[Alternative] = &[times("mmol/L", 2.801)];
    /// Cholesterol: 1 mmol/L = 38.67 mg/dL (molar mass 386.65 g/mol).
    pub const CHOLESTEROL_MG_DL: &[Alternative] = &[times("mmol/L", 38.67)];
    /// °F to °C: (°F − 32) × 5/9.
    pub const TEMPERATURE_C: &[Alternative] = &[Alternative {
        unit: "F",
        factor: 5.0 / 9.0,
        offset: -32.0 * 5.0 / 9.0,
    }];
    /// Waist circumference: inches (2.54 cm exactly) to centimetres.
    pub const WAIST_CM: &[Alternative] = &[times("in", 2.54)];
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SPECS: &[InputSpec] = &[
        InputSpec::quantity("weight", "Weight", "kg", units::WEIGHT_KG, 1.0, 350.0),
        InputSpec::flag("smoker", "Smoker"),
        InputSpec::choice("sex", "Sex", &["female", "male"]),
    ];

    fn parse(given: Value) -> Result<Values, InputError> {
        Values::parse(SPECS, given.as_object().unwrap())
    }

    #[test]
    fn a_quantity_may_be_a_number_an_object_or_text_and_is_converted_once() {
        let plain = parse(json!({"weight": 70, "sex": "male"})).unwrap();
        assert_eq!(plain.number("weight").unwrap(), 70.0);
        let object = parse(json!({"weight": {"value": 154, "unit": "lb"}, "sex": "male"})).unwrap();
        assert!((object.number("weight").unwrap() - 69.853).abs() < 0.001);
        let text = parse(json!({"weight": "70000 g", "sex": "Female"})).unwrap();
        assert_eq!(text.number("weight").unwrap(), 70.0);
        assert_eq!(text.choice("sex").unwrap(), "female");
        assert!(!text.flag("smoker"));
    }

    #[test]
    fn bad_inputs_name_the_field_and_what_it_accepts() {
        let unit = parse(json!({"weight": "70 stone", "sex": "male"})).unwrap_err();
        assert_eq!(unit.field, "inputs.weight");
        assert!(unit.accepted.contains("lb"), "{unit}");
        let range = parse(json!({"weight": -4, "sex": "male"})).unwrap_err();
        assert!(range.accepted.starts_with("1–350 kg"), "{range}");
        let missing = parse(json!({"weight": 70})).unwrap_err();
        assert_eq!(missing.field, "inputs.sex");
        let unknown = parse(json!({"weight": 70, "sex": "male", "hat": 1})).unwrap_err();
        assert_eq!(unknown.field, "inputs.hat");
        let nan = parse(json!({"weight": "NaN kg", "sex": "male"})).unwrap_err();
        assert_eq!(nan.field, "inputs.weight");
    }
}
