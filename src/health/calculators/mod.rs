//! The clinical calculators of `calculate`: each one a [`Calculator`] — its inputs with units
//! and accepted alternatives and validated ranges, its output and unit, its primary
//! references, and a pure function computing it. Inputs are parsed and converted to each
//! calculator's canonical units once, here at the edge ([`inputs`]); calculators only see
//! canonical numbers.
//!
//! Each family of calculators lives in its own file and adds itself to [`ALL`]. A calculator
//! follows its primary publication; where published examples disagree, the file says which
//! is followed and why. Nothing here does I/O or reads the clock: date calculators take
//! today's date as an input.

mod apache;
mod body;
mod cardiac;
mod critical_care;
mod electrolytes;
mod framingham;
pub mod inputs;
mod liver;
mod medications;
mod metabolic;
mod obstetrics;
mod renal;
mod risk;
mod scores;
mod thrombosis;
pub mod tools;

use schemars::JsonSchema;
use serde::Serialize;

pub use inputs::{InputKind, InputSpec, Values};
pub use tools::register;

use super::{InputError, Source};

/// One calculator, as data plus a pure function.
pub struct Calculator {
    /// Stable id used by `calculate` and in URIs, e.g. `cockcroft_gault`.
    pub id: &'static str,
    pub name: &'static str,
    /// A family for listings: `renal`, `cardiac`, `body`, `electrolytes`…
    pub category: &'static str,
    pub inputs: &'static [InputSpec],
    pub output: OutputSpec,
    /// The primary publication first.
    pub references: &'static [(&'static str, &'static str)],
    pub compute: fn(&Values) -> Result<Computed, InputError>,
}

/// What a calculator returns besides its inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Computed {
    pub value: f64,
    /// A category or reading of the value, when the publication gives one.
    pub interpretation: Option<String>,
    /// The formula with the numbers filled in, so a reader can check it.
    pub working: String,
    pub warnings: Vec<String>,
    /// A result that is not a number (a date), shown instead of the value.
    pub text: Option<String>,
}

impl Computed {
    pub fn new(value: f64, working: impl Into<String>) -> Self {
        Self {
            value,
            interpretation: None,
            working: working.into(),
            warnings: Vec::new(),
            text: None,
        }
    }

    /// A result that is a date (or other text), with `value` a number that orders it.
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }

    pub fn interpreted(mut self, interpretation: impl Into<String>) -> Self {
        self.interpretation = Some(interpretation.into());
        self
    }

    pub fn warn(mut self, warning: impl Into<String>) -> Self {
        self.warnings.push(warning.into());
        self
    }
}

#[derive(Debug, Clone, Copy)]
pub struct OutputSpec {
    pub name: &'static str,
    pub unit: &'static str,
    /// Decimal places the result is rounded to when shown.
    pub decimals: u8,
}

/// Every calculator, in listing order.
pub fn all() -> impl Iterator<Item = &'static Calculator> {
    [
        renal::ALL,
        apache::ALL,
        risk::ALL,
        framingham::ALL,
        thrombosis::ALL,
        cardiac::ALL,
        body::ALL,
        electrolytes::ALL,
        metabolic::ALL,
        obstetrics::ALL,
        liver::ALL,
        medications::ALL,
        scores::ALL,
        critical_care::ALL,
    ]
    .into_iter()
    .flat_map(|family| family.iter())
}

pub fn find(id: &str) -> Option<&'static Calculator> {
    let id = id.trim().to_ascii_lowercase();
    all().find(|c| c.id == id)
}

impl Calculator {
    pub fn sources(&self) -> Vec<Source> {
        self.references
            .iter()
            .map(|(id, citation)| Source::new(*id, *citation))
            .collect()
    }

    /// The public description of this calculator, for listings and its resource.
    pub fn describe(&self) -> CalculatorDescription {
        CalculatorDescription {
            id: self.id.into(),
            name: self.name.into(),
            category: self.category.into(),
            inputs: self.inputs.iter().map(InputSpec::describe).collect(),
            output: format!("{} ({})", self.output.name, self.output.unit),
            references: self.sources(),
        }
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CalculatorDescription {
    pub id: String,
    pub name: String,
    pub category: String,
    pub inputs: Vec<inputs::InputDescription>,
    pub output: String,
    pub references: Vec<Source>,
}

/// Rounds for display, half away from zero.
pub fn round(value: f64, decimals: u8) -> f64 {
    let factor = 10f64.powi(i32::from(decimals));
    (value * factor).round() / factor
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calculator_ids_are_unique_lowercase_and_every_one_cites_a_source() {
        let mut seen = std::collections::HashSet::new();
        for calculator in all() {
            assert!(seen.insert(calculator.id), "{} twice", calculator.id);
            assert!(
                calculator
                    .id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{}",
                calculator.id
            );
            assert!(
                !calculator.references.is_empty(),
                "{} cites nothing",
                calculator.id
            );
            assert!(
                !calculator.inputs.is_empty(),
                "{} takes nothing",
                calculator.id
            );
        }
    }
}
