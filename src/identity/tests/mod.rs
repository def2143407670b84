//! Tests of the identity services against a real store on disk. Test-only.

mod key_auth;
mod keys;
mod login;
mod support;
mod users;
