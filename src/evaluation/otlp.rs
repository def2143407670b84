//! OpenTelemetry spans (an OTLP `ExportTraceServiceRequest`, JSON or protobuf) turned into
//! traces: the spans of LLM calls are found and read through three attribute vocabularies —
//! the GenAI semantic conventions (`gen_ai.input.messages`, `gen_ai.output.messages`,
//! `gen_ai.system_instructions`, `gen_ai.provider.name`, …), the older names instrumentations
//! still emit (`gen_ai.system`, `gen_ai.usage.prompt_tokens`, indexed `gen_ai.prompt.N.*` and
//! `gen_ai.completion.N.*`, prompt and completion span events), and OpenInference (`llm.*`,
//! `input.value`, `output.value`). Other spans (HTTP, database, embeddings, tool runs) are
//! passed over.
//!
//! Pure: it shapes, it does not store, evaluate or log span contents. Every span kept is then
//! checked like a `submit_trace` trace.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::trace::{Role, TraceInput, TraceMessage};

/// The attribute naming the rule pack, on a span or its resource.
pub const DOMAIN_ATTRIBUTE: &str = "consilium.domain";
/// LLM spans one request may carry.
pub const MAX_SPANS: usize = 1_000;

/// The request body of `POST /v1/traces` in the shape of the OTLP/JSON encoding (protobuf
/// bodies are converted into it). Unknown fields are ignored, as the OTLP specification
/// requires of receivers.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportTraceRequest {
    #[serde(default)]
    resource_spans: Vec<ResourceSpans>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceSpans {
    #[serde(default)]
    resource: Option<Resource>,
    #[serde(default)]
    scope_spans: Vec<ScopeSpans>,
}

#[derive(Debug, Default, Deserialize)]
struct Resource {
    #[serde(default)]
    attributes: Vec<KeyValue>,
}

#[derive(Debug, Default, Deserialize)]
struct ScopeSpans {
    #[serde(default)]
    spans: Vec<Span>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Span {
    #[serde(default)]
    trace_id: String,
    #[serde(default)]
    span_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    start_time_unix_nano: Option<Integer>,
    #[serde(default)]
    end_time_unix_nano: Option<Integer>,
    #[serde(default)]
    attributes: Vec<KeyValue>,
    #[serde(default)]
    events: Vec<SpanEvent>,
}

#[derive(Debug, Default, Deserialize)]
struct SpanEvent {
    #[serde(default)]
    name: String,
    #[serde(default)]
    attributes: Vec<KeyValue>,
}

#[derive(Debug, Deserialize)]
struct KeyValue {
    key: String,
    #[serde(default)]
    value: Option<AnyValue>,
}

/// A 64-bit integer, which the protobuf JSON mapping writes as a string (numbers are
/// accepted too).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Integer {
    Text(String),
    Number(serde_json::Number),
}

