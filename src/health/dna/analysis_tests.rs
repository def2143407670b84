//! Worked examples and edges of `dna_analysis`, against the built-in variant table.

use std::collections::BTreeMap;

use super::analysis::{DnaArguments, DnaReport, analyse};
use super::interpret::{Finding, Status};
use super::table::VariantTable;
use crate::mcp::ToolOutput;

fn table() -> VariantTable {
    VariantTable::parse(include_str!("../../../tools/health/variants.toml")).unwrap()
}

fn genotypes(pairs: &[(&str, &str)]) -> DnaArguments {
    DnaArguments {
        genotypes: Some(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
        raw_file: None,
    }
}

fn run(pairs: &[(&str, &str)]) -> DnaReport {
    analyse(&table(), &genotypes(pairs)).unwrap()
}

fn finding<'r>(report: &'r DnaReport, id: &str) -> &'r Finding {
    report
        .findings
        .iter()
        .find(|f| f.id == id)
        .unwrap_or_else(|| panic!("no finding {id}"))
}

// APOE isoforms differ at residues 112 and 158 of the mature protein (130 and 176 counting
// the signal peptide): ε2 Cys/Cys, ε3 Cys/Arg, ε4 Arg/Arg. rs429358 C codes Arg112 and
// rs7412 T codes Cys158 (dbSNP), so ε2 = T+T, ε3 = T+C, ε4 = C+C (and ε1 = C+T). Worked by
// hand: ε3/ε4 is T+C on one chromosome and C+C on the other, i.e. rs429358 TC, rs7412 CC.
#[test]
fn apoe_reads_all_six_common_genotypes() {
    let cases = [
        ("TT", "TT", Status::Interpreted, "ε2/ε2"),
        ("TT", "CT", Status::Interpreted, "ε2/ε3"),
        ("TT", "CC", Status::Interpreted, "ε3/ε3"),
        ("TC", "CC", Status::Interpreted, "ε3/ε4"),
        ("CC", "CC", Status::Interpreted, "ε4/ε4"),
        // ε2/ε4 has the same unphased genotypes as the very rare ε1/ε3 (see below).
        ("TC", "CT", Status::Ambiguous, "ε2/ε4 or ε1/ε3"),
    ];
    for (rs429358, rs7412, status, expected) in cases {
        let report = run(&[("rs429358", rs429358), ("rs7412", rs7412)]);
        let apoe = finding(&report, "apoe");
        assert_eq!(apoe.status, status, "{rs429358} {rs7412}");
        assert_eq!(apoe.call.as_deref(), Some(expected), "{rs429358} {rs7412}");
        assert_eq!(apoe.rsids, ["rs429358", "rs7412"]);
    }
}

#[test]
fn apoe_e1_genotypes_are_named_and_flagged_as_rare() {
    for (rs429358, rs7412, expected) in [("CC", "CT", "ε1/ε4"), ("CT", "TT", "ε1/ε2")] {
        let report = run(&[("rs429358", rs429358), ("rs7412", rs7412)]);
        let apoe = finding(&report, "apoe");
        assert_eq!(apoe.call.as_deref(), Some(expected));
        assert!(apoe.interpretation.contains("very rare"));
    }
}

// rs429358 TC + rs7412 CT: the C at rs429358 may share a chromosome with the C at rs7412
// (ε4 + ε2) or with the T (ε1 + ε3). Unphased array data cannot tell them apart.
#[test]
fn apoe_heterozygous_at_both_snps_is_ambiguous_between_e2e4_and_e1e3() {
    let report = run(&[("rs429358", "CT"), ("rs7412", "TC")]);
    let apoe = finding(&report, "apoe");
    assert_eq!(apoe.status, Status::Ambiguous);
    assert_eq!(apoe.call.as_deref(), Some("ε2/ε4 or ε1/ε3"));
    assert!(apoe.interpretation.contains("likelier"));
    assert!(report.warnings.iter().any(|w| w.contains("ε2/ε4 or ε1/ε3")));
}

#[test]
fn apoe_odds_ratios_are_those_of_farrer_1997() {
    // Farrer et al., JAMA 1997, white samples: ε3/ε4 OR 3.2, ε4/ε4 OR 14.9 vs ε3/ε3.
    let report = run(&[("rs429358", "TC"), ("rs7412", "CC")]);
    assert!(finding(&report, "apoe").interpretation.contains("3.2"));
    let report = run(&[("rs429358", "CC"), ("rs7412", "CC")]);
    assert!(finding(&report, "apoe").interpretation.contains("14.9"));
}

