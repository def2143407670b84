//! How clients reach the server: stdio for local clients that start the binary, and HTTP
//! (streamable HTTP at `/mcp`, the legacy HTTP+SSE transport at `/sse` + `/messages`) for
//! remote ones. Every transport serves the same [`crate::mcp::ConsiliumServer`].
//!
//! Transports move messages and guard the door; they must not interpret tool calls.

pub mod http;
pub mod shutdown;
pub mod stdio;
