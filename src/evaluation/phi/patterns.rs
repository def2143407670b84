//! The identifiers that have a shape: e-mail, URLs, IP addresses, SSNs, card numbers,
//! IBANs, phone numbers, dates, ages over 89, ZIP codes, street addresses, and the numbers
//! people label (record, plan, account, licence, vehicle, device, biometric). A pattern
//! proposes; a validator (checksum, range, context) disposes.

use std::net::Ipv6Addr;

use regex::{Captures, Regex};

use super::vocabulary::{NOT_PLACES, NOT_STREETS};
use super::{PhiKind, PhiSpan};

/// The USPS codes of the states, DC and the territories: a place written before one of
/// them ("Austin, TX") is a city, which Safe Harbor (B) removes while the state may stay.
const US_STATES: &str = "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR|GU|VI|AS|MP";

/// How each labelled number is introduced; the number itself is capture group 1 and must
/// hold a digit.
const LABELLED: &[(PhiKind, &str)] = &[
    (
        PhiKind::MedicalRecord,
        r"(?i)\b(?:mrn|medical\s+record(?:\s+(?:number|no\.?|num|#))?|chart\s+(?:number|no\.?|#)|patient\s+(?:id|number|no\.?))(?:\s+is)?\s*[:#]?\s*([A-Z0-9][A-Z0-9-]{3,19})\b",
    ),
    (
        PhiKind::HealthPlan,
        r"(?i)\b(?:member\s*id|subscriber\s*id|policy\s*(?:number|no\.?|#|id)|(?:health\s*plan|insurance|beneficiary|medicaid|medicare)\s*(?:id|number|no\.?|#))(?:\s+is)?\s*[:#]?\s*([A-Z0-9][A-Z0-9-]{4,19})\b",
    ),
    (
        PhiKind::Account,
        r"(?i)\b(?:account|acct|a/c)\s*(?:number|no\.?|#)?(?:\s+is)?\s*[:#]?\s*(\d[\d-]{5,19})\b",
    ),
    (
        PhiKind::Licence,
        r"(?i)\b(?:driver'?s?\s+licen[cs]e|licen[cs]e|certificate|cert\.|dea|npi)\s*(?:number|no\.?|#|id)?(?:\s+is)?\s*[:#]?\s*([A-Z0-9][A-Z0-9-]{4,19})\b",
    ),
    (
        PhiKind::Vehicle,
        r"(?i)\b(?:vin|vehicle\s+id(?:entification)?(?:\s+number)?|licen[cs]e\s+plate|plate|registration)\s*(?:number|no\.?|#)?(?:\s+is)?\s*[:#]?\s*([A-Z0-9][A-Z0-9-]{1,16})\b",
    ),
    (
        PhiKind::Device,
        r"(?i)\b(?:serial\s*(?:number|no\.?|#)?|s/n|device\s*(?:id|identifier)|udi|imei|(?:pacemaker|implant|pump)\s*(?:id|serial))\s*[:#]?\s*([A-Z0-9(][A-Z0-9()-]{5,39})\b",
    ),
    (
        PhiKind::Biometric,
        r"(?i)\b(?:fingerprint|retinal?\s*scan|iris\s*scan|voice\s*print|face\s*print|biometric)\s*(?:id|identifier|template|hash|record)?\s*[:#]?\s*([A-Z0-9][A-Z0-9-]{5,63})\b",
    ),
];

pub struct Patterns {
    email: Regex,
    url: Regex,
    domain: Regex,
    ipv4: Regex,
    ipv6: Regex,
    ssn: Regex,
    ssn_bare: Regex,
    card: Regex,
    iban: Regex,
    /// An IBAN typed in lower case ("my iban is gb82west…"): the same form, its own scan,
    /// as lower-case letters before digits are rare in prose and upper-case ones are not.
    iban_lower: Regex,
    phone: Regex,
    numeric_date: Regex,
    weekday: Regex,
    month_date: Regex,
    age: Regex,
    zip: Regex,
    zip_labelled: Regex,
    street_named: Regex,
    street_suffixed: Regex,
    street_numbered: Regex,
    street_named_after_number: Regex,
    street_after_on: Regex,
    street_without_number: Regex,
    corner: Regex,
    address: Regex,
    po_box: Regex,
    secondary_unit: Regex,
    military: Regex,
    city_state: Regex,
    labelled: Vec<(PhiKind, Regex)>,
    /// What may follow an address on its next line or after a comma, in one of groups 1–3: a
    /// city or a country with or without a postal code, a postal code with or without a
    /// region code, a region code alone.
    pub address_continuation: Regex,
}

