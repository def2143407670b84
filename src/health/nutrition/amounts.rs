//! Amounts as people write them: "150 g", "3 oz", "1 cup", "2 slices", "1/2 cup",
//! "1 1/2 cups", "1 medium". Mass units convert exactly; household units go through the
//! food's own SR28 measures, and an amount in a unit the food has no measure for is an
//! error, never a guess.

use super::table::{Food, Measure};

/// Grams per unit of mass: the avoirdupois pound is 453.59237 g and the ounce 1/16 of it,
/// exactly (international yard and pound agreement, 1959; NIST Handbook 44, Appendix C).
const MASS_UNITS: &[(&str, f64)] = &[
    ("g", 1.0),
    ("gram", 1.0),
    ("kg", 1000.0),
    ("mg", 0.001),
    ("oz", 28.349_523_125),
    ("ounce", 28.349_523_125),
    ("lb", 453.592_37),
    ("pound", 453.592_37),
];

/// An amount parsed from text: a number and what follows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Amount {
    pub quantity: f64,
    /// Lower-case and singular, e.g. `cup`, `slice`, `medium`; empty for a bare number.
    pub unit: String,
}

pub fn parse(text: &str) -> Option<Amount> {
    let text = text.trim().to_lowercase();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '/' || c == ' '))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let quantity = number
        .split_whitespace()
        .map(fraction)
        .try_fold(0.0, |sum, part| part.map(|p| sum + p))?;
    if !(quantity.is_finite() && quantity > 0.0) {
        return None;
    }
    let unit = unit.trim().trim_end_matches('.').to_string();
    Some(Amount {
        quantity,
        unit: singular_unit(&unit),
    })
}

fn fraction(part: &str) -> Option<f64> {
    match part.split_once('/') {
        Some((a, b)) => {
            let (a, b): (f64, f64) = (a.parse().ok()?, b.parse().ok()?);
            (b != 0.0).then(|| a / b)
        }
        None => part.parse().ok(),
    }
}

fn singular_unit(unit: &str) -> String {
    let first = unit.split_whitespace().next().unwrap_or("");
    let word = match first {
        "grams" | "gr" => "g",
        "tablespoon" | "tablespoons" | "tbsps" => "tbsp",
        "teaspoon" | "teaspoons" | "tsps" => "tsp",
        "ounces" | "oz." => "oz",
        "pounds" | "lbs" => "lb",
        other => other
            .strip_suffix("es")
            .filter(|s| s.ends_with("ch") || s.ends_with("sh"))
            .or_else(|| other.strip_suffix('s'))
            .unwrap_or(other),
    };
    let rest: Vec<&str> = unit.split_whitespace().skip(1).collect();
    if rest.is_empty() {
        word.to_string()
    } else {
        format!("{word} {}", rest.join(" "))
    }
}

/// How `amount` of `food` converts to grams, and the measure used when a household unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub grams: f64,
    pub measure: Option<Measure>,
}

/// The first word of a measure's description, singular: `cup, chopped` → `cup`,
/// `medium (7" long)` → `medium`, `slices` → `slice`.
fn measure_word(measure: &Measure) -> String {
    let word: String = measure
        .unit
        .to_lowercase()
        .chars()
        .take_while(|c| c.is_alphabetic() || *c == ' ')
        .collect();
    let word = word.trim();
    // "extra large" and "fl oz" are two words that name one unit.
    for two in ["extra large", "extra small", "fl oz"] {
        if word.starts_with(two) {
            return two.to_string();
        }
    }
    singular_unit(word.split_whitespace().next().unwrap_or(""))
}

pub fn resolve(amount: &Amount, food: &Food) -> Option<Resolved> {
    if amount.unit.is_empty() {
        return None;
    }
    if let Some((_, grams)) = MASS_UNITS.iter().find(|(unit, _)| *unit == amount.unit) {
        return Some(Resolved {
            grams: amount.quantity * grams,
            measure: None,
        });
    }
    let wanted = amount.unit.as_str();
    let measure = food
        .measures
        .iter()
        .find(|m| measure_word(m) == wanted)
        .or_else(|| {
            food.measures
                .iter()
                .find(|m| measure_word(m) == wanted.split_whitespace().next().unwrap_or(""))
        })?;
    Some(Resolved {
        grams: amount.quantity / measure.amount * measure.grams,
        measure: Some(measure.clone()),
    })
}

/// The units `food` can be measured in, for an error message.
pub fn units_of(food: &Food) -> Vec<String> {
    let mut units: Vec<String> = vec!["g".into(), "oz".into(), "lb".into()];
    for measure in &food.measures {
        let word = measure_word(measure);
        if !word.is_empty() && !units.contains(&word) {
            units.push(word);
        }
    }
    units
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::nutrition::table::Nutrients;

    fn banana() -> Food {
        Food {
            ndb: "09040".into(),
            name: "Bananas, raw".into(),
            common_name: Some("banana".into()),
            group: String::new(),
            per_100g: Nutrients::default(),
            measures: vec![
                Measure {
                    amount: 1.0,
                    unit: "cup, sliced".into(),
                    grams: 150.0,
                },
                Measure {
                    amount: 1.0,
                    unit: "medium (7\" to 7-7/8\" long)".into(),
                    grams: 118.0,
                },
                Measure {
                    amount: 1.0,
                    unit: "extra large (9\" or longer)".into(),
                    grams: 152.0,
                },
            ],
        }
    }

    #[test]
    fn numbers_fractions_and_mixed_numbers_are_read() {
        assert_eq!(
            parse("150 g"),
            Some(Amount {
                quantity: 150.0,
                unit: "g".into()
            })
        );
        assert_eq!(parse("1/2 cup").map(|a| a.quantity), Some(0.5));
        assert_eq!(
            parse("1 1/2 cups"),
            Some(Amount {
                quantity: 1.5,
                unit: "cup".into()
            })
        );
        assert_eq!(parse("2 Slices").map(|a| a.unit), Some("slice".into()));
        assert_eq!(parse("cup"), None);
        assert_eq!(parse("0 g"), None);
        assert_eq!(parse("1/0 cup"), None);
    }

    #[test]
    fn household_units_go_through_the_foods_own_measures() {
        let food = banana();
        let medium = resolve(&parse("2 medium").expect("amount"), &food).expect("resolved");
        assert_eq!(medium.grams, 236.0);
        let cup = resolve(&parse("1/2 cup").expect("amount"), &food).expect("resolved");
        assert_eq!(cup.grams, 75.0);
        assert_eq!(
            resolve(&parse("1 extra large").expect("a"), &food).map(|r| r.grams),
            Some(152.0)
        );
        assert!(resolve(&parse("1 slice").expect("amount"), &food).is_none());
    }

    #[test]
    fn mass_units_convert_exactly() {
        let food = banana();
        let oz = resolve(&parse("4 oz").expect("amount"), &food).expect("resolved");
        assert!((oz.grams - 113.398_092_5).abs() < 1e-9);
        assert!(units_of(&food).contains(&"medium".to_string()));
    }
}
