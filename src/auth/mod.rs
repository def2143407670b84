//! Sign-in sessions (JWT) and bearer authentication.
//!
//! - [`Tokens`]: EdDSA-signed access and refresh tokens, refresh rotation with reuse
//!   detection, revocation (`refresh_tokens` and `revoked_tokens`, migration 4);
//! - [`LoginLimiter`]: password attempts per client address, in memory;
//! - [`AuthService`]: the above over identity's users and API keys, and
//!   [`AuthService::authenticate_bearer`], which turns an `Authorization: Bearer` credential
//!   (API key or access token) into a [`Principal`](crate::identity::Principal);
//! - [`http`]: `POST /auth/login`, `/auth/refresh`, `/auth/logout`, `/auth/register`, and
//!   the [`require_bearer`](http::require_bearer) middleware.
//!
//! It owns the session tables and the rules about tokens. It must not manage users, keys
//! or passwords (identity does), keep signing keys (secrets does), or decide what a
//! principal may do once known. It must never log, audit, store or echo a password, a
//! token or a key: refresh tokens are stored by `jti` only, the audit log gets ids and
//! pseudonyms, and every error message is safe to show a client.

mod credential_cache;
mod error;
pub mod http;
mod keyring;
mod limiter;
mod revocation;
mod service;
mod tokens;

#[cfg(test)]
mod test_support;

pub use error::{AuthError, AuthFailure};
pub use limiter::{Attempt, DEFAULT_MAX_TRACKED, LoginLimiter};
pub use service::{AuthParts, AuthService};
pub use tokens::{
    AccessClaims, EXPIRY_LEEWAY_SECS, JWT_KEY_PURPOSE, MAX_TOKEN_BYTES, NOT_BEFORE_LEEWAY_SECS,
    RefreshClaims, TokenKind, TokenPair, Tokens,
};
