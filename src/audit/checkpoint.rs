//! Signed checkpoints: the Ed25519-signed statement "the log's entry `seq`
//! has hash `hash`", the file outside the database they are appended to,
//! and the checks verification runs on each line of that file.
//!
//! A checkpoint is what catches an attacker who can rewrite the whole
//! database, recomputing every hash: without the signing key they cannot
//! make a checkpoint that matches their rewrite. Everything here that
//! touches the file blocks, so it must only run on a blocking thread
//! (`spawn_blocking`), never on an async worker. This file must not read the
//! database, and never holds or writes the signing key anywhere.

use std::fs::{self, File};
use std::io::{self, ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::format::{from_hex, to_hex};
use super::{AuditError, Problem};
use crate::private_files;

/// The first line of every signed message; a new message format needs a new
/// version here so old signatures can never be read as new ones.
const MESSAGE_PREFIX: &str = "consilium-audit-checkpoint/v1";

/// One line of the checkpoint file, as written (JSON, one object a line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// The last entry covered; 0 for a checkpoint of the empty log.
    pub seq: u64,
    /// That entry's hash, lowercase hex (64 zeros for seq 0).
    pub hash: String,
    /// When the checkpoint was made, RFC 3339 UTC.
    pub at: String,
    /// Which key signed it: see [`key_id`].
    pub key_id: String,
    /// Ed25519 over [`signed_message`]`(seq, hash, at)`, standard base64.
    pub signature: String,
}

/// A public key's id in checkpoint lines: lowercase hex of the first 8 bytes
/// of SHA-256 of the key's 32 bytes.
pub fn key_id(key: &VerifyingKey) -> String {
    let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
    to_hex(&digest[..8])
}

/// The exact text a checkpoint signs:
/// `consilium-audit-checkpoint/v1\n{seq}\n{hex hash}\n{at}`.
pub fn signed_message(seq: u64, hash_hex: &str, at: &str) -> String {
    format!("{MESSAGE_PREFIX}\n{seq}\n{hash_hex}\n{at}")
}

impl Checkpoint {
    /// Signs the statement that entry `seq` has hash `hash`.
    pub(crate) fn sign(seq: u64, hash: &[u8; 32], at: String, key: &SigningKey) -> Self {
        let hash = to_hex(hash);
        let signature = key.sign(signed_message(seq, &hash, &at).as_bytes());
        Self {
            seq,
            hash,
            key_id: key_id(&key.verifying_key()),
            signature: BASE64.encode(signature.to_bytes()),
            at,
        }
    }
}

/// Appends `checkpoint` as one line and syncs it to disk before returning.
/// Creates the file (mode 0600) and missing folders (0700) on first use.
/// Blocking.
pub(crate) fn append_to_file(path: &Path, checkpoint: &Checkpoint) -> Result<(), AuditError> {
    let failed = |source| AuditError::CheckpointFile {
        path: path.to_path_buf(),
        source,
    };
    let mut line = serde_json::to_string(checkpoint).map_err(|e| failed(io::Error::other(e)))?;
    line.push('\n');
    private_files::create_parent_folders(path).map_err(failed)?;
    // Append mode: every write lands at the end, whatever else has the file
    // open (a CLI checkpoint while the server runs).
    let mut file = private_files::owner_only()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
        .map_err(failed)?;
    let was_empty = file.metadata().map_err(failed)?.len() == 0;
    // A crash mid-line (or a hand edit) may leave no final newline; start a
    // fresh line so this checkpoint stays parseable on its own.
    if !was_empty && !ends_with_newline(&mut file).map_err(failed)? {
        line.insert(0, '\n');
    }
    // One write call, so concurrent appenders never interleave inside a line.
    file.write_all(line.as_bytes()).map_err(failed)?;
    file.sync_data().map_err(failed)?;
    if was_empty {
        // A new file is only durable once its directory entry is.
        private_files::sync_parent_folder(path).map_err(failed)?;
    }
    Ok(())
}

