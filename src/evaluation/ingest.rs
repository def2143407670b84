//! Taking in a batch of traces: every one checked before any is kept, tiers 1–2 run off
//! the async threads, PHI replaced before sealing unless the tenant opted in, and the
//! traces stored with their evaluations in one transaction. Then, for those whose pack
//! asks, the judge's outcome folded into the evaluation.
//!
//! It must not log trace text, and sends a judge only what would be stored.

use std::time::Instant;

use serde_json::json;

use super::judge::{self, JudgeOutcome};
use super::packs::Severity;
use super::phi::{PhiSpan, RedactionMode, redact};
use super::pipeline::{Finding, PhiByField, verdict};
use super::store::{Evaluation, EvaluationStoreError, NewTrace, TraceBody};
use super::trace::{MAX_BATCH, TraceInput, TraceMessage, TraceSource, TraceTexts};
use crate::identity::UserId;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("trace {index}: {message}")]
    Invalid { index: usize, message: String },
    #[error("{0}")]
    Batch(String),
    #[error(transparent)]
    Store(#[from] EvaluationStoreError),
    #[error("the evaluation stopped before it finished")]
    Stopped,
}

/// One stored trace, its evaluation, and what the judge needs if it is to look.
#[derive(Debug, Clone)]
pub struct Ingested {
    pub evaluation: Evaluation,
    pub phi_found: usize,
    /// Why the judge should look (`policy`, `uncertain`, `sample`); `None`: it need not.
    pub judge_reason: Option<&'static str>,
    /// The texts as stored (redacted unless the tenant keeps PHI): what the judge reads.
    pub texts: TraceTexts,
    /// Microseconds tiers 1–2 took.
    pub screening_micros: u64,
}

impl super::Evaluation {
    /// Checks, screens and stores `inputs` for `owner`, all or none.
    pub async fn ingest(
        &self,
        owner: &UserId,
        inputs: Vec<TraceInput>,
        source: TraceSource,
    ) -> Result<Vec<Ingested>, IngestError> {
        // An exporter's batch is larger than a tool call's (512 spans by default).
        let most = match source {
            TraceSource::Mcp => MAX_BATCH,
            TraceSource::Otlp => super::otlp::MAX_SPANS,
        };
        if inputs.is_empty() || inputs.len() > most {
            return Err(IngestError::Batch(format!(
                "send 1–{most} traces at a time"
            )));
        }
        for (index, input) in inputs.iter().enumerate() {
            input
                .validate()
                .map_err(|message| IngestError::Invalid { index, message })?;
            if self.pipeline.pack(&input.domain).is_none() {
                let known: Vec<&str> = self.pipeline.packs().map(|p| p.id.as_str()).collect();
                return Err(IngestError::Invalid {
                    index,
                    message: format!(
                        "unknown domain {:?}; the rule packs are: {}",
                        input.domain,
                        known.join(", ")
                    ),
                });
            }
        }
        let (settings, _) = self.traces.settings(owner).await?;
        let keep_phi = settings.keep_phi;
        let pipeline = self.pipeline.clone();
        let now = self.traces.now();
        // Regexes over up to 100 × 512 KB: CPU work, kept off the async threads.
        let screened = tokio::task::spawn_blocking(move || {
            inputs
                .into_iter()
                .map(|input| screen_one(&pipeline, input, source, keep_phi, &now))
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|_| IngestError::Stopped)?;
        let (rows, ingested): (Vec<_>, Vec<_>) = screened.into_iter().unzip();
        self.traces.save(owner, rows).await?;
        Ok(ingested)
    }

    /// Folds the judge's outcome into `evaluation` and stores it.
    pub async fn finish_judging(
        &self,
        owner: &UserId,
        mut evaluation: Evaluation,
        outcome: JudgeOutcome,
    ) -> Result<Evaluation, IngestError> {
        let tier1_verdict = verdict(&evaluation.findings);
        if let Some(pack) = self.pipeline.pack(&evaluation.domain) {
            judge::fold(pack, &outcome, &mut evaluation.findings);
        }
        sort(&mut evaluation.findings);
        if outcome.status == "judged" {
            evaluation.status = "complete".into();
            evaluation.verdict = verdict(&evaluation.findings).into();
        } else {
            // A judge that could not answer never turns into a pass.
            evaluation.status = "judge_failed".into();
            evaluation.verdict = if tier1_verdict == "fail" {
                "fail".into()
            } else {
                "undetermined".into()
            };
        }
        evaluation.severity = highest(&evaluation.findings);
        if let Some(tiers) = evaluation.tiers.as_object_mut() {
            tiers.insert("judge".into(), json!(outcome.status));
        }
        evaluation.judge = serde_json::to_value(&outcome).ok();
        evaluation.completed_at = Some(self.traces.now());
        self.traces.finish(owner, evaluation.clone()).await?;
        Ok(evaluation)
    }
}

fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.tier.cmp(&b.tier))
            .then(a.rule_id.cmp(&b.rule_id))
    });
}

