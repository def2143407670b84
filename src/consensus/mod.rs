//! Multi-model consensus: one question to a panel of independent models, their agreement
//! measured, the consensus answer with its dissent, and a trust certificate anyone can
//! check offline.
//!
//! `panel` seats and asks the members in parallel; `agreement` is the fast path in Rust
//! and the scores; `judge` asks a model about entailment for what the fast path cannot
//! settle; `convene` runs it all and signs the finding (`certificate`); `runs` keeps each
//! run for its owner; `tools` is the MCP surface. Nothing here picks provider keys — the
//! router does — and nothing here invents an answer: a panel with fewer than two answers is
//! `insufficient`.

pub mod agreement;
pub mod certificate;
pub mod convene;
pub mod judge;
pub mod panel;
pub mod runs;
mod tools;

pub use convene::{Consensus, ConsensusError, ConsensusReport, Question};
pub use panel::Seat;
pub use runs::{ConsensusRuns, SEALED_CONSENSUS_RUNS};
pub use tools::register;

#[cfg(test)]
mod tests;
