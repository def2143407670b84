use super::*;
use crate::catalog::Catalog;

pub(crate) fn detector() -> PhiDetector {
    crate::evaluation::phi_detector(&Catalog::load(None, None).expect("catalog")).expect("lists")
}

fn found(text: &str) -> Vec<(PhiKind, &str)> {
    detector()
        .detect(text)
        .into_iter()
        .map(|s| (s.kind, &text[s.start..s.end]))
        .collect()
}

#[test]
fn each_identifier_is_found_with_its_exact_span() {
    let cases: &[(&str, PhiKind, &str)] = &[
        (
            "write to ada.l@example.org today",
            PhiKind::Email,
            "ada.l@example.org",
        ),
        (
            "see https://clinic.example.com/p?id=4.",
            PhiKind::Url,
            "https://clinic.example.com/p?id=4",
        ),
        (
            "portal at www.HowDangerous.be for more",
            PhiKind::Url,
            "www.HowDangerous.be",
        ),
        (
            "from 192.168.10.254 at night",
            PhiKind::IpAddress,
            "192.168.10.254",
        ),
        (
            "host 2001:db8::8a2e:370:7334 logged",
            PhiKind::IpAddress,
            "2001:db8::8a2e:370:7334",
        ),
        ("SSN 123-45-6789 on file", PhiKind::Ssn, "123-45-6789"),
        (
            "social security number: 123456789",
            PhiKind::Ssn,
            "123456789",
        ),
        (
            "card 4111 1111 1111 1111 expired",
            PhiKind::CreditCard,
            "4111 1111 1111 1111",
        ),
        (
            "IBAN GB82WEST12345698765432 please",
            PhiKind::Account,
            "GB82WEST12345698765432",
        ),
        (
            "my iban is gb82west12345698765432",
            PhiKind::Account,
            "gb82west12345698765432",
        ),
        ("call (602)272-9781 now", PhiKind::Phone, "(602)272-9781"),
        (
            "mobile +44 7700 921 916",
            PhiKind::Phone,
            "+44 7700 921 916",
        ),
        ("born 7/30/1964 in", PhiKind::Date, "7/30/1964"),
        (
            "seen 1992-11-12 07:04:41 by",
            PhiKind::Date,
            "1992-11-12 07:04:41",
        ),
        (
            "admitted on March 3, 2021 with",
            PhiKind::Date,
            "March 3, 2021",
        ),
        (
            "admitted on 3rd of March 2021 with",
            PhiKind::Date,
            "3rd of March 2021",
        ),
        ("a 93-year-old woman", PhiKind::Age, "93-year-old"),
        ("lives in Austin, TX 78701 alone", PhiKind::ZipCode, "78701"),
        (
            "moved to San Luis Obispo, CA last year",
            PhiKind::Location,
            "San Luis Obispo",
        ),
        (
            "lives at 1600 Pennsylvania Avenue NW, Apt 4 with",
            PhiKind::StreetAddress,
            "1600 Pennsylvania Avenue",
        ),
        ("MRN: A1234567 admitted", PhiKind::MedicalRecord, "A1234567"),
        (
            "member ID XJH4455621 covers",
            PhiKind::HealthPlan,
            "XJH4455621",
        ),
        (
            "account number 00123456789 was",
            PhiKind::Account,
            "00123456789",
        ),
        (
            "driver's license F162823540116 was",
            PhiKind::Licence,
            "F162823540116",
        ),
        (
            "VIN 1HGCM82633A004352 registered",
            PhiKind::Vehicle,
            "1HGCM82633A004352",
        ),
        (
            "pacemaker serial PM-99812345 implanted",
            PhiKind::Device,
            "PM-99812345",
        ),
        (
            "fingerprint template FP-7781-2231 stored",
            PhiKind::Biometric,
            "FP-7781-2231",
        ),
        ("Dr. Okonkwo reviewed the film", PhiKind::Name, "Okonkwo"),
        (
            "Seen with Maria Gonzalez yesterday",
            PhiKind::Name,
            "Maria Gonzalez",
        ),
        ("Hello, my name is pamela and", PhiKind::Name, "pamela"),
        (
            "Referred by Ken N. Fukuda to",
            PhiKind::Name,
            "Ken N. Fukuda",
        ),
        (
            "Signed: Giovanna Rodrigues MD",
            PhiKind::Name,
            "Giovanna Rodrigues MD",
        ),
        ("Listed as Smith, John in", PhiKind::Name, "Smith, John"),
    ];
    let detector = detector();
    for (text, kind, expected) in cases {
        let spans = detector.detect(text);
        assert!(
            spans
                .iter()
                .any(|s| s.kind == *kind && &text[s.start..s.end] == *expected),
            "{text:?}: wanted {kind:?} {expected:?}, got {:?}",
            spans
                .iter()
                .map(|s| (s.kind, &text[s.start..s.end]))
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn an_address_over_several_lines_is_one_identifier() {
    let cases: &[(&str, &str)] = &[
        (
            "Meet me at 5100 Quadra 104\n Suite 845\n Evionnaz\n Switzerland 05377",
            "5100 Quadra 104\n Suite 845\n Evionnaz\n Switzerland 05377",
        ),
        (
            "Send it to 1317 Kimberly Way\n Apt. 962\n Grand Rapids, MI 21959 please",
            "1317 Kimberly Way\n Apt. 962\n Grand Rapids, MI 21959",
        ),
        (
            "sent to PSC 7951, Box 9972\nAPO AA 69974?",
            "PSC 7951, Box 9972\nAPO AA 69974",
        ),
        (
            "it is USNV Vincent\nFPO AA 68422",
            "USNV Vincent\nFPO AA 68422",
        ),
        ("Write to Postbox 53, Reykjavik.", "Postbox 53, Reykjavik"),
    ];
    for (text, expected) in cases {
        let addresses: Vec<&str> = found(text)
            .into_iter()
            .filter(|(k, _)| *k == PhiKind::StreetAddress)
            .map(|(_, t)| t)
            .collect();
        assert_eq!(addresses, [*expected], "{text:?}: {:?}", found(text));
    }
    // The block ends where the address does: prose, and a name on the next line, stay out.
    let text = "I live at 12 Main Street, Boston. Unit 4 of the course starts Monday.";
    assert_eq!(
        found(text)
            .into_iter()
            .filter(|(k, _)| *k == PhiKind::StreetAddress)
            .collect::<Vec<_>>(),
        [(PhiKind::StreetAddress, "12 Main Street, Boston")]
    );
    let text = "John Smith\n12 Main Street\nDolores\nUruguay";
    let spans = found(text);
    assert_eq!(
        spans,
        [
            (PhiKind::Name, "John Smith"),
            (PhiKind::StreetAddress, "12 Main Street\nDolores\nUruguay")
        ]
    );
    let text = "I live at 12 Main Street. John Smith lives next door.";
    let spans = found(text);
    assert!(spans.contains(&(PhiKind::Name, "John Smith")), "{spans:?}");
}

/// Scans are skipped when a text lacks what their pattern needs (a digit, seven digits, an
/// `@`, "www."…): the smallest text each one matches still gets its scan.
#[test]
fn skipped_scans_still_find_their_smallest_matches() {
    let cases: &[(&str, PhiKind, &str)] = &[
        (
            "visit WWW.9clinic.example now",
            PhiKind::Url,
            "WWW.9clinic.example",
        ),
        ("write to a@b.io", PhiKind::Email, "a@b.io"),
        ("she is aged 93", PhiKind::Age, "aged 93"),
        ("ssn 078051120", PhiKind::Ssn, "078051120"),
        ("phone: 5550134", PhiKind::Phone, "5550134"),
        ("March 3", PhiKind::Date, "March 3"),
        ("zip code 02139", PhiKind::ZipCode, "02139"),
        ("4 Elm St", PhiKind::StreetAddress, "4 Elm St"),
        (
            "Unit 4521, Box 88",
            PhiKind::StreetAddress,
            "Unit 4521, Box 88",
        ),
    ];
    for (text, kind, expected) in cases {
        assert_eq!(of_kind(text, *kind), [*expected], "{text:?}");
    }
}

#[test]
fn look_alikes_are_left_alone() {
    for text in [
        "Give 40 mg of furosemide twice daily; recheck potassium in 3 days.",
        "Blood pressure 120/80, pulse 72, temperature 37.2 C, SpO2 98%.",
        "Card 4111 1111 1111 1112 fails the Luhn check.",
        "SSN 000-12-3456 and 666-12-3456 are never issued.",
        "A 45-year-old man with chest pain since this morning.",
        "Will you review the results? May I call back? Hope so.",
        "Stage 3 chronic kidney disease, eGFR 45 mL/min/1.73 m2.",
        "The trial enrolled 1,204 patients across 3.5 years.",
        "Version 10.2.1 of the guideline, published 2019.",
    ] {
        assert_eq!(found(text), Vec::new(), "{text}");
    }
}

#[test]
fn overlaps_keep_the_more_specific_kind() {
    let text = "Email john.smith@example.com or visit example.com";
    let kinds: Vec<PhiKind> = found(text).into_iter().map(|(k, _)| k).collect();
    assert_eq!(kinds, vec![PhiKind::Email, PhiKind::Url]);
}

#[test]
fn redaction_leaves_no_identifier_behind() {
    let detector = detector();
    let text = "Patient Maria Gonzalez (MRN: A1234567), DOB 7/30/1964, phone (602)272-9781, \
                e-mail maria.g@example.org, SSN 123-45-6789, lives at 12 Elm Street, Austin, TX 78701.";
    let spans = detector.detect(text);
    for mode in [
        RedactionMode::Replace,
        RedactionMode::Mask,
        RedactionMode::Hash,
    ] {
        let redacted = redact(text, &spans, mode, b"tenant key");
        for secret in [
            "Maria",
            "Gonzalez",
            "A1234567",
            "7/30/1964",
            "272-9781",
            "maria.g@example.org",
            "123-45-6789",
            "12 Elm Street",
            "78701",
            "Austin",
        ] {
            assert!(
                !redacted.contains(secret),
                "{mode:?} left {secret}: {redacted}"
            );
        }
        // What is left is no identifier, except in the hashes' brackets.
        let left: Vec<&str> = detector
            .detect(&redacted)
            .into_iter()
            .map(|s| &redacted[s.start..s.end])
            .collect();
        assert!(left.is_empty(), "{mode:?} left {left:?} in {redacted}");
    }
    let replaced = redact(text, &spans, RedactionMode::Replace, b"");
    assert!(replaced.contains("[MEDICAL_RECORD]"), "{replaced}");
    // Hashing is stable per tenant key and differs between keys.
    let one = redact(
        "SSN 123-45-6789",
        &detector.detect("SSN 123-45-6789"),
        RedactionMode::Hash,
        b"a",
    );
    let again = redact(
        "SSN 123-45-6789",
        &detector.detect("SSN 123-45-6789"),
        RedactionMode::Hash,
        b"a",
    );
    let other = redact(
        "SSN 123-45-6789",
        &detector.detect("SSN 123-45-6789"),
        RedactionMode::Hash,
        b"b",
    );
    assert_eq!(one, again);
    assert_ne!(one, other);
}

#[test]
fn hostile_text_never_panics() {
    let detector = detector();
    let mut texts = vec![
        String::new(),
        "é".repeat(5_000),
        "1".repeat(10_000),
        "Dr.".repeat(2_000),
        "(((((((((((1".into(),
        "Ω 4111-1111-1111-1111 ß".into(),
        // Capitals whose lower case is longer, possessives at the very end, a speaker with
        // nothing after the colon, cues and numbers with nothing after them.
        "İSTANBUL İZMİR CALL PATRICIA DESROSIERS".into(),
        "Maria's ’s 's A's".into(),
        "Vinka:".into(),
        "Vinka: ".into(),
        format!("{} and", "corner of ".repeat(500)),
        format!("{}Rue X", "1 ".repeat(3_000)),
        "grew up in".into(),
        "on Pod 1".into(),
        // Particles, naming cues and a record's label with nothing after them.
        "Anneke van der".into(),
        "van van van".into(),
        "my name is".into(),
        "call me".into(),
        "name:".into(),
        "name:\u{2003}ß".into(),
        format!("{}Zaurbek", "Zaurbek ".repeat(3_000)),
    ];
    texts.push(
        (0..3_000)
            .map(|i| char::from_u32(i * 7 % 0x2FFF + 32).unwrap_or(' '))
            .collect(),
    );
    for text in texts {
        for span in detector.detect(&text) {
            assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end));
            assert!(span.start < span.end && span.end <= text.len());
        }
    }
}

/// The spans of one kind found in `text`.
fn of_kind(text: &str, kind: PhiKind) -> Vec<&str> {
    found(text)
        .into_iter()
        .filter(|(k, _)| *k == kind)
        .map(|(_, t)| t)
        .collect()
}

#[test]
fn names_from_many_countries_are_found_by_their_shape_and_company() {
    let cases: &[(&str, &[&str])] = &[
        // A given name of another country, and an unlisted family name after it.
        (
            "Krisztián Szöllösy listed his top songs.",
            &["Krisztián Szöllösy"],
        ),
        // Around a middle initial, listed or not.
        (
            "verses from Faina D. Yefremova today",
            &["Faina D. Yefremova"],
        ),
        // Before a listed family name.
        ("Tilly Nicholson will be talking", &["Tilly Nicholson"]),
        // Family names listed together, one of them listed.
        (
            "our founders: Usamov, Becker and Vasquez.",
            &["Usamov", "Becker", "Vasquez"],
        ),
        // Before a verb of speech.
        ("Enrico shouted at him", &["Enrico"]),
        ("\"Quite so,\" says Hartvigsson.", &["Hartvigsson"]),
        // A line of its own above a person's details.
        ("Oline Mikaelsen\n> Roadify Transit", &["Oline Mikaelsen"]),
        // A text all in lower case, and one all in capitals.
        (
            "follow up with patricia desrosiers soon",
            &["patricia desrosiers"],
        ),
        ("CALL PATRICIA DESROSIERS TODAY", &["PATRICIA DESROSIERS"]),
        // After a title, the name stops before the flat.
        ("Mrs. Barbara Yudina Apt. 675", &["Barbara Yudina"]),
        // Two words no list holds and no dictionary either.
        (
            "Zaurbek Maskhadov will open the meeting.",
            &["Zaurbek Maskhadov"],
        ),
        // Listed together with a name that is no everyday word, everyday names too.
        (
            "Brown and Kowalczyk were partners.",
            &["Brown", "Kowalczyk"],
        ),
        // A person naming themselves, in lower case and unlisted.
        ("my name is ilvana", &["ilvana"]),
        ("most people call me dragoslav now", &["dragoslav"]),
        ("name:   tomoko k. hirase", &["tomoko k. hirase"]),
        // In lower case: after a title, and a listed given name before an unlisted one.
        ("mr. pellegrini arrived late", &["pellegrini"]),
        ("olga vrabcova sent the forms", &["olga vrabcova"]),
        // Particles between the given and the family name.
        ("Anneke ter Horst will chair it.", &["Anneke ter Horst"]),
        ("Lotte van der Wiel signed.", &["Lotte van der Wiel"]),
    ];
    for (text, names) in cases {
        assert_eq!(of_kind(text, PhiKind::Name), *names, "{text:?}");
    }
}

#[test]
fn firms_streets_countries_and_titles_are_not_people() {
    for text in [
        "I work for Aunt Bertha Inc now.",
        "She spent a year at Jones, Mitchell and Williams as an assistant.",
        "The Davis, Reynolds and Williamson Orchestra was founded in 1977.",
        "at the corner of Dalbraut and Mathias Pass",
        "I will be travelling to France next week.",
        "He listed his songs for Entertainment Weekly.",
        "Capitalized words like Wisdom and Discipline are not names.",
        "The Princess Royal arrived this morning.",
        "CAN I SPEAK TO A REAL PERSON?",
        // Two unknown words after a flat's number are its town; after "for", a firm.
        "Suite 808\nKoilani Pitsilia\nCyprus 4711",
        "I applied for Zentrix Halvard last year.",
        // Romance particles after an unlisted word make a place.
        "We drove to Chiclana de la Frontera.",
        // Words of this century, and what follows "call me" that is no name.
        "Buy from Online Marketplaces with a Free Download.",
        "please call me asap",
        "Black and White photos are timeless.",
        // Three family names filling a line of a letterhead: a firm.
        "Hale, Okafor and Brandt\n4 Mill Lane",
    ] {
        assert_eq!(of_kind(text, PhiKind::Name), Vec::<&str>::new(), "{text:?}");
    }
}

#[test]
fn places_are_found_after_their_cues_but_not_countries_or_months() {
    let cases: &[(&str, &[&str])] = &[
        ("a man who grew up in Remniku.", &["Remniku"]),
        (
            "Ms. Jones flew to Bessastaðahreppur on Saturday.",
            &["Bessastaðahreppur"],
        ),
        (
            "the economy of her home city Villafranca del Cid: tourism",
            &["Villafranca del Cid"],
        ),
        (
            "The Princess Royal arrived at Ettelgem this morning.",
            &["Ettelgem"],
        ),
        // After its cue, a place that reads as a name is a place.
        ("we returned to Feliciano by helicopter", &["Feliciano"]),
        ("a man who grew up in Shelly Park.", &["Shelly Park"]),
        ("I moved here from Estonia in March.", &[]),
        ("Seen in Cardiology in January.", &[]),
        ("Admitted to the ICU in COPD exacerbation.", &[]),
    ];
    for (text, places) in cases {
        assert_eq!(of_kind(text, PhiKind::Location), *places, "{text:?}");
    }
}

#[test]
fn european_street_addresses_and_other_numbers_are_read_by_their_form() {
    assert_eq!(
        of_kind(
            "Billing address: 28245 Puruntie 82 Apt. 595",
            PhiKind::StreetAddress
        ),
        ["28245 Puruntie 82 Apt. 595"]
    );
    assert_eq!(
        of_kind(
            "his address: 808 Kálmán Imre u. 12., Budapest",
            PhiKind::StreetAddress
        ),
        ["808 Kálmán Imre u. 12., Budapest"]
    );
    for (text, street) in [
        (
            "The bus station is on Pod Floriánem 1677",
            "Pod Floriánem 1677",
        ),
        (
            "these early shows on Marina Fort Street were important",
            "Marina Fort Street",
        ),
        (
            "it is the corner of Dalbraut 99 and Frederikke Coves",
            "Dalbraut 99 and Frederikke Coves",
        ),
        (
            "She lives at 846 31 Rue Al Imam Al Bakri, Cite Merzgui",
            "846 31 Rue Al Imam Al Bakri, Cite Merzgui",
        ),
        (
            "lives at 28919 136 Filadelfeos Str.",
            "28919 136 Filadelfeos Str.",
        ),
        (
            "address: unit 4526 box 0671\ndpo ap 40902",
            "unit 4526 box 0671\ndpo ap 40902",
        ),
    ] {
        assert_eq!(of_kind(text, PhiKind::StreetAddress), [street], "{text:?}");
    }
    for text in [
        "Reassess on Day 5, then at Week 12.",
        "It hurts in the corner of the room and the window.",
    ] {
        assert!(of_kind(text, PhiKind::StreetAddress).is_empty(), "{text:?}");
    }
    // A 12-digit Maestro number is a card only after the word "card".
    assert_eq!(
        of_kind("the limit for card 501864667909?", PhiKind::CreditCard),
        ["501864667909"]
    );
    assert!(of_kind("reference 501864667909", PhiKind::CreditCard).is_empty());
    // "number is" introduces a labelled number too.
    assert_eq!(
        of_kind(
            "My driver's license number is F162823540116",
            PhiKind::Licence
        ),
        ["F162823540116"]
    );
    // A dotted phone number is not an IP address; an extension belongs to its number.
    assert_eq!(
        found("Mobile: 03.93.92.16.85"),
        [(PhiKind::Phone, "03.93.92.16.85")]
    );
    assert_eq!(
        found("Fax: 345-899-3560x4587"),
        [(PhiKind::Phone, "345-899-3560x4587")]
    );
    // The day of an event is a date; a schedule is not.
    assert_eq!(
        of_kind("He flew out on Tuesday morning.", PhiKind::Date),
        ["Tuesday"]
    );
    assert!(
        of_kind(
            "Take one tablet every Monday; no doses on Sundays.",
            PhiKind::Date
        )
        .is_empty()
    );
}
