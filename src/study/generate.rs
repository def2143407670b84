//! Asking a model for study material as JSON and accepting only what passes the checks in
//! `written`: the reply is read against the type (unknown fields refused) and checked; on
//! failure the model is asked once more with the problems named, and a second failure is
//! refused with `INVALID_GENERATION` and the problems listed. Nothing invalid leaves here.
//! Served by the caller's keys, the shared pool, or the client's own model by sampling.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::llm::structured::{read_checked as read, retry_request};
use crate::llm::{ClientModel, CompletionRequest, Message, ResponseSchema, Route, ServedBy};
use crate::mcp::{ToolContext, ToolError};

pub const INVALID_GENERATION: &str = "INVALID_GENERATION";

const HOUSE_RULES: &str = "You write study material for medical students. Be accurate and \
current; prefer what major guidelines and standard textbooks say, and name them as sources. \
Never invent a reference, a statistic or a drug dose you are not sure of: leave it out. Reply \
with one JSON object that follows the schema given, and nothing else.";

/// What a model wrote that passed its checks.
pub struct Generated<T> {
    pub value: T,
    pub served_by: ServedBy,
    /// 1, or 2 when the first reply failed its checks.
    pub attempts: u32,
}

/// Asks for a `T` under `feature`, checks it with `check`, retries once with the problems
/// named, and refuses what still fails.
pub async fn generate<T, C>(
    ctx: &ToolContext,
    feature: &'static str,
    instructions: &str,
    request_text: String,
    max_tokens: u32,
    check: C,
) -> Result<Generated<T>, ToolError>
where
    T: DeserializeOwned + JsonSchema,
    C: Fn(&T) -> Vec<String>,
{
    let schema = serde_json::to_value(schemars::schema_for!(T))
        .map_err(|e| ToolError::internal(format!("schema: {e}")))?;
    let system = format!("{HOUSE_RULES}\n\n{instructions}\n\nJSON schema of the reply:\n{schema}");
    let mut messages = vec![Message::user(request_text)];
    let mut served_by = None;
    let mut last_problems = Vec::new();
    for attempt in 1..=2u32 {
        let mut request = CompletionRequest::new(messages.clone(), max_tokens);
        request.system = Some(system.clone());
        request.temperature = Some(0.3);
        request.response_schema = Some(ResponseSchema {
            name: feature.to_string(),
            schema: schema.clone(),
        });
        let route = Route {
            feature,
            user: &ctx.principal.user_id,
            provider: None,
            model: None,
            client_model: ClientModel::of(ctx.peer(), ctx.app.llm.client_model_timeout()),
            prefer_client_model: false,
        };
        let routed = ctx
            .app
            .llm
            .complete(route, &request)
            .await
            .map_err(|e| crate::chat::route_error(ctx, e))?;
        ctx.charge_tokens(
            routed.usage.input,
            routed.usage.output,
            routed.cost_micro_usd,
        );
        served_by = Some(routed.served_by.clone());
        match read::<T>(&routed.text, &check) {
            Ok(value) => {
                return Ok(Generated {
                    value,
                    served_by: routed.served_by,
                    attempts: attempt,
                });
            }
            Err(problems) => {
                tracing::info!(
                    feature,
                    attempt,
                    problems = problems.len(),
                    "a generated reply failed its checks"
                );
                messages.push(Message::assistant(routed.text));
                messages.push(Message::user(retry_request(&problems)));
                last_problems = problems;
            }
        }
    }
    Err(ToolError::new(
        INVALID_GENERATION,
        "the model's reply failed its checks twice; nothing was stored",
    )
    .with_details(json!({
        "problems": last_problems,
        "served_by": served_by,
    }))
    .with_action("retry"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::written::{FlashcardSet, check_flashcards};

    #[test]
    fn a_reply_is_read_through_its_fence_and_checked() {
        let check = |set: &FlashcardSet| check_flashcards(set, 2);
        let fenced = "Here you go:\n```json\n{\"cards\": [{\"front\": \"Q\", \"back\": \"A\", \"tags\": [], \"source\": \"S\"}]}\n```";
        assert!(read::<FlashcardSet>(fenced, &check).is_ok());
        let problems = read::<FlashcardSet>("no json", &check).unwrap_err();
        assert_eq!(problems, ["the reply holds no JSON object"]);
        let problems = read::<FlashcardSet>("{\"cards\": 3}", &check).unwrap_err();
        assert!(problems[0].starts_with("the JSON does not follow the schema"));
        let problems = read::<FlashcardSet>("{\"cards\": []}", &check).unwrap_err();
        assert_eq!(problems, ["there are no cards"]);
    }
}
