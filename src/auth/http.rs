//! The sign-in routes and the bearer middleware.
//!
//! - `POST /auth/login` `{email, password}` → 200 with a token pair; 401 for a wrong
//!   password or an unknown email alike; 403 for a locked or disabled account; 429 with
//!   `Retry-After` past the per-address allowance.
//! - `POST /auth/refresh` `{refresh_token}` → a new pair; a reused refresh token → 401 and
//!   its whole sign-in revoked.
//! - `POST /auth/logout` with `Authorization: Bearer <access token>`, optional
//!   `{refresh_token}` → 204; revokes the access token and its sign-in (and the given
//!   refresh token's sign-in, if it is the same user's).
//! - `POST /auth/register` `{email, password, display_name}` → 201 with a token pair; the
//!   route exists only when `allow_self_signup` is on.
//! - [`require_bearer`]: the middleware that puts the caller's
//!   [`Principal`](crate::identity::Principal) into the request's extensions.
//!
//! Errors are JSON `{"error": "<OAuth-style code>", "error_description": "..."}` and every
//! response carrying or refusing a credential is `Cache-Control: no-store`. Bodies are read
//! by this file, not by axum's extractors, so even a malformed body gets that shape, and a
//! body's parse error is never echoed (it could quote a password).
//!
//! The client address comes from `ConnectInfo<SocketAddr>` when the server provides it
//! (without it, all clients share one login allowance). This file must not check
//! passwords or tokens itself (identity and `Tokens` do), and must never log or audit a
//! password, a token or a key: the audit log gets user ids, or a pseudonymised email for
//! an account that may not exist.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use zeroize::Zeroizing;

use super::{AuthError, AuthFailure, AuthService, TokenPair};
use crate::audit::{AuditEntry, pseudonymise};
use crate::identity::{
    Email, IdentityError, KEY_PREFIX, LoginError, Plan, Role, User, UserId, check_password_policy,
};

/// The realm named in every `WWW-Authenticate` challenge.
pub const REALM: &str = "consilium";

/// The largest body an auth route reads; these bodies are a few hundred bytes.
const MAX_BODY_BYTES: usize = 16 * 1024;

/// The sign-in routes with their state applied, ready to `.merge()` into any router.
pub fn router<S>(service: Arc<AuthService>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let mut routes = Router::new()
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(logout));
    if service.config().allow_self_signup {
        routes = routes.route("/auth/register", post(register));
    }
    routes.with_state(service)
}

/// Middleware (for `axum::middleware::from_fn_with_state`): authenticates
/// `Authorization: Bearer <API key or access token>`, puts the
/// [`Principal`](crate::identity::Principal) into the request's extensions and goes on;
/// otherwise answers with [`refusal`].
pub async fn require_bearer(
    State(service): State<Arc<AuthService>>,
    mut request: Request,
    next: Next,
) -> Response {
    let outcome = match bearer(request.headers()) {
        Bearer::Absent => Err(AuthFailure::Missing),
        Bearer::Malformed => Err(AuthFailure::Malformed),
        Bearer::Present(token) => service.authenticate_bearer(token).await,
    };
    match outcome {
        Ok(principal) => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Err(failure) => refusal(failure),
    }
}

/// The RFC 6750 challenge for `failure`: the realm alone when nothing was presented, with
/// an error code and description when a credential was refused.
pub fn www_authenticate(failure: AuthFailure) -> HeaderValue {
    let realm_only = HeaderValue::from_static("Bearer realm=\"consilium\"");
    if matches!(failure, AuthFailure::Missing | AuthFailure::Unavailable) {
        return realm_only;
    }
    // The descriptions are fixed phrases; quotes and backslashes are dropped anyway so the
    // quoted-string can never break.
    let description: String = failure
        .to_string()
        .chars()
        .filter(|c| !matches!(c, '"' | '\\') && !c.is_control())
        .collect();
    let value = format!(
        "Bearer realm=\"{REALM}\", error=\"{}\", error_description=\"{description}\"",
        failure.error_code()
    );
    HeaderValue::from_str(&value).unwrap_or(realm_only)
}

