//! The variant table `tools/health/variants.toml`: its shape and its validation. Single
//! variants carry a meaning per genotype; panels (APOE, HFE, CYP2C19) carry haplotypes over
//! several SNPs and a meaning per pair of haplotypes.
//!
//! This file reads data the catalog already loaded; it must not read genotypes or decide
//! what a call means (see `genotype` and `interpret`).

use std::collections::{BTreeMap, HashSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::genotype::Base;
use crate::health::Source;

/// Where the table lives under `tools/`.
pub const TABLE_PATH: &str = "health/variants.toml";

/// The whole variant table, validated.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantTable {
    /// Sources of the caveat every result carries (consumer arrays and rare variants).
    pub caveat_sources: Vec<String>,
    #[serde(rename = "source")]
    pub sources: Vec<Source>,
    #[serde(rename = "variant")]
    pub variants: Vec<Variant>,
    #[serde(rename = "panel")]
    pub panels: Vec<Panel>,
}

/// How strong the clinical evidence behind a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Evidence {
    /// A professional guideline (CPIC, ACMG, EASL…) acts on this genotype.
    Guideline,
    /// A robust, replicated association; no routine clinical action follows from it alone.
    Established,
    /// Weak or disputed clinical evidence; guidelines advise against testing or acting on it.
    Limited,
}

impl Evidence {
    pub fn label(self) -> &'static str {
        match self {
            Evidence::Guideline => "guideline",
            Evidence::Established => "established",
            Evidence::Limited => "limited",
        }
    }
}

/// One SNP interpreted on its own.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    pub id: String,
    pub rsid: String,
    pub gene: String,
    pub chromosome: String,
    pub name: String,
    /// GRCh37 plus-strand alleles, the reference first.
    pub alleles: [Base; 2],
    pub effect_allele: Base,
    pub evidence: Evidence,
    pub sources: Vec<String>,
    /// Meaning by genotype, keyed by the two alleles in the order of `alleles`.
    pub genotypes: BTreeMap<String, String>,
}

/// One SNP of a panel.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PanelSnp {
    pub rsid: String,
    pub chromosome: String,
    /// GRCh37 plus-strand alleles, the reference first.
    pub alleles: [Base; 2],
}

/// A named combination of one allele per SNP of its panel.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Haplotype {
    pub name: String,
    /// One allele per SNP, in the order of the panel's `snps`.
    pub alleles: Vec<Base>,
    #[serde(default)]
    pub function: Option<String>,
}

/// What a pair of haplotypes means.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Diplotype {
    pub haplotypes: [String; 2],
    pub phenotype: String,
    pub meaning: String,
}

/// Several SNPs read together as haplotypes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Panel {
    pub id: String,
    pub gene: String,
    pub name: String,
    pub evidence: Evidence,
    pub sources: Vec<String>,
    /// Said when unphased genotypes fit more than one pair of haplotypes.
    #[serde(default)]
    pub ambiguity_note: Option<String>,
    pub snps: Vec<PanelSnp>,
    #[serde(rename = "haplotype")]
    pub haplotypes: Vec<Haplotype>,
    #[serde(rename = "diplotype")]
    pub diplotypes: Vec<Diplotype>,
}

impl Variant {
    /// The genotype key of two alleles in this variant's order, e.g. `CT`.
    pub fn key(&self, pair: [Base; 2]) -> String {
        pair.iter().map(|b| b.letter()).collect()
    }
}

impl Panel {
    pub fn diplotype(&self, first: &str, second: &str) -> Option<&Diplotype> {
        self.diplotypes.iter().find(|d| {
            (d.haplotypes[0] == first && d.haplotypes[1] == second)
                || (d.haplotypes[0] == second && d.haplotypes[1] == first)
        })
    }

    pub fn haplotype(&self, name: &str) -> Option<&Haplotype> {
        self.haplotypes.iter().find(|h| h.name == name)
    }
}

