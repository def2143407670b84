//! One genotype call: reading it from text ("AG", "A/G", "--"), and matching it against a
//! SNP's plus-strand alleles, flipping strand only where that is safe.
//!
//! This file knows bases and strands; it must not know what a genotype means.

use std::fmt;

use serde::Deserialize;

/// A DNA base on the GRCh37 plus strand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
pub enum Base {
    A,
    C,
    G,
    T,
}

impl Base {
    pub fn letter(self) -> char {
        match self {
            Base::A => 'A',
            Base::C => 'C',
            Base::G => 'G',
            Base::T => 'T',
        }
    }

    /// The base paired with this one on the other strand.
    pub fn complement(self) -> Base {
        match self {
            Base::A => Base::T,
            Base::T => Base::A,
            Base::C => Base::G,
            Base::G => Base::C,
        }
    }

    fn from_letter(letter: char) -> Option<Base> {
        match letter.to_ascii_uppercase() {
            'A' => Some(Base::A),
            'C' => Some(Base::C),
            'G' => Some(Base::G),
            'T' => Some(Base::T),
            _ => None,
        }
    }
}

/// One allele as a raw file or caller reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allele {
    Base(Base),
    /// An insertion or deletion call (`I`, `D`), which none of our SNPs has.
    Indel(char),
}

impl fmt::Display for Allele {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Allele::Base(base) => write!(f, "{}", base.letter()),
            Allele::Indel(letter) => write!(f, "{letter}"),
        }
    }
}

/// A genotype call as read, before it is matched to a SNP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Genotype {
    /// `--`, `00`, `0/0`, an empty value: the array gave no call.
    NoCall,
    /// One allele only (hemizygous calls on X, Y or mitochondria).
    Single(Allele),
    Pair(Allele, Allele),
}

impl fmt::Display for Genotype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Genotype::NoCall => write!(f, "--"),
            Genotype::Single(allele) => write!(f, "{allele}"),
            Genotype::Pair(first, second) => write!(f, "{first}{second}"),
        }
    }
}

fn allele(letter: char) -> Option<Allele> {
    match letter.to_ascii_uppercase() {
        'I' | 'D' => Some(Allele::Indel(letter.to_ascii_uppercase())),
        other => Base::from_letter(other).map(Allele::Base),
    }
}

fn is_no_call_mark(letter: char) -> bool {
    matches!(letter, '-' | '0' | '?' | '.' | 'N' | 'n')
}

/// Reads a genotype such as `AG`, `a/g`, `A G`, `A|G`, `T`, `--` or `00`. `None`: not a
/// genotype at all.
pub fn parse_call(text: &str) -> Option<Genotype> {
    let letters: Vec<char> = text
        .chars()
        .filter(|c| !matches!(c, '/' | '|' | ' ' | '\t' | ','))
        .collect();
    if letters.is_empty() || (letters.len() <= 2 && letters.iter().all(|&c| is_no_call_mark(c))) {
        return Some(Genotype::NoCall);
    }
    match letters.as_slice() {
        [one] => allele(*one).map(Genotype::Single),
        [first, second] => {
            if is_no_call_mark(*first) || is_no_call_mark(*second) {
                return Some(Genotype::NoCall);
            }
            Some(Genotype::Pair(allele(*first)?, allele(*second)?))
        }
        _ => None,
    }
}

/// Reads an AncestryDNA pair of allele columns (`A`, `G`; `0`, `0` for a no-call).
pub fn call_from_columns(first: &str, second: &str) -> Option<Genotype> {
    let (first, second) = (first.trim(), second.trim());
    if first.chars().count() != 1 || second.chars().count() != 1 {
        return None;
    }
    parse_call(&format!("{first}{second}"))
}

/// Whether `text` looks like a dbSNP id: `rs` and digits, any case.
pub fn is_rsid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() > 2
        && bytes[..2].eq_ignore_ascii_case(b"rs")
        && bytes[2..].iter().all(u8::is_ascii_digit)
}

/// A call matched against a SNP's two plus-strand alleles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matched {
    NoCall,
    /// Both alleles are the SNP's, in the SNP's order (reference first).
    Called {
        alleles: [Base; 2],
        /// The call was on the other strand and was complemented.
        flipped: bool,
    },
    /// Alleles the SNP does not have, or not two of them: shown, never interpreted.
    Unexpected {
        reason: String,
    },
}

/// Whether a SNP's two alleles are each other's complement (A/T or C/G), so that its
/// strand cannot be told from the alleles.
pub fn is_palindromic(alleles: [Base; 2]) -> bool {
    alleles[0].complement() == alleles[1]
}

