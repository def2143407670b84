//! The LLM provider layer: provider wire formats, the encrypted key pool, the router with
//! failover and health checks, and the client's own model through MCP sampling.
//!
//! Capabilities ask the [`Router`] for a completion and get text plus who served it; they
//! never see a key. This module must not hold tool logic, and no key may leave it except
//! masked.

pub mod client_model;
pub mod failure;
pub mod manage;
pub mod pool;
pub mod providers;
pub mod request;
pub mod router;
pub mod structured;
pub mod tools;
pub mod upstream;

pub use client_model::ClientModel;
pub use failure::{FailureKind, ProviderFailure};
pub use pool::EMBEDDING_FEATURE;
pub use pool::{KeyPool, KeyScope, KeyStatus, KeyView, NewKey, PoolError};
pub use providers::ProviderKind;
pub use request::{Completion, CompletionRequest, Message, ResponseSchema, Role, TokenUsage};
pub use router::{
    Attempt, Route, RouteError, Routed, RoutedEmbeddings, Router, RouterParts, ServedBy, Source,
};
pub use upstream::{Upstream, UpstreamLimits};
