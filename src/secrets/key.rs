//! [`MasterKey`]: 32 bytes that never leave this module in the clear, known to the outside
//! only by their fingerprint.

use std::fmt::{self, Write as _};
use std::path::Path;

use aes_gcm::{Aes256Gcm, KeyInit};
use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use rand::TryRng as _;
use rand::rngs::SysRng;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::{SecretsError, key_file};
use crate::config::SecretsConfig;

pub(super) const KEY_LEN: usize = 32;

/// Hashed in before the key so that the fingerprint is not the plain SHA-256 of the key,
/// which could match a hash published elsewhere. Changing it changes every fingerprint
/// already stored beside sealed values: don't.
const FINGERPRINT_DOMAIN: &[u8] = b"consilium/master-key-fingerprint/v1\0";

/// Base64 of 32 bytes is 43 or 44 characters; anything much longer is refused before
/// decoding so the decode buffer can stay a small fixed array.
const MAX_ENCODED_LEN: usize = 64;

/// Keys are accepted in either alphabet, padded or not: operators paste them from
/// `openssl rand -base64 32`, password managers and URL-safe generators alike.
const ANY_PADDING: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, ANY_PADDING);
const URL_SAFE_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, ANY_PADDING);

/// Names the configured key in errors, never showing it.
const CONFIG_ORIGIN: &str = "CONSILIUM_MASTER_KEY (secrets.master_key)";

/// The key that seals every secret at rest. Not `Clone`, not `Display`: share it behind an
/// `Arc`, and identify it by [`MasterKey::fingerprint`].
pub struct MasterKey {
    bytes: Zeroizing<[u8; KEY_LEN]>,
    /// Built once: expanding the AES key schedule per call would only scatter more copies
    /// of key-derived material around the stack.
    cipher: Aes256Gcm,
    fingerprint: String,
}

impl MasterKey {
    /// The configured key (`CONSILIUM_MASTER_KEY`) if there is one, else the key file
    /// (`secrets.master_key_file`, else `default_key_file`, normally [`super::default_key_file`]
    /// of the database). A missing key file is created with a new random key; an existing
    /// one is refused if group or others may access it (unix).
    ///
    /// Blocking: call it before the runtime serves requests or from `spawn_blocking`.
    pub fn load(config: &SecretsConfig, default_key_file: &Path) -> Result<Self, SecretsError> {
        if let Some(text) = &config.master_key {
            let key = Self::from_base64(text.as_bytes(), CONFIG_ORIGIN)?;
            tracing::info!(
                fingerprint = key.fingerprint(),
                "master key taken from the configuration"
            );
            return Ok(key);
        }
        let path = config
            .master_key_file
            .as_deref()
            .unwrap_or(default_key_file);
        key_file::load_or_create(path)
    }

    /// A new random key from the operating system's CSPRNG, e.g. to rotate to.
    pub fn generate() -> Result<Self, SecretsError> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        fill_random(&mut bytes[..])?;
        Ok(Self::from_bytes(bytes))
    }

    /// The first 16 hex characters of SHA-256 over a domain prefix and the key. Safe to
    /// log, show and store beside a sealed value to record which key sealed it.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Writes this key to a new owner-only key file (folders created 0700), refusing to
    /// replace an existing file: e.g. to keep a key from [`MasterKey::generate`] during
    /// rotation. Blocking.
    pub fn write_key_file(&self, path: &Path) -> Result<(), SecretsError> {
        key_file::create(path, self)
    }

    pub(super) fn from_bytes(bytes: Zeroizing<[u8; KEY_LEN]>) -> Self {
        let cipher = Aes256Gcm::new(&(*bytes).into());
        let fingerprint = fingerprint_of(&bytes);
        Self {
            bytes,
            cipher,
            fingerprint,
        }
    }

    /// Parses base64 `text` (surrounding whitespace ignored). `origin` names where it came
    /// from in errors; the text itself never appears in one.
    pub(super) fn from_base64(text: &[u8], origin: &str) -> Result<Self, SecretsError> {
        let malformed = |problem| SecretsError::MalformedKey {
            origin: origin.to_string(),
            problem,
        };
        let text = text.trim_ascii();
        if text.is_empty() {
            return Err(malformed(
                "it is empty (if nothing was ever sealed with it, remove it and a new key will be made)",
            ));
        }
        if text.len() > MAX_ENCODED_LEN {
            return Err(malformed("it does not decode to exactly 32 bytes"));
        }
        let mut decoded = Zeroizing::new([0u8; MAX_ENCODED_LEN]);
        let len = STANDARD_ANY_PADDING
            .decode_slice(text, &mut decoded[..])
            .or_else(|_| URL_SAFE_ANY_PADDING.decode_slice(text, &mut decoded[..]))
            // The decoder's own error names the offending character: dropped on purpose.
            .map_err(|_| malformed("it is not base64"))?;
        if len != KEY_LEN {
            return Err(malformed("it does not decode to exactly 32 bytes"));
        }
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        bytes.copy_from_slice(&decoded[..KEY_LEN]);
        Ok(Self::from_bytes(bytes))
    }

    /// Standard padded base64 followed by a newline, in a buffer wiped on drop.
    /// The key as base64 text, for an operator who keeps it outside a key file (rotation with
    /// `CONSILIUM_MASTER_KEY`). Wiped when dropped; never log it.
    pub fn export_base64(&self) -> Zeroizing<String> {
        let line = self.encoded_line();
        Zeroizing::new(String::from_utf8_lossy(line.trim_ascii()).into_owned())
    }

    pub(super) fn encoded_line(&self) -> Zeroizing<Vec<u8>> {
        let mut line = Zeroizing::new(vec![0u8; MAX_ENCODED_LEN]);
        // 32 bytes always fit in 64 characters; the fallback only keeps this panic-free.
        let len = base64::engine::general_purpose::STANDARD
            .encode_slice(&self.bytes[..], &mut line[..])
            .unwrap_or(0);
        line.truncate(len);
        line.push(b'\n');
        line
    }

    pub(super) fn cipher(&self) -> &Aes256Gcm {
        &self.cipher
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("fingerprint", &self.fingerprint)
            .finish()
    }
}

