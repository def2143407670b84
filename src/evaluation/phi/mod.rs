//! Finding protected health information in text: the 18 identifiers of the HIPAA Safe
//! Harbor method (45 CFR 164.514(b)(2)(i)(A)–(R)), by pattern with checksums where the
//! identifier has one (Luhn for card numbers, mod-97 for IBANs, the SSA's rules for SSNs),
//! by the labels people write before record, plan, account, licence and device numbers,
//! and by name lists and cue words for person names. Spans come back as byte offsets,
//! one per identifier, overlaps resolved in favour of the more specific kind.
//!
//! This module is pure and synchronous (microseconds for a few kilobytes): it must not
//! log, store or send the text it reads, and never returns more of it than the spans.

mod names;
mod patterns;
mod redact;
mod vocabulary;

use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use names::NameLists;
pub use redact::{RedactionMode, redact};
pub use vocabulary::COUNTRIES_AND_STATES;

/// The Safe Harbor identifier a span is, with the paragraph of 164.514(b)(2)(i) it falls
/// under.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PhiKind {
    /// (A) names.
    Name,
    /// (B) street addresses.
    StreetAddress,
    /// (B) cities and other places smaller than a state.
    Location,
    /// (B) ZIP codes.
    ZipCode,
    /// (C) dates other than the year.
    Date,
    /// (C) ages over 89.
    Age,
    /// (D) telephone numbers, (E) fax numbers.
    Phone,
    /// (F) e-mail addresses.
    Email,
    /// (G) social security numbers.
    Ssn,
    /// (H) medical record numbers.
    MedicalRecord,
    /// (I) health plan beneficiary numbers.
    HealthPlan,
    /// (J) account numbers: bank, IBAN.
    Account,
    /// (J) payment card numbers (Luhn-valid).
    CreditCard,
    /// (K) certificate and licence numbers, driver's licences.
    Licence,
    /// (L) vehicle identifiers: VINs, plates.
    Vehicle,
    /// (M) device identifiers and serial numbers.
    Device,
    /// (N) web URLs and domain names.
    Url,
    /// (O) IP addresses.
    IpAddress,
    /// (P) biometric identifiers.
    Biometric,
}

impl PhiKind {
    pub const ALL: [PhiKind; 19] = [
        PhiKind::Name,
        PhiKind::StreetAddress,
        PhiKind::Location,
        PhiKind::ZipCode,
        PhiKind::Date,
        PhiKind::Age,
        PhiKind::Phone,
        PhiKind::Email,
        PhiKind::Ssn,
        PhiKind::MedicalRecord,
        PhiKind::HealthPlan,
        PhiKind::Account,
        PhiKind::CreditCard,
        PhiKind::Licence,
        PhiKind::Vehicle,
        PhiKind::Device,
        PhiKind::Url,
        PhiKind::IpAddress,
        PhiKind::Biometric,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PhiKind::Name => "name",
            PhiKind::StreetAddress => "street_address",
            PhiKind::Location => "location",
            PhiKind::ZipCode => "zip_code",
            PhiKind::Date => "date",
            PhiKind::Age => "age",
            PhiKind::Phone => "phone",
            PhiKind::Email => "email",
            PhiKind::Ssn => "ssn",
            PhiKind::MedicalRecord => "medical_record",
            PhiKind::HealthPlan => "health_plan",
            PhiKind::Account => "account",
            PhiKind::CreditCard => "credit_card",
            PhiKind::Licence => "licence",
            PhiKind::Vehicle => "vehicle",
            PhiKind::Device => "device",
            PhiKind::Url => "url",
            PhiKind::IpAddress => "ip_address",
            PhiKind::Biometric => "biometric",
        }
    }

    pub fn parse(text: &str) -> Option<PhiKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// When two spans overlap, the higher keeps its place: a checksum-validated or
    /// labelled number beats a loose pattern, and anything beats a guessed name.
    fn precedence(self) -> u8 {
        match self {
            PhiKind::Email | PhiKind::Url | PhiKind::IpAddress => 9,
            PhiKind::CreditCard | PhiKind::Ssn | PhiKind::Account => 8,
            PhiKind::MedicalRecord
            | PhiKind::HealthPlan
            | PhiKind::Licence
            | PhiKind::Vehicle
            | PhiKind::Device
            | PhiKind::Biometric => 7,
            PhiKind::StreetAddress => 6,
            // A postal code found by its label or a state code is surer than the phone
            // number its digits could also be.
            PhiKind::Date | PhiKind::Age | PhiKind::ZipCode => 5,
            PhiKind::Phone => 4,
            // A place written before a state code is surer than a guessed name.
            PhiKind::Location => 3,
            PhiKind::Name => 2,
        }
    }
}

/// One identifier found: its kind and where it is, as byte offsets into the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PhiSpan {
    pub kind: PhiKind,
    pub start: usize,
    pub end: usize,
}

/// The detector: compiled patterns and the name lists, built once and shared.
#[derive(Clone)]
pub struct PhiDetector {
    patterns: Arc<patterns::Patterns>,
    names: Arc<NameLists>,
}

impl PhiDetector {
    pub fn new(names: NameLists) -> Self {
        Self {
            patterns: Arc::new(patterns::Patterns::compile()),
            names: Arc::new(names),
        }
    }

