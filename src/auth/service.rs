//! [`AuthService`]: the sign-in sessions, the login limiter and bearer authentication put
//! together over the identity services and the audit log the application hands it.
//!
//! [`AuthService::authenticate_bearer`] is on every authenticated request's path, so it
//! does the least it can: an access token is checked in memory ([`Tokens::verify_access`]);
//! an API key, or the user behind a token, is read from the store once and then served from
//! the [`CredentialCache`](super::credential_cache) for a few seconds. Any revocation,
//! disabling, lock or plan change in this process makes the cache look again at once (the
//! identity services count their changes); one made by another process applies within
//! the cache's lifetime.
//!
//! This file must not read HTTP (that is `http.rs`) and must never log a presented
//! credential; failures are logged by kind only.

use std::fmt;
use std::sync::Arc;

use super::credential_cache::{self, CredentialCache, Generations};
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
    cache: CredentialCache,
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
            cache: CredentialCache::default(),
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
        let now = self.clock.now();
        if token.starts_with(KEY_PREFIX) {
            // Read before the store: a change racing the read leaves the entry stale.
            let generations = Generations {
                users: self.users.generation(),
                keys: self.api_keys.generation(),
            };
            let digest = credential_cache::digest(token);
            if let Some(principal) = self.cache.key(&digest, now, generations) {
                return Ok(principal);
            }
            return match self.api_keys.authenticate(token).await {
                Ok((key, user)) => {
                    let principal = Principal::for_api_key(&key, &user);
                    self.cache.remember_key(
                        digest,
                        principal.clone(),
                        key.expires_at,
                        now,
                        generations,
                    );
                    Ok(principal)
                }
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
        let users_generation = self.users.generation();
        if let Some(user) = self.cache.user(&claims.user_id, now, users_generation) {
            return Ok(Principal::session(&user, AuthMethod::Jwt));
        }
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
        let principal = Principal::session(&user, AuthMethod::Jwt);
        self.cache.remember_user(user, now, users_generation);
        Ok(principal)
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
