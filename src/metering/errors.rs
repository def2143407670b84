//! What metering can answer besides "yes": a [`LimitExceeded`] refusal (one
//! shape for every limit, with a message a model can relay to a person and
//! the machine-readable JSON clients see), and [`MeteringError`] when the
//! store cannot be reached.
//!
//! This file only describes refusals; it must not decide them.

use std::fmt;

use serde_json::{Value, json};

use crate::identity::Timestamp;
use crate::store::StoreError;

/// The machine-readable reason for a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitCode {
    RequestLimitExceeded,
    TokenLimitExceeded,
    McqLimitExceeded,
    FlashcardLimitExceeded,
    PdfUploadLimitExceeded,
    ImageLimitExceeded,
    RateLimited,
    FeatureDisabled,
}

impl LimitCode {
    pub fn as_str(self) -> &'static str {
        match self {
            LimitCode::RequestLimitExceeded => "REQUEST_LIMIT_EXCEEDED",
            LimitCode::TokenLimitExceeded => "TOKEN_LIMIT_EXCEEDED",
            LimitCode::McqLimitExceeded => "MCQ_LIMIT_EXCEEDED",
            LimitCode::FlashcardLimitExceeded => "FLASHCARD_LIMIT_EXCEEDED",
            LimitCode::PdfUploadLimitExceeded => "PDF_UPLOAD_LIMIT_EXCEEDED",
            LimitCode::ImageLimitExceeded => "IMAGE_LIMIT_EXCEEDED",
            LimitCode::RateLimited => "RATE_LIMITED",
            LimitCode::FeatureDisabled => "FEATURE_DISABLED",
        }
    }
}

impl fmt::Display for LimitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A call refused before it ran: which limit, how far it is used, and when
/// it frees up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct LimitExceeded {
    pub code: LimitCode,
    /// Plain English, fit to pass on to the person using the client.
    pub message: String,
    pub limit: u64,
    pub used: u64,
    /// When the limit frees up: the next UTC midnight for a daily limit,
    /// when a call may be retried for the rate limit; `None` for a
    /// switched-off feature, which nothing resets.
    pub reset_at: Option<Timestamp>,
    /// Only for [`LimitCode::RateLimited`].
    pub retry_after_seconds: Option<u64>,
    /// Only for [`LimitCode::FeatureDisabled`]: the feature switched off.
    pub feature: Option<String>,
}

/// What a daily limit refused, for its message.
pub(crate) struct DailyRefusal<'a> {
    pub code: LimitCode,
    pub plan: &'a str,
    /// Plural and singular of the counted things: ("requests", "request").
    pub units: (&'a str, &'a str),
    pub limit: u64,
    pub used: u64,
    /// More than one unit asked for by this call (tokens estimated, MCQs
    /// requested): said in the message, since a person may ask for fewer.
    pub asked: Option<u64>,
    pub reset_at: Timestamp,
}

impl LimitExceeded {
    pub(crate) fn daily(refusal: DailyRefusal<'_>) -> LimitExceeded {
        let DailyRefusal {
            code,
            plan,
            units: (plural, singular),
            limit,
            used,
            asked,
            reset_at,
        } = refusal;
        let message = if limit == 0 {
            format!("The {plan} plan does not include {plural}. A plan upgrade would allow them.")
        } else {
            let allows = counted(limit, plural, singular);
            let used_text = if used == 1 {
                "1 has been used today".to_owned()
            } else {
                format!("{used} have been used today")
            };
            let asked_text = match asked {
                Some(asked) if code == LimitCode::TokenLimitExceeded => {
                    format!(" and this request needs about {asked} more")
                }
                Some(asked) => format!(" and this request asks for {asked} more"),
                None => String::new(),
            };
            format!(
                "The {plan} plan allows {allows} per day; {used_text}{asked_text}. The limit resets at {reset_at}."
            )
        };
        LimitExceeded {
            code,
            message,
            limit,
            used,
            reset_at: Some(reset_at),
            retry_after_seconds: None,
            feature: None,
        }
    }

    pub(crate) fn rate(
        plan: &str,
        per_minute: u32,
        in_window: u64,
        retry_after_seconds: u64,
        retry_at: Timestamp,
    ) -> LimitExceeded {
        let allows = counted(u64::from(per_minute), "requests", "request");
        let wait = counted(retry_after_seconds, "seconds", "second");
        LimitExceeded {
            code: LimitCode::RateLimited,
            message: format!(
                "The {plan} plan allows {allows} per minute. Please wait {wait} before trying again."
            ),
            limit: u64::from(per_minute),
            used: in_window,
            reset_at: Some(retry_at),
            retry_after_seconds: Some(retry_after_seconds),
            feature: None,
        }
    }

    pub(crate) fn feature_disabled(feature: &str) -> LimitExceeded {
        LimitExceeded {
            code: LimitCode::FeatureDisabled,
            message: format!(
                "The {feature} feature is switched off on this server. An administrator can switch it back on."
            ),
            limit: 0,
            used: 0,
            reset_at: None,
            retry_after_seconds: None,
            feature: Some(feature.to_owned()),
        }
    }

