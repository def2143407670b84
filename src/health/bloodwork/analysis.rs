//! The `bloodwork_analysis` arguments and result, and the analysis tying the parts together:
//! check the inputs, convert each value once to its canonical unit, flag it, derive values,
//! find patterns, collect the cited sources and write the summary.
//!
//! Input problems are [`InputError`]s naming the field; this file must not hold reference
//! data or equations of its own.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Sex;
use super::derived::{DerivedValue, Measured, derive, round2};
use super::equations::Years;
use super::flags::{Flag, flag};
use super::patterns::{Pattern, Readings, find_patterns};
use super::table::{Analyte, ReferenceTable};
use crate::health::{InputError, Source};
use crate::mcp::ToolOutput;

pub const MIN_AGE: f64 = 18.0;
pub const MAX_AGE: f64 = 120.0;
pub const MAX_RESULTS: usize = 100;

/// A set of an adult's blood test results to read against published reference intervals.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BloodworkArguments {
    /// `male` or `female`: chooses sex-specific intervals and the eGFR coefficients.
    pub sex: Sex,
    /// Age in years, 18–120 (adult reference intervals only).
    pub age_years: f64,
    /// 1–100 results, each a test name or LOINC code with its value and unit.
    pub results: Vec<LabResult>,
}

/// One result as printed on a lab report.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LabResult {
    /// The test: a common name or abbreviation (`glucose`, `HbA1c`, `LDL`, `creatinine`,
    /// `TSH`…) or a LOINC code such as `2345-7`.
    pub test: String,
    /// The numeric result, as reported (no `<` or `>` signs).
    pub value: f64,
    /// The unit as printed, e.g. `mg/dL`, `mmol/L`, `µmol/L`, `g/L`, `%`, `10^9/L`.
    pub unit: String,
}

/// The result of reading a blood panel.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BloodworkReport {
    /// The inputs as used, after unit conversion.
    pub inputs_used: InputsUsed,
    /// Each result flagged against its reference interval, in the order given.
    pub findings: Vec<Finding>,
    /// Values calculated from the results (eGFR, calculated LDL, non-HDL, anion gap,
    /// corrected calcium), when their inputs were given.
    pub derived: Vec<DerivedValue>,
    /// Combinations worth a clinician's look, with what would confirm them. Never diagnoses.
    pub patterns: Vec<Pattern>,
    /// Every source cited by a finding, derived value or pattern.
    pub sources: Vec<Source>,
    /// Critical values, skipped calculations, duplicates and other caveats.
    pub warnings: Vec<String>,
    /// A plain-text summary.
    pub summary: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct InputsUsed {
    pub sex: Sex,
    pub age_years: f64,
    pub results: Vec<ConvertedResult>,
}

/// One input after lookup and unit conversion.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ConvertedResult {
    /// The test as given.
    pub test: String,
    /// The analyte it was matched to (table id).
    pub analyte: String,
    /// The value in the canonical unit (rounded to four decimals).
    pub value: f64,
    /// The canonical unit.
    pub unit: String,
    pub given_value: f64,
    pub given_unit: String,
}

/// One result read against its reference interval.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Finding {
    /// Table id, e.g. `glucose`.
    pub analyte: String,
    pub name: String,
    /// The primary LOINC code.
    pub loinc: String,
    /// The value in `unit`, rounded to two decimals.
    pub value: f64,
    pub unit: String,
    pub flag: Flag,
    /// The adult reference interval used, in words, e.g. `135–145 mmol/L`.
    pub reference_interval: String,
    /// Critical limits used, in words, when established.
    pub critical_limits: Option<String>,
    /// The guideline band, e.g. `prediabetes range (…)`.
    pub category: Option<String>,
    /// Citation ids, resolved in `sources`.
    pub sources: Vec<String>,
}

