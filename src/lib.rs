//! Consilium: an MCP server for health AI.
//!
//! The folders are the architecture (see `ARCHITECTURE.md`):
//! - [`transport`] carries MCP messages over stdio, streamable HTTP and the legacy HTTP+SSE transport;
//! - [`mcp`] is the thin MCP surface: the protocol handler and the registry through which
//!   every capability contributes its tools, resources and prompts;
//! - [`catalog`] loads what defines tools and prompts as data (`tools/`, `prompts/`);
//! - [`status`] is the first capability: what the server is and how it is doing;
//! - [`store`] owns the embedded SQLite database;
//! - [`identity`] (users, passwords, API keys), [`audit`] (the tamper-evident log) and
//!   [`secrets`] (the master key, sealing at rest) are the services behind accounts;
//! - [`config`] and [`observability`] are the server's settings and its logs;
//! - [`cli`] is the command line, the binary's edge.
//!
//! Data flows one way: transport → mcp → capability services → store.

pub mod accounts;
pub mod admin;
pub mod app;
pub mod audit;
pub mod auth;
pub mod catalog;
pub mod chat;
pub mod cli;
pub mod compliance;
pub mod config;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod consensus;
pub mod evaluation;
pub mod health;
pub mod identity;
pub mod llm;
pub mod maintenance;
pub mod mcp;
pub mod metering;
pub mod narrative;
pub mod notify;
pub mod observability;
pub mod private_files;
pub mod secrets;
pub mod status;
pub mod store;
pub mod study;
pub mod transport;