/// Matches a call to a SNP whose plus-strand alleles are `expected`. Complements are
/// accepted (and marked `flipped`) only when the SNP is not palindromic.
pub fn match_call(call: &Genotype, expected: [Base; 2]) -> Matched {
    let (first, second) = match call {
        Genotype::NoCall => return Matched::NoCall,
        Genotype::Single(allele) => {
            return Matched::Unexpected {
                reason: format!("one allele ({allele}) where two were expected"),
            };
        }
        Genotype::Pair(Allele::Base(first), Allele::Base(second)) => (*first, *second),
        Genotype::Pair(first, second) => {
            return Matched::Unexpected {
                reason: format!("an insertion/deletion call ({first}{second}) at a SNP"),
            };
        }
    };
    let order = |pair: [Base; 2]| {
        let rank = |b: Base| usize::from(b != expected[0]);
        let mut pair = pair;
        pair.sort_by_key(|&b| rank(b));
        pair
    };
    if expected.contains(&first) && expected.contains(&second) {
        return Matched::Called {
            alleles: order([first, second]),
            flipped: false,
        };
    }
    let (first_c, second_c) = (first.complement(), second.complement());
    if !is_palindromic(expected) && expected.contains(&first_c) && expected.contains(&second_c) {
        return Matched::Called {
            alleles: order([first_c, second_c]),
            flipped: true,
        };
    }
    let palindromic = if is_palindromic(expected) {
        " (an A/T or C/G SNP, whose strand cannot be resolved)"
    } else {
        ""
    };
    Matched::Unexpected {
        reason: format!(
            "alleles {}{} are not this SNP's {}/{} on either strand{palindromic}",
            first.letter(),
            second.letter(),
            expected[0].letter(),
            expected[1].letter()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Base::{A, C, G, T};

    fn pair(first: Base, second: Base) -> Genotype {
        Genotype::Pair(Allele::Base(first), Allele::Base(second))
    }

    #[test]
    fn genotypes_are_read_with_or_without_separators_and_in_any_case() {
        for text in ["AG", "A/G", "a g", "A|G", " ag "] {
            assert_eq!(parse_call(text), Some(pair(A, G)), "{text}");
        }
    }

    #[test]
    fn dashes_zeros_and_empty_values_are_no_calls() {
        for text in ["--", "00", "0/0", "", "-", "??", "A-", "NN"] {
            assert_eq!(parse_call(text), Some(Genotype::NoCall), "{text}");
        }
    }

    #[test]
    fn junk_is_not_a_genotype() {
        for text in ["XY", "AGT", "hello", "A1"] {
            assert_eq!(parse_call(text), None, "{text}");
        }
    }

    #[test]
    fn indels_and_single_alleles_are_read_but_never_matched() {
        assert_eq!(
            parse_call("DI"),
            Some(Genotype::Pair(Allele::Indel('D'), Allele::Indel('I')))
        );
        assert!(matches!(
            match_call(&parse_call("DI").unwrap(), [C, T]),
            Matched::Unexpected { .. }
        ));
        assert!(matches!(
            match_call(&parse_call("T").unwrap(), [C, T]),
            Matched::Unexpected { .. }
        ));
    }

    #[test]
    fn alleles_in_either_order_match_in_the_snps_order() {
        let expected = Matched::Called {
            alleles: [C, T],
            flipped: false,
        };
        assert_eq!(match_call(&pair(T, C), [C, T]), expected);
        assert_eq!(match_call(&pair(C, T), [C, T]), expected);
    }

    #[test]
    fn complements_of_a_non_palindromic_snp_are_flipped() {
        // rs6025 is C/T on the plus strand; G/A is the same call on the minus strand.
        assert_eq!(
            match_call(&pair(G, A), [C, T]),
            Matched::Called {
                alleles: [C, T],
                flipped: true
            }
        );
        assert_eq!(
            match_call(&pair(G, G), [C, T]),
            Matched::Called {
                alleles: [C, C],
                flipped: true
            }
        );
    }

    #[test]
    fn a_palindromic_snp_is_never_flipped() {
        // rs1799945 (HFE H63D) is C/G: a G/C call reads as given, never complemented.
        assert_eq!(
            match_call(&pair(G, C), [C, G]),
            Matched::Called {
                alleles: [C, G],
                flipped: false
            }
        );
        assert_eq!(
            match_call(&pair(G, G), [C, G]),
            Matched::Called {
                alleles: [G, G],
                flipped: false
            }
        );
        let Matched::Unexpected { reason } = match_call(&pair(A, T), [C, G]) else {
            panic!("A/T at a C/G SNP must not be interpreted");
        };
        assert!(reason.contains("cannot be resolved"), "{reason}");
    }

    #[test]
    fn a_half_flipped_call_is_unexpected() {
        // C is on the plus strand's list, A only as a complement: inconsistent.
        assert!(matches!(
            match_call(&pair(C, A), [C, T]),
            Matched::Unexpected { .. }
        ));
    }

    #[test]
    fn rsids_are_recognised_in_any_case() {
        assert!(is_rsid("rs429358"));
        assert!(is_rsid("RS7412"));
        assert!(!is_rsid("rs"));
        assert!(!is_rsid("i6000001"));
        assert!(!is_rsid("rs12a"));
    }
}
