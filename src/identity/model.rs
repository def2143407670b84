//! The records identity hands out: a [`User`], an [`ApiKeyInfo`] (a key
//! without its secret) and the [`Principal`] a request acts as.
//!
//! None of these ever holds a password, a password hash or a key secret, so
//! they can be logged, serialised and returned to clients freely. This file
//! must not read or write the store.

use serde::Serialize;

use super::{Email, Plan, Role, Scope, Timestamp, UserId};

/// A person (or the local operator) who can use the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub display_name: String,
    pub role: Role,
    pub plan: Plan,
    pub disabled: bool,
    /// Failed logins since the last successful one.
    pub failed_logins: u32,
    /// When repeated failures locked the account; `None` while unlocked.
    pub locked_at: Option<Timestamp>,
    /// Whether a password is set (the hash itself never leaves the store).
    pub has_password: bool,
    /// The admin created on first run for whoever runs the server.
    pub is_local_owner: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl User {
    pub fn is_locked(&self) -> bool {
        self.locked_at.is_some()
    }

    /// Whether any credential of this user may be accepted right now.
    pub fn may_authenticate(&self) -> bool {
        !self.disabled && !self.is_locked()
    }
}

/// Everything about an API key except its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiKeyInfo {
    /// The public part of the key, used to find it: 16 lowercase hex digits.
    pub key_id: String,
    pub user_id: UserId,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub created_at: Timestamp,
    /// Updated at most once a minute, off the request path.
    pub last_used_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    /// The key that replaced this one when it was rotated.
    pub replaced_by: Option<String>,
}

impl ApiKeyInfo {
    pub fn is_revoked(&self) -> bool {
        self.revoked_at.is_some()
    }

    /// A key expires at the instant written in `expires_at`.
    pub fn is_expired_at(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|expiry| now >= expiry)
    }
}

/// How a principal proved who it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum AuthMethod {
    /// A password login (the session that follows it included).
    Password,
    /// A bearer token the server issued.
    Jwt,
    ApiKey {
        key_id: String,
    },
    /// The operator's own process, over stdio, acting as the local owner.
    Local,
}

/// Who a request acts as, and what it may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    pub user_id: UserId,
    pub role: Role,
    pub plan: Plan,
    /// The credential's own scopes; `None` for a password or token session,
    /// which holds every scope of its role.
    pub scopes: Option<Vec<Scope>>,
    pub via: AuthMethod,
}

impl Principal {
    /// A session with every scope of the user's role.
    pub fn session(user: &User, via: AuthMethod) -> Principal {
        Principal {
            user_id: user.id.clone(),
            role: user.role,
            plan: user.plan.clone(),
            scopes: None,
            via,
        }
    }

    /// The principal an authenticated API key acts as: its own scopes, as
    /// far as its owner's current role allows.
    pub fn for_api_key(key: &ApiKeyInfo, user: &User) -> Principal {
        Principal {
            user_id: user.id.clone(),
            role: user.role,
            plan: user.plan.clone(),
            scopes: Some(key.scopes.clone()),
            via: AuthMethod::ApiKey {
                key_id: key.key_id.clone(),
            },
        }
    }

    /// Both the role and the credential must allow `scope`: a key minted
    /// with `admin` stops granting it once its owner is no longer an admin.
    pub fn has_scope(&self, scope: Scope) -> bool {
        self.role.allows(scope)
            && self
                .scopes
                .as_ref()
                .is_none_or(|scopes| scopes.contains(&scope))
    }

    /// The scopes this principal may use, in [`Scope::ALL`] order.
    pub fn effective_scopes(&self) -> Vec<Scope> {
        Scope::ALL
            .into_iter()
            .filter(|scope| self.has_scope(*scope))
            .collect()
    }

    /// An admin acting with the `admin` scope: may manage anyone's keys.
    pub fn acts_as_admin(&self) -> bool {
        self.has_scope(Scope::Admin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role) -> User {
        let epoch = Timestamp::from_unix_seconds(0).unwrap();
        User {
            id: UserId::new_random(),
            email: Email::parse("ada@example.org").unwrap(),
            display_name: "Ada".to_owned(),
            role,
            plan: Plan::free(),
            disabled: false,
            failed_logins: 0,
            locked_at: None,
            has_password: false,
            is_local_owner: false,
            created_at: epoch,
            updated_at: epoch,
        }
    }

    #[test]
    fn a_session_holds_every_scope_of_its_role() {
        let admin = Principal::session(&user(Role::Admin), AuthMethod::Password);
        assert_eq!(admin.effective_scopes(), Scope::ALL.to_vec());
        assert!(admin.acts_as_admin());
        let member = Principal::session(&user(Role::User), AuthMethod::Jwt);
        assert!(!member.has_scope(Scope::Admin));
        assert!(member.has_scope(Scope::Chat));
    }

    #[test]
    fn a_key_grants_only_its_scopes_and_only_while_the_role_allows_them() {
        let mut owner = user(Role::Admin);
        let epoch = Timestamp::from_unix_seconds(0).unwrap();
        let key = ApiKeyInfo {
            key_id: "0123456789abcdef".to_owned(),
            user_id: owner.id.clone(),
            name: "ci".to_owned(),
            scopes: vec![Scope::Health, Scope::Admin],
            created_at: epoch,
            last_used_at: None,
            expires_at: None,
            revoked_at: None,
            replaced_by: None,
        };
        let principal = Principal::for_api_key(&key, &owner);
        assert_eq!(
            principal.effective_scopes(),
            vec![Scope::Health, Scope::Admin]
        );
        owner.role = Role::User;
        let demoted = Principal::for_api_key(&key, &owner);
        assert_eq!(demoted.effective_scopes(), vec![Scope::Health]);
        assert!(!demoted.acts_as_admin());
    }
}