/// The response refusing a bearer credential: 401 with a challenge, or 503 when the
/// server could not check it.
pub fn refusal(failure: AuthFailure) -> Response {
    if failure == AuthFailure::Unavailable {
        return error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            failure.error_code(),
            &failure.to_string(),
        );
    }
    let mut response = error_response(
        StatusCode::UNAUTHORIZED,
        failure.error_code(),
        &failure.to_string(),
    );
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, www_authenticate(failure));
    response
}

// ----- handlers -----

/// A password from a body: no `Debug`, so it cannot be printed by accident, and wiped
/// from memory when dropped (the raw body it was parsed from is not: axum owns it).
#[derive(Deserialize)]
#[serde(from = "String")]
struct Password(Zeroizing<String>);

impl From<String> for Password {
    fn from(text: String) -> Self {
        Password(Zeroizing::new(text))
    }
}

impl std::ops::Deref for Password {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

#[derive(Deserialize)]
struct LoginBody {
    email: String,
    password: Password,
}

#[derive(Deserialize)]
struct RefreshBody {
    refresh_token: String,
}

#[derive(Deserialize, Default)]
struct LogoutBody {
    #[serde(default)]
    refresh_token: Option<String>,
}

#[derive(Deserialize)]
struct RegisterBody {
    email: String,
    password: Password,
    display_name: String,
}

async fn login(State(service): State<Arc<AuthService>>, request: Request) -> Response {
    let client = Client::of(&request);
    let body: LoginBody = match read_json(request.into_body(), "{\"email\", \"password\"}").await {
        Ok(Some(body)) => body,
        Ok(None) => return invalid_body("{\"email\", \"password\"}"),
        Err(response) => return response,
    };
    let attempted = email_pseudonym(&body.email);
    if let Some(response) = rate_limited(&service, &client, &attempted, "auth.login.rate_limited") {
        return response;
    }
    // Read before the attempt: the audit names an existing account by id, and a lock is
    // attributed to the attempt that caused it (the account was unlocked before it).
    // Cheap beside argon2, and done for every email alike.
    let before = account(&service, &body.email).await;
    let actor = before
        .as_ref()
        .map_or(attempted, |user| user_actor(&user.id));
    let outcome = service
        .users()
        .verify_login(&body.email, &body.password)
        .await;
    match outcome {
        Ok(user) => match service.tokens().issue(&user).await {
            Ok(pair) => {
                client.audit(
                    &service,
                    AuditEntry::new(user_actor(&user.id), "auth.login.succeeded")
                        .target(user_actor(&user.id))
                        .details(json!({"method": "password"})),
                );
                token_response(&service, StatusCode::OK, &pair)
            }
            Err(error) => auth_error_response(&error, "invalid_grant"),
        },
        Err(LoginError::InvalidCredentials) => {
            client.audit(
                &service,
                AuditEntry::new(actor, "auth.login.failed")
                    .details(json!({"reason": "invalid_credentials"})),
            );
            error_response(
                StatusCode::UNAUTHORIZED,
                "invalid_grant",
                &LoginError::InvalidCredentials.to_string(),
            )
        }
        Err(error @ (LoginError::Locked | LoginError::Disabled)) => {
            let locked = matches!(error, LoginError::Locked);
            if let Some(user) = &before
                && locked
                && !user.is_locked()
            {
                client.audit(
                    &service,
                    AuditEntry::new(user_actor(&user.id), "auth.account.locked")
                        .target(user_actor(&user.id))
                        .details(json!({"failed_logins": user.failed_logins.saturating_add(1)})),
                );
            }
            let reason = if locked { "locked" } else { "disabled" };
            client.audit(
                &service,
                AuditEntry::new(actor, "auth.login.failed").details(json!({"reason": reason})),
            );
            error_response(StatusCode::FORBIDDEN, "access_denied", &error.to_string())
        }
        Err(error @ LoginError::Unavailable(_)) => {
            tracing::warn!(%error, source = ?std::error::Error::source(&error).map(ToString::to_string), "login failed on the server side");
            error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                &error.to_string(),
            )
        }
    }
}

