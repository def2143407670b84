//! The MCP surface of case and OSCE practice: `start_case`, `start_osce`,
//! `session_answer`, `finish_session`, `list_sessions` and `consilium://sessions/{id}`.
//! The case or station is written by a model and checked (`sessions`); each answer is
//! judged by a model against the stage's key points or the station's checklist, the
//! verdict checked, and the session saved so it resumes after a restart. What the student
//! has not reached yet (later stages, the checklist) is never shown early.

use rmcp::ErrorData as McpError;
use rmcp::model::{ReadResourceResult, ResourceContents, ResourceTemplate};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::decks::DecksError;
use super::generate::generate;
use super::sessions::{
    CaseDraft, Content, Evaluation, SessionState, SessionSummary, StationDraft, check_case,
    check_evaluation, check_station,
};
use super::writing_tools::{Authorship, Level, authorship};
use crate::identity::Scope;
use crate::mcp::{RegistryBuilder, ToolContext, ToolError, ToolOutput};

const MAX_ANSWER_CHARS: usize = 4_000;

pub fn register(builder: &mut RegistryBuilder<'_>) {
    builder.tool("start_case", start_case);
    builder.tool("start_osce", start_osce);
    builder.tool("session_answer", session_answer);
    builder.tool("finish_session", finish_session);
    builder.tool("list_sessions", list_sessions);
    builder.resource_template(
        ResourceTemplate::new("consilium://sessions/{id}", "session")
            .with_title("A case or OSCE session")
            .with_description("One of your practice sessions: where you are and every answer with its feedback (yours only)")
            .with_mime_type("application/json"),
        None,
        |scope, uri, vars| async move {
            let not_found = || {
                McpError::resource_not_found(format!("no session at {uri}"), Some(json!({ "uri": uri })))
            };
            if !scope.principal.has_scope(Scope::Study) {
                return Err(not_found());
            }
            let id = vars.get("id").cloned().unwrap_or_default();
            let Some(session) = scope
                .app
                .sessions
                .get(&scope.principal.user_id, &id)
                .await
                .map_err(|_| McpError::internal_error("the session store is unavailable", None))?
            else {
                return Err(not_found());
            };
            let body = serde_json::to_string_pretty(&view(&session.summary, &session.state))
                .map_err(|e| McpError::internal_error(e.to_string(), None))?;
            Ok(ReadResourceResult::new(vec![
                ResourceContents::text(body, uri).with_mime_type("application/json"),
            ]))
        },
    );
}

/// What the student may see of a session: what has been revealed and their own turns;
/// for a finished session, everything.
fn view(summary: &SessionSummary, state: &SessionState) -> serde_json::Value {
    let finished = summary.status == "finished";
    let content = match (&state.content, finished) {
        (_, true) => serde_json::to_value(&state.content).unwrap_or_default(),
        (Content::Case(case), false) => json!({
            "kind": "case",
            "title": case.title,
            "revealed": case.stages.iter().take(state.stage + 1).map(|s| json!({
                "name": s.name, "reveal": s.reveal, "question": s.question
            })).collect::<Vec<_>>(),
        }),
        (Content::Osce(station), false) => json!({
            "kind": "osce",
            "title": station.title,
            "candidate_instructions": station.candidate_instructions,
        }),
    };
    json!({ "session": summary, "content": content, "turns": state.turns })
}

fn topic(text: &str) -> Result<String, ToolError> {
    let topic = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if topic.is_empty() || topic.chars().count() > 200 {
        return Err(ToolError::invalid_arguments(
            "the specialty or station must be 1–200 characters",
        ));
    }
    Ok(topic)
}

