//! The server's own logs: `tracing` to stderr (stdout belongs to the stdio transport), in a
//! human or JSON format under an env filter, and a bridge that forwards the events of an MCP
//! request to the client that made it, at the level that client chose.
//!
//! Nothing here decides what is logged; callers must never put secrets or health data in
//! an event.

pub mod mcp_log;

use std::io::IsTerminal;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, filter::Targets};

use crate::config::{LogFormat, LoggingConfig};

#[derive(Debug, thiserror::Error)]
pub enum ObservabilityError {
    #[error("log filter {filter:?} is not valid: {message}")]
    BadFilter { filter: String, message: String },
}

/// Installs the process-wide subscriber. Calling it twice keeps the first (tests share a process).
pub fn init(config: &LoggingConfig) -> Result<(), ObservabilityError> {
    let filter = EnvFilter::try_new(&config.filter).map_err(|e| ObservabilityError::BadFilter {
        filter: config.filter.clone(),
        message: e.to_string(),
    })?;
    let stderr = match config.format {
        LogFormat::Human => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .with_target(true)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .with_current_span(false)
            .boxed(),
    };
    // The MCP bridge sees the crate's debug events whatever the stderr filter says: the
    // client's own `logging/setLevel` decides what it receives.
    let bridge = mcp_log::McpLogLayer
        .with_filter(Targets::new().with_target(env!("CARGO_CRATE_NAME"), tracing::Level::DEBUG));
    let _ = tracing_subscriber::registry()
        .with(stderr.with_filter(filter))
        .with(bridge)
        .try_init();
    Ok(())
}
