//! The values a caller hands the meter around one tool call: what is about to
//! run ([`CallRequest`]), what it consumed ([`CallUsage`]) and how it ended
//! ([`Outcome`]).
//!
//! Plain data: no counting, no storage. Nothing here may carry a tool's
//! arguments or results, which can be health data.

use std::time::Duration;

use crate::identity::{AuthMethod, Plan, Principal, UserId};

use super::errors::LimitCode;

/// A tool call about to run, as the meter needs to see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRequest {
    pub user_id: UserId,
    /// The public id of the API key the call came with; `None` for a
    /// session. Each key is rate-limited on its own.
    pub api_key_id: Option<String>,
    pub plan: Plan,
    /// Admins skip every limit (but not a switched-off feature) and are
    /// still metered.
    pub bypass_limits: bool,
    pub tool: String,
    /// The metered feature the tool belongs to (`mcq`, `flashcard`,
    /// `pdf_upload`, `image`, or any other name, which has no cap).
    pub feature: Option<String>,
    /// Units of the feature the call asks for (e.g. 5 MCQs), reserved until
    /// it settles. A capped feature needs room for at least one unit even
    /// when this is 0.
    pub feature_units: u64,
    /// Tokens the call expects to use, reserved against the daily budget
    /// until it settles. 0 means the call is not held to the token limit.
    pub token_estimate: u64,
}

impl CallRequest {
    /// A call of `tool` by `principal`: attributed to its API key (each rate-limited on its
    /// own), under its plan, and free of limits when it acts as an admin.
    pub fn by(
        principal: &Principal,
        tool: &str,
        feature: Option<&str>,
        feature_units: u64,
        token_estimate: u64,
    ) -> Self {
        Self {
            user_id: principal.user_id.clone(),
            api_key_id: match &principal.via {
                AuthMethod::ApiKey { key_id } => Some(key_id.clone()),
                _ => None,
            },
            plan: principal.plan.clone(),
            bypass_limits: principal.acts_as_admin(),
            tool: tool.to_string(),
            feature: feature.map(str::to_string),
            feature_units,
            token_estimate,
        }
    }
}

/// What an admitted call really consumed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallUsage {
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost_micro_usd: u64,
    /// Feature units really produced; `None` keeps the units reserved at
    /// admission.
    pub feature_units: Option<u64>,
    pub latency: Duration,
    pub outcome: Outcome,
}

impl CallUsage {
    /// A call that consumed nothing countable and ended as `outcome`.
    pub fn nothing(latency: Duration, outcome: Outcome) -> CallUsage {
        CallUsage {
            tokens_in: 0,
            tokens_out: 0,
            cost_micro_usd: 0,
            feature_units: None,
            latency,
            outcome,
        }
    }
}

/// How a call ended, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// The tool ran and answered with an error code (`INVALID_ARGUMENTS`…).
    ToolError(String),
    /// The client cancelled the call, or its task ended without settling.
    Cancelled,
    /// A limit refused the call before it ran.
    Refused(LimitCode),
}

/// A recorded error code is at most this long.
const CODE_MAX_CHARS: usize = 64;

impl Outcome {
    /// `ok`, `cancelled`, `tool_error:<CODE>` or `refused:<CODE>`. A tool's
    /// code is kept only if it looks like one (1–64 of `A-Z`, `0-9`, `_`);
    /// anything else is written as `OTHER`, so free text (which could be
    /// health data) never reaches the usage rows.
    pub fn as_text(&self) -> String {
        match self {
            Outcome::Ok => "ok".to_owned(),
            Outcome::Cancelled => "cancelled".to_owned(),
            Outcome::Refused(code) => format!("refused:{code}"),
            Outcome::ToolError(code) => {
                let looks_like_a_code = (1..=CODE_MAX_CHARS).contains(&code.len())
                    && code
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
                let code = if looks_like_a_code { code } else { "OTHER" };
                format!("tool_error:{code}")
            }
        }
    }

    /// Whether the call was let through (and so counts against the day).
    pub fn was_admitted(&self) -> bool {
        !matches!(self, Outcome::Refused(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_written_as_short_codes() {
        assert_eq!(Outcome::Ok.as_text(), "ok");
        assert_eq!(Outcome::Cancelled.as_text(), "cancelled");
        assert_eq!(
            Outcome::Refused(LimitCode::RateLimited).as_text(),
            "refused:RATE_LIMITED"
        );
        assert_eq!(
            Outcome::ToolError("INVALID_ARGUMENTS".to_owned()).as_text(),
            "tool_error:INVALID_ARGUMENTS"
        );
    }

    #[test]
    fn a_tool_error_code_cannot_smuggle_free_text_into_the_rows() {
        for text in [
            "patient has diabetes; see notes",
            "invalid_arguments",
            "",
            &"X".repeat(65),
        ] {
            assert_eq!(
                Outcome::ToolError(text.to_owned()).as_text(),
                "tool_error:OTHER",
                "{text}"
            );
        }
        let longest = "X".repeat(64);
        assert_eq!(
            Outcome::ToolError(longest.clone()).as_text(),
            format!("tool_error:{longest}")
        );
    }
}
