//! Person names (Safe Harbor (A)) without a language model: a capitalised given name from
//! the census lists, with the capitalised words after it; any capitalised words after a
//! title (Dr, Mrs…) or a cue ("my name is", "patient", "Dear"); and a lone name after the
//! strongest cues even in lower case. Words that are names and common English words
//! ("Will", "May", "Hope") start a name only after a cue.

use std::borrow::Cow;
use std::collections::HashSet;

use super::{PhiKind, PhiSpan};

/// The census name lists, lower-case.
pub struct NameLists {
    given: HashSet<String>,
    family: HashSet<String>,
    places: HashSet<String>,
}

impl NameLists {
    /// Reads the lists (one name per line, `#` comments), as shipped under `tools/phi/`.
    pub fn parse(given: &str, family: &str) -> Result<Self, String> {
        let read = |text: &str| -> HashSet<String> {
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_lowercase)
                .collect()
        };
        let lists = Self {
            given: read(given),
            family: read(family),
            places: HashSet::new(),
        };
        if lists.given.len() < 100 || lists.family.len() < 100 {
            return Err("the name lists hold fewer than 100 names each".into());
        }
        Ok(lists)
    }

    /// Adds the place names (cities and towns, one per line) the detector recognises.
    pub fn with_places(mut self, places: &str) -> Self {
        self.places = places
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_lowercase)
            .collect();
        self
    }

    fn is_given(&self, word: &str) -> bool {
        self.given.contains(word)
    }

    fn is_family(&self, word: &str) -> bool {
        self.family.contains(word)
    }
}

/// Courtesy and professional titles, lower-case, without the full stop.
const TITLES: &[&str] = &[
    "mr",
    "mrs",
    "ms",
    "miss",
    "mx",
    "dr",
    "prof",
    "professor",
    "sir",
    "dame",
    "herr",
    "frau",
    "sr",
    "sra",
    "srta",
    "mme",
    "mlle",
    "nurse",
    "doctor",
];

/// Words after which the next capitalised words are a name.
const CUES: &[&[&str]] = &[
    &["name", "is"],
    &["named"],
    &["name"],
    &["called"],
    &["patient"],
    &["pt"],
    &["dear"],
    &["regards"],
    &["sincerely"],
    &["signed"],
    &["i", "am"],
    &["i'm"],
    &["hi"],
    &["hello"],
    &["thanks"],
    &["mother"],
    &["father"],
    &["wife"],
    &["husband"],
    &["son"],
    &["daughter"],
];

/// Cues strong enough that even a lower-case given name after them is a name.
const STRONG_CUES: &[&[&str]] = &[&["name", "is"], &["named"], &["called"], &["dear"]];

/// Given names in the census lists that are also everyday English words, and words that
/// follow a name but are not part of it: these never start or extend a name on their own.
const COMMON_WORDS: &[&str] = &[
    "a",
    "about",
    "after",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "april",
    "are",
    "art",
    "as",
    "at",
    "august",
    "autumn",
    "be",
    "bell",
    "best",
    "bill",
    "black",
    "blood",
    "brown",
    "but",
    "by",
    "can",
    "care",
    "carter",
    "case",
    "cash",
    "chase",
    "child",
    "christian",
    "clinic",
    "crystal",
    "dawn",
    "day",
    "dean",
    "did",
    "do",
    "doctor",
    "does",
    "done",
    "down",
    "dr",
    "early",
    "east",
    "ever",
    "faith",
    "fall",
    "for",
    "frank",
    "from",
    "gay",
    "general",
    "gold",
    "good",
    "grace",
    "gray",
    "green",
    "grey",
    "guy",
    "had",
    "hall",
    "has",
    "have",
    "he",
    "heart",
    "her",
    "here",
    "hill",
    "him",
    "his",
    "home",
    "hope",
    "hospital",
    "how",
    "hunter",
    "i",
    "if",
    "in",
    "is",
    "it",
    "its",
    "ivy",
    "jack",
    "joy",
    "june",
    "just",
    "king",
    "lake",
    "lane",
    "last",
    "lee",
    "little",
    "long",
    "love",
    "major",
    "march",
    "mark",
    "mason",
    "may",
    "me",
    "memory",
    "merry",
    "might",
    "miles",
    "more",
    "most",
    "my",
    "new",
    "next",
    "no",
    "north",
    "not",
    "now",
    "of",
    "on",
    "one",
    "or",
    "our",
    "page",
    "park",
    "pat",
    "patient",
    "penny",
    "pink",
    "price",
    "rich",
    "rose",
    "ruby",
    "said",
    "see",
    "she",
    "short",
    "sky",
    "so",
    "south",
    "star",
    "stone",
    "summer",
    "sunday",
    "than",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "this",
    "to",
    "today",
    "unit",
    "up",
    "us",
    "very",
    "was",
    "we",
    "were",
    "west",
    "what",
    "when",
    "white",
    "who",
    "will",
    "winter",
    "with",
    "wood",
    "would",
    "yes",
    "you",
    "young",
    "your",
];

