//! Consumer raw data files: 23andMe (`rsid chromosome position genotype`, `#` comments) and
//! AncestryDNA (`rsid chromosome position allele1 allele2`, `#` comments and a header line),
//! told apart by their header or their first data line.
//!
//! Reads line by line and keeps only the rsIDs asked for; a line it cannot read is counted
//! and skipped, never a panic. It must not interpret genotypes.

use std::collections::{HashMap, HashSet};

use schemars::JsonSchema;
use serde::Serialize;

use super::genotype::{Genotype, call_from_columns, is_rsid, parse_call};
use crate::health::InputError;

/// The largest raw file accepted in the `raw_file` argument.
pub const MAX_RAW_FILE_BYTES: usize = 30 * 1024 * 1024;

/// How many skipped line numbers a result lists.
const SKIPPED_EXAMPLES: usize = 10;

/// Which consumer format a raw file is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RawFormat {
    #[serde(rename = "23andme")]
    TwentyThreeAndMe,
    #[serde(rename = "ancestrydna")]
    AncestryDna,
}

/// One wanted SNP as a raw file gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawCall {
    pub chromosome: String,
    pub text: String,
    pub call: Genotype,
}

/// What was read from a raw file.
#[derive(Debug, Clone)]
pub struct RawRead {
    pub format: RawFormat,
    /// Lines that held a genotype (every rsID, not only the wanted ones).
    pub genotype_lines: usize,
    pub skipped_lines: usize,
    /// The first few skipped line numbers (1-based).
    pub skipped_examples: Vec<usize>,
    /// The wanted rsIDs found, lower-cased.
    pub calls: HashMap<String, RawCall>,
    /// Problems worth telling the caller (another genome build, conflicting duplicates).
    pub warnings: Vec<String>,
}

fn refused(message: impl Into<String>) -> InputError {
    InputError::new(
        "raw_file",
        message,
        "the text of a 23andMe or AncestryDNA raw data file (tab-separated), up to 30 MB",
    )
}

/// Reads `text`, keeping the calls of the (lower-case) rsIDs in `wanted`.
pub fn read(text: &str, wanted: &HashSet<&str>) -> Result<RawRead, InputError> {
    if text.len() > MAX_RAW_FILE_BYTES {
        return Err(refused(format!(
            "is {:.1} MB, over the limit",
            text.len() as f64 / (1024.0 * 1024.0)
        )));
    }
    let mut format = None;
    let mut read = RawRead {
        format: RawFormat::TwentyThreeAndMe,
        genotype_lines: 0,
        skipped_lines: 0,
        skipped_examples: Vec::new(),
        calls: HashMap::new(),
        warnings: Vec::new(),
    };
    let mut other_build = false;
    for (index, line) in text.lines().enumerate() {
        let line = line.trim_start_matches('\u{feff}').trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with('#') {
            let lower = line.to_ascii_lowercase();
            other_build |= ["build 36", "build 38", "grch38", "hg38", "ncbi36"]
                .iter()
                .any(|b| lower.contains(b));
            continue;
        }
        let columns: Vec<&str> = line.split('\t').map(str::trim).collect();
        if columns
            .first()
            .is_some_and(|c| c.eq_ignore_ascii_case("rsid"))
        {
            format = Some(if columns.len() >= 5 {
                RawFormat::AncestryDna
            } else {
                RawFormat::TwentyThreeAndMe
            });
            continue;
        }
        let this_format = *format.get_or_insert(match columns.len() {
            5 => RawFormat::AncestryDna,
            _ => RawFormat::TwentyThreeAndMe,
        });
        match parse_line(&columns, this_format) {
            Some((rsid, raw)) => {
                read.genotype_lines += 1;
                let rsid = rsid.to_ascii_lowercase();
                if wanted.contains(rsid.as_str()) {
                    keep(&mut read, rsid, raw);
                }
            }
            None => {
                read.skipped_lines += 1;
                if read.skipped_examples.len() < SKIPPED_EXAMPLES {
                    read.skipped_examples.push(index + 1);
                }
            }
        }
    }
    if read.genotype_lines == 0 {
        return Err(refused(format!(
            "holds no genotype lines ({} lines could not be read)",
            read.skipped_lines
        )));
    }
    read.format = format.unwrap_or(RawFormat::TwentyThreeAndMe);
    if other_build {
        read.warnings.push(
            "The file's comments mention a genome build other than GRCh37 (build 37); rsIDs \
             and alleles are still matched, but check the file's build."
                .into(),
        );
    }
    Ok(read)
}

/// One data line: the rsID or internal id in column 1, the genotype in column 4 (23andMe)
/// or columns 4 and 5 (AncestryDNA). `None`: not a readable line.
fn parse_line(columns: &[&str], format: RawFormat) -> Option<(String, RawCall)> {
    let (id, chromosome, position) = (columns.first()?, columns.get(1)?, columns.get(2)?);
    let id_ok = is_rsid(id)
        || (id.len() > 1 && id.starts_with('i') && id[1..].bytes().all(|b| b.is_ascii_digit()));
    if !id_ok || chromosome.is_empty() || position.parse::<u64>().is_err() {
        return None;
    }
    let (text, call) = match (format, columns.len()) {
        (RawFormat::TwentyThreeAndMe, 4) => (columns[3].to_string(), parse_call(columns[3])?),
        (RawFormat::AncestryDna, 5) => (
            format!("{}{}", columns[3], columns[4]),
            call_from_columns(columns[3], columns[4])?,
        ),
        _ => return None,
    };
    let raw = RawCall {
        chromosome: chromosome.to_string(),
        text,
        call,
    };
    Some((id.to_string(), raw))
}

