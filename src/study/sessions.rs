//! Clinical reasoning cases and OSCE stations as sessions a student works through and can
//! resume: the shapes a model must write them in and their checks, the session state
//! (stage reached, every answer with the points it met), scoring, and storage per user.
//! Pure except for [`Sessions`]; it asks no model.

use std::collections::BTreeSet;
use std::sync::Arc;

use rusqlite::{OptionalExtension, params};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::decks::DecksError;
use crate::identity::{Clock, UserId};
use crate::store::Store;

// ---------------------------------------------------------------------------------------
// What a model writes

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseDraft {
    pub title: String,
    /// The stages in order: history, examination, investigations, then outcome.
    pub stages: Vec<CaseStage>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseStage {
    /// `history`, `examination`, `investigations` or `outcome`.
    pub name: String,
    /// What the student is told at this stage.
    pub reveal: String,
    /// What the student is asked at this stage (the differential, the next tests, the
    /// plan); empty for the outcome.
    pub question: String,
    /// What a good answer at this stage contains; empty for the outcome.
    pub key_points: Vec<String>,
}

const STAGES: [&str; 4] = ["history", "examination", "investigations", "outcome"];

pub fn check_case(case: &CaseDraft) -> Vec<String> {
    let mut problems = Vec::new();
    if case.title.trim().is_empty() {
        problems.push("the title is empty".to_string());
    }
    let names: Vec<&str> = case.stages.iter().map(|s| s.name.trim()).collect();
    if names != STAGES {
        problems.push(format!(
            "the stages must be exactly {} in that order, not {}",
            STAGES.join(", "),
            names.join(", ")
        ));
    }
    for (i, stage) in case.stages.iter().enumerate() {
        if stage.reveal.trim().is_empty() {
            problems.push(format!("stage {} reveals nothing", i + 1));
        }
        let last = i + 1 == case.stages.len();
        if !last {
            if stage.question.trim().is_empty() {
                problems.push(format!("stage {} asks nothing", i + 1));
            }
            if !(1..=8).contains(&stage.key_points.len()) {
                problems.push(format!("stage {} needs 1 to 8 key points", i + 1));
            }
            if stage.key_points.iter().any(|p| p.trim().is_empty()) {
                problems.push(format!("stage {} has an empty key point", i + 1));
            }
        }
    }
    problems
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StationDraft {
    pub title: String,
    /// What the candidate reads outside the room.
    pub candidate_instructions: String,
    /// The simulated patient's background and what they say when asked, for the examiner.
    pub patient_script: String,
    /// What the examiner marks, each worth 1 to 3 marks.
    pub checklist: Vec<ChecklistItem>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChecklistItem {
    pub item: String,
    pub marks: u32,
}

pub fn check_station(station: &StationDraft) -> Vec<String> {
    let mut problems = Vec::new();
    for (what, text) in [
        ("the title", &station.title),
        (
            "the candidate instructions",
            &station.candidate_instructions,
        ),
        ("the patient script", &station.patient_script),
    ] {
        if text.trim().is_empty() {
            problems.push(format!("{what} is empty"));
        }
    }
    if !(5..=25).contains(&station.checklist.len()) {
        problems.push(format!(
            "{} checklist items; write 5 to 25",
            station.checklist.len()
        ));
    }
    for (i, item) in station.checklist.iter().enumerate() {
        if item.item.trim().is_empty() {
            problems.push(format!("checklist item {} is empty", i + 1));
        }
        if !(1..=3).contains(&item.marks) {
            problems.push(format!(
                "checklist item {} must be worth 1 to 3 marks",
                i + 1
            ));
        }
    }
    problems
}

/// The examiner's verdict on one answer or action.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Evaluation {
    /// The numbers of the points (or checklist items) the answer meets.
    pub met: Vec<u32>,
    /// Brief, specific feedback for the student.
    pub feedback: String,
    /// OSCE only: what the patient or examiner says back; empty for a case.
    pub reply: String,
}

pub fn check_evaluation(evaluation: &Evaluation, points: usize) -> Vec<String> {
    let mut problems = Vec::new();
    for n in &evaluation.met {
        if *n == 0 || *n as usize > points {
            problems.push(format!("point {n} does not exist (1 to {points})"));
        }
    }
    if evaluation.feedback.trim().is_empty() {
        problems.push("the feedback is empty".to_string());
    }
    problems
}

// ---------------------------------------------------------------------------------------
// Session state

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Content {
    Case(CaseDraft),
    Osce(StationDraft),
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Turn {
    /// The case stage answered (0-based); for an OSCE, always 0.
    pub stage: usize,
    pub answer: String,
    /// The points met by this answer (1-based, numbered within the stage or checklist).
    pub met: Vec<u32>,
    pub feedback: String,
    #[serde(default)]
    pub reply: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SessionState {
    pub content: Content,
    /// The case stage now shown (0-based).
    pub stage: usize,
    pub turns: Vec<Turn>,
}

impl SessionState {
    pub fn new(content: Content) -> Self {
        SessionState {
            content,
            stage: 0,
            turns: Vec::new(),
        }
    }

    /// The points the current answer is judged against.
    pub fn points(&self) -> Vec<String> {
        match &self.content {
            Content::Case(case) => case
                .stages
                .get(self.stage)
                .map(|s| s.key_points.clone())
                .unwrap_or_default(),
            Content::Osce(station) => station.checklist.iter().map(|c| c.item.clone()).collect(),
        }
    }

    /// Whether every stage that asks something has been answered (a case), never for an
    /// OSCE, which ends when the student says so.
    pub fn finished_case(&self) -> bool {
        match &self.content {
            Content::Case(case) => self.stage + 1 >= case.stages.len(),
            Content::Osce(_) => false,
        }
    }

    /// Records an answer and, for a case, moves to the next stage.
    pub fn record(&mut self, answer: &str, evaluation: &Evaluation) {
        let mut met: Vec<u32> = evaluation.met.clone();
        met.sort_unstable();
        met.dedup();
        self.turns.push(Turn {
            stage: self.stage,
            answer: answer.to_string(),
            met,
            feedback: evaluation.feedback.trim().to_string(),
            reply: evaluation.reply.trim().to_string(),
        });
        if let Content::Case(case) = &self.content
            && self.stage + 1 < case.stages.len()
        {
            self.stage += 1;
        }
    }

    /// Marks met over marks available: a case's key points across its stages (each point
    /// counted once however often met), an OSCE's checklist marks.
    pub fn score(&self) -> (u32, u32) {
        match &self.content {
            Content::Case(case) => {
                let available: u32 = case.stages.iter().map(|s| s.key_points.len() as u32).sum();
                let met: BTreeSet<(usize, u32)> = self
                    .turns
                    .iter()
                    .flat_map(|t| t.met.iter().map(move |m| (t.stage, *m)))
                    .collect();
                (met.len() as u32, available)
            }
            Content::Osce(station) => {
                let met: BTreeSet<u32> = self
                    .turns
                    .iter()
                    .flat_map(|t| t.met.iter().copied())
                    .collect();
                let marks = met
                    .iter()
                    .filter_map(|m| station.checklist.get(*m as usize - 1))
                    .map(|c| c.marks)
                    .sum();
                (marks, station.checklist.iter().map(|c| c.marks).sum())
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Storage

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SessionSummary {
    pub id: String,
    pub kind: String,
    pub title: String,
    pub topic: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    pub written_by: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone)]
pub struct StoredSession {
    pub summary: SessionSummary,
    pub state: SessionState,
}

#[derive(Clone)]
pub struct Sessions {
    store: Store,
    clock: Arc<dyn Clock>,
}

const SUMMARY_COLUMNS: &str =
    "id, kind, title, topic, status, score, written_by, created_at, updated_at";

fn summary_from(row: &rusqlite::Row<'_>) -> rusqlite::Result<SessionSummary> {
    Ok(SessionSummary {
        id: row.get(0)?,
        kind: row.get(1)?,
        title: row.get(2)?,
        topic: row.get(3)?,
        status: row.get(4)?,
        score: row.get(5)?,
        written_by: row.get(6)?,
        created_at: row.get(7)?,
        updated_at: row.get(8)?,
    })
}

fn encode(state: &SessionState) -> Result<String, DecksError> {
    serde_json::to_string(state).map_err(|e| DecksError::Invalid(format!("session state: {e}")))
}

impl Sessions {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    pub async fn create(
        &self,
        owner: &UserId,
        topic: &str,
        written_by: &str,
        state: &SessionState,
    ) -> Result<SessionSummary, DecksError> {
        let (kind, title) = match &state.content {
            Content::Case(case) => ("case", case.title.trim().to_string()),
            Content::Osce(station) => ("osce", station.title.trim().to_string()),
        };
        let id = uuid::Uuid::new_v4().to_string();
        let row = (
            id.clone(),
            owner.to_string(),
            kind,
            title,
            topic.to_string(),
            written_by.to_string(),
            encode(state)?,
            self.clock.now().to_rfc3339(),
        );
        self.store
            .write(move |tx| {
                tx.execute(
                    "INSERT INTO study_sessions (id, user_id, kind, title, topic, written_by, state,
                         status, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'active', ?8, ?8)",
                    params![row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7],
                )?;
                Ok(())
            })
            .await?;
        Ok(self
            .get(owner, &id)
            .await?
            .ok_or(DecksError::NotFound("session"))?
            .summary)
    }

    pub async fn get(&self, owner: &UserId, id: &str) -> Result<Option<StoredSession>, DecksError> {
        let (user, key) = (owner.to_string(), id.to_string());
        let row: Option<(SessionSummary, String)> = self
            .store
            .read(move |c| {
                Ok(c.query_row(
                    &format!(
                        "SELECT {SUMMARY_COLUMNS}, state FROM study_sessions WHERE id = ?1 AND user_id = ?2"
                    ),
                    params![key, user],
                    |r| Ok((summary_from(r)?, r.get(9)?)),
                )
                .optional()?)
            })
            .await?;
        match row {
            None => Ok(None),
            Some((summary, state)) => {
                let state: SessionState = serde_json::from_str(&state)
                    .map_err(|_| DecksError::Invalid("the stored session is unreadable".into()))?;
                Ok(Some(StoredSession { summary, state }))
            }
        }
    }

    /// Saves the state after a turn, provided it still has `turns_before` turns (so two
    /// answers sent at once cannot both land on the same stage).
    pub async fn save(
        &self,
        owner: &UserId,
        id: &str,
        turns_before: usize,
        state: &SessionState,
        finished: Option<f64>,
    ) -> Result<(), DecksError> {
        let (user, key, json, now) = (
            owner.to_string(),
            id.to_string(),
            encode(state)?,
            self.clock.now().to_rfc3339(),
        );
        let turns = turns_before as i64;
        let changed = self
            .store
            .write(move |tx| {
                Ok(tx.execute(
                    "UPDATE study_sessions SET state = ?3, updated_at = ?4,
                         status = CASE WHEN ?5 IS NULL THEN status ELSE 'finished' END,
                         score = COALESCE(?5, score)
                     WHERE id = ?1 AND user_id = ?2 AND status = 'active'
                       AND json_array_length(state, '$.turns') = ?6",
                    params![key, user, json, now, finished, turns],
                )?)
            })
            .await?;
        if changed == 0 {
            return Err(DecksError::Conflict);
        }
        Ok(())
    }

    pub async fn list(&self, owner: &UserId) -> Result<Vec<SessionSummary>, DecksError> {
        let user = owner.to_string();
        Ok(self
            .store
            .read(move |c| {
                let mut statement = c.prepare(&format!(
                    "SELECT {SUMMARY_COLUMNS} FROM study_sessions WHERE user_id = ?1
                     ORDER BY updated_at DESC LIMIT 200"
                ))?;
                let rows = statement
                    .query_map(params![user], summary_from)?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn case() -> CaseDraft {
        serde_json::from_value(json!({
            "title": "Breathless at night",
            "stages": [
                { "name": "history", "reveal": "A 70-year-old with orthopnoea.", "question": "Differential?", "key_points": ["heart failure", "COPD"] },
                { "name": "examination", "reveal": "Bibasal crackles, raised JVP.", "question": "Tests?", "key_points": ["BNP", "echo", "ECG"] },
                { "name": "investigations", "reveal": "NT-proBNP 3,000.", "question": "Plan?", "key_points": ["diuretic"] },
                { "name": "outcome", "reveal": "Improved on furosemide.", "question": "", "key_points": [] }
            ]
        }))
        .unwrap()
    }

    #[test]
    fn a_case_walks_its_stages_and_scores_each_point_once() {
        assert!(check_case(&case()).is_empty());
        let mut state = SessionState::new(Content::Case(case()));
        assert_eq!(state.points(), ["heart failure", "COPD"]);
        let eval = |met: &[u32]| Evaluation {
            met: met.to_vec(),
            feedback: "ok".into(),
            reply: String::new(),
        };
        state.record("HF or COPD", &eval(&[1, 2, 2]));
        assert_eq!(state.stage, 1);
        state.record("BNP", &eval(&[1]));
        assert!(!state.finished_case());
        state.record("diuretics", &eval(&[1]));
        assert!(state.finished_case());
        assert_eq!(state.score(), (4, 6));
    }

    #[test]
    fn bad_cases_stations_and_verdicts_are_named() {
        let mut shuffled = case();
        shuffled.stages.swap(0, 1);
        assert!(check_case(&shuffled)[0].contains("in that order"));
        let station = StationDraft {
            title: "Chest pain history".into(),
            candidate_instructions: "Take a history.".into(),
            patient_script: "You are 55.".into(),
            checklist: vec![ChecklistItem {
                item: "Introduces self".into(),
                marks: 4,
            }],
        };
        let problems = check_station(&station);
        assert!(problems.iter().any(|p| p.contains("5 to 25")));
        assert!(problems.iter().any(|p| p.contains("1 to 3 marks")));
        let verdict = Evaluation {
            met: vec![0, 7],
            feedback: " ".into(),
            reply: String::new(),
        };
        assert_eq!(check_evaluation(&verdict, 6).len(), 3);
    }
}
