//! Health analysis on deterministic cores: every number is computed here, in Rust, from
//! reference data whose source is cited next to it, never asked of a language model.
//!
//! - [`nutrition`]: a meal's nutrients from USDA SR28 data, with FDA daily values;
//! - [`fitness`]: energy from MET values (Compendium of Physical Activities), WHO 2020
//!   activity guidelines;
//! - [`risk`]: validated risk models (pooled cohort equations, Framingham, FINDRISC,
//!   CHA2DS2-VASc, HAS-BLED, BMI, BMR);
//! - [`dna`]: a curated set of well-established variants from genotype calls or raw files;
//! - [`bloodwork`]: lab values against cited reference ranges, unit conversion, derived
//!   values.
//!
//! Shared here: [`Source`] (a citation every result carries) and [`InputError`] (what a
//! caller got wrong, naming the field and what is accepted). Reference tables are data
//! under `tools/health/`, parsed once at start; an operator may override them.
//!
//! Nothing in this module does I/O, reads the clock or calls a model; the MCP layer and the
//! store sit on top.

pub mod bloodwork;
pub mod calculators;
pub mod dna;
pub mod fitness;
pub mod history;
pub mod nutrition;
pub mod risk;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where a number or a rule comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Source {
    /// A short stable id, e.g. `compendium-2011` or `cpic-cyp2c19-2022`.
    pub id: String,
    /// The full citation: authors, title, journal or publisher, year (and DOI or URL).
    pub citation: String,
}

impl Source {
    pub fn new(id: impl Into<String>, citation: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            citation: citation.into(),
        }
    }
}

/// An input the caller must correct: which field, what is wrong, what would be accepted.
/// Every message is safe to show the caller and names no other user's data.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {message} (accepted: {accepted})")]
pub struct InputError {
    /// The argument's path, e.g. `activities[2].minutes` or `weight_kg`.
    pub field: String,
    pub message: String,
    /// What the field accepts, e.g. `20–300 kg` or `one of: male, female`.
    pub accepted: String,
}

impl InputError {
    pub fn new(
        field: impl Into<String>,
        message: impl Into<String>,
        accepted: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
            accepted: accepted.into(),
        }
    }

    /// A finite number within `min..=max`, or an error naming the field and the range.
    pub fn check_range(
        field: &str,
        value: f64,
        min: f64,
        max: f64,
        unit: &str,
    ) -> Result<f64, InputError> {
        if !value.is_finite() {
            return Err(InputError::new(
                field,
                "must be a finite number",
                format!("{min}–{max} {unit}"),
            ));
        }
        if value < min || value > max {
            return Err(InputError::new(
                field,
                format!("{value} {unit} is outside the accepted range"),
                format!("{min}–{max} {unit}"),
            ));
        }
        Ok(value)
    }
}

/// A reference table under `tools/health/` could not be read.
#[derive(Debug, Clone, thiserror::Error)]
#[error("tools/health/{file}: {message}")]
pub struct TableError {
    pub file: String,
    pub message: String,
}

impl From<InputError> for crate::mcp::ToolError {
    fn from(error: InputError) -> Self {
        crate::mcp::ToolError::invalid_arguments(error.to_string())
            .with_details(serde_json::json!({ "field": error.field, "accepted": error.accepted }))
    }
}