fn cyp2c19(rs4244285: &str, rs4986893: &str, rs12248560: &str) -> Finding {
    let report = run(&[
        ("rs4244285", rs4244285),
        ("rs4986893", rs4986893),
        ("rs12248560", rs12248560),
    ]);
    finding(&report, "cyp2c19").clone()
}

// CPIC 2022 (Lee et al., Clin Pharmacol Ther 2022;112:959–967), Table 1: *17/*17
// ultrarapid, *1/*17 rapid, *1/*1 normal, *1/*2 and *2/*17 intermediate, *2/*2 poor.
// *2 = rs4244285 A, *3 = rs4986893 A, *17 = rs12248560 T (PharmVar).
#[test]
fn cyp2c19_diplotypes_give_cpic_phenotypes() {
    let cases = [
        (("GG", "GG", "CC"), "*1/*1", "Normal metabolizer"),
        (("GA", "GG", "CC"), "*1/*2", "Intermediate metabolizer"),
        (("AA", "GG", "CC"), "*2/*2", "Poor metabolizer"),
        (("GG", "GG", "CT"), "*1/*17", "Rapid metabolizer"),
        (("GG", "GG", "TT"), "*17/*17", "Ultrarapid metabolizer"),
        (("GA", "GG", "CT"), "*2/*17", "Intermediate metabolizer"),
        (("GA", "GA", "CC"), "*2/*3", "Poor metabolizer"),
    ];
    for ((a, b, c), call, phenotype) in cases {
        let found = cyp2c19(a, b, c);
        assert_eq!(found.status, Status::Interpreted, "{call}");
        assert_eq!(found.call.as_deref(), Some(call));
        assert_eq!(found.phenotype.as_deref(), Some(phenotype), "{call}");
    }
}

#[test]
fn cyp2c19_poor_and_intermediate_metabolizers_get_cpic_clopidogrel_advice() {
    let poor = cyp2c19("AA", "GG", "CC");
    assert!(
        poor.interpretation
            .contains("avoid clopidogrel if possible")
    );
    assert!(poor.interpretation.contains("prasugrel or ticagrelor"));
    let intermediate = cyp2c19("GA", "GG", "CC");
    assert!(
        intermediate
            .interpretation
            .contains("avoid standard-dose clopidogrel")
    );
    assert!(intermediate.interpretation.contains("*2: no function"));
    let normal = cyp2c19("GG", "GG", "CC");
    assert!(normal.interpretation.contains("standard dose"));
}

fn rank(phenotype: &str) -> usize {
    ["Poor", "Intermediate", "Normal", "Rapid", "Ultrarapid"]
        .iter()
        .position(|p| phenotype.starts_with(p))
        .unwrap_or_else(|| panic!("unknown phenotype {phenotype}"))
}

#[test]
fn more_no_function_alleles_never_raise_cyp2c19_activity() {
    let star2 = ["GG", "GA", "AA"];
    let star17 = ["CC", "CT", "TT"];
    for (increased, rs12248560) in star17.iter().enumerate() {
        let mut last = usize::MAX;
        for (no_function, rs4244285) in star2.iter().enumerate() {
            if increased + no_function > 2 {
                continue;
            }
            let found = cyp2c19(rs4244285, "GG", rs12248560);
            let now = rank(found.phenotype.as_deref().unwrap());
            assert!(now <= last, "{rs4244285} {rs12248560}");
            last = now;
        }
    }
}

#[test]
fn single_variants_read_each_genotype_from_the_table() {
    // Factor V Leiden rs6025 (plus strand C>T; c.1601G>A on the gene's strand).
    let report = run(&[("rs6025", "CT")]);
    let fvl = finding(&report, "factor-v-leiden");
    assert_eq!(fvl.call.as_deref(), Some("CT"));
    assert!(fvl.interpretation.contains("heterozygous"));
    // Prothrombin rs1799963 G>A.
    let report = run(&[("rs1799963", "AG")]);
    assert!(
        finding(&report, "prothrombin-g20210a")
            .interpretation
            .contains("One copy")
    );
    // SLCO1B1 rs4149056 T>C: CPIC 2022 decreased function, simvastatin under 20 mg.
    let report = run(&[("rs4149056", "CT")]);
    let slco = finding(&report, "slco1b1-521");
    assert!(
        slco.interpretation
            .starts_with("Decreased SLCO1B1 function")
    );
    assert!(slco.interpretation.contains("20 mg"));
    // LCT -13910T is the plus strand's A: one copy is enough for persistence.
    let report = run(&[("rs4988235", "AG")]);
    assert!(
        finding(&report, "lactase-persistence")
            .interpretation
            .contains("persistence")
    );
    // MTHFR 677TT is plus-strand AA; its evidence is limited and ACMG advises no testing.
    let report = run(&[("rs1801133", "AA")]);
    let mthfr = finding(&report, "mthfr-c677t");
    assert_eq!(mthfr.evidence, super::table::Evidence::Limited);
    assert!(mthfr.interpretation.contains("ACMG"));
    assert!(mthfr.interpretation.contains("no treatment is recommended"));
}

