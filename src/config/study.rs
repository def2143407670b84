//! Settings of the study tools: the spaced-repetition steps, how often subscribed
//! clients are told that cards fell due, and how near a chunk's meaning must be to count. Read and validated only; the scheduling itself is
//! in `crate::study`.

use serde::{Deserialize, Serialize};

use super::ConfigError;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StudyConfig {
    /// Learning steps of a new card, in seconds (Anki's default: 1 and 10 minutes).
    pub learning_steps_secs: Vec<i64>,
    /// Relearning steps after a lapse, in seconds (Anki's default: 10 minutes).
    pub relearning_steps_secs: Vec<i64>,
    /// The longest interval a card may get, in days.
    pub maximum_interval_days: u32,
    /// Spread intervals by Anki's fuzz so cards learnt together do not fall due together.
    pub fuzz: bool,
    /// How often clients subscribed to `consilium://reviews/due` are checked for cards that
    /// have fallen due.
    pub due_check_interval_secs: u64,
    /// The least cosine similarity at which a document chunk counts as matching a question
    /// by meaning (hybrid ranking, when a provider key serves embeddings).
    pub embedding_min_similarity: f32,
}

impl Default for StudyConfig {
    fn default() -> Self {
        Self {
            learning_steps_secs: vec![60, 600],
            relearning_steps_secs: vec![600],
            maximum_interval_days: 36_500,
            fuzz: true,
            due_check_interval_secs: 30,
            embedding_min_similarity: 0.3,
        }
    }
}

impl StudyConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field, message: &str| {
            Err(ConfigError::Invalid {
                field,
                message: message.into(),
            })
        };
        let step_ok = |s: &i64| (1..=86_400 * 7).contains(s);
        if self.learning_steps_secs.len() > 10 || !self.learning_steps_secs.iter().all(step_ok) {
            return invalid(
                "study.learning_steps_secs",
                "at most 10 steps, each from 1 second to 7 days",
            );
        }
        if self.relearning_steps_secs.len() > 10 || !self.relearning_steps_secs.iter().all(step_ok)
        {
            return invalid(
                "study.relearning_steps_secs",
                "at most 10 steps, each from 1 second to 7 days",
            );
        }
        if !(1..=36_500).contains(&self.maximum_interval_days) {
            return invalid("study.maximum_interval_days", "must be between 1 and 36500");
        }
        if !(1..=86_400).contains(&self.due_check_interval_secs) {
            return invalid(
                "study.due_check_interval_secs",
                "must be between 1 second and a day",
            );
        }
        if !(-1.0..=1.0).contains(&self.embedding_min_similarity) {
            return invalid(
                "study.embedding_min_similarity",
                "must be a cosine similarity between -1 and 1",
            );
        }
        Ok(())
    }
}
