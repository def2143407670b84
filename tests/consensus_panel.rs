//! Consensus panels against scripted providers on 127.0.0.1 speaking the real wire formats:
//! full agreement, a split panel settled by the entailment judge, a member failing, all
//! failing, a member timing out, a judge that fails, a chair's synthesis, and the trust
//! certificate of a real run — valid, tampered, under another key, for another answer, and
//! expired. The app is assembled in-process on a real SQLite file with a manual clock.

#[path = "support/upstream.rs"]
mod upstream;

use std::sync::Arc;
use std::time::{Duration, Instant};

use consilium::accounts::Requester;
use consilium::app::{App, AppParts};
use consilium::config::{Config, ModelChoice};
use consilium::consensus::certificate::{self, CERTIFICATE_KEY_PURPOSE, sha256_hex};
use consilium::consensus::convene::AnswerSource;
use consilium::consensus::panel::MemberOutcome;
use consilium::consensus::{ConsensusReport, Question, Seat};
use consilium::identity::{Clock, ManualClock, Timestamp};
use consilium::llm::manage::{self, KeyToAdd, Pool};
use tempfile::TempDir;
use upstream::{Behaviour, Upstream};
use zeroize::Zeroizing;

const QUESTION: &str = "What is the usual first-line drug for type 2 diabetes in adults?";

struct Setup {
    app: Arc<App>,
    upstream: Upstream,
    clock: Arc<ManualClock>,
    _dir: TempDir,
}

