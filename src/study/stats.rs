//! What the review log says: retention, reviews per day, the workload ahead, and fitting a
//! student's own FSRS parameters to their log. Pure over what the caller read from the
//! store, except [`fit_parameters`], which is CPU-bound and must run on a blocking thread.

use std::collections::BTreeMap;

use fsrs::{ComputeParametersInput, FSRSItem, FSRSReview, compute_parameters};
use serde::Serialize;

use super::decks::ReviewEntry;
use super::scheduler::{CardState, whole_days};
use crate::identity::Timestamp;

/// Days of history and of forecast shown.
pub const WINDOW_DAYS: i64 = 30;
/// Reviews below which a student's own parameters are not fitted: with fewer, the fit
/// follows noise more than memory (the crate itself only starts training beyond 64 items;
/// Anki's guidance asks for several hundred reviews), so the defaults are kept.
pub const MIN_REVIEWS_TO_FIT: usize = 400;

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CardCounts {
    pub total: u64,
    pub new: u64,
    pub learning: u64,
    pub review: u64,
    pub relearning: u64,
    pub due_now: u64,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Retention {
    /// Share of reviews of cards already in review answered hard, good or easy, over the
    /// last 30 days (Anki's "true retention"); none without such reviews.
    pub measured: Option<f64>,
    pub reviews_counted: u64,
    pub desired: f64,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct DayReviews {
    /// UTC date, YYYY-MM-DD.
    pub date: String,
    pub reviews: u64,
    pub again: u64,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct DayDue {
    /// UTC date, YYYY-MM-DD; the first day also counts what is overdue.
    pub date: String,
    pub due: u64,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Workload {
    pub counts: CardCounts,
    pub retention: Retention,
    pub reviews_per_day: Vec<DayReviews>,
    pub average_reviews_per_day: f64,
    pub forecast: Vec<DayDue>,
}

fn date_of(at: Timestamp) -> String {
    at.to_rfc3339().chars().take(10).collect()
}

fn midnight(at: Timestamp) -> Timestamp {
    let seconds = at.unix_seconds();
    Timestamp::from_unix_seconds(seconds - seconds.rem_euclid(86_400)).unwrap_or(at)
}

/// Counts, retention, the last 30 days of reviews and the next 30 days of due cards.
pub fn workload(
    now: Timestamp,
    reviews: &[ReviewEntry],
    due_dates: &[(CardState, Timestamp)],
    desired_retention: f64,
) -> Workload {
    let today = midnight(now);
    let window_start = today.plus_seconds(-(WINDOW_DAYS - 1) * 86_400);
    let mut per_day: BTreeMap<String, (u64, u64)> = (0..WINDOW_DAYS)
        .map(|d| (date_of(window_start.plus_seconds(d * 86_400)), (0, 0)))
        .collect();
    let (mut mature, mut recalled) = (0u64, 0u64);
    for review in reviews.iter().filter(|r| r.reviewed_at >= window_start) {
        if let Some(day) = per_day.get_mut(&date_of(review.reviewed_at)) {
            day.0 += 1;
            day.1 += u64::from(review.rating == 1);
        }
        if review.state_before == CardState::Review.as_str() {
            mature += 1;
            recalled += u64::from(review.rating > 1);
        }
    }
    let reviews_per_day: Vec<DayReviews> = per_day
        .into_iter()
        .map(|(date, (reviews, again))| DayReviews {
            date,
            reviews,
            again,
        })
        .collect();
    let total_reviews: u64 = reviews_per_day.iter().map(|d| d.reviews).sum();

    let mut counts = CardCounts {
        total: due_dates.len() as u64,
        new: 0,
        learning: 0,
        review: 0,
        relearning: 0,
        due_now: 0,
    };
    let mut forecast: Vec<DayDue> = (0..WINDOW_DAYS)
        .map(|d| DayDue {
            date: date_of(today.plus_seconds(d * 86_400)),
            due: 0,
        })
        .collect();
    for (state, due) in due_dates {
        match state {
            CardState::New => counts.new += 1,
            CardState::Learning => counts.learning += 1,
            CardState::Review => counts.review += 1,
            CardState::Relearning => counts.relearning += 1,
        }
        if *due <= now {
            counts.due_now += 1;
        }
        // New cards are not workload until the student starts them.
        if *state == CardState::New {
            continue;
        }
        let day = if *due <= today {
            0
        } else {
            whole_days(today, *due) as usize
        };
        if let Some(slot) = forecast.get_mut(day) {
            slot.due += 1;
        }
    }
    Workload {
        counts,
        retention: Retention {
            measured: (mature > 0).then(|| recalled as f64 / mature as f64),
            reviews_counted: mature,
            desired: desired_retention,
        },
        average_reviews_per_day: total_reviews as f64 / WINDOW_DAYS as f64,
        reviews_per_day,
        forecast,
    }
}

/// The training items FSRS learns from: for every card, each review after its first with
/// the history before it, in days between reviews.
pub fn training_items(reviews: &[ReviewEntry]) -> Vec<FSRSItem> {
    let mut by_card: BTreeMap<&str, Vec<&ReviewEntry>> = BTreeMap::new();
    for review in reviews {
        by_card.entry(&review.card_id).or_default().push(review);
    }
    let mut items = Vec::new();
    for history in by_card.values_mut() {
        history.sort_by_key(|r| r.reviewed_at);
        let mut sequence: Vec<FSRSReview> = Vec::with_capacity(history.len());
        let mut previous: Option<Timestamp> = None;
        for review in history.iter() {
            let delta_t = previous.map_or(0, |p| whole_days(p, review.reviewed_at));
            previous = Some(review.reviewed_at);
            sequence.push(FSRSReview {
                rating: review.rating.clamp(1, 4),
                delta_t,
            });
            if sequence.len() >= 2 {
                items.push(FSRSItem {
                    reviews: sequence.clone(),
                });
            }
        }
    }
    items
}

#[derive(Debug, thiserror::Error)]
pub enum FitError {
    #[error("{have} reviews; fitting needs at least {MIN_REVIEWS_TO_FIT}")]
    TooFew { have: usize },
    #[error("the optimiser failed: {0}")]
    Optimiser(String),
}

/// Fits FSRS parameters to `reviews`. CPU-bound: call it on a blocking thread.
pub fn fit_parameters(reviews: &[ReviewEntry]) -> Result<Vec<f32>, FitError> {
    if reviews.len() < MIN_REVIEWS_TO_FIT {
        return Err(FitError::TooFew {
            have: reviews.len(),
        });
    }
    let input = ComputeParametersInput {
        train_set: training_items(reviews),
        ..ComputeParametersInput::default()
    };
    compute_parameters(input).map_err(|e| FitError::Optimiser(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339(text).unwrap()
    }

    fn review(card: &str, when: &str, rating: u32, state: &str) -> ReviewEntry {
        ReviewEntry {
            card_id: card.into(),
            deck_id: "d".into(),
            reviewed_at: at(when),
            rating,
            state_before: state.into(),
            elapsed_days: 0,
            scheduled_days: 1.0,
        }
    }

    #[test]
    fn retention_counts_only_cards_already_in_review() {
        let now = at("2026-05-30T12:00:00Z");
        let reviews = vec![
            review("a", "2026-05-29T08:00:00Z", 1, "new"),
            review("a", "2026-05-29T08:10:00Z", 3, "learning"),
            review("b", "2026-05-30T08:00:00Z", 3, "review"),
            review("c", "2026-05-30T09:00:00Z", 1, "review"),
            review("d", "2026-05-30T10:00:00Z", 4, "review"),
            review("e", "2026-01-01T10:00:00Z", 1, "review"),
        ];
        let work = workload(now, &reviews, &[], 0.9);
        assert_eq!(work.retention.reviews_counted, 3);
        assert!((work.retention.measured.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(work.reviews_per_day.len(), 30);
        let last = work.reviews_per_day.last().unwrap();
        assert_eq!(
            (last.date.as_str(), last.reviews, last.again),
            ("2026-05-30", 3, 1)
        );
        assert!((work.average_reviews_per_day - 5.0 / 30.0).abs() < 1e-12);
    }

    #[test]
    fn the_forecast_puts_overdue_cards_today_and_leaves_new_ones_out() {
        let now = at("2026-05-30T12:00:00Z");
        let due = vec![
            (CardState::Review, at("2026-05-20T00:00:00Z")),
            (CardState::Review, at("2026-05-30T18:00:00Z")),
            (CardState::Review, at("2026-06-02T07:00:00Z")),
            (CardState::Learning, at("2026-05-30T12:05:00Z")),
            (CardState::New, at("2026-05-30T00:00:00Z")),
            (CardState::Review, at("2026-09-01T00:00:00Z")),
        ];
        let work = workload(now, &[], &due, 0.9);
        assert_eq!(work.forecast[0].date, "2026-05-30");
        assert_eq!(work.forecast[0].due, 3);
        assert_eq!(work.forecast[3].due, 1);
        assert_eq!(work.forecast.iter().map(|d| d.due).sum::<u64>(), 4);
        assert_eq!(work.counts.due_now, 2);
        assert_eq!((work.counts.new, work.counts.review), (1, 4));
    }

    #[test]
    fn training_items_are_each_review_with_its_history() {
        let reviews = vec![
            review("a", "2026-05-01T08:00:00Z", 3, "new"),
            review("a", "2026-05-04T09:00:00Z", 3, "review"),
            review("a", "2026-05-14T09:00:00Z", 1, "review"),
            review("b", "2026-05-01T08:00:00Z", 4, "new"),
        ];
        let items = training_items(&reviews);
        assert_eq!(items.len(), 2);
        let last = &items[1].reviews;
        assert_eq!(
            last.iter()
                .map(|r| (r.rating, r.delta_t))
                .collect::<Vec<_>>(),
            [(3, 0), (3, 3), (1, 10)]
        );
    }

    #[test]
    fn too_few_reviews_are_not_fitted() {
        let reviews = vec![review("a", "2026-05-01T08:00:00Z", 3, "new")];
        assert!(matches!(
            fit_parameters(&reviews),
            Err(FitError::TooFew { have: 1 })
        ));
    }
}

/// Seconds a review takes when the log holds too few timed reviews to measure it (a
/// typical figure for short-answer cards; the plan says which it used).
pub const DEFAULT_REVIEW_SECONDS: f64 = 10.0;
/// Timed reviews needed before the student's own median is used.
const MIN_TIMED_REVIEWS: usize = 20;
/// The length of one study block, in minutes.
const BLOCK_MINUTES: u32 = 25;

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PlanBlock {
    pub topic: String,
    /// `mcq_quiz`, `flashcards` or `case` — the tool to use for it.
    pub activity: String,
    pub minutes: u32,
    /// Why this topic now.
    pub why: String,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PlanDay {
    pub date: String,
    pub reviews_due: u64,
    pub review_minutes: u32,
    pub blocks: Vec<PlanBlock>,
    /// Minutes left after reviews and blocks.
    pub spare_minutes: u32,
}

/// A topic with what is known of the student's grip on it.
#[derive(Debug, Clone)]
pub struct TopicStanding {
    pub topic: String,
    /// MCQ accuracy, if the student has answered questions on it.
    pub accuracy: Option<f64>,
}

/// The seconds one review takes: the median of the student's timed reviews, or the default.
pub fn review_seconds(durations_ms: &[u64]) -> (f64, bool) {
    if durations_ms.len() < MIN_TIMED_REVIEWS {
        return (DEFAULT_REVIEW_SECONDS, false);
    }
    let mut sorted = durations_ms.to_vec();
    sorted.sort_unstable();
    // A review left open for minutes is an interruption, not a review.
    let median = sorted[sorted.len() / 2].min(120_000);
    (median as f64 / 1000.0, true)
}

/// Days of study: the reviews FSRS has due each day come first, then blocks of new work on
/// the weakest topics (lowest MCQ accuracy first, untested next), rotating activities.
pub fn plan(
    forecast: &[DayDue],
    days: usize,
    minutes_per_day: u32,
    seconds_per_review: f64,
    topics: &[TopicStanding],
) -> Vec<PlanDay> {
    let mut ranked: Vec<&TopicStanding> = topics.iter().collect();
    ranked.sort_by(|a, b| {
        let key = |t: &TopicStanding| t.accuracy.unwrap_or(0.75);
        key(a)
            .total_cmp(&key(b))
            .then_with(|| a.topic.cmp(&b.topic))
    });
    let activities = ["mcq_quiz", "flashcards", "case"];
    let mut next_topic = 0usize;
    let mut next_activity = 0usize;
    forecast
        .iter()
        .take(days)
        .map(|day| {
            let review_minutes = ((day.due as f64 * seconds_per_review) / 60.0)
                .ceil()
                .min(f64::from(u32::MAX)) as u32;
            let mut left = minutes_per_day.saturating_sub(review_minutes);
            let mut blocks = Vec::new();
            while left >= 10 && !ranked.is_empty() {
                let topic = ranked[next_topic % ranked.len()];
                let minutes = left.min(BLOCK_MINUTES);
                let why = match topic.accuracy {
                    Some(a) => format!("your MCQ accuracy on it is {:.0}%", a * 100.0),
                    None => "not tested yet".to_string(),
                };
                blocks.push(PlanBlock {
                    topic: topic.topic.clone(),
                    activity: activities[next_activity % activities.len()].to_string(),
                    minutes,
                    why,
                });
                left -= minutes;
                next_topic += 1;
                next_activity += 1;
            }
            PlanDay {
                date: day.date.clone(),
                reviews_due: day.due,
                review_minutes,
                blocks,
                spare_minutes: left,
            }
        })
        .collect()
}

#[cfg(test)]
mod plan_tests {
    use super::*;

    #[test]
    fn reviews_come_first_and_weak_topics_get_the_blocks() {
        let forecast: Vec<DayDue> = (0..3)
            .map(|d| DayDue {
                date: format!("2026-05-0{}", d + 1),
                due: [120, 30, 0][d],
            })
            .collect();
        let topics = vec![
            TopicStanding {
                topic: "renal".into(),
                accuracy: Some(0.9),
            },
            TopicStanding {
                topic: "acid-base".into(),
                accuracy: Some(0.4),
            },
            TopicStanding {
                topic: "cardiology".into(),
                accuracy: None,
            },
        ];
        let days = plan(&forecast, 3, 60, 10.0, &topics);
        assert_eq!(days.len(), 3);
        assert_eq!(days[0].review_minutes, 20, "120 reviews at 10 s");
        assert_eq!(days[0].blocks[0].topic, "acid-base", "the weakest first");
        assert_eq!(days[0].blocks[1].topic, "cardiology", "then the untested");
        let used: u32 =
            days[0].review_minutes + days[0].blocks.iter().map(|b| b.minutes).sum::<u32>();
        assert_eq!(used + days[0].spare_minutes, 60);
        assert_eq!(days[2].review_minutes, 0);
        assert!(
            days.iter()
                .all(|d| d.blocks.iter().all(|b| b.minutes <= 25))
        );
        let heavy = plan(
            &[DayDue {
                date: "d".into(),
                due: 1_000,
            }],
            1,
            60,
            10.0,
            &topics,
        );
        assert!(
            heavy[0].blocks.is_empty(),
            "a heavy review day leaves no new work"
        );
    }

    #[test]
    fn the_review_time_is_measured_once_there_are_enough_timed_reviews() {
        assert_eq!(review_seconds(&[5_000; 5]), (DEFAULT_REVIEW_SECONDS, false));
        let mut timed = vec![6_000u64; 30];
        timed.push(600_000);
        assert_eq!(review_seconds(&timed), (6.0, true));
    }
}