fn written_by(a: &Authorship) -> String {
    format!("model:{}/{}", a.served_by.provider, a.served_by.model)
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StartCaseArguments {
    /// The specialty or presentation, e.g. "cardiology" or "acute abdomen".
    pub specialty: String,
    #[serde(default)]
    pub level: Option<Level>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SessionStep {
    pub session_id: String,
    pub kind: String,
    pub title: String,
    /// What is revealed now (a case's stage, or an OSCE's candidate instructions).
    pub reveal: String,
    /// What the student is asked now; none once a case has reached its outcome.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
    /// Feedback on the answer just given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feedback: Option<Feedback>,
    /// Set when the session has ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<SessionResult>,
    #[serde(flatten)]
    pub authorship: Authorship,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Feedback {
    pub met: Vec<String>,
    pub missed: Vec<String>,
    pub feedback: String,
    /// OSCE: what the patient or examiner says back.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reply: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SessionResult {
    pub marks: u32,
    pub available: u32,
    pub score: f64,
    /// Every key point or checklist item, and whether it was met.
    pub points: Vec<PointOutcome>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PointOutcome {
    pub point: String,
    pub met: bool,
}

impl ToolOutput for SessionStep {
    fn to_text(&self) -> String {
        let mut text = String::new();
        if let Some(f) = &self.feedback {
            if !f.reply.is_empty() {
                text.push_str(&format!("{}\n\n", f.reply));
            }
            text.push_str(&format!("Feedback: {}\n", f.feedback));
            if !f.met.is_empty() {
                text.push_str(&format!("Covered: {}\n", f.met.join("; ")));
            }
            if !f.missed.is_empty() {
                text.push_str(&format!("Missed: {}\n", f.missed.join("; ")));
            }
            text.push('\n');
        }
        text.push_str(&format!(
            "{} ({}, session {})\n{}",
            self.title, self.kind, self.session_id, self.reveal
        ));
        if let Some(q) = &self.question {
            text.push_str(&format!("\n\n{q}"));
        }
        if let Some(r) = &self.result {
            text.push_str(&format!(
                "\n\nFinished: {}/{} ({:.0}%).",
                r.marks,
                r.available,
                r.score * 100.0
            ));
        }
        text
    }
}

fn result_of(state: &SessionState) -> SessionResult {
    let (marks, available) = state.score();
    let points = match &state.content {
        Content::Case(case) => case
            .stages
            .iter()
            .enumerate()
            .flat_map(|(i, stage)| {
                stage
                    .key_points
                    .iter()
                    .enumerate()
                    .map(move |(j, p)| (i, j, p))
            })
            .map(|(i, j, p)| PointOutcome {
                point: p.clone(),
                met: state
                    .turns
                    .iter()
                    .any(|t| t.stage == i && t.met.contains(&(j as u32 + 1))),
            })
            .collect(),
        Content::Osce(station) => station
            .checklist
            .iter()
            .enumerate()
            .map(|(j, c)| PointOutcome {
                point: format!(
                    "{} ({} mark{})",
                    c.item,
                    c.marks,
                    if c.marks == 1 { "" } else { "s" }
                ),
                met: state.turns.iter().any(|t| t.met.contains(&(j as u32 + 1))),
            })
            .collect(),
    };
    SessionResult {
        marks,
        available,
        score: if available > 0 {
            f64::from(marks) / f64::from(available)
        } else {
            0.0
        },
        points,
    }
}

fn current_step(state: &SessionState) -> (String, Option<String>) {
    match &state.content {
        Content::Case(case) => {
            let Some(stage) = case.stages.get(state.stage).or(case.stages.last()) else {
                return (String::new(), None);
            };
            let question = (!stage.question.trim().is_empty() && !state.finished_case())
                .then(|| stage.question.clone());
            (stage.reveal.clone(), question)
        }
        Content::Osce(station) => (
            station.candidate_instructions.clone(),
            Some("What do you do or say next? (finish_session when you are done)".into()),
        ),
    }
}

async fn start_case(ctx: ToolContext, args: StartCaseArguments) -> Result<SessionStep, ToolError> {
    let specialty = topic(&args.specialty)?;
    let level = args.level.unwrap_or_default();
    let generated = generate::<CaseDraft, _>(
        &ctx,
        "case",
        "Write a realistic clinical reasoning case in four stages named history, examination, \
         investigations and outcome. Each of the first three reveals what a doctor would learn \
         at that point, asks the student one question (the differential, the next tests, the \
         plan), and lists the key points a good answer contains. The outcome reveals the \
         diagnosis and what happened. Do not give the diagnosis away before the outcome.",
        format!("Specialty: {specialty}\nFor: {}", level.words()),
        3_500,
        check_case,
    )
    .await?;
    let authorship = authorship(&generated);
    start(&ctx, &specialty, Content::Case(generated.value), authorship).await
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StartOsceArguments {
    /// The station, e.g. "chest pain history" or "explain a new diagnosis of diabetes".
    pub station: String,
    #[serde(default)]
    pub level: Option<Level>,
}

async fn start_osce(ctx: ToolContext, args: StartOsceArguments) -> Result<SessionStep, ToolError> {
    let station = topic(&args.station)?;
    let level = args.level.unwrap_or_default();
    let generated = generate::<StationDraft, _>(
        &ctx,
        "case",
        "Write an OSCE station: the candidate's instructions, a simulated patient's script (who \
         they are, their story, what they say when asked, their concerns), and the examiner's \
         mark scheme as a checklist of observable actions, each worth 1 to 3 marks, covering \
         communication as well as clinical content.",
        format!("Station: {station}\nFor: {}", level.words()),
        3_500,
        check_station,
    )
    .await?;
    let authorship = authorship(&generated);
    start(&ctx, &station, Content::Osce(generated.value), authorship).await
}

async fn start(
    ctx: &ToolContext,
    topic: &str,
    content: Content,
    authorship: Authorship,
) -> Result<SessionStep, ToolError> {
    let state = SessionState::new(content);
    let summary = ctx
        .app
        .sessions
        .create(
            &ctx.principal.user_id,
            topic,
            &written_by(&authorship),
            &state,
        )
        .await?;
    let (reveal, question) = current_step(&state);
    Ok(SessionStep {
        session_id: summary.id,
        kind: summary.kind,
        title: summary.title,
        reveal,
        question,
        feedback: None,
        result: None,
        authorship,
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionAnswerArguments {
    pub session_id: String,
    /// Your answer to the current question (a case), or what you do or say (an OSCE).
    pub answer: String,
}

async fn session_answer(
    ctx: ToolContext,
    args: SessionAnswerArguments,
) -> Result<SessionStep, ToolError> {
    let answer = args.answer.trim().to_string();
    if answer.is_empty() || answer.chars().count() > MAX_ANSWER_CHARS {
        return Err(ToolError::invalid_arguments(format!(
            "the answer must be 1–{MAX_ANSWER_CHARS} characters"
        )));
    }
    let owner = &ctx.principal.user_id;
    let sessions = &ctx.app.sessions;
    let session = sessions
        .get(owner, &args.session_id)
        .await?
        .ok_or(DecksError::NotFound("session"))?;
    if session.summary.status != "active" {
        return Err(ToolError::invalid_arguments("this session has finished"));
    }
    let mut state = session.state;
    if state.finished_case() {
        return Err(ToolError::invalid_arguments(
            "the case has reached its outcome; call finish_session for the result",
        ));
    }
    let points = state.points();
    let (request, instructions) = match &state.content {
        Content::Case(case) => {
            let stage = case
                .stages
                .get(state.stage)
                .ok_or_else(|| ToolError::invalid_arguments("the stored session is unreadable"))?;
            let mut request = format!(
                "Case: {}\nStage: {}\nWhat the student was told:\n{}\nQuestion: {}\nKey points:",
                case.title, stage.name, stage.reveal, stage.question
            );
            for (i, p) in points.iter().enumerate() {
                request.push_str(&format!("\n{}. {p}", i + 1));
            }
            request.push_str(&format!("\n\nThe student's answer:\n{answer}"));
            (
                request,
                "You are a clinical tutor. List the numbers of the key points the student's \
                 answer covers (in substance, not wording), give brief specific feedback on \
                 what was good and what was missed, and leave reply empty.",
            )
        }
        Content::Osce(station) => {
            let mut request = format!(
                "Station: {}\nCandidate instructions: {}\nPatient script: {}\nChecklist:",
                station.title, station.candidate_instructions, station.patient_script
            );
            for (i, c) in station.checklist.iter().enumerate() {
                request.push_str(&format!("\n{}. {}", i + 1, c.item));
            }
            request.push_str("\n\nEarlier in the station:");
            for turn in &state.turns {
                request.push_str(&format!(
                    "\nCandidate: {}\nReply: {}",
                    turn.answer, turn.reply
                ));
            }
            request.push_str(&format!("\n\nThe candidate now: {answer}"));
            (
                request,
                "You are the OSCE examiner and the simulated patient. Reply in character as \
                 the patient (or as the examiner if the candidate addresses you), in one to \
                 three sentences, revealing only what was asked. List the numbers of the \
                 checklist items this action meets, and give one line of examiner feedback.",
            )
        }
    };
    let generated = generate::<Evaluation, _>(&ctx, "case", instructions, request, 1_200, |e| {
        check_evaluation(e, points.len())
    })
    .await?;
    let authorship = authorship(&generated);
    let evaluation = generated.value;
    let turns_before = state.turns.len();
    state.record(&answer, &evaluation);
    let done = state.finished_case();
    let result = done.then(|| result_of(&state));
    sessions
        .save(
            owner,
            &args.session_id,
            turns_before,
            &state,
            result.as_ref().map(|r| r.score),
        )
        .await?;
    let met: Vec<String> = points
        .iter()
        .enumerate()
        .filter(|(i, _)| evaluation.met.contains(&(*i as u32 + 1)))
        .map(|(_, p)| p.clone())
        .collect();
    // An OSCE checklist stays hidden until the end; a case's key points are shown per stage.
    let (met, missed) = match &state.content {
        Content::Case(_) => {
            let missed = points
                .iter()
                .filter(|p| !met.contains(p))
                .cloned()
                .collect();
            (met, missed)
        }
        Content::Osce(_) => (Vec::new(), Vec::new()),
    };
    let (reveal, question) = current_step(&state);
    Ok(SessionStep {
        session_id: args.session_id,
        kind: session.summary.kind,
        title: session.summary.title,
        reveal,
        question,
        feedback: Some(Feedback {
            met,
            missed,
            feedback: evaluation.feedback.trim().to_string(),
            reply: evaluation.reply.trim().to_string(),
        }),
        result,
        authorship,
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionIdArguments {
    pub session_id: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Finished {
    pub session_id: String,
    pub title: String,
    pub result: SessionResult,
}

impl ToolOutput for Finished {
    fn to_text(&self) -> String {
        let mut text = format!(
            "{}: {}/{} ({:.0}%)",
            self.title,
            self.result.marks,
            self.result.available,
            self.result.score * 100.0
        );
        for p in &self.result.points {
            text.push_str(&format!("\n{} {}", if p.met { "✓" } else { "✗" }, p.point));
        }
        text
    }
}

async fn finish_session(ctx: ToolContext, args: SessionIdArguments) -> Result<Finished, ToolError> {
    let owner = &ctx.principal.user_id;
    let sessions = &ctx.app.sessions;
    let session = sessions
        .get(owner, &args.session_id)
        .await?
        .ok_or(DecksError::NotFound("session"))?;
    let result = result_of(&session.state);
    if session.summary.status == "active" {
        sessions
            .save(
                owner,
                &args.session_id,
                session.state.turns.len(),
                &session.state,
                Some(result.score),
            )
            .await?;
    }
    Ok(Finished {
        session_id: args.session_id,
        title: session.summary.title,
        result,
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArguments {}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SessionList {
    pub sessions: Vec<SessionSummary>,
}

impl ToolOutput for SessionList {
    fn to_text(&self) -> String {
        if self.sessions.is_empty() {
            return "No sessions yet: start one with start_case or start_osce.".into();
        }
        self.sessions
            .iter()
            .map(|s| format!("- {} ({}, {}, id {})", s.title, s.kind, s.status, s.id))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

async fn list_sessions(ctx: ToolContext, _: NoArguments) -> Result<SessionList, ToolError> {
    Ok(SessionList {
        sessions: ctx.app.sessions.list(&ctx.principal.user_id).await?,
    })
}
