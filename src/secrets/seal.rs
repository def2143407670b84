//! Sealing: AES-256-GCM under the [`MasterKey`], in a small versioned format.
//!
//! A sealed value is `version (1 byte) || nonce (12 bytes) || ciphertext || tag (16 bytes)`.
//! The nonce is fresh from the operating system's CSPRNG on every call: random 96-bit nonces
//! are safe for 2^32 seals under one key (NIST SP 800-38D), far beyond what a server
//! stores, and unlike a counter need no state that survives restarts or spans processes.
//!
//! Associated data is not stored but must be given again to open: it binds a ciphertext to
//! its place, e.g. `provider-key:{id}:{provider}` or `user:{id}`. Without it, anyone able
//! to write to the database could copy a sealed value into another row (say, their own
//! provider key into another user's) and the server would open and use it there. The
//! version byte is authenticated with it, so a value cannot be relabelled as another format.

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{AeadInOut, Nonce, Tag};
use zeroize::Zeroizing;

use super::key::fill_random;
use super::{MasterKey, SecretsError};

/// The format [`seal`] writes. A later format gets a new number; [`open`] refuses numbers
/// it does not know.
pub const FORMAT_VERSION: u8 = 1;

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = 1 + NONCE_LEN;

/// Encrypts `plaintext` under `key`, bound to `associated_data` (see the module's comment
/// for what to pass).
pub fn seal(
    key: &MasterKey,
    plaintext: &[u8],
    associated_data: &[u8],
) -> Result<Vec<u8>, SecretsError> {
    let mut nonce = [0u8; NONCE_LEN];
    fill_random(&mut nonce)?;
    // Zeroizing until encrypted: if encryption failed the buffer would still hold plaintext.
    let mut sealed = Zeroizing::new(Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN));
    sealed.push(FORMAT_VERSION);
    sealed.extend_from_slice(&nonce);
    sealed.extend_from_slice(plaintext);
    let tag = key
        .cipher()
        .encrypt_inout_detached(
            &Nonce::<Aes256Gcm>::from(nonce),
            &authenticated(FORMAT_VERSION, associated_data),
            (&mut sealed[HEADER_LEN..]).into(),
        )
        .map_err(|_| SecretsError::Seal)?;
    sealed.extend_from_slice(&tag);
    Ok(std::mem::take(&mut *sealed))
}

/// Decrypts a value from [`seal`] given the same key and associated data. Every failure —
/// unknown version, too short, wrong key, wrong associated data, any changed byte — is the
/// same [`SecretsError::Open`]. The plaintext is wiped from memory when dropped.
pub fn open(
    key: &MasterKey,
    sealed: &[u8],
    associated_data: &[u8],
) -> Result<Zeroizing<Vec<u8>>, SecretsError> {
    if sealed.len() < HEADER_LEN + TAG_LEN {
        return Err(SecretsError::Open);
    }
    let (header, rest) = sealed.split_at(HEADER_LEN);
    let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
    let Some((&version, nonce)) = header.split_first() else {
        return Err(SecretsError::Open);
    };
    if version != FORMAT_VERSION {
        return Err(SecretsError::Open);
    }
    let nonce = Nonce::<Aes256Gcm>::try_from(nonce).map_err(|_| SecretsError::Open)?;
    let tag = Tag::<Aes256Gcm>::try_from(tag).map_err(|_| SecretsError::Open)?;
    let mut plaintext = Zeroizing::new(ciphertext.to_vec());
    key.cipher()
        .decrypt_inout_detached(
            &nonce,
            &authenticated(version, associated_data),
            plaintext.as_mut_slice().into(),
            &tag,
        )
        .map_err(|_| SecretsError::Open)?;
    Ok(plaintext)
}

/// [`seal`] for text.
pub fn seal_str(
    key: &MasterKey,
    plaintext: &str,
    associated_data: &[u8],
) -> Result<Vec<u8>, SecretsError> {
    seal(key, plaintext.as_bytes(), associated_data)
}

/// [`open`] for text sealed with [`seal_str`]; the text is wiped from memory when dropped.
pub fn open_str(
    key: &MasterKey,
    sealed: &[u8],
    associated_data: &[u8],
) -> Result<Zeroizing<String>, SecretsError> {
    let mut bytes = open(key, sealed, associated_data)?;
    // Moves the buffer, no copy; on failure the bytes go back under `Zeroizing`.
    match String::from_utf8(std::mem::take(&mut *bytes)) {
        Ok(text) => Ok(Zeroizing::new(text)),
        Err(error) => {
            drop(Zeroizing::new(error.into_bytes()));
            Err(SecretsError::NotText)
        }
    }
}

/// Opens a value under `old` and seals it under `new` with the same associated data, for
/// key rotation. The plaintext exists only in a buffer wiped on return.
pub fn reseal(
    old: &MasterKey,
    new: &MasterKey,
    sealed: &[u8],
    associated_data: &[u8],
) -> Result<Vec<u8>, SecretsError> {
    let plaintext = open(old, sealed, associated_data)?;
    seal(new, &plaintext, associated_data)
}

