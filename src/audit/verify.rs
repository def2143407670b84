//! `consilium audit verify`'s engine: recomputes the whole chain, checks
//! every checkpoint line's signature, and matches each checkpoint against
//! the chain, reporting every [`Problem`] by seq (and line).
//!
//! It only reads: the database through the store's read connections, the
//! checkpoint file on a blocking thread. It never repairs anything, and it
//! reports tampering as problems rather than stopping at the first one.
//!
//! What it can and cannot see: any edit, removal, insertion or reordering of
//! entries breaks the chain; a chain rewritten consistently fails against
//! every signed checkpoint after the rewrite's start; a truncated tail fails
//! against any checkpoint beyond the new end. Entries written after the
//! newest checkpoint can be cut off without trace (the report's
//! `unanchored_entries` says how many there are), which is why checkpoints
//! are frequent and written at shutdown; and whoever can rewrite the
//! checkpoint file as well as the database can hide anything, which is why
//! that file belongs outside the database's reach.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::Path;

use ed25519_dalek::VerifyingKey;
use rusqlite::Connection;
use rusqlite::types::ValueRef;
use serde::Serialize;

use super::AuditError;
use super::chain::{HashedFields, ZERO_HASH, entry_hash};
use super::checkpoint::{self, CheckedFile};
use crate::store::{Store, StoreError};

/// One thing found wrong. Each variant is a kind of damage; `seq` is the
/// entry it was found at and `line` the checkpoint file's line (from 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Problem {
    /// The entry's stored hash is not the hash of its contents: it was
    /// edited (or moved) after it was written.
    HashMismatch { seq: u64 },
    /// The entry's `prev_hash` is not the previous entry's hash: entries
    /// were reordered, or one was replaced.
    BrokenLink { seq: u64 },
    /// Entries `after + 1 ..= next - 1` are missing (deleted).
    Gap { after: u64, next: u64 },
    /// The entry has a column of the wrong type or size, so it cannot be
    /// hashed as written.
    MalformedEntry { seq: u64, column: &'static str },
    /// A row's seq is zero or negative, which the log never writes.
    InvalidSeq { rowid: i64 },
    /// A valid checkpoint vouches for an entry past the end of the log:
    /// the tail was cut off (truncation).
    CheckpointBeyondEnd {
        line: usize,
        seq: u64,
        last_seq: u64,
    },
    /// A valid checkpoint's hash differs from the entry's stored hash: the
    /// chain was rewritten up to or past this point.
    CheckpointHashMismatch { line: usize, seq: u64 },
    /// A valid checkpoint names an entry that is missing from the log.
    CheckpointEntryMissing { line: usize, seq: u64 },
    /// The line's signature does not verify under the key it names: the
    /// line was forged or altered.
    BadSignature { line: usize, seq: u64 },
    /// The line was signed by a key that is not trusted.
    UnknownKey {
        line: usize,
        seq: u64,
        key_id: String,
    },
    /// The line is not a checkpoint at all.
    UnparseableCheckpoint { line: usize, reason: String },
}

impl Problem {
    /// The entry the problem was found at, where there is one.
    pub fn seq(&self) -> Option<u64> {
        match self {
            Problem::HashMismatch { seq }
            | Problem::BrokenLink { seq }
            | Problem::MalformedEntry { seq, .. }
            | Problem::CheckpointBeyondEnd { seq, .. }
            | Problem::CheckpointHashMismatch { seq, .. }
            | Problem::CheckpointEntryMissing { seq, .. }
            | Problem::BadSignature { seq, .. }
            | Problem::UnknownKey { seq, .. } => Some(*seq),
            Problem::Gap { after, .. } => Some(after + 1),
            Problem::InvalidSeq { .. } | Problem::UnparseableCheckpoint { .. } => None,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::HashMismatch { seq } => {
                write!(f, "entry {seq}: its contents do not match its hash")
            }
            Problem::BrokenLink { seq } => {
                write!(f, "entry {seq}: it does not link to the entry before it")
            }
            Problem::Gap { after, next } => {
                write!(f, "entries {} to {} are missing", after + 1, next - 1)
            }
            Problem::MalformedEntry { seq, column } => {
                write!(f, "entry {seq}: column {column} has the wrong type or size")
            }
            Problem::InvalidSeq { rowid } => write!(f, "a row has the invalid seq {rowid}"),
            Problem::CheckpointBeyondEnd {
                line,
                seq,
                last_seq,
            } => write!(
                f,
                "checkpoint line {line} vouches for entry {seq}, but the log ends at {last_seq}: it was truncated"
            ),
            Problem::CheckpointHashMismatch { line, seq } => write!(
                f,
                "checkpoint line {line}: entry {seq} does not have the hash it was signed with"
            ),
            Problem::CheckpointEntryMissing { line, seq } => {
                write!(f, "checkpoint line {line}: entry {seq} is missing")
            }
            Problem::BadSignature { line, seq } => write!(
                f,
                "checkpoint line {line} (entry {seq}): the signature does not verify"
            ),
            Problem::UnknownKey { line, seq, key_id } => write!(
                f,
                "checkpoint line {line} (entry {seq}): signed by untrusted key {key_id}"
            ),
            Problem::UnparseableCheckpoint { line, reason } => {
                write!(f, "checkpoint line {line} is unreadable: {reason}")
            }
        }
    }
}