/// The patterns are constants of this file, checked by the tests; a failure to compile is
/// a programming error, reported by panicking at start-up rather than on input.
fn compiled(pattern: &str) -> Regex {
    #[allow(clippy::expect_used)]
    Regex::new(pattern).expect("a built-in PHI pattern compiles")
}

impl Patterns {
    pub fn compile() -> Self {
        let month = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)";
        Self {
            email: compiled(
                r"(?i)\b[a-z0-9][a-z0-9._%+-]*@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.[a-z]{2,24}\b",
            ),
            url: compiled(r#"(?i)\b(?:https?://|www\.)[^\s<>"'()\[\]{}]+"#),
            domain: compiled(
                r"(?i)\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:com|org|net|edu|gov|mil|int|io|co|info|biz|health|app|dev|me|us|uk|de|fr|es|it|nl|be|ch|at|se|dk|no|fi|pl|cz|pt|br|au|ca|jp|cn|in|ru|ee|cy|gr|ie|nz|za|mx|ar|hu|ro|sk|si|lt|lv|is|lu)\b",
            ),
            ipv4: compiled(r"\b(?:\d{1,3}\.){3}\d{1,3}\b"),
            ipv6: compiled(r"(?i)(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}"),
            ssn: compiled(r"\b(\d{3})[- ](\d{2})[- ](\d{4})\b"),
            ssn_bare: compiled(
                r"(?i)\b(?:ssn|social\s+security(?:\s+(?:number|no\.?|#))?)\s*[:#]?\s*(\d{9})\b",
            ),
            card: compiled(r"\b\d(?:[ -]?\d){11,18}\b"),
            iban: compiled(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b"),
            iban_lower: compiled(r"\b[a-z]{2}\d{2}(?: ?[a-z0-9]{4}){2,7}(?: ?[a-z0-9]{1,3})?\b"),
            phone: compiled(r"(?:\+|\b00|\()?\d[\d ().-]{5,22}\d(?:\s?(?:x|ext\.?\s?)\d{1,5})?\b"),
            numeric_date: compiled(
                r"\b(?:(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})|(\d{4})[/.-](\d{1,2})[/.-](\d{1,2}))(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?\b",
            ),
            month_date: compiled(&format!(
                r"(?i)\b(?:\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{month}\.?(?:,?\s+\d{{4}})?|{month}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?|{month}\.?,?\s+\d{{4}})\b"
            )),
            // The day of an event ("on Tuesday morning"); a schedule ("every Monday",
            // "on Mondays") dates nothing and is left alone.
            weekday: compiled(
                r"(?i)\b(?:(every|each|alternate)\s+)?(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)(s)?\b",
            ),
            age: compiled(
                r"(?i)\b(?:(\d{2,3})\s*-?\s*(?:years?|yrs?|y/o|yo)(?:[\s-]*old)?|age[d]?\s*:?\s*(\d{2,3}))\b",
            ),
            zip: compiled(r"(?:\b[A-Z]{2}\s+)(\d{5}(?:-\d{4})?)\b"),
            zip_labelled: compiled(
                r"(?i)\b(?:zip|postal|post)\s*(?:code)?(?:\s+is)?\s*[:#]?\s*([a-z0-9]{2,5}(?:[ -][a-z0-9]{2,4})?)\b",
            ),
            street_named: compiled(
                r"(?i)\b(?:\d{1,6}\s+)?(?:rua|rúa|avenida|avda\.|av\.|calle|carrer|via|viale|piazza|rue|chemin|strada|ulica|ul\.|trg|plaza|praça|largo|travessa|allée|impasse)\s+[\p{L}\p{M}.' -]{2,40}?\s+\d{1,5}[a-z]?\b(?:,?\s+(?:apt|apartment|suite|ste|unit|#)\.?\s*[\w-]+)?",
            ),
            street_suffixed: compiled(
                r"(?i)\b(?:\d{1,6}\s+)?[\p{L}\p{M}-]+(?:strasse|straße|str\.|weg|gasse|platz|allee|damm|katu|gatan|vägen|vej|gade|laan|straat|plein|kade|utca|ulice|cesta)\s+\d{1,5}[a-z]?\b(?:,?\s+(?:apt|apartment|suite|ste|unit|#)\.?\s*[\w-]+)?",
            ),
            // The European order, a house number after the street's name, written with the
            // building's or a postal number before it ("28245 Puruntie 82", "808 Kálmán
            // Imre u. 12."): at most one short word in lower case, and the line, a comma or
            // a unit right after.
            street_numbered: compiled(
                r"(?m)(?-u:\b)(\d{1,6}[ \t]+\p{Lu}[\p{L}\p{M}'-]*\.?(?:[ \t]+\p{Lu}[\p{L}\p{M}'-]*\.?){0,2}(?:[ \t]+\p{Ll}[\p{L}\p{M}'-]{0,5}\.?)?(?:[ \t]+\p{Lu}[\p{L}\p{M}'-]*\.?){0,2}[ \t]+\d{1,5}[a-z]?\.?)(?:[ \t]*(?:$|,)|[ \t]+(?i:apt|apartment|suite|ste)\b)",
            ),
            // "846 31 Rue Al Imam Al Bakri, ...": the building's number, then a street named
            // in the Romance or Slavic way, with no number after it. The regex starts at the
            // street's word, so that its literals lead the search; the number before it is
            // read by `house_number_before`.
            street_named_after_number: compiled(
                r"(?im)\b((?:rua|rúa|avenida|calle|carrer|via|viale|rue|chemin|strada|ulica|ul\.)[ \t]+[\p{L}\p{M}.' -]{2,40}?)[ \t]*(?:$|,)",
            ),
            // "The bus station is on Pod Floriánem 1677": a street's name and number ending
            // a clause after "on" or "at"; group 2, the first word, must not be "Day",
            // "Table" or the like.
            street_after_on: compiled(
                r"[ \t(](?:[Oo]n|[Aa]t)[ \t]+((\p{Lu}[\p{L}\p{M}'-]*)(?:[ \t]+\p{Lu}[\p{L}\p{M}'-]*){0,2}(?:[ \t]+\p{Ll}{1,5}\.?)?[ \t]+\d{1,5}[a-z]?)\.?(?:[ \t]*(?:$|[,;?!])|\.?\s)",
            ),
            // A street named without its number after "on", "at" or "in": "these early
            // shows on Marina Fort Street". Only the commonest suffixes, capitalised.
            street_without_number: compiled(
                r"[ \t(](?:[Oo]n|[Aa]t|[Ii]n)[ \t]+((?:\p{Lu}[\p{L}\p{M}'-]*[ \t]+){1,3}(?:Street|Avenue|Road|Boulevard|Lane|Drive|Terrace|Square|Crescent|Parkway))\b",
            ),
            // An intersection: "the corner of Dalbraut 99 and Frederikke Coves".
            corner: compiled(
                r"(?im)\bcorner[ \t]+of[ \t]+([^\n,;?!]{2,60}?[ \t]+and[ \t]+[^\n,;?!]{2,40}?)(?:[ \t]*(?:$|[,;?!])|\.(?:\s|$))",
            ),
            address: compiled(
                r"(?i)\b\d{1,6}[a-z]?\s+(?:[a-z0-9][\w'.-]*\s+){0,4}(?:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|terrace|ter|circle|cir|parkway|pkwy|highway|hwy|square|sq|trail|trl|alley|crescent|close|gardens|str)\b\.?(?:,?\s+(?:apt|apartment|suite|ste|unit|#)\.?\s*[\w-]+)?",
            ),
            po_box: compiled(
                r"(?i)\b(?:p\.?\s?o\.?\s+box|post\s?box|postfach|apartado|caixa\s+postal)\s+\d+\b",
            ),
            // USPS Publication 28, appendix C2: secondary unit designators ("Unit" alone is
            // left out: "Unit 4" is more often a chapter than a flat).
            secondary_unit: compiled(
                r"\b(?:[Aa]pt\.?|APT\.?|Apartment|Suite|SUITE|Ste\.)\s*#?\s*\d{1,5}[A-Za-z]?\b",
            ),
            // USPS Publication 28, section 225: military addresses (PSC, CMR and unit boxes
            // at APO, FPO or DPO with AA, AE or AP) and ships.
            military: compiled(
                r"\b(?:(?i:(?:PSC|CMR|Unit)\s+\d{3,5},?\s+Box\s+\d{1,5}|(?:APO|FPO|DPO)\s+(?:AA|AE|AP)\s+\d{5})|(?:USNS|USNV|USS|USCGC)\s+\p{Lu}\p{Ll}+)\b",
            ),
            address_continuation: compiled(
                r"^(?:[ \t]*,[ \t]*|[ \t,]*\r?\n(?:[ \t>,]*\r?\n)?[ \t>,]*)(?:((?:\p{Lu}[\p{L}\p{M}'()-]*|de|la|del|nad|u|an|am|of|sur|le)(?:[ -](?:\p{Lu}[\p{L}\p{M}'()-]*|de|la|del|nad|u|an|am|of|sur|le)){0,4}(?:[ \t,]+\d{4,6})?)[ \t]*(?:$|\r?\n|,|\.(?:\s|$))|((?:[A-Z]{2}[ \t]+)?\d{4,6}(?:-\d{4})?)\b|([A-Z]{2})[ \t]*(?:$|\r?\n|,))",
            ),
            city_state: compiled(&format!(
                r"\b((?:[A-Z][a-z]+(?:[ -](?:[A-Z][a-z]+|de|del|la|of))*)),\s+(?:{US_STATES})\b"
            )),
            labelled: LABELLED
                .iter()
                .map(|(kind, pattern)| (*kind, compiled(pattern)))
                .collect(),
        }
    }

    pub fn find(&self, text: &str, out: &mut Vec<PhiSpan>) {
        let mut push = |kind, start, end| out.push(PhiSpan { kind, start, end });
        // Each pattern is a pass over the text; those the text cannot hold are skipped.
        let shape = Shape::of(text);
        let only = |possible: bool| if possible { text } else { "" };
        for m in self.email.find_iter(only(shape.at_sign)) {
            push(PhiKind::Email, m.start(), m.end());
        }
        for m in self.url.find_iter(only(shape.url_start)) {
            let trimmed = m.as_str().trim_end_matches(['.', ',', ';', ':', '!', '?']);
            push(PhiKind::Url, m.start(), m.start() + trimmed.len());
        }
        for m in self.domain.find_iter(only(shape.dot_then_letter)) {
            push(PhiKind::Url, m.start(), m.end());
        }
        for m in self.ipv4.find_iter(only(shape.dotted_digits >= 4)) {
            // Four groups of a longer dotted number ("03.93.92.16.85", a phone) are not an
            // address.
            let longer = text[..m.start()].ends_with('.')
                || text[m.end()..]
                    .strip_prefix('.')
                    .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()));
            if !longer
                && m.as_str()
                    .split('.')
                    .all(|o| o.parse::<u16>().is_ok_and(|n| n <= 255))
            {
                push(PhiKind::IpAddress, m.start(), m.end());
            }
        }
        for m in self.ipv6.find_iter(only(shape.hex_colon)) {
            if m.as_str().matches(':').count() >= 2
                && m.as_str().parse::<Ipv6Addr>().is_ok()
                && m.as_str().chars().any(|c| c.is_ascii_hexdigit())
            {
                push(PhiKind::IpAddress, m.start(), m.end());
            }
        }
        for c in self.ssn.captures_iter(only(shape.digits_run >= 9)) {
            if valid_ssn(&c[1], &c[2], &c[3]) {
                let m = whole(&c);
                push(PhiKind::Ssn, m.0, m.1);
            }
        }
        for c in self.ssn_bare.captures_iter(only(shape.digits_run >= 9)) {
            if let Some(m) = c.get(1) {
                let d = m.as_str();
                if valid_ssn(&d[0..3], &d[3..5], &d[5..9]) {
                    push(PhiKind::Ssn, m.start(), m.end());
                }
            }
        }
        for m in self.card.find_iter(only(shape.digits_run >= 12)) {
            let digits: Vec<u8> = m.as_str().bytes().filter(u8::is_ascii_digit).collect();
            // Maestro numbers run from 12 digits; at 12 a passing checksum is too common
            // by chance (one in ten), so those need the word "card" or "cc" before them.
            let length_ok = (13..=19).contains(&digits.len())
                || (digits.len() == 12 && after_card_word(text, m.start()));
            if length_ok && luhn(&digits) {
                push(PhiKind::CreditCard, m.start(), m.end());
            }
        }
        let ibans = self.iban.find_iter(only(shape.letters_then_digits)).chain(
            self.iban_lower
                .find_iter(only(shape.lower_letters_then_digits)),
        );
        for m in ibans {
            if valid_iban(m.as_str()) {
                push(PhiKind::Account, m.start(), m.end());
            }
        }
        for c in self
            .numeric_date
            .captures_iter(only(shape.dotted_digits >= 3))
        {
            let (day_month, year_first) = (c.get(1).is_some(), c.get(4).is_some());
            let ok = if day_month {
                let (a, b) = (number(&c, 1), number(&c, 2));
                // Either order: 7/30/1964 or 30.7.1964.
                (1..=12).contains(&a) && (1..=31).contains(&b)
                    || (1..=31).contains(&a) && (1..=12).contains(&b)
            } else if year_first {
                (1..=12).contains(&number(&c, 5)) && (1..=31).contains(&number(&c, 6))
            } else {
                false
            };
            if ok {
                let m = whole(&c);
                push(PhiKind::Date, m.0, m.1);
            }
        }
        for m in self.month_date.find_iter(only(shape.digits >= 1)) {
            // A month with neither day nor year ("may") is a word, not a date.
            if m.as_str().bytes().any(|b| b.is_ascii_digit()) {
                push(PhiKind::Date, m.start(), m.end());
            }
        }
        for c in self.weekday.captures_iter(text) {
            if c.get(1).is_none() && c.get(2).is_none() {
                let m = whole(&c);
                push(PhiKind::Date, m.0, m.1);
            }
        }
        for c in self.age.captures_iter(only(shape.digits_run >= 2)) {
            // Safe Harbor (C): only ages over 89 are identifiers.
            let years = c.get(1).or_else(|| c.get(2));
            if let Some(y) = years
                && y.as_str()
                    .parse::<u16>()
                    .is_ok_and(|n| (90..=130).contains(&n))
            {
                let m = whole(&c);
                push(PhiKind::Age, m.0, m.1);
            }
        }
        for c in self.zip.captures_iter(only(shape.letters_then_digits)) {
            if let Some(m) = c.get(1) {
                push(PhiKind::ZipCode, m.start(), m.end());
            }
        }
        for c in self.zip_labelled.captures_iter(only(shape.digits >= 1)) {
            if let Some(m) = c.get(1)
                && m.as_str().bytes().any(|b| b.is_ascii_digit())
            {
                push(PhiKind::ZipCode, m.start(), m.end());
            }
        }
        for pattern in [&self.address, &self.street_named, &self.street_suffixed] {
            for m in pattern.find_iter(only(shape.digits >= 1)) {
                push(PhiKind::StreetAddress, m.start(), m.end());
            }
        }
        for c in self
            .street_named_after_number
            .captures_iter(only(shape.digits >= 1))
        {
            if let Some(m) = c.get(1)
                && let Some(start) = house_number_before(text, m.start())
            {
                push(PhiKind::StreetAddress, start, m.end());
            }
        }
        for c in self.street_after_on.captures_iter(only(shape.digits >= 1)) {
            if let (Some(m), Some(first)) = (c.get(1), c.get(2)) {
                let first = first.as_str().to_lowercase();
                if NOT_PLACES.binary_search(&first.as_str()).is_err()
                    && NOT_STREETS.binary_search(&first.as_str()).is_err()
                {
                    push(PhiKind::StreetAddress, m.start(), m.end());
                }
            }
        }
        for c in self.street_without_number.captures_iter(text) {
            if let Some(m) = c.get(1) {
                push(PhiKind::StreetAddress, m.start(), m.end());
            }
        }
        let corner = if text.contains("orner") || text.contains("ORNER") {
            text
        } else {
            ""
        };
        for c in self.corner.captures_iter(corner) {
            // Two streets, not "the corner of the room and the window": a digit or a
            // capital in them.
            if let Some(m) = c.get(1)
                && m.as_str()
                    .chars()
                    .any(|ch| ch.is_ascii_digit() || ch.is_uppercase())
            {
                push(PhiKind::StreetAddress, m.start(), m.end());
            }
        }
        // Most texts have no number followed by a capitalised word: the scan is skipped.
        let numbered = if number_before_capital(text) {
            text
        } else {
            ""
        };
        for c in self.street_numbered.captures_iter(numbered) {
            if let Some(m) = c.get(1) {
                push(PhiKind::StreetAddress, m.start(), m.end());
            }
        }
        for pattern in [&self.po_box, &self.secondary_unit] {
            for m in pattern.find_iter(only(shape.digits >= 1)) {
                push(PhiKind::StreetAddress, m.start(), m.end());
            }
        }
        for m in self.military.find_iter(text) {
            push(PhiKind::StreetAddress, m.start(), m.end());
        }
        for c in self.city_state.captures_iter(text) {
            if let Some(m) = c.get(1) {
                push(PhiKind::Location, m.start(), m.end());
            }
        }
        // Fewer than seven digits make no phone number (`plausible_phone`).
        for m in self.phone.find_iter(only(shape.digits >= 7)) {
            if plausible_phone(text, m.start(), m.as_str()) {
                push(PhiKind::Phone, m.start(), m.end());
            }
        }
        for (kind, pattern) in &self.labelled {
            for c in pattern.captures_iter(only(shape.digits >= 1)) {
                if let Some(m) = c.get(1)
                    && m.as_str().bytes().any(|b| b.is_ascii_digit())
                {
                    push(*kind, m.start(), m.end());
                }
            }
        }
    }
}

