//! [`AuthService`]: the sign-in sessions, the login limiter and bearer authentication put
//! together over the identity services and the audit log the application hands it.
//!
//! [`AuthService::authenticate_bearer`] is on every authenticated request's path, so it
//! does the least it can: an API key costs identity's one indexed read; an access token is
//! checked in memory ([`Tokens::verify_access`]) and its user read once (so disabling or
//! locking an account takes effect on the next request, in this process or any other).
//! Users are not cached: identity offers no change notification, so a cache could not be
//! told of a disable at once.
//!
//! This file must not read HTTP (that is `http.rs`) and must never log a presented
//! credential; failures are logged by kind only.

use std::fmt;
use std::sync::Arc;

use super::{AuthError, AuthFailure, LoginLimiter, Tokens};
use crate::audit::AuditLog;
use crate::config::AuthConfig;
use crate::identity::{ApiKeys, AuthMethod, Clock, KEY_PREFIX, Principal, Users};
use crate::secrets::SigningKeys;
use crate::store::Store;

/// What the application builds and hands to [`AuthService::new`].
pub struct AuthParts {
    pub config: AuthConfig,
    pub store: Store,
    pub users: Users,
    pub api_keys: ApiKeys,
    /// Where the `jwt` signing key is loaded from (made on first run).
    pub signing_keys: SigningKeys,
    pub audit: AuditLog,
    pub clock: Arc<dyn Clock>,
}

/// Sign-in, sessions and bearer authentication.
pub struct AuthService {
    config: AuthConfig,
    users: Users,
    api_keys: ApiKeys,
    tokens: Tokens,
    audit: AuditLog,
    limiter: LoginLimiter,
    clock: Arc<dyn Clock>,
}

impl AuthService {
    /// Loads (or makes) the `jwt` signing key and the revocations in force; builds the
    /// token service and the login limiter from `config`.
    pub async fn new(parts: AuthParts) -> Result<AuthService, AuthError> {
        let AuthParts {
            config,
            store,
            users,
            api_keys,
            signing_keys,
            audit,
            clock,
        } = parts;
        let tokens = Tokens::new(
            &config,
            store,
            users.clone(),
            signing_keys,
            Arc::clone(&clock),
        )
        .await?;
        let limiter = LoginLimiter::from_config(&config, Arc::clone(&clock));
        Ok(AuthService {
            config,
            users,
            api_keys,
            tokens,
            audit,
            limiter,
            clock,
        })
    }

    /// Who a bearer credential is: an API key (`csk_…`) or an access token. The failure
    /// says why in words safe for the client; the credential is never repeated.
    pub async fn authenticate_bearer(&self, token: &str) -> Result<Principal, AuthFailure> {
        let token = token.trim();
        if token.is_empty() {
            return Err(AuthFailure::Missing);
        }
        if token.starts_with(KEY_PREFIX) {
            return match self.api_keys.authenticate(token).await {
                Ok((key, user)) => Ok(Principal::for_api_key(&key, &user)),
                Err(error) => {
                    let failure = AuthFailure::from(&error);
                    log_refusal("api_key", failure, &error);
                    Err(failure)
                }
            };
        }
        let claims = self.tokens.verify_access(token).map_err(|error| {
            let failure = AuthFailure::from(&error);
            log_refusal("access_token", failure, &error);
            failure
        })?;
        let user = match self.users.get(&claims.user_id).await {
            Ok(Some(user)) => user,
            Ok(None) => return Err(AuthFailure::Invalid),
            Err(error) => {
                tracing::warn!(%error, "could not load the user of an access token");
                return Err(AuthFailure::Unavailable);
            }
        };
        if !user.may_authenticate() {
            return Err(AuthFailure::Disabled);
        }
        Ok(Principal::session(&user, AuthMethod::Jwt))
    }

    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    pub fn users(&self) -> &Users {
        &self.users
    }

    pub fn api_keys(&self) -> &ApiKeys {
        &self.api_keys
    }

    pub fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    pub fn limiter(&self) -> &LoginLimiter {
        &self.limiter
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }
}

impl fmt::Debug for AuthService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthService")
            .field("config", &self.config)
            .field("tokens", &self.tokens)
            .field("limiter", &self.limiter)
            .finish_non_exhaustive()
    }
}

