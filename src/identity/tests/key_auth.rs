//! Authenticating API keys: what is stored, the refusals, owners who are
//! disabled or locked, the throttled last-used stamp, and what `Debug`
//! shows.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

use rusqlite::types::ValueRef;

use crate::identity::{AuthMethod, KeyError, MAX_FAILED_LOGINS, Principal, Role, Scope, Timestamp};

use super::support::{Fixture, START, session};

const HEALTH: &[Scope] = &[Scope::Health];

/// Every column of every stored key, raw: text as its bytes, blobs as they
/// are, numbers and NULLs as nothing.
async fn raw_key_rows(fixture: &Fixture) -> Vec<Vec<Vec<u8>>> {
    fixture
        .store
        .read(|connection| {
            let mut statement = connection.prepare("SELECT * FROM api_keys")?;
            let columns = statement.column_count();
            let rows = statement
                .query_map([], |row| {
                    (0..columns)
                        .map(|column| {
                            Ok(match row.get_ref(column)? {
                                ValueRef::Text(bytes) | ValueRef::Blob(bytes) => bytes.to_vec(),
                                _ => Vec::new(),
                            })
                        })
                        .collect::<rusqlite::Result<Vec<_>>>()
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
        .unwrap()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[tokio::test]
async fn a_created_key_authenticates_and_its_secret_is_not_in_the_database() {
    let fixture = Fixture::new().await;
    let user = fixture.user("ada@example.org", Role::User).await;
    let (info, plaintext) = fixture
        .keys
        .create(
            &user.id,
            " laptop ",
            &[Scope::Study, Scope::Health, Scope::Study],
            None,
        )
        .await
        .unwrap();
    assert_eq!(info.name, "laptop");
    assert_eq!(info.scopes, vec![Scope::Health, Scope::Study]);
    assert_eq!(info.user_id, user.id);
    assert_eq!(plaintext.key_id(), info.key_id);
    let text = plaintext.expose();
    assert_eq!(text, format!("csk_{}_{}", info.key_id, &text[21..]));

    let (found, owner) = fixture.keys.authenticate(text).await.unwrap();
    assert_eq!(found.key_id, info.key_id);
    assert_eq!(owner.id, user.id);
    let principal = Principal::for_api_key(&found, &owner);
    assert_eq!(principal.scopes, Some(vec![Scope::Health, Scope::Study]));
    assert_eq!(
        principal.via,
        AuthMethod::ApiKey {
            key_id: info.key_id.clone()
        }
    );

    let rows = raw_key_rows(&fixture).await;
    assert_eq!(rows.len(), 1);
    let secret_text = &text[21..];
    let secret_bytes = URL_SAFE_NO_PAD.decode(secret_text).unwrap();
    for column in &rows[0] {
        for needle in [text.as_bytes(), secret_text.as_bytes(), &secret_bytes] {
            assert!(
                !contains(column, needle),
                "a column holds the key or its secret"
            );
        }
    }
    let digest = Sha256::digest(&secret_bytes).to_vec();
    assert!(
        rows[0].contains(&digest),
        "only the secret's SHA-256 is kept"
    );
    assert!(rows[0].contains(&info.key_id.into_bytes()));
}

#[tokio::test]
async fn a_revoked_or_expired_or_malformed_key_is_refused() {
    let fixture = Fixture::new().await;
    let user = fixture.user("ada@example.org", Role::User).await;
    let me = session(&user);

    let (revoked, revoked_key) = fixture
        .keys
        .create(&user.id, "old", HEALTH, None)
        .await
        .unwrap();
    fixture.keys.revoke(&revoked.key_id, &me).await.unwrap();
    let refused = fixture.keys.authenticate(revoked_key.expose()).await;
    assert!(matches!(refused, Err(KeyError::Revoked)), "{refused:?}");

    let expiry = Timestamp::from_unix_seconds(START + 3600).unwrap();
    let (_, expiring_key) = fixture
        .keys
        .create(&user.id, "short-lived", HEALTH, Some(expiry))
        .await
        .unwrap();
    assert!(
        fixture
            .keys
            .authenticate(expiring_key.expose())
            .await
            .is_ok()
    );
    fixture.clock.advance(3600);
    let refused = fixture.keys.authenticate(expiring_key.expose()).await;
    assert!(matches!(refused, Err(KeyError::Expired)), "{refused:?}");

    let (_, good_key) = fixture
        .keys
        .create(&user.id, "good", HEALTH, None)
        .await
        .unwrap();
    let good = good_key.expose();
    let mut wrong_secret = good.to_owned();
    wrong_secret.replace_range(21..22, if &good[21..22] == "A" { "B" } else { "A" });
    let unknown_id = format!("csk_{}{}", "0".repeat(16), &good[20..]);
    for (candidate, expected) in [
        (format!("{good} "), "malformed"),
        ("csk_".to_owned(), "malformed"),
        (good.replace("csk_", "sk-_"), "malformed"),
        ("x".repeat(100_000), "malformed"),
        (wrong_secret, "unknown"),
        (unknown_id, "unknown"),
    ] {
        let error = fixture.keys.authenticate(&candidate).await.unwrap_err();
        match expected {
            "malformed" => assert!(matches!(error, KeyError::Malformed), "{error:?}"),
            _ => assert!(matches!(error, KeyError::Unknown), "{error:?}"),
        }
        assert!(!error.to_string().contains(&good[21..]));
    }
}

#[tokio::test]
async fn a_disabled_users_keys_stop_working() {
    let fixture = Fixture::new().await;
    fixture.user("boss@example.org", Role::Admin).await;
    let ann = fixture.user("ann@example.org", Role::User).await;
    let (_, key) = fixture
        .keys
        .create(&ann.id, "k", HEALTH, None)
        .await
        .unwrap();
    fixture.users.set_disabled(&ann.id, true).await.unwrap();
    let refused = fixture.keys.authenticate(key.expose()).await;
    assert!(
        matches!(refused, Err(KeyError::UserDisabled)),
        "{refused:?}"
    );
    fixture.users.set_disabled(&ann.id, false).await.unwrap();
    assert!(fixture.keys.authenticate(key.expose()).await.is_ok());
}

#[tokio::test]
async fn a_locked_users_keys_stop_working() {
    let fixture = Fixture::new().await;
    let user = fixture.user("ada@example.org", Role::User).await;
    let (_, key) = fixture
        .keys
        .create(&user.id, "k", HEALTH, None)
        .await
        .unwrap();
    for _ in 0..MAX_FAILED_LOGINS {
        let _ = fixture
            .users
            .verify_login("ada@example.org", "no password is set")
            .await;
    }
    let refused = fixture.keys.authenticate(key.expose()).await;
    assert!(
        matches!(refused, Err(KeyError::UserDisabled)),
        "{refused:?}"
    );
}

#[tokio::test]
async fn last_use_is_recorded_at_most_once_a_minute() {
    let fixture = Fixture::new().await;
    let user = fixture.user("ada@example.org", Role::User).await;
    let (info, key) = fixture
        .keys
        .create(&user.id, "k", HEALTH, None)
        .await
        .unwrap();
    let stored_last_use = || async {
        fixture.flush_queued_writes().await;
        let keys = fixture.keys.list(&user.id).await.unwrap();
        keys.into_iter()
            .find(|k| k.key_id == info.key_id)
            .and_then(|k| k.last_used_at)
            .map(Timestamp::unix_seconds)
    };
    assert_eq!(stored_last_use().await, None);
    fixture.keys.authenticate(key.expose()).await.unwrap();
    assert_eq!(stored_last_use().await, Some(START));
    fixture.clock.advance(59);
    fixture.keys.authenticate(key.expose()).await.unwrap();
    assert_eq!(stored_last_use().await, Some(START), "throttled");
    fixture.clock.advance(1);
    fixture.keys.authenticate(key.expose()).await.unwrap();
    assert_eq!(stored_last_use().await, Some(START + 60));
}

#[tokio::test]
async fn debug_output_never_shows_a_secret() {
    let fixture = Fixture::new().await;
    let user = fixture.user("ada@example.org", Role::User).await;
    let (info, key) = fixture
        .keys
        .create(&user.id, "k", HEALTH, None)
        .await
        .unwrap();
    let secret = &key.expose()[21..];
    let shown = format!("{key:?} {info:?} {:?}", fixture.keys);
    assert!(
        shown.contains(&format!("csk_{}_****", info.key_id)),
        "{shown}"
    );
    assert!(!shown.contains(secret), "{shown}");
    let json = serde_json::to_string(&info).unwrap();
    assert!(!json.contains(secret));
}
