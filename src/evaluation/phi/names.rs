//! Person names (Safe Harbor (A)) and places (B) without a language model. A name is a
//! capitalised given name from the lists, with the capitalised words after it; any
//! capitalised words after a title (Dr, Mrs…) or a cue ("my name is", "patient", "Dear");
//! two capitalised words around a middle initial ("Faina D. Yefremova"), or two that no
//! list or dictionary holds ("Zaurbek Maskhadov"); a given name before particles ("Lotte
//! van der Wiel"); family names listed together ("Marrero and Murphy were"); and a lone
//! name after the strongest cues or a person naming themselves, even in lower case. Words
//! that are names and common English words ("Will", "May", "Hope") start a name only after
//! a cue; capitalised words before a company's word ("Bertha Inc") are not a person. A
//! place is a listed city or town, or capitalised words after a place cue ("grew up in
//! Remniku") that are not a name, a country or a state.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::LazyLock;

use foldhash::fast::RandomState;

use super::vocabulary::{
    COMMON_WORDS, COUNTRIES_AND_STATES, CUES, FIRM_CONTEXT, GERMANIC_PARTICLES, NAMING_CUES,
    NOT_PLACES, ORGANISATION_CONTEXT, ORGANISATION_WORDS, PARTICLES, PLACE_CUES, SPEECH_VERBS,
    STREET_SUFFIXES, STRONG_CUES, SUFFIXES, TITLES,
};
use super::{PhiKind, PhiSpan};

/// The name, place and everyday-word lists, lower-case.
pub struct NameLists {
    given: Words,
    family: Words,
    places: Words,
    everyday: Words,
}

type Words = HashSet<String, RandomState>;

/// One lower-case entry per line, `#` comments skipped.
fn entries(text: &str) -> Words {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_lowercase)
        .collect()
}

impl NameLists {
    /// Reads the lists (one name per line, `#` comments), as shipped under `tools/phi/`.
    pub fn parse(given: &str, family: &str) -> Result<Self, String> {
        let lists = Self {
            given: entries(given),
            family: entries(family),
            places: Words::default(),
            everyday: Words::default(),
        };
        if lists.given.len() < 100 || lists.family.len() < 100 {
            return Err("the name lists hold fewer than 100 names each".into());
        }
        Ok(lists)
    }

    /// Adds the place names (cities and towns, one per line) the detector recognises.
    pub fn with_places(mut self, places: &str) -> Self {
        self.places = entries(places);
        self
    }

    /// Adds the everyday words (one per line) that a capitalised word may be without being
    /// a name.
    pub fn with_everyday_words(mut self, words: &str) -> Self {
        self.everyday = entries(words);
        self
    }

    /// An everyday word, or the plural of one ("Abstracts", "Lines").
    fn is_everyday(&self, word: &str) -> bool {
        self.everyday.contains(word)
            || word
                .strip_suffix('s')
                .is_some_and(|stem| self.everyday.contains(stem))
    }

    fn is_given(&self, word: &str) -> bool {
        self.given.contains(word)
    }

    fn is_family(&self, word: &str) -> bool {
        self.family.contains(word)
    }
}

pub struct Word<'t> {
    start: usize,
    end: usize,
    text: &'t str,
    /// Borrowed when the word is lower-case already, as most are.
    lower: Cow<'t, str>,
    /// A full stop right after it ("Dr.", "N.").
    dotted: bool,
}

impl Word<'_> {
    fn capitalised(&self) -> bool {
        self.text.chars().next().is_some_and(char::is_uppercase)
    }

    fn initial(&self) -> bool {
        self.text.chars().count() == 1 && self.capitalised()
    }
}

/// The words of `text` with their offsets, read once and shared by the name and place
/// finders.
pub fn words(text: &str) -> Vec<Word<'_>> {
    let mut out = Vec::new();
    let mut start = None;
    let bytes = text.as_bytes();
    for (i, c) in text.char_indices() {
        let after = &text[i + c.len_utf8()..];
        // A possessive's "'s" is not part of the name: "Szczepańska's killers".
        let possessive = || {
            let mut rest = after.chars();
            rest.next() == Some('s') && !rest.next().is_some_and(char::is_alphabetic)
        };
        let inside = c.is_alphabetic()
            || (start.is_some()
                && (c == '\'' || c == '-' || c == '’')
                && after.chars().next().is_some_and(char::is_alphabetic)
                && !((c == '\'' || c == '’') && possessive()));
        match (inside, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push(word(text, s, i, bytes.get(i) == Some(&b'.')));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(word(text, s, text.len(), false));
    }
    out
}

