//! The LLM router against scripted providers on 127.0.0.1 speaking the real wire formats:
//! failover order, cooldown after 429, disabling after 401, degradation and recovery by
//! the health probe, automatic maintenance entered and left, timeouts, broken and
//! oversized replies, and the admins' signed webhooks. The app is assembled in-process on a
//! real SQLite file; time is a manual clock so cooldowns pass without waiting.

#[path = "support/upstream.rs"]
mod upstream;

use std::sync::Arc;
use std::time::Duration;

use consilium::accounts::Requester;
use consilium::app::{App, AppParts};
use consilium::config::{Config, WebhookTarget};
use consilium::identity::{ManualClock, Timestamp};
use consilium::llm::manage::{self, KeyToAdd, Pool};
use consilium::llm::{
    CompletionRequest, FailureKind, KeyStatus, Message, Route, RouteError, Routed, Source,
};
use consilium::maintenance::MaintenanceMode;
use tempfile::TempDir;
use upstream::{Behaviour, Upstream};
use zeroize::Zeroizing;

const HOOK_SECRET: &str = "hook-secret-0123456789";

struct Setup {
    app: Arc<App>,
    upstream: Upstream,
    clock: Arc<ManualClock>,
    _dir: TempDir,
}

async fn setup(tune: impl FnOnce(&mut Config)) -> Setup {
    let upstream = Upstream::start().await;
    let dir = TempDir::new().expect("dir");
    let mut config = Config::default();
    config.store.path = Some(dir.path().join("consilium.sqlite"));
    config.llm.first_byte_timeout_secs = 2;
    config.llm.total_timeout_secs = 4;
    config.llm.failures_before_degraded = 2;
    config.llm.half_open_after_secs = 3600;
    config.notifications.webhooks = vec![WebhookTarget {
        url: upstream.hook_url(),
        secret: HOOK_SECRET.into(),
    }];
    config.notifications.first_retry_secs = 1;
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
    Setup {
        app,
        upstream,
        clock,
        _dir: dir,
    }
}

impl Setup {
    fn admin(&self) -> Requester {
        Requester::local(self.app.local_principal())
    }

    /// Adds a shared key served by the scripted upstream under `name`.
    async fn add_key(
        &self,
        name: &str,
        provider: &str,
        priority: i64,
        features: &[&str],
    ) -> String {
        let key = KeyToAdd {
            provider: provider.into(),
            label: name.into(),
            secret: Zeroizing::new(format!("sk-{name}-0123456789abcdef{priority}")),
            base_url: Some(self.upstream.base_url(name, provider)),
            models: vec![format!("{name}-model")],
            features: features.iter().map(|f| f.to_string()).collect(),
            priority,
            skip_test: true,
        };
        manage::add(&self.app, &self.admin(), Pool::Shared, key)
            .await
            .expect("the key is added")
            .id
    }

    async fn ask(&self, feature: &str) -> Result<Routed, RouteError> {
        let user = self.app.local_owner.id.clone();
        let route = Route {
            feature,
            user: &user,
            provider: None,
            model: None,
            client_model: None,
            prefer_client_model: false,
        };
        self.app
            .llm
            .complete(
                route,
                &CompletionRequest::new(vec![Message::user("hi")], 16),
            )
            .await
    }

    /// A new user and the requester acting as them.
    async fn user(&self, email: &str) -> (consilium::identity::User, Requester) {
        use consilium::identity::{AuthMethod, Email, Plan, Principal, Role};
        let user = self
            .app
            .users
            .create(
                Email::parse(email).expect("email"),
                "T",
                Role::User,
                Plan::free(),
            )
            .await
            .expect("user");
        let requester = Requester::local(Principal::session(&user, AuthMethod::Local));
        (user, requester)
    }

    fn status(&self, id: &str) -> KeyStatus {
        self.app.llm.pool().view(id).expect("key").status
    }
}

fn outcomes(routed: &Routed) -> Vec<(String, String)> {
    routed
        .attempts
        .iter()
        .map(|a| (a.provider.clone() + ":" + &a.model, a.outcome.clone()))
        .collect()
}

