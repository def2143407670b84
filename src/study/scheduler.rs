//! Spaced-repetition scheduling: the FSRS-6 memory model of the `fsrs` crate for stability
//! and difficulty, with the learning and relearning steps and the interval fuzz that the
//! crate leaves to its callers, done the way Anki and the reference Python scheduler (PyPI
//! `fsrs`) do them. Pure: it reads no store and no clock; the caller passes the time.
//!
//! The fuzz is seeded by the card and its review count, so a review replays to the same
//! interval (tests and a retried write agree). With steps and fuzz off, schedules equal the
//! reference implementation's (see `tests/fsrs/golden.json`).

use fsrs::{FSRS, MemoryState, check_and_fill_parameters};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::identity::Timestamp;

const DAY_SECONDS: i64 = 86_400;

/// The four answers of a review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rating {
    Again,
    Hard,
    Good,
    Easy,
}

impl Rating {
    /// FSRS's numbering: 1 again … 4 easy.
    pub fn number(self) -> u32 {
        match self {
            Rating::Again => 1,
            Rating::Hard => 2,
            Rating::Good => 3,
            Rating::Easy => 4,
        }
    }

    pub fn from_number(number: u32) -> Option<Rating> {
        match number {
            1 => Some(Rating::Again),
            2 => Some(Rating::Hard),
            3 => Some(Rating::Good),
            4 => Some(Rating::Easy),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Rating::Again => "again",
            Rating::Hard => "hard",
            Rating::Good => "good",
            Rating::Easy => "easy",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CardState {
    New,
    Learning,
    Review,
    Relearning,
}

impl CardState {
    pub fn as_str(self) -> &'static str {
        match self {
            CardState::New => "new",
            CardState::Learning => "learning",
            CardState::Review => "review",
            CardState::Relearning => "relearning",
        }
    }

    pub fn parse(text: &str) -> Option<CardState> {
        match text {
            "new" => Some(CardState::New),
            "learning" => Some(CardState::Learning),
            "review" => Some(CardState::Review),
            "relearning" => Some(CardState::Relearning),
            _ => None,
        }
    }
}

/// Where a card stands in its schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub state: CardState,
    /// The learning or relearning step the card is on.
    pub step: u32,
    pub stability: Option<f64>,
    pub difficulty: Option<f64>,
    pub due: Timestamp,
    pub last_review: Option<Timestamp>,
    pub reps: u32,
    pub lapses: u32,
}

impl Schedule {
    /// A card never reviewed, due at once.
    pub fn new_card(now: Timestamp) -> Schedule {
        Schedule {
            state: CardState::New,
            step: 0,
            stability: None,
            difficulty: None,
            due: now,
            last_review: None,
            reps: 0,
            lapses: 0,
        }
    }
}

/// How a deck schedules.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub desired_retention: f64,
    /// Seconds of each learning step (Anki's default: 1 min, 10 min).
    pub learning_steps: Vec<i64>,
    /// Seconds of each relearning step (Anki's default: 10 min).
    pub relearning_steps: Vec<i64>,
    pub maximum_interval_days: u32,
    pub fuzz: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            desired_retention: 0.9,
            learning_steps: vec![60, 600],
            relearning_steps: vec![600],
            maximum_interval_days: 36_500,
            fuzz: true,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SchedulerError {
    #[error("the FSRS parameters are not valid: {0}")]
    Parameters(String),
    #[error("desired retention must be between 0.7 and 0.99")]
    Retention,
    #[error("the card's memory state could not be computed")]
    Model,
}

/// The outcome of one review.
#[derive(Debug, Clone, PartialEq)]
pub struct Reviewed {
    pub schedule: Schedule,
    /// Whole days since the previous review (0 for the first).
    pub elapsed_days: u32,
    /// Days until the card is due again (fractions for steps).
    pub scheduled_days: f64,
}

/// The FSRS-6 scheduler with a deck's settings.
pub struct Scheduler {
    model: FSRS,
    /// The parameters as filled in (21 of them): `w[20]` is the decay.
    parameters: Vec<f32>,
    settings: Settings,
}

/// Fuzz ranges of Anki and the reference scheduler: intervals under 2.5 days are not fuzzed;
/// above, by ±15% of the part up to 7 days, ±10% of 7–20 days and ±5% beyond, plus a day.
const FUZZ_RANGES: [(f64, f64, f64); 3] = [
    (2.5, 7.0, 0.15),
    (7.0, 20.0, 0.10),
    (20.0, f64::INFINITY, 0.05),
];

impl Scheduler {
    /// `parameters` empty means FSRS-6's defaults.
    pub fn new(parameters: &[f32], settings: Settings) -> Result<Scheduler, SchedulerError> {
        if !(0.7..=0.99).contains(&settings.desired_retention) {
            return Err(SchedulerError::Retention);
        }
        let filled = check_and_fill_parameters(parameters)
            .map_err(|e| SchedulerError::Parameters(e.to_string()))?;
        let model = FSRS::new(&filled).map_err(|e| SchedulerError::Parameters(e.to_string()))?;
        Ok(Scheduler {
            model,
            parameters: filled,
            settings,
        })
    }

