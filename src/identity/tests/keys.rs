//! Managing API keys: what a new key may be, who may revoke or rotate
//! which key, rotation itself, and listing.

use crate::identity::{KeyError, Principal, Role, Scope, Timestamp, User, UserId};

use super::support::{Fixture, START, session};

const HEALTH: &[Scope] = &[Scope::Health];

#[tokio::test]
async fn an_expiry_in_the_past_or_a_key_without_scopes_is_refused() {
    let fixture = Fixture::new().await;
    let user = fixture.user("ada@example.org", Role::User).await;
    let now = Timestamp::from_unix_seconds(START).unwrap();
    let past = fixture.keys.create(&user.id, "k", HEALTH, Some(now)).await;
    assert!(matches!(past, Err(KeyError::ExpiryInPast)));
    let none = fixture.keys.create(&user.id, "k", &[], None).await;
    assert!(matches!(none, Err(KeyError::NoScopes)));
    let nameless = fixture.keys.create(&user.id, " ", HEALTH, None).await;
    assert!(matches!(nameless, Err(KeyError::InvalidName { .. })));
    let nobody = fixture
        .keys
        .create(&UserId::new_random(), "k", HEALTH, None)
        .await;
    assert!(matches!(nobody, Err(KeyError::UserNotFound)));
}

#[tokio::test]
async fn only_admins_keys_can_carry_the_admin_scope() {
    let fixture = Fixture::new().await;
    let user = fixture.user("ada@example.org", Role::User).await;
    let admin = fixture.user("boss@example.org", Role::Admin).await;
    let refused = fixture
        .keys
        .create(&user.id, "k", &[Scope::Admin], None)
        .await;
    assert!(matches!(
        refused,
        Err(KeyError::ScopeNotAllowed {
            scope: Scope::Admin
        })
    ));
    let allowed = fixture
        .keys
        .create(&admin.id, "k", &[Scope::Admin], None)
        .await;
    assert!(allowed.is_ok());
}

#[tokio::test]
async fn a_narrow_key_cannot_mint_a_broader_one() {
    let fixture = Fixture::new().await;
    let user = fixture.user("ada@example.org", Role::User).await;
    let (info, _) = fixture
        .keys
        .create(&user.id, "narrow", HEALTH, None)
        .await
        .unwrap();
    let narrow = Principal::for_api_key(&info, &user);
    let broader = fixture
        .keys
        .create_as(
            &narrow,
            &user.id,
            "broad",
            &[Scope::Health, Scope::Chat],
            None,
        )
        .await;
    assert!(matches!(
        broader,
        Err(KeyError::ScopeNotAllowed { scope: Scope::Chat })
    ));
    let same = fixture
        .keys
        .create_as(&narrow, &user.id, "same", HEALTH, None)
        .await;
    assert!(same.is_ok());
}

async fn two_users_and_an_admin(fixture: &Fixture) -> (User, User, User) {
    let ann = fixture.user("ann@example.org", Role::User).await;
    let bob = fixture.user("bob@example.org", Role::User).await;
    let admin = fixture.user("boss@example.org", Role::Admin).await;
    (ann, bob, admin)
}

