//! Passwords and logins: storage, the single answer for bad credentials,
//! the lock after ten failures, disabled accounts and rehashing.

use crate::identity::{
    IdentityError, LoginError, MAX_FAILED_LOGINS, PasswordHasher, Role, UserId, Users,
};

use super::support::Fixture;

const PASSWORD: &str = "correct horse battery staple";

async fn stored_hash(fixture: &Fixture, id: &UserId) -> Option<String> {
    let id = id.as_str().to_owned();
    fixture
        .store
        .read(move |connection| {
            Ok(connection.query_row(
                "SELECT password_hash FROM users WHERE id = ?1",
                [id],
                |row| row.get(0),
            )?)
        })
        .await
        .unwrap()
}

async fn user_with_password(fixture: &Fixture, email: &str) -> UserId {
    let user = fixture.user(email, Role::User).await;
    fixture
        .users
        .set_password(&user.id, PASSWORD)
        .await
        .unwrap();
    user.id
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id_phc_strings_never_plain() {
    let fixture = Fixture::new().await;
    let id = user_with_password(&fixture, "ada@example.org").await;
    let hash = stored_hash(&fixture, &id).await.unwrap();
    assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
    assert!(!hash.contains(PASSWORD));
    let sha256_hex_length = 64;
    assert_ne!(hash.len(), sha256_hex_length);
    let user = fixture.users.get(&id).await.unwrap().unwrap();
    assert!(user.has_password);
    let shown = format!("{user:?} {}", serde_json::to_string(&user).unwrap());
    assert!(!shown.contains("argon2"), "the hash never leaves the store");
}

#[tokio::test]
async fn the_password_policy_is_enforced_before_anything_is_stored() {
    let fixture = Fixture::new().await;
    let user = fixture.user("ada@example.org", Role::User).await;
    let short = fixture.users.set_password(&user.id, "too short").await;
    assert!(matches!(
        short,
        Err(IdentityError::PasswordTooShort { min: 12 })
    ));
    let blank = fixture.users.set_password(&user.id, &" ".repeat(20)).await;
    assert!(matches!(blank, Err(IdentityError::PasswordBlank)));
    let long = fixture
        .users
        .set_password(&user.id, &"x".repeat(1025))
        .await;
    assert!(matches!(
        long,
        Err(IdentityError::PasswordTooLong { max: 1024 })
    ));
    assert_eq!(stored_hash(&fixture, &user.id).await, None);
    let nobody = fixture
        .users
        .set_password(&UserId::new_random(), PASSWORD)
        .await;
    assert!(matches!(nobody, Err(IdentityError::UserNotFound)));
}

#[tokio::test]
async fn the_right_password_logs_in_in_any_letter_case_of_the_email() {
    let fixture = Fixture::new().await;
    let id = user_with_password(&fixture, "ada@example.org").await;
    let user = fixture
        .users
        .verify_login(" ADA@example.org", PASSWORD)
        .await
        .unwrap();
    assert_eq!(user.id, id);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_give_the_same_error() {
    let fixture = Fixture::new().await;
    user_with_password(&fixture, "ada@example.org").await;
    fixture.user("nopassword@example.org", Role::User).await;
    let attempts = [
        ("ada@example.org", "not the password at all"),
        ("nobody@example.org", PASSWORD),
        ("nopassword@example.org", PASSWORD),
        ("not an email", PASSWORD),
    ];
    let mut messages = Vec::new();
    for (email, password) in attempts {
        let error = fixture
            .users
            .verify_login(email, password)
            .await
            .unwrap_err();
        assert!(
            matches!(error, LoginError::InvalidCredentials),
            "{email}: {error:?}"
        );
        messages.push(error.to_string());
    }
    messages.dedup();
    assert_eq!(messages, vec!["invalid email or password".to_owned()]);
}

#[tokio::test]
async fn the_tenth_consecutive_failure_locks_the_account_and_unlock_restores_it() {
    let fixture = Fixture::new().await;
    let id = user_with_password(&fixture, "ada@example.org").await;
    for attempt in 1..MAX_FAILED_LOGINS {
        let error = fixture
            .users
            .verify_login("ada@example.org", "wrong password number")
            .await
            .unwrap_err();
        assert!(
            matches!(error, LoginError::InvalidCredentials),
            "attempt {attempt}"
        );
    }
    let tenth = fixture
        .users
        .verify_login("ada@example.org", "wrong password number")
        .await
        .unwrap_err();
    assert!(matches!(tenth, LoginError::Locked), "{tenth:?}");
    let user = fixture.users.get(&id).await.unwrap().unwrap();
    assert!(user.is_locked());
    assert_eq!(user.failed_logins, MAX_FAILED_LOGINS);

    let right_password = fixture
        .users
        .verify_login("ada@example.org", PASSWORD)
        .await;
    assert!(matches!(right_password, Err(LoginError::Locked)));

    let unlocked = fixture.users.unlock(&id).await.unwrap();
    assert!(!unlocked.is_locked());
    assert_eq!(unlocked.failed_logins, 0);
    let user = fixture
        .users
        .verify_login("ada@example.org", PASSWORD)
        .await;
    assert_eq!(user.unwrap().id, id);
}

#[tokio::test]
async fn a_successful_login_resets_the_failure_count() {
    let fixture = Fixture::new().await;
    let id = user_with_password(&fixture, "ada@example.org").await;
    for _ in 0..MAX_FAILED_LOGINS - 1 {
        let _ = fixture
            .users
            .verify_login("ada@example.org", "wrong guess here")
            .await;
    }
    let user = fixture
        .users
        .verify_login("ada@example.org", PASSWORD)
        .await
        .unwrap();
    assert_eq!(user.failed_logins, 0);
    // Nine more failures are again not enough to lock.
    for _ in 0..MAX_FAILED_LOGINS - 1 {
        let _ = fixture
            .users
            .verify_login("ada@example.org", "wrong guess here")
            .await;
    }
    let user = fixture.users.get(&id).await.unwrap().unwrap();
    assert!(!user.is_locked());
    assert_eq!(user.failed_logins, MAX_FAILED_LOGINS - 1);
}

#[tokio::test]
async fn a_disabled_user_is_refused_but_only_with_the_right_password() {
    let fixture = Fixture::new().await;
    fixture.user("boss@example.org", Role::Admin).await;
    let id = user_with_password(&fixture, "ada@example.org").await;
    fixture.users.set_disabled(&id, true).await.unwrap();
    let right = fixture
        .users
        .verify_login("ada@example.org", PASSWORD)
        .await;
    assert!(matches!(right, Err(LoginError::Disabled)));
    let wrong = fixture
        .users
        .verify_login("ada@example.org", "wrong guess here")
        .await;
    assert!(matches!(wrong, Err(LoginError::InvalidCredentials)));
}

#[tokio::test]
async fn a_hash_made_with_old_settings_is_replaced_on_successful_login() {
    let fixture = Fixture::new().await;
    let id = user_with_password(&fixture, "ada@example.org").await;
    let old_hash = stored_hash(&fixture, &id).await.unwrap();
    assert!(old_hash.contains("m=8,t=1,p=1"));

    let stronger = PasswordHasher::with_costs(16, 2, 1).unwrap();
    let upgraded = Users::with_parts(fixture.store.clone(), stronger, fixture.clock.clone());
    upgraded
        .verify_login("ada@example.org", PASSWORD)
        .await
        .unwrap();
    let new_hash = stored_hash(&fixture, &id).await.unwrap();
    assert!(new_hash.contains("m=16,t=2,p=1"), "{new_hash}");
    upgraded
        .verify_login("ada@example.org", PASSWORD)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_local_owner_can_log_in_once_given_a_password() {
    let fixture = Fixture::new().await;
    let (owner, _) = fixture.users.ensure_local_owner().await.unwrap();
    let before = fixture
        .users
        .verify_login("owner@localhost", PASSWORD)
        .await;
    assert!(matches!(before, Err(LoginError::InvalidCredentials)));
    fixture
        .users
        .set_password(&owner.id, PASSWORD)
        .await
        .unwrap();
    let user = fixture
        .users
        .verify_login("owner@localhost", PASSWORD)
        .await
        .unwrap();
    assert_eq!(user.id, owner.id);
}