#[tokio::test]
async fn a_failing_first_key_fails_over_to_the_second_and_the_admins_hear_of_it() {
    let s = setup(|_| {}).await;
    s.add_key("first", "openai", 10, &["chat"]).await;
    s.add_key("second", "openai", 5, &["chat"]).await;
    s.upstream
        .set_default("first", Behaviour::Status(500, None, "boom"));
    s.upstream
        .set_default("second", Behaviour::Reply("from second"));

    for _ in 0..3 {
        let routed = s.ask("chat").await.expect("served");
        assert_eq!(routed.text, "from second");
        assert_eq!(routed.served_by.source, Source::SharedPool);
    }
    let event = s.upstream.wait_for_hook("failover").await;
    assert_eq!(event["details"]["feature"], "chat");
    // Two server errors in a row degraded the first key; the third call went straight on.
    let degraded = s.upstream.wait_for_hook("key_degraded").await;
    assert!(
        degraded["details"]["key"]
            .as_str()
            .is_some_and(|k| k.starts_with("****"))
    );
    let routed = s.ask("chat").await.expect("served");
    assert_eq!(
        outcomes(&routed),
        vec![("openai:second-model".into(), "ok".into())]
    );

    // Every webhook body is signed with HMAC-SHA256 under the target's secret.
    for (headers, body) in s.upstream.raw_hooks() {
        let signature = headers["x-consilium-signature"].to_str().expect("ascii");
        assert_eq!(
            signature,
            format!("sha256={}", consilium::notify::sign(HOOK_SECRET, &body))
        );
    }
}

#[tokio::test]
async fn the_order_is_priority_and_a_rejected_key_is_disabled_with_an_alert() {
    let s = setup(|_| {}).await;
    let low = s.add_key("low", "openai", 1, &["chat"]).await;
    let high = s.add_key("high", "anthropic", 50, &["chat"]).await;
    s.upstream.set_default(
        "high",
        Behaviour::Status(401, None, "invalid x-api-key sk-high-0123456789abcdef50"),
    );
    let routed = s.ask("chat").await.expect("served");
    assert_eq!(
        outcomes(&routed),
        vec![
            ("anthropic:high-model".into(), "auth".into()),
            ("openai:low-model".into(), "ok".into())
        ]
    );
    assert_eq!(s.status(&high), KeyStatus::Disabled);
    assert_eq!(s.status(&low), KeyStatus::Active);
    let event = s.upstream.wait_for_hook("key_disabled").await;
    assert!(
        !event.to_string().contains("0123456789abcdef50"),
        "the event quotes no key: {event}"
    );
    let view = s.app.llm.pool().view(&high).expect("key");
    assert!(
        !view
            .last_error
            .unwrap_or_default()
            .contains("0123456789abcdef")
    );
    // A disabled key is not tried again.
    let routed = s.ask("chat").await.expect("served");
    assert_eq!(routed.attempts.len(), 1);
}

#[tokio::test]
async fn a_rate_limited_key_rests_for_its_retry_after_then_serves_again() {
    let s = setup(|_| {}).await;
    s.add_key("busy", "gemini", 10, &["chat"]).await;
    s.add_key("spare", "openai", 1, &["chat"]).await;
    s.upstream
        .push("busy", Behaviour::Status(429, Some(30), "slow down"));
    let routed = s.ask("chat").await.expect("served");
    assert_eq!(routed.attempts[0].outcome, "rate_limited");
    assert_eq!(routed.served_by.provider, "openai");

    let routed = s.ask("chat").await.expect("served");
    assert_eq!(routed.attempts.len(), 1, "the busy key is cooling down");
    assert_eq!(routed.served_by.provider, "openai");

    s.clock.advance(30);
    let routed = s.ask("chat").await.expect("served");
    assert_eq!(routed.served_by.provider, "gemini");
    assert_eq!(routed.text, "ok");
    assert_eq!(routed.usage.input, 13, "Gemini's usage metadata is read");
}

#[tokio::test]
async fn a_degraded_key_is_restored_by_the_health_probe() {
    let s = setup(|_| {}).await;
    let flaky = s.add_key("flaky", "openai", 10, &["chat"]).await;
    s.add_key("steady", "openai", 1, &["chat"]).await;
    s.upstream
        .set_default("flaky", Behaviour::Status(503, None, "overloaded"));
    s.ask("chat").await.expect("served");
    s.ask("chat").await.expect("served");
    assert_eq!(s.status(&flaky), KeyStatus::Degraded);

    s.app.llm.check_health().await;
    assert_eq!(s.status(&flaky), KeyStatus::Degraded, "still failing");

    s.upstream.set_default("flaky", Behaviour::Reply("back"));
    s.app.llm.check_health().await;
    assert_eq!(s.status(&flaky), KeyStatus::Active);
    s.upstream.wait_for_hook("key_recovered").await;
    assert_eq!(s.ask("chat").await.expect("served").text, "back");
}