/// What verification found.
///
/// A log without any valid checkpoint (no file yet, or only bad lines) can
/// still be intact — its chain is whole — but nothing proves it was not
/// rewritten wholesale. That is not counted as a problem; it shows as
/// `anchored_through: None` (and `checkpoint_file_found: false` when the
/// file is missing), for the CLI to warn about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Rows in the log.
    pub entries: u64,
    /// Non-blank lines in the checkpoint file, valid or not.
    pub checkpoints: usize,
    /// The highest valid seq in the log (0 when empty).
    pub last_seq: u64,
    /// The highest seq a valid, trusted, matching checkpoint vouches for.
    pub anchored_through: Option<u64>,
    /// Whether the checkpoint file exists at all.
    pub checkpoint_file_found: bool,
    /// Everything found wrong: chain problems in seq order, then
    /// checkpoint problems in line order.
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    /// True when nothing was found wrong (see the type's docs on anchoring).
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }

    /// Entries after the newest valid checkpoint: nothing would show if
    /// these were cut off.
    pub fn unanchored_entries(&self) -> u64 {
        self.last_seq
            .saturating_sub(self.anchored_through.unwrap_or(0))
    }
}

/// Verifies the audit log in `store` against the checkpoints in
/// `checkpoint_file`, trusting checkpoints signed by any of `trusted_keys`
/// (the current key plus retired ones whose checkpoints are still in the
/// file).
///
/// Errors only when it cannot look (the store or the file cannot be read);
/// damage is reported in [`VerifyReport::problems`].
pub async fn verify(
    store: &Store,
    checkpoint_file: &Path,
    trusted_keys: &[VerifyingKey],
) -> Result<VerifyReport, AuditError> {
    // The file is read before the chain: a checkpoint is only written after
    // its entries commit, so the chain read next holds every entry a
    // checkpoint in the file can name.
    let path = checkpoint_file.to_path_buf();
    let trusted = trusted_keys.to_vec();
    let (file_found, checked) = tokio::task::spawn_blocking(move || {
        let content = checkpoint::read_file(&path)?;
        let checked = content
            .as_deref()
            .map(|content| checkpoint::check_lines(content, &trusted))
            .unwrap_or_default();
        Ok::<_, AuditError>((content.is_some(), checked))
    })
    .await??;
    let wanted: BTreeSet<u64> = checked.anchors.iter().map(|anchor| anchor.seq).collect();
    let chain = store
        .read(move |connection| walk_chain(connection, &wanted))
        .await?;
    Ok(assemble(chain, checked, file_found))
}

/// What walking the chain found.
struct ChainWalk {
    entries: u64,
    last_seq: u64,
    problems: Vec<Problem>,
    /// Stored hashes at the seqs checkpoints vouch for.
    hashes_at: HashMap<u64, [u8; 32]>,
}

fn assemble(chain: ChainWalk, checked: CheckedFile, file_found: bool) -> VerifyReport {
    let CheckedFile {
        lines,
        anchors,
        problems: line_problems,
    } = checked;
    let mut problems = chain.problems;
    let mut anchored_through = None;
    let mut checkpoint_problems = line_problems;
    for anchor in anchors {
        let (line, seq) = (anchor.line, anchor.seq);
        let stored = if seq == 0 {
            Some(ZERO_HASH)
        } else {
            chain.hashes_at.get(&seq).copied()
        };
        let problem = match stored {
            Some(stored) if stored == anchor.hash => None,
            Some(_) => Some(Problem::CheckpointHashMismatch { line, seq }),
            None if seq > chain.last_seq => Some(Problem::CheckpointBeyondEnd {
                line,
                seq,
                last_seq: chain.last_seq,
            }),
            None => Some(Problem::CheckpointEntryMissing { line, seq }),
        };
        match problem {
            Some(problem) => checkpoint_problems.push(problem),
            None => anchored_through = anchored_through.max(Some(seq)),
        }
    }
    checkpoint_problems.sort_by_key(problem_line);
    problems.extend(checkpoint_problems);
    VerifyReport {
        entries: chain.entries,
        checkpoints: lines,
        last_seq: chain.last_seq,
        anchored_through,
        checkpoint_file_found: file_found,
        problems,
    }
}

fn problem_line(problem: &Problem) -> usize {
    match problem {
        Problem::CheckpointBeyondEnd { line, .. }
        | Problem::CheckpointHashMismatch { line, .. }
        | Problem::CheckpointEntryMissing { line, .. }
        | Problem::BadSignature { line, .. }
        | Problem::UnknownKey { line, .. }
        | Problem::UnparseableCheckpoint { line, .. } => *line,
        _ => 0,
    }
}

