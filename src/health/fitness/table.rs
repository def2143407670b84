//! The activity table: Compendium rows with their MET values, parsed and validated once.

use serde::Deserialize;

use crate::health::{Source, TableError};

pub const COMPENDIUM_FILE: &str = "tools/health/compendium.toml";

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Activity {
    pub code: String,
    pub heading: String,
    pub description: String,
    pub met: f64,
    #[serde(default)]
    pub mph: Option<f64>,
    #[serde(default)]
    pub muscle_strengthening: bool,
    /// Everyday names that match this row exactly.
    #[serde(default)]
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityTable {
    #[serde(rename = "source")]
    pub sources: Vec<Source>,
    #[serde(rename = "activity")]
    pub activities: Vec<Activity>,
}

fn table_error(message: impl Into<String>) -> TableError {
    TableError {
        file: COMPENDIUM_FILE.into(),
        message: message.into(),
    }
}

impl ActivityTable {
    pub fn parse(text: &str) -> Result<ActivityTable, TableError> {
        let table: ActivityTable = toml::from_str(text).map_err(|e| table_error(e.to_string()))?;
        let mut codes = std::collections::HashSet::new();
        for activity in &table.activities {
            if activity.code.len() != 5 || !activity.code.chars().all(|c| c.is_ascii_digit()) {
                return Err(table_error(format!(
                    "{}: a code is five digits",
                    activity.code
                )));
            }
            if !codes.insert(activity.code.as_str()) {
                return Err(table_error(format!("code {} appears twice", activity.code)));
            }
            if !(activity.met.is_finite() && (0.5..=25.0).contains(&activity.met)) {
                return Err(table_error(format!(
                    "{}: MET must be 0.5-25",
                    activity.code
                )));
            }
            if activity
                .mph
                .is_some_and(|v| !(v.is_finite() && v > 0.0 && v < 40.0))
            {
                return Err(table_error(format!("{}: mph must be 0-40", activity.code)));
            }
        }
        for id in ["compendium-2011", "who-2020"] {
            if !table.sources.iter().any(|s| s.id == id) {
                return Err(table_error(format!("the source {id} is missing")));
            }
        }
        Ok(table)
    }

    pub fn by_code(&self, code: &str) -> Option<&Activity> {
        self.activities.iter().find(|a| a.code == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_table_parses_with_the_compendiums_values() {
        let table = ActivityTable::parse(include_str!("../../../tools/health/compendium.toml"))
            .expect("valid");
        assert!(table.activities.len() >= 100);
        // 2011 Compendium: 12050 running, 6 mph (10 min/mile) = 9.8 MET; 17200 walking
        // 3.5 mph brisk = 4.3 MET; 02150 yoga, Hatha = 2.5 MET.
        assert_eq!(table.by_code("12050").map(|a| a.met), Some(9.8));
        assert_eq!(table.by_code("17200").map(|a| a.met), Some(4.3));
        assert_eq!(table.by_code("02150").map(|a| a.met), Some(2.5));
        assert!(table.activities.iter().any(|a| a.muscle_strengthening));
    }
}
