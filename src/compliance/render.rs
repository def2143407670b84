//! A report as Markdown: a heading with the coverage and period, a summary table of the
//! controls and their status, each section with its finding and evidence, and for the
//! audit trail the entries, for an auditor to read or a ticket to hold.
//!
//! Only formats what the report holds; it reads nothing else.

use std::fmt::Write;

use super::controls::dollars;
use super::{Report, ReportKind, Status};

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn badge(status: Status) -> &'static str {
    match status {
        Status::Met => "✅ met",
        Status::Partial => "⚠️ partial",
        Status::Gap => "❌ gap",
        Status::Informational => "ℹ️ informational",
    }
}

pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", report.title);
    let _ = writeln!(out, "- Framework: {}", report.framework);
    let _ = writeln!(out, "- Covers: {}", cell(&report.coverage.tenant));
    let _ = writeln!(
        out,
        "- Period: {} to {} (end exclusive)",
        report.period.from, report.period.to
    );
    let _ = writeln!(out, "- Generated: {}", report.generated_at);
    let summary: Vec<String> = report
        .summary
        .iter()
        .map(|(status, n)| format!("{n} {status}"))
        .collect();
    let _ = writeln!(out, "- Summary: {}\n", summary.join(", "));

    if report.kind == ReportKind::Usage {
        usage_statement(&mut out, report);
    } else {
        let _ = writeln!(out, "| Control | Title | Status |\n|---|---|---|");
        for s in &report.sections {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                cell(&s.control),
                cell(&s.title),
                badge(s.status)
            );
        }
        out.push('\n');
    }

    for s in &report.sections {
        let _ = writeln!(out, "## {} — {}\n", s.control, s.title);
        let _ = writeln!(out, "**Status:** {}\n", badge(s.status));
        let _ = writeln!(out, "{}\n", s.finding);
        if !s.evidence.is_empty() {
            let _ = writeln!(out, "| Evidence | Value |\n|---|---|");
            for fact in &s.evidence {
                let _ = writeln!(out, "| {} | {} |", cell(&fact.label), cell(&fact.value));
            }
            out.push('\n');
        }
    }

    if report.kind == ReportKind::AuditTrail {
        let _ = writeln!(out, "## Entries\n");
        if report.entries_truncated {
            let _ = writeln!(
                out,
                "The period holds {} entries; the newest {} are listed. Narrow the period to see the rest.\n",
                report.evidence.audit.in_period,
                report.entries.len()
            );
        }
        let _ = writeln!(
            out,
            "| Seq | At | Actor | Action | Target | Details |\n|---|---|---|---|---|---|"
        );
        for e in &report.entries {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                e.seq,
                e.at,
                cell(&e.actor),
                cell(&e.action),
                cell(e.target.as_deref().unwrap_or("")),
                cell(&e.details.to_string())
            );
        }
    }
    out
}

/// The invoice-ready part of a usage report: one table per tenant, line items by tool.
fn usage_statement(out: &mut String, report: &Report) {
    let mut grand = 0u64;
    for t in &report.evidence.usage {
        let who = t.email.as_deref().unwrap_or(&t.user_id);
        let _ = writeln!(
            out,
            "### Statement for {} (plan {})\n",
            cell(who),
            cell(&t.plan)
        );
        let _ = writeln!(
            out,
            "| Item | Feature | Calls | Succeeded | Units | Tokens in | Tokens out | Amount |\n|---|---|---:|---:|---:|---:|---:|---:|"
        );
        for l in &t.lines {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                cell(&l.tool),
                cell(l.feature.as_deref().unwrap_or("")),
                l.calls,
                l.succeeded,
                l.feature_units,
                l.tokens_in,
                l.tokens_out,
                dollars(l.cost_micro_usd)
            );
        }
        let _ = writeln!(
            out,
            "| **Total** | | {} | | | {} | {} | **{}** |\n",
            t.calls,
            t.tokens_in,
            t.tokens_out,
            dollars(t.cost_micro_usd)
        );
        grand = grand.saturating_add(t.cost_micro_usd);
    }
    if report.evidence.usage.len() > 1 {
        let _ = writeln!(out, "**All tenants: {}**\n", dollars(grand));
    }
    let _ = writeln!(
        out,
        "Amounts are the provider costs metered for each call (token counts at the prices of `llm.prices`).\n"
    );
}
