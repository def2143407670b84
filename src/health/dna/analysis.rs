//! The `dna_analysis` tool's arguments and result, and the analysis that ties the readers
//! together: genotypes from a map or a raw file, one finding per variant or panel, the
//! variants absent from the input, the sources cited and the caveats.
//!
//! It must not keep or return genotypes beyond the table's rsIDs, and never diagnoses.

use std::collections::{BTreeMap, HashMap, HashSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::genotype::{is_rsid, parse_call};
use super::interpret::{Finding, Observed, Status, read_panel, read_single};
use super::raw_file::{self, RawFormat};
use super::table::VariantTable;
use crate::health::{InputError, Source};
use crate::mcp::ToolOutput;

/// The most entries accepted in `genotypes` (a whole array's worth).
pub const MAX_GENOTYPE_ENTRIES: usize = 2_000_000;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnaArguments {
    /// Genotype calls by rsID, e.g. `{"rs429358": "TC", "rs7412": "C/C", "rs6025": "--"}`:
    /// two alleles from A, C, G, T in either order, with or without a separator, on the
    /// GRCh37 plus strand as consumer files report them; `--` or `00` for a no-call. Give
    /// this or `raw_file`, not both.
    #[serde(default)]
    pub genotypes: Option<BTreeMap<String, String>>,
    /// The full text of a 23andMe raw data file (`rsid chromosome position genotype`,
    /// tab-separated, `#` comments) or an AncestryDNA one (`rsid chromosome position allele1
    /// allele2` with a header line), up to 30 MB. Unreadable lines are skipped and counted.
    /// Give this or `genotypes`, not both.
    #[serde(default)]
    pub raw_file: Option<String>,
}

/// Where the genotypes came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    Genotypes,
    RawFile,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct InputsUsed {
    pub input: InputKind,
    /// The raw file's format, when one was given: `23andme` or `ancestrydna`.
    pub raw_format: Option<RawFormat>,
    /// Genotypes read: entries of `genotypes`, or raw-file lines holding a genotype.
    pub genotypes_read: usize,
    /// Raw-file lines that could not be read and were skipped.
    pub lines_skipped: usize,
    /// The first few skipped line numbers (1-based).
    pub skipped_line_numbers: Vec<usize>,
    /// The calls at the table's rsIDs as used: plus strand, the table's allele order,
    /// `--` for a no-call, as given when unexpected. Other rsIDs are not kept.
    pub calls: BTreeMap<String, String>,
}

/// A table rsID the input does not contain.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct NotInInput {
    pub rsid: String,
    pub gene: String,
    /// The table id of the variant or panel it belongs to.
    pub variant: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DnaReport {
    pub inputs_used: InputsUsed,
    /// One finding per variant or panel with at least one of its rsIDs in the input.
    pub findings: Vec<Finding>,
    /// The table's rsIDs not present in the input at all (a no-call is present).
    pub not_in_input: Vec<NotInInput>,
    /// Every source a finding or caveat cites, by id.
    pub sources: Vec<Source>,
    /// Caveats: consumer arrays and rare variants, strand flips, unexpected or ambiguous
    /// calls, skipped lines. Always says this is not a diagnosis.
    pub warnings: Vec<String>,
    /// Plain-text summary of the findings.
    pub summary: String,
}

const ARRAY_CAVEAT: &str = "Consumer genotyping arrays miss or falsely call rare variants \
     often (most rare pathogenic calls on such arrays were false positives when sequenced; \
     Weedon 2021); a result here, especially a rare one, must be confirmed by a clinical \
     test before anyone acts on it.";
const NOT_DIAGNOSIS: &str = "Nothing here is a diagnosis: these are associations and guideline \
     summaries for a few well-studied variants, and the absence of a variant here does not \
     rule out disease. Discuss results with a clinician or genetic counsellor.";

fn both_or_neither() -> InputError {
    InputError::new(
        "genotypes",
        "give exactly one of `genotypes` or `raw_file`",
        "either a map of rsID to genotype, or the text of a raw data file",
    )
}

/// The input read: what was used, the calls at the table's rsIDs, and warnings so far.
struct Observations {
    inputs: InputsUsed,
    calls: HashMap<String, Observed>,
    warnings: Vec<String>,
}

/// Reads the input into calls at the table's rsIDs.
fn observe(table: &VariantTable, arguments: &DnaArguments) -> Result<Observations, InputError> {
    let wanted: HashSet<&str> = table.rsids().into_iter().collect();
    match (&arguments.genotypes, &arguments.raw_file) {
        (Some(map), None) => {
            let calls = from_map(map, &wanted)?;
            let inputs = InputsUsed {
                input: InputKind::Genotypes,
                raw_format: None,
                genotypes_read: map.len(),
                lines_skipped: 0,
                skipped_line_numbers: Vec::new(),
                calls: BTreeMap::new(),
            };
            Ok(Observations {
                inputs,
                calls,
                warnings: Vec::new(),
            })
        }
        (None, Some(text)) => {
            let read = raw_file::read(text, &wanted)?;
            let calls = read
                .calls
                .into_iter()
                .map(|(rsid, raw)| {
                    let observed = Observed {
                        text: raw.text,
                        call: raw.call,
                        chromosome: Some(raw.chromosome),
                    };
                    (rsid, observed)
                })
                .collect();
            let mut warnings = read.warnings;
            if read.skipped_lines > 0 {
                warnings.push(format!(
                    "{} line(s) of the raw file could not be read and were skipped (first: {}).",
                    read.skipped_lines,
                    read.skipped_examples
                        .iter()
                        .map(|n| format!("line {n}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            let inputs = InputsUsed {
                input: InputKind::RawFile,
                raw_format: Some(read.format),
                genotypes_read: read.genotype_lines,
                lines_skipped: read.skipped_lines,
                skipped_line_numbers: read.skipped_examples,
                calls: BTreeMap::new(),
            };
            Ok(Observations {
                inputs,
                calls,
                warnings,
            })
        }
        _ => Err(both_or_neither()),
    }
}

fn from_map(
    map: &BTreeMap<String, String>,
    wanted: &HashSet<&str>,
) -> Result<HashMap<String, Observed>, InputError> {
    if map.is_empty() {
        return Err(InputError::new(
            "genotypes",
            "is empty",
            "at least one rsID with its genotype, e.g. {\"rs429358\": \"TC\"}",
        ));
    }
    if map.len() > MAX_GENOTYPE_ENTRIES {
        return Err(InputError::new(
            "genotypes",
            format!("has {} entries, too many", map.len()),
            format!("up to {MAX_GENOTYPE_ENTRIES} entries"),
        ));
    }
    let mut calls = HashMap::new();
    for (key, value) in map {
        let field = format!("genotypes.{key}");
        let rsid = key.trim().to_ascii_lowercase();
        if !is_rsid(&rsid) {
            return Err(InputError::new(
                field,
                "is not an rsID",
                "dbSNP rsIDs such as rs429358",
            ));
        }
        let call = parse_call(value).ok_or_else(|| {
            InputError::new(
                field.clone(),
                format!("{value:?} is not a genotype"),
                "two alleles from A, C, G, T (e.g. \"AG\" or \"A/G\"), or \"--\" for a no-call",
            )
        })?;
        if !wanted.contains(rsid.as_str()) {
            continue;
        }
        let observed = Observed {
            text: value.trim().to_string(),
            call,
            chromosome: None,
        };
        if calls.insert(rsid, observed).is_some() {
            return Err(InputError::new(
                field,
                "is given twice (rsIDs are compared without regard to case)",
                "each rsID once",
            ));
        }
    }
    Ok(calls)
}

/// Reads the genotypes against the table: one finding per variant or panel present.
pub fn analyse(table: &VariantTable, arguments: &DnaArguments) -> Result<DnaReport, InputError> {
    let Observations {
        inputs: mut inputs_used,
        calls,
        mut warnings,
    } = observe(table, arguments)?;
    let mut findings = Vec::new();
    let mut not_in_input = Vec::new();
    let mut absent = |rsid: &str, gene: &str, variant: &str| {
        not_in_input.push(NotInInput {
            rsid: rsid.into(),
            gene: gene.into(),
            variant: variant.into(),
        });
    };
    let mut reads = Vec::new();
    for variant in &table.variants {
        match calls.get(&variant.rsid) {
            Some(observed) => reads.push(read_single(variant, observed)),
            None => absent(&variant.rsid, &variant.gene, &variant.id),
        }
    }
    for panel in &table.panels {
        for snp in panel.snps.iter().filter(|s| !calls.contains_key(&s.rsid)) {
            absent(&snp.rsid, &panel.gene, &panel.id);
        }
        if panel.snps.iter().any(|s| calls.contains_key(&s.rsid)) {
            reads.push(read_panel(panel, &calls));
        }
    }
    for read in reads {
        warnings.extend(read.warnings);
        inputs_used.calls.extend(read.calls);
        findings.push(read.finding);
    }
    warnings.push(ARRAY_CAVEAT.into());
    warnings.push(NOT_DIAGNOSIS.into());
    let sources = cited_sources(table, &findings);
    let summary = summarise(&inputs_used, &findings, &not_in_input);
    Ok(DnaReport {
        inputs_used,
        findings,
        not_in_input,
        sources,
        warnings,
        summary,
    })
}

fn cited_sources(table: &VariantTable, findings: &[Finding]) -> Vec<Source> {
    let mut ids: Vec<&str> = Vec::new();
    let cited = findings
        .iter()
        .flat_map(|f| f.sources.iter())
        .chain(&table.caveat_sources);
    for id in cited {
        if !ids.contains(&id.as_str()) {
            ids.push(id);
        }
    }
    ids.into_iter()
        .filter_map(|id| table.source(id).cloned())
        .collect()
}

fn summarise(inputs: &InputsUsed, findings: &[Finding], missing: &[NotInInput]) -> String {
    let origin = match inputs.raw_format {
        Some(RawFormat::TwentyThreeAndMe) => format!(
            "Read {} genotypes from a 23andMe raw data file",
            inputs.genotypes_read
        ),
        Some(RawFormat::AncestryDna) => format!(
            "Read {} genotypes from an AncestryDNA raw data file",
            inputs.genotypes_read
        ),
        None => format!("Read {} genotype(s)", inputs.genotypes_read),
    };
    let mut summary = origin;
    if inputs.lines_skipped > 0 {
        summary.push_str(&format!(
            " ({} unreadable line(s) skipped)",
            inputs.lines_skipped
        ));
    }
    let interpreted = findings
        .iter()
        .filter(|f| f.status == Status::Interpreted)
        .count();
    summary.push_str(&format!(
        "; {interpreted} of {} findings interpreted.",
        findings.len()
    ));
    for finding in findings {
        let what = match (&finding.call, &finding.phenotype, finding.status) {
            (Some(call), Some(phenotype), _) => format!("{call} ({phenotype})"),
            (Some(call), None, Status::Ambiguous) => format!("ambiguous, {call}"),
            (Some(call), None, _) => call.clone(),
            (None, _, status) => status.label().to_string(),
        };
        summary.push_str(&format!(
            " {} {}: {what}.",
            finding.gene,
            finding.id_label()
        ));
    }
    if !missing.is_empty() {
        let rsids: Vec<&str> = missing.iter().map(|m| m.rsid.as_str()).collect();
        summary.push_str(&format!(" Not in the input: {}.", rsids.join(", ")));
    }
    summary.push_str(
        " Not a diagnosis: consumer arrays can be wrong about rare variants; confirm with a \
         clinical test before acting.",
    );
    summary
}

impl Finding {
    /// The rsIDs in brackets, for summaries.
    fn id_label(&self) -> String {
        format!("({})", self.rsids.join(" + "))
    }
}

impl ToolOutput for DnaReport {
    fn to_text(&self) -> String {
        let mut text = self.summary.clone();
        text.push_str("\n\nFindings:");
        for f in &self.findings {
            text.push_str(&format!(
                "\n- {} {} [{}]: {} — {} (evidence: {}; sources: {})",
                f.gene,
                f.id_label(),
                f.genotype,
                match (&f.call, &f.phenotype) {
                    (Some(call), Some(phenotype)) => format!("{call}, {phenotype}"),
                    (Some(call), None) => call.clone(),
                    (None, _) => f.status.label().to_string(),
                },
                f.interpretation,
                f.evidence.label(),
                f.sources.join(", ")
            ));
        }
        if !self.not_in_input.is_empty() {
            text.push_str("\n\nNot in the input:");
            for m in &self.not_in_input {
                text.push_str(&format!("\n- {} ({}, {})", m.rsid, m.gene, m.variant));
            }
        }
        text.push_str("\n\nWarnings:");
        for warning in &self.warnings {
            text.push_str(&format!("\n- {warning}"));
        }
        text.push_str("\n\nSources:");
        for source in &self.sources {
            text.push_str(&format!("\n- [{}] {}", source.id, source.citation));
        }
        text
    }
}