/// Three members on three providers, and a judge.
async fn setup(tune: impl FnOnce(&mut Config)) -> Setup {
    let upstream = Upstream::start().await;
    let dir = TempDir::new().expect("dir");
    let mut config = Config::default();
    config.store.path = Some(dir.path().join("consilium.sqlite"));
    config.llm.first_byte_timeout_secs = 5;
    config.llm.total_timeout_secs = 10;
    tune(&mut config);
    let clock = Arc::new(ManualClock::at(
        Timestamp::from_unix_seconds(1_800_000_000).expect("time"),
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
    let s = Setup {
        app,
        upstream,
        clock,
        _dir: dir,
    };
    s.add_key("alpha", "openai", "consensus").await;
    s.add_key("beta", "anthropic", "consensus").await;
    s.add_key("gamma", "gemini", "consensus").await;
    s.add_key("judge", "openai", "judge").await;
    s
}

/// The scripted judge: two answers entail each other when both name the same drug.
fn judge_by_drug(prompt: &str) -> String {
    let part = |label: &str| -> String {
        prompt
            .split(label)
            .nth(1)
            .unwrap_or_default()
            .split("Answer B:")
            .next()
            .unwrap_or_default()
            .split("Does A entail B")
            .next()
            .unwrap_or_default()
            .to_lowercase()
    };
    let (a, b) = (part("Answer A:"), part("Answer B:"));
    let drug = |text: &str| {
        ["metformin", "insulin", "sulfonylurea"]
            .into_iter()
            .find(|d| text.contains(d))
    };
    let same = drug(&a).is_some() && drug(&a) == drug(&b);
    format!(r#"{{"a_entails_b": {same}, "b_entails_a": {same}, "reason": "scripted"}}"#)
}

impl Setup {
    async fn add_key(&self, name: &str, provider: &str, feature: &str) {
        let key = KeyToAdd {
            provider: provider.into(),
            label: name.into(),
            secret: Zeroizing::new(format!("sk-{name}-0123456789abcdef")),
            base_url: Some(self.upstream.base_url(name, provider)),
            models: vec![format!("{name}-model")],
            features: vec![feature.into()],
            priority: 1,
            skip_test: true,
        };
        manage::add(
            &self.app,
            &Requester::local(self.app.local_principal()),
            Pool::Shared,
            key,
        )
        .await
        .expect("the key is added");
    }

    async fn seats(&self) -> Vec<Seat> {
        self.app
            .consensus
            .default_seats(&self.app.local_owner.id)
            .await
    }

    /// Asks alpha, beta and gamma, in that order.
    async fn ask(&self, deadline: Duration) -> ConsensusReport {
        let seats = [
            ("openai", "alpha"),
            ("anthropic", "beta"),
            ("gemini", "gamma"),
        ]
        .map(|(provider, name)| Seat {
            provider: provider.into(),
            model: format!("{name}-model"),
        })
        .to_vec();
        let question = Question {
            question: QUESTION.into(),
            context: None,
            seats,
            threshold: 0.6,
            member_deadline: deadline,
            max_tokens: 300,
        };
        self.app
            .consensus
            .convene(&self.app.local_owner.id, &question, None, None)
            .await
            .expect("the run completes")
    }

    fn reply(&self, name: &str, text: &str) {
        self.upstream
            .set_default(name, Behaviour::Text(text.to_string()));
    }
}

#[tokio::test]
async fn a_unanimous_panel_reaches_consensus_on_the_fast_path_alone() {
    let s = setup(|_| {}).await;
    let seats = s.seats().await;
    let mut labels: Vec<String> = seats.iter().map(Seat::label).collect();
    labels.sort();
    assert_eq!(
        labels,
        [
            "anthropic/beta-model",
            "gemini/gamma-model",
            "openai/alpha-model"
        ],
        "the default panel spreads over the providers and leaves the judge out"
    );
    for name in ["alpha", "beta", "gamma"] {
        s.reply(name, "Metformin.");
    }
    let report = s.ask(Duration::from_secs(5)).await;
    assert_eq!(report.status, "reached");
    assert_eq!(report.agreement, 1.0);
    assert_eq!(report.semantic_entropy, 0.0);
    assert_eq!(report.answered, 3);
    assert!(report.dissent.is_empty());
    assert_eq!(report.method.fast_path_pairs, 3);
    assert!(
        s.upstream.received("judge").is_empty(),
        "clear cases never reach the judge"
    );
    // Every member got the same neutral prompt, and none saw another's answer.
    let prompts: Vec<String> = ["alpha", "beta", "gamma"]
        .iter()
        .map(|n| {
            let body = &s.upstream.received(n)[0].body;
            let text = body.to_string();
            assert!(text.contains(QUESTION), "{text}");
            assert!(!text.contains("Metformin."), "{text}");
            text.contains("independently").to_string()
        })
        .collect();
    assert!(prompts.iter().all(|p| p == "true"));
    let answer = report.answer.as_ref().expect("an answer");
    assert!(answer.is_consensus);
    assert_eq!(answer.source, AnswerSource::MemberAnswer);
    assert_eq!(answer.label, "model-written");

    // The run is kept for its owner and no one else.
    let stored = s
        .app
        .consensus
        .runs()
        .get(&s.app.local_owner.id, &report.id)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(stored.result["question"], QUESTION);
    assert_eq!(stored.certificate, report.certificate);
    let stranger = consilium::identity::UserId::new_random();
    assert!(
        s.app
            .consensus
            .runs()
            .get(&stranger, &report.id)
            .await
            .expect("read")
            .is_none()
    );
}

#[tokio::test]
async fn a_split_panel_is_settled_by_the_judge_with_its_dissent_and_a_certificate() {
    let s = setup(|_| {}).await;
    s.reply(
        "alpha",
        "Metformin is the usual first-line drug for adults with type 2 diabetes.",
    );
    s.reply(
        "beta",
        "Most guidelines start with metformin, alongside lifestyle change.",
    );
    s.reply("gamma", "Start insulin at diagnosis.");
    s.upstream
        .set_default("judge", Behaviour::Compute(judge_by_drug));
    let report = s.ask(Duration::from_secs(5)).await;
    assert_eq!(report.status, "reached", "{report:#?}");
    assert!((report.agreement - 2.0 / 3.0).abs() < 1e-9);
    assert!((report.semantic_entropy - 0.636_514).abs() < 1e-5);
    assert_eq!(report.method.judged_pairs, 3, "{:?}", report.method);
    assert!(!report.method.judge_failed);
    let agreeing = report.agreeing.as_ref().expect("a largest cluster");
    assert_eq!(agreeing.members, [0, 1]);
    assert_eq!(report.dissent.len(), 1);
    assert_eq!(report.dissent[0].models, ["gemini/gamma-model"]);
    assert_eq!(report.dissent[0].answer, "Start insulin at diagnosis.");
    // The judge never learns which model wrote what.
    for received in s.upstream.received("judge") {
        let text = received.body.to_string();
        assert!(!text.contains("alpha-model") && !text.contains("gamma-model"));
    }

    // The certificate verifies against the server's keys and certifies this run by digest.
    let jws = report.certificate.as_deref().expect("a certificate");
    let keys = s
        .app
        .signing_keys
        .public_keys(CERTIFICATE_KEY_PURPOSE)
        .await
        .expect("keys");
    let verified = certificate::verify(jws, &keys, s.clock.now()).expect("it verifies");
    let answer = report.answer.as_ref().expect("answer");
    assert_eq!(verified.answer_sha256, sha256_hex(&answer.text));
    assert_eq!(verified.predicate.question_sha256, sha256_hex(QUESTION));
    assert_eq!(verified.predicate.clusters, vec![vec![0, 1], vec![2]]);
    assert_eq!(verified.predicate.panel.len(), 3);
    assert!(!verified.expired);
    assert!(
        !jws.contains("etformin") && !verified.statement.to_string().contains("etformin"),
        "no answer text in the certificate"
    );

    // Any changed byte of the payload breaks the signature.
    let parts: Vec<&str> = jws.split('.').collect();
    let mut payload = parts[1].as_bytes().to_vec();
    payload[10] = if payload[10] == b'A' { b'B' } else { b'A' };
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        String::from_utf8(payload).expect("ascii"),
        parts[2]
    );
    assert!(certificate::verify(&tampered, &keys, s.clock.now()).is_err());
    // Another server's keys do not verify it.
    let other = setup(|_| {}).await;
    let other_keys = {
        other
            .app
            .signing_keys
            .load_or_create(CERTIFICATE_KEY_PURPOSE)
            .await
            .expect("key");
        other
            .app
            .signing_keys
            .public_keys(CERTIFICATE_KEY_PURPOSE)
            .await
            .expect("keys")
    };
    assert!(matches!(
        certificate::verify(jws, &other_keys, s.clock.now()),
        Err(certificate::CertificateError::UnknownKey(_))
    ));
    // A year and a day later it has expired.
    s.clock.advance(366 * 86_400);
    assert!(
        certificate::verify(jws, &keys, s.clock.now())
            .expect("still signed")
            .expired
    );
}

#[tokio::test]
async fn a_failing_member_is_reported_and_the_rest_still_count() {
    let s = setup(|c| c.llm.max_attempts = 1).await;
    s.reply("alpha", "Metformin.");
    s.reply("beta", "metformin");
    s.upstream
        .set_default("gamma", Behaviour::Status(500, None, "overloaded"));
    let report = s.ask(Duration::from_secs(5)).await;
    assert_eq!(report.status, "reached");
    assert_eq!(report.answered, 2);
    assert_eq!(report.agreement, 1.0);
    let gamma = &report.members[2];
    assert_eq!(gamma.outcome, MemberOutcome::Failed);
    assert!(gamma.answer.is_none() && gamma.error.is_some());
    assert!(
        report.certificate.is_some(),
        "two agreeing answers are certified"
    );
}

#[tokio::test]
async fn a_panel_where_all_fail_is_insufficient_and_certifies_nothing() {
    let s = setup(|c| c.llm.max_attempts = 1).await;
    for name in ["alpha", "beta", "gamma"] {
        s.upstream
            .set_default(name, Behaviour::Status(503, None, "down"));
    }
    let report = s.ask(Duration::from_secs(5)).await;
    assert_eq!(report.status, "insufficient");
    assert_eq!(report.answered, 0);
    assert!(report.answer.is_none());
    assert!(report.certificate.is_none());
    assert!(
        report
            .members
            .iter()
            .all(|m| m.outcome == MemberOutcome::Failed)
    );
    assert!(report.notes.iter().any(|n| n.contains("0 of 3")));

    // One answer alone is insufficient too, never a consensus of one.
    s.reply("alpha", "Metformin.");
    let report = s.ask(Duration::from_secs(5)).await;
    assert_eq!(report.status, "insufficient");
    assert_eq!(report.answered, 1);
    assert!(!report.answer.expect("the one answer").is_consensus);
}

#[tokio::test]
async fn a_slow_member_times_out_without_holding_up_the_panel() {
    let s = setup(|_| {}).await;
    s.reply("alpha", "Metformin.");
    s.reply("beta", "Metformin.");
    s.upstream.set_default(
        "gamma",
        Behaviour::DelayedText(Duration::from_secs(4), "Metformin.".into()),
    );
    let started = Instant::now();
    let report = s.ask(Duration::from_secs(1)).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the panel waited for the slow member: {:?}",
        started.elapsed()
    );
    assert_eq!(report.members[2].outcome, MemberOutcome::TimedOut);
    assert_eq!(report.status, "reached");
    assert_eq!(report.answered, 2);
}

#[tokio::test]
async fn a_failing_judge_falls_back_to_the_fast_path_and_says_so() {
    let s = setup(|c| c.llm.max_attempts = 1).await;
    s.reply(
        "alpha",
        "Metformin is the usual first-line drug for adults with type 2 diabetes.",
    );
    s.reply(
        "beta",
        "For adults with type 2 diabetes the usual first-line drug is metformin.",
    );
    s.reply("gamma", "Start insulin at diagnosis.");
    s.upstream
        .set_default("judge", Behaviour::Status(500, None, "judge down"));
    let report = s.ask(Duration::from_secs(5)).await;
    assert!(report.method.judge_failed);
    assert!(report.method.fallback_pairs > 0);
    assert!(
        report.notes.iter().any(|n| n.contains("word overlap")),
        "{:?}",
        report.notes
    );
    // The reworded same answer is still recognised; the different one is not.
    assert_eq!(report.status, "reached", "{report:#?}");
    assert_eq!(report.dissent.len(), 1);

    // A judge that answers in prose is a failed judge too, never a pass.
    s.upstream
        .set_default("judge", Behaviour::Reply("They look the same to me."));
    let report = s.ask(Duration::from_secs(5)).await;
    assert!(report.method.judge_failed);
}

#[tokio::test]
async fn a_configured_chair_writes_the_consensus_answer_and_is_labelled() {
    let s = setup(|c| {
        c.consensus.chair = Some(ModelChoice {
            provider: "openai".into(),
            model: "alpha-model".into(),
        })
    })
    .await;
    for name in ["alpha", "beta", "gamma"] {
        s.reply(name, "Metformin.");
    }
    let report = s.ask(Duration::from_secs(5)).await;
    let answer = report.answer.expect("answer");
    assert_eq!(answer.source, AnswerSource::ChairSynthesis);
    assert!(answer.chair.is_some() && answer.member.is_none());
    let chair_prompt = s.upstream.received("alpha")[1].body.to_string();
    assert!(
        chair_prompt.contains("Answer 3:"),
        "the chair saw the agreeing answers"
    );
}
