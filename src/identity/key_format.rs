//! The text of an API key, `csk_<key id>_<secret>`: making a new one from
//! the operating system's CSPRNG, parsing a presented one strictly, and the
//! SHA-256 digest that is all the store ever keeps of the secret.
//!
//! The key id (16 lowercase hex digits, 64 random bits) is public and finds
//! the row; the secret (32 random bytes, base64url without padding) is
//! shown once and then exists only as its digest. This file must not touch
//! the store, and must never put a secret or a whole key into an error, a
//! log line or a `Debug` string.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use super::KeyError;
use super::password::fill_random;

/// Every key starts with this, so secret scanners and people can tell one
/// when they see it.
pub const KEY_PREFIX: &str = "csk_";
const KEY_ID_BYTES: usize = 8;
const KEY_ID_CHARS: usize = KEY_ID_BYTES * 2;
const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";
const SECRET_BYTES: usize = 32;
/// 32 bytes in base64 without padding: ceil(32 * 4 / 3).
const SECRET_CHARS: usize = 43;
/// `csk_` + key id + `_` + secret.
const KEY_CHARS: usize = KEY_PREFIX.len() + KEY_ID_CHARS + 1 + SECRET_CHARS;

/// SHA-256 of a key's secret bytes: what `api_keys.secret_sha256` holds.
pub(crate) type SecretDigest = [u8; 32];

/// A whole API key, returned once when it is created (or rotated) and
/// never again. The text is wiped from memory when this is dropped; `Debug`
/// shows only the key id.
pub struct PlaintextApiKey {
    key_id: String,
    text: Zeroizing<String>,
}

impl PlaintextApiKey {
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The whole key, to hand to its owner. Do not log or store it.
    pub fn expose(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for PlaintextApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PlaintextApiKey({KEY_PREFIX}{}_****)", self.key_id)
    }
}

/// A freshly made key: the parts the store keeps, and the text for its
/// owner.
pub(crate) struct NewKey {
    pub(crate) key_id: String,
    pub(crate) digest: SecretDigest,
    pub(crate) plaintext: PlaintextApiKey,
}

/// A presented key that has the right shape: its id, and its secret's
/// digest (the secret itself is wiped as soon as it is hashed).
#[derive(Debug)]
pub(crate) struct PresentedKey {
    pub(crate) key_id: String,
    pub(crate) digest: SecretDigest,
}

/// Makes a new key from the OS CSPRNG.
pub(crate) fn generate() -> Result<NewKey, KeyError> {
    let mut id_bytes = [0u8; KEY_ID_BYTES];
    fill_random(&mut id_bytes).map_err(|_| KeyError::Randomness)?;
    let key_id: String = id_bytes
        .iter()
        .flat_map(|byte| {
            [
                HEX_DIGITS[usize::from(byte >> 4)],
                HEX_DIGITS[usize::from(byte & 0x0f)],
            ]
        })
        .map(char::from)
        .collect();
    let mut secret = Zeroizing::new([0u8; SECRET_BYTES]);
    fill_random(secret.as_mut()).map_err(|_| KeyError::Randomness)?;
    let encoded = Zeroizing::new(URL_SAFE_NO_PAD.encode(secret.as_ref()));
    let mut text = Zeroizing::new(String::with_capacity(KEY_CHARS));
    text.push_str(KEY_PREFIX);
    text.push_str(&key_id);
    text.push('_');
    text.push_str(&encoded);
    Ok(NewKey {
        digest: secret_digest(secret.as_ref()),
        plaintext: PlaintextApiKey {
            key_id: key_id.clone(),
            text,
        },
        key_id,
    })
}

