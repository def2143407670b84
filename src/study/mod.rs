//! Study tools for medical students: decks and cards with FSRS spaced repetition.
//!
//! `scheduler` is the pure FSRS-6 scheduling (steps and fuzz included); `decks` keeps decks,
//! cards and the review log per user in the store; `stats` reads the review log back as
//! retention, workload and a forecast; `due` tells subscribers when cards fall due.
//! `written` holds the shapes and checks of model-written material, `generate` asks a model
//! for it (retrying once, refusing what fails), `quizzes` stores MCQs and answers; `tools`
//! and `writing_tools` are the MCP surface. `documents` reads, chunks and searches a
//! student's files (with `vectors` holding their embeddings in memory), `anki` speaks
//! Anki's formats, `sessions` keeps case and OSCE sessions. Nothing here stores
//! model-written material that failed its checks, or without saying which model wrote it.

pub mod anki;
pub mod decks;
mod document_tools;
pub mod documents;
pub mod due;
pub mod generate;
pub mod quizzes;
pub mod scheduler;
mod session_tools;
pub mod sessions;
pub mod stats;
mod tools;
pub mod vectors;
mod writing_tools;
pub mod written;

pub use decks::{Card, Deck, Decks, DecksError};
pub use documents::Documents;
pub use quizzes::Quizzes;
pub use sessions::Sessions;
pub use tools::{DECKS_URI, DUE_URI, deck_settings};

pub fn register(builder: &mut crate::mcp::RegistryBuilder<'_>) {
    tools::register(builder);
    writing_tools::register(builder);
    document_tools::register(builder);
    session_tools::register(builder);
}
