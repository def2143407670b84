//! Forwards `tracing` events to MCP clients as `notifications/message`.
//!
//! An event goes to a client only when it was emitted inside a span carrying that request's
//! sink key (the MCP layer opens one around every tool call), so one session never sees
//! another's logs. The level check happens before any formatting, so a quiet client costs
//! almost nothing.

// MCP logging is deprecated from protocol 2026-07-28 (SEP-2577) but current clients use it.
#![allow(deprecated)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, RwLock};

use rmcp::model::{LoggingLevel, LoggingMessageNotificationParam};
use serde_json::{Map, Value};
use tokio::sync::mpsc;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber, span};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// Name of the span field that carries a sink key.
pub const SINK_FIELD: &str = "mcp_sink";

/// Where the events of one in-flight request go, and from which level.
#[derive(Clone)]
pub struct LogSink {
    pub min_level: LoggingLevel,
    pub tx: mpsc::Sender<LoggingMessageNotificationParam>,
}

static SINKS: LazyLock<RwLock<HashMap<u64, LogSink>>> = LazyLock::new(Default::default);
static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

/// Registered while a request runs; unregisters itself on drop.
pub struct SinkGuard {
    pub key: u64,
}

impl SinkGuard {
    pub fn register(sink: LogSink) -> Self {
        let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
        SINKS
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(key, sink);
        Self { key }
    }
}

impl Drop for SinkGuard {
    fn drop(&mut self) {
        SINKS
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(&self.key);
    }
}

/// MCP's eight levels, ordered; `tracing` has five.
pub fn rank(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

fn from_tracing(level: &tracing::Level) -> LoggingLevel {
    match *level {
        tracing::Level::ERROR => LoggingLevel::Error,
        tracing::Level::WARN => LoggingLevel::Warning,
        tracing::Level::INFO => LoggingLevel::Info,
        _ => LoggingLevel::Debug,
    }
}

struct SinkKey(u64);

pub struct McpLogLayer;

impl<S> Layer<S> for McpLogLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        struct KeyVisitor(Option<u64>);
        impl Visit for KeyVisitor {
            fn record_u64(&mut self, field: &Field, value: u64) {
                if field.name() == SINK_FIELD {
                    self.0 = Some(value);
                }
            }
            fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
        }
        let mut visitor = KeyVisitor(None);
        attrs.record(&mut visitor);
        if let (Some(key), Some(span)) = (visitor.0, ctx.span(id)) {
            span.extensions_mut().insert(SinkKey(key));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(scope) = ctx.event_scope(event) else {
            return;
        };
        let Some(key) = scope
            .from_root()
            .find_map(|span| span.extensions().get::<SinkKey>().map(|k| k.0))
        else {
            return;
        };
        let Some(sink) = SINKS
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&key)
            .cloned()
        else {
            return;
        };
        let level = from_tracing(event.metadata().level());
        if rank(level) < rank(sink.min_level) {
            return;
        }
        let mut fields = FieldsVisitor(Map::new());
        event.record(&mut fields);
        let logger = event.metadata().target().to_string();
        let mut param = LoggingMessageNotificationParam::new(level, Value::Object(fields.0));
        param.logger = Some(logger);
        // A client that does not read its notifications loses log lines, never blocks the server.
        let _ = sink.tx.try_send(param);
    }
}

struct FieldsVisitor(Map<String, Value>);

impl Visit for FieldsVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_string(), Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_string(), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_string(), Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_string(), Value::from(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_string(), Value::from(format!("{value:?}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_rank_in_the_order_the_protocol_defines() {
        assert!(rank(LoggingLevel::Debug) < rank(LoggingLevel::Info));
        assert!(rank(LoggingLevel::Warning) < rank(LoggingLevel::Emergency));
    }
}