/// Accepts exactly `csk_` + 16 lowercase hex digits + `_` + 43 base64url
/// characters that decode to 32 bytes; everything else is
/// [`KeyError::Malformed`], which never repeats the input. No trimming:
/// the transport hands over the credential as sent.
pub(crate) fn parse(presented: &str) -> Result<PresentedKey, KeyError> {
    // The length check first, so a huge input costs nothing more.
    if presented.len() != KEY_CHARS {
        return Err(KeyError::Malformed);
    }
    let rest = presented
        .strip_prefix(KEY_PREFIX)
        .ok_or(KeyError::Malformed)?;
    let (key_id, rest) = rest
        .split_at_checked(KEY_ID_CHARS)
        .ok_or(KeyError::Malformed)?;
    let secret_text = rest.strip_prefix('_').ok_or(KeyError::Malformed)?;
    if !is_key_id(key_id) {
        return Err(KeyError::Malformed);
    }
    let mut secret = Zeroizing::new([0u8; SECRET_BYTES]);
    // decode_slice refuses non-canonical trailing bits, so each secret has
    // exactly one spelling; the length check above makes 32 bytes fit.
    let decoded = URL_SAFE_NO_PAD
        .decode_slice(secret_text.as_bytes(), secret.as_mut())
        .map_err(|_| KeyError::Malformed)?;
    if decoded != SECRET_BYTES {
        return Err(KeyError::Malformed);
    }
    Ok(PresentedKey {
        key_id: key_id.to_owned(),
        digest: secret_digest(secret.as_ref()),
    })
}

/// Whether `text` has the shape of a key id.
pub(crate) fn is_key_id(text: &str) -> bool {
    text.len() == KEY_ID_CHARS
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn secret_digest(secret: &[u8]) -> SecretDigest {
    Sha256::digest(secret).into()
}

/// Compares digests in constant time, so the time taken says nothing about
/// how much of a guessed secret was right.
pub(crate) fn digests_match(presented: &SecretDigest, stored: &[u8]) -> bool {
    bool::from(presented.as_slice().ct_eq(stored))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_key_has_the_documented_shape_and_parses_back() {
        let key = generate().unwrap();
        let text = key.plaintext.expose();
        assert_eq!(text.len(), 64);
        assert!(text.starts_with("csk_"));
        assert_eq!(&text[4..20], key.key_id);
        assert!(is_key_id(&key.key_id));
        let parsed = parse(text).unwrap();
        assert_eq!(parsed.key_id, key.key_id);
        assert!(digests_match(&parsed.digest, &key.digest));
    }

    #[test]
    fn two_keys_never_share_an_id_or_a_secret() {
        let first = generate().unwrap();
        let second = generate().unwrap();
        assert_ne!(first.key_id, second.key_id);
        assert_ne!(first.digest, second.digest);
    }

    #[test]
    fn anything_but_the_exact_shape_is_malformed() {
        let good = generate().unwrap();
        let text = good.plaintext.expose().to_owned();
        let mut bad = vec![
            String::new(),
            text[..63].to_owned(),
            format!("{text}A"),
            format!(" {}", &text[1..]),
            text.replacen("csk_", "sk__", 1),
            text.to_uppercase(),
            format!("csk_{}_{}", "g".repeat(16), &text[21..]),
            format!("{}-{}", &text[..20], &text[21..]),
            format!("{}*{}", &text[..21], &text[22..]),
            "é".repeat(32),
        ];
        // Same length, but a last character with stray low bits: a valid
        // 43rd character always has its two low bits clear, and `B` is 1.
        bad.push(format!("{}B", &text[..63]));
        for candidate in bad {
            if candidate == text {
                continue;
            }
            assert!(
                matches!(parse(&candidate), Err(KeyError::Malformed)),
                "{candidate:?} should be malformed"
            );
        }
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        let key = generate().unwrap();
        let shown = format!("{:?}", key.plaintext);
        assert_eq!(shown, format!("PlaintextApiKey(csk_{}_****)", key.key_id));
        let secret = &key.plaintext.expose()[21..];
        assert!(!shown.contains(secret));
        let presented = format!("{:?}", parse(key.plaintext.expose()).unwrap());
        assert!(!presented.contains(secret));
    }

    #[test]
    fn digests_are_compared_whole() {
        let digest = [7u8; 32];
        assert!(digests_match(&digest, &[7u8; 32]));
        assert!(!digests_match(&digest, &[7u8; 31]));
        let mut other = [7u8; 32];
        other[31] = 8;
        assert!(!digests_match(&digest, &other));
    }
}