async fn refresh(State(service): State<Arc<AuthService>>, request: Request) -> Response {
    let client = Client::of(&request);
    let body: RefreshBody = match read_json(request.into_body(), "{\"refresh_token\"}").await {
        Ok(Some(body)) => body,
        Ok(None) => return invalid_body("{\"refresh_token\"}"),
        Err(response) => return response,
    };
    match service.tokens().refresh(&body.refresh_token).await {
        Ok((pair, _user)) => token_response(&service, StatusCode::OK, &pair),
        Err(error) => {
            if let AuthError::RefreshReuse { user_id, family_id } = &error {
                client.audit(
                    &service,
                    AuditEntry::new(user_actor(user_id), "auth.refresh.reuse_detected")
                        .target(format!("session:{family_id}"))
                        .details(json!({"session_revoked": true})),
                );
            }
            auth_error_response(&error, "invalid_grant")
        }
    }
}

async fn logout(State(service): State<Arc<AuthService>>, request: Request) -> Response {
    let client = Client::of(&request);
    let token = match bearer(request.headers()) {
        Bearer::Absent => return refusal(AuthFailure::Missing),
        Bearer::Malformed => return refusal(AuthFailure::Malformed),
        Bearer::Present(token) => token.to_owned(),
    };
    if token.starts_with(KEY_PREFIX) {
        return error_response(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "logout ends a sign-in session; API keys are revoked through key management",
        );
    }
    let tokens = service.tokens();
    let claims = match tokens.verify_access(&token) {
        Ok(claims) => claims,
        Err(error) if error.is_server_fault() => return refusal(AuthFailure::Unavailable),
        Err(error) => return refusal(AuthFailure::from(&error)),
    };
    let body: LogoutBody = match read_json(request.into_body(), "{\"refresh_token\"}").await {
        Ok(body) => body.unwrap_or_default(),
        Err(response) => return response,
    };
    // A refresh token that no longer verifies cannot be used either: nothing to revoke.
    let other_family = match body
        .refresh_token
        .as_deref()
        .map(|t| tokens.verify_refresh(t))
    {
        Some(Ok(refresh)) if refresh.user_id != claims.user_id => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the refresh token belongs to another account",
            );
        }
        Some(Ok(refresh)) if refresh.family_id != claims.family_id => Some(refresh.family_id),
        _ => None,
    };
    let revoked = async {
        tokens.revoke(&claims.jti, claims.expires_at).await?;
        let mut sessions = tokens.revoke_family(&claims.family_id).await?;
        if let Some(family) = &other_family {
            sessions += tokens.revoke_family(family).await?;
        }
        Ok::<_, AuthError>(sessions)
    }
    .await;
    let refresh_tokens_revoked = match revoked {
        Ok(count) => count,
        Err(error) => return auth_error_response(&error, "invalid_request"),
    };
    client.audit(
        &service,
        AuditEntry::new(user_actor(&claims.user_id), "auth.logout")
            .target(format!("session:{}", claims.family_id))
            .details(json!({
                "other_session_revoked": other_family.is_some(),
                "refresh_tokens_revoked": refresh_tokens_revoked,
            })),
    );
    tokens.prune_if_due();
    no_store(StatusCode::NO_CONTENT.into_response())
}

