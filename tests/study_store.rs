//! The study store in-process on a real SQLite file with a manual clock: months of reviews
//! scheduled by FSRS and kept in the log, concurrent reviews of one card both landing,
//! suspended and missing cards refused, a deleted card's history kept, the due window a subscriber is told about, and fitting a
//! student's own parameters once the log is long enough.

use std::sync::Arc;

use consilium::app::{App, AppParts};
use consilium::config::Config;
use consilium::identity::{Clock, ManualClock, Timestamp};
use consilium::study::deck_settings;
use consilium::study::decks::NewCard;
use consilium::study::decks::ReviewOutcome;
use consilium::study::scheduler::Rating;
use consilium::study::stats::{MIN_REVIEWS_TO_FIT, fit_parameters};
use tempfile::TempDir;

struct Setup {
    app: Arc<App>,
    clock: Arc<ManualClock>,
    _dir: TempDir,
}

async fn setup() -> Setup {
    let dir = TempDir::new().expect("dir");
    let mut config = Config::default();
    config.store.path = Some(dir.path().join("consilium.sqlite"));
    config.study.fuzz = false;
    let clock = Arc::new(ManualClock::at(
        Timestamp::parse_rfc3339("2026-02-01T08:00:00Z").expect("time"),
    ));
    let app = App::assemble(
        config,
        AppParts {
            clock: Some(clock.clone()),
            ..AppParts::default()
        },
    )
    .await
    .expect("the app starts");
    Setup {
        app,
        clock,
        _dir: dir,
    }
}

fn card(front: &str) -> NewCard {
    NewCard {
        front: front.into(),
        back: format!("answer to {front}"),
        tags: vec!["renal".into()],
        source: String::new(),
        written_by: "student".into(),
    }
}

/// Reviews a card the way the tool does.
async fn review(s: &Setup, id: &str, rating: Rating) -> consilium::study::Card {
    let study = s.app.config.study.clone();
    let outcome = s
        .app
        .decks
        .review(
            &s.app.local_owner.id,
            id,
            rating,
            Some(4_000),
            move |retention| deck_settings(&study, retention),
        )
        .await
        .expect("reviewed");
    match outcome {
        ReviewOutcome::Done { card, .. } => *card,
        other => panic!("the review did not land: {other:?}"),
    }
}

#[tokio::test]
async fn concurrent_reviews_all_land_and_deleted_cards_keep_their_history() {
    let s = setup().await;
    let owner = &s.app.local_owner.id;
    let decks = &s.app.decks;
    let deck = decks.deck_named(owner, "Renal").await.expect("deck");
    let cards = decks
        .add_cards(owner, &deck.id, vec![card("GFR"), card("AKI")])
        .await
        .expect("added");
    let first = cards[0].id.clone();
    // Two reviews of one card at once: each lands on the card as the other left it.
    let (a, b) = tokio::join!(
        review(&s, &first, Rating::Good),
        review(&s, &first, Rating::Easy)
    );
    assert_eq!(a.reps.max(b.reps), 2, "neither review is lost");
    assert_eq!(
        decks.reviews(owner, None, None).await.expect("log").len(),
        2
    );
    let suspended = decks
        .set_suspended(owner, &cards[1].id, true)
        .await
        .expect("suspended");
    let study = s.app.config.study.clone();
    let refused = decks
        .review(owner, &suspended.id, Rating::Good, None, move |r| {
            deck_settings(&study, r)
        })
        .await
        .expect("answered");
    assert!(matches!(refused, ReviewOutcome::Suspended));
    let study = s.app.config.study.clone();
    let missing = decks
        .review(owner, "no-such-card", Rating::Good, None, move |r| {
            deck_settings(&study, r)
        })
        .await
        .expect("answered");
    assert!(matches!(missing, ReviewOutcome::NotFound));

    decks.delete_card(owner, &first).await.expect("deleted");
    assert_eq!(
        decks.reviews(owner, None, None).await.expect("log").len(),
        2,
        "the history outlives the card"
    );
    let searched = decks.search(owner, "AKI", None, 10).await.expect("search");
    assert_eq!(searched.len(), 1);
    let searched = decks.search(owner, "GFR", None, 10).await.expect("search");
    assert!(searched.is_empty(), "a deleted card leaves the index");
}