/// What the patterns need, read in one pass over the bytes: most text holds none of it
/// (no digit, no `@`, no web address), and the scans it cannot match are skipped. Each
/// gate is a condition every match of its pattern, or every match that is kept, meets.
#[derive(Default)]
struct Shape {
    /// ASCII digits in the whole text. Numbers in another script's digits ("٤٥") are not
    /// read as identifiers: the checks after the scans (Luhn, mod 97, SSN ranges, phone
    /// and date plausibility) counted ASCII digits already.
    digits: usize,
    /// An `@` (e-mail).
    at_sign: bool,
    /// "://" or "www." in any case (URL).
    url_start: bool,
    /// A full stop right before a letter (domain name).
    dot_then_letter: bool,
    /// The most digits in one run where single spaces or hyphens may separate them (card,
    /// SSN).
    digits_run: usize,
    /// The most digit groups joined by `.`, `/` or `-` ("7.2" is 2, "10.0.0.1" is 4).
    dotted_digits: usize,
    /// A colon with a hexadecimal digit or another colon on each side (IPv6).
    hex_colon: bool,
    /// Two capital letters right before a digit, or before white space and a digit (IBAN, a
    /// state and its ZIP code).
    letters_then_digits: bool,
    /// Two lower-case letters right before two digits (an IBAN in lower case).
    lower_letters_then_digits: bool,
}

