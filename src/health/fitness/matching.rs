//! Matching an activity as people write it ("running 6 mph", "jog", "cycling leisurely",
//! "10 km/h run", "5:30 min/km") to a Compendium row: a code directly; a pace to the row of
//! that speed; otherwise words, with synonyms, scored 0–1. Close calls are reported as
//! ambiguous rather than guessed.

use std::collections::BTreeSet;

use super::table::{Activity, ActivityTable};

pub const MIN_SCORE: f64 = 0.5;
pub const AMBIGUITY_MARGIN: f64 = 0.05;
/// 1 mile = 1.609344 km exactly.
const KM_PER_MILE: f64 = 1.609_344;

/// Words folded to the table's vocabulary.
const SYNONYMS: &[(&str, &str)] = &[
    ("jog", "jogging"),
    ("run", "running"),
    ("ran", "running"),
    ("walk", "walking"),
    ("walked", "walking"),
    ("bike", "cycling"),
    ("biking", "cycling"),
    ("bicycle", "cycling"),
    ("bicycling", "cycling"),
    ("cycle", "cycling"),
    ("swim", "swimming"),
    ("swam", "swimming"),
    ("hike", "hiking"),
    ("lifting", "weight"),
    ("weights", "weight"),
    ("weightlifting", "weight"),
    ("gym", "health"),
    ("leisurely", "leisure"),
    ("slowly", "slow"),
    ("quickly", "fast"),
    ("rope", "rope"),
    ("skipping", "jumping"),
    ("dance", "dancing"),
    ("ski", "skiing"),
    ("skate", "skating"),
    ("stairs", "stair"),
    ("row", "rowing"),
    ("rower", "rowing"),
    ("spinning", "spin"),
    ("football", "football"),
];

const STOPWORDS: &[&str] = &[
    "a", "an", "the", "of", "or", "and", "for", "at", "in", "to", "such", "as", "with", "general",
    "effort", "mph", "min", "km", "h", "mile", "per",
];

pub fn words(text: &str) -> BTreeSet<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| w.len() > 1 && !STOPWORDS.contains(w))
        .map(|w| {
            SYNONYMS
                .iter()
                .find(|(from, _)| *from == w)
                .map(|(_, to)| (*to).to_string())
                .unwrap_or_else(|| w.to_string())
        })
        .collect()
}

/// A speed stated in the text, in mph: "6 mph", "10 km/h", "10 kph", "5:30 min/km",
/// "8:00 min/mile".
pub fn pace_mph(text: &str) -> Option<f64> {
    let lower = text.to_lowercase().replace(' ', "");
    if let Some(index) = lower.find("min/km").or_else(|| lower.find("/km")) {
        return minutes_before(&lower[..index]).map(|m| 60.0 / m / KM_PER_MILE);
    }
    if let Some(index) = lower.find("min/mi").or_else(|| lower.find("/mi")) {
        return minutes_before(&lower[..index]).map(|m| 60.0 / m);
    }
    for (unit, factor) in [
        ("mph", 1.0),
        ("km/h", 1.0 / KM_PER_MILE),
        ("kph", 1.0 / KM_PER_MILE),
        ("kmh", 1.0 / KM_PER_MILE),
    ] {
        if let Some(index) = lower.find(unit) {
            return number_before(&lower[..index]).map(|v| v * factor);
        }
    }
    None
}

fn number_before(text: &str) -> Option<f64> {
    let digits: String = text
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite() && *v > 0.0)
}

/// "5:30" → 5.5 minutes; "6" → 6.
fn minutes_before(text: &str) -> Option<f64> {
    let token: String = text
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit() || *c == ':' || *c == '.')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let minutes = match token.split_once(':') {
        Some((m, s)) => m.parse::<f64>().ok()? + s.parse::<f64>().ok()? / 60.0,
        None => token.parse().ok()?,
    };
    (minutes.is_finite() && minutes > 0.0).then_some(minutes)
}

#[derive(Debug, Clone, PartialEq)]
pub enum Matched<'a> {
    Found {
        activity: &'a Activity,
        score: f64,
    },
    Ambiguous {
        candidates: Vec<(&'a Activity, f64)>,
    },
    Unmatched {
        nearest: Vec<(&'a Activity, f64)>,
    },
}

fn score(query: &BTreeSet<String>, activity: &Activity) -> f64 {
    if query.is_empty() {
        return 0.0;
    }
    let mut described = words(&activity.description);
    described.extend(words(&activity.heading));
    let shared = query.intersection(&described).count() as f64;
    if shared == 0.0 {
        return 0.0;
    }
    let coverage = shared / query.len() as f64;
    let precision = shared / words(&activity.description).len().max(1) as f64;
    (0.75 * coverage + 0.25 * precision.min(1.0)).min(0.95)
}

/// The intensity class of a MET value: light < 3, moderate 3–5.9, vigorous ≥ 6.
pub fn intensity(met: f64) -> &'static str {
    if met < 3.0 {
        "light"
    } else if met < 6.0 {
        "moderate"
    } else {
        "vigorous"
    }
}

