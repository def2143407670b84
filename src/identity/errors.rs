//! The errors identity reports. Every message is safe to show a client: no
//! secret, no password, no key, no stored hash, and nothing that tells
//! whether an email address has an account (an unknown email and a wrong
//! password are the same [`LoginError::InvalidCredentials`]). Store failures
//! keep their cause as a `source` for the logs, never in the message.
//!
//! This file must not decide policy; it only names the outcomes.

use crate::store::StoreError;

use super::Scope;

/// Failures of the user-management operations and of validating identity
/// values.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("not a valid user id")]
    InvalidUserId,

    #[error("role must be admin or user")]
    InvalidRole,

    #[error("a plan name is 1 to 32 characters of a-z, 0-9 and -")]
    InvalidPlan,

    #[error("unknown scope; valid scopes are: {valid}")]
    UnknownScope { valid: String },

    #[error("not a valid email address: {reason}")]
    InvalidEmail { reason: &'static str },

    #[error("not a valid display name: {reason}")]
    InvalidDisplayName { reason: &'static str },

    #[error("a user with this email address already exists")]
    EmailTaken,

    #[error("no such user")]
    UserNotFound,

    /// Refused so the server never ends up with nobody able to administer
    /// it.
    #[error("refused: this would leave the server without an enabled admin")]
    LastAdmin,

    #[error("a password needs at least {min} characters")]
    PasswordTooShort { min: usize },

    #[error("a password may have at most {max} characters")]
    PasswordTooLong { max: usize },

    #[error("a password cannot be only spaces")]
    PasswordBlank,

    /// The local owner's address belongs to an ordinary account, so the
    /// owner cannot be created.
    #[error("the local owner's address is already used by another account")]
    LocalOwnerConflict,

    /// argon2 failed, or its blocking task died; never the password's fault.
    #[error("password hashing failed")]
    Hashing,

    #[error("the system's random number generator failed")]
    Randomness,

    #[error("the identity store failed")]
    Store(#[source] StoreError),
}

impl From<StoreError> for IdentityError {
    fn from(error: StoreError) -> Self {
        IdentityError::Store(error)
    }
}

/// Why a login was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown email, wrong password or no password set: deliberately one
    /// answer.
    #[error("invalid email or password")]
    InvalidCredentials,

    /// Ten consecutive failures locked the account; an admin must unlock it.
    /// Given whatever password was tried, so the lock never becomes a way
    /// to test passwords.
    #[error(
        "this account is locked after too many failed logins; ask an administrator to unlock it"
    )]
    Locked,

    /// Given only once the password was right (wrong guesses still count
    /// towards the lock).
    #[error("this account is disabled")]
    Disabled,

    /// The server could not check the credentials (store or hashing
    /// failure); try again later.
    #[error("login is unavailable right now")]
    Unavailable(#[source] IdentityError),
}

impl From<StoreError> for LoginError {
    fn from(error: StoreError) -> Self {
        LoginError::Unavailable(IdentityError::Store(error))
    }
}

/// Failures of API-key authentication and management.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Not in the `csk_<key id>_<secret>` shape. The input is never echoed.
    #[error("malformed API key")]
    Malformed,

    /// No key with this id, or the secret does not match: one answer, so
    /// probing key ids learns nothing.
    #[error("unknown API key")]
    Unknown,

    #[error("this API key has been revoked")]
    Revoked,

    #[error("this API key has expired")]
    Expired,

    #[error("the owner of this API key is disabled or locked")]
    UserDisabled,

    #[error("this API key belongs to another user")]
    NotYours,

    /// The key's owner (by role) or the acting principal (by its own
    /// scopes) cannot hold this scope.
    #[error("scope {scope} is not allowed here")]
    ScopeNotAllowed { scope: Scope },

    #[error("an API key needs at least one scope")]
    NoScopes,

    #[error("not a valid API key name: {reason}")]
    InvalidName { reason: &'static str },

    #[error("an API key's expiry must be in the future")]
    ExpiryInPast,

    #[error("no such user")]
    UserNotFound,

    #[error("the system's random number generator failed")]
    Randomness,

    #[error("the identity store failed")]
    Store(#[source] StoreError),
}

impl From<StoreError> for KeyError {
    fn from(error: StoreError) -> Self {
        KeyError::Store(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_failures_keep_their_cause_out_of_the_message() {
        let cause = StoreError::Rejected("row with alice@example.org".to_owned());
        let shown = IdentityError::from(cause).to_string();
        assert_eq!(shown, "the identity store failed");
        let shown = LoginError::from(StoreError::Closed).to_string();
        assert_eq!(shown, "login is unavailable right now");
    }

    #[test]
    fn errors_can_cross_threads_and_tasks() {
        fn assert_send_sync_static<T: Send + Sync + 'static>() {}
        assert_send_sync_static::<IdentityError>();
        assert_send_sync_static::<LoginError>();
        assert_send_sync_static::<KeyError>();
    }
}