impl Shape {
    fn of(text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut shape = Shape::default();
        let (mut run, mut groups) = (0, 0);
        for (i, &b) in bytes.iter().enumerate() {
            let prev = i.checked_sub(1).map(|p| bytes[p]);
            let next = bytes.get(i + 1).copied();
            if b.is_ascii_digit() {
                shape.digits += 1;
                run += 1;
                if !prev.is_some_and(|p| p.is_ascii_digit()) {
                    groups += 1;
                }
            } else if (b == b' ' || b == b'-')
                && prev.is_some_and(|p| p.is_ascii_digit())
                && next.is_some_and(|n| n.is_ascii_digit())
            {
                // A separator inside a run of digits.
            } else {
                run = 0;
            }
            if !(b.is_ascii_digit()
                || (matches!(b, b'.' | b'/' | b'-')
                    && prev.is_some_and(|p| p.is_ascii_digit())
                    && next.is_some_and(|n| n.is_ascii_digit())))
            {
                groups = 0;
            }
            shape.digits_run = shape.digits_run.max(run);
            shape.dotted_digits = shape.dotted_digits.max(groups);
            if b == b':'
                && prev.is_some_and(|p| p == b':' || p.is_ascii_hexdigit())
                && next.is_some_and(|n| n == b':' || n.is_ascii_hexdigit())
            {
                shape.hex_colon = true;
            }
            match b {
                b'@' => shape.at_sign = true,
                b'.' => {
                    shape.dot_then_letter |= next.is_some_and(|n| n.is_ascii_alphabetic());
                    shape.url_start |= i >= 3 && bytes[i - 3..i].eq_ignore_ascii_case(b"www");
                }
                b':' if bytes.get(i + 1..i + 3) == Some(b"//") => shape.url_start = true,
                _ => {}
            }
            if b.is_ascii_lowercase()
                && prev.is_some_and(|p| p.is_ascii_lowercase())
                && next.is_some_and(|n| n.is_ascii_digit())
                && bytes.get(i + 2).is_some_and(u8::is_ascii_digit)
            {
                shape.lower_letters_then_digits = true;
            }
            if b.is_ascii_uppercase() && prev.is_some_and(|p| p.is_ascii_uppercase()) {
                let after = bytes[i + 1..].iter().find(|c| !c.is_ascii_whitespace());
                if after.is_some_and(u8::is_ascii_digit) {
                    shape.letters_then_digits = true;
                }
            }
        }
        shape
    }
}