async fn register(State(service): State<Arc<AuthService>>, request: Request) -> Response {
    const SHAPE: &str = "{\"email\", \"password\", \"display_name\"}";
    let client = Client::of(&request);
    let body: RegisterBody = match read_json(request.into_body(), SHAPE).await {
        Ok(Some(body)) => body,
        Ok(None) => return invalid_body(SHAPE),
        Err(response) => return response,
    };
    let attempted = email_pseudonym(&body.email);
    if let Some(response) =
        rate_limited(&service, &client, &attempted, "auth.register.rate_limited")
    {
        return response;
    }
    let invalid = |error: IdentityError| {
        error_response(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &error.to_string(),
        )
    };
    let email = match Email::parse(&body.email) {
        Ok(email) => email,
        Err(error) => return invalid(error),
    };
    // Before the account exists, so a refused password leaves nothing behind.
    if let Err(error) = check_password_policy(&body.password) {
        return invalid(error);
    }
    let user = match service
        .users()
        .create(email, &body.display_name, Role::User, Plan::free())
        .await
    {
        Ok(user) => user,
        Err(IdentityError::EmailTaken) => {
            return error_response(
                StatusCode::CONFLICT,
                "invalid_request",
                &IdentityError::EmailTaken.to_string(),
            );
        }
        Err(error @ IdentityError::InvalidDisplayName { .. }) => return invalid(error),
        Err(error) => return identity_failure(&error),
    };
    if let Err(error) = service.users().set_password(&user.id, &body.password).await {
        // The account exists without a password: it cannot sign in until one is set.
        tracing::warn!(user_id = %user.id, "a new account was created but its password could not be set");
        return identity_failure(&error);
    }
    client.audit(
        &service,
        AuditEntry::new(user_actor(&user.id), "auth.register")
            .target(user_actor(&user.id))
            .details(json!({"role": Role::User.as_str(), "plan": "free"})),
    );
    match service.tokens().issue(&user).await {
        Ok(pair) => token_response(&service, StatusCode::CREATED, &pair),
        Err(error) => auth_error_response(&error, "invalid_grant"),
    }
}

// ----- helpers -----

/// What the audit log records about the caller.
struct Client {
    ip: Option<IpAddr>,
    user_agent: Option<String>,
}

impl Client {
    fn of(request: &Request) -> Client {
        let ip = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(address)| address.ip());
        let user_agent = request
            .headers()
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        Client { ip, user_agent }
    }

    /// Records `entry` with the caller's address and user agent, without waiting. A failure
    /// is logged by action only.
    fn audit(&self, service: &AuthService, mut entry: AuditEntry) {
        if let Some(ip) = self.ip {
            entry = entry.ip(ip.to_string());
        }
        if let Some(user_agent) = &self.user_agent {
            entry = entry.user_agent(user_agent.clone());
        }
        let action = entry.action.clone();
        if let Err(error) = service.audit().record_detached(entry) {
            tracing::warn!(%error, action, "could not record an audit entry");
        }
    }
}

/// 429 (and an audit entry) if this address has used its allowance, else counts it.
fn rate_limited(
    service: &AuthService,
    client: &Client,
    attempted: &str,
    action: &'static str,
) -> Option<Response> {
    let super::Attempt::Limited { retry_after_secs } = service.limiter().check(client.ip) else {
        return None;
    };
    client.audit(
        service,
        AuditEntry::new(attempted, action).details(json!({"retry_after_secs": retry_after_secs})),
    );
    let mut response = error_response(
        StatusCode::TOO_MANY_REQUESTS,
        "slow_down",
        &format!("too many attempts from this address; try again in {retry_after_secs} seconds"),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    Some(response)
}

/// The account an email names, if there is one and it can be read.
async fn account(service: &AuthService, email: &str) -> Option<User> {
    let email = Email::parse(email).ok()?;
    service.users().find_by_email(&email).await.ok().flatten()
}

fn user_actor(id: &UserId) -> String {
    format!("user:{id}")
}

/// `email:<pseudonym>` of the address as identity would store it, for an account that may
/// not exist.
fn email_pseudonym(raw: &str) -> String {
    let normalised = Email::parse(raw)
        .map(|email| email.as_str().to_owned())
        .unwrap_or_else(|_| raw.trim().to_lowercase());
    format!("email:{}", pseudonymise(&normalised))
}

/// Reads a JSON body of at most [`MAX_BODY_BYTES`]. `Ok(None)` for an empty body; a body
/// that is not the expected JSON answers 400 naming only the `shape` expected.
async fn read_json<T: DeserializeOwned>(body: Body, shape: &str) -> Result<Option<T>, Response> {
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| {
            error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                "the request body is too large or could not be read",
            )
        })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|_| invalid_body(shape))
}

