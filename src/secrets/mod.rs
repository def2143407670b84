//! The server's master key, and sealing secrets at rest with AES-256-GCM.
//!
//! Secrets kept in the store (provider API keys, later other credentials) are written only
//! as [`seal`]ed bytes, each bound by associated data to the row it belongs to, under one
//! [`MasterKey`] that lives outside the database: in `CONSILIUM_MASTER_KEY`, or in an
//! owner-only key file (by default `master.key` beside the database, see
//! [`default_key_file`]). A stolen database alone therefore reveals no secret; the key file
//! must be backed up with the database, or every sealed value is lost. The Ed25519 signing
//! keys of sign-in tokens and audit checkpoints ([`SigningKeys`]) are sealed the same way.
//!
//! What must stay true here:
//! - a key or an opened secret is never logged, displayed or returned except to the caller
//!   that opened it: [`MasterKey`] shows only its fingerprint, errors carry no key material,
//!   and key bytes and opened values are wiped from memory when dropped;
//! - every seal draws a fresh nonce from the operating system's CSPRNG;
//! - opening fails with one error whatever went wrong, so it is not an oracle;
//! - no I/O beyond the key file and the `signing_keys` table: [`MasterKey::load`] and
//!   [`MasterKey::write_key_file`] are the only functions that touch files (and they block);
//!   [`SigningKeys`] reads and writes its table only through the store.

mod error;
mod key;
mod key_file;
mod mask;
pub mod rotation;
mod seal;
mod signing_keys;

pub use error::SecretsError;
pub use key::MasterKey;
pub use key_file::{DEFAULT_KEY_FILE_NAME, default_key_file};
pub use mask::mask;
pub use seal::{FORMAT_VERSION, open, open_str, reseal, seal, seal_str};
pub use signing_keys::{
    ActiveSigningKey, PublicSigningKey, SEALED_SIGNING_KEYS, SigningKeyError, SigningKeys,
    jwk_thumbprint, jwks,
};