#[tokio::test]
async fn when_every_key_of_a_critical_feature_fails_the_server_enters_maintenance_and_leaves_it_on_recovery()
 {
    let s = setup(|c| c.llm.failures_before_degraded = 1).await;
    s.add_key("only", "openai", 1, &["chat"]).await;
    s.add_key("judge", "openai", 1, &["judge"]).await;
    s.upstream
        .set_default("only", Behaviour::Status(500, None, "down"));
    let failed = s.ask("chat").await.expect_err("nothing answers");
    assert!(matches!(failed, RouteError::AllFailed { .. }), "{failed:?}");
    let state = s.app.maintenance.state();
    assert_eq!(state.mode, MaintenanceMode::Soft);
    assert!(state.automatic);
    s.upstream.wait_for_hook("maintenance_entered").await;
    // One feature's failing keys never block another's.
    assert_eq!(s.ask("judge").await.expect("judge still served").text, "ok");
    let refusal = s
        .app
        .maintenance
        .refusal(false, Some("chat"))
        .expect("chat paused");
    assert!(refusal.message.contains("chat"));
    assert!(
        s.app.maintenance.refusal(false, Some("bmi")).is_none(),
        "deterministic tools go on"
    );
    assert!(
        s.app.maintenance.refusal(true, Some("chat")).is_none(),
        "admins go on"
    );

    s.upstream
        .set_default("only", Behaviour::Reply("recovered"));
    s.app.llm.check_health().await;
    assert_eq!(s.app.maintenance.state().mode, MaintenanceMode::Off);
    s.upstream.wait_for_hook("maintenance_left").await;
    assert_eq!(s.ask("chat").await.expect("served").text, "recovered");
}

#[tokio::test]
async fn slow_broken_malformed_and_oversized_replies_are_classified_and_survived() {
    let s = setup(|c| c.llm.max_attempts = 5).await;
    let cases = [
        (
            "slow",
            Behaviour::SlowFirstByte(Duration::from_secs(3)),
            FailureKind::Timeout,
        ),
        ("reset", Behaviour::ResetMidBody, FailureKind::Unreachable),
        ("garbled", Behaviour::Malformed, FailureKind::Malformed),
        (
            "huge",
            Behaviour::Huge(20 * 1024 * 1024),
            FailureKind::Malformed,
        ),
    ];
    for (index, (name, behaviour, _)) in cases.iter().enumerate() {
        s.add_key(name, "openai", 100 - index as i64, &["chat"])
            .await;
        s.upstream.set_default(name, behaviour.clone());
    }
    s.add_key("good", "openai", 0, &["chat"]).await;
    let routed = s.ask("chat").await.expect("the good key answers last");
    let kinds: Vec<String> = routed.attempts.iter().map(|a| a.outcome.clone()).collect();
    let expected: Vec<String> = cases
        .iter()
        .map(|(_, _, kind)| kind.as_str().to_string())
        .chain(["ok".to_string()])
        .collect();
    assert_eq!(kinds, expected);
}

#[tokio::test]
async fn keys_travel_in_headers_only_and_never_in_the_url() {
    let s = setup(|_| {}).await;
    for (name, provider, header) in [
        ("oa", "openai", "authorization"),
        ("an", "anthropic", "x-api-key"),
        ("ge", "gemini", "x-goog-api-key"),
    ] {
        s.add_key(name, provider, 1, &[name]).await;
        let routed = s.ask(name).await.expect("served");
        assert_eq!(routed.served_by.provider, provider);
        let received = s.upstream.received(name);
        let request = received.last().expect("a request arrived");
        let value = request.headers[header].to_str().expect("ascii");
        assert!(
            value.contains(&format!("sk-{name}-0123456789abcdef")),
            "{provider}"
        );
        assert!(
            !request.path.contains("sk-"),
            "{provider}: {}",
            request.path
        );
    }
}

