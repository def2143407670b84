//! What the calls mean: one finding per single variant, and one per panel from the pairs of
//! haplotypes its unphased genotypes fit (APOE ε, HFE, CYP2C19 star alleles).
//!
//! Everything said comes from the variant table; this file only chooses which entry applies.
//! It must not read text or files (see `genotype` and `raw_file`).

use std::collections::HashMap;

use schemars::JsonSchema;
use serde::Serialize;

use super::genotype::{Base, Genotype, Matched, match_call};
use super::table::{Evidence, Panel, Variant};

/// A call at one of the table's rsIDs, as given.
#[derive(Debug, Clone)]
pub struct Observed {
    /// The genotype as written in the input.
    pub text: String,
    pub call: Genotype,
    /// The chromosome a raw file put it on, if any.
    pub chromosome: Option<String>,
}

/// How far a finding could be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The genotype was read and has one meaning.
    Interpreted,
    /// The unphased genotypes fit more than one pair of haplotypes; each is given.
    Ambiguous,
    /// The array gave no call at one or more of the SNPs.
    NoCall,
    /// Alleles the table does not expect: shown, not interpreted.
    Unexpected,
    /// Some of a panel's SNPs are not in the input.
    Incomplete,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Interpreted => "interpreted",
            Status::Ambiguous => "ambiguous",
            Status::NoCall => "no call",
            Status::Unexpected => "unexpected call, not interpreted",
            Status::Incomplete => "incomplete",
        }
    }
}

/// What one variant, or one panel of variants, says.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Finding {
    /// The table's id, e.g. `factor-v-leiden` or `apoe`.
    pub id: String,
    pub gene: String,
    /// The variant's usual names.
    pub name: String,
    /// The rsIDs read for it.
    pub rsids: Vec<String>,
    /// The genotype seen, on the GRCh37 plus strand in the table's allele order (reference
    /// first); for a panel one `rsID genotype` per SNP. `--` is a no-call.
    pub genotype: String,
    pub status: Status,
    /// The genotype's name when it has one: `ε3/ε4`, `*1/*2`, `C282Y/H63D`, or the
    /// alternatives joined by ` or ` when ambiguous.
    pub call: Option<String>,
    /// A short label: `Intermediate metabolizer`, `one ε4 allele`…
    pub phenotype: Option<String>,
    /// What the genotype means, with the guideline's advice where one exists.
    pub interpretation: String,
    pub evidence: Evidence,
    /// Ids of the entries in the result's `sources`.
    pub sources: Vec<String>,
}

/// A finding plus what the caller should be warned about while reading it.
pub struct Read {
    pub finding: Finding,
    pub warnings: Vec<String>,
    /// The genotype used at each rsID present, as shown in the finding.
    pub calls: Vec<(String, String)>,
}

/// Checks a call against a SNP: matched alleles, and warnings for a strand flip, an
/// unexpected call or a chromosome that differs from the table's.
fn check(
    rsid: &str,
    chromosome: &str,
    expected: [Base; 2],
    observed: &Observed,
    warnings: &mut Vec<String>,
) -> Matched {
    if let Some(given) = &observed.chromosome {
        let given = given.trim_start_matches("chr");
        if !given.eq_ignore_ascii_case(chromosome) {
            warnings.push(format!(
                "{rsid} is on chromosome {chromosome} in GRCh37 but the file puts it on {given}; \
                 check the file."
            ));
        }
    }
    let matched = match_call(&observed.call, expected);
    match &matched {
        Matched::Called {
            alleles,
            flipped: true,
        } => warnings.push(format!(
            "{rsid}: the call {} fits the other strand and was read as {}{} on the plus strand.",
            observed.text,
            alleles[0].letter(),
            alleles[1].letter()
        )),
        Matched::Unexpected { reason } => warnings.push(format!(
            "{rsid}: unexpected call {:?}: {reason}; not interpreted.",
            observed.text
        )),
        _ => {}
    }
    matched
}

fn shown(matched: &Matched, observed: &Observed) -> String {
    match matched {
        Matched::NoCall => "--".into(),
        Matched::Called { alleles, .. } => alleles.iter().map(|b| b.letter()).collect(),
        Matched::Unexpected { .. } => observed.text.clone(),
    }
}

/// Reads one single variant from its call.
pub fn read_single(variant: &Variant, observed: &Observed) -> Read {
    let mut warnings = Vec::new();
    let matched = check(
        &variant.rsid,
        &variant.chromosome,
        variant.alleles,
        observed,
        &mut warnings,
    );
    let genotype = shown(&matched, observed);
    let (status, call, interpretation) = match &matched {
        Matched::Called { alleles, .. } => {
            let key = variant.key(*alleles);
            let meaning = variant.genotypes.get(&key).cloned().unwrap_or_default();
            (Status::Interpreted, Some(key), meaning)
        }
        Matched::NoCall => (
            Status::NoCall,
            None,
            format!(
                "No call at {}: the array could not read it, so nothing can be said.",
                variant.rsid
            ),
        ),
        Matched::Unexpected { reason } => (
            Status::Unexpected,
            None,
            format!("Not interpreted: {reason}."),
        ),
    };
    Read {
        finding: Finding {
            id: variant.id.clone(),
            gene: variant.gene.clone(),
            name: variant.name.clone(),
            rsids: vec![variant.rsid.clone()],
            genotype: genotype.clone(),
            status,
            call,
            phenotype: None,
            interpretation,
            evidence: variant.evidence,
            sources: variant.sources.clone(),
        },
        warnings,
        calls: vec![(variant.rsid.clone(), genotype)],
    }
}

