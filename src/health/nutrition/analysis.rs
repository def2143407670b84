//! One meal's analysis: each item matched to a food and an amount in grams, its nutrients,
//! the totals, and the share of the FDA daily values. An item that cannot be matched or
//! measured is reported as such and left out of the totals, never replaced by a guess.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::amounts::{self, Amount};
use super::matching::{self, Matched};
use super::table::{Food, FoodTable, Measure, Nutrients};
use crate::health::{InputError, Source};
use crate::mcp::ToolOutput;

pub const MAX_ITEMS: usize = 100;
/// The most one item may weigh, in grams.
pub const MAX_GRAMS: f64 = 5000.0;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MealItem {
    /// The food as you would name it: "banana", "2% milk", "chicken breast", "brown rice".
    pub food: String,
    /// How much: "150 g", "4 oz", "1 cup", "2 slices", "1 medium", "1/2 cup". Household units
    /// use the food's own USDA measures. Give this or `grams`.
    #[serde(default)]
    pub amount: Option<String>,
    /// How much in grams. Give this or `amount`.
    #[serde(default)]
    pub grams: Option<f64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NutritionArguments {
    /// The meal's items (1–100).
    pub items: Vec<MealItem>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FoodRef {
    /// The USDA NDB number: the food's citation in SR28.
    pub ndb: String,
    pub name: String,
    /// `built_in` or `usda_sr28_import`.
    pub table: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Candidate {
    pub ndb: String,
    pub name: String,
    pub score: f64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ItemResult {
    pub food_text: String,
    /// `matched`, `ambiguous` (say which: the candidates are listed), `unknown`, or
    /// `unit_unknown` (the food has no measure in that unit).
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched: Option<FoodRef>,
    /// How well the text matched the food, 0–1 (1: its everyday name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub match_score: Option<f64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<Candidate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grams: Option<f64>,
    /// The USDA household measure the amount was converted through.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measure_used: Option<Measure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nutrients: Option<Nutrients>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct NutritionResult {
    pub items: Vec<ItemResult>,
    /// The sums over the matched items.
    pub totals: Nutrients,
    /// Totals as a percentage of the FDA 2016 daily values (2,000 kcal reference).
    pub percent_daily_value: Nutrients,
    /// The amounts after conversion, in grams per matched item.
    pub inputs_used: Vec<(String, f64)>,
    pub sources: Vec<Source>,
    pub warnings: Vec<String>,
    pub summary: String,
}

impl ToolOutput for NutritionResult {
    fn to_text(&self) -> String {
        let mut text = self.summary.clone();
        for item in &self.items {
            match (&item.matched, item.grams) {
                (Some(food), Some(grams)) => text.push_str(&format!(
                    "\n- {} → {} (NDB {}), {grams:.0} g: {:.0} kcal",
                    item.food_text,
                    food.name,
                    food.ndb,
                    item.nutrients.and_then(|n| n.energy_kcal).unwrap_or(0.0)
                )),
                _ => text.push_str(&format!("\n- {}: {}", item.food_text, item.status)),
            }
        }
        for warning in &self.warnings {
            text.push_str(&format!("\nNote: {warning}"));
        }
        text
    }
}

fn check(arguments: &NutritionArguments) -> Result<(), InputError> {
    if arguments.items.is_empty() || arguments.items.len() > MAX_ITEMS {
        return Err(InputError::new(
            "items",
            "give 1 to 100 items",
            "1–100 items",
        ));
    }
    for (i, item) in arguments.items.iter().enumerate() {
        let food = item.food.trim();
        if food.is_empty() || food.chars().count() > 200 {
            return Err(InputError::new(
                format!("items[{i}].food"),
                "name the food",
                "1–200 characters",
            ));
        }
        match (&item.amount, item.grams) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(InputError::new(
                    format!("items[{i}]"),
                    "give either amount or grams",
                    "amount (\"1 cup\", \"150 g\") or grams",
                ));
            }
            (None, Some(g)) if !(g.is_finite() && g > 0.0 && g <= MAX_GRAMS) => {
                return Err(InputError::new(
                    format!("items[{i}].grams"),
                    format!("{g} g is out of range"),
                    "0–5000 g",
                ));
            }
            (Some(text), None) if amounts::parse(text).is_none() => {
                return Err(InputError::new(
                    format!("items[{i}].amount"),
                    format!("{text:?} is not an amount"),
                    "a number and a unit: \"150 g\", \"1 cup\", \"2 slices\", \"1 medium\"",
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

fn reference(food: &Food, built_in: bool) -> FoodRef {
    FoodRef {
        ndb: food.ndb.clone(),
        name: food.name.clone(),
        table: if built_in {
            "built_in"
        } else {
            "usda_sr28_import"
        }
        .into(),
    }
}

fn candidates(list: &[(&Food, f64)]) -> Vec<Candidate> {
    list.iter()
        .map(|(food, score)| Candidate {
            ndb: food.ndb.clone(),
            name: food.name.clone(),
            score: (score * 100.0).round() / 100.0,
        })
        .collect()
}

/// Analyses a meal against the built-in table and any imported foods (built-in first; an
/// imported food with a built-in NDB number is the same food and not searched twice).
pub fn analyse(
    arguments: &NutritionArguments,
    table: &FoodTable,
    imported: &[Food],
) -> Result<NutritionResult, InputError> {
    check(arguments)?;
    let built_in_ndbs: std::collections::HashSet<&str> =
        table.foods.iter().map(|f| f.ndb.as_str()).collect();
    let searched = || {
        table.foods.iter().chain(
            imported
                .iter()
                .filter(|f| !built_in_ndbs.contains(f.ndb.as_str())),
        )
    };
    let mut items = Vec::with_capacity(arguments.items.len());
    let mut totals = Nutrients::default();
    let mut inputs_used = Vec::new();
    let mut warnings = Vec::new();
    let mut missing_nutrients = false;
    for (i, item) in arguments.items.iter().enumerate() {
        let text = item.food.trim().to_string();
        let mut result = ItemResult {
            food_text: text.clone(),
            status: String::new(),
            matched: None,
            match_score: None,
            candidates: Vec::new(),
            grams: None,
            measure_used: None,
            nutrients: None,
        };
        match matching::best(&text, searched()) {
            Matched::Unknown { nearest } => {
                result.status = "unknown".into();
                result.candidates = candidates(&nearest);
                warnings.push(format!(
                    "items[{i}] {text:?} matched no food well enough and is left out of the totals"
                ));
            }
            Matched::Ambiguous { candidates: list } => {
                result.status = "ambiguous".into();
                result.candidates = candidates(&list);
                warnings.push(format!(
                    "items[{i}] {text:?} fits several foods equally; name it more precisely (see its candidates). It is left out of the totals"
                ));
            }
            Matched::Found { food, score } => {
                result.matched = Some(reference(food, built_in_ndbs.contains(food.ndb.as_str())));
                result.match_score = Some((score * 100.0).round() / 100.0);
                let resolved = match (&item.amount, item.grams) {
                    (_, Some(grams)) => Some(amounts::Resolved {
                        grams,
                        measure: None,
                    }),
                    (Some(text), None) => {
                        amounts::parse(text).and_then(|a: Amount| amounts::resolve(&a, food))
                    }
                    (None, None) => None,
                };
                match resolved {
                    Some(resolved) if resolved.grams <= MAX_GRAMS => {
                        let nutrients = food.per_100g.for_grams(resolved.grams);
                        if nutrients.values().iter().any(Option::is_none) {
                            missing_nutrients = true;
                        }
                        totals.add(&nutrients);
                        inputs_used
                            .push((food.name.clone(), (resolved.grams * 10.0).round() / 10.0));
                        result.status = "matched".into();
                        result.grams = Some((resolved.grams * 10.0).round() / 10.0);
                        result.measure_used = resolved.measure;
                        result.nutrients = Some(nutrients.rounded());
                    }
                    Some(_) => {
                        return Err(InputError::new(
                            format!("items[{i}].amount"),
                            "more than 5 kg of one food",
                            "up to 5000 g",
                        ));
                    }
                    None => {
                        result.status = "unit_unknown".into();
                        warnings.push(format!(
                            "items[{i}]: {} has no USDA measure in that unit; use one of: {}. It is left out of the totals",
                            food.name,
                            amounts::units_of(food).join(", ")
                        ));
                    }
                }
            }
        }
        items.push(result);
    }
    if missing_nutrients {
        warnings.push("Some nutrients are not reported for some foods; those totals cover only the foods that report them.".into());
    }
    warnings.push(
        "Values are USDA averages for the food as described; brands, recipes and portions vary."
            .into(),
    );
    let dv = table.daily_values.values();
    let mut percent = Nutrients::default();
    for (index, (total, daily)) in totals.values().into_iter().zip(dv).enumerate() {
        if let (Some(total), Some(daily)) = (total, daily)
            && daily > 0.0
        {
            percent.set(index, (total / daily * 1000.0).round() / 10.0);
        }
    }
    let matched = items.iter().filter(|i| i.status == "matched").count();
    let summary = format!(
        "{matched} of {} items matched: {:.0} kcal, protein {:.1} g, fat {:.1} g, carbohydrate {:.1} g, fibre {:.1} g, sodium {:.0} mg ({:.0}% of the daily value).",
        items.len(),
        totals.energy_kcal.unwrap_or(0.0),
        totals.protein_g.unwrap_or(0.0),
        totals.fat_g.unwrap_or(0.0),
        totals.carbohydrate_g.unwrap_or(0.0),
        totals.fiber_g.unwrap_or(0.0),
        totals.sodium_mg.unwrap_or(0.0),
        percent.sodium_mg.unwrap_or(0.0),
    );
    Ok(NutritionResult {
        items,
        totals: totals.rounded(),
        percent_daily_value: percent,
        inputs_used,
        sources: table.sources.clone(),
        warnings,
        summary,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn table() -> FoodTable {
        FoodTable::parse(include_str!("../../../tools/health/foods.toml")).expect("valid")
    }

    fn meal(items: serde_json::Value) -> NutritionArguments {
        serde_json::from_value(json!({ "items": items })).expect("arguments")
    }

    #[test]
    fn a_breakfast_is_totalled_from_usda_values() {
        // SR28: banana 89 kcal/100 g, medium 118 g → 105.02 kcal; whole milk 61 kcal/100 g,
        // cup 244 g → 148.84 kcal; oats 379 kcal/100 g (08120), 40 g → 151.6 kcal.
        let result = analyse(
            &meal(json!([
                {"food": "banana", "amount": "1 medium"},
                {"food": "whole milk", "amount": "1 cup"},
                {"food": "oats", "grams": 40}
            ])),
            &table(),
            &[],
        )
        .expect("analysed");
        assert!(
            result.items.iter().all(|i| i.status == "matched"),
            "{:?}",
            result.items
        );
        let kcal = result.totals.energy_kcal.expect("energy");
        assert!((kcal - (105.02 + 148.84 + 151.6)).abs() < 0.1, "{kcal}");
        assert_eq!(result.items[0].grams, Some(118.0));
        assert!(result.percent_daily_value.calcium_mg.is_some());
    }

    #[test]
    fn an_unknown_food_is_reported_and_left_out_never_replaced() {
        let result = analyse(
            &meal(json!([{"food": "unobtainium stew", "grams": 100}])),
            &table(),
            &[],
        )
        .expect("analysed");
        assert_eq!(result.items[0].status, "unknown");
        assert_eq!(result.totals.energy_kcal, None);
        assert!(
            result
                .warnings
                .iter()
                .any(|w| w.contains("matched no food"))
        );
    }

    #[test]
    fn a_unit_the_food_has_no_measure_for_is_named_with_the_ones_it_has() {
        let result = analyse(
            &meal(json!([{"food": "banana", "amount": "2 slices"}])),
            &table(),
            &[],
        )
        .expect("analysed");
        assert_eq!(result.items[0].status, "unit_unknown");
        assert!(result.warnings[0].contains("medium"));
    }

    #[test]
    fn bad_items_are_refused_naming_the_field() {
        let cases = [
            (json!([]), "items"),
            (json!([{"food": "banana"}]), "items[0]"),
            (
                json!([{"food": "banana", "grams": 1, "amount": "1 cup"}]),
                "items[0]",
            ),
            (json!([{"food": "banana", "grams": -5}]), "items[0].grams"),
            (
                json!([{"food": "banana", "amount": "a bunch"}]),
                "items[0].amount",
            ),
            (json!([{"food": " ", "grams": 5}]), "items[0].food"),
        ];
        for (items, field) in cases {
            let error = analyse(&meal(items.clone()), &table(), &[]).expect_err("refused");
            assert_eq!(error.field, field, "{items}");
        }
    }

    #[test]
    fn more_food_means_more_energy() {
        let mut last = 0.0;
        for grams in [10, 50, 100, 250, 1000] {
            let result = analyse(
                &meal(json!([{"food": "white rice", "grams": grams}])),
                &table(),
                &[],
            )
            .expect("ok");
            let kcal = result.totals.energy_kcal.expect("energy");
            assert!(kcal > last);
            last = kcal;
        }
    }
}