/// Reads `arguments` against `table`.
pub fn analyse(
    table: &ReferenceTable,
    arguments: &BloodworkArguments,
) -> Result<BloodworkReport, InputError> {
    let age = InputError::check_range("age_years", arguments.age_years, MIN_AGE, MAX_AGE, "years")?;
    if arguments.results.is_empty() || arguments.results.len() > MAX_RESULTS {
        return Err(InputError::new(
            "results",
            format!("{} results given", arguments.results.len()),
            format!("1–{MAX_RESULTS} results"),
        ));
    }
    let sex = arguments.sex;
    let mut converted = Vec::new();
    let mut findings = Vec::new();
    let mut warnings = Vec::new();
    let mut measured: Measured = Measured::new();
    let mut readings: Readings = Readings::new();
    for (i, result) in arguments.results.iter().enumerate() {
        let (analyte, value, conversion_source) = convert(table, i, result)?;
        let mut finding = read(analyte, value, sex);
        if let Some(source) = conversion_source {
            finding.sources.push(source.to_string());
        }
        if finding.flag.is_critical() {
            warnings.push(format!(
                "CRITICAL: {} {} {} is {} ({}). If this is a current result it needs urgent medical attention.",
                finding.name,
                finding.value,
                finding.unit,
                finding.flag.label(),
                finding.critical_limits.as_deref().unwrap_or(""),
            ));
        }
        if measured.contains_key(analyte.id.as_str()) {
            warnings.push(format!(
                "{} was given more than once; derived values and patterns use the first.",
                analyte.name
            ));
        } else {
            measured.insert(analyte.id.as_str(), value);
            readings.insert(analyte.id.as_str(), (value, finding.flag));
        }
        converted.push(ConvertedResult {
            test: result.test.clone(),
            analyte: analyte.id.clone(),
            value: (value * 10_000.0).round() / 10_000.0,
            unit: analyte.unit.clone(),
            given_value: result.value,
            given_unit: result.unit.clone(),
        });
        findings.push(finding);
    }
    if measured.contains_key("glucose") {
        warnings.push(
            "Glucose is read against fasting thresholds; a non-fasting value is not comparable."
                .into(),
        );
    }
    let derivation = derive(&measured, sex, Years(age), table);
    warnings.extend(derivation.warnings);
    let patterns = find_patterns(&readings, &derivation.values);
    let sources = cited_sources(table, &findings, &derivation.values, &patterns);
    let mut report = BloodworkReport {
        inputs_used: InputsUsed {
            sex,
            age_years: age,
            results: converted,
        },
        findings,
        derived: derivation.values,
        patterns,
        sources,
        warnings,
        summary: String::new(),
    };
    report.summary = summarise(&report);
    Ok(report)
}

fn convert<'t>(
    table: &'t ReferenceTable,
    i: usize,
    result: &LabResult,
) -> Result<(&'t Analyte, f64, Option<&'t str>), InputError> {
    let test_field = format!("results[{i}].test");
    if result.test.trim().is_empty() {
        return Err(InputError::new(
            test_field,
            "is empty",
            "a test name or LOINC code",
        ));
    }
    let analyte = table.find(&test_field, &result.test)?;
    let value_field = format!("results[{i}].value");
    if !result.value.is_finite() || result.value < 0.0 {
        return Err(InputError::new(
            value_field,
            format!("{} must be a finite number, zero or more", result.value),
            format!("a non-negative number in {}", analyte.accepted_units()),
        ));
    }
    let (value, source) =
        analyte.to_canonical(&format!("results[{i}].unit"), result.value, &result.unit)?;
    if !value.is_finite() {
        return Err(InputError::new(
            value_field,
            "is too large",
            format!("a plausible value in {}", analyte.accepted_units()),
        ));
    }
    Ok((analyte, value, source))
}

