//! One consensus run from question to certificate: seat the panel, ask every member at
//! once, compare the answers (fast path, then the entailment judge for what it could not
//! settle), cluster them, score agreement and semantic entropy, pick or have the chair
//! write the consensus answer, sign what was found, and keep the run for its owner.
//!
//! Agreement is the share of answers in the largest cluster; it is not called confidence
//! because it has not been calibrated against labelled outcomes. The unit compared is the
//! whole answer; splitting long answers into claims and scoring each would slot in between
//! the fan-out and the clustering without changing either.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use schemars::JsonSchema;
use serde::Serialize;
use tokio::sync::mpsc::UnboundedSender;

use super::agreement::{self, Equivalence};
use super::certificate::{
    self, AnswerDigest, CERTIFICATE_KEY_PURPOSE, ConsensusPredicate, PanelMember, sha256_hex,
};
use super::judge::Judge;
use super::panel::{self, Arrival, MemberOutcome, MemberReport, Seat};
use super::runs::{ConsensusRuns, RunSummary, RunsError};
use crate::config::ConsensusConfig;
use crate::identity::{Clock, UserId};
use crate::llm::{ClientModel, CompletionRequest, Message, ProviderKind, Route, Router, ServedBy};
use crate::secrets::SigningKeys;

/// Names the method in every certificate: bump it when clustering or scoring changes.
pub const METHOD_VERSION: &str =
    "consilium-consensus/2 (fast path + bidirectional entailment judge)";
/// Pairs judged at once.
const JUDGE_CONCURRENCY: usize = 8;

const CHAIR_PROMPT: &str = "Several experts answered the same question independently and \
agree. Write one answer that states what they agree on, in the same register, adding nothing \
that none of them says. Do not mention the experts.";

#[derive(Debug, thiserror::Error)]
pub enum ConsensusError {
    #[error("the certificate signing key is unavailable: {0}")]
    SigningKey(String),
    #[error("the certificate could not be encoded: {0}")]
    Encoding(#[from] serde_json::Error),
    #[error("the run could not be stored: {0}")]
    Store(#[from] RunsError),
}

/// What a run is asked.
#[derive(Debug, Clone)]
pub struct Question {
    pub question: String,
    pub context: Option<String>,
    pub seats: Vec<Seat>,
    pub threshold: f64,
    pub member_deadline: Duration,
    pub max_tokens: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnswerSource {
    /// A member's own answer, from the largest cluster.
    MemberAnswer,
    /// Written by the chair model from the agreeing answers.
    ChairSynthesis,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ConsensusAnswer {
    pub text: String,
    pub source: AnswerSource,
    /// The member whose answer it is, for a member answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<usize>,
    /// Who wrote it, for a chair synthesis.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chair: Option<ServedBy>,
    /// True when consensus was reached; otherwise this is only the largest cluster's
    /// answer, and the panel did not agree on it.
    pub is_consensus: bool,
    /// Always `model-written`.
    pub label: String,
}

/// A group of answers judged equivalent.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ClusterReport {
    /// The members in it, by panel place.
    pub members: Vec<usize>,
    /// Their `provider/model`.
    pub models: Vec<String>,
    /// Its share of the answers.
    pub share: f64,
    /// The answer most typical of it.
    pub answer: String,
}

/// How the answers were compared.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MethodReport {
    pub version: String,
    /// Pairs the fast path settled.
    pub fast_path_pairs: usize,
    /// Pairs the judge settled.
    pub judged_pairs: usize,
    /// Pairs the judge could not settle, decided by word overlap instead.
    pub fallback_pairs: usize,
    pub judge_failed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub judge: Option<ServedBy>,
}

#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct RunUsage {
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost_usd: f64,
    #[serde(skip)]
    pub cost_micro_usd: u64,
}

#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct Timings {
    /// From the first request out to the last member finished.
    pub panel_ms: u64,
    pub judge_ms: u64,
    pub total_ms: u64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ConsensusReport {
    /// The stored run: `consilium://consensus/{id}`.
    pub id: String,
    /// `reached`, `not_reached` or `insufficient` (fewer than two answers).
    pub status: String,
    /// Share of the answers in the largest cluster (not a calibrated confidence).
    pub agreement: f64,
    /// Semantic entropy over the clusters, in nats: 0 when all agree.
    pub semantic_entropy: f64,
    pub threshold: f64,
    pub answered: usize,
    pub panel_size: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<ConsensusAnswer>,
    /// The largest cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agreeing: Option<ClusterReport>,
    /// The other clusters, largest first, with their models.
    pub dissent: Vec<ClusterReport>,
    pub members: Vec<MemberReport>,
    pub method: MethodReport,
    /// What the reader should know about how this run went (a judge that failed, a chair
    /// that could not write).
    pub notes: Vec<String>,
    pub question_sha256: String,
    /// The trust certificate: a compact JWS (EdDSA) over an in-toto statement; verify it
    /// with `verify_certificate` or offline with the keys at consilium://keys/jwks.json.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    pub usage: RunUsage,
    pub timings: Timings,
}

/// Runs panels. Cheap to clone.
#[derive(Clone)]
pub struct Consensus {
    pub(crate) router: Router,
    pub(crate) signing_keys: SigningKeys,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) config: ConsensusConfig,
    pub(crate) runs: ConsensusRuns,
}

