//! The hash chain: how an entry's hash is computed, and how an entry is
//! appended after the last one inside a store write.
//!
//! Each hash covers a domain prefix, the sequence number and every field of
//! the entry, each length-prefixed (so no bytes can move from one field to
//! the next) and optional fields tagged absent or present (so `None` and
//! `Some("")` differ), and finally the previous entry's hash. This file must
//! not change the encoding of an existing version: every stored hash depends
//! on it. A new encoding needs a new domain prefix.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use sha2::{Digest, Sha256};

use super::entry::PreparedEntry;
use super::format::now_rfc3339;
use crate::store::StoreError;

/// The `prev_hash` of the first entry.
pub(crate) const ZERO_HASH: [u8; 32] = [0; 32];

/// Separates entry hashes from every other SHA-256 Consilium computes.
const ENTRY_DOMAIN: &[u8] = b"consilium-audit-entry/v1\0";

/// An entry's fields as raw bytes, exactly as stored: verification hashes
/// what is in the database even when it is not valid UTF-8.
pub(crate) struct HashedFields<'a> {
    pub(crate) seq: u64,
    pub(crate) at: &'a [u8],
    pub(crate) actor: &'a [u8],
    pub(crate) action: &'a [u8],
    pub(crate) target: Option<&'a [u8]>,
    pub(crate) details: &'a [u8],
    pub(crate) ip: Option<&'a [u8]>,
    pub(crate) user_agent: Option<&'a [u8]>,
    pub(crate) prev_hash: &'a [u8],
}

/// The entry's hash: SHA-256 over the domain prefix, `seq` (8 bytes, big
/// endian) and each field in column order, then `prev_hash`.
pub(crate) fn entry_hash(fields: &HashedFields<'_>) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(ENTRY_DOMAIN);
    hasher.update(fields.seq.to_be_bytes());
    put(&mut hasher, fields.at);
    put(&mut hasher, fields.actor);
    put(&mut hasher, fields.action);
    put_optional(&mut hasher, fields.target);
    put(&mut hasher, fields.details);
    put_optional(&mut hasher, fields.ip);
    put_optional(&mut hasher, fields.user_agent);
    put(&mut hasher, fields.prev_hash);
    hasher.finalize().into()
}

/// A field as its length (8 bytes, big endian) followed by its bytes.
fn put(hasher: &mut Sha256, bytes: &[u8]) {
    // usize always fits in u64 on the platforms Rust supports.
    let length = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    hasher.update(length.to_be_bytes());
    hasher.update(bytes);
}

/// An optional field as a tag byte (0 absent, 1 present), then the field.
fn put_optional(hasher: &mut Sha256, bytes: Option<&[u8]>) {
    match bytes {
        None => hasher.update([0u8]),
        Some(bytes) => {
            hasher.update([1u8]);
            put(hasher, bytes);
        }
    }
}

/// The last entry's (seq, hash), or (0, [`ZERO_HASH`]) for an empty log.
pub(crate) fn latest(connection: &Connection) -> Result<(u64, [u8; 32]), StoreError> {
    let last: Option<(i64, Vec<u8>)> = connection
        .prepare_cached("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let Some((seq, hash)) = last else {
        return Ok((0, ZERO_HASH));
    };
    // The schema's checks make both impossible unless the file was edited;
    // building on a broken tail would only hide the damage.
    let malformed = || {
        StoreError::Rejected(
            "the audit log's last entry is malformed; run `consilium audit verify`".to_owned(),
        )
    };
    let seq = u64::try_from(seq).map_err(|_| malformed())?;
    let hash = <[u8; 32]>::try_from(hash.as_slice()).map_err(|_| malformed())?;
    Ok((seq, hash))
}

/// Appends `entry` after the current last entry and returns its seq.
///
/// Must run inside one store write: the store's single writer runs jobs one
/// after another in the same transaction, so nothing can slip between
/// reading the last hash and inserting the next row.
pub(crate) fn append(
    transaction: &Transaction<'_>,
    entry: &PreparedEntry,
) -> Result<u64, StoreError> {
    let (last_seq, prev_hash) = latest(transaction)?;
    let seq = last_seq
        .checked_add(1)
        .filter(|seq| i64::try_from(*seq).is_ok())
        .ok_or_else(|| StoreError::Rejected("the audit log is full".to_owned()))?;
    // Taken here, on the writer thread, so timestamps follow seq order as
    // far as the system clock allows.
    let at = now_rfc3339();
    let hash = entry_hash(&HashedFields {
        seq,
        at: at.as_bytes(),
        actor: entry.actor.as_bytes(),
        action: entry.action.as_bytes(),
        target: entry.target.as_deref().map(str::as_bytes),
        details: entry.details.as_bytes(),
        ip: entry.ip.as_deref().map(str::as_bytes),
        user_agent: entry.user_agent.as_deref().map(str::as_bytes),
        prev_hash: &prev_hash,
    });
    transaction
        .prepare_cached(
            "INSERT INTO audit_log
                 (seq, at, actor, action, target, details, ip, user_agent, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?
        .execute(params![
            i64::try_from(seq).unwrap_or(i64::MAX),
            at,
            entry.actor,
            entry.action,
            entry.target,
            entry.details,
            entry.ip,
            entry.user_agent,
            &prev_hash[..],
            &hash[..],
        ])?;
    Ok(seq)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields<'a>(target: Option<&'a [u8]>, actor: &'a [u8], action: &'a [u8]) -> HashedFields<'a> {
        HashedFields {
            seq: 1,
            at: b"2025-01-01T00:00:00.000000Z",
            actor,
            action,
            target,
            details: b"{}",
            ip: None,
            user_agent: None,
            prev_hash: &ZERO_HASH,
        }
    }

    #[test]
    fn an_absent_field_hashes_differently_from_an_empty_one() {
        let absent = entry_hash(&fields(None, b"a", b"b"));
        let empty = entry_hash(&fields(Some(b""), b"a", b"b"));
        assert_ne!(absent, empty);
    }

    #[test]
    fn bytes_cannot_move_across_a_field_boundary() {
        let one_way = entry_hash(&fields(None, b"ab", b"c"));
        let other_way = entry_hash(&fields(None, b"a", b"bc"));
        assert_ne!(one_way, other_way);
    }

    #[test]
    fn the_hash_covers_the_sequence_number_and_the_previous_hash() {
        let base = entry_hash(&fields(None, b"a", b"b"));
        let mut moved = fields(None, b"a", b"b");
        moved.seq = 2;
        assert_ne!(base, entry_hash(&moved));
        let other_prev = [1u8; 32];
        let mut relinked = fields(None, b"a", b"b");
        relinked.prev_hash = &other_prev;
        assert_ne!(base, entry_hash(&relinked));
        assert_eq!(base, entry_hash(&fields(None, b"a", b"b")));
    }
}
