//! The errors of sign-in sessions: [`AuthError`] for the token operations, and
//! [`AuthFailure`], the one reason a bearer credential was refused, worded for a client.
//!
//! Every message here is safe to send to a client and to log: none repeats a token, a key,
//! a password or an email address, and store failures keep their cause as a `source` (for
//! the logs), never in the message. This file names outcomes; it must not decide policy or
//! build HTTP responses.

use crate::identity::{IdentityError, KeyError, UserId};
use crate::secrets::SigningKeyError;
use crate::store::StoreError;

/// Failures of issuing, verifying, refreshing and revoking tokens.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Not three base64url parts, an unreadable header, or far too long.
    #[error("the token is malformed")]
    Malformed,

    /// A bad signature, an algorithm other than EdDSA, an unknown or expired signing key,
    /// the wrong issuer, audience or token type: deliberately one answer.
    #[error("the token is not valid")]
    Invalid,

    #[error("the token has expired")]
    Expired,

    #[error("the token is not valid yet")]
    NotYetValid,

    #[error("the token has been revoked")]
    Revoked,

    /// A refresh token was presented after it had been used or revoked: a copy is in
    /// someone else's hands. The whole family (the sign-in it belongs to) is now revoked;
    /// the caller should audit this as likely theft.
    #[error("this refresh token was already used; the session has been revoked, sign in again")]
    RefreshReuse { user_id: UserId, family_id: String },

    /// The token is fine but its user may not sign in (disabled or locked).
    #[error("the account is disabled or locked")]
    UserDisabled,

    /// The token is fine but its user no longer exists.
    #[error("the token is not valid")]
    UserNotFound,

    #[error("the signing keys are unavailable")]
    Keys(#[source] SigningKeyError),

    /// jsonwebtoken refused to sign; never the client's fault.
    #[error("a token could not be signed")]
    Signing,

    #[error("the session store failed")]
    Store(#[source] StoreError),

    #[error("the account store failed")]
    Identity(#[source] IdentityError),
}

impl From<StoreError> for AuthError {
    fn from(error: StoreError) -> Self {
        AuthError::Store(error)
    }
}

impl From<SigningKeyError> for AuthError {
    fn from(error: SigningKeyError) -> Self {
        AuthError::Keys(error)
    }
}

impl From<IdentityError> for AuthError {
    fn from(error: IdentityError) -> Self {
        AuthError::Identity(error)
    }
}

impl AuthError {
    /// Whether the server, not the token, is at fault (a 5xx rather than a 401).
    pub fn is_server_fault(&self) -> bool {
        matches!(
            self,
            AuthError::Keys(_) | AuthError::Signing | AuthError::Store(_) | AuthError::Identity(_)
        )
    }
}

/// Why a bearer credential (API key or access token) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    #[error("authentication required: send 'Authorization: Bearer <API key or access token>'")]
    Missing,

    #[error("the credential is malformed")]
    Malformed,

    /// Unknown key, bad signature, wrong issuer or audience, unknown user: one answer.
    #[error("the credential is not valid")]
    Invalid,

    #[error("the credential has expired")]
    Expired,

    #[error("the credential has been revoked")]
    Revoked,

    #[error("the account is disabled or locked")]
    Disabled,

    /// The server could not check the credential (store failure); not the client's fault.
    #[error("authentication is unavailable right now; try again later")]
    Unavailable,
}

impl AuthFailure {
    /// The RFC 6750 error code: none when nothing was presented, `invalid_request` for a
    /// malformed header, `invalid_token` for a refused credential.
    pub fn error_code(self) -> &'static str {
        match self {
            AuthFailure::Missing => "invalid_request",
            AuthFailure::Malformed => "invalid_request",
            AuthFailure::Unavailable => "temporarily_unavailable",
            AuthFailure::Invalid
            | AuthFailure::Expired
            | AuthFailure::Revoked
            | AuthFailure::Disabled => "invalid_token",
        }
    }
}

impl From<&AuthError> for AuthFailure {
    fn from(error: &AuthError) -> Self {
        match error {
            AuthError::Malformed => AuthFailure::Malformed,
            AuthError::Invalid
            | AuthError::NotYetValid
            | AuthError::UserNotFound
            | AuthError::RefreshReuse { .. } => AuthFailure::Invalid,
            AuthError::Expired => AuthFailure::Expired,
            AuthError::Revoked => AuthFailure::Revoked,
            AuthError::UserDisabled => AuthFailure::Disabled,
            AuthError::Keys(_)
            | AuthError::Signing
            | AuthError::Store(_)
            | AuthError::Identity(_) => AuthFailure::Unavailable,
        }
    }
}

impl From<&KeyError> for AuthFailure {
    fn from(error: &KeyError) -> Self {
        match error {
            KeyError::Malformed => AuthFailure::Malformed,
            KeyError::Revoked => AuthFailure::Revoked,
            KeyError::Expired => AuthFailure::Expired,
            KeyError::UserDisabled => AuthFailure::Disabled,
            KeyError::Store(_) | KeyError::Randomness => AuthFailure::Unavailable,
            _ => AuthFailure::Invalid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_failures_keep_their_cause_out_of_the_message() {
        let cause = StoreError::Rejected("row for alice@example.org".to_owned());
        let error = AuthError::from(cause);
        assert_eq!(error.to_string(), "the session store failed");
        assert!(error.is_server_fault());
        assert_eq!(AuthFailure::from(&error), AuthFailure::Unavailable);
    }

    #[test]
    fn errors_can_cross_threads_and_tasks() {
        fn assert_send_sync_static<T: Send + Sync + 'static>() {}
        assert_send_sync_static::<AuthError>();
        assert_send_sync_static::<AuthFailure>();
    }
}
