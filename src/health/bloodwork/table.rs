//! The reference table `tools/health/reference_ranges.toml`: its shape, its validation, and
//! finding an analyte by name, synonym or LOINC code.
//!
//! This file reads data the catalog already loaded; it must not flag values or compute
//! derived ones (see `flags` and `derived`).

use std::collections::HashSet;

use serde::Deserialize;

use super::Sex;
use super::units::{UnitConversion, normalise_unit};
use crate::health::{InputError, Source};

/// Where the table lives under `tools/`.
pub const TABLE_PATH: &str = "health/reference_ranges.toml";

/// The whole reference table, validated.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceTable {
    #[serde(rename = "source")]
    pub sources: Vec<Source>,
    #[serde(rename = "analyte")]
    pub analytes: Vec<Analyte>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Analyte {
    pub id: String,
    pub name: String,
    pub loinc: Vec<String>,
    pub synonyms: Vec<String>,
    /// The canonical unit every value is converted to.
    pub unit: String,
    #[serde(default)]
    pub unit_aliases: Vec<String>,
    #[serde(default)]
    pub units: Vec<UnitConversion>,
    pub intervals: Vec<Interval>,
    #[serde(default)]
    pub critical: Option<CriticalLimits>,
    #[serde(default)]
    pub categories: Vec<Category>,
}

/// Which sex a reference interval applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IntervalSex {
    Male,
    Female,
    Any,
}

impl IntervalSex {
    fn applies_to(self, sex: Sex) -> bool {
        matches!(
            (self, sex),
            (IntervalSex::Any, _)
                | (IntervalSex::Male, Sex::Male)
                | (IntervalSex::Female, Sex::Female)
        )
    }
}

/// An adult reference interval in the canonical unit.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interval {
    pub sex: IntervalSex,
    /// Lower reference limit: values below it are low.
    #[serde(default)]
    pub low: Option<f64>,
    /// Upper reference limit: values above it are high.
    #[serde(default)]
    pub high: Option<f64>,
    /// A guideline cut-point: values at or above it are high.
    #[serde(default)]
    pub high_from: Option<f64>,
    pub source: String,
}

/// Limits for urgent notification, in the canonical unit.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriticalLimits {
    /// At or below: critical-low.
    #[serde(default)]
    pub low: Option<f64>,
    /// At or above: critical-high.
    #[serde(default)]
    pub high: Option<f64>,
    pub source: String,
}

/// A guideline band starting at `from` (inclusive) and running to the next band.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    pub from: f64,
    pub label: String,
    pub source: String,
}

impl ReferenceTable {
    /// Parses and validates the table's text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let table: ReferenceTable = toml::from_str(text).map_err(|e| e.to_string())?;
        table.validate()?;
        Ok(table)
    }

    pub fn source(&self, id: &str) -> Option<&Source> {
        self.sources.iter().find(|s| s.id == id)
    }

    pub fn analyte(&self, id: &str) -> Option<&Analyte> {
        self.analytes.iter().find(|a| a.id == id)
    }

    /// Finds an analyte by LOINC code, id, name or synonym (case and spacing ignored).
    pub fn find(&self, field: &str, test: &str) -> Result<&Analyte, InputError> {
        let wanted = normalise_name(test);
        let found = self.analytes.iter().find(|a| {
            a.loinc
                .iter()
                .any(|code| code.eq_ignore_ascii_case(test.trim()))
                || normalise_name(&a.id) == wanted
                || normalise_name(&a.name) == wanted
                || a.synonyms.iter().any(|s| normalise_name(s) == wanted)
        });
        found.ok_or_else(|| {
            let names: Vec<&str> = self
                .analytes
                .iter()
                .flat_map(|a| a.synonyms.iter().map(String::as_str))
                .collect();
            let close = closest_names(&wanted, &names, 5);
            let accepted = if close.is_empty() {
                format!(
                    "a known test name or LOINC code, e.g. {}",
                    self.analytes
                        .iter()
                        .take(8)
                        .map(|a| a.synonyms.first().map_or(a.id.as_str(), String::as_str))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            } else {
                format!("did you mean: {}", close.join(", "))
            };
            InputError::new(field, format!("unknown test {test:?}"), accepted)
        })
    }

    fn validate(&self) -> Result<(), String> {
        let mut source_ids = HashSet::new();
        for source in &self.sources {
            if source.id.trim().is_empty() || source.citation.trim().is_empty() {
                return Err("every [[source]] needs an id and a citation".into());
            }
            if !source_ids.insert(source.id.as_str()) {
                return Err(format!("source {:?} is defined twice", source.id));
            }
        }
        let cited = |id: &str, what: &str| -> Result<(), String> {
            if source_ids.contains(id) {
                Ok(())
            } else {
                Err(format!("{what} cites unknown source {id:?}"))
            }
        };
        let mut ids = HashSet::new();
        let mut names = HashSet::new();
        if self.analytes.is_empty() {
            return Err("the table lists no [[analyte]]".into());
        }
        for analyte in &self.analytes {
            let at = format!("analyte {:?}", analyte.id);
            if !ids.insert(analyte.id.as_str()) {
                return Err(format!("{at} is defined twice"));
            }
            if analyte.loinc.is_empty() || analyte.synonyms.is_empty() {
                return Err(format!(
                    "{at} needs at least one LOINC code and one synonym"
                ));
            }
            for name in analyte
                .loinc
                .iter()
                .chain(&analyte.synonyms)
                .map(|n| normalise_name(n))
                .collect::<HashSet<_>>()
            {
                if !names.insert(name.clone()) {
                    return Err(format!("{at}: the name or code {name:?} is used twice"));
                }
            }
            let mut spellings = HashSet::new();
            for spelling in std::iter::once(&analyte.unit).chain(&analyte.unit_aliases) {
                if !spellings.insert(normalise_unit(spelling)) {
                    return Err(format!("{at}: unit {spelling:?} is listed twice"));
                }
            }
            for unit in &analyte.units {
                unit.validate().map_err(|m| format!("{at}: {m}"))?;
                cited(&unit.source, &format!("{at} unit {:?}", unit.unit))?;
                for spelling in unit.spellings() {
                    if !spellings.insert(normalise_unit(spelling)) {
                        return Err(format!("{at}: unit {spelling:?} is listed twice"));
                    }
                }
            }
            for interval in &analyte.intervals {
                validate_interval(interval).map_err(|m| format!("{at}: {m}"))?;
                cited(&interval.source, &format!("{at} interval"))?;
            }
            for sex in [Sex::Male, Sex::Female] {
                let count = analyte
                    .intervals
                    .iter()
                    .filter(|i| i.sex.applies_to(sex))
                    .count();
                if count != 1 {
                    return Err(format!(
                        "{at}: needs exactly one interval for {sex:?} (found {count})"
                    ));
                }
            }
            if let Some(critical) = &analyte.critical {
                cited(&critical.source, &format!("{at} critical limits"))?;
                if critical.low.is_none() && critical.high.is_none() {
                    return Err(format!("{at}: critical limits need low or high"));
                }
                if let (Some(low), Some(high)) = (critical.low, critical.high)
                    && !(low.is_finite() && high.is_finite() && low < high)
                {
                    return Err(format!("{at}: critical low must be below critical high"));
                }
            }
            let mut previous = f64::NEG_INFINITY;
            for category in &analyte.categories {
                cited(
                    &category.source,
                    &format!("{at} category {:?}", category.label),
                )?;
                if !category.from.is_finite() || category.from <= previous {
                    return Err(format!("{at}: categories must rise strictly by `from`"));
                }
                previous = category.from;
            }
        }
        Ok(())
    }
}