/// Name particles kept inside a name ("Ludwig van Beethoven", "Maria de la Cruz").
const PARTICLES: &[&str] = &[
    "van", "von", "de", "del", "della", "da", "di", "du", "la", "le", "der", "den", "bin", "ibn",
    "al", "dos", "das",
];

/// Post-nominals kept inside a name ("Giovanna Rodrigues MD").
const SUFFIXES: &[&str] = &[
    "md", "phd", "rn", "np", "do", "jr", "sr", "ii", "iii", "iv", "dds",
];

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
        let inside = c.is_alphabetic()
            || (start.is_some()
                && (c == '\'' || c == '-' || c == '’')
                && text[i + c.len_utf8()..]
                    .chars()
                    .next()
                    .is_some_and(char::is_alphabetic));
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

pub fn find(lists: &NameLists, text: &str, words: &[Word<'_>], out: &mut Vec<PhiSpan>) {
    // Sorted (a test checks), so a binary search: this runs for every capitalised word.
    let common = |w: &Word<'_>| COMMON_WORDS.binary_search(&w.lower.as_ref()).is_ok();
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
            });
        // Most words are neither capitalised nor given names: the cue is looked for only
        // when it could matter.
        let starts = if !word.capitalised() {
            lists.is_given(&word.lower)
                && !common(word)
                && cue_before(words, i, text) == Cue::Strong
        } else if after_title || cue_before(words, i, text) != Cue::None {
            !common(word) || after_title
        } else {
            // Without a cue, a short word in capitals is an acronym ("AI", "ER"), not a name.
            let acronym = word.text.len() <= 3 && word.text.chars().all(|c| c.is_ascii_uppercase());
            (lists.is_given(&word.lower) && !common(word) && !acronym) || inverted
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
            // After a given name or a cue, a capitalised word that is not an everyday one is
            // taken as the family name, listed or not (the lists are American; names are not).
            let part = next.initial()
                || (next.capitalised() && !common(next))
                || (PARTICLES.contains(&next.lower.as_ref())
                    && words.get(j + 1).is_some_and(Word::capitalised))
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

#[derive(PartialEq, Eq)]
enum Cue {
    None,
    Weak,
    Strong,
}

/// Whether the words right before `i` are a cue that a name follows.
fn cue_before(words: &[Word<'_>], i: usize, text: &str) -> Cue {
    let matches = |cue: &[&str]| {
        cue.len() <= i
            && cue.iter().enumerate().all(|(k, c)| {
                let w = &words[i - cue.len() + k];
                w.lower == *c
            })
            && {
                // The cue and the name are in one phrase: nothing but spaces, a colon or a
                // comma between them.
                let before = &words[i - 1];
                text[before.end..words[i].start]
                    .chars()
                    .all(|c| c == ' ' || c == ':' || c == ',' || c == '\t')
            }
    };
    if STRONG_CUES.iter().any(|c| matches(c)) {
        Cue::Strong
    } else if CUES.iter().any(|c| matches(c)) {
        Cue::Weak
    } else {
        Cue::None
    }
}

/// The longest run of up to four capitalised words naming a listed place.
pub fn find_places(lists: &NameLists, text: &str, words: &[Word<'_>], out: &mut Vec<PhiSpan>) {
    if lists.places.is_empty() {
        return;
    }
    let mut i = 0;
    while i < words.len() {
        if !words[i].capitalised() {
            i += 1;
            continue;
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
        match matched {
            Some(last) => {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_word_lists_searched_by_halves_are_sorted() {
        assert!(COMMON_WORDS.windows(2).all(|w| w[0] < w[1]));
    }
}