#[tokio::test]
async fn a_user_cannot_revoke_or_rotate_another_users_key_but_an_admin_can() {
    let fixture = Fixture::new().await;
    let (ann, bob, admin) = two_users_and_an_admin(&fixture).await;
    let (anns_key, anns_plaintext) = fixture
        .keys
        .create(&ann.id, "ann's", HEALTH, None)
        .await
        .unwrap();

    let by_bob = fixture.keys.revoke(&anns_key.key_id, &session(&bob)).await;
    assert!(matches!(by_bob, Err(KeyError::NotYours)), "{by_bob:?}");
    let by_bob = fixture.keys.rotate(&anns_key.key_id, &session(&bob)).await;
    assert!(matches!(by_bob, Err(KeyError::NotYours)));
    let by_bob = fixture
        .keys
        .create_as(&session(&bob), &ann.id, "sneaky", HEALTH, None)
        .await;
    assert!(matches!(by_bob, Err(KeyError::NotYours)));
    assert!(
        fixture
            .keys
            .authenticate(anns_plaintext.expose())
            .await
            .is_ok()
    );

    // An admin whose credential lacks the admin scope acts as a user.
    let (admins_key, _) = fixture
        .keys
        .create(&admin.id, "health only", HEALTH, None)
        .await
        .unwrap();
    let narrow_admin = Principal::for_api_key(&admins_key, &admin);
    let by_narrow = fixture.keys.revoke(&anns_key.key_id, &narrow_admin).await;
    assert!(matches!(by_narrow, Err(KeyError::NotYours)));

    let (rotated, _) = fixture
        .keys
        .rotate(&anns_key.key_id, &session(&admin))
        .await
        .unwrap();
    assert_eq!(rotated.user_id, ann.id, "the new key stays the owner's");
    let revoked = fixture
        .keys
        .revoke(&rotated.key_id, &session(&admin))
        .await
        .unwrap();
    assert!(revoked.is_revoked());
}

#[tokio::test]
async fn a_demoted_admins_session_loses_its_power_over_other_keys_at_once() {
    let fixture = Fixture::new().await;
    let (ann, _, admin) = two_users_and_an_admin(&fixture).await;
    fixture.users.ensure_local_owner().await.unwrap();
    let stale_session = session(&admin);
    fixture.users.set_role(&admin.id, Role::User).await.unwrap();
    let (anns_key, _) = fixture
        .keys
        .create(&ann.id, "ann's", HEALTH, None)
        .await
        .unwrap();
    let refused = fixture.keys.revoke(&anns_key.key_id, &stale_session).await;
    assert!(matches!(refused, Err(KeyError::NotYours)), "{refused:?}");
}

#[tokio::test]
async fn rotation_revokes_the_old_key_and_the_new_one_works() {
    let fixture = Fixture::new().await;
    let user = fixture.user("ada@example.org", Role::User).await;
    let expiry = Timestamp::from_unix_seconds(START + 86_400).unwrap();
    let scopes = [Scope::Health, Scope::Eval];
    let (old, old_key) = fixture
        .keys
        .create(&user.id, "ci", &scopes, Some(expiry))
        .await
        .unwrap();
    fixture.clock.advance(60);
    let (new, new_key) = fixture
        .keys
        .rotate(&old.key_id, &session(&user))
        .await
        .unwrap();
    assert_ne!(new.key_id, old.key_id);
    assert_eq!(
        (new.name.as_str(), new.scopes.as_slice()),
        ("ci", scopes.as_slice())
    );
    assert_eq!(new.expires_at, Some(expiry));
    assert_eq!(new.created_at.unix_seconds(), START + 60);

    let refused = fixture.keys.authenticate(old_key.expose()).await;
    assert!(matches!(refused, Err(KeyError::Revoked)));
    let (found, _) = fixture.keys.authenticate(new_key.expose()).await.unwrap();
    assert_eq!(found.key_id, new.key_id);

    let listed = fixture.keys.list(&user.id).await.unwrap();
    assert_eq!(listed.len(), 2);
    let old_now = listed.iter().find(|key| key.key_id == old.key_id).unwrap();
    assert!(old_now.is_revoked());
    assert_eq!(old_now.replaced_by.as_deref(), Some(new.key_id.as_str()));
    let again = fixture.keys.rotate(&old.key_id, &session(&user)).await;
    assert!(matches!(again, Err(KeyError::Revoked)));
}

#[tokio::test]
async fn admins_list_every_key_and_users_their_own() {
    let fixture = Fixture::new().await;
    let (ann, bob, _) = two_users_and_an_admin(&fixture).await;
    fixture
        .keys
        .create(&ann.id, "a", HEALTH, None)
        .await
        .unwrap();
    fixture
        .keys
        .create(&bob.id, "b", HEALTH, None)
        .await
        .unwrap();
    let anns = fixture.keys.list(&ann.id).await.unwrap();
    assert_eq!(anns.len(), 1);
    assert_eq!(anns[0].name, "a");
    assert_eq!(fixture.keys.list_all().await.unwrap().len(), 2);
}