    /// The JSON clients see: `code`, `message`, `details` and the `action`
    /// that would help (`upgrade`, or `contact_admin` for a switched-off
    /// feature).
    pub fn to_json(&self) -> Value {
        if self.code == LimitCode::FeatureDisabled {
            return json!({
                "code": self.code.as_str(),
                "message": self.message,
                "details": { "feature": self.feature.as_deref().unwrap_or_default() },
                "action": "contact_admin",
            });
        }
        let mut details = json!({
            "limit": self.limit,
            "used": self.used,
            "reset_at": self.reset_at.map(Timestamp::to_rfc3339),
        });
        if let (Some(seconds), Some(details)) = (self.retry_after_seconds, details.as_object_mut())
        {
            details.insert("retry_after_seconds".to_owned(), json!(seconds));
        }
        json!({
            "code": self.code.as_str(),
            "message": self.message,
            "details": details,
            "action": "upgrade",
        })
    }
}

/// "1 request", "20 requests".
fn counted(n: u64, plural: &str, singular: &str) -> String {
    if n == 1 {
        format!("1 {singular}")
    } else {
        format!("{n} {plural}")
    }
}

/// The metering service could not read or write its tables.
#[derive(Debug, thiserror::Error)]
pub enum MeteringError {
    #[error("usage store: {0}")]
    Store(#[from] StoreError),
    /// Usage rows failed to save since the last flush (the store logged why).
    #[error("{rows} usage rows could not be saved")]
    RowsLost { rows: u64 },
}

/// Why [`super::Meter::admit`] did not let a call through.
#[derive(Debug, thiserror::Error)]
pub enum AdmitError {
    /// A limit (or a switched-off feature) refused the call: tell the client,
    /// and record it with [`super::Meter::record_refusal`].
    #[error(transparent)]
    Refused(LimitExceeded),
    /// The user's usage so far could not be read, so the limits cannot be
    /// checked; the call is refused rather than let through uncounted.
    #[error("usage limits cannot be checked right now: {0}")]
    Unavailable(#[from] MeteringError),
}

impl From<LimitExceeded> for AdmitError {
    fn from(refusal: LimitExceeded) -> Self {
        AdmitError::Refused(refusal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn midnight() -> Timestamp {
        Timestamp::parse_rfc3339("2026-11-23T00:00:00Z").unwrap()
    }

    #[test]
    fn a_rate_refusal_carries_its_wait_inside_the_details() {
        let refusal = LimitExceeded::rate(
            "free",
            30,
            30,
            2,
            Timestamp::parse_rfc3339("2026-11-22T10:00:02Z").unwrap(),
        );
        assert_eq!(
            refusal.to_json(),
            json!({
                "code": "RATE_LIMITED",
                "message": "The free plan allows 30 requests per minute. Please wait 2 seconds before trying again.",
                "details": {
                    "limit": 30,
                    "used": 30,
                    "reset_at": "2026-11-22T10:00:02Z",
                    "retry_after_seconds": 2,
                },
                "action": "upgrade",
            })
        );
    }

    #[test]
    fn a_switched_off_feature_names_the_feature_and_sends_people_to_an_admin() {
        let refusal = LimitExceeded::feature_disabled("image");
        assert_eq!(
            refusal.to_json(),
            json!({
                "code": "FEATURE_DISABLED",
                "message": "The image feature is switched off on this server. An administrator can switch it back on.",
                "details": { "feature": "image" },
                "action": "contact_admin",
            })
        );
    }

    #[test]
    fn daily_messages_say_what_was_used_what_was_asked_and_when_it_resets() {
        let tokens = LimitExceeded::daily(DailyRefusal {
            code: LimitCode::TokenLimitExceeded,
            plan: "free",
            units: ("tokens", "token"),
            limit: 10_000,
            used: 9_800,
            asked: Some(500),
            reset_at: midnight(),
        });
        assert_eq!(
            tokens.message,
            "The free plan allows 10000 tokens per day; 9800 have been used today and this request needs about 500 more. The limit resets at 2026-11-23T00:00:00Z."
        );
        let one = LimitExceeded::daily(DailyRefusal {
            code: LimitCode::McqLimitExceeded,
            plan: "tiny",
            units: ("MCQs", "MCQ"),
            limit: 1,
            used: 1,
            asked: None,
            reset_at: midnight(),
        });
        assert_eq!(
            one.message,
            "The tiny plan allows 1 MCQ per day; 1 has been used today. The limit resets at 2026-11-23T00:00:00Z."
        );
        assert_eq!(one.to_string(), one.message);
    }

    #[test]
    fn a_feature_the_plan_does_not_include_says_so_instead_of_counting() {
        let refusal = LimitExceeded::daily(DailyRefusal {
            code: LimitCode::PdfUploadLimitExceeded,
            plan: "free",
            units: ("PDF uploads", "PDF upload"),
            limit: 0,
            used: 0,
            asked: None,
            reset_at: midnight(),
        });
        assert_eq!(
            refusal.message,
            "The free plan does not include PDF uploads. A plan upgrade would allow them."
        );
        assert_eq!(refusal.to_json()["details"]["limit"], 0);
    }
}