fn invalid_body(shape: &str) -> Response {
    error_response(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        &format!("the body must be a JSON object {shape}"),
    )
}

fn token_response(service: &AuthService, status: StatusCode, pair: &TokenPair) -> Response {
    let now = service.clock().now().unix_seconds();
    let body = json!({
        "access_token": pair.access_token,
        "token_type": "Bearer",
        "expires_in": pair.access_expires_at.unix_seconds() - now,
        "refresh_token": pair.refresh_token,
        "refresh_expires_in": pair.refresh_expires_at.unix_seconds() - now,
    });
    no_store((status, axum::Json(body)).into_response())
}

/// A token operation's failure: 503 for server faults, 403 for a refused account, 401
/// with `code` otherwise.
fn auth_error_response(error: &AuthError, code: &str) -> Response {
    if error.is_server_fault() {
        tracing::warn!(%error, source = ?std::error::Error::source(error).map(ToString::to_string), "a token operation failed on the server side");
        return error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            &error.to_string(),
        );
    }
    if matches!(error, AuthError::UserDisabled) {
        return error_response(StatusCode::FORBIDDEN, "access_denied", &error.to_string());
    }
    error_response(StatusCode::UNAUTHORIZED, code, &error.to_string())
}

fn identity_failure(error: &IdentityError) -> Response {
    tracing::warn!(%error, source = ?std::error::Error::source(error).map(ToString::to_string), "an account operation failed on the server side");
    error_response(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        "the account could not be created right now; try again later",
    )
}

fn error_response(status: StatusCode, code: &str, description: &str) -> Response {
    let body = json!({"error": code, "error_description": description});
    no_store((status, axum::Json(body)).into_response())
}

/// RFC 6749 §5.1: responses carrying tokens must not be cached.
fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// What a request's `Authorization` header holds.
pub enum Bearer<'a> {
    Absent,
    Malformed,
    Present(&'a str),
}

/// `Authorization: Bearer <token>`, the scheme in any letter case (RFC 7235), the token
/// one run of visible characters.
pub fn bearer(headers: &HeaderMap) -> Bearer<'_> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Bearer::Absent;
    };
    let Ok(text) = value.to_str() else {
        return Bearer::Malformed;
    };
    let Some((scheme, token)) = text.trim().split_once(' ') else {
        return Bearer::Malformed;
    };
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer")
        || token.is_empty()
        || !token.bytes().all(|b| b.is_ascii_graphic())
    {
        return Bearer::Malformed;
    }
    Bearer::Present(token)
}

#[cfg(test)]
mod tests {
    use axum::Extension;
    use axum::routing::get;
    use serde_json::Value;
    use tower::ServiceExt as _;

    use super::*;
    use crate::auth::test_support::{Fixture, PASSWORD};
    use crate::config::AuthConfig;
    use crate::identity::{MAX_FAILED_LOGINS, Principal, Scope};

    const ADA: &str = "ada@example.org";

    /// The auth routes plus one protected route answering with the caller's user id.
    fn app(service: &Arc<AuthService>) -> Router {
        async fn whoami(Extension(principal): Extension<Principal>) -> String {
            principal.user_id.to_string()
        }
        Router::new()
            .route("/protected", get(whoami))
            .route_layer(axum::middleware::from_fn_with_state(
                service.clone(),
                require_bearer,
            ))
            .merge(router(service.clone()))
    }