/// What GCM authenticates besides the ciphertext: the format version, then the caller's
/// associated data.
fn authenticated(version: u8, associated_data: &[u8]) -> Vec<u8> {
    let mut data = Vec::with_capacity(1 + associated_data.len());
    data.push(version);
    data.extend_from_slice(associated_data);
    data
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    const ROW: &[u8] = b"provider-key:42:openai";

    fn key() -> MasterKey {
        MasterKey::generate().unwrap()
    }

    #[test]
    fn no_nonce_repeats_across_ten_thousand_seals() {
        let key = key();
        let mut nonces = HashSet::new();
        for _ in 0..10_000 {
            let sealed = seal(&key, b"same plaintext", ROW).unwrap();
            assert!(
                nonces.insert(sealed[1..HEADER_LEN].to_vec()),
                "a nonce repeated"
            );
        }
    }

    #[test]
    fn a_sealed_value_opens_with_the_same_key_and_associated_data() {
        let key = key();
        for plaintext in [
            &b""[..],
            b"x",
            b"sk-proj-0123456789abcdefghijklmnop",
            &[0u8; 4096],
        ] {
            let sealed = seal(&key, plaintext, ROW).unwrap();
            assert_eq!(sealed.len(), HEADER_LEN + plaintext.len() + TAG_LEN);
            assert_eq!(sealed[0], FORMAT_VERSION);
            assert_eq!(open(&key, &sealed, ROW).unwrap().as_slice(), plaintext);
        }
        let sealed = seal_str(&key, "sk-ünïcode-key", b"user:7").unwrap();
        assert_eq!(
            open_str(&key, &sealed, b"user:7").unwrap().as_str(),
            "sk-ünïcode-key"
        );
    }

    #[test]
    fn the_plaintext_does_not_appear_in_the_sealed_value() {
        let sealed = seal(&key(), b"sk-proj-0123456789abcdef", ROW).unwrap();
        assert!(!sealed.windows(8).any(|w| w == b"sk-proj-"));
    }

    #[test]
    fn a_wrong_key_or_associated_data_or_flipped_byte_does_not_open() {
        let key = key();
        let sealed = seal(&key, b"sk-proj-0123456789abcdef", ROW).unwrap();
        let mut failures = vec![
            open(&MasterKey::generate().unwrap(), &sealed, ROW),
            open(&key, &sealed, b"provider-key:43:openai"),
            open(&key, &sealed, b""),
            open(&key, &sealed[..sealed.len() - 1], ROW),
            open(&key, &sealed[..HEADER_LEN + TAG_LEN - 1], ROW),
            open(&key, &[], ROW),
        ];
        for index in 0..sealed.len() {
            for bit in [0x01u8, 0x80] {
                let mut damaged = sealed.clone();
                damaged[index] ^= bit;
                failures.push(open(&key, &damaged, ROW));
            }
        }
        let mut longer = sealed.clone();
        longer.push(0);
        failures.push(open(&key, &longer, ROW));
        for failure in failures {
            let error = failure.unwrap_err();
            assert!(matches!(error, SecretsError::Open), "{error}");
        }
    }

    #[test]
    fn an_unknown_version_does_not_open_even_with_a_valid_tag() {
        // A version-2 value built like version 1 but authenticated as 2: still refused.
        let key = key();
        let nonce = [9u8; NONCE_LEN];
        let mut sealed = vec![2u8];
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(b"secret");
        let tag = key
            .cipher()
            .encrypt_inout_detached(
                &Nonce::<Aes256Gcm>::from(nonce),
                &authenticated(2, ROW),
                (&mut sealed[HEADER_LEN..]).into(),
            )
            .unwrap();
        sealed.extend_from_slice(&tag);
        assert!(matches!(open(&key, &sealed, ROW), Err(SecretsError::Open)));
    }

    #[test]
    fn a_sealed_value_that_is_not_text_is_refused_by_open_str() {
        let key = key();
        let sealed = seal(&key, &[0xff, 0xfe], ROW).unwrap();
        assert!(matches!(
            open_str(&key, &sealed, ROW),
            Err(SecretsError::NotText)
        ));
    }

    #[test]
    fn reseal_moves_a_value_to_a_new_key() {
        let old = key();
        let new = key();
        let sealed = seal(&old, b"sk-proj-0123456789abcdef", ROW).unwrap();
        let moved = reseal(&old, &new, &sealed, ROW).unwrap();
        assert_eq!(
            open(&new, &moved, ROW).unwrap().as_slice(),
            b"sk-proj-0123456789abcdef"
        );
        assert!(matches!(open(&old, &moved, ROW), Err(SecretsError::Open)));
        assert!(matches!(
            reseal(&new, &old, &sealed, ROW),
            Err(SecretsError::Open)
        ));
        assert!(matches!(
            reseal(&old, &new, &sealed, b"user:1"),
            Err(SecretsError::Open)
        ));
    }
}