/// Matches `text`; `hint` (light, moderate or vigorous) only breaks a tie.
pub fn best<'a>(text: &str, hint: Option<&str>, table: &'a ActivityTable) -> Matched<'a> {
    let query = words(text);
    if let Some(mph) = pace_mph(text) {
        let heading = if query.contains("running") || query.contains("jogging") {
            Some("running")
        } else if query.contains("walking") {
            Some("walking")
        } else if query.contains("cycling") && !query.contains("stationary") {
            Some("bicycling")
        } else {
            None
        };
        if let Some(heading) = heading {
            let nearest = table
                .activities
                .iter()
                .filter(|a| a.heading == heading)
                .filter_map(|a| a.mph.map(|v| (a, (v - mph).abs())))
                .min_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((activity, distance)) = nearest {
                // Exact speed 0.95; the score falls off by 0.1 per mph away.
                let score = (0.95 - 0.1 * distance).max(0.0);
                return if score >= MIN_SCORE {
                    Matched::Found { activity, score }
                } else {
                    Matched::Unmatched {
                        nearest: vec![(activity, score)],
                    }
                };
            }
        }
    }
    if let Some(activity) = table
        .activities
        .iter()
        .find(|a| a.aliases.iter().any(|alias| words(alias) == query))
    {
        return Matched::Found {
            activity,
            score: 1.0,
        };
    }
    let mut scored: Vec<(&Activity, f64)> = table
        .activities
        .iter()
        .map(|a| (a, score(&query, a)))
        .filter(|(_, s)| *s > 0.0)
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    scored.truncate(5);
    let Some(&(_, top)) = scored.first() else {
        return Matched::Unmatched {
            nearest: Vec::new(),
        };
    };
    if top < MIN_SCORE {
        return Matched::Unmatched { nearest: scored };
    }
    let close: Vec<(&Activity, f64)> = scored
        .iter()
        .copied()
        .filter(|(_, s)| top - s < AMBIGUITY_MARGIN)
        .collect();
    if close.len() == 1 {
        return Matched::Found {
            activity: close[0].0,
            score: top,
        };
    }
    if let Some(hint) = hint {
        let fitting: Vec<_> = close
            .iter()
            .copied()
            .filter(|(a, _)| intensity(a.met) == hint)
            .collect();
        if let [(activity, score)] = fitting.as_slice() {
            return Matched::Found {
                activity,
                score: *score,
            };
        }
    }
    Matched::Ambiguous { candidates: close }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> ActivityTable {
        ActivityTable::parse(include_str!("../../../tools/health/compendium.toml")).expect("valid")
    }

    fn code(matched: Matched<'_>) -> String {
        match matched {
            Matched::Found { activity, .. } => activity.code.clone(),
            other => panic!("not found: {other:?}"),
        }
    }

    #[test]
    fn a_pace_picks_the_row_of_that_speed() {
        let table = table();
        assert_eq!(code(best("running 6 mph", None, &table)), "12050");
        // 10 km/h = 6.21 mph: nearest 6 mph.
        assert_eq!(code(best("ran at 10 km/h", None, &table)), "12050");
        // 5:00 min/km = 12 km/h = 7.46 mph: nearest 7.5 mph.
        assert_eq!(code(best("run 5:00 min/km", None, &table)), "12080");
        assert_eq!(code(best("walking 3.5 mph", None, &table)), "17200");
        assert_eq!(code(best("cycling 12.5 mph", None, &table)), "01030");
    }

    #[test]
    fn paces_are_read_in_every_common_form() {
        assert_eq!(pace_mph("6 mph"), Some(6.0));
        assert!((pace_mph("8:00 min/mile").unwrap_or_default() - 7.5).abs() < 1e-9);
        assert!((pace_mph("16 kph").unwrap_or_default() - 9.942).abs() < 0.001);
        assert_eq!(pace_mph("yoga"), None);
    }

    #[test]
    fn words_and_synonyms_match_and_a_close_call_is_ambiguous() {
        let table = table();
        assert_eq!(code(best("hatha yoga", None, &table)), "02150");
        assert_eq!(code(best("jog", None, &table)), "12020");
        assert_eq!(
            code(best("Weight lifting", None, &table)),
            "02054",
            "an everyday name"
        );
        assert_eq!(code(best("brisk walking", None, &table)), "17200");
        match best("skiing", None, &table) {
            Matched::Ambiguous { candidates } => assert!(candidates.len() >= 2),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            best("rowing", None, &table),
            Matched::Ambiguous { .. }
        ));
        assert_eq!(
            code(best("rowing", Some("vigorous"), &table)),
            "02070",
            "the hint breaks the tie"
        );
        assert!(matches!(
            best("underwater basket weaving championship", None, &table),
            Matched::Unmatched { .. }
        ));
    }
}