fn word(text: &str, start: usize, end: usize, dotted: bool) -> Word<'_> {
    let slice = &text[start..end];
    Word {
        start,
        end,
        text: slice,
        lower: if slice.chars().any(char::is_uppercase) {
            Cow::Owned(slice.to_lowercase())
        } else {
            Cow::Borrowed(slice)
        },
        dotted,
    }
}

/// Only whitespace (and a title's full stop or a comma) between two words: they may be
/// one name.
fn adjacent(text: &str, a: &Word<'_>, b: &Word<'_>) -> bool {
    let gap = &text[a.end..b.start];
    gap.len() <= 3 && !gap.contains('\n') && gap.chars().all(|c| c == ' ' || c == '.' || c == '\t')
}

/// `COMMON_WORDS` hashed: the test runs several times for every capitalised word.
static COMMON: LazyLock<HashSet<&'static str, RandomState>> =
    LazyLock::new(|| COMMON_WORDS.iter().copied().collect());

fn common(word: &Word<'_>) -> bool {
    COMMON.contains(word.lower.as_ref())
}

/// A capitalised word that could be a name: a listed one, or one that is no everyday
/// English word ("Gelencsér", but not "Entertainment"), and neither an everyday word of
/// the hand-made list nor a short acronym.
fn nameish(lists: &NameLists, word: &Word<'_>) -> bool {
    word.capitalised()
        && !common(word)
        && !acronym(word)
        && (lists.is_given(&word.lower)
            || lists.is_family(&word.lower)
            || !lists.is_everyday(&word.lower))
}

/// A short word in capitals is an acronym ("AI", "ER"), not a name, unless a cue says so.
fn acronym(word: &Word<'_>) -> bool {
    word.text.len() <= 3 && word.text.chars().all(|c| c.is_ascii_uppercase())
}