impl Consensus {
    pub fn new(
        router: Router,
        signing_keys: SigningKeys,
        clock: Arc<dyn Clock>,
        config: ConsensusConfig,
        runs: ConsensusRuns,
    ) -> Self {
        Self {
            router,
            signing_keys,
            clock,
            config,
            runs,
        }
    }

    pub fn config(&self) -> &ConsensusConfig {
        &self.config
    }

    pub fn runs(&self) -> &ConsensusRuns {
        &self.runs
    }

    /// The default panel for `user`: the configured one, else spread over the models
    /// the keys serving `consensus` offer.
    pub async fn default_seats(&self, user: &UserId) -> Vec<Seat> {
        if !self.config.panel.is_empty() {
            return self
                .config
                .panel
                .iter()
                .map(|c| Seat {
                    provider: c.provider.clone(),
                    model: c.model.clone(),
                })
                .collect();
        }
        let offered = self.router.offered_models(user, panel::PANEL_FEATURE).await;
        panel::spread(&offered, self.config.panel_size)
    }

    /// Runs the panel on `question` for `user`, stores the run and returns the report.
    pub async fn convene(
        &self,
        user: &UserId,
        question: &Question,
        client_model: Option<ClientModel>,
        arrivals: Option<&UnboundedSender<Arrival>>,
    ) -> Result<ConsensusReport, ConsensusError> {
        let started = Instant::now();
        let request = panel::member_request(
            &question.question,
            question.context.as_deref(),
            question.max_tokens,
        );
        let members = panel::ask_all(
            &self.router,
            user,
            &question.seats,
            client_model.as_ref(),
            &request,
            question.member_deadline,
            arrivals,
        )
        .await;
        let panel_ms = started.elapsed().as_millis() as u64;
        let mut usage = RunUsage::default();
        for member in &members {
            usage.add(
                member.usage.input,
                member.usage.output,
                member.cost_micro_usd,
            );
        }
        let answered: Vec<&MemberReport> = members
            .iter()
            .filter(|m| m.outcome == MemberOutcome::Answered)
            .collect();
        let texts: Vec<&str> = answered
            .iter()
            .map(|m| m.answer.as_deref().unwrap_or_default())
            .collect();
        let judge_started = Instant::now();
        let judge = Judge {
            router: &self.router,
            user,
            pinned: self.config.judge.as_ref().and_then(|c| {
                c.provider
                    .parse::<ProviderKind>()
                    .ok()
                    .map(|p| (p, c.model.clone()))
            }),
            client_model: client_model.clone(),
            deadline: Duration::from_secs(self.config.judge_deadline_secs),
        };
        let mut notes = Vec::new();
        let (equivalent, method) =
            compare(&question.question, &texts, &judge, &mut usage, &mut notes).await;
        let judge_ms = judge_started.elapsed().as_millis() as u64;
        let clusters = agreement::cluster(texts.len(), |i, j| equivalent[i][j]);
        let score = agreement::agreement(&clusters);
        let entropy = agreement::semantic_entropy(&clusters);
        let status = agreement::status(texts.len(), score, question.threshold);
        let cluster_report = |cluster: &Vec<usize>| {
            let representative = agreement::representative(cluster, &texts).unwrap_or(0);
            ClusterReport {
                members: cluster.iter().map(|&i| answered[i].member).collect(),
                models: cluster
                    .iter()
                    .map(|&i| question.seats[answered[i].member].label())
                    .collect(),
                share: cluster.len() as f64 / texts.len().max(1) as f64,
                answer: texts
                    .get(representative)
                    .copied()
                    .unwrap_or_default()
                    .to_string(),
            }
        };
        let reports: Vec<ClusterReport> = clusters.iter().map(cluster_report).collect();
        let mut answer = clusters.first().and_then(|largest| {
            let representative = agreement::representative(largest, &texts)?;
            Some(ConsensusAnswer {
                text: texts[representative].to_string(),
                source: AnswerSource::MemberAnswer,
                member: Some(answered[representative].member),
                chair: None,
                is_consensus: status == agreement::Status::Reached,
                label: "model-written".into(),
            })
        });
        if status == agreement::Status::Reached
            && let (Some(chair), Some(largest)) = (&self.config.chair, clusters.first())
            && largest.len() >= 2
        {
            let agreeing: Vec<&str> = largest.iter().map(|&i| texts[i]).collect();
            match self
                .chair(user, chair, &question.question, &agreeing, question)
                .await
            {
                Ok((text, served_by, tokens_in, tokens_out, cost)) => {
                    usage.add(tokens_in, tokens_out, cost);
                    answer = Some(ConsensusAnswer {
                        text,
                        source: AnswerSource::ChairSynthesis,
                        member: None,
                        chair: Some(served_by),
                        is_consensus: true,
                        label: "model-written".into(),
                    });
                }
                Err(why) => notes.push(format!(
                    "The chair could not write a synthesis ({why}); the answer is a member's own."
                )),
            }
        }
        if status == agreement::Status::Insufficient {
            notes.push(format!(
                "Only {} of {} members answered: no consensus can be claimed from fewer than two.",
                texts.len(),
                question.seats.len()
            ));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let question_sha256 = sha256_hex(&question.question);
        let certificate = match &answer {
            Some(answer) => Some(
                self.certify(
                    question,
                    &question_sha256,
                    &answered,
                    &clusters,
                    score,
                    entropy,
                    status,
                    &answer.text,
                )
                .await?,
            ),
            None => None,
        };
        let report = ConsensusReport {
            id: id.clone(),
            status: status.as_str().into(),
            agreement: score,
            semantic_entropy: entropy,
            threshold: question.threshold,
            answered: texts.len(),
            panel_size: question.seats.len(),
            answer,
            agreeing: reports.first().cloned(),
            dissent: reports.iter().skip(1).cloned().collect(),
            members,
            method: MethodReport {
                version: METHOD_VERSION.into(),
                ..method
            },
            notes,
            question_sha256,
            certificate,
            usage,
            timings: Timings {
                panel_ms,
                judge_ms,
                total_ms: started.elapsed().as_millis() as u64,
            },
        };
        self.runs
            .save(
                user,
                &id,
                RunSummary {
                    status: &report.status,
                    agreement: report.agreement,
                    members: report.panel_size,
                    answered: report.answered,
                    certificate: report.certificate.as_deref(),
                },
                &serde_json::json!({
                    "question": question.question,
                    "context": question.context,
                    "report": report,
                }),
            )
            .await?;
        Ok(report)
    }

    #[allow(clippy::too_many_arguments)]
    async fn certify(
        &self,
        question: &Question,
        question_sha256: &str,
        answered: &[&MemberReport],
        clusters: &[Vec<usize>],
        score: f64,
        entropy: f64,
        status: agreement::Status,
        answer: &str,
    ) -> Result<String, ConsensusError> {
        let key = self
            .signing_keys
            .load_or_create(CERTIFICATE_KEY_PURPOSE)
            .await
            .map_err(|e| ConsensusError::SigningKey(e.to_string()))?;
        let now = self.clock.now();
        let validity = i64::from(self.config.certificate_validity_days) * 86_400;
        let predicate = ConsensusPredicate {
            question_sha256: question_sha256.to_string(),
            panel: question
                .seats
                .iter()
                .map(|s| PanelMember {
                    provider: s.provider.clone(),
                    model: s.model.clone(),
                })
                .collect(),
            answers: answered
                .iter()
                .map(|m| AnswerDigest {
                    member: m.member,
                    sha256: sha256_hex(m.answer.as_deref().unwrap_or_default()),
                })
                .collect(),
            clusters: clusters.to_vec(),
            agreement: score,
            semantic_entropy: entropy,
            threshold: question.threshold,
            status: status.as_str().into(),
            method_version: METHOD_VERSION.into(),
            issued_at: now.to_rfc3339(),
            expires_at: now.plus_seconds(validity).to_rfc3339(),
        };
        Ok(certificate::sign(&key, answer, &predicate)?)
    }

    async fn chair(
        &self,
        user: &UserId,
        chair: &crate::config::ModelChoice,
        question_text: &str,
        agreeing: &[&str],
        question: &Question,
    ) -> Result<(String, ServedBy, u64, u64, u64), String> {
        let provider = chair
            .provider
            .parse::<ProviderKind>()
            .map_err(|e| e.to_string())?;
        let mut text = format!("Question: {question_text}\n");
        for (i, answer) in agreeing.iter().enumerate() {
            text.push_str(&format!("\nAnswer {}:\n{answer}\n", i + 1));
        }
        let mut request = CompletionRequest::new(vec![Message::user(text)], question.max_tokens);
        request.system = Some(CHAIR_PROMPT.into());
        request.temperature = Some(0.0);
        let route = Route {
            feature: panel::PANEL_FEATURE,
            user,
            provider: Some(provider),
            model: Some(&chair.model),
            client_model: None,
            prefer_client_model: false,
        };
        match tokio::time::timeout(
            question.member_deadline,
            self.router.complete(route, &request),
        )
        .await
        {
            Err(_) => Err("it did not answer in time".into()),
            Ok(Err(error)) => Err(error.to_string()),
            Ok(Ok(routed)) if routed.text.trim().is_empty() => Err("it wrote nothing".into()),
            Ok(Ok(routed)) => Ok((
                routed.text,
                routed.served_by,
                routed.usage.input,
                routed.usage.output,
                routed.cost_micro_usd,
            )),
        }
    }
}

impl RunUsage {
    fn add(&mut self, tokens_in: u64, tokens_out: u64, cost_micro_usd: u64) {
        self.tokens_in = self.tokens_in.saturating_add(tokens_in);
        self.tokens_out = self.tokens_out.saturating_add(tokens_out);
        self.cost_micro_usd = self.cost_micro_usd.saturating_add(cost_micro_usd);
        self.cost_usd = self.cost_micro_usd as f64 / 1_000_000.0;
    }
}

async fn judge_pair(
    judge: &Judge<'_>,
    question: &str,
    pair: (usize, usize),
    a: &str,
    b: &str,
) -> ((usize, usize), super::judge::Verdict) {
    (pair, judge.judge(question, a, b).await)
}

/// The equivalence of every pair of answers: the fast path first, the judge (all unsure
/// pairs at once) for the rest, the fallback where the judge gave no verdict.
async fn compare(
    question: &str,
    texts: &[&str],
    judge: &Judge<'_>,
    usage: &mut RunUsage,
    notes: &mut Vec<String>,
) -> (Vec<Vec<bool>>, MethodReport) {
    let n = texts.len();
    let anonymised: Vec<String> = texts.iter().map(|t| agreement::anonymise(t)).collect();
    let mut equivalent = vec![vec![false; n]; n];
    let mut unsure = Vec::new();
    let mut method = MethodReport {
        version: METHOD_VERSION.into(),
        fast_path_pairs: 0,
        judged_pairs: 0,
        fallback_pairs: 0,
        judge_failed: false,
        judge: None,
    };
    for (i, row) in equivalent.iter_mut().enumerate() {
        row[i] = true;
    }
    for i in 0..n {
        for j in i + 1..n {
            match agreement::fast_equivalence(&anonymised[i], &anonymised[j]) {
                Equivalence::Same => {
                    equivalent[i][j] = true;
                    equivalent[j][i] = true;
                    method.fast_path_pairs += 1;
                }
                Equivalence::Different => method.fast_path_pairs += 1,
                Equivalence::Unsure => unsure.push((i, j)),
            }
        }
    }
    let mut pending = Vec::with_capacity(unsure.len());
    for &(i, j) in &unsure {
        pending.push(judge_pair(
            judge,
            question,
            (i, j),
            &anonymised[i],
            &anonymised[j],
        ));
    }
    let verdicts: Vec<_> = futures::stream::iter(pending)
        .buffer_unordered(JUDGE_CONCURRENCY)
        .collect()
        .await;
    let mut first_failure = None;
    for ((i, j), verdict) in verdicts {
        usage.add(
            verdict.usage.input,
            verdict.usage.output,
            verdict.cost_micro_usd,
        );
        if method.judge.is_none() {
            method.judge = verdict.served_by.clone();
        }
        let same = match verdict.equivalent {
            Ok(same) => {
                method.judged_pairs += 1;
                same
            }
            Err(why) => {
                method.fallback_pairs += 1;
                first_failure.get_or_insert(why);
                agreement::fallback_equivalent(&anonymised[i], &anonymised[j])
            }
        };
        equivalent[i][j] = same;
        equivalent[j][i] = same;
    }
    if let Some(why) = first_failure {
        method.judge_failed = true;
        notes.push(format!(
            "The judge gave no verdict on {} of {} pairs ({why}); those were decided by word overlap alone, which can miss a paraphrase.",
            method.fallback_pairs,
            unsure.len()
        ));
    }
    (equivalent, method)
}