    /// The scheduler with `fitted` parameters when there are valid ones, else FSRS-6's
    /// defaults, and whether the fitted ones are in use: a stored set the model no longer
    /// accepts never fails a review.
    pub fn for_deck(
        fitted: Option<&[f32]>,
        settings: Settings,
    ) -> Result<(Scheduler, bool), SchedulerError> {
        if let Some(parameters) = fitted
            && let Ok(scheduler) = Scheduler::new(parameters, settings.clone())
        {
            return Ok((scheduler, true));
        }
        Ok((Scheduler::new(&[], settings)?, false))
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The interval in whole days that reaches the desired retention from `stability`,
    /// rounded as the reference does (half to even), between 1 day and the maximum.
    pub fn interval_days(&self, stability: f64) -> u32 {
        let decay = -f64::from(self.parameters[20]);
        let factor = 0.9f64.powf(1.0 / decay) - 1.0;
        let raw = stability / factor * (self.settings.desired_retention.powf(1.0 / decay) - 1.0);
        let days = raw.round_ties_even().max(1.0);
        days.min(f64::from(self.settings.maximum_interval_days)) as u32
    }

    /// The chance of recalling a card now.
    pub fn retrievability(&self, schedule: &Schedule, now: Timestamp) -> Option<f64> {
        let stability = schedule.stability?;
        let last = schedule.last_review?;
        let elapsed = whole_days(last, now) as f64;
        let decay = -f64::from(self.parameters[20]);
        let factor = 0.9f64.powf(1.0 / decay) - 1.0;
        Some((1.0 + factor * elapsed / stability).powf(decay))
    }

    /// Reviews `card` (whose id seeds the fuzz) with `rating` at `now`.
    pub fn review(
        &self,
        card: &str,
        current: &Schedule,
        rating: Rating,
        now: Timestamp,
    ) -> Result<Reviewed, SchedulerError> {
        let elapsed_days = current.last_review.map_or(0, |last| whole_days(last, now));
        let memory = match (current.stability, current.difficulty) {
            (Some(stability), Some(difficulty)) => Some(MemoryState {
                stability: stability as f32,
                difficulty: difficulty as f32,
            }),
            _ => None,
        };
        let next = self
            .model
            .next_states(memory, self.settings.desired_retention as f32, elapsed_days)
            .map_err(|_| SchedulerError::Model)?;
        let chosen = match rating {
            Rating::Again => next.again,
            Rating::Hard => next.hard,
            Rating::Good => next.good,
            Rating::Easy => next.easy,
        };
        let stability = f64::from(chosen.memory.stability);
        let difficulty = f64::from(chosen.memory.difficulty);
        let mut schedule = Schedule {
            stability: Some(stability),
            difficulty: Some(difficulty),
            last_review: Some(now),
            reps: current.reps + 1,
            ..current.clone()
        };

        // What comes next: a step (seconds) or a review interval (days).
        enum Next {
            Step(i64),
            Days(u32),
        }
        let state = match current.state {
            CardState::New => CardState::Learning,
            other => other,
        };
        let step = if current.state == CardState::New {
            0
        } else {
            current.step
        };
        let next = match state {
            CardState::Learning | CardState::Relearning => {
                let steps = if state == CardState::Learning {
                    &self.settings.learning_steps
                } else {
                    &self.settings.relearning_steps
                };
                let graduate =
                    steps.is_empty() || (step as usize >= steps.len() && rating != Rating::Again);
                if graduate {
                    schedule.state = CardState::Review;
                    schedule.step = 0;
                    Next::Days(self.interval_days(stability))
                } else {
                    let at = |i: u32| steps.get(i as usize).copied().unwrap_or(0);
                    match rating {
                        Rating::Again => {
                            schedule.state = state;
                            schedule.step = 0;
                            Next::Step(at(0))
                        }
                        Rating::Hard => {
                            schedule.state = state;
                            schedule.step = step;
                            Next::Step(if step == 0 && steps.len() == 1 {
                                at(0) * 3 / 2
                            } else if step == 0 {
                                (at(0) + at(1)) / 2
                            } else {
                                at(step)
                            })
                        }
                        Rating::Good if (step as usize) + 1 < steps.len() => {
                            schedule.state = state;
                            schedule.step = step + 1;
                            Next::Step(at(step + 1))
                        }
                        Rating::Good | Rating::Easy => {
                            schedule.state = CardState::Review;
                            schedule.step = 0;
                            Next::Days(self.interval_days(stability))
                        }
                    }
                }
            }
            CardState::Review | CardState::New => {
                if rating == Rating::Again {
                    schedule.lapses += 1;
                    if let Some(first) = self.settings.relearning_steps.first() {
                        schedule.state = CardState::Relearning;
                        schedule.step = 0;
                        Next::Step(*first)
                    } else {
                        Next::Days(self.interval_days(stability))
                    }
                } else {
                    Next::Days(self.interval_days(stability))
                }
            }
        };
        let scheduled_days = match next {
            Next::Step(seconds) => {
                schedule.due = now.plus_seconds(seconds);
                seconds as f64 / DAY_SECONDS as f64
            }
            Next::Days(days) => {
                let days = if self.settings.fuzz {
                    self.fuzzed(days, card, schedule.reps)
                } else {
                    days
                };
                schedule.due = now.plus_seconds(i64::from(days) * DAY_SECONDS);
                f64::from(days)
            }
        };
        Ok(Reviewed {
            schedule,
            elapsed_days,
            scheduled_days,
        })
    }

    /// `days` moved by a random amount within Anki's fuzz range, the randomness drawn from the
    /// card and its review count.
    fn fuzzed(&self, days: u32, card: &str, reps: u32) -> u32 {
        let interval = f64::from(days);
        if interval < 2.5 {
            return days;
        }
        let delta = 1.0
            + FUZZ_RANGES
                .iter()
                .map(|(start, end, factor)| factor * (interval.min(*end) - start).max(0.0))
                .sum::<f64>();
        let maximum = f64::from(self.settings.maximum_interval_days);
        let high = (interval + delta).round_ties_even().min(maximum);
        let low = (interval - delta).round_ties_even().max(2.0).min(high);
        let fuzzed = (seeded_unit(card, reps) * (high - low + 1.0) + low).floor();
        fuzzed.min(high).min(maximum) as u32
    }
}

/// A number in [0, 1) drawn from the card's id and review count.
fn seeded_unit(card: &str, reps: u32) -> f64 {
    let digest = Sha256::new()
        .chain_update(card.as_bytes())
        .chain_update(reps.to_le_bytes())
        .finalize();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

/// Whole days from `from` to `to`, never negative (a clock set back reads as the same day).
pub fn whole_days(from: Timestamp, to: Timestamp) -> u32 {
    let seconds = to.unix_seconds() - from.unix_seconds();
    u32::try_from(seconds.max(0) / DAY_SECONDS).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339(text).unwrap()
    }

    fn no_steps_no_fuzz(retention: f64) -> Settings {
        Settings {
            desired_retention: retention,
            learning_steps: Vec::new(),
            relearning_steps: Vec::new(),
            maximum_interval_days: 36_500,
            fuzz: false,
        }
    }

    /// Every golden sequence written by the reference implementation (PyPI `fsrs` 6.3.2,
    /// steps and fuzz off) replays to the same stability, difficulty (4 decimals) and
    /// interval.
    #[test]
    fn schedules_equal_the_reference_implementation() {
        let golden: Value =
            serde_json::from_str(include_str!("../../tests/fsrs/golden.json")).unwrap();
        let sequences = golden["sequences"].as_array().unwrap();
        assert!(sequences.len() >= 16);
        let mut checked = 0;
        for (n, sequence) in sequences.iter().enumerate() {
            let parameters: Vec<f32> = sequence["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_f64().unwrap() as f32)
                .collect();
            let retention = sequence["desired_retention"].as_f64().unwrap();
            let scheduler = Scheduler::new(&parameters, no_steps_no_fuzz(retention)).unwrap();
            let first = at(sequence["reviews"][0]["at"].as_str().unwrap());
            let mut schedule = Schedule::new_card(first);
            for (i, review) in sequence["reviews"].as_array().unwrap().iter().enumerate() {
                let now = at(review["at"].as_str().unwrap());
                let rating =
                    Rating::from_number(review["rating"].as_u64().unwrap() as u32).unwrap();
                let reviewed = scheduler.review("card", &schedule, rating, now).unwrap();
                schedule = reviewed.schedule;
                let (s, d) = (schedule.stability.unwrap(), schedule.difficulty.unwrap());
                let (want_s, want_d) = (
                    review["stability"].as_f64().unwrap(),
                    review["difficulty"].as_f64().unwrap(),
                );
                let close = |a: f64, b: f64| (a - b).abs() < 5e-5 * b.abs().max(1.0);
                assert!(
                    close(s, want_s),
                    "sequence {n} review {i}: stability {s} vs {want_s}"
                );
                assert!(
                    close(d, want_d),
                    "sequence {n} review {i}: difficulty {d} vs {want_d}"
                );
                assert_eq!(
                    reviewed.scheduled_days,
                    review["interval_days"].as_f64().unwrap(),
                    "sequence {n} review {i}: interval"
                );
                checked += 1;
            }
        }
        assert!(checked >= 160);
    }

    #[test]
    fn a_new_card_walks_the_learning_steps_then_graduates() {
        let scheduler = Scheduler::new(&[], Settings::default()).unwrap();
        let now = at("2026-03-01T09:00:00Z");
        let card = Schedule::new_card(now);
        let again = scheduler.review("c1", &card, Rating::Again, now).unwrap();
        assert_eq!(again.schedule.state, CardState::Learning);
        assert_eq!(again.schedule.due, now.plus_seconds(60));
        let hard = scheduler.review("c1", &card, Rating::Hard, now).unwrap();
        assert_eq!(
            hard.schedule.due,
            now.plus_seconds(330),
            "halfway between the steps"
        );
        let good = scheduler.review("c1", &card, Rating::Good, now).unwrap();
        assert_eq!(
            (good.schedule.state, good.schedule.step),
            (CardState::Learning, 1)
        );
        assert_eq!(good.schedule.due, now.plus_seconds(600));
        let later = now.plus_seconds(600);
        let graduated = scheduler
            .review("c1", &good.schedule, Rating::Good, later)
            .unwrap();
        assert_eq!(graduated.schedule.state, CardState::Review);
        assert!(graduated.scheduled_days >= 1.0);
        let easy = scheduler.review("c1", &card, Rating::Easy, now).unwrap();
        assert_eq!(easy.schedule.state, CardState::Review);
        assert!(easy.scheduled_days > good.scheduled_days);
    }

    #[test]
    fn a_lapse_relearns_then_returns_to_review() {
        let scheduler = Scheduler::new(&[], Settings::default()).unwrap();
        let now = at("2026-03-01T09:00:00Z");
        let mut schedule = Schedule::new_card(now);
        schedule = scheduler
            .review("c2", &schedule, Rating::Easy, now)
            .unwrap()
            .schedule;
        let due = schedule.due;
        let lapse = scheduler
            .review("c2", &schedule, Rating::Again, due)
            .unwrap();
        assert_eq!(lapse.schedule.state, CardState::Relearning);
        assert_eq!(lapse.schedule.lapses, 1);
        assert_eq!(lapse.schedule.due, due.plus_seconds(600));
        let back = scheduler
            .review("c2", &lapse.schedule, Rating::Good, due.plus_seconds(600))
            .unwrap();
        assert_eq!(back.schedule.state, CardState::Review);
        assert!(back.schedule.stability.unwrap() < schedule.stability.unwrap());
    }

    #[test]
    fn fuzz_is_repeatable_per_card_and_stays_in_anki_s_range() {
        let scheduler = Scheduler::new(&[], Settings::default()).unwrap();
        for days in [3u32, 10, 30, 200] {
            let interval = f64::from(days);
            let delta = 1.0
                + FUZZ_RANGES
                    .iter()
                    .map(|(s, e, f)| f * (interval.min(*e) - s).max(0.0))
                    .sum::<f64>();
            let mut seen = std::collections::BTreeSet::new();
            for card in 0..200 {
                let id = format!("card-{card}");
                let fuzzed = scheduler.fuzzed(days, &id, 3);
                assert_eq!(fuzzed, scheduler.fuzzed(days, &id, 3), "repeatable");
                assert!(f64::from(fuzzed) >= (interval - delta).round() - 1.0);
                assert!(f64::from(fuzzed) <= (interval + delta).round());
                seen.insert(fuzzed);
            }
            assert!(seen.len() > 1, "fuzz spreads cards due on the same day");
        }
        assert_eq!(
            scheduler.fuzzed(2, "x", 1),
            2,
            "short intervals are not fuzzed"
        );
    }

    #[test]
    fn bad_settings_are_refused() {
        let retention = Settings {
            desired_retention: 0.5,
            ..Settings::default()
        };
        assert_eq!(
            Scheduler::new(&[], retention).err(),
            Some(SchedulerError::Retention)
        );
        assert!(matches!(
            Scheduler::new(&[1.0, 2.0], Settings::default()),
            Err(SchedulerError::Parameters(_))
        ));
    }
}