impl Integer {
    fn value(&self) -> Option<i128> {
        match self {
            Integer::Text(text) => text.trim().parse().ok(),
            Integer::Number(n) => n
                .as_i64()
                .map(i128::from)
                .or_else(|| n.as_u64().map(i128::from)),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AnyValue {
    #[serde(default)]
    string_value: Option<String>,
    #[serde(default)]
    bool_value: Option<bool>,
    #[serde(default)]
    int_value: Option<Integer>,
    #[serde(default)]
    double_value: Option<Value>,
    #[serde(default)]
    array_value: Option<ArrayValue>,
    #[serde(default)]
    kvlist_value: Option<KeyValueList>,
    #[serde(default)]
    bytes_value: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ArrayValue {
    #[serde(default)]
    values: Vec<AnyValue>,
}

#[derive(Debug, Default, Deserialize)]
struct KeyValueList {
    #[serde(default)]
    values: Vec<KeyValue>,
}

impl AnyValue {
    /// The value as plain JSON: a key-value list becomes an object.
    fn to_json(&self) -> Value {
        if let Some(text) = &self.string_value {
            return Value::String(text.clone());
        }
        if let Some(flag) = self.bool_value {
            return Value::Bool(flag);
        }
        if let Some(n) = self.int_value.as_ref().and_then(Integer::value) {
            return i64::try_from(n).map_or_else(|_| Value::String(n.to_string()), Value::from);
        }
        if let Some(number) = &self.double_value {
            return number.clone();
        }
        if let Some(array) = &self.array_value {
            return Value::Array(array.values.iter().map(AnyValue::to_json).collect());
        }
        if let Some(list) = &self.kvlist_value {
            return Value::Object(attributes_json(&list.values));
        }
        if let Some(bytes) = &self.bytes_value {
            return Value::String(bytes.clone());
        }
        Value::Null
    }
}

fn attributes_json(attributes: &[KeyValue]) -> Map<String, Value> {
    attributes
        .iter()
        .map(|kv| {
            (
                kv.key.clone(),
                kv.value.as_ref().map_or(Value::Null, AnyValue::to_json),
            )
        })
        .collect()
}

/// The traces found in one export request, and what was passed over.
#[derive(Debug, Default)]
pub struct Mapped {
    pub traces: Vec<MappedSpan>,
    /// Spans that are not LLM calls (HTTP, database, embeddings, tool runs…).
    pub other_spans: usize,
    /// LLM spans without any message content (content capture switched off), which
    /// cannot be evaluated.
    pub without_content: usize,
}

/// One LLM span as a trace, and the span it came from (for error messages).
#[derive(Debug)]
pub struct MappedSpan {
    pub span: String,
    pub trace: TraceInput,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum OtlpError {
    #[error("the body is not an OTLP/JSON ExportTraceServiceRequest: {0}")]
    Malformed(String),
    #[error(
        "span {span} names no rule pack: set the attribute `consilium.domain` on the span or its resource (OTEL_RESOURCE_ATTRIBUTES=consilium.domain=healthcare), or send the header `X-Consilium-Domain`"
    )]
    NoDomain { span: String },
    #[error("the request carries {0} LLM spans; at most {MAX_SPANS} are accepted at a time")]
    TooMany(usize),
}

/// Reads an OTLP/JSON body.
pub fn parse(body: &[u8]) -> Result<ExportTraceRequest, OtlpError> {
    serde_json::from_slice(body).map_err(|e| OtlpError::Malformed(e.to_string()))
}

/// Reads an OTLP/protobuf body.
pub fn parse_protobuf(body: &[u8]) -> Result<ExportTraceRequest, OtlpError> {
    proto::parse(body)
}

/// The LLM spans of `request` as traces. `default_domain` applies to spans whose span and
/// resource attributes name none.
pub fn map(
    request: &ExportTraceRequest,
    default_domain: Option<&str>,
) -> Result<Mapped, OtlpError> {
    let mut mapped = Mapped::default();
    for resource_spans in &request.resource_spans {
        let resource = resource_spans
            .resource
            .as_ref()
            .map(|r| attributes_json(&r.attributes))
            .unwrap_or_default();
        for span in resource_spans.scope_spans.iter().flat_map(|s| &s.spans) {
            let attributes = span_attributes(span);
            if !is_llm_call(&attributes) {
                mapped.other_spans += 1;
                continue;
            }
            let label = span_label(span);
            let Some(content) = content(span, &attributes) else {
                mapped.without_content += 1;
                continue;
            };
            let domain = text(&attributes, DOMAIN_ATTRIBUTE)
                .or_else(|| text(&resource, DOMAIN_ATTRIBUTE))
                .or(default_domain)
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .ok_or_else(|| OtlpError::NoDomain {
                    span: label.clone(),
                })?;
            mapped.traces.push(MappedSpan {
                trace: trace_of(span, &attributes, &resource, domain, content),
                span: label,
            });
            if mapped.traces.len() > MAX_SPANS {
                return Err(OtlpError::TooMany(mapped.traces.len()));
            }
        }
    }
    Ok(mapped)
}

/// The span's attributes, with those of an `operation.details` event folded in (newer
/// instrumentations may record the messages there rather than on the span).
fn span_attributes(span: &Span) -> Map<String, Value> {
    let mut attributes = attributes_json(&span.attributes);
    for event in &span.events {
        if event.name == "gen_ai.client.inference.operation.details" {
            for (key, value) in attributes_json(&event.attributes) {
                attributes.entry(key).or_insert(value);
            }
        }
    }
    attributes
}

fn span_label(span: &Span) -> String {
    let name: String = span.name.chars().take(80).collect();
    if span.span_id.is_empty() {
        format!("{name:?}")
    } else {
        format!("{} ({name:?})", span.span_id)
    }
}

fn text<'a>(attributes: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    attributes.get(key)?.as_str()
}

fn first_text<'a>(attributes: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a str> {
    keys.iter()
        .filter_map(|key| text(attributes, key))
        .map(str::trim)
        .find(|t| !t.is_empty())
}

fn count(attributes: &Map<String, Value>, keys: &[&str]) -> Option<u64> {
    keys.iter().find_map(|key| match attributes.get(*key)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// Operations whose spans carry no conversation to evaluate.
const NOT_CONVERSATIONS: &[&str] = &["embeddings", "execute_tool", "create_agent"];

fn is_llm_call(attributes: &Map<String, Value>) -> bool {
    if let Some(kind) = text(attributes, "openinference.span.kind") {
        return kind.eq_ignore_ascii_case("llm");
    }
    if let Some(operation) = text(attributes, "gen_ai.operation.name") {
        return !NOT_CONVERSATIONS.contains(&operation);
    }
    [
        "gen_ai.request.model",
        "gen_ai.response.model",
        "gen_ai.provider.name",
        "gen_ai.system",
        "llm.model_name",
    ]
    .iter()
    .any(|key| attributes.contains_key(*key))
}

/// The conversation of one span, whichever vocabulary carried it.
#[derive(Debug, Default)]
struct Content {
    system: Vec<String>,
    input: Vec<TraceMessage>,
    output: Vec<String>,
}

impl Content {
    fn is_empty(&self) -> bool {
        self.system.is_empty() && self.input.is_empty() && self.output.is_empty()
    }

    /// An input message: system turns join the system instructions.
    fn push(&mut self, role: &str, text: String) {
        match role_of(role) {
            Role::System => self.system.push(text),
            role => self.input.push(TraceMessage {
                role,
                content: text,
            }),
        }
    }
}

fn content(span: &Span, attributes: &Map<String, Value>) -> Option<Content> {
    let has_messages = |c: &Content| !c.output.is_empty() || !c.input.is_empty();
    let mut found = semconv_content(attributes);
    if !has_messages(&found) {
        found = indexed_content(attributes);
    }
    if !has_messages(&found) {
        found = events_content(span);
    }
    if !has_messages(&found) {
        found = openinference_content(attributes);
    }
    (!found.is_empty()).then_some(found)
}

/// A JSON attribute that may arrive as a string holding JSON or as a structured value.
fn structured(attributes: &Map<String, Value>, key: &str) -> Option<Value> {
    match attributes.get(key)? {
        Value::String(text) => {
            Some(serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.clone())))
        }
        other => Some(other.clone()),
    }
}

/// `gen_ai.input.messages`, `gen_ai.output.messages`, `gen_ai.system_instructions`.
fn semconv_content(attributes: &Map<String, Value>) -> Content {
    let mut content = Content::default();
    if let Some(instructions) = structured(attributes, "gen_ai.system_instructions") {
        content.system.extend(parts_text(&instructions));
    }
    if let Some(Value::Array(messages)) = structured(attributes, "gen_ai.input.messages") {
        for message in &messages {
            push_message(&mut content, message);
        }
    }
    if let Some(Value::Array(messages)) = structured(attributes, "gen_ai.output.messages") {
        content
            .output
            .extend(messages.iter().filter_map(message_text));
    }
    content
}

fn push_message(content: &mut Content, message: &Value) {
    if let Some(text) = message_text(message) {
        let role = message
            .get("role")
            .and_then(Value::as_str)
            .unwrap_or("user");
        content.push(role, text);
    }
}

fn role_of(name: &str) -> Role {
    match name.to_ascii_lowercase().as_str() {
        "system" | "developer" => Role::System,
        "assistant" | "model" | "ai" => Role::Assistant,
        "tool" | "function" | "ipython" => Role::Tool,
        _ => Role::User,
    }
}

/// A message's text: its `parts` (the current conventions) or its `content` (a string or
/// a list of parts, as chat APIs write it), and any tool calls.
fn message_text(message: &Value) -> Option<String> {
    let mut pieces = Vec::new();
    match message {
        Value::String(text) => pieces.push(text.clone()),
        Value::Object(fields) => {
            for key in ["parts", "content", "message"] {
                if let Some(value) = fields.get(key) {
                    pieces.extend(parts_text(value));
                }
            }
            if let Some(Value::Array(calls)) = fields.get("tool_calls") {
                pieces.extend(calls.iter().filter_map(tool_call_text));
            }
        }
        _ => {}
    }
    let text = pieces.join("\n");
    (!text.trim().is_empty()).then_some(text)
}

fn parts_text(value: &Value) -> Vec<String> {
    match value {
        Value::String(text) => vec![text.clone()],
        Value::Array(parts) => parts.iter().filter_map(part_text).collect(),
        Value::Object(_) => part_text(value).into_iter().collect(),
        _ => Vec::new(),
    }
}

/// One part: text and reasoning are read; tool calls and results kept as text (a motion
/// plan or an order is often a tool call); media are named, not read.
fn part_text(part: &Value) -> Option<String> {
    let Value::Object(fields) = part else {
        return part.as_str().map(str::to_string);
    };
    let kind = fields.get("type").and_then(Value::as_str).unwrap_or("text");
    match kind {
        "tool_call" | "function_call" | "tool_use" => tool_call_text(part),
        "tool_call_response" | "tool_result" => {
            let response = fields
                .get("response")
                .or_else(|| fields.get("result"))
                .or_else(|| fields.get("content"))?;
            Some(json_text(response))
        }
        "blob" | "file" | "uri" | "image" | "image_url" | "audio" | "input_audio" => {
            Some(format!("[{kind}]"))
        }
        _ => ["content", "text"]
            .iter()
            .find_map(|key| fields.get(*key))
            .map(json_text)
            .filter(|t| !t.is_empty()),
    }
}

fn tool_call_text(call: &Value) -> Option<String> {
    let function = call.get("function").unwrap_or(call);
    let name = function.get("name").and_then(Value::as_str)?;
    let arguments = function
        .get("arguments")
        .or_else(|| function.get("input"))
        .map(json_text)
        .unwrap_or_default();
    Some(format!("{name}({arguments})"))
}

fn json_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Where a vocabulary that flattens messages into indexed attributes keeps a message's
/// text: its `content`, its parts (prefix, key of the text), its tool calls (prefix, keys of
/// the name and the arguments).
struct FlatMessage {
    parts: Option<(&'static str, &'static str)>,
    calls: (&'static str, &'static str, &'static str),
}

/// `gen_ai.prompt.0.content`, `gen_ai.completion.0.tool_calls.0.name` / `.arguments`.
const INDEXED_GEN_AI: FlatMessage = FlatMessage {
    parts: None,
    calls: ("tool_calls.", "name", "arguments"),
};

/// `…message.content`, `…message.contents.M.message_content.text`,
/// `…message.tool_calls.M.tool_call.function.name` / `.arguments`.
const OPENINFERENCE: FlatMessage = FlatMessage {
    parts: Some(("contents.", "message_content.text")),
    calls: (
        "tool_calls.",
        "tool_call.function.name",
        "tool_call.function.arguments",
    ),
};

impl FlatMessage {
    fn text(&self, fields: &BTreeMap<String, String>) -> Option<String> {
        let mut pieces: Vec<String> = fields.get("content").cloned().into_iter().collect();
        if let Some((prefix, key)) = self.parts {
            for (_, part) in indexed_fields(fields, prefix) {
                pieces.extend(part.get(key).cloned());
            }
        }
        let (prefix, name, arguments) = self.calls;
        for (_, call) in indexed_fields(fields, prefix) {
            if let Some(name) = call.get(name) {
                let arguments = call.get(arguments).cloned().unwrap_or_default();
                pieces.push(format!("{name}({arguments})"));
            }
        }
        let text = pieces.join("\n");
        (!text.trim().is_empty()).then_some(text)
    }