/// Where the house number (and a second, the building's) right before `at` starts: "846 31
/// " before "Rue Al Imam".
fn house_number_before(text: &str, at: usize) -> Option<usize> {
    let before = text[..at].trim_end_matches([' ', '\t']);
    if before.len() == at {
        return None;
    }
    let mut start = None;
    let mut rest = before;
    for _ in 0..2 {
        let digits = rest.len() - rest.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        if !(1..=6).contains(&digits) {
            break;
        }
        let number_start = rest.len() - digits;
        if rest[..number_start]
            .chars()
            .next_back()
            .is_some_and(char::is_alphanumeric)
        {
            break;
        }
        start = Some(number_start);
        rest = rest[..number_start].trim_end_matches([' ', '\t']);
    }
    start
}

/// A digit, then spaces or tabs, then a capital letter (or any letter beyond ASCII): what
/// a numbered street starts with.
fn number_before_capital(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.windows(3).enumerate().any(|(i, w)| {
        w[0].is_ascii_digit() && (w[1] == b' ' || w[1] == b'\t') && {
            let next = bytes[i + 1..]
                .iter()
                .find(|b| **b != b' ' && **b != b'\t')
                .copied()
                .unwrap_or(b' ');
            next.is_ascii_uppercase() || next >= 0xC0
        }
    })
}