fn validate_interval(interval: &Interval) -> Result<(), String> {
    if interval.high.is_some() && interval.high_from.is_some() {
        return Err("an interval gives `high` or `high_from`, not both".into());
    }
    let upper = interval.high.or(interval.high_from);
    if interval.low.is_none() && upper.is_none() {
        return Err("an interval needs `low`, `high` or `high_from`".into());
    }
    for limit in [interval.low, upper].into_iter().flatten() {
        if !limit.is_finite() || limit < 0.0 {
            return Err(format!(
                "limit {limit} must be a finite non-negative number"
            ));
        }
    }
    if let (Some(low), Some(high)) = (interval.low, upper)
        && low >= high
    {
        return Err(format!("low {low} must be below the upper limit {high}"));
    }
    Ok(())
}

impl Analyte {
    /// The adult reference interval that applies to `sex` (validation guarantees one).
    pub fn interval_for(&self, sex: Sex) -> Option<&Interval> {
        self.intervals.iter().find(|i| i.sex.applies_to(sex))
    }

    /// The guideline band `value` (canonical unit) falls into, if the analyte has bands.
    pub fn category_for(&self, value: f64) -> Option<&Category> {
        self.categories.iter().rev().find(|c| value >= c.from)
    }

    /// Converts `value` given in `unit` to the canonical unit, with the source of the factor
    /// when one was applied, or names the accepted units.
    pub fn to_canonical(
        &self,
        field: &str,
        value: f64,
        unit: &str,
    ) -> Result<(f64, Option<&str>), InputError> {
        let wanted = normalise_unit(unit);
        let canonical = std::iter::once(&self.unit)
            .chain(&self.unit_aliases)
            .any(|u| normalise_unit(u) == wanted);
        if canonical {
            return Ok((value, None));
        }
        match self
            .units
            .iter()
            .find(|u| u.spellings().any(|s| normalise_unit(s) == wanted))
        {
            Some(conversion) => Ok((conversion.apply(value), Some(conversion.source.as_str()))),
            None => Err(InputError::new(
                field,
                format!("unit {unit:?} is not accepted for {}", self.name),
                self.accepted_units(),
            )),
        }
    }

