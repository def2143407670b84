//! Blood test results read against cited adult reference intervals: each value converted
//! once to its canonical unit, flagged (low, normal, high, critical), placed in its
//! guideline band, with derived values (eGFR, calculated LDL, non-HDL cholesterol, anion
//! gap, corrected calcium) and cautiously worded patterns.
//!
//! - `table`: the reference table under `tools/health/`, validated, and test lookup;
//! - `units`: comparing unit spellings and applying the table's conversion factors;
//! - `flags`: one value against its interval and critical limits;
//! - `equations`: the published equations behind the derived values;
//! - `derived`: which derived values the given results allow, with their flags;
//! - `patterns`: combinations worth a clinician's look, stated with what would confirm them;
//! - `analysis`: the tool's arguments and result, and the analysis that ties these together;
//! - `tools`: the `bloodwork_analysis` MCP tool.
//!
//! Everything here is deterministic arithmetic on cited data. It must not diagnose, read the
//! clock, do I/O or call a model; a laboratory's own intervals take precedence over ours.

mod analysis;
mod derived;
pub mod equations;
mod flags;
mod patterns;
mod table;
mod tools;
mod units;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use analysis::{BloodworkArguments, BloodworkReport, LabResult, analyse};
pub use flags::Flag;
pub use table::ReferenceTable;
pub use tools::register;

/// The sex a reference interval or equation coefficient is chosen by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    Male,
    Female,
}
