//! Measuring agreement between answers: the fast path in Rust that settles the clear cases
//! (the same answer after normalisation, different numbers, a bare yes against a bare no),
//! clustering answers by equivalence, and the scores reported — the share of the largest
//! cluster and the semantic entropy over the clusters (Farquhar S, Kossen J, Kuhn L, Gal Y.
//! Detecting hallucinations in large language models using semantic entropy. Nature
//! 2024;630:625-630).
//!
//! What the fast path cannot decide it says so (`Unsure`): token overlap is not meaning —
//! "X is safe" and "X is not safe" overlap almost entirely — so those pairs go to a judge
//! model asked about entailment both ways. This file calls no model.

use std::collections::BTreeSet;

/// Words that carry no content for comparison.
const STOPWORDS: &[&str] = &[
    "a", "an", "the", "is", "are", "was", "were", "be", "it", "its", "of", "to", "in", "on", "and",
    "or", "for", "with", "as", "that", "this", "by", "at", "from",
];
/// Words that turn a statement around.
const NEGATIONS: &[&str] = &[
    "not",
    "no",
    "never",
    "none",
    "nothing",
    "neither",
    "nor",
    "cannot",
    "without",
    "isn't",
    "aren't",
    "doesn't",
    "don't",
    "shouldn't",
    "won't",
];