impl VariantTable {
    pub fn parse(text: &str) -> Result<Self, String> {
        let table: VariantTable = toml::from_str(text).map_err(|e| e.to_string())?;
        table.validate()?;
        Ok(table)
    }

    pub fn source(&self, id: &str) -> Option<&Source> {
        self.sources.iter().find(|s| s.id == id)
    }

    /// Every rsID the table reads, single variants first, then panels, in table order.
    pub fn rsids(&self) -> Vec<&str> {
        let singles = self.variants.iter().map(|v| v.rsid.as_str());
        let panels = self
            .panels
            .iter()
            .flat_map(|p| p.snps.iter().map(|s| s.rsid.as_str()));
        singles.chain(panels).collect()
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
        let cites = |ids: &[String], what: &str| -> Result<(), String> {
            if ids.is_empty() {
                return Err(format!("{what} cites no source"));
            }
            match ids.iter().find(|id| !source_ids.contains(id.as_str())) {
                Some(id) => Err(format!("{what} cites unknown source {id:?}")),
                None => Ok(()),
            }
        };
        cites(&self.caveat_sources, "caveat_sources")?;
        if self.variants.is_empty() && self.panels.is_empty() {
            return Err("the table lists no [[variant]] or [[panel]]".into());
        }
        let mut ids = HashSet::new();
        let mut rsids = HashSet::new();
        let mut new_rsid = |rsid: &str, at: &str| -> Result<(), String> {
            if !super::genotype::is_rsid(rsid) || rsid != rsid.to_ascii_lowercase() {
                return Err(format!(
                    "{at}: {rsid:?} is not a lower-case rsID like rs429358"
                ));
            }
            if !rsids.insert(rsid.to_string()) {
                return Err(format!("{at}: {rsid} is listed twice"));
            }
            Ok(())
        };
        for variant in &self.variants {
            let at = format!("variant {:?}", variant.id);
            if !ids.insert(variant.id.as_str()) {
                return Err(format!("{at} is defined twice"));
            }
            new_rsid(&variant.rsid, &at)?;
            cites(&variant.sources, &at)?;
            let [reference, other] = variant.alleles;
            if reference == other {
                return Err(format!("{at}: the two alleles must differ"));
            }
            if !variant.alleles.contains(&variant.effect_allele) {
                return Err(format!("{at}: effect_allele is not one of its alleles"));
            }
            let expected: HashSet<String> =
                [[reference, reference], [reference, other], [other, other]]
                    .into_iter()
                    .map(|pair| variant.key(pair))
                    .collect();
            let given: HashSet<String> = variant.genotypes.keys().cloned().collect();
            if given != expected {
                let mut wanted: Vec<_> = expected.into_iter().collect();
                wanted.sort();
                return Err(format!(
                    "{at}: genotypes must be exactly {}",
                    wanted.join(", ")
                ));
            }
            if variant.genotypes.values().any(|m| m.trim().is_empty()) {
                return Err(format!("{at}: a genotype has an empty meaning"));
            }
        }
        for panel in &self.panels {
            let at = format!("panel {:?}", panel.id);
            if !ids.insert(panel.id.as_str()) {
                return Err(format!("{at} is defined twice"));
            }
            cites(&panel.sources, &at)?;
            if panel.snps.is_empty() {
                return Err(format!("{at} lists no snps"));
            }
            for snp in &panel.snps {
                new_rsid(&snp.rsid, &at)?;
                if snp.alleles[0] == snp.alleles[1] {
                    return Err(format!("{at}: {} needs two different alleles", snp.rsid));
                }
            }
            validate_panel(panel, &at)?;
        }
        Ok(())
    }
}