#[test]
fn hfe_compound_heterozygotes_are_named() {
    let report = run(&[("rs1800562", "GA"), ("rs1799945", "CG")]);
    let hfe = finding(&report, "hfe");
    assert_eq!(hfe.call.as_deref(), Some("C282Y/H63D"));
    let report = run(&[("rs1800562", "AA"), ("rs1799945", "CC")]);
    assert_eq!(finding(&report, "hfe").call.as_deref(), Some("C282Y/C282Y"));
}

#[test]
fn a_complemented_call_at_a_non_palindromic_snp_is_flipped_with_a_warning() {
    // rs6025 is C/T on the plus strand; GA is the heterozygote read on the minus strand.
    let report = run(&[("rs6025", "GA")]);
    let fvl = finding(&report, "factor-v-leiden");
    assert_eq!(fvl.genotype, "CT");
    assert_eq!(fvl.status, Status::Interpreted);
    assert!(report.warnings.iter().any(|w| w.contains("other strand")));
    assert_eq!(report.inputs_used.calls["rs6025"], "CT");
}

#[test]
fn a_palindromic_snp_is_read_as_given_and_never_flipped() {
    // rs1799945 (HFE H63D) is C/G: GG is two H63D alleles as given, not two complements.
    let report = run(&[("rs1800562", "GG"), ("rs1799945", "GG")]);
    let hfe = finding(&report, "hfe");
    assert_eq!(hfe.call.as_deref(), Some("H63D/H63D"));
    assert!(!report.warnings.iter().any(|w| w.contains("other strand")));
    // AT at a C/G SNP could be either strand's anything: unexpected, with a warning.
    let report = run(&[("rs1800562", "GG"), ("rs1799945", "AT")]);
    let hfe = finding(&report, "hfe");
    assert_eq!(hfe.status, Status::Unexpected);
    assert!(hfe.call.is_none());
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("cannot be resolved"))
    );
}

#[test]
fn unexpected_alleles_are_reported_not_interpreted() {
    let report = run(&[("rs6025", "CA"), ("rs4149056", "DI")]);
    for id in ["factor-v-leiden", "slco1b1-521"] {
        let found = finding(&report, id);
        assert_eq!(found.status, Status::Unexpected, "{id}");
        assert!(found.call.is_none());
    }
    assert_eq!(finding(&report, "factor-v-leiden").genotype, "CA");
}

#[test]
fn no_calls_are_reported_per_variant() {
    let report = run(&[("rs6025", "--"), ("rs429358", "00"), ("rs7412", "CC")]);
    assert_eq!(finding(&report, "factor-v-leiden").status, Status::NoCall);
    let apoe = finding(&report, "apoe");
    assert_eq!(apoe.status, Status::NoCall);
    assert_eq!(apoe.genotype, "rs429358 --, rs7412 CC");
}

#[test]
fn a_panel_with_a_missing_snp_is_incomplete_and_the_snp_listed_as_absent() {
    let report = run(&[("rs429358", "TC")]);
    assert_eq!(finding(&report, "apoe").status, Status::Incomplete);
    assert!(report.not_in_input.iter().any(|m| m.rsid == "rs7412"));
    assert!(!report.not_in_input.iter().any(|m| m.rsid == "rs429358"));
    // Every other table rsID is absent too: 12 in the table, 1 given.
    assert_eq!(report.not_in_input.len(), 11);
    assert_eq!(report.findings.len(), 1);
}

#[test]
fn rsids_outside_the_table_are_read_but_not_kept() {
    let report = run(&[("rs3131972", "AG"), ("RS6025", "cc")]);
    assert_eq!(report.inputs_used.genotypes_read, 2);
    assert_eq!(report.inputs_used.calls.len(), 1);
    assert_eq!(report.inputs_used.calls["rs6025"], "CC");
}

#[test]
fn every_result_cites_its_sources_and_says_it_is_not_a_diagnosis() {
    let report = run(&[("rs6025", "CC"), ("rs429358", "TT"), ("rs7412", "CC")]);
    for finding in &report.findings {
        for id in &finding.sources {
            assert!(report.sources.iter().any(|s| &s.id == id), "{id}");
        }
    }
    assert!(report.sources.iter().any(|s| s.id == "weedon-bmj-2021"));
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("Nothing here is a diagnosis"))
    );
    assert!(report.warnings.iter().any(|w| w.contains("rare variants")));
    let text = report.to_text();
    assert!(text.starts_with(&report.summary));
    assert!(text.contains("ε3/ε3"));
    assert!(text.contains("rs6025"));
}