fn highest(findings: &[Finding]) -> Option<String> {
    findings
        .iter()
        .map(|f| f.severity)
        .max()
        .map(|s: Severity| s.as_str().to_string())
}

fn screen_one(
    pipeline: &super::pipeline::Pipeline,
    input: TraceInput,
    source: TraceSource,
    keep_phi: bool,
    now: &str,
) -> ((NewTrace, Evaluation), Ingested) {
    let started = Instant::now();
    let trace_id = uuid::Uuid::new_v4().to_string();
    let texts = input.texts();
    // The domain was checked before screening began.
    let screening = pipeline.pack(&input.domain).map(|pack| {
        (
            pack.version.clone(),
            pipeline.screen(pack, &texts, &trace_id),
        )
    });
    let (pack_version, findings, phi, judge_reason, classifiers) = match screening {
        Some((version, s)) => (version, s.findings, s.phi, s.judge_reason, s.classifiers),
        None => (
            String::new(),
            Vec::new(),
            PhiByField::default(),
            None,
            Vec::new(),
        ),
    };
    let screening_micros = started.elapsed().as_micros() as u64;
    let phi_counts = phi.counts();
    let phi_found: usize = phi_counts.values().sum();
    let redacting = !keep_phi && phi_found > 0;
    let detector = pipeline.phi();
    // The joined texts were searched by the screening: their spans are reused. Single
    // messages and the system field as given are searched on their own.
    let scrub = |text: &str| {
        if redacting {
            redact(text, &detector.detect(text), RedactionMode::Replace, b"")
        } else {
            text.to_string()
        }
    };
    let stored_texts = if redacting {
        let replace =
            |text: &str, spans: &[PhiSpan]| redact(text, spans, RedactionMode::Replace, b"");
        TraceTexts {
            input: replace(&texts.input, &phi.input),
            system: replace(&texts.system, &phi.system),
            output: replace(&texts.output, &phi.output),
        }
    } else {
        texts
    };
    let body = TraceBody {
        system: input.system.as_deref().map(scrub),
        input: input
            .input
            .iter()
            .map(|m| TraceMessage {
                role: m.role,
                content: scrub(&m.content),
            })
            .collect(),
        output: stored_texts.output.clone(),
        metadata: input.metadata.clone(),
    };
    let evaluation = Evaluation {
        id: uuid::Uuid::new_v4().to_string(),
        trace_id: trace_id.clone(),
        domain: input.domain.clone(),
        pack_version,
        status: if judge_reason.is_some() {
            "awaiting_judge".into()
        } else {
            "complete".into()
        },
        verdict: verdict(&findings).into(),
        severity: highest(&findings),
        findings,
        phi: phi_counts,
        tiers: json!({
            "rules": true,
            "phi": true,
            "classifiers": classifiers,
            "judge": judge_reason.map_or("not_needed", |_| "pending"),
            "screening_micros": screening_micros,
        }),
        judge: None,
        created_at: now.to_string(),
        completed_at: judge_reason.is_none().then(|| now.to_string()),
    };
    let trace = NewTrace {
        id: trace_id,
        domain: input.domain,
        model: input.model,
        provider: input.provider,
        source,
        external_id: input.external_id,
        input_tokens: input.input_tokens,
        output_tokens: input.output_tokens,
        latency_ms: input.latency_ms,
        started_at: input.started_at,
        ended_at: input.ended_at,
        phi_found,
        phi_redacted: redacting,
        body,
    };
    let ingested = Ingested {
        evaluation: evaluation.clone(),
        phi_found,
        judge_reason,
        texts: stored_texts,
        screening_micros,
    };
    ((trace, evaluation), ingested)
}
