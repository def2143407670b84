//! The JWT keys in memory: the one that signs new tokens and, by kid, every key (active or
//! retired) whose tokens may still be checked.
//!
//! The keys themselves live in `crate::secrets::SigningKeys` (purpose `jwt`); this file only
//! holds them in the shapes jsonwebtoken wants, so that checking a token reads no store.
//! It must not decide which tokens a key still vouches for beyond recording when the key
//! was retired, and must never show key material (jsonwebtoken's keys redact their own
//! `Debug`, and this file's types print kids only).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use ed25519_dalek::SigningKey;
use jsonwebtoken::{DecodingKey, EncodingKey};
use zeroize::Zeroizing;

use super::AuthError;
use crate::secrets::{ActiveSigningKey, PublicSigningKey};

/// The key new tokens are signed with, and its kid for the JWS header.
pub(super) struct Signer {
    pub(super) kid: String,
    pub(super) key: EncodingKey,
}

/// A key tokens may be checked against.
pub(super) struct Verifier {
    pub(super) key: DecodingKey,
    /// Unix seconds when the key stopped signing; `None` while it signs.
    pub(super) retired_at: Option<i64>,
}

pub(super) struct Keyring {
    signer: RwLock<Arc<Signer>>,
    verifiers: RwLock<Arc<HashMap<String, Arc<Verifier>>>>,
}

impl Keyring {
    pub(super) fn new(
        active: &ActiveSigningKey,
        public: &[PublicSigningKey],
    ) -> Result<Keyring, AuthError> {
        let (signer, verifiers) = build(active, public)?;
        Ok(Keyring {
            signer: RwLock::new(Arc::new(signer)),
            verifiers: RwLock::new(Arc::new(verifiers)),
        })
    }

    /// Swaps in a new active key and key list, e.g. after a rotation.
    pub(super) fn replace(
        &self,
        active: &ActiveSigningKey,
        public: &[PublicSigningKey],
    ) -> Result<(), AuthError> {
        let (signer, verifiers) = build(active, public)?;
        // Verifiers first: a token signed with the new key must already be checkable.
        *self
            .verifiers
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(verifiers);
        *self.signer.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(signer);
        Ok(())
    }

    pub(super) fn signer(&self) -> Arc<Signer> {
        Arc::clone(&self.signer.read().unwrap_or_else(PoisonError::into_inner))
    }

    pub(super) fn verifier(&self, kid: &str) -> Option<Arc<Verifier>> {
        self.verifiers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(kid)
            .cloned()
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kids: Vec<String> = self
            .verifiers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect();
        f.debug_struct("Keyring")
            .field("signing_kid", &self.signer().kid)
            .field("verifying_kids", &kids)
            .finish()
    }
}

/// The fixed DER prefix of an Ed25519 PKCS#8 v1 private key (RFC 8410 §7): a
/// `PrivateKeyInfo` with version 0, algorithm id-Ed25519 (1.3.101.112) and an OCTET STRING
/// wrapping the 32-byte seed.
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// `key` as the PKCS#8 DER jsonwebtoken takes Ed25519 private keys in, in a buffer wiped on
/// drop. Built by hand: the structure is fixed, and ed25519-dalek's encoder needs an
/// allocation feature this build does not enable.
pub(super) fn pkcs8_der(key: &SigningKey) -> Zeroizing<[u8; 48]> {
    let mut der = Zeroizing::new([0u8; 48]);
    der[..16].copy_from_slice(&PKCS8_ED25519_PREFIX);
    der[16..].copy_from_slice(key.as_bytes());
    der
}

fn build(
    active: &ActiveSigningKey,
    public: &[PublicSigningKey],
) -> Result<(Signer, HashMap<String, Arc<Verifier>>), AuthError> {
    // EncodingKey keeps (and wipes on drop) its own copy of the DER.
    let signer = Signer {
        kid: active.kid().to_owned(),
        key: EncodingKey::from_ed_der(&pkcs8_der(active.signing_key())[..]),
    };
    let mut verifiers: HashMap<String, Arc<Verifier>> = public
        .iter()
        .map(|key| {
            let verifier = Verifier {
                key: DecodingKey::from_ed_der(key.verifying_key.as_bytes()),
                retired_at: key.retired_at.map(|at| at.unix_seconds()),
            };
            (key.kid.clone(), Arc::new(verifier))
        })
        .collect();
    // The active key always verifies, even if the list was read before it was made.
    verifiers.entry(active.kid().to_owned()).or_insert_with(|| {
        Arc::new(Verifier {
            key: DecodingKey::from_ed_der(active.verifying_key().as_bytes()),
            retired_at: None,
        })
    });
    Ok((signer, verifiers))
}
