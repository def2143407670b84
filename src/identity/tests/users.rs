//! The users service: creation, lookups, listing, changes and the local
//! owner.

use crate::identity::{Email, IdentityError, LOCAL_OWNER_EMAIL, Plan, Role, UserFilter, UserId};

use super::support::{Fixture, START};

#[tokio::test]
async fn a_created_user_is_stored_normalised_and_found_by_id_and_email() {
    let fixture = Fixture::new().await;
    let created = fixture
        .users
        .create(
            Email::parse("  Ada@Example.org ").unwrap(),
            "  Ada Lovelace ",
            Role::User,
            Plan::new("pro").unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(created.email.as_str(), "ada@example.org");
    assert_eq!(created.display_name, "Ada Lovelace");
    assert_eq!(created.plan.as_str(), "pro");
    assert!(!created.disabled && !created.has_password && !created.is_local_owner);
    assert_eq!(created.created_at.unix_seconds(), START);
    assert_eq!(created.created_at.to_rfc3339(), "2025-01-01T00:00:00Z");

    let by_id = fixture.users.get(&created.id).await.unwrap();
    assert_eq!(by_id.as_ref(), Some(&created));
    let by_email = fixture
        .users
        .find_by_email(&Email::parse("ADA@example.ORG").unwrap())
        .await
        .unwrap();
    assert_eq!(by_email, Some(created));
    assert_eq!(
        fixture.users.get(&UserId::new_random()).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn emails_are_unique_regardless_of_case() {
    let fixture = Fixture::new().await;
    fixture.user("grace@example.org", Role::User).await;
    let error = fixture
        .users
        .create(
            Email::parse("Grace@EXAMPLE.org").unwrap(),
            "Another Grace",
            Role::Admin,
            Plan::free(),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, IdentityError::EmailTaken), "{error:?}");
    assert_eq!(
        error.to_string(),
        "a user with this email address already exists"
    );
}

#[tokio::test]
async fn a_blank_display_name_is_refused() {
    let fixture = Fixture::new().await;
    let error = fixture
        .users
        .create(
            Email::parse("x@example.org").unwrap(),
            "   ",
            Role::User,
            Plan::free(),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, IdentityError::InvalidDisplayName { .. }));
}

#[tokio::test]
async fn the_local_owner_is_created_once() {
    let fixture = Fixture::new().await;
    let (owner, created) = fixture.users.ensure_local_owner().await.unwrap();
    assert!(created);
    assert_eq!(owner.email.as_str(), LOCAL_OWNER_EMAIL);
    assert_eq!(owner.display_name, "Local owner");
    assert_eq!(owner.role, Role::Admin);
    assert_eq!(owner.plan, Plan::unlimited());
    assert!(owner.is_local_owner && !owner.has_password);

    let (again, created_again) = fixture.users.ensure_local_owner().await.unwrap();
    assert!(!created_again);
    assert_eq!(again, owner);
    let everyone = fixture.users.list(&UserFilter::default()).await.unwrap();
    assert_eq!(everyone.len(), 1);
}

#[tokio::test]
async fn the_database_refuses_a_second_local_owner() {
    let fixture = Fixture::new().await;
    fixture.users.ensure_local_owner().await.unwrap();
    let other = fixture.user("second@example.org", Role::Admin).await;
    let id = other.id.as_str().to_owned();
    let refused = fixture
        .store
        .write(move |tx| {
            tx.execute("UPDATE users SET is_local_owner = 1 WHERE id = ?1", [id])?;
            Ok(())
        })
        .await;
    assert!(refused.is_err());
}

#[tokio::test]
async fn the_list_filters_by_role_plan_state_and_email_and_pages() {
    let fixture = Fixture::new().await;
    let admin = fixture.user("boss@example.org", Role::Admin).await;
    let ann = fixture.user("ann@example.org", Role::User).await;
    let bob = fixture.user("bob@example.com", Role::User).await;
    fixture
        .users
        .set_plan(&bob.id, Plan::new("pro").unwrap())
        .await
        .unwrap();
    fixture.users.set_disabled(&ann.id, true).await.unwrap();

    let ids = |users: Vec<crate::identity::User>| -> Vec<UserId> {
        users.into_iter().map(|user| user.id).collect()
    };
    let list = |filter: UserFilter| {
        let users = fixture.users.clone();
        async move { users.list(&filter).await }
    };

    let admins = list(UserFilter {
        role: Some(Role::Admin),
        ..UserFilter::default()
    });
    assert_eq!(ids(admins.await.unwrap()), vec![admin.id.clone()]);
    let pro = list(UserFilter {
        plan: Some(Plan::new("pro").unwrap()),
        ..UserFilter::default()
    });
    assert_eq!(ids(pro.await.unwrap()), vec![bob.id.clone()]);
    let disabled = list(UserFilter {
        disabled: Some(true),
        ..UserFilter::default()
    });
    assert_eq!(ids(disabled.await.unwrap()), vec![ann.id.clone()]);
    let dot_org = list(UserFilter {
        email_contains: Some(".ORG".to_owned()),
        ..UserFilter::default()
    });
    assert_eq!(
        ids(dot_org.await.unwrap()),
        vec![admin.id.clone(), ann.id.clone()]
    );
    let wildcard = list(UserFilter {
        email_contains: Some("%".to_owned()),
        ..UserFilter::default()
    });
    assert!(wildcard.await.unwrap().is_empty(), "% is literal");
    let second_page = list(UserFilter {
        limit: Some(1),
        offset: 1,
        ..UserFilter::default()
    });
    assert_eq!(ids(second_page.await.unwrap()), vec![ann.id]);
}

#[tokio::test]
async fn changing_plan_role_or_state_stamps_updated_at() {
    let fixture = Fixture::new().await;
    fixture.user("boss@example.org", Role::Admin).await;
    let user = fixture.user("carol@example.org", Role::User).await;
    fixture.clock.advance(90);
    let promoted = fixture.users.set_role(&user.id, Role::Admin).await.unwrap();
    assert_eq!(promoted.role, Role::Admin);
    assert_eq!(promoted.updated_at.unix_seconds(), START + 90);
    assert_eq!(promoted.created_at, user.created_at);
    let disabled = fixture.users.set_disabled(&user.id, true).await.unwrap();
    assert!(disabled.disabled);
    let missing = fixture
        .users
        .set_plan(&UserId::new_random(), Plan::free())
        .await
        .unwrap_err();
    assert!(matches!(missing, IdentityError::UserNotFound));
}

#[tokio::test]
async fn the_last_enabled_admin_cannot_be_demoted_or_disabled() {
    let fixture = Fixture::new().await;
    let (owner, _) = fixture.users.ensure_local_owner().await.unwrap();
    let demote = fixture.users.set_role(&owner.id, Role::User).await;
    assert!(
        matches!(demote, Err(IdentityError::LastAdmin)),
        "{demote:?}"
    );
    let disable = fixture.users.set_disabled(&owner.id, true).await;
    assert!(matches!(disable, Err(IdentityError::LastAdmin)));

    fixture.user("deputy@example.org", Role::Admin).await;
    let demoted = fixture.users.set_role(&owner.id, Role::User).await.unwrap();
    assert_eq!(demoted.role, Role::User);
}
