//! Matching what a person typed ("2% milk", "chicken breast") to a food, with a score, and
//! saying so when two foods fit about equally rather than guessing.
//!
//! A food's everyday name matches exactly first; otherwise a score weighs how much of the
//! query the food's description covers (most) against how much of the description the query
//! covers (so "apple" prefers "Apples, raw, with skin" to "Apple juice, canned").

use std::collections::BTreeSet;

use super::table::Food;

/// Below this score nothing is claimed to match.
pub const MIN_SCORE: f64 = 0.5;
/// When the best two scores are closer than this, the match is ambiguous.
pub const AMBIGUITY_MARGIN: f64 = 0.05;

/// Lower-case words, plurals folded ("apples" → "apple", "berries" → "berry").
pub fn words(text: &str) -> BTreeSet<String> {
    text.to_lowercase()
        .split(|c: char| !(c.is_alphanumeric() || c == '%'))
        .filter(|w| !w.is_empty())
        .map(singular)
        .collect()
}

fn singular(word: &str) -> String {
    if let Some(stem) = word.strip_suffix("ies")
        && stem.len() > 2
    {
        return format!("{stem}y");
    }
    if let Some(stem) = word.strip_suffix("oes") {
        return format!("{stem}o");
    }
    if let Some(stem) = word.strip_suffix('s')
        && stem.len() > 2
        && !stem.ends_with('s')
    {
        return stem.to_string();
    }
    word.to_string()
}

/// How well `query` names `food`, 0–1.
pub fn score(query: &BTreeSet<String>, food: &Food) -> f64 {
    if query.is_empty() {
        return 0.0;
    }
    if let Some(common) = &food.common_name
        && &words(common) == query
    {
        return 1.0;
    }
    let mut described = words(&food.name);
    if let Some(common) = &food.common_name {
        described.extend(words(common));
    }
    let shared = query.intersection(&described).count() as f64;
    if shared == 0.0 {
        return 0.0;
    }
    let coverage = shared / query.len() as f64;
    let precision = shared / words(&food.name).len().max(1) as f64;
    // Coverage dominates; precision breaks ties toward the plainest description. Short of
    // an exact everyday name, nothing scores 1.
    (0.75 * coverage + 0.2 * precision.min(1.0)).min(0.95)
}

/// The outcome of matching one query.
#[derive(Debug, Clone, PartialEq)]
pub enum Matched<'a> {
    Found { food: &'a Food, score: f64 },
    Ambiguous { candidates: Vec<(&'a Food, f64)> },
    Unknown { nearest: Vec<(&'a Food, f64)> },
}

/// Matches `query` against `foods` (searched in order: an earlier food wins a tie).
pub fn best<'a>(query: &str, foods: impl Iterator<Item = &'a Food>) -> Matched<'a> {
    let query = words(query);
    let mut scored: Vec<(&Food, f64)> = foods
        .map(|food| (food, score(&query, food)))
        .filter(|(_, s)| *s > 0.0)
        .collect();
    // Stable: equal scores keep the table's order (built-in foods come first).
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    scored.truncate(5);
    match scored.as_slice() {
        [] => Matched::Unknown {
            nearest: Vec::new(),
        },
        [(_, top), ..] if *top < MIN_SCORE => Matched::Unknown { nearest: scored },
        [(food, 1.0), ..] => Matched::Found { food, score: 1.0 },
        [(_, top), (_, second), ..] if top - second < AMBIGUITY_MARGIN => {
            let top = *top;
            scored.retain(|(_, s)| top - s < AMBIGUITY_MARGIN);
            Matched::Ambiguous { candidates: scored }
        }
        [(food, top), ..] => Matched::Found { food, score: *top },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::nutrition::table::Nutrients;

    fn food(ndb: &str, name: &str, common: Option<&str>) -> Food {
        Food {
            ndb: ndb.into(),
            name: name.into(),
            common_name: common.map(String::from),
            group: String::new(),
            per_100g: Nutrients::default(),
            measures: Vec::new(),
        }
    }

    #[test]
    fn plurals_fold_to_one_word() {
        assert_eq!(
            words("Strawberries, Apples; tomatoes"),
            words("strawberry apple tomato")
        );
    }

    #[test]
    fn an_everyday_name_matches_exactly() {
        let foods = [food("09040", "Bananas, raw", Some("banana"))];
        assert!(
            matches!(best("Bananas", foods.iter()), Matched::Found { score, .. } if score == 1.0)
        );
    }

    #[test]
    fn the_plainest_description_wins_and_unrelated_text_is_unknown() {
        let foods = [
            food("09016", "Apple juice, canned or bottled, unsweetened", None),
            food("09003", "Apples, raw, with skin", None),
        ];
        match best("apple raw", foods.iter()) {
            Matched::Found { food, .. } => assert_eq!(food.ndb, "09003"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            best("motor oil", foods.iter()),
            Matched::Unknown { .. }
        ));
    }

    #[test]
    fn two_foods_that_fit_equally_are_reported_not_guessed() {
        let foods = [
            food("01", "Cheese, cheddar", None),
            food("02", "Cheese, gouda", None),
        ];
        match best("cheese", foods.iter()) {
            Matched::Ambiguous { candidates } => assert_eq!(candidates.len(), 2),
            other => panic!("{other:?}"),
        }
    }
}
