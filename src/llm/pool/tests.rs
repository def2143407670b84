use std::sync::Arc;

use zeroize::Zeroizing;

use super::*;
use crate::identity::{ManualClock, Timestamp};
use crate::store::StoreOptions;

async fn pool() -> (KeyPool, Store, tempfile::TempDir) {
    let dir = tempfile::TempDir::new().expect("dir");
    let path = dir.path().join("consilium.sqlite");
    let store = tokio::task::spawn_blocking(move || Store::open(&path, StoreOptions::default()))
        .await
        .expect("join")
        .expect("store");
    let clock = Arc::new(ManualClock::at(
        Timestamp::from_unix_seconds(1_800_000_000).expect("time"),
    ));
    let master = Arc::new(MasterKey::generate().expect("key"));
    let pool = KeyPool::load(store.clone(), master, clock)
        .await
        .expect("pool");
    (pool, store, dir)
}

fn new_key(secret: &str) -> NewKey {
    NewKey {
        owner: None,
        provider: ProviderKind::Openai,
        label: "primary".into(),
        secret: Zeroizing::new(secret.into()),
        base_url: Some("http://127.0.0.1:1/v1/".into()),
        models: vec!["gpt-test".into()],
        features: vec!["chat".into()],
        priority: 10,
    }
}

#[tokio::test]
async fn a_stored_key_is_shown_masked_and_opens_only_to_its_plaintext() {
    let (pool, _store, _dir) = pool().await;
    let view = pool
        .add(new_key("sk-live-0123456789abcdefWXYZ"))
        .await
        .expect("added");
    assert_eq!(view.key, "****WXYZ");
    assert_eq!(view.base_url, "http://127.0.0.1:1/v1");
    let key = pool.find(&view.id).expect("in memory");
    assert_eq!(
        pool.open_secret(&key).expect("opens").as_str(),
        "sk-live-0123456789abcdefWXYZ"
    );
}

#[tokio::test]
async fn the_same_key_twice_is_refused() {
    let (pool, _store, _dir) = pool().await;
    pool.add(new_key("sk-live-0123456789abcdefWXYZ"))
        .await
        .expect("added");
    let again = pool.add(new_key("sk-live-0123456789abcdefWXYZ")).await;
    assert!(matches!(again, Err(PoolError::Duplicate(_))), "{again:?}");
}

#[tokio::test]
async fn a_sealed_key_moved_to_another_row_does_not_open() {
    let (pool, store, _dir) = pool().await;
    let first = pool
        .add(new_key("sk-live-0123456789abcdef0001"))
        .await
        .expect("added");
    let second = pool
        .add(new_key("sk-live-0123456789abcdef0002"))
        .await
        .expect("added");
    let (from, to) = (first.id.clone(), second.id.clone());
    store
        .write(move |tx| {
            tx.execute(
                "UPDATE provider_keys SET sealed_key = (SELECT sealed_key FROM provider_keys WHERE id = ?1) WHERE id = ?2",
                [from, to],
            )?;
            Ok(())
        })
        .await
        .expect("tampered");
    pool.reload().await.expect("reloaded");
    let moved = pool.find(&second.id).expect("row");
    assert!(pool.open_secret(&moved).is_err());
}

#[tokio::test]
async fn health_survives_a_restart_of_the_pool() {
    let (pool, store, _dir) = pool().await;
    let view = pool
        .add(new_key("sk-live-0123456789abcdefWXYZ"))
        .await
        .expect("added");
    let key = pool.find(&view.id).expect("key");
    pool.record(&key, |h, _| {
        h.status = KeyStatus::Degraded;
        h.failures = 5;
        HealthChange::Degraded
    });
    store.write(|_| Ok(())).await.expect("flushed");
    let clock = Arc::new(ManualClock::at(
        Timestamp::from_unix_seconds(1_800_000_000).expect("t"),
    ));
    let reopened = KeyPool::load(
        store.clone(),
        Arc::new(MasterKey::generate().expect("k")),
        clock,
    )
    .await
    .expect("pool");
    let view = reopened.view(&view.id).expect("still there");
    assert_eq!((view.status, view.calls), (KeyStatus::Degraded, 5));
}

#[test]
fn bad_inputs_are_refused_before_anything_is_stored() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    runtime.block_on(async {
        let (pool, _store, _dir) = pool().await;
        type Change = Box<dyn Fn(&mut NewKey)>;
        let cases: Vec<(&str, Change)> = vec![
            (
                "spaces",
                Box::new(|k| k.secret = Zeroizing::new("a b".into())),
            ),
            ("label", Box::new(|k| k.label = String::new())),
            ("model", Box::new(|k| k.models = vec!["../x".into()])),
            ("feature", Box::new(|k| k.features = vec!["Chat!".into()])),
            ("priority", Box::new(|k| k.priority = 5000)),
            ("url", Box::new(|k| k.base_url = Some("ftp://x".into()))),
            (
                "credentials",
                Box::new(|k| k.base_url = Some("https://u:p@x/v1".into())),
            ),
        ];
        for (name, change) in cases {
            let mut key = new_key("sk-live-0123456789abcdefWXYZ");
            change(&mut key);
            assert!(
                matches!(pool.validate(&key), Err(PoolError::Invalid(_))),
                "{name}"
            );
        }
    });
}
