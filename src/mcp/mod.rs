//! The MCP surface: the protocol handler every transport serves, the registry capabilities
//! contribute to, and the per-session state. A thin adapter over the capability services;
//! it must not hold domain logic.

pub mod gate;
pub mod registry;
pub mod server;
pub mod session;
pub mod subscriptions;
pub mod tool;
mod uri_template;

pub use registry::{Registry, RegistryBuilder, RequestScope, json_resource};
pub use server::ConsiliumServer;
pub use session::{Session, TransportKind};
pub use tool::{ToolContext, ToolError, ToolOutput};