pub fn find(lists: &NameLists, text: &str, words: &[Word<'_>], out: &mut Vec<PhiSpan>) {
    // A text written all in lower case ("follow up with patricia desrosiers") has no
    // capitals to go by: there, listed names go by their neighbours instead.
    let all_lower = !text.chars().any(char::is_uppercase);
    let listed_together = listed_together(lists, text, words, all_lower);
    let mut i = 0;
    while i < words.len() {
        let word = &words[i];
        let after_title = i > 0
            && TITLES.contains(&words[i - 1].lower.as_ref())
            && adjacent(text, &words[i - 1], word);
        // "Family, Given" as records list people.
        let inverted = word.capitalised()
            && lists.is_family(&word.lower)
            && !common(word)
            && words.get(i + 1).is_some_and(|next| {
                next.capitalised()
                    && lists.is_given(&next.lower)
                    && text[word.end..next.start].trim() == ","
            })
            // "Jones, Mitchell and Williams" is a list, not "Mitchell Jones".
            && next_in_list(text, words, i + 1).is_none();
        // Most words are neither capitalised nor given names: the cue is looked for only
        // when it could matter.
        let mut cued = false;
        // Found only because the word is a listed given name, without a cue or a shape.
        let mut only_listed = false;
        let starts = if !word.capitalised() {
            let listed = || lists.is_given(&word.lower) || lists.is_family(&word.lower);
            // "my name is vitoria", "people call me višeslav": a person naming themselves
            // gives a name even when no list holds it. Most words follow no cue: it is
            // looked for first.
            cued = match cue_before(words, i, text) {
                Cue::None => false,
                Cue::Weak => {
                    !common(word) && naming(words, i, text) && !lists.is_everyday(&word.lower)
                }
                Cue::Strong => {
                    !common(word)
                        && (listed() || (naming(words, i, text) && !lists.is_everyday(&word.lower)))
                }
            };
            cued || (all_lower
                && (listed_together.people.contains(&i)
                    || lower_case_name(lists, text, words, i)
                    // "mr. elliott"
                    || (after_title
                        && !common(word)
                        && (listed() || !lists.is_everyday(&word.lower)))))
        } else if after_title {
            true
        } else {
            match cue_before(words, i, text) {
                // "She named him Frank": after the strongest cues even an everyday word.
                Cue::Strong => {
                    cued = true;
                    true
                }
                Cue::Weak => {
                    cued = true;
                    !common(word)
                }
                Cue::None if listed_together.people.contains(&i) => true,
                Cue::None if common(word) || acronym(word) => false,
                // "a year at Jones, Mitchell and Williams": a firm, given names and all.
                Cue::None if listed_together.firms.contains(&i) => false,
                Cue::None => {
                    let shaped = inverted
                        || around_initial(lists, text, words, i)
                        || before_family_name(lists, text, words, i)
                        || before_speech_verb(lists, text, words, i)
                        || name_line(lists, text, words, i)
                        || unlisted_pair(lists, text, words, i)
                        || before_particle(lists, text, words, i)
                        || speaker(lists, text, words, i);
                    only_listed = !shaped;
                    shaped || lists.is_given(&word.lower)
                }
            }
        };
        if !starts {
            i += 1;
            continue;
        }
        // Extend over capitalised family names, initials, particles and post-nominals.
        let mut last = if inverted { i + 1 } else { i };
        let mut j = last + 1;
        while j < words.len() && j - i <= 4 && adjacent(text, &words[j - 1], &words[j]) {
            let next = &words[j];
            // A full stop ends the name unless it ends an initial ("Faina D. Yefremova").
            let initial =
                words[j - 1].initial() || (all_lower && words[j - 1].text.chars().count() == 1);
            if text[words[j - 1].end..next.start].contains('.') && !initial {
                break;
            }
            // After a given name or a cue, a capitalised word that is not an everyday one is
            // taken as the family name, listed or not (names come from everywhere).
            let part = next.initial()
                || (nameish(lists, next) && !organisation_word(next))
                || (all_lower && lower_case_part(lists, next))
                // "my name is borna jerković"
                || (cued
                    && !word.capitalised()
                    && !next.capitalised()
                    && !common(next)
                    && !lists.is_everyday(&next.lower))
                || (PARTICLES.contains(&next.lower.as_ref()) && particles_lead_to_name(words, j))
                || after_particles(text, words, j)
                || (SUFFIXES.contains(&next.lower.as_ref())
                    && next.text.chars().all(|c| c.is_uppercase() || c == '.')
                    && next.text.len() >= 2);
            if !part {
                break;
            }
            if !PARTICLES.contains(&next.lower.as_ref()) {
                last = j;
            }
            j += 1;
        }
        // "Bertha Inc", "Russell Investments": a company named after someone; "Mathias
        // Pass": a street; "Upper Austria", "France": a state or a country; a lone listed
        // given name that is also a listed town ("Salvador") is left to the places.
        let not_a_person = !after_title
            && !cued
            && (before_organisation_word(text, words, last)
                || street_name(text, words, i, last)
                || country_or_state(words, i, last)
                || (only_listed && last == i && lists.places.contains(word.lower.as_ref())));
        if not_a_person {
            i = last + 1;
            continue;
        }
        let mut end = words[last].end;
        if words[last].initial() && words[last].dotted {
            end += 1;
        }
        out.push(PhiSpan {
            kind: PhiKind::Name,
            start: word.start,
            end,
        });
        i = last + 1;
    }
}

fn street_suffix(word: &Word<'_>) -> bool {
    word.capitalised() && STREET_SUFFIXES.binary_search(&word.lower.as_ref()).is_ok()
}

/// `words[first..=last]` end in a street's suffix, or one follows them: "Philip Bypass",
/// "Marina Fort Street".
fn street_name(text: &str, words: &[Word<'_>], first: usize, last: usize) -> bool {
    (last > first && street_suffix(&words[last]))
        || words
            .get(last + 1)
            .is_some_and(|next| street_suffix(next) && text[words[last].end..next.start] == *" ")
}

/// `words[first..=last]`, or their last words, name a country or a US state.
fn country_or_state(words: &[Word<'_>], first: usize, last: usize) -> bool {
    (first..=last).any(|from| {
        let tail = words[from..=last]
            .iter()
            .map(|w| w.lower.as_ref())
            .collect::<Vec<_>>()
            .join(" ");
        COUNTRIES_AND_STATES.binary_search(&tail.as_str()).is_ok()
    })
}

fn organisation_word(word: &Word<'_>) -> bool {
    ORGANISATION_WORDS
        .binary_search(&word.lower.as_ref())
        .is_ok()
}

/// The word after `last` ends a company's name: "Conway Inc.", "Russell Investments",
/// "Smith, Jones and Davis Orchestra", "Acme, LLC".
fn before_organisation_word(text: &str, words: &[Word<'_>], last: usize) -> bool {
    words.get(last + 1).is_some_and(|next| {
        let gap = text[words[last].end..next.start].trim();
        next.capitalised() && (gap.is_empty() || gap == ",") && organisation_word(next)
    })
}

/// In a text all in lower case, a listed given name that is not an everyday word followed by
/// a family name, perhaps with an initial between: "eva kleist", "benjamin a seiler".
fn lower_case_name(lists: &NameLists, text: &str, words: &[Word<'_>], i: usize) -> bool {
    let word = &words[i];
    if !lists.is_given(&word.lower) || !lower_case_listed(lists, word) {
        return false;
    }
    let mut k = i + 1;
    if words
        .get(k)
        .is_some_and(|w| w.text.chars().count() == 1 && adjacent(text, &words[k - 1], w))
    {
        k += 1;
    }
    // The family name may be one no list holds ("olga krylova"), as long as it is no
    // everyday word or place.
    words.get(k).is_some_and(|family| {
        adjacent(text, &words[k - 1], family) && lower_case_family(lists, family)
    })
}

/// In a text all in lower case, a family name: a listed one that is no everyday word, or
/// one no list holds ("krylova") that is neither an everyday word nor a place.
fn lower_case_family(lists: &NameLists, word: &Word<'_>) -> bool {
    (lists.is_family(&word.lower) && lower_case_listed(lists, word))
        || (word.text.chars().count() >= 3
            && !common(word)
            && !lists.is_everyday(&word.lower)
            && !lists.is_given(&word.lower)
            && !lists.places.contains(word.lower.as_ref()))
}

/// A word continuing a name in a text all in lower case: a single letter, a listed name or
/// a family name.
fn lower_case_part(lists: &NameLists, word: &Word<'_>) -> bool {
    word.text.chars().count() == 1
        || lower_case_listed(lists, word)
        || lower_case_family(lists, word)
}

/// In a text all in lower case, a listed name that is no everyday word ("adam", not "will"
/// or "soon").
fn lower_case_listed(lists: &NameLists, word: &Word<'_>) -> bool {
    (lists.is_family(&word.lower) || lists.is_given(&word.lower))
        && !common(word)
        && !lists.is_everyday(&word.lower)
}

/// A line of two or three capitalised words, one of them a listed name, as records, letters
/// and envelopes put a person's name above their details: "Einojuhani Pyysalo".
fn name_line(lists: &NameLists, text: &str, words: &[Word<'_>], i: usize) -> bool {
    if !opens_line(text, words[i].start) {
        return false;
    }
    let mut last = i;
    while words.get(last + 1).is_some_and(|next| {
        text[words[last].end..next.start]
            .chars()
            .all(|c| c == ' ' || c == '.')
    }) {
        last += 1;
    }
    let parts = &words[i..=last];
    fills_line(text, words[i].start, words[last].end)
        && (2..=3).contains(&parts.len())
        && parts
            .iter()
            .all(|w| w.initial() || (nameish(lists, w) && !organisation_word(w)))
        && parts
            .iter()
            .any(|w| lists.is_given(&w.lower) || lists.is_family(&w.lower))
}

/// Whether `start..end` is all its line holds, but for white space, quoting marks and a
/// full stop.
fn fills_line(text: &str, start: usize, end: usize) -> bool {
    let line_end = text[end..].find('\n').map_or(text.len(), |n| end + n);
    opens_line(text, start)
        && text[end..line_end]
            .chars()
            .all(|c| c.is_whitespace() || c == '.')
}

/// Nothing but white space or a quoting `>` between the line's start and `at`.
fn opens_line(text: &str, at: usize) -> bool {
    let line_start = text[..at].rfind('\n').map_or(0, |n| n + 1);
    text[line_start..at]
        .chars()
        .all(|c| c.is_whitespace() || c == '>')
}

/// A speaker's name opening a line of a transcript: "Vinka: What a wife." Labels such as
/// "Address:" or "Patient:" are everyday words and stay labels.
fn speaker(lists: &NameLists, text: &str, words: &[Word<'_>], i: usize) -> bool {
    let word = &words[i];
    opens_line(text, word.start)
        && text[word.end..].starts_with(": ")
        && !text[word.end + 2..].starts_with(|c: char| c.is_ascii_digit())
        && nameish(lists, word)
        && !lists.is_everyday(&word.lower)
}

/// "Tilly Nicholson", "Weronika Martinsen": a capitalised word that is not an everyday one
/// before a listed family name, the two not a listed place ("Santa Clara").
fn before_family_name(lists: &NameLists, text: &str, words: &[Word<'_>], i: usize) -> bool {
    let (Some(first), Some(family)) = (words.get(i), words.get(i + 1)) else {
        return false;
    };
    nameish(lists, first)
        && family.capitalised()
        && text[first.end..family.start] == *" "
        && first.text.chars().count() >= 2
        && lists.is_family(&family.lower)
        && !common(family)
        && !acronym(family)
        && !street_suffix(family)
        && !lists
            .places
            .contains(&format!("{} {}", first.lower, family.lower))
}

/// "Willemine ten Pas", "Maika van de Noort": a capitalised word that is no everyday one
/// or place, then particles in lower case and a capitalised word.
fn before_particle(lists: &NameLists, text: &str, words: &[Word<'_>], i: usize) -> bool {
    // The first word a given name or one no list holds: family names before particles
    // begin places as often ("Villafranca del Bierzo", "Rue de Tanger").
    let first = &words[i];
    if !words
        .get(i + 1)
        .is_some_and(|w| !w.capitalised() && PARTICLES.contains(&w.lower.as_ref()))
        || first.text.chars().count() < 2
        || !nameish(lists, first)
    {
        return false;
    }
    let given = lists.is_given(&first.lower);
    if !given && (lists.is_family(&first.lower) || lists.places.contains(first.lower.as_ref())) {
        return false;
    }
    // Romance particles join places as often as names ("Chiclana de la Frontera"): after a
    // word no list holds, only the Germanic ones say "person".
    let mut k = i + 1;
    while words.get(k).is_some_and(|w| {
        !w.capitalised()
            && PARTICLES.contains(&w.lower.as_ref())
            && (given || GERMANIC_PARTICLES.contains(&w.lower.as_ref()))
            && text[words[k - 1].end..w.start] == *" "
    }) {
        k += 1;
    }
    k > i + 1 && after_particles(text, words, k)
}

/// Whether `words[k]` is a capitalised word, not a common one, right after particles in
/// lower case: the family name of "Willemine ten Pas", everyday word or not.
fn after_particles(text: &str, words: &[Word<'_>], k: usize) -> bool {
    let (Some(before), Some(word)) = (k.checked_sub(1).and_then(|b| words.get(b)), words.get(k))
    else {
        return false;
    };
    !before.capitalised()
        && PARTICLES.contains(&before.lower.as_ref())
        && text[before.end..word.start] == *" "
        && word.capitalised()
        && word.text.chars().count() >= 2
        && !common(word)
        && !acronym(word)
}

/// Whether the particles starting at `words[k]` lead to a capitalised word: "van de Noort".
fn particles_lead_to_name(words: &[Word<'_>], k: usize) -> bool {
    let mut k = k;
    while words
        .get(k)
        .is_some_and(|w| PARTICLES.contains(&w.lower.as_ref()))
    {
        k += 1;
    }
    words.get(k).is_some_and(Word::capitalised)
}

/// "Wisława Szczepańska", "Zargan Vedzizhev": two capitalised words, one space apart, that
/// are neither everyday words nor places nor a firm's or a street's word. Names come from
/// everywhere, and an unknown word beside another reads as a person more often than not;
/// words in capitals are left out, as shouting and Greek place names are written so.
fn unlisted_pair(lists: &NameLists, text: &str, words: &[Word<'_>], i: usize) -> bool {
    let (Some(first), Some(second)) = (words.get(i), words.get(i + 1)) else {
        return false;
    };
    let part = |w: &Word<'_>| {
        w.text.chars().count() >= 2
            && w.text.chars().any(char::is_lowercase)
            && nameish(lists, w)
            && !organisation_word(w)
            && !street_suffix(w)
            && (lists.is_given(&w.lower)
                || lists.is_family(&w.lower)
                || !lists.places.contains(w.lower.as_ref()))
    };
    if text[first.end..second.start] != *" " || !second.capitalised() {
        return false;
    }
    // A number before or after makes the words part of an address ("Apt. 753 Fasoula
    // Pafos", "C/ Señores Curas 88"); a firm's context makes them a firm ("work for
    // Wolters Kluwer").
    let number_before = || {
        text[..first.start]
            .trim_end_matches(|c: char| c.is_whitespace() || matches!(c, '>' | '?' | '|' | ','))
            .ends_with(|c: char| c.is_ascii_digit())
    };
    let number_after = || {
        text[second.end..]
            .trim_start_matches([' ', ','])
            .starts_with(|c: char| c.is_ascii_digit())
    };
    let firm_context = i > 0 && FIRM_CONTEXT.contains(&words[i - 1].lower.as_ref());
    !firm_context
        && part(first)
        && part(second)
        && !number_before()
        && !number_after()
        && !lists
            .places
            .contains(&format!("{} {}", first.lower, second.lower))
}

/// "Enrico shouted at Gary", "says Hartvigsson": a capitalised word, or two, that is not an
/// everyday one before a verb of speech or of living.
fn before_speech_verb(lists: &NameLists, text: &str, words: &[Word<'_>], i: usize) -> bool {
    if !nameish(lists, &words[i]) {
        return false;
    }
    let mut k = i;
    while k < i + 2
        && words
            .get(k + 1)
            .is_some_and(|w| nameish(lists, w) && text[words[k].end..w.start] == *" ")
    {
        k += 1;
    }
    words.get(k + 1).is_some_and(|verb| {
        text[words[k].end..verb.start] == *" "
            && SPEECH_VERBS.binary_search(&verb.lower.as_ref()).is_ok()
    })
}

/// "Szabina J Gelencsér", "Faina D. Yefremova": two capitalised words that are not
/// everyday ones around a middle initial are a name, listed or not.
fn around_initial(lists: &NameLists, text: &str, words: &[Word<'_>], i: usize) -> bool {
    let [first, initial, last] = match words.get(i..i + 3) {
        Some([a, b, c]) => [a, b, c],
        _ => return false,
    };
    first.text.chars().count() >= 2
        && nameish(lists, first)
        && initial.initial()
        && last.text.chars().count() >= 2
        && nameish(lists, last)
        && adjacent(text, first, initial)
        && adjacent(text, initial, last)
}

/// The indices of family or given names listed together, two or more joined by commas,
/// "and" or "&" ("our founders: Kónya, Becker and Vasquez"; "Marrero and Murphy were"),
/// unless the list reads as a firm's name: after "at", "from", "for"…, or before a
/// company's word ("The Davis, Reynolds and Williamson Orchestra").
fn listed_together(lists: &NameLists, text: &str, words: &[Word<'_>], all_lower: bool) -> Lists {
    let listed = |w: &Word<'_>| lists.is_family(&w.lower) || lists.is_given(&w.lower);
    // A member is a capitalised word that is not an everyday one, a short acronym or a
    // place; at least one member of the list is a listed name ("Usamov and Bowers"). In a
    // text all in lower case, every member is a listed name.
    let member = |w: &Word<'_>| {
        if all_lower {
            return lower_case_listed(lists, w);
        }
        nameish(lists, w) && (listed(w) || !lists.places.contains(w.lower.as_ref()))
    };
    // Names that are also everyday words ("Park", "White", "chad") join a list that holds
    // a name that is not one ("Park and Mann", "Šušulić, Bowman and White").
    let weak_member = |w: &Word<'_>| {
        listed(w)
            && !acronym(w)
            && (w.capitalised() || all_lower)
            && w.text.chars().count() >= 2
            && (all_lower
                || COUNTRIES_AND_STATES
                    .binary_search(&w.lower.as_ref())
                    .is_err())
    };
    let mut found = Lists::default();
    let mut i = 0;
    while i < words.len() {
        // Cheap test first: most words are not joined to the next by a comma or "and".
        if next_in_list(text, words, i).is_none() || !weak_member(&words[i]) && !member(&words[i]) {
            i += 1;
            continue;
        }
        let first = i;
        let mut chain = 1;
        let mut any_listed = listed(&words[i]);
        let mut strong = usize::from(member(&words[i]));
        // A list ends in "and" or "&": "Street, Boston" is an address, not two people.
        let mut closed = false;
        while let Some(next) = next_in_list(text, words, i) {
            let strong_next = member(&words[next]);
            if !strong_next && !weak_member(&words[next]) {
                break;
            }
            strong += usize::from(strong_next);
            any_listed |= listed(&words[next]);
            closed = next == i + 2 || text[words[i].end..words[next].start].contains('&');
            chain += 1;
            i = next;
        }
        let firm = (first > 0
            && ORGANISATION_CONTEXT
                .binary_search(&words[first - 1].lower.as_ref())
                .is_ok())
            || before_organisation_word(text, words, i)
            // Three family names filling a line of a record or a letterhead are a firm's
            // name ("Owens, Duran and Oneal" above its address), as people there stand
            // one to a line.
            || (chain >= 3 && fills_line(text, words[first].start, words[i].end));
        // Each member stands alone: "Reed Elsevier and T Rowe Price" are not single names.
        let alone = words.get(i + 1).is_none_or(|w| {
            !w.capitalised() || !text[words[i].end..w.start].chars().all(|c| c == ' ')
        });
        // In lower case a list needs two names that are no everyday words: "adam and eve"
        // is no list of people.
        let enough_names = strong >= if all_lower { 2 } else { 1 };
        if chain >= 2 && closed && any_listed && enough_names && (firm || alone) {
            let members = if firm {
                &mut found.firms
            } else {
                &mut found.people
            };
            let mut k = first;
            members.push(k);
            while k < i {
                let Some(next) = next_in_list(text, words, k) else {
                    break;
                };
                members.push(next);
                k = next;
            }
        }
        i += 1;
    }
    found
}

/// The indices of the words in lists of names: of people, and of firms.
#[derive(Default)]
struct Lists {
    people: Vec<usize>,
    firms: Vec<usize>,
}

/// The index of the word joined to `words[i]` in a list: after ", ", " and ", ", and "
/// or " & ".
fn next_in_list(text: &str, words: &[Word<'_>], i: usize) -> Option<usize> {
    let this = words.get(i)?;
    let next = words.get(i + 1)?;
    let gap = text.get(this.end..next.start)?;
    if gap.contains('\n') || gap.len() > 4 {
        return None;
    }
    match gap.trim() {
        "," | "&" if next.lower != "and" => Some(i + 1),
        "," | "" if next.lower == "and" => {
            let after = words.get(i + 2)?;
            let gap = text.get(next.end..after.start)?;
            (gap == " ").then_some(i + 2)
        }
        _ => None,
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Cue {
    None,
    Weak,
    Strong,
}

/// Cues (of names, of places) by their last word, sorted by it: most words end no cue and
/// are passed over after one look at their first byte and length; a word that ends cues
/// ("to", "is") is checked against those only.
struct CueIndex<T> {
    by_ending: Vec<(&'static str, Vec<T>)>,
    /// For each first byte, a bit for each length (up to 31 bytes) of the endings.
    lengths_by_first_byte: [u32; 256],
}

impl<T> CueIndex<T> {
    fn new(cues: impl Iterator<Item = (&'static [&'static str], T)>) -> Self {
        let mut index = Self {
            by_ending: Vec::new(),
            lengths_by_first_byte: [0; 256],
        };
        for (cue, value) in cues {
            let Some(&last) = cue.last() else { continue };
            if let Some(&first) = last.as_bytes().first() {
                index.lengths_by_first_byte[usize::from(first)] |= 1 << last.len().min(31);
            }
            match index
                .by_ending
                .binary_search_by(|(ending, _)| ending.cmp(&last))
            {
                Ok(k) => index.by_ending[k].1.push(value),
                Err(k) => index.by_ending.insert(k, (last, vec![value])),
            }
        }
        index
    }

    /// The cues ending in `word`, if any.
    fn ending_in(&self, word: &str) -> Option<&[T]> {
        let first = usize::from(*word.as_bytes().first()?);
        if self.lengths_by_first_byte[first] & (1 << word.len().min(31)) == 0 {
            return None;
        }
        let k = self
            .by_ending
            .binary_search_by(|(ending, _)| (*ending).cmp(word))
            .ok()?;
        Some(&self.by_ending[k].1)
    }
}

static NAME_CUES: LazyLock<CueIndex<(&'static [&'static str], Cue)>> = LazyLock::new(|| {
    CueIndex::new(
        STRONG_CUES
            .iter()
            .map(|cue| (*cue, (*cue, Cue::Strong)))
            .chain(CUES.iter().map(|cue| (*cue, (*cue, Cue::Weak)))),
    )
});
static PLACE_CUE_INDEX: LazyLock<CueIndex<()>> =
    LazyLock::new(|| CueIndex::new(PLACE_CUES.iter().map(|cue| (*cue, ()))));

/// Whether the words right before `i` are a cue that a name follows, and how strong.
fn cue_before(words: &[Word<'_>], i: usize, text: &str) -> Cue {
    let Some(cues) = i
        .checked_sub(1)
        .and_then(|b| words.get(b))
        .and_then(|before| NAME_CUES.ending_in(&before.lower))
    else {
        return Cue::None;
    };
    // The cue and the name are in one phrase: nothing but spaces, a colon, a comma or a
    // question's mark between them ("What's your last name? Boyle").
    let joins = |gap: &str| {
        gap.chars()
            .all(|c| matches!(c, ' ' | ':' | ',' | '?' | '\t'))
    };
    cues.iter()
        .filter(|(cue, _)| follows(words, i, text, cue, joins))
        .map(|(_, strength)| *strength)
        .max()
        .unwrap_or(Cue::None)
}

/// Whether the words right before `words[i]` are a person naming themselves: "my name is",
/// "call me".
fn naming(words: &[Word<'_>], i: usize, text: &str) -> bool {
    NAMING_CUES
        .iter()
        .any(|c| follows(words, i, text, c, |gap| gap == " "))
        // A record's label: "name:    hyuuma t. maida".
        || follows(words, i, text, &["name"], |gap| gap.trim() == ":")
}

/// Whether `cue`'s words come right before `words[i]`, with a gap `joins` accepts.
fn follows(
    words: &[Word<'_>],
    i: usize,
    text: &str,
    cue: &[&str],
    joins: impl Fn(&str) -> bool,
) -> bool {
    cue.len() <= i
        && cue
            .iter()
            .enumerate()
            .all(|(k, c)| words[i - cue.len() + k].lower == *c)
        && joins(&text[words[i - 1].end..words[i].start])
}

/// Places: the longest run of up to four capitalised words naming a listed place (into
/// `listed`), and the capitalised words after a place cue (into `cued`).
pub fn find_places(
    lists: &NameLists,
    text: &str,
    words: &[Word<'_>],
    listed: &mut Vec<PhiSpan>,
    cued: &mut Vec<PhiSpan>,
) {
    let mut i = 0;
    while i < words.len() {
        if !words[i].capitalised() {
            i += 1;
            continue;
        }
        // A listed place after a place cue is as sure as any other cued place.
        let found = match listed_place(lists, text, words, i) {
            Some(last) if after_place_cue(text, words, i) => Some((last, &mut *cued)),
            Some(last) => Some((last, &mut *listed)),
            None => cued_place(text, words, i).map(|last| (last, &mut *cued)),
        };
        match found {
            Some((last, out)) => {
                out.push(PhiSpan {
                    kind: PhiKind::Location,
                    start: words[i].start,
                    end: words[last].end,
                });
                i = last + 1;
            }
            None => i += 1,
        }
    }
}

/// The last word of the longest listed place starting at `words[i]`.
fn listed_place(lists: &NameLists, text: &str, words: &[Word<'_>], i: usize) -> Option<usize> {
    if lists.places.is_empty() {
        return None;
    }
    let mut matched = None;
    let mut joined = words[i].lower.to_string();
    if lists.places.contains(&joined) {
        matched = Some(i);
    }
    let mut j = i + 1;
    while j < words.len() && j - i < 4 && adjacent(text, &words[j - 1], &words[j]) {
        joined.push(' ');
        joined.push_str(&words[j].lower);
        if lists.places.contains(&joined) {
            matched = Some(j);
        }
        j += 1;
    }
    matched
}

fn after_place_cue(text: &str, words: &[Word<'_>], i: usize) -> bool {
    i > 0
        && PLACE_CUE_INDEX.ending_in(&words[i - 1].lower).is_some()
        && PLACE_CUES
            .iter()
            .any(|cue| follows(words, i, text, cue, |gap| gap == " "))
}

/// The last word of the place after a cue ("grew up in Remniku", "flew to Villafranca del
/// Cid"): up to four capitalised words, with the particles between them. Not a place: a
/// country or state, a month, a language, a heading word, an acronym of up to four letters
/// ("in COPD"), or
/// a company ("in Acme Inc").
fn cued_place(text: &str, words: &[Word<'_>], i: usize) -> Option<usize> {
    let first = &words[i];
    let short_acronym =
        first.text.chars().count() <= 4 && first.text.chars().all(char::is_uppercase);
    if short_acronym
        || NOT_PLACES.binary_search(&first.lower.as_ref()).is_ok()
        || common(first)
        || !after_place_cue(text, words, i)
    {
        return None;
    }
    let mut last = i;
    let mut j = i + 1;
    while j < words.len() && j - i < 4 && adjacent(text, &words[j - 1], &words[j]) {
        let next = &words[j];
        if next.capitalised() && !NOT_PLACES.contains(&next.lower.as_ref()) {
            last = j;
        } else if !(PARTICLES.contains(&next.lower.as_ref())
            && words.get(j + 1).is_some_and(Word::capitalised))
        {
            break;
        }
        j += 1;
    }
    let place = &text[first.start..words[last].end];
    let country_or_state = COUNTRIES_AND_STATES
        .binary_search(&place.to_lowercase().as_str())
        .is_ok();
    (!country_or_state && !before_organisation_word(text, words, last)).then_some(last)
}
