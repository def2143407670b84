//! The door every tool call passes: the caller's plan is checked and the call metered
//! (through `crate::metering`) before the handler runs, and what it consumed is charged
//! after. Refusals have one shape, `{code, message, details, action}`, in `structuredContent`.
//!
//! It only translates between the MCP surface and the metering service; limits and counting
//! live there.

use std::time::Duration;

use rmcp::model::JsonObject;

use super::registry::ToolAccess;
use super::tool::{ReportedUsage, ToolError, codes};
use crate::app::App;
use crate::identity::Principal;
use crate::metering::{self, AdmitError, CallRequest, CallUsage, LimitExceeded, Outcome};

/// A call let through, to be settled when it ends. Dropped unsettled (the task died), the
/// meter records it as cancelled.
pub struct Admission(metering::Admission);

/// The units a call asks for: its `units_argument` when that is a positive whole number,
/// else one. An absurd count is left for the tool to refuse; reserving it would only refuse
/// the call with a quota message instead of the clearer argument error.
fn requested_units(access: &ToolAccess, arguments: Option<&JsonObject>) -> u64 {
    access
        .units_argument
        .as_deref()
        .and_then(|name| arguments?.get(name)?.as_u64())
        .filter(|n| (1..=1_000).contains(n))
        .unwrap_or(0)
}

fn call_request(
    principal: &Principal,
    tool: &str,
    access: &ToolAccess,
    arguments: Option<&JsonObject>,
) -> CallRequest {
    CallRequest::by(
        principal,
        tool,
        access.feature.as_deref(),
        requested_units(access, arguments),
        access.token_estimate,
    )
}

pub async fn admit(
    app: &App,
    principal: &Principal,
    tool: &str,
    access: &ToolAccess,
    arguments: Option<&JsonObject>,
) -> Result<Admission, ToolError> {
    let call = call_request(principal, tool, access, arguments);
    match app.meter.admit(&call).await {
        Ok(admission) => Ok(Admission(admission)),
        Err(AdmitError::Refused(refusal)) => {
            app.meter.record_refusal(&call, &refusal);
            Err(refusal_error(&refusal))
        }
        Err(AdmitError::Unavailable(error)) => {
            tracing::warn!(%error, "usage limits could not be checked; refusing the call");
            Err(ToolError::new(
                codes::UNAVAILABLE,
                "usage limits cannot be checked right now; try again shortly",
            ))
        }
    }
}

pub fn settle<T>(
    app: &App,
    admission: Admission,
    usage: ReportedUsage,
    latency: Duration,
    outcome: &Result<T, ToolError>,
) {
    let outcome = match outcome {
        Ok(_) => Outcome::Ok,
        Err(error) if error.code == codes::CANCELLED => Outcome::Cancelled,
        Err(error) => Outcome::ToolError(error.code.to_string()),
    };
    app.meter.settle(
        admission.0,
        CallUsage {
            tokens_in: usage.tokens_in,
            tokens_out: usage.tokens_out,
            cost_micro_usd: usage.cost_micro_usd,
            feature_units: usage.feature_units,
            latency,
            outcome,
        },
    );
}

/// The refusal as a tool error: the same object the metering service defines.
/// The refusal of a call during maintenance: `{code: "MAINTENANCE", message, details: {mode, eta}}`.
pub fn maintenance_error(refusal: &crate::maintenance::MaintenanceRefusal) -> ToolError {
    ToolError::new(codes::MAINTENANCE, refusal.message.clone())
        .with_details(serde_json::json!({ "mode": refusal.mode, "eta": refusal.eta }))
        .with_action("retry_later")
}

fn refusal_error(refusal: &LimitExceeded) -> ToolError {
    let body = refusal.to_json();
    let action = match body.get("action").and_then(|a| a.as_str()) {
        Some("contact_admin") => "contact_admin",
        Some("retry") => "retry",
        _ => "upgrade",
    };
    let mut error =
        ToolError::new(refusal.code.as_str(), refusal.message.clone()).with_action(action);
    if let Some(details) = body.get("details") {
        error = error.with_details(details.clone());
    }
    error
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Timestamp;
    use crate::metering::LimitCode;

    #[test]
    fn a_refusal_keeps_the_metering_services_exact_body() {
        let refusal = LimitExceeded {
            code: LimitCode::RequestLimitExceeded,
            message: "The free plan allows 20 requests per day.".into(),
            limit: 20,
            used: 20,
            reset_at: Timestamp::parse_rfc3339("2026-11-23T00:00:00Z"),
            retry_after_seconds: None,
            feature: None,
        };
        assert_eq!(refusal_error(&refusal).to_json(), refusal.to_json());
    }
}