// Hand-written lines in the 23andMe layout; not anyone's data.
const TWENTY_THREE: &str = "\
# This data file generated by 23andMe
# rsid\tchromosome\tposition\tgenotype
rs4477212\t1\t82154\tAA
rs429358\t19\t45411941\tTC
rs7412\t19\t45412079\tCC
rs4244285\t10\t96541616\tAG
rs4986893\t10\t96540410\tGG
rs12248560\t10\t96521657\tCC
rs1799945\t6\t26091179\tCG
rs1800562\t6\t26093141\tGG
rs6025\t1\t169519049\t--
not a genotype line at all
";

#[test]
fn a_23andme_raw_file_is_read_end_to_end() {
    let arguments = DnaArguments {
        genotypes: None,
        raw_file: Some(TWENTY_THREE.into()),
    };
    let report = analyse(&table(), &arguments).unwrap();
    assert_eq!(report.inputs_used.genotypes_read, 9);
    assert_eq!(report.inputs_used.lines_skipped, 1);
    assert_eq!(report.inputs_used.skipped_line_numbers, vec![12]);
    assert_eq!(finding(&report, "apoe").call.as_deref(), Some("ε3/ε4"));
    assert_eq!(finding(&report, "cyp2c19").call.as_deref(), Some("*1/*2"));
    assert_eq!(
        finding(&report, "hfe").call.as_deref(),
        Some("neither/H63D")
    );
    assert_eq!(finding(&report, "factor-v-leiden").status, Status::NoCall);
    assert!(report.summary.contains("23andMe"));
    assert!(report.warnings.iter().any(|w| w.contains("skipped")));
}

// Hand-written lines in the AncestryDNA layout; not anyone's data.
const ANCESTRY: &str = "\
#AncestryDNA raw data download
rsid\tchromosome\tposition\tallele1\tallele2
rs429358\t19\t45411941\tT\tT
rs7412\t19\t45412079\tT\tC
rs1801133\t1\t11856378\tG\tA
rs4988235\t2\t136608646\t0\t0
rs1799963\t7\t46761055\tG\tG
";

#[test]
fn an_ancestrydna_raw_file_is_read_end_to_end() {
    let arguments = DnaArguments {
        genotypes: None,
        raw_file: Some(ANCESTRY.into()),
    };
    let report = analyse(&table(), &arguments).unwrap();
    assert!(report.summary.contains("AncestryDNA"));
    assert_eq!(finding(&report, "apoe").call.as_deref(), Some("ε2/ε3"));
    assert_eq!(finding(&report, "mthfr-c677t").call.as_deref(), Some("GA"));
    assert_eq!(
        finding(&report, "lactase-persistence").status,
        Status::NoCall
    );
    // rs1799963 is on chromosome 11: a file saying 7 is read but warned about.
    assert_eq!(
        finding(&report, "prothrombin-g20210a").status,
        Status::Interpreted
    );
    assert!(report.warnings.iter().any(|w| w.contains("chromosome 11")));
}

fn refusal(arguments: DnaArguments) -> crate::health::InputError {
    analyse(&table(), &arguments).unwrap_err()
}

#[test]
fn bad_input_is_refused_naming_the_field() {
    let neither = DnaArguments {
        genotypes: None,
        raw_file: None,
    };
    assert_eq!(refusal(neither).field, "genotypes");
    let both = DnaArguments {
        genotypes: Some(BTreeMap::new()),
        raw_file: Some(TWENTY_THREE.into()),
    };
    assert_eq!(refusal(both).field, "genotypes");
    assert_eq!(refusal(genotypes(&[])).field, "genotypes");
    let error = refusal(genotypes(&[("rs6025", "XQ")]));
    assert_eq!(error.field, "genotypes.rs6025");
    assert!(error.accepted.contains("--"));
    assert_eq!(
        refusal(genotypes(&[("6025", "CC")])).field,
        "genotypes.6025"
    );
    let error = refusal(genotypes(&[("rs6025", "CC"), ("RS6025", "CT")]));
    assert!(error.field.starts_with("genotypes."));
    let empty_file = DnaArguments {
        genotypes: None,
        raw_file: Some("# nothing\n".into()),
    };
    assert_eq!(refusal(empty_file).field, "raw_file");
}
