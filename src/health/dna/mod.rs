//! A curated set of well-established genetic variants read from genotype calls or a
//! consumer raw data file (23andMe, AncestryDNA): APOE ε2/ε3/ε4, Factor V Leiden,
//! prothrombin G20210A, HFE C282Y and H63D, CYP2C19 with CPIC's clopidogrel guidance,
//! SLCO1B1 with CPIC's statin guidance, lactase persistence, and MTHFR C677T with its weak
//! evidence said plainly.
//!
//! - `table`: the variant table under `tools/health/`, validated (alleles on the GRCh37 plus
//!   strand, every row citing its sources);
//! - `genotype`: reading one call and matching it to a SNP's alleles, flipping strand only
//!   where the SNP is not A/T or C/G;
//! - `raw_file`: 23andMe and AncestryDNA raw files, line by line, junk skipped and counted;
//! - `interpret`: one finding per variant, and per panel from the haplotype pairs its
//!   unphased genotypes fit;
//! - `analysis`: the tool's arguments and result, and the analysis that ties these together;
//! - `tools`: the `dna_analysis` MCP tool.
//!
//! Everything here is deterministic lookup on cited data. It must not diagnose, do I/O or
//! call a model, and it keeps no genotype beyond the table's rsIDs.

mod analysis;
#[cfg(test)]
mod analysis_tests;
mod genotype;
mod interpret;
mod raw_file;
mod table;
mod tools;

pub use analysis::{DnaArguments, DnaReport, analyse};
pub use interpret::{Finding, Status};
pub use table::{Evidence, VariantTable};
pub use tools::register;