/// The whole checkpoint file, or `None` when there is none yet. Blocking.
pub(crate) fn read_file(path: &Path) -> Result<Option<Vec<u8>>, AuditError> {
    match fs::read(path) {
        Ok(content) => Ok(Some(content)),
        Err(error) if error.kind() == ErrorKind::NotFound => Ok(None),
        Err(source) => Err(AuditError::CheckpointFile {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// A checkpoint line whose signature verified under a trusted key: it
/// vouches that entry `seq` had hash `hash`.
#[derive(Debug)]
pub(crate) struct Anchor {
    pub(crate) line: usize,
    pub(crate) seq: u64,
    pub(crate) hash: [u8; 32],
}

/// What the checkpoint file says once every line has been checked.
#[derive(Debug, Default)]
pub(crate) struct CheckedFile {
    /// Non-blank lines, valid or not.
    pub(crate) lines: usize,
    pub(crate) anchors: Vec<Anchor>,
    pub(crate) problems: Vec<Problem>,
}

/// Parses every non-blank line and checks its signature against
/// `trusted_keys`. Lines are numbered from 1. CPU-heavy for a long file, so
/// run it on a blocking thread.
pub(crate) fn check_lines(content: &[u8], trusted_keys: &[VerifyingKey]) -> CheckedFile {
    let trusted: Vec<(String, &VerifyingKey)> =
        trusted_keys.iter().map(|key| (key_id(key), key)).collect();
    let mut checked = CheckedFile::default();
    for (index, bytes) in content.split(|b| *b == b'\n').enumerate() {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let line = index + 1;
        checked.lines += 1;
        let (checkpoint, hash, signature) = match parse_line(bytes) {
            Ok(parsed) => parsed,
            Err(reason) => {
                checked
                    .problems
                    .push(Problem::UnparseableCheckpoint { line, reason });
                continue;
            }
        };
        let seq = checkpoint.seq;
        let Some((_, key)) = trusted.iter().find(|(id, _)| *id == checkpoint.key_id) else {
            checked.problems.push(Problem::UnknownKey {
                line,
                seq,
                key_id: checkpoint.key_id,
            });
            continue;
        };
        let message = signed_message(seq, &checkpoint.hash, &checkpoint.at);
        // Strict: refuses weak keys and malleable signatures, so one
        // statement has one valid signature.
        if key.verify_strict(message.as_bytes(), &signature).is_err() {
            checked.problems.push(Problem::BadSignature { line, seq });
            continue;
        }
        checked.anchors.push(Anchor { line, seq, hash });
    }
    checked
}

/// One line as a checkpoint with its hash and signature decoded, or why not.
fn parse_line(bytes: &[u8]) -> Result<(Checkpoint, [u8; 32], Signature), String> {
    let checkpoint: Checkpoint = serde_json::from_slice(bytes)
        .map_err(|error| format!("not a checkpoint object: {error}"))?;
    let hash = from_hex(&checkpoint.hash)
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .ok_or_else(|| "hash is not 64 lowercase hex digits".to_owned())?;
    if from_hex(&checkpoint.key_id).is_none_or(|bytes| bytes.len() != 8) {
        return Err("key_id is not 16 lowercase hex digits".to_owned());
    }
    let signature = BASE64
        .decode(&checkpoint.signature)
        .ok()
        .and_then(|bytes| Signature::from_slice(&bytes).ok())
        .ok_or_else(|| "signature is not base64 of 64 bytes".to_owned())?;
    Ok((checkpoint, hash, signature))
}

fn ends_with_newline(file: &mut File) -> io::Result<bool> {
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn line_of(checkpoint: &Checkpoint) -> Vec<u8> {
        serde_json::to_vec(checkpoint).unwrap()
    }

    #[test]
    fn a_signed_checkpoint_checks_out_under_its_own_key() {
        let signer = key(1);
        let checkpoint =
            Checkpoint::sign(7, &[9; 32], "2025-01-01T00:00:00.000000Z".into(), &signer);
        assert_eq!(checkpoint.key_id.len(), 16);
        let checked = check_lines(&line_of(&checkpoint), &[signer.verifying_key()]);
        assert!(checked.problems.is_empty(), "{:?}", checked.problems);
        assert_eq!(checked.anchors.len(), 1);
        assert_eq!(
            (checked.anchors[0].seq, checked.anchors[0].hash),
            (7, [9; 32])
        );
    }

    #[test]
    fn the_signed_message_is_the_documented_text() {
        assert_eq!(
            signed_message(3, "ab", "2025-01-01T00:00:00Z"),
            "consilium-audit-checkpoint/v1\n3\nab\n2025-01-01T00:00:00Z"
        );
    }

    #[test]
    fn blank_lines_are_skipped_and_garbage_is_named_by_line() {
        let signer = key(1);
        let good = line_of(&Checkpoint::sign(1, &[0; 32], "t".into(), &signer));
        let mut content = Vec::new();
        content.extend_from_slice(b"\n");
        content.extend_from_slice(&good);
        content.extend_from_slice(b"\n{\"seq\": 1\n\n");
        let checked = check_lines(&content, &[signer.verifying_key()]);
        assert_eq!(checked.lines, 2);
        assert_eq!(checked.anchors.len(), 1);
        assert!(matches!(
            checked.problems.as_slice(),
            [Problem::UnparseableCheckpoint { line: 3, .. }]
        ));
    }
}