/// Server faults at `warn` (with their cause, which never holds the credential), client
/// refusals at `debug`: a stream of bad tokens must not flood the log.
fn log_refusal(kind: &'static str, failure: AuthFailure, error: &dyn std::error::Error) {
    if failure == AuthFailure::Unavailable {
        tracing::warn!(credential = kind, error = %error, source = ?error.source().map(ToString::to_string), "could not check a bearer credential");
    } else {
        tracing::debug!(credential = kind, reason = %failure, "refused a bearer credential");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::test_support::Fixture;
    use crate::identity::{Role, Scope};

    #[tokio::test]
    async fn an_access_token_authenticates_as_a_session_of_its_user() {
        let fixture = Fixture::new().await;
        let service = fixture.service().await;
        let user = fixture.user("ada@example.org").await;
        let pair = service.tokens().issue(&user).await.unwrap();
        let principal = service
            .authenticate_bearer(&pair.access_token)
            .await
            .unwrap();
        assert_eq!(principal, Principal::session(&user, AuthMethod::Jwt));
        assert_eq!(principal.scopes, None);
    }

    #[tokio::test]
    async fn an_api_key_authenticates_with_its_own_scopes() {
        let fixture = Fixture::new().await;
        let service = fixture.service().await;
        let user = fixture.user("ada@example.org").await;
        let (info, key) = fixture
            .api_keys
            .create(&user.id, "ci", &[Scope::Health], None)
            .await
            .unwrap();
        let principal = service.authenticate_bearer(key.expose()).await.unwrap();
        assert_eq!(principal, Principal::for_api_key(&info, &user));
        let unknown = format!("{KEY_PREFIX}0123456789abcdef_{}", "A".repeat(43));
        assert!(matches!(
            service.authenticate_bearer(&unknown).await,
            Err(AuthFailure::Invalid) | Err(AuthFailure::Malformed)
        ));
        assert_eq!(
            service.authenticate_bearer("csk_nonsense").await,
            Err(AuthFailure::Malformed)
        );
    }

    #[tokio::test]
    async fn disabling_a_user_refuses_their_token_on_the_next_request() {
        let fixture = Fixture::new().await;
        let service = fixture.service().await;
        let user = fixture.user("ada@example.org").await;
        let admin = fixture.user("admin@example.org").await;
        fixture
            .users
            .set_role(&admin.id, Role::Admin)
            .await
            .unwrap();
        let pair = service.tokens().issue(&user).await.unwrap();
        service
            .authenticate_bearer(&pair.access_token)
            .await
            .unwrap();
        fixture.users.set_disabled(&user.id, true).await.unwrap();
        assert_eq!(
            service.authenticate_bearer(&pair.access_token).await,
            Err(AuthFailure::Disabled)
        );
        fixture.users.set_disabled(&user.id, false).await.unwrap();
        service
            .authenticate_bearer(&pair.access_token)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn refusals_say_why_without_repeating_the_credential() {
        let fixture = Fixture::new().await;
        let service = fixture.service().await;
        let user = fixture.user("ada@example.org").await;
        let pair = service.tokens().issue(&user).await.unwrap();
        assert_eq!(
            service.authenticate_bearer("  ").await,
            Err(AuthFailure::Missing)
        );
        assert_eq!(
            service.authenticate_bearer("not-a-jwt").await,
            Err(AuthFailure::Malformed)
        );
        let claims = service.tokens().verify_access(&pair.access_token).unwrap();
        service
            .tokens()
            .revoke(&claims.jti, claims.expires_at)
            .await
            .unwrap();
        let revoked = service
            .authenticate_bearer(&pair.access_token)
            .await
            .unwrap_err();
        assert_eq!(revoked, AuthFailure::Revoked);
        let other = service.tokens().issue(&user).await.unwrap();
        fixture.clock.advance(service.tokens().access_ttl_secs());
        let expired = service
            .authenticate_bearer(&other.access_token)
            .await
            .unwrap_err();
        assert_eq!(expired, AuthFailure::Expired);
        for failure in [revoked, expired] {
            let shown = format!("{failure} {failure:?}");
            assert!(!shown.contains(&pair.access_token[..20]), "{shown}");
        }
    }
}