fn read(analyte: &Analyte, value: f64, sex: Sex) -> Finding {
    let interval = analyte.interval_for(sex);
    let flag = interval.map_or(Flag::Normal, |i| flag(value, i, analyte.critical.as_ref()));
    let unit = &analyte.unit;
    let mut sources = Vec::new();
    let reference_interval = match interval {
        Some(i) => {
            sources.push(i.source.clone());
            match (i.low, i.high, i.high_from) {
                (Some(low), Some(high), _) => format!("{low}–{high} {unit}"),
                (Some(low), None, Some(cut)) => format!("{low} to below {cut} {unit}"),
                (None, Some(high), _) => format!("up to {high} {unit}"),
                (None, None, Some(cut)) => format!("below {cut} {unit}"),
                (Some(low), None, None) => format!("{low} {unit} or more"),
                (None, None, None) => "none".into(),
            }
        }
        None => "none".into(),
    };
    let critical_limits = analyte.critical.as_ref().map(|c| {
        sources.push(c.source.clone());
        let parts: Vec<String> = [
            c.low.map(|l| format!("critical at or below {l} {unit}")),
            c.high.map(|h| format!("critical at or above {h} {unit}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        parts.join("; ")
    });
    let category = analyte.category_for(value).map(|c| {
        sources.push(c.source.clone());
        c.label.clone()
    });
    sources.dedup();
    Finding {
        analyte: analyte.id.clone(),
        name: analyte.name.clone(),
        loinc: analyte.loinc.first().cloned().unwrap_or_default(),
        value: round2(value),
        unit: unit.clone(),
        flag,
        reference_interval,
        critical_limits,
        category,
        sources,
    }
}

fn cited_sources(
    table: &ReferenceTable,
    findings: &[Finding],
    derived: &[DerivedValue],
    patterns: &[Pattern],
) -> Vec<Source> {
    let ids = findings
        .iter()
        .flat_map(|f| &f.sources)
        .chain(derived.iter().flat_map(|d| &d.sources))
        .chain(patterns.iter().flat_map(|p| &p.sources));
    let mut sources: Vec<Source> = Vec::new();
    for id in ids {
        if !sources.iter().any(|s| &s.id == id)
            && let Some(source) = table.source(id)
        {
            sources.push(source.clone());
        }
    }
    sources
}

fn summarise(report: &BloodworkReport) -> String {
    let total = report.findings.len();
    let outside: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.flag != Flag::Normal)
        .map(|f| format!("{} {} {} ({})", f.name, f.value, f.unit, f.flag.label()))
        .collect();
    let critical = report
        .findings
        .iter()
        .filter(|f| f.flag.is_critical())
        .count();
    let mut summary = format!(
        "{total} result{} read against general adult reference intervals: {} within range, {} outside",
        if total == 1 { "" } else { "s" },
        total - outside.len(),
        outside.len(),
    );
    if outside.is_empty() {
        summary.push('.');
    } else {
        summary.push_str(&format!(": {}.", outside.join("; ")));
    }
    if critical > 0 {
        summary.push_str(&format!(
            " {critical} value{} at a critical limit: needs urgent medical attention if current.",
            if critical == 1 { " is" } else { "s are" }
        ));
    }
    if let Some(egfr) = report.derived.iter().find(|d| d.id == "egfr") {
        summary.push_str(&format!(
            " eGFR {:.0} {} ({}).",
            egfr.value,
            egfr.unit,
            egfr.category.as_deref().unwrap_or("")
        ));
    }
    for pattern in &report.patterns {
        summary.push(' ');
        summary.push_str(&pattern.statement);
    }
    summary.push_str(
        " This is arithmetic on published intervals, not a diagnosis; the laboratory's own \
         reference intervals take precedence.",
    );
    summary
}

impl ToolOutput for BloodworkReport {
    fn to_text(&self) -> String {
        let mut text = self.summary.clone();
        text.push_str("\n\nResults:");
        for f in &self.findings {
            text.push_str(&format!(
                "\n- {}: {} {} [{}] (reference {}{})",
                f.name,
                f.value,
                f.unit,
                f.flag.label(),
                f.reference_interval,
                f.category
                    .as_deref()
                    .map(|c| format!("; {c}"))
                    .unwrap_or_default(),
            ));
        }
        if !self.derived.is_empty() {
            text.push_str("\n\nDerived:");
            for d in &self.derived {
                text.push_str(&format!("\n- {}: {} {}", d.name, d.value, d.unit));
                if let Some(flag) = d.flag {
                    text.push_str(&format!(" [{}]", flag.label()));
                }
                if let Some(category) = &d.category {
                    text.push_str(&format!(" ({category})"));
                }
            }
        }
        if !self.patterns.is_empty() {
            text.push_str("\n\nPatterns:");
            for p in &self.patterns {
                text.push_str(&format!(
                    "\n- {} To confirm: {}",
                    p.statement, p.confirm_with
                ));
            }
        }
        if !self.warnings.is_empty() {
            text.push_str("\n\nWarnings:");
            for w in &self.warnings {
                text.push_str(&format!("\n- {w}"));
            }
        }
        text.push_str("\n\nSources: ");
        text.push_str(
            &self
                .sources
                .iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        );
        text
    }
}

#[cfg(test)]
#[path = "analysis_tests.rs"]
mod tests;