/// "card", "cc" or "card #" in the few words before `start`.
fn after_card_word(text: &str, start: usize) -> bool {
    let mut from = start.saturating_sub(32);
    while !text.is_char_boundary(from) {
        from += 1;
    }
    let before = text[from..start].to_lowercase();
    before
        .split(|c: char| !c.is_alphanumeric())
        .any(|w| w == "card" || w == "cc")
}

fn whole(c: &Captures<'_>) -> (usize, usize) {
    c.get(0).map_or((0, 0), |m| (m.start(), m.end()))
}

fn number(c: &Captures<'_>, group: usize) -> u32 {
    c.get(group)
        .and_then(|m| m.as_str().parse().ok())
        .unwrap_or(0)
}

/// The Social Security Administration never issues area 000, 666 or 900–999, group 00 or
/// serial 0000 (SSA, "Social Security Number Randomization", 2011).
fn valid_ssn(area: &str, group: &str, serial: &str) -> bool {
    let area: u16 = area.parse().unwrap_or(0);
    area != 0 && area != 666 && area < 900 && group != "00" && serial != "0000"
}

/// The Luhn check (ISO/IEC 7812-1) over ASCII digits.
fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(d - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// ISO 13616 IBAN check: the first four characters moved to the end, letters as 10–35,
/// the number mod 97 is 1.
fn valid_iban(text: &str) -> bool {
    let compact: Vec<u8> = text.bytes().filter(|b| *b != b' ').collect();
    if !(15..=34).contains(&compact.len()) {
        return false;
    }
    let (head, tail) = compact.split_at(4);
    let mut remainder: u32 = 0;
    for &b in tail.iter().chain(head) {
        let value = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A'..=b'Z' => u32::from(b - b'A') + 10,
            b'a'..=b'z' => u32::from(b - b'a') + 10,
            _ => return false,
        };
        let digits = if value >= 10 { 100 } else { 10 };
        remainder = (remainder * digits + value) % 97;
    }
    remainder == 1
}

