//! The MCP surface of compliance reports: the tool `compliance_report`. A tenant reports on
//! their own account; an admin may name a tenant or ask for all. Thin: the work is in
//! `evidence`, `controls` and `render`.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::{Period, Report, ReportError, ReportKind};
use crate::accounts::keys::resolve_user;
use crate::identity::Timestamp;
use crate::mcp::tool::codes;
use crate::mcp::{RegistryBuilder, ToolContext, ToolError, ToolOutput};

/// The default period: the 30 days before now.
const DEFAULT_DAYS: i64 = 30;

pub fn register(builder: &mut RegistryBuilder<'_>) {
    builder.tool("compliance_report", compliance_report);
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComplianceReportArguments {
    /// `audit_trail`, `hipaa`, `soc2`, `fda_lifecycle` or `usage`.
    pub kind: ReportKind,
    /// Start of the period, inclusive: RFC 3339 or a date (YYYY-MM-DD, midnight UTC).
    /// Default: 30 days before `to`.
    #[serde(default)]
    pub from: Option<String>,
    /// End of the period, exclusive: RFC 3339 or a date. Default: now (this second included).
    #[serde(default)]
    pub to: Option<String>,
    /// Admins only: a tenant's email or id, or "all". Default: your own account.
    #[serde(default)]
    pub tenant: Option<String>,
}

impl ToolOutput for Report {
    fn to_text(&self) -> String {
        self.to_markdown()
    }
}

impl From<ReportError> for ToolError {
    fn from(error: ReportError) -> Self {
        tracing::error!(%error, "a compliance report could not be made");
        ToolError::new(
            codes::UNAVAILABLE,
            "the evidence for the report could not be read",
        )
    }
}

/// RFC 3339, or a bare date as midnight UTC.
fn instant(name: &str, text: &str) -> Result<Timestamp, ToolError> {
    let text = text.trim();
    let parsed = if text.len() == 10 {
        Timestamp::parse_rfc3339(&format!("{text}T00:00:00Z"))
    } else {
        Timestamp::parse_rfc3339(text)
    };
    parsed.ok_or_else(|| {
        ToolError::invalid_arguments(format!(
            "`{name}` must be an RFC 3339 time or a date (YYYY-MM-DD)"
        ))
        .with_details(json!({ "field": name }))
    })
}

fn period(now: Timestamp, from: Option<&str>, to: Option<&str>) -> Result<Period, ToolError> {
    let to = match to {
        Some(text) => instant("to", text)?,
        // The period ends after the current second, so what just happened is in it.
        None => now.plus_seconds(1),
    };
    let from = match from {
        Some(text) => instant("from", text)?,
        None => to.plus_seconds(-DEFAULT_DAYS * 86_400),
    };
    if from >= to {
        return Err(ToolError::invalid_arguments("`from` must be before `to`"));
    }
    Ok(Period { from, to })
}

async fn compliance_report(
    ctx: ToolContext,
    args: ComplianceReportArguments,
) -> Result<Report, ToolError> {
    let app = &ctx.app;
    let period = period(app.clock.now(), args.from.as_deref(), args.to.as_deref())?;
    let own = ctx.principal.user_id.clone();
    let named = args
        .tenant
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let tenant = match named {
        None => {
            let email = match app.users.get(&own).await {
                Ok(Some(user)) => user.email.to_string(),
                _ => own.to_string(),
            };
            Some((own, email))
        }
        Some(_) if !ctx.principal.acts_as_admin() => {
            return Err(ToolError::forbidden(
                "only an admin may report on another tenant or on all of them",
            ));
        }
        Some(all) if all.eq_ignore_ascii_case("all") => None,
        Some(who) => {
            let user = resolve_user(app, who).await.map_err(|_| {
                ToolError::new(codes::NOT_FOUND, format!("no tenant {who:?}"))
                    .with_details(json!({ "tenant": who }))
            })?;
            Some((user.id.clone(), user.email.to_string()))
        }
    };
    let report = super::generate(
        app,
        args.kind,
        tenant.as_ref().map(|(id, email)| (id, email.as_str())),
        period,
    )
    .await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_default_to_thirty_days_and_must_run_forwards() {
        let now = Timestamp::parse_rfc3339("2026-12-06T12:00:00Z").unwrap();
        let p = period(now, None, None).unwrap();
        assert_eq!(p.from.to_rfc3339(), "2026-11-06T12:00:01Z");
        let p = period(now, Some("2026-11-01"), Some("2026-12-01")).unwrap();
        assert_eq!(
            (p.from.to_rfc3339(), p.to.to_rfc3339()),
            (
                "2026-11-01T00:00:00Z".to_string(),
                "2026-12-01T00:00:00Z".to_string()
            )
        );
        assert!(period(now, Some("2026-12-01"), Some("2026-11-01")).is_err());
        assert!(period(now, Some("yesterday"), None).is_err());
        assert!(period(now, Some("2026-13-01"), None).is_err());
    }
}
