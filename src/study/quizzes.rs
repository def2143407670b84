//! MCQ quizzes per user in the store: a quiz of checked questions saved all or none, the
//! answers a student gives, and accuracy per topic. Every query is scoped by the owner.
//! This file writes no question itself.

use std::sync::Arc;

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::decks::DecksError;
use super::written::{LETTERS, McqDraft, McqOption};
use crate::identity::{Clock, UserId};
use crate::store::Store;

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct QuizQuestion {
    pub id: String,
    pub quiz_id: String,
    pub position: u32,
    pub stem: String,
    /// The options as shown, lettered A, B, C…
    pub options: Vec<String>,
    pub topic: String,
}

/// A question with its answer, once the student has answered.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Marked {
    pub question_id: String,
    pub choice: String,
    pub correct: bool,
    pub answer: String,
    pub explanation: String,
    /// Why each option is right or wrong, by letter.
    pub rationales: Vec<LetteredRationale>,
    pub topic: String,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct LetteredRationale {
    pub letter: String,
    pub text: String,
    pub rationale: String,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TopicAccuracy {
    pub topic: String,
    pub answered: u64,
    pub correct: u64,
    pub accuracy: f64,
}

#[derive(Clone)]
pub struct Quizzes {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl Quizzes {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Saves checked questions as one quiz and returns them as the student sees them.
    pub async fn save(
        &self,
        owner: &UserId,
        topic: &str,
        written_by: &str,
        questions: &[McqDraft],
    ) -> Result<(String, Vec<QuizQuestion>), DecksError> {
        let quiz_id = uuid::Uuid::new_v4().to_string();
        let now = self.clock.now().to_rfc3339();
        let mut rows = Vec::with_capacity(questions.len());
        for (i, q) in questions.iter().enumerate() {
            let answer = super::written::answer_index(&q.answer, q.options.len())
                .ok_or_else(|| DecksError::Invalid("a question has no valid answer".into()))?;
            let options = serde_json::to_string(&q.options)
                .map_err(|e| DecksError::Invalid(format!("options: {e}")))?;
            rows.push((
                uuid::Uuid::new_v4().to_string(),
                i as u32,
                q.stem.trim().to_string(),
                options,
                answer as u32,
                q.explanation.trim().to_string(),
                q.topic.trim().to_lowercase(),
            ));
        }
        let shown: Vec<QuizQuestion> = rows
            .iter()
            .zip(questions)
            .map(|(row, q)| QuizQuestion {
                id: row.0.clone(),
                quiz_id: quiz_id.clone(),
                position: row.1,
                stem: row.2.clone(),
                options: q
                    .options
                    .iter()
                    .map(|o| o.text.trim().to_string())
                    .collect(),
                topic: row.6.clone(),
            })
            .collect();
        let (user, quiz, topic, by) = (
            owner.to_string(),
            quiz_id.clone(),
            topic.trim().to_string(),
            written_by.to_string(),
        );
        self.store
            .write(move |tx| {
                tx.execute(
                    "INSERT INTO quizzes (id, user_id, topic, written_by, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![quiz, user, topic, by, now],
                )?;
                let mut insert = tx.prepare(
                    "INSERT INTO quiz_questions (id, quiz_id, user_id, position, stem, options,
                         answer, explanation, topic) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )?;
                for row in &rows {
                    insert.execute(params![
                        row.0, quiz, user, row.1, row.2, row.3, row.4, row.5, row.6
                    ])?;
                }
                Ok(())
            })
            .await?;
        Ok((quiz_id, shown))
    }

    /// Marks `choice` (a letter) for question `id` and records the answer.
    pub async fn answer(
        &self,
        owner: &UserId,
        id: &str,
        choice: &str,
    ) -> Result<Marked, DecksError> {
        let (user, key) = (owner.to_string(), id.to_string());
        let row: Option<(String, String, u32, String, String)> = self
            .store
            .read(move |c| {
                Ok(c.query_row(
                    "SELECT quiz_id, options, answer, explanation, topic FROM quiz_questions
                     WHERE id = ?1 AND user_id = ?2",
                    params![key, user],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()?)
            })
            .await?;
        let Some((quiz_id, options, answer, explanation, topic)) = row else {
            return Err(DecksError::NotFound("question"));
        };
        let options: Vec<McqOption> = serde_json::from_str(&options)
            .map_err(|_| DecksError::Invalid("the stored question is unreadable".into()))?;
        let Some(chosen) = super::written::answer_index(choice, options.len()) else {
            return Err(DecksError::Invalid(format!(
                "choice must be one of {}",
                LETTERS[..options.len().min(5)].join(", ")
            )));
        };
        let correct = chosen as u32 == answer;
        let (user, question, quiz, now, topic_row) = (
            owner.to_string(),
            id.to_string(),
            quiz_id,
            self.clock.now().to_rfc3339(),
            topic.clone(),
        );
        self.store
            .write(move |tx| {
                tx.execute(
                    "INSERT INTO mcq_answers (user_id, question_id, quiz_id, topic, choice,
                         correct, answered_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![user, question, quiz, topic_row, chosen as u32, correct, now],
                )?;
                Ok(())
            })
            .await?;
        Ok(Marked {
            question_id: id.to_string(),
            choice: LETTERS[chosen].to_string(),
            correct,
            answer: LETTERS
                .get(answer as usize)
                .copied()
                .unwrap_or("?")
                .to_string(),
            explanation,
            rationales: options
                .into_iter()
                .enumerate()
                .map(|(i, o)| LetteredRationale {
                    letter: LETTERS.get(i).copied().unwrap_or("?").to_string(),
                    text: o.text,
                    rationale: o.rationale,
                })
                .collect(),
            topic,
        })
    }

    /// Accuracy per topic over every answer the owner gave.
    pub async fn accuracy(&self, owner: &UserId) -> Result<Vec<TopicAccuracy>, DecksError> {
        let user = owner.to_string();
        Ok(self
            .store
            .read(move |c| {
                let mut statement = c.prepare(
                    "SELECT topic, COUNT(*), SUM(correct) FROM mcq_answers WHERE user_id = ?1
                     GROUP BY topic ORDER BY topic",
                )?;
                let rows = statement
                    .query_map(params![user], |r| {
                        let answered: i64 = r.get(1)?;
                        let correct: i64 = r.get(2)?;
                        Ok(TopicAccuracy {
                            topic: r.get(0)?,
                            answered: answered.max(0) as u64,
                            correct: correct.max(0) as u64,
                            accuracy: if answered > 0 {
                                correct as f64 / answered as f64
                            } else {
                                0.0
                            },
                        })
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await?)
    }
}
