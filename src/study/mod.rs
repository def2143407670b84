//! Study tools for medical students: decks and cards with FSRS spaced repetition.
//!
//! `scheduler` is the pure FSRS-6 scheduling (steps and fuzz included); `decks` keeps decks,
//! cards and the review log per user in the store; `stats` reads the review log back as
//! retention, workload and a forecast; `tools` is the MCP surface. Nothing here writes a
//! card for the student without saying which model wrote it.

pub mod decks;
pub mod due;
pub mod scheduler;
pub mod stats;
mod tools;

pub use decks::{Card, Deck, Decks, DecksError};
pub use tools::{DECKS_URI, DUE_URI, register, scheduler_for};
