//! The tamper-evident audit log: an append-only record of security-relevant
//! events (logins, key creation and revocation, plan changes, usage resets,
//! account disabling, every admin action), each with actor, action, target,
//! details, IP and user agent where known.
//!
//! - [`entry`](AuditEntry): what an entry says, its rules, [`pseudonymise`];
//! - `chain`: the SHA-256 hash chain and the append inside one store write;
//! - [`checkpoint`](Checkpoint): Ed25519-signed checkpoints in a file outside
//!   the database;
//! - [`AuditLog`]: recording, automatic and explicit checkpoints, queries;
//! - [`verify`](fn@verify): recomputes everything and names every kind of damage.
//!
//! The schema (migration 3) adds triggers refusing UPDATE and DELETE, so
//! the application cannot change history; the chain and checkpoints catch
//! whoever edits the file directly.
//!
//! This module must never receive secrets or health data: callers record
//! that something happened, to a (pseudonymised) identifier, and nothing
//! more. It owns no key storage — the signing key and the checkpoint file's
//! path are handed to [`AuditLog::new`].

mod chain;
mod checkpoint;
mod entry;
mod error;
mod format;
mod log;
mod query;
mod verify;

#[cfg(test)]
mod tests;

pub use checkpoint::{Checkpoint, key_id, signed_message};
pub use entry::{AuditEntry, MAX_DETAILS_BYTES, MAX_FIELD_CHARS, pseudonymise};
pub use error::AuditError;
pub use log::{AuditLog, AuditLogConfig, DEFAULT_CHECKPOINT_EVERY};
pub use query::{AuditFilter, DEFAULT_QUERY_LIMIT, MAX_QUERY_LIMIT, StoredAuditEntry};
pub use verify::{Problem, VerifyReport, verify};
