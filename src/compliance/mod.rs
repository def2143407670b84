//! Compliance reports: `audit_trail`, `hipaa`, `soc2`, `fda_lifecycle` and `usage` over a
//! period, for one tenant or (admins) all, as JSON and Markdown. Each section names a real
//! control (45 CFR 164.312, the AICPA Trust Services Criteria, FDA's guidance on
//! AI-enabled device software functions and on predetermined change control plans) and
//! cites evidence read from the store at the time of the report.
//!
//! `evidence` reads the facts, `controls` maps them to sections and a status, `render`
//! writes Markdown, `tools` is the MCP surface. A report states what the evidence shows,
//! including gaps; it must not claim a control is met without evidence, and must not cite
//! secrets, trace text, or another tenant's identity to a tenant.

mod controls;
pub mod evidence;
mod render;
mod tools;

use schemars::JsonSchema;
use serde::Serialize;

pub use evidence::{Evidence, EvidenceError};
pub use tools::register;

use crate::app::App;
use crate::audit::{AuditFilter, StoredAuditEntry};
use crate::identity::{Timestamp, UserId};

/// The kinds of report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    AuditTrail,
    Hipaa,
    Soc2,
    FdaLifecycle,
    Usage,
}

impl ReportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::AuditTrail => "audit_trail",
            ReportKind::Hipaa => "hipaa",
            ReportKind::Soc2 => "soc2",
            ReportKind::FdaLifecycle => "fda_lifecycle",
            ReportKind::Usage => "usage",
        }
    }
}

/// `[from, to)`, whole seconds, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: Timestamp,
    pub to: Timestamp,
}

/// A period as a report shows it: RFC 3339, `to` exclusive.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PeriodView {
    pub from: String,
    pub to: String,
}

impl Period {
    pub fn view(&self) -> PeriodView {
        PeriodView {
            from: self.from.to_rfc3339(),
            to: self.to.to_rfc3339(),
        }
    }
}

/// What a report covers: one tenant (their id and email) or every tenant.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Coverage {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// The tenant's email, or "all tenants".
    pub tenant: String,
}

/// Whether the evidence shows a control in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The evidence shows the control operating.
    Met,
    /// In place with a reservation the section names.
    Partial,
    /// The evidence shows it missing or failing; the section says what to do.
    Gap,
    /// Facts to describe, not a control to pass (FDA descriptions, invoices).
    Informational,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Met => "met",
            Status::Partial => "partial",
            Status::Gap => "gap",
            Status::Informational => "informational",
        }
    }
}

/// One fact cited in a section.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Fact {
    pub label: String,
    pub value: String,
}

/// One control or section of a report.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Section {
    /// The control id (`164.312(b)`, `CC6.1`, `PCCP: Modification protocol`…).
    pub control: String,
    pub title: String,
    pub status: Status,
    pub finding: String,
    pub evidence: Vec<Fact>,
}

/// A generated report: the sections, the evidence they cite, and for `audit_trail` the
/// entries themselves.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Report {
    pub kind: ReportKind,
    pub title: String,
    /// The framework and edition the control ids come from.
    pub framework: String,
    pub coverage: Coverage,
    pub period: PeriodView,
    pub generated_at: String,
    pub sections: Vec<Section>,
    /// Sections by status.
    pub summary: std::collections::BTreeMap<String, usize>,
    pub evidence: Evidence,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entries: Vec<StoredAuditEntry>,
    /// True when the period held more audit entries than the report lists.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub entries_truncated: bool,
}

/// The most audit entries an `audit_trail` report lists.
pub const MAX_TRAIL_ENTRIES: u32 = 1000;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
}

/// Builds the report of `kind` for `tenant` (`None`: every tenant) over `period`.
pub async fn generate(
    app: &App,
    kind: ReportKind,
    tenant: Option<(&UserId, &str)>,
    period: Period,
) -> Result<Report, ReportError> {
    let evidence = evidence::gather(app, tenant.map(|(id, _)| id), &period).await?;
    let coverage = Coverage {
        tenant_id: tenant.map(|(id, _)| id.to_string()),
        tenant: tenant.map_or_else(|| "all tenants".to_string(), |(_, email)| email.to_string()),
    };
    let packs: Vec<&crate::evaluation::packs::Pack> = app.evaluation.pipeline.packs().collect();
    let (framework, title, sections) = controls::sections(kind, &evidence, &packs, &app.config);
    let (entries, entries_truncated) = if kind == ReportKind::AuditTrail {
        trail(
            app,
            tenant.map(|(id, _)| id),
            &period,
            evidence.audit.in_period,
        )
        .await?
    } else {
        (Vec::new(), false)
    };
    let mut summary = std::collections::BTreeMap::new();
    for section in &sections {
        *summary
            .entry(section.status.as_str().to_string())
            .or_insert(0) += 1;
    }
    Ok(Report {
        kind,
        title: title.to_string(),
        framework: framework.to_string(),
        coverage,
        period: period.view(),
        generated_at: app.clock.now().to_rfc3339(),
        sections,
        summary,
        evidence,
        entries,
        entries_truncated,
    })
}

impl Report {
    pub fn to_markdown(&self) -> String {
        render::markdown(self)
    }
}

async fn trail(
    app: &App,
    tenant: Option<&UserId>,
    period: &Period,
    in_period: u64,
) -> Result<(Vec<StoredAuditEntry>, bool), ReportError> {
    let at = |t: Timestamp| {
        std::time::UNIX_EPOCH
            + std::time::Duration::from_secs(u64::try_from(t.unix_seconds()).unwrap_or(0))
    };
    let filter = AuditFilter {
        actor: tenant.map(ToString::to_string),
        since: Some(at(period.from)),
        until: Some(at(period.to)),
        limit: Some(MAX_TRAIL_ENTRIES),
        ..AuditFilter::default()
    };
    let mut entries = app
        .audit
        .query(filter)
        .await
        .map_err(|e| EvidenceError::Audit(e.to_string()))?;
    entries.reverse();
    let truncated = in_period > entries.len() as u64;
    Ok((entries, truncated))
}