/// Reads a panel from the calls at its SNPs (`None`: not in the input).
pub fn read_panel(panel: &Panel, calls: &HashMap<String, Observed>) -> Read {
    let mut warnings = Vec::new();
    let mut genotypes = Vec::new();
    let mut matched_all = Vec::new();
    let mut missing = Vec::new();
    let mut used = Vec::new();
    for snp in &panel.snps {
        match calls.get(&snp.rsid) {
            Some(observed) => {
                let matched = check(
                    &snp.rsid,
                    &snp.chromosome,
                    snp.alleles,
                    observed,
                    &mut warnings,
                );
                let genotype = shown(&matched, observed);
                genotypes.push(format!("{} {genotype}", snp.rsid));
                used.push((snp.rsid.clone(), genotype));
                matched_all.push(matched);
            }
            None => {
                genotypes.push(format!("{} not in input", snp.rsid));
                missing.push(snp.rsid.as_str());
            }
        }
    }
    let (status, call, phenotype, interpretation) = if !missing.is_empty() {
        (
            Status::Incomplete,
            None,
            None,
            format!(
                "{} not in the input, so the {} genotype cannot be read.",
                missing.join(" and "),
                panel.gene
            ),
        )
    } else if matched_all
        .iter()
        .any(|m| matches!(m, Matched::Unexpected { .. }))
    {
        (
            Status::Unexpected,
            None,
            None,
            format!(
                "Not interpreted: an unexpected call at one of the {} SNPs.",
                panel.gene
            ),
        )
    } else if matched_all.iter().any(|m| matches!(m, Matched::NoCall)) {
        (
            Status::NoCall,
            None,
            None,
            format!(
                "No call at one or more of the {} SNPs, so the genotype cannot be read.",
                panel.gene
            ),
        )
    } else {
        let pairs: Vec<[Base; 2]> = matched_all
            .iter()
            .filter_map(|m| match m {
                Matched::Called { alleles, .. } => Some(*alleles),
                _ => None,
            })
            .collect();
        haplotype_pairs(panel, &pairs, &mut warnings)
    };
    Read {
        finding: Finding {
            id: panel.id.clone(),
            gene: panel.gene.clone(),
            name: panel.name.clone(),
            rsids: panel.snps.iter().map(|s| s.rsid.clone()).collect(),
            genotype: genotypes.join(", "),
            status,
            call,
            phenotype,
            interpretation,
            evidence: panel.evidence,
            sources: panel.sources.clone(),
        },
        warnings,
        calls: used,
    }
}

/// Every unordered pair of the panel's haplotypes whose alleles, SNP by SNP, are the two
/// called. Unphased calls may fit several pairs (APOE TC + CT: ε2/ε4 or ε1/ε3).
pub fn fitting_pairs<'p>(panel: &'p Panel, called: &[[Base; 2]]) -> Vec<[&'p str; 2]> {
    let haplotypes = &panel.haplotypes;
    let mut fits = Vec::new();
    for (i, first) in haplotypes.iter().enumerate() {
        for second in &haplotypes[i..] {
            let fit = called.iter().enumerate().all(|(k, pair)| {
                let mut seen = [first.alleles[k], second.alleles[k]];
                seen.sort();
                let mut wanted = *pair;
                wanted.sort();
                seen == wanted
            });
            if fit {
                fits.push([first.name.as_str(), second.name.as_str()]);
            }
        }
    }
    fits
}

type Reading = (Status, Option<String>, Option<String>, String);

fn haplotype_pairs(panel: &Panel, called: &[[Base; 2]], warnings: &mut Vec<String>) -> Reading {
    let fits = fitting_pairs(panel, called);
    let diplotypes: Vec<_> = fits
        .iter()
        .filter_map(|[a, b]| panel.diplotype(a, b))
        .collect();
    match diplotypes.as_slice() {
        [] => (
            Status::Unexpected,
            None,
            None,
            format!(
                "These genotypes fit no pair of the {} haplotypes this table defines: a rarer \
                 allele or a genotyping error. Not interpreted.",
                panel.gene
            ),
        ),
        [only] => {
            let mut meaning = only.meaning.clone();
            let functions: Vec<String> = only
                .haplotypes
                .iter()
                .filter_map(|name| {
                    let function = panel.haplotype(name)?.function.as_ref()?;
                    Some(format!("{name}: {function}"))
                })
                .collect();
            if !functions.is_empty() {
                meaning.push_str(&format!(" Alleles: {}.", functions.join("; ")));
            }
            (
                Status::Interpreted,
                Some(only.haplotypes.join("/")),
                Some(only.phenotype.clone()),
                meaning,
            )
        }
        several => {
            let names: Vec<String> = several.iter().map(|d| d.haplotypes.join("/")).collect();
            let readings: Vec<String> = several
                .iter()
                .map(|d| {
                    let name = d.haplotypes.join("/");
                    if d.meaning.starts_with(&name) {
                        d.meaning.clone()
                    } else {
                        format!("{name}: {}", d.meaning)
                    }
                })
                .collect();
            let mut text = format!(
                "Ambiguous: an array does not tell which alleles share a chromosome, and these \
                 genotypes fit {}. {}",
                names.join(" or "),
                readings.join(" ")
            );
            if let Some(note) = &panel.ambiguity_note {
                text.push(' ');
                text.push_str(note);
            }
            warnings.push(format!(
                "{}: the genotypes fit {}; see the finding.",
                panel.gene,
                names.join(" or ")
            ));
            (Status::Ambiguous, Some(names.join(" or ")), None, text)
        }
    }
}