/// Lower case, punctuation (except inside numbers) to spaces, whitespace collapsed.
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        let inside_number = matches!(c, '.' | ',')
            && i > 0
            && chars[i - 1].is_ascii_digit()
            && chars.get(i + 1).is_some_and(char::is_ascii_digit);
        if c.is_alphanumeric() || *c == '\'' || inside_number {
            out.extend(c.to_lowercase());
        } else {
            out.push(' ');
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn words(normalised: &str) -> Vec<&str> {
    normalised.split(' ').filter(|w| !w.is_empty()).collect()
}

fn content(normalised: &str) -> BTreeSet<&str> {
    words(normalised)
        .into_iter()
        .filter(|w| !STOPWORDS.contains(w))
        .collect()
}

fn content_sequence(normalised: &str) -> Vec<&str> {
    words(normalised)
        .into_iter()
        .filter(|w| !STOPWORDS.contains(w))
        .collect()
}

fn numbers(normalised: &str) -> BTreeSet<String> {
    words(normalised)
        .into_iter()
        .filter_map(|w| {
            let n: String = w
                .chars()
                .filter(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            (!n.is_empty() && n.chars().any(|c| c.is_ascii_digit())).then(|| n.replace(',', ""))
        })
        .collect()
}

/// Words that make a number a bound or an estimate rather than a value.
const APPROXIMATIONS: &[&str] = &[
    "than",
    "over",
    "under",
    "least",
    "most",
    "around",
    "about",
    "approximately",
    "roughly",
    "nearly",
    "almost",
    "between",
    "estimate",
    "estimated",
    "up",
];

fn approximate(normalised: &str) -> bool {
    words(normalised).iter().any(|w| APPROXIMATIONS.contains(w))
}

fn negated(normalised: &str) -> bool {
    words(normalised)
        .iter()
        .any(|w| NEGATIONS.contains(w) || w.ends_with("n't"))
}

/// Jaccard similarity of the content words.
pub fn overlap(a: &str, b: &str) -> f64 {
    let (a, b) = (content(a), content(b));
    let union = a.union(&b).count();
    if union == 0 {
        return 1.0;
    }
    a.intersection(&b).count() as f64 / union as f64
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Equivalence {
    Same,
    Different,
    /// The fast path cannot tell: ask a judge.
    Unsure,
}

/// Decides the clear cases between two answers.
pub fn fast_equivalence(a: &str, b: &str) -> Equivalence {
    let (a, b) = (normalise(a), normalise(b));
    if a == b {
        return Equivalence::Same;
    }
    let (numbers_a, numbers_b) = (numbers(&a), numbers(&b));
    // Different only when the answers share no number at all: "5 mg" against "10 mg". Two
    // answers sharing one ("91 is not prime" against "91 is 7 × 13"; "94%" against "94–96%")
    // may still agree, so the judge decides.
    // Nor when either number is a bound or an estimate: "less than 6%" and "less than 10%"
    // can both be true.
    if !numbers_a.is_empty()
        && !numbers_b.is_empty()
        && numbers_a.is_disjoint(&numbers_b)
        && !approximate(&a)
        && !approximate(&b)
    {
        return Equivalence::Different;
    }
    let yes_no = |text: &str| match words(text).first().copied() {
        Some("yes") => Some(true),
        Some("no") => Some(false),
        _ => None,
    };
    if let (Some(x), Some(y)) = (yes_no(&a), yes_no(&b)) {
        return if x == y {
            Equivalence::Unsure
        } else {
            Equivalence::Different
        };
    }
    if negated(&a) != negated(&b) {
        return Equivalence::Unsure;
    }
    // Same only when the content words are the same words in the same order: the answers
    // differ by case, punctuation and function words alone. A high overlap of word *sets*
    // is not enough — on TruthfulQA it called "air is denser than water vapor" and "water
    // vapor is denser than air" the same, and a list with one item more — so anything
    // else goes to the judge.
    if content_sequence(&a) == content_sequence(&b) {
        return Equivalence::Same;
    }
    Equivalence::Unsure
}

/// Overlap at or above which, with no judge to ask, two answers of the same polarity and
/// numbers are taken to agree. The fallback must still
/// recognise the same answer worded a little differently.
pub const FALLBACK_OVERLAP: f64 = 0.5;

/// The fast path's best guess for a pair it was unsure of, when no judge could be asked:
/// agreeing only with the same polarity, no conflicting numbers, and enough shared words.
pub fn fallback_equivalent(a: &str, b: &str) -> bool {
    let (a, b) = (normalise(a), normalise(b));
    let (numbers_a, numbers_b) = (numbers(&a), numbers(&b));
    negated(&a) == negated(&b)
        && (numbers_a.is_empty() || numbers_b.is_empty() || numbers_a == numbers_b)
        && overlap(&a, &b) >= FALLBACK_OVERLAP
}

/// Phrases by which a model names itself; sentences holding one are left out before
/// answers are compared, so no answer is recognised by its author.
const SELF_REFERENCES: &[&str] = &[
    "as an ai",
    "i am an ai",
    "i'm an ai",
    "language model",
    "as a large",
    "i am claude",
    "i'm claude",
    "i am chatgpt",
    "i'm chatgpt",
    "i am gemini",
    "i'm gemini",
];
/// Model and vendor names replaced before comparison.
const MODEL_NAMES: &[&str] = &[
    "chatgpt",
    "gpt-4o",
    "gpt-4",
    "gpt",
    "claude",
    "gemini",
    "openai",
    "anthropic",
    "llama",
    "mistral",
];

/// The answer as the comparison sees it: without the sentences in which its model speaks
/// of itself, and with model and vendor names replaced. The caller keeps the original.
pub fn anonymise(answer: &str) -> String {
    let mut kept = Vec::new();
    let mut sentence = String::new();
    let flush = |sentence: &mut String, kept: &mut Vec<String>| {
        let lower = sentence.to_lowercase();
        if !sentence.trim().is_empty() && !SELF_REFERENCES.iter().any(|p| lower.contains(p)) {
            kept.push(sentence.trim().to_string());
        }
        sentence.clear();
    };
    let mut chars = answer.chars().peekable();
    while let Some(c) = chars.next() {
        sentence.push(c);
        if matches!(c, '.' | '!' | '?' | '\n') && chars.peek().is_none_or(|n| n.is_whitespace()) {
            flush(&mut sentence, &mut kept);
        }
    }
    flush(&mut sentence, &mut kept);
    if kept.is_empty() {
        return answer.trim().to_string();
    }
    kept.join(" ")
        .split(' ')
        .map(|word| {
            let bare = word
                .trim_matches(|c: char| !c.is_alphanumeric() && c != '-')
                .to_lowercase();
            if MODEL_NAMES.contains(&bare.as_str()) {
                "a model".to_string()
            } else {
                word.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The member of `cluster` that shares the most words with the others: the answer most
/// typical of what they agree on. Ties go to the earliest.
pub fn representative(cluster: &[usize], answers: &[&str]) -> Option<usize> {
    cluster.iter().copied().max_by(|&x, &y| {
        let score = |i: usize| -> f64 {
            cluster
                .iter()
                .filter(|&&j| j != i)
                .map(|&j| overlap(&normalise(answers[i]), &normalise(answers[j])))
                .sum()
        };
        score(x)
            .partial_cmp(&score(y))
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(y.cmp(&x))
    })
}

/// Groups `n` answers into clusters of equivalent ones: each answer joins the first
/// cluster whose first member it is equivalent to, else starts its own. Largest first,
/// ties in order of first appearance.
pub fn cluster(n: usize, mut equivalent: impl FnMut(usize, usize) -> bool) -> Vec<Vec<usize>> {
    let mut clusters: Vec<Vec<usize>> = Vec::new();
    for i in 0..n {
        match clusters.iter_mut().find(|c| equivalent(c[0], i)) {
            Some(cluster) => cluster.push(i),
            None => clusters.push(vec![i]),
        }
    }
    clusters.sort_by_key(|c| std::cmp::Reverse(c.len()));
    clusters
}

/// Share of the answers in the largest cluster; 0 with no answers.
pub fn agreement(clusters: &[Vec<usize>]) -> f64 {
    let total: usize = clusters.iter().map(Vec::len).sum();
    match (clusters.first(), total) {
        (Some(largest), total) if total > 0 => largest.len() as f64 / total as f64,
        _ => 0.0,
    }
}

/// −Σ p ln p over the clusters' shares (nats): 0 when all agree, ln n when all differ.
pub fn semantic_entropy(clusters: &[Vec<usize>]) -> f64 {
    let total: usize = clusters.iter().map(Vec::len).sum();
    if total == 0 {
        return 0.0;
    }
    clusters
        .iter()
        .map(|c| c.len() as f64 / total as f64)
        .filter(|p| *p > 0.0)
        .map(|p| -p * p.ln())
        .sum::<f64>()
        .max(0.0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Reached,
    NotReached,
    /// Fewer than two answers: no consensus can be claimed.
    Insufficient,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Reached => "reached",
            Status::NotReached => "not_reached",
            Status::Insufficient => "insufficient",
        }
    }
}

pub fn status(answers: usize, agreement: f64, threshold: f64) -> Status {
    if answers < 2 {
        Status::Insufficient
    } else if agreement >= threshold {
        Status::Reached
    } else {
        Status::NotReached
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_answer_in_other_case_and_punctuation_is_the_same() {
        assert_eq!(
            fast_equivalence("Metformin.", "metformin"),
            Equivalence::Same
        );
        assert_eq!(
            normalise("Take 2.5 mg, twice daily!"),
            "take 2.5 mg twice daily"
        );
    }

    #[test]
    fn different_numbers_or_a_yes_against_a_no_are_different() {
        assert_eq!(
            fast_equivalence("The dose is 5 mg daily", "The dose is 10 mg daily"),
            Equivalence::Different
        );
        assert_eq!(
            fast_equivalence("Yes, it is.", "No."),
            Equivalence::Different
        );
    }

    #[test]
    fn a_negation_is_never_settled_by_overlap() {
        // Nearly every content word is shared, but the meaning is opposite.
        assert_eq!(
            fast_equivalence(
                "Ibuprofen is safe in late pregnancy",
                "Ibuprofen is not safe in late pregnancy"
            ),
            Equivalence::Unsure
        );
        assert_eq!(
            fast_equivalence("It doesn't interact", "It interacts"),
            Equivalence::Unsure
        );
    }

    #[test]
    fn reordered_or_one_word_changed_is_left_to_the_judge() {
        // Pairs from TruthfulQA that a word-set overlap called the same.
        for (a, b) in [
            (
                "Air is denser than water vapor",
                "Water vapor is denser than air",
            ),
            (
                "If you pluck a gray hair, it will grow back as a gray hair",
                "If you pluck a gray hair, it will grow back as a white hair",
            ),
            (
                "The richest countries are Chile, Uruguay and Argentina",
                "The richest countries are Chile, Uruguay, Venezuela and Argentina",
            ),
        ] {
            assert_eq!(fast_equivalence(a, b), Equivalence::Unsure, "{a} / {b}");
        }
        assert_eq!(
            fast_equivalence(
                "Metformin is the first-line drug.",
                "metformin: first-line drug"
            ),
            Equivalence::Same
        );
    }

    #[test]
    fn answers_sharing_a_number_are_not_settled_by_their_other_numbers() {
        assert_eq!(
            fast_equivalence(
                "No, 91 is not a prime number",
                "No, 91 is the product of 7 and 13"
            ),
            Equivalence::Unsure
        );
        assert_eq!(
            fast_equivalence("Take 2.5 mg or 5 mg", "Take 10 mg"),
            Equivalence::Different
        );
        assert_eq!(
            fast_equivalence("Less than 6% of adults", "Less than 10% of adults"),
            Equivalence::Unsure
        );
    }

    #[test]
    fn a_paraphrase_is_left_to_the_judge() {
        assert_eq!(
            fast_equivalence(
                "Metformin is the usual first-line drug",
                "Most guidelines start with metformin"
            ),
            Equivalence::Unsure
        );
    }

    #[test]
    fn clusters_agreement_and_entropy_follow_the_shares() {
        let answers = ["Metformin", "metformin.", "Insulin"];
        let clusters = cluster(answers.len(), |i, j| {
            fast_equivalence(answers[i], answers[j]) == Equivalence::Same
        });
        assert_eq!(clusters, vec![vec![0, 1], vec![2]]);
        assert!((agreement(&clusters) - 2.0 / 3.0).abs() < 1e-12);
        // −(2/3 ln 2/3 + 1/3 ln 1/3) = 0.6365 nats.
        assert!((semantic_entropy(&clusters) - 0.636_514).abs() < 1e-6);
        assert_eq!(semantic_entropy(&[vec![0, 1, 2]]), 0.0);
        let all_apart = [vec![0], vec![1], vec![2]];
        assert!((semantic_entropy(&all_apart) - 3f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn without_a_judge_the_fallback_still_refuses_an_opposite_or_a_different_number() {
        assert!(fallback_equivalent(
            "Metformin is the usual first-line drug for type 2 diabetes",
            "For type 2 diabetes metformin is the first-line drug"
        ));
        assert!(!fallback_equivalent(
            "Ibuprofen is safe in late pregnancy",
            "Ibuprofen is not safe in late pregnancy"
        ));
        assert!(!fallback_equivalent("Give 5 mg", "Give 10 mg"));
        assert!(!fallback_equivalent(
            "Metformin",
            "Most guidelines start with lifestyle change"
        ));
    }

    #[test]
    fn anonymising_drops_self_references_and_names() {
        assert_eq!(
            anonymise("As an AI language model, I cannot diagnose. Metformin is first-line."),
            "Metformin is first-line."
        );
        assert_eq!(
            anonymise("Claude thinks metformin."),
            "a model thinks metformin."
        );
        // Nothing but a self-reference: the text stays rather than vanish.
        assert_eq!(anonymise("I am an AI."), "I am an AI.");
    }

    #[test]
    fn the_representative_is_the_most_typical_member() {
        let answers = [
            "metformin first line",
            "metformin is first line for diabetes",
            "metformin first line diabetes",
        ];
        // 1 and 2 share the most with the others, equally; the earlier wins.
        assert_eq!(representative(&[0, 1, 2], &answers), Some(1));
        assert_eq!(representative(&[0, 2], &answers), Some(0));
        assert_eq!(representative(&[1], &answers), Some(1));
        assert_eq!(representative(&[], &answers), None);
    }

    #[test]
    fn fewer_than_two_answers_is_never_a_consensus() {
        assert_eq!(status(1, 1.0, 0.5), Status::Insufficient);
        assert_eq!(status(3, 2.0 / 3.0, 0.6), Status::Reached);
        assert_eq!(status(3, 2.0 / 3.0, 0.7), Status::NotReached);
        assert_eq!(agreement(&[]), 0.0);
    }
}
