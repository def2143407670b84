//! Units at the edge: how a unit string is compared (`µ`, `u` and `mc` alike, case and spaces
//! ignored) and how a value in an alternative unit becomes the canonical one.
//!
//! The factors themselves are data in the reference table, each with its source; this file
//! must not hold any factor of its own.

use serde::Deserialize;

/// One accepted non-canonical unit: `canonical = value × to_canonical + offset`, or
/// `canonical = value / per_canonical` when the literature states the factor the other way
/// round (creatinine: 88.4 µmol/L per mg/dL).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitConversion {
    pub unit: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub to_canonical: Option<f64>,
    #[serde(default)]
    pub per_canonical: Option<f64>,
    /// Added after multiplying (HbA1c IFCC mmol/mol to NGSP %).
    #[serde(default)]
    pub offset: Option<f64>,
    pub source: String,
}

impl UnitConversion {
    pub fn spellings(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.unit.as_str()).chain(self.aliases.iter().map(String::as_str))
    }

    pub fn validate(&self) -> Result<(), String> {
        let positive = |f: f64| f.is_finite() && f > 0.0;
        match (self.to_canonical, self.per_canonical) {
            (Some(f), None) | (None, Some(f)) if positive(f) => {}
            (Some(_), Some(_)) => {
                return Err(format!(
                    "unit {:?}: give `to_canonical` or `per_canonical`, not both",
                    self.unit
                ));
            }
            _ => {
                return Err(format!(
                    "unit {:?}: needs a positive `to_canonical` or `per_canonical`",
                    self.unit
                ));
            }
        }
        if self.offset.is_some_and(|o| !o.is_finite()) {
            return Err(format!("unit {:?}: offset must be finite", self.unit));
        }
        if self.offset.is_some() && self.per_canonical.is_some() {
            return Err(format!(
                "unit {:?}: an offset goes with `to_canonical`",
                self.unit
            ));
        }
        Ok(())
    }

    /// The value in the canonical unit.
    pub fn apply(&self, value: f64) -> f64 {
        let scaled = match (self.to_canonical, self.per_canonical) {
            (Some(factor), _) => value * factor,
            (None, Some(divisor)) => value / divisor,
            (None, None) => value,
        };
        scaled + self.offset.unwrap_or(0.0)
    }
}

/// The form two unit strings are compared in: lower case, no spaces, `µ`/`μ`/`micro` and
/// the `mc` of `mcg`/`mcL` as `u`,
/// `×`/`*`/`^` dropped, a leading `x` dropped (`x10^9/L` is `10^9/L`).
pub fn normalise_unit(unit: &str) -> String {
    let lowered: String = unit
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '^' | '*' | '×'))
        .map(|c| if matches!(c, 'µ' | 'μ') { 'u' } else { c })
        .collect();
    let lowered = lowered
        .replace("micro", "u")
        .replace("mcg", "ug")
        .replace("mcl", "ul");
    match lowered.strip_prefix('x') {
        Some(rest) if rest.starts_with("10") => rest.to_string(),
        _ => lowered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conversion(to: Option<f64>, per: Option<f64>, offset: Option<f64>) -> UnitConversion {
        UnitConversion {
            unit: "x".into(),
            aliases: vec![],
            to_canonical: to,
            per_canonical: per,
            offset,
            source: "s".into(),
        }
    }

    #[test]
    fn micro_signs_case_and_spaces_do_not_matter() {
        assert_eq!(normalise_unit("µmol/L"), normalise_unit("umol/l"));
        assert_eq!(normalise_unit("μmol / L"), "umol/l");
        assert_eq!(normalise_unit("mcg/L"), normalise_unit("µg/L"));
        assert_eq!(normalise_unit("micromol/L"), normalise_unit("µmol/L"));
        assert_eq!(normalise_unit("x10^9/L"), normalise_unit("10*9/l"));
        assert_eq!(normalise_unit("× 10^3/µL"), normalise_unit("10^3/uL"));
    }

    #[test]
    fn a_factor_multiplies_a_divisor_divides_and_an_offset_is_added_after() {
        assert!((conversion(Some(18.016), None, None).apply(5.55) - 99.99).abs() < 0.01);
        assert!((conversion(None, Some(88.4), None).apply(88.4) - 1.0).abs() < 1e-12);
        // HbA1c 48 mmol/mol: 0.09148 × 48 + 2.152 = 6.543 %.
        let a1c = conversion(Some(0.09148), None, Some(2.152));
        assert!((a1c.apply(48.0) - 6.543).abs() < 0.001);
    }

    #[test]
    fn a_conversion_needs_exactly_one_positive_factor() {
        assert!(conversion(None, None, None).validate().is_err());
        assert!(conversion(Some(1.0), Some(1.0), None).validate().is_err());
        assert!(conversion(Some(0.0), None, None).validate().is_err());
        assert!(conversion(None, Some(2.0), Some(1.0)).validate().is_err());
        assert!(conversion(Some(2.0), None, Some(1.0)).validate().is_ok());
    }
}