fn keep(read: &mut RawRead, rsid: String, raw: RawCall) {
    match read.calls.get(&rsid) {
        None => {
            read.calls.insert(rsid, raw);
        }
        Some(first) if first.call == raw.call => {}
        Some(first) => read.warnings.push(format!(
            "{rsid} appears more than once with different calls ({} and {}); the first is used.",
            first.text, raw.text
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::dna::genotype::{Allele, Base};

    fn wanted() -> HashSet<&'static str> {
        ["rs429358", "rs7412", "rs6025", "rs4988235"]
            .into_iter()
            .collect()
    }

    // Hand-written lines in the 23andMe layout; not anyone's data.
    const TWENTY_THREE: &str = "\
# This data file generated by 23andMe at: Mon Jan 01 00:00:00 2024
# We are using reference human assembly build 37 (also known as Annotation Release 104).
# rsid\tchromosome\tposition\tgenotype
rs4477212\t1\t82154\tAA
rs6025\t1\t169519049\tCT
i6000001\t1\t1000\tDI
rs429358\t19\t45411941\tTC
rs7412\t19\t45412079\t--
this line is junk
rs4988235\t2\t136608646\tAG\textra
";

    // Hand-written lines in the AncestryDNA layout; not anyone's data.
    const ANCESTRY: &str = "\
#AncestryDNA raw data download
#This file was generated by AncestryDNA at: 01/01/2024
rsid\tchromosome\tposition\tallele1\tallele2\r
rs3131972\t1\t752721\tA\tG\r
rs429358\t19\t45411941\tC\tC\r
rs7412\t19\t45412079\t0\t0\r
rs6025\t1\t169519049\tC\r
rs4988235\t2\t136608646\tA\tG\r
";

    #[test]
    fn a_23andme_file_is_detected_and_its_wanted_calls_kept() {
        let read = read(TWENTY_THREE, &wanted()).unwrap();
        assert_eq!(read.format, RawFormat::TwentyThreeAndMe);
        assert_eq!(read.genotype_lines, 5);
        assert_eq!(read.calls.len(), 3);
        assert_eq!(read.calls["rs429358"].call, parse_call("TC").unwrap());
        assert_eq!(read.calls["rs429358"].chromosome, "19");
        assert_eq!(read.calls["rs7412"].call, Genotype::NoCall);
        // The junk line and the line with a fifth column.
        assert_eq!(read.skipped_lines, 2);
        assert_eq!(read.skipped_examples, vec![9, 10]);
        assert!(read.warnings.is_empty());
    }

    #[test]
    fn an_ancestrydna_file_is_detected_from_its_header() {
        let read = read(ANCESTRY, &wanted()).unwrap();
        assert_eq!(read.format, RawFormat::AncestryDna);
        assert_eq!(read.genotype_lines, 4);
        assert_eq!(
            read.calls["rs429358"].call,
            Genotype::Pair(Allele::Base(Base::C), Allele::Base(Base::C))
        );
        assert_eq!(read.calls["rs7412"].call, Genotype::NoCall);
        assert_eq!(read.calls["rs4988235"].text, "AG");
        // rs6025 has one allele column only.
        assert_eq!(read.skipped_lines, 1);
        assert!(!read.calls.contains_key("rs6025"));
    }

    #[test]
    fn a_headerless_five_column_file_reads_as_ancestrydna() {
        let read = read("rs429358\t19\t45411941\tT\tC\n", &wanted()).unwrap();
        assert_eq!(read.format, RawFormat::AncestryDna);
        assert_eq!(read.calls.len(), 1);
    }

    #[test]
    fn text_with_no_genotype_lines_is_refused_naming_the_field() {
        for text in [
            "",
            "# only a comment\n",
            "hello\nworld\n",
            "\u{0}\u{1}\t\t\t",
        ] {
            let error = read(text, &wanted()).unwrap_err();
            assert_eq!(error.field, "raw_file", "{text:?}");
        }
    }

    #[test]
    fn a_file_over_30_mb_is_refused() {
        let big = "#".repeat(MAX_RAW_FILE_BYTES + 1);
        let error = read(&big, &wanted()).unwrap_err();
        assert_eq!(error.field, "raw_file");
        assert!(error.accepted.contains("30 MB"));
    }

    #[test]
    fn another_genome_build_is_warned_about() {
        let text = "# reference build 38\nrs6025\t1\t169549811\tCC\n";
        let read = read(text, &wanted()).unwrap();
        assert_eq!(read.warnings.len(), 1);
    }

    #[test]
    fn conflicting_duplicate_lines_keep_the_first_and_warn() {
        let text = "rs6025\t1\t169519049\tCC\nrs6025\t1\t169519049\tCT\n";
        let read = read(text, &wanted()).unwrap();
        assert_eq!(read.calls["rs6025"].text, "CC");
        assert!(read.warnings[0].contains("rs6025"));
    }
}