/// Haplotypes use each SNP's alleles and are distinct; every unordered pair of haplotypes
/// has exactly one diplotype.
fn validate_panel(panel: &Panel, at: &str) -> Result<(), String> {
    let mut names = HashSet::new();
    let mut patterns = HashSet::new();
    for haplotype in &panel.haplotypes {
        if !names.insert(haplotype.name.as_str()) {
            return Err(format!(
                "{at}: haplotype {:?} is defined twice",
                haplotype.name
            ));
        }
        if haplotype.alleles.len() != panel.snps.len() {
            return Err(format!(
                "{at}: haplotype {:?} needs one allele per snp",
                haplotype.name
            ));
        }
        let fits = haplotype
            .alleles
            .iter()
            .zip(&panel.snps)
            .all(|(allele, snp)| snp.alleles.contains(allele));
        if !fits {
            return Err(format!(
                "{at}: haplotype {:?} uses an allele its snp does not have",
                haplotype.name
            ));
        }
        if !patterns.insert(haplotype.alleles.clone()) {
            return Err(format!(
                "{at}: haplotype {:?} repeats another's alleles",
                haplotype.name
            ));
        }
    }
    let mut pairs = HashSet::new();
    for diplotype in &panel.diplotypes {
        let [first, second] = &diplotype.haplotypes;
        for name in [first, second] {
            if !names.contains(name.as_str()) {
                return Err(format!("{at}: diplotype names unknown haplotype {name:?}"));
            }
        }
        let pair = if first <= second {
            (first, second)
        } else {
            (second, first)
        };
        if !pairs.insert(pair) {
            return Err(format!("{at}: diplotype {first}/{second} is defined twice"));
        }
        if diplotype.meaning.trim().is_empty() || diplotype.phenotype.trim().is_empty() {
            return Err(format!(
                "{at}: diplotype {first}/{second} needs a phenotype and meaning"
            ));
        }
    }
    let n = panel.haplotypes.len();
    if pairs.len() != n * (n + 1) / 2 {
        return Err(format!(
            "{at}: every pair of haplotypes needs a diplotype ({} of {} given)",
            pairs.len(),
            n * (n + 1) / 2
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUILTIN: &str = include_str!("../../../tools/health/variants.toml");

    #[test]
    fn the_builtin_table_parses_and_validates() {
        let table = VariantTable::parse(BUILTIN).unwrap();
        assert_eq!(table.variants.len(), 5);
        assert_eq!(table.panels.len(), 3);
        assert_eq!(table.rsids().len(), 12);
    }

    #[test]
    fn the_builtin_catalog_serves_the_same_table() {
        let catalog = crate::catalog::Catalog::load(None, None).unwrap();
        let file = catalog.tool_file(TABLE_PATH).unwrap();
        assert!(VariantTable::parse(&file.text).is_ok());
    }

    #[test]
    fn a_variant_citing_an_unknown_source_is_refused() {
        let broken = BUILTIN.replacen(
            "sources = [\"dbsnp\", \"clinvar-642\"",
            "sources = [\"dbsnp\", \"nowhere\"",
            1,
        );
        let error = VariantTable::parse(&broken).unwrap_err();
        assert!(error.contains("nowhere"), "{error}");
    }

    #[test]
    fn a_variant_missing_a_genotype_meaning_is_refused() {
        let broken = BUILTIN.replacen("TT = \"Two copies of Factor V", "XX = \"", 1);
        assert!(VariantTable::parse(&broken).is_err());
    }

    #[test]
    fn a_panel_missing_a_diplotype_is_refused() {
        let broken = BUILTIN.replacen(
            "haplotypes = [\"ε1\", \"ε1\"]",
            "haplotypes = [\"ε1\", \"ε2\"]",
            1,
        );
        let error = VariantTable::parse(&broken).unwrap_err();
        assert!(error.contains("defined twice"), "{error}");
    }

    #[test]
    fn a_haplotype_with_an_allele_its_snp_lacks_is_refused() {
        let broken = BUILTIN.replacen("alleles = [\"T\", \"T\"]", "alleles = [\"T\", \"G\"]", 1);
        let error = VariantTable::parse(&broken).unwrap_err();
        assert!(error.contains("ε2"), "{error}");
    }
}
