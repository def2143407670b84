//! Chat, the first model-backed tool: per-user sessions whose messages are answered with
//! the session's history through the LLM router, each reply naming who served it.
//!
//! The tools are a thin layer over [`Chats`] (storage) and `crate::llm::Router` (who
//! answers). This module must not pick keys or providers itself, and never invents a
//! reply: with no route it returns the router's error.

mod store;
mod tools;

pub use store::{ChatError, ChatMessage, ChatSession, Chats, Exchange, SEALED_CHAT_MESSAGES};
pub use tools::{register, route_error};