/// Walks every row in seq order, recomputing each hash and checking each
/// link. Links are checked against the previous row's *stored* hash, so one
/// edited row is reported once, at its own seq, instead of breaking every
/// row after it. Runs on a read connection (a blocking thread).
fn walk_chain(connection: &Connection, wanted: &BTreeSet<u64>) -> Result<ChainWalk, StoreError> {
    let mut walk = ChainWalk {
        entries: 0,
        last_seq: 0,
        problems: Vec::new(),
        hashes_at: HashMap::new(),
    };
    // The hash the next row must link to; `None` after a gap or a malformed
    // row, where the link cannot be judged (the gap is already reported).
    let mut link_to: Option<[u8; 32]> = Some(ZERO_HASH);
    let mut expected_seq: u64 = 1;
    let mut statement = connection.prepare(
        "SELECT seq, at, actor, action, target, details, ip, user_agent, prev_hash, hash
         FROM audit_log ORDER BY seq",
    )?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        walk.entries += 1;
        let rowid: i64 = match row.get_ref(0)? {
            ValueRef::Integer(rowid) => rowid,
            // Only a table rebuilt by hand can hold a non-integer seq.
            _ => {
                walk.problems.push(Problem::MalformedEntry {
                    seq: expected_seq,
                    column: "seq",
                });
                link_to = None;
                continue;
            }
        };
        let Some(seq) = u64::try_from(rowid).ok().filter(|seq| *seq >= 1) else {
            walk.problems.push(Problem::InvalidSeq { rowid });
            continue;
        };
        if seq != expected_seq {
            walk.problems.push(Problem::Gap {
                after: expected_seq - 1,
                next: seq,
            });
            link_to = None;
        }
        expected_seq = seq + 1;
        walk.last_seq = seq;
        let fields = match read_fields(row, seq) {
            Ok(fields) => fields,
            Err(column) => {
                walk.problems.push(Problem::MalformedEntry { seq, column });
                link_to = stored_hash(row);
                continue;
            }
        };
        let stored: [u8; 32] = match <[u8; 32]>::try_from(fields.hash) {
            Ok(stored) => stored,
            Err(_) => {
                walk.problems.push(Problem::MalformedEntry {
                    seq,
                    column: "hash",
                });
                link_to = None;
                continue;
            }
        };
        if link_to.is_some_and(|link| link.as_slice() != fields.hashed.prev_hash) {
            walk.problems.push(Problem::BrokenLink { seq });
        }
        if entry_hash(&fields.hashed) != stored {
            walk.problems.push(Problem::HashMismatch { seq });
        }
        if wanted.contains(&seq) {
            walk.hashes_at.insert(seq, stored);
        }
        link_to = Some(stored);
    }
    Ok(walk)
}

/// A row's hashed fields plus its stored hash, borrowed from the row.
struct RowFields<'r> {
    hashed: HashedFields<'r>,
    hash: &'r [u8],
}

/// Reads a row's columns with exactly the types the log writes; the name of
/// the first column that is off otherwise.
fn read_fields<'r>(row: &'r rusqlite::Row<'_>, seq: u64) -> Result<RowFields<'r>, &'static str> {
    Ok(RowFields {
        hashed: HashedFields {
            seq,
            at: text(row, 1, "at")?,
            actor: text(row, 2, "actor")?,
            action: text(row, 3, "action")?,
            target: optional_text(row, 4, "target")?,
            details: text(row, 5, "details")?,
            ip: optional_text(row, 6, "ip")?,
            user_agent: optional_text(row, 7, "user_agent")?,
            prev_hash: blob(row, 8, "prev_hash")?,
        },
        hash: blob(row, 9, "hash")?,
    })
}

fn text<'r>(
    row: &'r rusqlite::Row<'_>,
    index: usize,
    name: &'static str,
) -> Result<&'r [u8], &'static str> {
    match row.get_ref(index) {
        Ok(ValueRef::Text(bytes)) => Ok(bytes),
        _ => Err(name),
    }
}

fn optional_text<'r>(
    row: &'r rusqlite::Row<'_>,
    index: usize,
    name: &'static str,
) -> Result<Option<&'r [u8]>, &'static str> {
    match row.get_ref(index) {
        Ok(ValueRef::Null) => Ok(None),
        Ok(ValueRef::Text(bytes)) => Ok(Some(bytes)),
        _ => Err(name),
    }
}

fn blob<'r>(
    row: &'r rusqlite::Row<'_>,
    index: usize,
    name: &'static str,
) -> Result<&'r [u8], &'static str> {
    match row.get_ref(index) {
        Ok(ValueRef::Blob(bytes)) => Ok(bytes),
        _ => Err(name),
    }
}

/// The row's stored hash if it is readable, so the next row's link can
/// still be judged after a malformed row.
fn stored_hash(row: &rusqlite::Row<'_>) -> Option<[u8; 32]> {
    match row.get_ref(9) {
        Ok(ValueRef::Blob(bytes)) => <[u8; 32]>::try_from(bytes).ok(),
        _ => None,
    }
}