#[tokio::test]
async fn with_no_key_at_all_the_router_says_so_instead_of_answering() {
    let s = setup(|_| {}).await;
    let error = s.ask("chat").await.expect_err("no route");
    assert!(matches!(error, RouteError::NoRoute { .. }), "{error:?}");
    assert_eq!(
        s.app.maintenance.state().mode,
        MaintenanceMode::Off,
        "no keys is not a failure"
    );
}

#[tokio::test]
async fn a_users_own_key_serves_them_first_and_nobody_else() {
    let s = setup(|_| {}).await;
    s.add_key("shared", "openai", 1, &["chat"]).await;
    let (alice, alice_requester) = s.user("alice@example.org").await;
    let own = KeyToAdd {
        provider: "openai".into(),
        label: "mine".into(),
        secret: Zeroizing::new("sk-alice-0123456789abcdefAAAA".into()),
        base_url: Some(s.upstream.base_url("alice", "openai")),
        models: vec!["alice-model".into()],
        features: vec![],
        priority: 0,
        skip_test: false,
    };
    let view = manage::add(&s.app, &alice_requester, Pool::Own, own)
        .await
        .expect("tested and added");
    assert_eq!(view.key, "****AAAA");
    let route = |user| Route {
        feature: "chat",
        user,
        provider: None,
        model: None,
        client_model: None,
        prefer_client_model: false,
    };
    let request = CompletionRequest::new(vec![Message::user("hi")], 8);
    let served = s
        .app
        .llm
        .complete(route(&alice.id), &request)
        .await
        .expect("served");
    assert_eq!(served.served_by.source, Source::OwnKey);
    let owner = s.app.local_owner.id.clone();
    let served = s
        .app
        .llm
        .complete(route(&owner), &request)
        .await
        .expect("served");
    assert_eq!(served.served_by.source, Source::SharedPool);

    // Her own key failing does not fall back to the shared pool unless she allows it.
    s.upstream
        .set_default("alice", Behaviour::Status(500, None, "x"));
    let failed = s.app.llm.complete(route(&alice.id), &request).await;
    assert!(failed.is_err());
    manage::set_shared_fallback(&s.app, &alice_requester, true)
        .await
        .expect("set");
    let served = s
        .app
        .llm
        .complete(route(&alice.id), &request)
        .await
        .expect("served");
    assert_eq!(served.served_by.source, Source::SharedPool);

    // Another user cannot see or delete her key.
    assert!(
        manage::list(&s.app, &alice_requester, Some(Pool::Own))
            .expect("list")
            .len()
            == 1
    );
    let (_, bob_requester) = s.user("bob@example.org").await;
    assert!(
        manage::list(&s.app, &bob_requester, Some(Pool::Own))
            .expect("list")
            .is_empty()
    );
    assert!(
        manage::delete(&s.app, &bob_requester, &view.id)
            .await
            .is_err()
    );
    assert!(
        manage::list(&s.app, &bob_requester, None).is_err(),
        "only admins list every key"
    );
}

#[tokio::test]
async fn adding_a_key_tests_it_first_and_refuses_duplicates() {
    let s = setup(|_| {}).await;
    s.upstream
        .set_default("bad", Behaviour::Status(401, None, "no"));
    let key = |name: &str, secret: &str| KeyToAdd {
        provider: "openai".into(),
        label: name.into(),
        secret: Zeroizing::new(secret.into()),
        base_url: Some(s.upstream.base_url(name, "openai")),
        models: vec!["m".into()],
        features: vec!["chat".into()],
        priority: 0,
        skip_test: false,
    };
    let refused = manage::add(
        &s.app,
        &s.admin(),
        Pool::Shared,
        key("bad", "sk-bad-0123456789abcdef"),
    )
    .await;
    assert!(
        matches!(refused, Err(manage::ManageError::TestFailed(_))),
        "{refused:?}"
    );
    assert!(
        s.app
            .llm
            .pool()
            .views(&consilium::llm::KeyScope::All)
            .is_empty()
    );
    manage::add(
        &s.app,
        &s.admin(),
        Pool::Shared,
        key("good", "sk-good-0123456789abcdef"),
    )
    .await
    .expect("added");
    let again = manage::add(
        &s.app,
        &s.admin(),
        Pool::Shared,
        key("good", "sk-good-0123456789abcdef"),
    )
    .await;
    assert!(
        matches!(again, Err(manage::ManageError::Duplicate(_))),
        "{again:?}"
    );
}
