//! [`SecretsError`]. No variant can carry key material: key problems are fixed phrases,
//! and opening fails with one variant whatever the cause.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// The configured key or the key file's contents are not a master key. `problem` is a
    /// fixed phrase so that nothing of the offending value can end up in a message or log.
    #[error(
        "the master key from {origin} is not valid: {problem}. A master key is the base64 of exactly 32 random bytes"
    )]
    MalformedKey {
        origin: String,
        problem: &'static str,
    },
    #[error(
        "the master key file {path} can be accessed by group or others (mode {mode:03o}); restrict it with `chmod 600 {path}`"
    )]
    KeyFileNotPrivate { path: PathBuf, mode: u32 },
    #[error("cannot {action} the master key file {path}: {source}")]
    KeyFile {
        path: PathBuf,
        action: &'static str,
        source: std::io::Error,
    },
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
    /// Only for inputs far beyond anything stored (AES-GCM's limit is 64 GiB).
    #[error("a secret could not be sealed: it is too long")]
    Seal,
    /// Deliberately one case for a wrong key, wrong associated data, a damaged or truncated
    /// value and an unknown format: telling them apart would help an attacker probe.
    #[error(
        "a sealed secret could not be opened: wrong master key, wrong associated data, or damaged"
    )]
    Open,
    /// The value was authentic (so saying this reveals nothing) but not text.
    #[error("a sealed secret was opened but is not UTF-8 text")]
    NotText,
}
