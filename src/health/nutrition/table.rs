//! The food table: foods with their nutrients per 100 g and household measures, the FDA
//! daily values, and the built-in table's parsing and validation. Data only; matching and
//! arithmetic live beside it.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::health::{Source, TableError};

/// The nutrients reported, per 100 g of a food or in a total. Absent means unknown for that
/// food, never zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Nutrients {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_kcal: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protein_g: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fat_g: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saturated_fat_g: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carbohydrate_g: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fiber_g: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sugars_g: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sodium_mg: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cholesterol_mg: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calcium_mg: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iron_mg: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub potassium_mg: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vitamin_c_mg: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vitamin_d_ug: Option<f64>,
}

/// The SR28 nutrient numbers (`NUTR_DEF.Nutr_No`) of [`Nutrients`]' fields, in order.
pub const SR28_NUTRIENTS: [(&str, &str); 14] = [
    ("208", "energy_kcal"),
    ("203", "protein_g"),
    ("204", "fat_g"),
    ("606", "saturated_fat_g"),
    ("205", "carbohydrate_g"),
    ("291", "fiber_g"),
    ("269", "sugars_g"),
    ("307", "sodium_mg"),
    ("601", "cholesterol_mg"),
    ("301", "calcium_mg"),
    ("303", "iron_mg"),
    ("306", "potassium_mg"),
    ("401", "vitamin_c_mg"),
    ("328", "vitamin_d_ug"),
];

impl Nutrients {
    fn slots(&mut self) -> [&mut Option<f64>; 14] {
        [
            &mut self.energy_kcal,
            &mut self.protein_g,
            &mut self.fat_g,
            &mut self.saturated_fat_g,
            &mut self.carbohydrate_g,
            &mut self.fiber_g,
            &mut self.sugars_g,
            &mut self.sodium_mg,
            &mut self.cholesterol_mg,
            &mut self.calcium_mg,
            &mut self.iron_mg,
            &mut self.potassium_mg,
            &mut self.vitamin_c_mg,
            &mut self.vitamin_d_ug,
        ]
    }

    pub fn values(&self) -> [Option<f64>; 14] {
        let mut copy = *self;
        copy.slots().map(|slot| *slot)
    }

    /// Sets the nutrient at `index` of [`SR28_NUTRIENTS`].
    pub fn set(&mut self, index: usize, value: f64) {
        if let Some(slot) = self.slots().into_iter().nth(index) {
            *slot = Some(value);
        }
    }

    /// These nutrients scaled from 100 g to `grams`.
    pub fn for_grams(&self, grams: f64) -> Nutrients {
        let mut scaled = *self;
        for slot in scaled.slots() {
            *slot = slot.map(|v| v * grams / 100.0);
        }
        scaled
    }

    /// Adds `other` in: a nutrient known in either is known in the sum (what is unknown in
    /// one item is reported by the caller as incomplete).
    pub fn add(&mut self, other: &Nutrients) {
        let theirs = other.values();
        for (slot, value) in self.slots().into_iter().zip(theirs) {
            if let Some(value) = value {
                *slot = Some(slot.unwrap_or(0.0) + value);
            }
        }
    }

    pub fn rounded(&self) -> Nutrients {
        let mut copy = *self;
        for slot in copy.slots() {
            *slot = slot.map(|v| (v * 10.0).round() / 10.0);
        }
        copy
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Measure {
    pub amount: f64,
    /// SR28's description, e.g. `cup, chopped` or `medium (7" to 7-7/8" long)`.
    pub unit: String,
    pub grams: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Food {
    pub ndb: String,
    pub name: String,
    #[serde(default)]
    pub common_name: Option<String>,
    #[serde(default)]
    pub group: String,
    pub per_100g: Nutrients,
    #[serde(default)]
    pub measures: Vec<Measure>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FoodTable {
    #[serde(rename = "source")]
    pub sources: Vec<Source>,
    pub daily_values: Nutrients,
    #[serde(rename = "food")]
    pub foods: Vec<Food>,
}

impl FoodTable {
    pub fn parse(text: &str) -> Result<FoodTable, TableError> {
        let table: FoodTable = toml::from_str(text).map_err(|e| table_error(e.to_string()))?;
        table.validate()?;
        Ok(table)
    }

    fn validate(&self) -> Result<(), TableError> {
        let mut seen = BTreeMap::new();
        for food in &self.foods {
            if food.ndb.len() != 5 || !food.ndb.chars().all(|c| c.is_ascii_digit()) {
                return Err(table_error(format!(
                    "{}: ndb must be five digits",
                    food.name
                )));
            }
            if seen.insert(food.ndb.clone(), ()).is_some() {
                return Err(table_error(format!("ndb {} appears twice", food.ndb)));
            }
            let bad = food
                .per_100g
                .values()
                .iter()
                .flatten()
                .any(|v| !v.is_finite() || *v < 0.0);
            if bad || food.per_100g.energy_kcal.is_none() {
                return Err(table_error(format!(
                    "{}: nutrients must be finite, not negative, with energy given",
                    food.ndb
                )));
            }
            if food
                .measures
                .iter()
                .any(|m| !(m.amount > 0.0 && m.grams > 0.0))
            {
                return Err(table_error(format!(
                    "{}: measures need positive amounts and grams",
                    food.ndb
                )));
            }
        }
        for id in ["usda-sr28", "fda-dv-2016"] {
            if !self.sources.iter().any(|s| s.id == id) {
                return Err(table_error(format!("the source {id} is missing")));
            }
        }
        Ok(())
    }

    pub fn source(&self, id: &str) -> Option<&Source> {
        self.sources.iter().find(|s| s.id == id)
    }
}

/// Where the built-in table lives, as operators see it.
pub const FOODS_FILE: &str = "tools/health/foods.toml";

fn table_error(message: impl Into<String>) -> TableError {
    TableError {
        file: FOODS_FILE.into(),
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_table_parses_and_cites_its_sources() {
        let table =
            FoodTable::parse(include_str!("../../../tools/health/foods.toml")).expect("valid");
        assert!(table.foods.len() >= 50);
        let banana = table
            .foods
            .iter()
            .find(|f| f.ndb == "09040")
            .expect("banana");
        // SR28 09040, Bananas, raw: 89 kcal, 22.84 g carbohydrate per 100 g; medium 118 g.
        assert_eq!(banana.per_100g.energy_kcal, Some(89.0));
        assert_eq!(banana.per_100g.carbohydrate_g, Some(22.84));
        assert!(
            banana
                .measures
                .iter()
                .any(|m| m.unit.starts_with("medium") && m.grams == 118.0)
        );
        assert_eq!(table.daily_values.sodium_mg, Some(2300.0));
    }

    #[test]
    fn scaling_and_adding_keep_unknown_nutrients_unknown() {
        let mut total = Nutrients::default();
        let a = Nutrients {
            energy_kcal: Some(100.0),
            fiber_g: None,
            ..Nutrients::default()
        };
        total.add(&a.for_grams(50.0));
        assert_eq!(total.energy_kcal, Some(50.0));
        assert_eq!(total.fiber_g, None);
    }
}