/// A run of digits and separators is a phone number when it has 7–15 digits, is not a
/// decimal or a range, and either looks like one (a leading + or 00, brackets, or at least
/// two separated groups) or is introduced by a phone word.
fn plausible_phone(text: &str, start: usize, candidate: &str) -> bool {
    let digits = candidate.bytes().filter(u8::is_ascii_digit).count();
    if !(7..=15).contains(&digits) {
        return false;
    }
    let opens = candidate.matches('(').count();
    if opens != candidate.matches(')').count() || opens > 1 {
        return false;
    }
    let groups = candidate
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .count();
    // The SSN's 3-2-4 shape is not a phone number anywhere, valid SSN or not.
    let shape: Vec<usize> = candidate
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .map(str::len)
        .collect();
    if shape == [3, 2, 4] {
        return false;
    }
    let international = candidate.starts_with('+') || candidate.starts_with("00");
    let dots = candidate.matches('.').count();
    if dots == 1 && groups == 2 {
        return false;
    }
    let before = &text[..start];
    let window = before
        .char_indices()
        .rev()
        .nth(24)
        .map_or(before, |(i, _)| &before[i..])
        .to_ascii_lowercase();
    let cued = [
        "phone", "tel", "fax", "call", "mobile", "cell", "contact", "number",
    ]
    .iter()
    .any(|w| window.contains(w));
    international || opens == 1 || (2..=6).contains(&groups) || cued
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_are_the_published_ones() {
        assert!(luhn(b"4111111111111111"));
        assert!(!luhn(b"4111111111111112"));
        assert!(valid_iban("GB82WEST12345698765432"));
        assert!(valid_iban("GB82 WEST 1234 5698 7654 32"));
        assert!(!valid_iban("GB83WEST12345698765432"));
        assert!(valid_iban("gb82west12345698765432"));
        assert!(valid_ssn("123", "45", "6789"));
        for (a, g, s) in [
            ("000", "12", "3456"),
            ("666", "12", "3456"),
            ("900", "12", "3456"),
            ("123", "00", "4567"),
            ("123", "45", "0000"),
        ] {
            assert!(!valid_ssn(a, g, s), "{a}-{g}-{s}");
        }
    }
}