fn fingerprint_of(bytes: &[u8; KEY_LEN]) -> String {
    let digest = Sha256::new()
        .chain_update(FINGERPRINT_DOMAIN)
        .chain_update(bytes)
        .finalize();
    digest
        .iter()
        .take(8)
        .fold(String::with_capacity(16), |mut hex, byte| {
            // Writing to a String cannot fail.
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// Fills `buf` from the operating system's CSPRNG (not a userspace generator: nonces and
/// keys must not repeat even across a fork).
pub(super) fn fill_random(buf: &mut [u8]) -> Result<(), SecretsError> {
    SysRng
        .try_fill_bytes(buf)
        .map_err(|e| SecretsError::Random(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

    fn key_of(byte: u8) -> MasterKey {
        MasterKey::from_bytes(Zeroizing::new([byte; KEY_LEN]))
    }

    fn config_with_key(text: &str) -> SecretsConfig {
        SecretsConfig {
            master_key: Some(text.to_string()),
            master_key_file: None,
        }
    }

    /// No run of four characters of `secret` appears in `text`.
    fn shows_nothing_of(text: &str, secret: &str) -> bool {
        let chars: Vec<char> = secret.chars().collect();
        chars
            .windows(4)
            .all(|w| !text.contains(&w.iter().collect::<String>()))
    }

    #[test]
    fn debug_output_shows_only_the_fingerprint() {
        let key = MasterKey::generate().unwrap();
        let debug = format!("{key:?}");
        assert_eq!(
            debug,
            format!("MasterKey {{ fingerprint: {:?} }}", key.fingerprint())
        );
        let pretty = format!("{key:#?}");
        assert!(
            !pretty.contains(&STANDARD.encode(&key.bytes[..])),
            "{pretty}"
        );
    }

    #[test]
    fn the_fingerprint_of_a_known_key_never_changes() {
        // Stored fingerprints name the key that sealed a value; they must stay stable.
        let key = key_of(7);
        assert_eq!(key.fingerprint().len(), 16);
        assert!(
            key.fingerprint()
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(key.fingerprint(), key_of(7).fingerprint());
        assert_ne!(key.fingerprint(), key_of(8).fingerprint());
        // SHA-256("consilium/master-key-fingerprint/v1\0" || [7; 32]), first 8 bytes.
        assert_eq!(key.fingerprint(), "3b173e26a269b153");
    }

    #[test]
    fn generated_keys_differ() {
        let a = MasterKey::generate().unwrap();
        let b = MasterKey::generate().unwrap();
        assert_ne!(a.fingerprint(), b.fingerprint());
    }

    #[test]
    fn a_configured_key_is_accepted_in_either_alphabet_with_or_without_padding() {
        let bytes: Vec<u8> = (0..32u8)
            .map(|i| i.wrapping_mul(37).wrapping_add(250))
            .collect();
        let expected = MasterKey::from_bytes(Zeroizing::new(bytes.clone().try_into().unwrap()));
        let standard = STANDARD.encode(&bytes);
        let url_safe = URL_SAFE_NO_PAD.encode(&bytes);
        assert!(
            standard.contains('+') || standard.contains('/'),
            "pick bytes that differ by alphabet"
        );
        for text in [
            standard.clone(),
            standard.trim_end_matches('=').to_string(),
            url_safe,
            format!(" {standard}\n"),
        ] {
            let key = MasterKey::load(&config_with_key(&text), Path::new("unused")).unwrap();
            assert_eq!(key.fingerprint(), expected.fingerprint(), "{text}");
        }
    }

    #[test]
    fn a_malformed_environment_key_is_refused_without_echoing_it() {
        let too_short = STANDARD.encode([0x5a; 16]);
        let too_long = STANDARD.encode([0x5a; 33]);
        let cases = [
            "s3cr3t~Passphrase~XYZ",
            too_short.as_str(),
            too_long.as_str(),
            "   ",
            "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3ODk=",
        ];
        for text in cases {
            let error = MasterKey::load(&config_with_key(text), Path::new("unused")).unwrap_err();
            let message = error.to_string();
            assert!(
                matches!(error, SecretsError::MalformedKey { .. }),
                "{message}"
            );
            assert!(message.contains("CONSILIUM_MASTER_KEY"), "{message}");
            assert!(shows_nothing_of(&message, text), "{message}");
            assert!(shows_nothing_of(&format!("{error:?}"), text), "{error:?}");
        }
    }
}