#[tokio::test]
async fn months_of_reviews_follow_fsrs_and_the_due_window_is_exact() {
    let s = setup().await;
    let owner = &s.app.local_owner.id;
    let decks = &s.app.decks;
    let deck = decks.deck_named(owner, "Renal").await.expect("deck");
    let added = decks
        .add_cards(owner, &deck.id, vec![card("Na")])
        .await
        .expect("added");
    let id = added[0].id.clone();
    // Learning steps of 1 and 10 minutes, then day-long intervals that grow.
    let first = review(&s, &id, Rating::Good).await;
    assert_eq!(first.state.as_str(), "learning");
    s.clock.advance(600);
    let graduated = review(&s, &id, Rating::Good).await;
    assert_eq!(graduated.state.as_str(), "review");
    let mut intervals = Vec::new();
    let mut last_due = Timestamp::parse_rfc3339(&graduated.due).expect("due");
    for _ in 0..5 {
        let before = s.clock.now();
        s.clock.set(last_due);
        assert!(
            decks
                .fell_due(owner, before, last_due)
                .await
                .expect("window"),
            "the card falls due inside the window that ends at its due time"
        );
        assert!(
            !decks
                .fell_due(owner, last_due, last_due.plus_seconds(1))
                .await
                .expect("window")
        );
        let reviewed = review(&s, &id, Rating::Good).await;
        let due = Timestamp::parse_rfc3339(&reviewed.due).expect("due");
        intervals.push((due.unix_seconds() - last_due.unix_seconds()) / 86_400);
        last_due = due;
    }
    assert!(
        intervals.windows(2).all(|w| w[1] > w[0]),
        "intervals grow with each good review: {intervals:?}"
    );
    let log = decks.reviews(owner, None, None).await.expect("log");
    assert_eq!(log.len(), 7);
    assert_eq!(log.last().map(|r| r.rating), Some(3));
}

#[tokio::test]
async fn a_long_enough_log_fits_parameters_of_its_own() {
    let s = setup().await;
    let owner = &s.app.local_owner.id;
    let decks = &s.app.decks;
    let deck = decks.deck_named(owner, "Pharmacology").await.expect("deck");
    let fronts: Vec<String> = (0..60).map(|i| format!("drug {i}")).collect();
    let added = decks
        .add_cards(owner, &deck.id, fronts.iter().map(|f| card(f)).collect())
        .await
        .expect("added");
    // Sixty cards reviewed daily for as long as they are due, forgetting every fifth review.
    let mut reviews = 0;
    let mut n = 0u32;
    for _day in 0..120 {
        for c in &added {
            let current = decks.card(owner, &c.id).await.expect("read").expect("card");
            let due = Timestamp::parse_rfc3339(&current.due).expect("due");
            if due > s.clock.now() {
                continue;
            }
            n += 1;
            let rating = if n.is_multiple_of(5) {
                Rating::Again
            } else {
                Rating::Good
            };
            review(&s, &c.id, rating).await;
            reviews += 1;
        }
        s.clock.advance(86_400);
        if reviews >= MIN_REVIEWS_TO_FIT + 50 {
            break;
        }
    }
    let log = decks.reviews(owner, None, None).await.expect("log");
    assert!(log.len() >= MIN_REVIEWS_TO_FIT, "{} reviews", log.len());
    let fitted = tokio::task::spawn_blocking(move || fit_parameters(&log))
        .await
        .expect("joined")
        .expect("fitted");
    assert_eq!(fitted.len(), 21);
    assert!(fitted.iter().all(|w| w.is_finite()));
    assert_ne!(fitted, fsrs_defaults(), "the fit moved off the defaults");
}

fn fsrs_defaults() -> Vec<f32> {
    vec![
        0.212, 1.2931, 2.3065, 8.2956, 6.4133, 0.8334, 3.0194, 0.001, 1.8722, 0.1666, 0.796,
        1.4835, 0.0614, 0.2629, 1.6483, 0.6014, 1.8729, 0.5425, 0.0912, 0.0658, 0.1542,
    ]
}