    /// The input messages under `input` and the output messages under `output`, each
    /// message's fields under `inner` (a prefix to strip, or "").
    fn read(
        &self,
        attributes: &Map<String, Value>,
        input: &str,
        output: &str,
        inner: &str,
    ) -> Content {
        let mut content = Content::default();
        for (_, fields) in indexed(attributes, input) {
            let fields = strip(&fields, inner);
            if let Some(text) = self.text(&fields) {
                content.push(fields.get("role").map_or("user", String::as_str), text);
            }
        }
        for (_, fields) in indexed(attributes, output) {
            content.output.extend(self.text(&strip(&fields, inner)));
        }
        content
    }
}

/// The indexed attributes of older instrumentations: `gen_ai.prompt.N.role` / `.content`,
/// `gen_ai.completion.N.content`, with tool calls.
fn indexed_content(attributes: &Map<String, Value>) -> Content {
    INDEXED_GEN_AI.read(attributes, "gen_ai.prompt.", "gen_ai.completion.", "")
}

/// OpenInference: `llm.input_messages.N.message.*` and `llm.output_messages.N.message.*`,
/// and `input.value` / `output.value` when there are none.
fn openinference_content(attributes: &Map<String, Value>) -> Content {
    let mut content = OPENINFERENCE.read(
        attributes,
        "llm.input_messages.",
        "llm.output_messages.",
        "message.",
    );
    if content.input.is_empty()
        && let Some(value) = first_text(attributes, &["input.value"])
    {
        content.input.push(TraceMessage {
            role: Role::User,
            content: value.to_string(),
        });
    }
    if content.output.is_empty()
        && let Some(value) = first_text(attributes, &["output.value"])
    {
        content.output.push(value.to_string());
    }
    content
}

/// Attributes `{prefix}{N}.{rest}` grouped by N in order, as `rest → text`.
fn indexed(
    attributes: &Map<String, Value>,
    prefix: &str,
) -> BTreeMap<u32, BTreeMap<String, String>> {
    let mut groups: BTreeMap<u32, BTreeMap<String, String>> = BTreeMap::new();
    for (key, value) in attributes {
        let Some(rest) = key.strip_prefix(prefix) else {
            continue;
        };
        let Some((index, field)) = rest.split_once('.') else {
            continue;
        };
        let Ok(index) = index.parse::<u32>() else {
            continue;
        };
        groups
            .entry(index)
            .or_default()
            .insert(field.to_string(), json_text(value));
    }
    groups
}

fn indexed_fields(
    fields: &BTreeMap<String, String>,
    prefix: &str,
) -> BTreeMap<u32, BTreeMap<String, String>> {
    let as_json: Map<String, Value> = fields
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    indexed(&as_json, prefix)
}

fn strip(fields: &BTreeMap<String, String>, prefix: &str) -> BTreeMap<String, String> {
    fields
        .iter()
        .map(|(k, v)| (k.strip_prefix(prefix).unwrap_or(k).to_string(), v.clone()))
        .collect()
}

/// Span events of older instrumentations: `gen_ai.content.prompt` / `gen_ai.content.completion`
/// (attributes `gen_ai.prompt` / `gen_ai.completion`), and the per-message events
/// `gen_ai.{system,user,assistant,tool}.message` and `gen_ai.choice`.
fn events_content(span: &Span) -> Content {
    let mut content = Content::default();
    for event in &span.events {
        let attributes = attributes_json(&event.attributes);
        let body = |keys: &[&str]| keys.iter().find_map(|key| structured(&attributes, key));
        match event.name.as_str() {
            "gen_ai.content.prompt" => match body(&["gen_ai.prompt"]) {
                Some(Value::Array(messages)) => {
                    for message in &messages {
                        push_message(&mut content, message);
                    }
                }
                Some(other) => push_message(&mut content, &other),
                None => {}
            },
            "gen_ai.content.completion" => match body(&["gen_ai.completion"]) {
                Some(Value::Array(messages)) => content
                    .output
                    .extend(messages.iter().filter_map(message_text)),
                Some(other) => content.output.extend(message_text(&other)),
                None => {}
            },
            "gen_ai.system.message"
            | "gen_ai.user.message"
            | "gen_ai.assistant.message"
            | "gen_ai.tool.message" => {
                let role = event
                    .name
                    .trim_start_matches("gen_ai.")
                    .trim_end_matches(".message");
                if let Some(value) = body(&["content", "gen_ai.event.content"]) {
                    let mut message = match value {
                        Value::Object(fields) => Value::Object(fields),
                        other => serde_json::json!({ "content": other }),
                    };
                    if let Some(fields) = message.as_object_mut() {
                        fields
                            .entry("role")
                            .or_insert_with(|| Value::String(role.to_string()));
                    }
                    push_message(&mut content, &message);
                }
            }
            "gen_ai.choice" => {
                if let Some(value) = body(&["message", "content", "gen_ai.event.content"]) {
                    content.output.extend(message_text(&value));
                }
            }
            _ => {}
        }
    }
    content
}

/// The attributes kept as the trace's metadata (never message text).
const METADATA_KEYS: &[&str] = &[
    "gen_ai.operation.name",
    "gen_ai.request.model",
    "gen_ai.response.id",
    "gen_ai.response.finish_reasons",
    "gen_ai.conversation.id",
    "gen_ai.agent.name",
    "gen_ai.request.temperature",
    "gen_ai.request.max_tokens",
    "server.address",
    "openinference.span.kind",
];

fn trace_of(
    span: &Span,
    attributes: &Map<String, Value>,
    resource: &Map<String, Value>,
    domain: &str,
    content: Content,
) -> TraceInput {
    let model = first_text(
        attributes,
        &[
            "gen_ai.response.model",
            "gen_ai.request.model",
            "llm.model_name",
        ],
    )
    .unwrap_or("unknown");
    let provider = first_text(
        attributes,
        &[
            "gen_ai.provider.name",
            "gen_ai.system",
            "llm.provider",
            "llm.system",
        ],
    );
    let mut metadata: BTreeMap<String, Value> = BTreeMap::new();
    for key in METADATA_KEYS {
        if let Some(value) = attributes.get(*key).filter(|v| !v.is_null()) {
            metadata.insert((*key).to_string(), value.clone());
        }
    }
    if let Some(service) = text(resource, "service.name") {
        metadata.insert("service.name".into(), Value::String(service.to_string()));
    }
    if !span.name.is_empty() {
        metadata.insert("otel.span.name".into(), Value::String(span.name.clone()));
    }
    let start = span.start_time_unix_nano.as_ref().and_then(Integer::value);
    let end = span.end_time_unix_nano.as_ref().and_then(Integer::value);
    let latency_ms = match (start, end) {
        (Some(start), Some(end)) if start > 0 && end >= start => {
            u64::try_from((end - start) / 1_000_000).ok()
        }
        _ => None,
    };
    let external_id = match (span.trace_id.is_empty(), span.span_id.is_empty()) {
        (false, false) => Some(format!("{}/{}", span.trace_id, span.span_id)),
        (false, true) => Some(span.trace_id.clone()),
        (true, false) => Some(span.span_id.clone()),
        (true, true) => None,
    };
    let system = (!content.system.is_empty()).then(|| content.system.join("\n"));
    TraceInput {
        model: model.to_string(),
        provider: provider.map(str::to_string),
        domain: domain.to_string(),
        system,
        input: content.input,
        output: content.output.join("\n\n"),
        metadata,
        input_tokens: count(
            attributes,
            &[
                "gen_ai.usage.input_tokens",
                "gen_ai.usage.prompt_tokens",
                "llm.token_count.prompt",
            ],
        ),
        output_tokens: count(
            attributes,
            &[
                "gen_ai.usage.output_tokens",
                "gen_ai.usage.completion_tokens",
                "llm.token_count.completion",
            ],
        ),
        latency_ms,
        started_at: start.and_then(rfc3339),
        ended_at: end.and_then(rfc3339),
        external_id,
    }
}

/// Nanoseconds since the Unix epoch as RFC 3339; zero (unset) and out-of-range give none.
fn rfc3339(nanos: i128) -> Option<String> {
    if nanos <= 0 {
        return None;
    }
    let seconds = i64::try_from(nanos / 1_000_000_000).ok()?;
    let sub = u32::try_from(nanos % 1_000_000_000).ok()?;
    chrono::DateTime::from_timestamp(seconds, sub)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true))
}

pub mod proto;
#[cfg(test)]
mod tests;