    fn post(path: &str, body: &Value, ip: Option<[u8; 4]>) -> Request {
        let mut request = Request::post(path)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::USER_AGENT, "auth-test/1")
            .body(Body::from(serde_json::to_vec(body).unwrap()))
            .unwrap();
        if let Some(ip) = ip {
            request
                .extensions_mut()
                .insert(ConnectInfo(SocketAddr::from((ip, 40_000))));
        }
        request
    }

    fn with_bearer(mut request: Request, token: &str) -> Request {
        request.headers_mut().insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
        request
    }

    fn get_protected(authorization: Option<&str>) -> Request {
        let mut builder = Request::get("/protected");
        if let Some(value) = authorization {
            builder = builder.header(header::AUTHORIZATION, value);
        }
        builder.body(Body::empty()).unwrap()
    }

    async fn send(app: &Router, request: Request) -> (StatusCode, HeaderMap, Value) {
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        (status, headers, body)
    }

    fn credentials(password: &str) -> Value {
        json!({"email": ADA, "password": password})
    }

    async fn login(app: &Router, ip: [u8; 4]) -> Value {
        let (status, _, body) =
            send(app, post("/auth/login", &credentials(PASSWORD), Some(ip))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    #[tokio::test]
    async fn a_login_returns_tokens_that_open_protected_routes() {
        let fixture = Fixture::new().await;
        let user = fixture.user(ADA).await;
        let service = fixture.service().await;
        let app = app(&service);
        let (status, headers, body) = send(
            &app,
            post("/auth/login", &credentials(PASSWORD), Some([192, 0, 2, 1])),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 15 * 60);
        assert_eq!(body["refresh_expires_in"], 30 * 24 * 60 * 60);
        let access = body["access_token"].as_str().unwrap();
        assert!(body["refresh_token"].as_str().is_some());
        let (status, _, whoami) =
            send(&app, get_protected(Some(&format!("Bearer {access}")))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(whoami, Value::String(user.id.to_string()));
        let entries = fixture.audit_entries().await;
        let succeeded = entries
            .iter()
            .find(|e| e.action == "auth.login.succeeded")
            .unwrap();
        assert_eq!(succeeded.actor, format!("user:{}", user.id));
        assert_eq!(succeeded.ip.as_deref(), Some("192.0.2.1"));
        assert_eq!(succeeded.user_agent.as_deref(), Some("auth-test/1"));
    }

    #[tokio::test]
    async fn a_wrong_password_and_an_unknown_email_get_the_same_401() {
        let fixture = Fixture::new().await;
        let user = fixture.user(ADA).await;
        let service = fixture.service().await;
        let app = app(&service);
        let wrong = send(
            &app,
            post("/auth/login", &credentials("wrong password here"), None),
        )
        .await;
        let unknown = send(
            &app,
            post(
                "/auth/login",
                &json!({"email": "nobody@example.org", "password": PASSWORD}),
                None,
            ),
        )
        .await;
        assert_eq!(wrong.0, StatusCode::UNAUTHORIZED);
        assert_eq!(wrong.0, unknown.0);
        assert_eq!(wrong.2, unknown.2);
        assert_eq!(wrong.2["error"], "invalid_grant");
        let entries = fixture.audit_entries().await;
        let failed: Vec<_> = entries
            .iter()
            .filter(|e| e.action == "auth.login.failed")
            .collect();
        assert_eq!(failed.len(), 2);
        // The existing account by id; the address that has none only by pseudonym.
        assert_eq!(failed[0].actor, format!("user:{}", user.id));
        assert!(failed[1].actor.starts_with("email:"), "{}", failed[1].actor);
        assert!(!failed[1].actor.contains("example.org"));
        let shown = serde_json::to_string(&entries).unwrap();
        assert!(!shown.contains("wrong password") && !shown.contains(PASSWORD));
    }

    #[tokio::test]
    async fn the_sixth_login_attempt_from_one_address_in_the_window_gets_429() {
        let fixture = Fixture::new().await;
        fixture.user(ADA).await;
        let service = fixture.service().await;
        let app = app(&service);
        let attacker = Some([198, 51, 100, 9]);
        for _ in 0..5 {
            let (status, _, _) = send(
                &app,
                post("/auth/login", &credentials("guess guess guess"), attacker),
            )
            .await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
        let (status, headers, body) =
            send(&app, post("/auth/login", &credentials(PASSWORD), attacker)).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
        assert_eq!(headers[header::RETRY_AFTER], "900");
        assert_eq!(body["error"], "slow_down");
        // Another address is unaffected.
        login(&app, [192, 0, 2, 1]).await;
        // Once the window has passed, the first address may try again.
        fixture
            .clock
            .advance(i64::try_from(fixture.config.login_window_secs).unwrap());
        login(&app, [198, 51, 100, 9]).await;
        let entries = fixture.audit_entries().await;
        assert!(
            entries
                .iter()
                .any(|e| e.action == "auth.login.rate_limited")
        );
    }

    #[tokio::test]
    async fn a_failure_that_locks_the_account_is_audited_and_answered_403() {
        let fixture = Fixture::new().await;
        let user = fixture.user(ADA).await;
        let service = fixture.service().await;
        let app = app(&service);
        let mut last = None;
        for i in 0..MAX_FAILED_LOGINS {
            // A fresh address each time, so the limiter stays out of the way.
            let ip = [203, 0, 113, u8::try_from(i).unwrap()];
            last = Some(
                send(
                    &app,
                    post("/auth/login", &credentials("guess guess guess"), Some(ip)),
                )
                .await,
            );
        }
        let (status, _, body) = last.unwrap();
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["error"], "access_denied");
        // The right password does not get past the lock either.
        let (status, _, _) = send(
            &app,
            post("/auth/login", &credentials(PASSWORD), Some([192, 0, 2, 1])),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let entries = fixture.audit_entries().await;
        let locked: Vec<_> = entries
            .iter()
            .filter(|e| e.action == "auth.account.locked")
            .collect();
        assert_eq!(locked.len(), 1);
        assert_eq!(locked[0].actor, format!("user:{}", user.id));
    }

    #[tokio::test]
    async fn register_does_not_exist_when_self_signup_is_off() {
        let fixture = Fixture::new().await;
        let service = fixture.service().await;
        let body = json!({"email": ADA, "password": PASSWORD, "display_name": "Ada"});
        let (status, _, _) = send(&app(&service), post("/auth/register", &body, None)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(
            fixture
                .users
                .find_by_email(&Email::parse(ADA).unwrap())
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn register_makes_a_free_user_and_signs_them_in_when_self_signup_is_on() {
        let fixture = Fixture::with_config(AuthConfig {
            allow_self_signup: true,
            ..AuthConfig::default()
        })
        .await;
        let service = fixture.service().await;
        let app = app(&service);
        let short = json!({"email": ADA, "password": "short", "display_name": "Ada"});
        let (status, _, body) = send(&app, post("/auth/register", &short, None)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            fixture
                .users
                .find_by_email(&Email::parse(ADA).unwrap())
                .await
                .unwrap()
                .is_none()
        );
        let good = json!({"email": ADA, "password": PASSWORD, "display_name": "Ada"});
        let (status, _, body) = send(&app, post("/auth/register", &good, None)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let access = body["access_token"].as_str().unwrap();
        let user = fixture
            .users
            .find_by_email(&Email::parse(ADA).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(user.role, Role::User);
        assert_eq!(user.plan, Plan::free());
        assert!(user.has_password);
        let (status, _, _) = send(&app, get_protected(Some(&format!("Bearer {access}")))).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _, _) = send(&app, post("/auth/register", &good, None)).await;
        assert_eq!(status, StatusCode::CONFLICT);
        login(&app, [192, 0, 2, 1]).await;
        let entries = fixture.audit_entries().await;
        assert!(
            entries
                .iter()
                .any(|e| e.action == "auth.register" && e.actor == format!("user:{}", user.id))
        );
    }

    #[tokio::test]
    async fn refresh_reuse_answers_401_and_revokes_the_session() {
        let fixture = Fixture::new().await;
        fixture.user(ADA).await;
        let service = fixture.service().await;
        let app = app(&service);
        let first = login(&app, [192, 0, 2, 1]).await;
        let stolen = json!({"refresh_token": first["refresh_token"]});
        let (status, _, second) = send(&app, post("/auth/refresh", &stolen, None)).await;
        assert_eq!(status, StatusCode::OK, "{second}");
        let (status, _, body) = send(&app, post("/auth/refresh", &stolen, None)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"], "invalid_grant");
        let next = json!({"refresh_token": second["refresh_token"]});
        let (status, _, _) = send(&app, post("/auth/refresh", &next, None)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let access = second["access_token"].as_str().unwrap();
        let (status, _, _) = send(&app, get_protected(Some(&format!("Bearer {access}")))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let entries = fixture.audit_entries().await;
        assert!(
            entries
                .iter()
                .any(|e| e.action == "auth.refresh.reuse_detected")
        );
    }

    #[tokio::test]
    async fn logout_revokes_the_access_token_and_its_session() {
        let fixture = Fixture::new().await;
        fixture.user(ADA).await;
        let service = fixture.service().await;
        let app = app(&service);
        let session = login(&app, [192, 0, 2, 1]).await;
        let access = session["access_token"].as_str().unwrap();
        let body = json!({"refresh_token": session["refresh_token"]});
        let (status, headers, _) =
            send(&app, with_bearer(post("/auth/logout", &body, None), access)).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        let (status, headers, body) =
            send(&app, get_protected(Some(&format!("Bearer {access}")))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"], "invalid_token");
        let challenge = headers[header::WWW_AUTHENTICATE].to_str().unwrap();
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
        let refresh = json!({"refresh_token": session["refresh_token"]});
        let (status, _, _) = send(&app, post("/auth/refresh", &refresh, None)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        // Logging out again with the revoked token is refused like any revoked token.
        let (status, _, _) = send(
            &app,
            with_bearer(post("/auth/logout", &Value::Null, None), access),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let entries = fixture.audit_entries().await;
        assert!(entries.iter().any(|e| e.action == "auth.logout"));
    }

    #[tokio::test]
    async fn the_middleware_challenges_missing_malformed_and_refused_credentials() {
        let fixture = Fixture::new().await;
        let user = fixture.user(ADA).await;
        let service = fixture.service().await;
        let app = app(&service);
        let (status, headers, body) = send(&app, get_protected(None)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            headers[header::WWW_AUTHENTICATE],
            "Bearer realm=\"consilium\""
        );
        assert!(body["error_description"].is_string());
        let (status, headers, body) = send(&app, get_protected(Some("Basic YWRhOnB3"))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"], "invalid_request");
        assert!(
            headers[header::WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .contains("error=\"invalid_request\"")
        );
        let forged = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.";
        let (status, headers, body) =
            send(&app, get_protected(Some(&format!("Bearer {forged}")))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let shown = format!("{headers:?} {body}");
        assert!(!shown.contains(forged), "{shown}");
        let (_, key) = fixture
            .api_keys
            .create(&user.id, "ci", &[Scope::Health], None)
            .await
            .unwrap();
        let (status, _, whoami) = send(
            &app,
            get_protected(Some(&format!("bearer {}", key.expose()))),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(whoami, Value::String(user.id.to_string()));
    }

    #[tokio::test]
    async fn a_body_that_is_not_the_expected_json_gets_400_without_an_echo() {
        let fixture = Fixture::new().await;
        let service = fixture.service().await;
        let app = app(&service);
        let request = Request::post("/auth/login")
            .body(Body::from(
                "{\"email\": \"ada@example.org\", \"password\": \"hunter2hunter2\"",
            ))
            .unwrap();
        let (status, headers, body) = send(&app, request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "invalid_request");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        assert!(!body.to_string().contains("hunter2"));
        let (status, _, _) = send(&app, post("/auth/refresh", &json!({"token": 1}), None)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
}