    /// Every identifier in `text`, in order, without overlaps.
    pub fn detect(&self, text: &str) -> Vec<PhiSpan> {
        let mut found = Vec::new();
        self.patterns.find(text, &mut found);
        // A text all in capitals ("CAN I SPEAK TO A REAL PERSON") says nothing by its
        // capitals: its names are looked for as in a text all in lower case.
        let lowered;
        let cased = if text.chars().any(char::is_uppercase) && !text.chars().any(char::is_lowercase)
        {
            lowered = text.to_lowercase();
            // Offsets must stay those of `text`: a few letters change length in lower case.
            if lowered.len() == text.len() {
                lowered.as_str()
            } else {
                text
            }
        } else {
            text
        };
        let words = names::words(cased);
        names::find(&self.names, cased, &words, &mut found);
        // A listed place that is also a name stays a name ("Victoria said"); a place after
        // its cue takes the names inside it ("returned to Feliciano", "grew up in Shelly
        // Park"); a place before a state code was found by pattern and outranks all.
        let (mut listed, mut cued) = (Vec::new(), Vec::new());
        names::find_places(&self.names, cased, &words, &mut listed, &mut cued);
        let overlaps = |a: &PhiSpan, b: &PhiSpan| a.start < b.end && b.start < a.end;
        listed.retain(|p| {
            !found
                .iter()
                .any(|n| n.kind == PhiKind::Name && overlaps(n, p))
        });
        found.retain(|n| {
            n.kind != PhiKind::Name
                || !cued
                    .iter()
                    .any(|p| overlaps(n, p) && p.start <= n.start && n.end <= p.end)
        });
        found.extend(listed);
        found.extend(cued);
        self.assemble_addresses(text, resolve(found))
    }

    /// Grows each street address over what follows it in the same block (units, cities,
    /// regions, postal codes, countries; on the next lines or after commas), so that an
    /// address written over several lines is one identifier rather than pieces of several
    /// kinds. Stops at anything else, and at names but for the town's place.
    fn assemble_addresses(&self, text: &str, spans: Vec<PhiSpan>) -> Vec<PhiSpan> {
        const MOST_PARTS: usize = 8;
        let joins = |kind: PhiKind| {
            matches!(
                kind,
                PhiKind::StreetAddress | PhiKind::ZipCode | PhiKind::Location
            )
        };
        // What looks like a name on the line or after the comma that follows a street is the
        // town ("Dolores", "Porto Alegre"): a person's name goes above the street, not below.
        let town = |span: &PhiSpan, gap: &str| {
            span.kind == PhiKind::Name
                && (gap.contains('\n') || gap.contains(','))
                && text.get(span.end..).is_some_and(|after| {
                    let after = after.trim_start_matches([' ', '\t']);
                    after.is_empty()
                        || after.starts_with(['\n', '\r', ',', '|'])
                        || after.starts_with(|c: char| c.is_ascii_digit())
                })
        };
        let mut out: Vec<PhiSpan> = Vec::with_capacity(spans.len());
        let mut rest = spans.into_iter().peekable();
        while let Some(mut span) = rest.next() {
            if span.kind == PhiKind::StreetAddress {
                for _ in 0..MOST_PARTS {
                    let between = |next: &PhiSpan| text.get(span.end..next.start);
                    if let Some(next) = rest.peek()
                        && let Some(gap) = between(next)
                        && (joins(next.kind) || town(next, gap))
                        && gap.len() <= 8
                        && gap
                            .chars()
                            .all(|c| c.is_whitespace() || c == ',' || c == '>')
                    {
                        span.end = span.end.max(next.end);
                        rest.next();
                        continue;
                    }
                    let Some(part) = text
                        .get(span.end..)
                        .and_then(|after| self.patterns.address_continuation.captures(after))
                        .and_then(|c| c.get(1).or_else(|| c.get(2)).or_else(|| c.get(3)))
                    else {
                        break;
                    };
                    let mut end = span.end + part.end();
                    if rest.peek().is_some_and(|n| n.start < end && !joins(n.kind)) {
                        break;
                    }
                    while let Some(absorbed) = rest.next_if(|n| n.start < end) {
                        end = end.max(absorbed.end);
                    }
                    span.end = end;
                }
            }
            out.push(span);
        }
        out
    }
}

/// Keeps, of overlapping spans, the one of higher precedence (then the longer), and
/// returns the rest in text order.
fn resolve(mut spans: Vec<PhiSpan>) -> Vec<PhiSpan> {
    spans.retain(|s| s.start < s.end);
    spans.sort_by(|a, b| {
        b.kind
            .precedence()
            .cmp(&a.kind.precedence())
            .then((b.end - b.start).cmp(&(a.end - a.start)))
            .then(a.start.cmp(&b.start))
    });
    let mut kept: Vec<PhiSpan> = Vec::with_capacity(spans.len());
    for span in spans {
        if kept
            .iter()
            .all(|k| span.end <= k.start || span.start >= k.end)
        {
            kept.push(span);
        }
    }
    kept.sort_by_key(|s| s.start);
    kept
}

#[cfg(test)]
pub(crate) mod tests;
