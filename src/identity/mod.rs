//! Identity: who may use the server. Users (with argon2id passwords, a
//! failed-login lock and the local owner made on first run), their API keys
//! (`csk_…`, stored as SHA-256 digests), and the [`Principal`] a request
//! acts as.
//!
//! It owns the `users` and `api_keys` tables (migration 2) and the rules
//! about them, including who may manage which key. It must not issue or
//! check JWTs, read HTTP headers, meter usage or expose MCP tools; those
//! layers call [`Users`] and [`ApiKeys`]. It must never log, store or put
//! into an error a password, a password hash, a key secret or a whole key.

mod email;
mod errors;
mod key_auth;
mod key_format;
mod keys;
mod login;
mod model;
mod password;
mod rows;
mod time;
mod types;
mod users;

#[cfg(test)]
mod tests;

pub use email::Email;
pub use errors::{IdentityError, KeyError, LoginError};
pub use key_auth::LAST_USED_WRITE_INTERVAL_SECONDS;
pub use key_format::{KEY_PREFIX, PlaintextApiKey};
pub use keys::ApiKeys;
pub use login::MAX_FAILED_LOGINS;
pub use model::{ApiKeyInfo, AuthMethod, Principal, User};
pub(crate) use password::fill_random;
pub use password::{PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS, PasswordHasher, check_password_policy};
pub(crate) use rows::is_unique_violation;
pub use time::{Clock, ManualClock, SystemClock, Timestamp};
pub use types::{Plan, Role, Scope, UserId};
pub use users::{LOCAL_OWNER_EMAIL, UserFilter, Users};