    /// The accepted units, canonical first, e.g. `mg/dL, mmol/L`.
    pub fn accepted_units(&self) -> String {
        std::iter::once(self.unit.as_str())
            .chain(self.unit_aliases.iter().map(String::as_str))
            .chain(self.units.iter().flat_map(|u| u.spellings()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Lower case, with runs of spaces, hyphens and underscores made one space.
pub fn normalise_name(name: &str) -> String {
    name.trim()
        .to_lowercase()
        .split(|c: char| c.is_whitespace() || c == '_' || c == '-')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Up to `limit` candidates closest to `typed`: those containing it or contained in it
/// first, then those within an edit distance of 2, nearest first.
pub fn closest_names(typed: &str, candidates: &[&str], limit: usize) -> Vec<String> {
    let mut scored: Vec<(usize, &str)> = candidates
        .iter()
        .filter_map(|&candidate| {
            let lower = normalise_name(candidate);
            if typed.len() >= 2 && (lower.contains(typed) || typed.contains(lower.as_str())) {
                Some((0, candidate))
            } else {
                let distance = edit_distance(typed, &lower);
                (distance <= 2).then_some((distance, candidate))
            }
        })
        .collect();
    scored.sort_by_key(|&(distance, name)| (distance, name.len()));
    let mut names: Vec<String> = Vec::new();
    for (_, name) in scored {
        if !names.iter().any(|n| n == name) && names.len() < limit {
            names.push(name.to_string());
        }
    }
    names
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builtin() -> ReferenceTable {
        let catalog = crate::catalog::Catalog::load(None, None).unwrap();
        let file = catalog.tool_file(TABLE_PATH).unwrap();
        ReferenceTable::parse(&file.text).unwrap()
    }

    #[test]
    fn the_builtin_table_parses_validates_and_covers_about_thirty_analytes() {
        let table = builtin();
        assert!((25..=40).contains(&table.analytes.len()));
        for id in [
            "glucose",
            "hba1c",
            "total_cholesterol",
            "ldl",
            "hdl",
            "triglycerides",
            "creatinine",
            "bun",
            "sodium",
            "potassium",
            "chloride",
            "bicarbonate",
            "calcium",
            "albumin",
            "total_protein",
            "alt",
            "ast",
            "alp",
            "ggt",
            "bilirubin",
            "haemoglobin",
            "haematocrit",
            "wbc",
            "platelets",
            "mcv",
            "ferritin",
            "tsh",
            "free_t4",
            "vitamin_b12",
            "vitamin_d",
            "crp",
            "uric_acid",
        ] {
            assert!(table.analyte(id).is_some(), "{id} is missing");
        }
    }

    #[test]
    fn every_row_cites_a_source_defined_in_the_same_file() {
        let table = builtin();
        for analyte in &table.analytes {
            let cited = analyte
                .intervals
                .iter()
                .map(|i| &i.source)
                .chain(analyte.units.iter().map(|u| &u.source))
                .chain(analyte.critical.iter().map(|c| &c.source))
                .chain(analyte.categories.iter().map(|c| &c.source));
            for id in cited {
                assert!(table.source(id).is_some(), "{}: {id}", analyte.id);
            }
        }
    }

    #[test]
    fn a_test_is_found_by_synonym_loinc_code_or_id_ignoring_case() {
        let table = builtin();
        assert_eq!(table.find("t", "HbA1c").unwrap().id, "hba1c");
        assert_eq!(table.find("t", "  LDL-C ").unwrap().id, "ldl");
        assert_eq!(table.find("t", "2160-0").unwrap().id, "creatinine");
        assert_eq!(table.find("t", "vitamin_b12").unwrap().id, "vitamin_b12");
    }

    #[test]
    fn an_unknown_test_names_the_field_and_suggests_close_names() {
        let table = builtin();
        let error = table.find("results[0].test", "glucoze").unwrap_err();
        assert_eq!(error.field, "results[0].test");
        assert!(error.accepted.contains("glucose"), "{}", error.accepted);
    }

    #[test]
    fn close_names_include_near_misspellings_and_substrings() {
        let names = ["glucose", "fasting glucose", "ldl", "hdl"];
        assert_eq!(closest_names("glucoze", &names, 5), vec!["glucose"]);
        assert_eq!(
            closest_names("gluc", &names, 5),
            vec!["glucose", "fasting glucose"]
        );
        assert_eq!(closest_names("xdl", &names, 5), vec!["ldl", "hdl"]);
        assert!(closest_names("zzzzzzzz", &names, 5).is_empty());
    }

    #[test]
    fn a_source_cited_but_not_defined_is_refused() {
        let text = r#"
[[source]]
id = "a"
citation = "A"
[[analyte]]
id = "x"
name = "X"
loinc = ["1-1"]
synonyms = ["x"]
unit = "mg/dL"
intervals = [ { sex = "any", low = 1, high = 2, source = "b" } ]
"#;
        let error = ReferenceTable::parse(text).unwrap_err();
        assert!(error.contains("unknown source \"b\""), "{error}");
    }

    #[test]
    fn an_analyte_without_an_interval_for_each_sex_is_refused() {
        let text = r#"
[[source]]
id = "a"
citation = "A"
[[analyte]]
id = "x"
name = "X"
loinc = ["1-1"]
synonyms = ["x"]
unit = "mg/dL"
intervals = [ { sex = "male", low = 1, high = 2, source = "a" } ]
"#;
        let error = ReferenceTable::parse(text).unwrap_err();
        assert!(error.contains("Female"), "{error}");
    }
}
