//! The entailment judge: for two answers the fast path could not settle, a model is asked
//! whether each implies the other as an answer to the question (bidirectional entailment,
//! after Kuhn L, Gal Y, Farquhar S. Semantic uncertainty. ICLR 2023). Two answers are
//! equivalent only when both directions hold. The judge sees the answers anonymised and
//! labelled A and B, never which model wrote them.
//!
//! A judge that fails is reported as failed; the caller falls back and says so. This file
//! must not decide clusters.

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use crate::identity::UserId;
use crate::llm::{
    ClientModel, CompletionRequest, Message, ProviderKind, ResponseSchema, Route, RouteError,
    Router, ServedBy, TokenUsage,
};

/// The feature tag the judge is served under.
pub const JUDGE_FEATURE: &str = "judge";

const JUDGE_PROMPT: &str = "You compare two answers to the same question. Answer A entails \
answer B when, as answers to the question, everything B claims follows from A. Judge the \
claims that answer the question, not wording, length, tone or supporting detail. A different \
number, dose, drug, recommendation or yes/no, or a negation, means the answers do not entail \
each other. Reply with JSON only.";

/// Who judges: a pinned model, or any key serving `judge`, then the client's model.
#[derive(Clone)]
pub struct Judge<'a> {
    pub router: &'a Router,
    pub user: &'a UserId,
    pub pinned: Option<(ProviderKind, String)>,
    pub client_model: Option<ClientModel>,
    pub deadline: Duration,
}

/// One pair's verdict and what it cost.
pub struct Verdict {
    /// Equivalent, not equivalent, or why the judge gave no verdict.
    pub equivalent: Result<bool, String>,
    pub served_by: Option<ServedBy>,
    pub usage: TokenUsage,
    pub cost_micro_usd: u64,
}

#[derive(Deserialize)]
struct Reply {
    a_entails_b: bool,
    b_entails_a: bool,
}

fn request(question: &str, a: &str, b: &str) -> CompletionRequest {
    let text = format!(
        "Question: {question}\n\nAnswer A:\n{a}\n\nAnswer B:\n{b}\n\nDoes A entail B? Does B entail A?"
    );
    let mut request = CompletionRequest::new(vec![Message::user(text)], 200);
    request.system = Some(JUDGE_PROMPT.into());
    request.temperature = Some(0.0);
    request.response_schema = Some(ResponseSchema {
        name: "entailment".into(),
        schema: json!({
            "type": "object",
            "properties": {
                "a_entails_b": { "type": "boolean" },
                "b_entails_a": { "type": "boolean" },
                "reason": { "type": "string" }
            },
            "required": ["a_entails_b", "b_entails_a"],
            "additionalProperties": false
        }),
    });
    request
}

/// Reads the judge's JSON, tolerating a code fence or prose around it.
pub fn parse(text: &str) -> Option<bool> {
    let start = text.find('{')?;
    let end = text.rfind('}')?;
    let reply: Reply = serde_json::from_str(text.get(start..=end)?).ok()?;
    Some(reply.a_entails_b && reply.b_entails_a)
}

impl Judge<'_> {
    pub async fn judge(&self, question: &str, a: &str, b: &str) -> Verdict {
        let request = request(question, a, b);
        let route = Route {
            feature: JUDGE_FEATURE,
            user: self.user,
            provider: self.pinned.as_ref().map(|(p, _)| *p),
            model: self.pinned.as_ref().map(|(_, m)| m.as_str()),
            client_model: self.client_model.clone(),
            prefer_client_model: false,
        };
        let failed = |why: String| Verdict {
            equivalent: Err(why),
            served_by: None,
            usage: TokenUsage::default(),
            cost_micro_usd: 0,
        };
        match tokio::time::timeout(self.deadline, self.router.complete(route, &request)).await {
            Err(_) => failed("the judge did not answer in time".into()),
            Ok(Err(RouteError::NoRoute { .. })) => {
                failed("no judge model is available (no key serves the judge feature and the client offers no model)".into())
            }
            Ok(Err(RouteError::AllFailed { .. })) => failed("every judge provider failed".into()),
            Ok(Ok(routed)) => Verdict {
                equivalent: parse(&routed.text)
                    .ok_or_else(|| "the judge's reply was not the JSON asked for".to_string()),
                served_by: Some(routed.served_by),
                usage: routed.usage,
                cost_micro_usd: routed.cost_micro_usd,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn equivalence_needs_entailment_both_ways() {
        assert_eq!(
            parse(r#"{"a_entails_b": true, "b_entails_a": true}"#),
            Some(true)
        );
        assert_eq!(
            parse(
                "```json\n{\"a_entails_b\": true, \"b_entails_a\": false, \"reason\": \"B adds a dose\"}\n```"
            ),
            Some(false)
        );
        assert_eq!(parse("They mean the same."), None);
        assert_eq!(parse(r#"{"a_entails_b": "yes"}"#), None);
    }
}
