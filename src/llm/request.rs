//! What a caller asks of a model and what comes back, independent of any provider's wire
//! format.
//!
//! These types carry no credentials and no routing decisions: the providers translate them,
//! the router decides who serves them.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: content.into(),
        }
    }

    pub fn assistant(content: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// A JSON Schema the reply must follow, for providers that can enforce one.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseSchema {
    /// A short identifier (letters, digits, `_`, `-`), required by some providers.
    pub name: String,
    pub schema: Value,
}

/// One completion: a system prompt, the conversation so far (ending with the user's turn)
/// and the limits of the reply.
#[derive(Debug, Clone, PartialEq)]
pub struct CompletionRequest {
    pub system: Option<String>,
    pub messages: Vec<Message>,
    pub max_tokens: u32,
    pub temperature: Option<f32>,
    pub response_schema: Option<ResponseSchema>,
}

impl CompletionRequest {
    pub fn new(messages: Vec<Message>, max_tokens: u32) -> Self {
        Self {
            system: None,
            messages,
            max_tokens,
            temperature: None,
            response_schema: None,
        }
    }

    /// The smallest call that proves a key works: one token back.
    pub fn probe() -> Self {
        Self::new(vec![Message::user("Reply with the single word: ok")], 1)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    pub input: u64,
    pub output: u64,
}

/// A model's reply as a provider returned it.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub text: String,
    /// The model that answered, as the provider named it (may be more specific than the
    /// model asked for).
    pub model: String,
    pub usage: TokenUsage,
}

/// A reply together with how long it took.
#[derive(Debug, Clone)]
pub struct TimedCompletion {
    pub completion: Completion,
    pub latency: Duration,
}

/// Vectors for texts, in the order they were given, from an embedding model.
#[derive(Debug, Clone, PartialEq)]
pub struct Embeddings {
    pub vectors: Vec<Vec<f32>>,
    pub model: String,
    pub usage: TokenUsage,
}

/// Embeddings together with how long they took.
#[derive(Debug, Clone)]
pub struct TimedEmbeddings {
    pub embeddings: Embeddings,
    pub latency: Duration,
}
