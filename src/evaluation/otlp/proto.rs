//! The OTLP protobuf encoding of the same request: the messages of
//! `opentelemetry/proto/collector/trace/v1/trace_service.proto` and the trace, common and
//! resource protos that `POST /v1/traces` reads (only the fields it uses; the rest are
//! skipped as protobuf skips unknown fields), the response, and `google.rpc.Status` for
//! refusals. Field numbers are those of the OTLP 1.x protos.
//!
//! Decoding is prost's, with its nesting limit; this file converts into the JSON-shaped
//! request so that one mapping serves both encodings.

use prost::Message;

use super::{
    AnyValue, ArrayValue, ExportTraceRequest, Integer, KeyValue, KeyValueList, OtlpError, Resource,
    ResourceSpans, ScopeSpans, Span, SpanEvent,
};

#[derive(Clone, PartialEq, Message)]
struct ExportTraceServiceRequest {
    #[prost(message, repeated, tag = "1")]
    resource_spans: Vec<PbResourceSpans>,
}

#[derive(Clone, PartialEq, Message)]
struct PbResourceSpans {
    #[prost(message, optional, tag = "1")]
    resource: Option<PbResource>,
    #[prost(message, repeated, tag = "2")]
    scope_spans: Vec<PbScopeSpans>,
}

#[derive(Clone, PartialEq, Message)]
struct PbResource {
    #[prost(message, repeated, tag = "1")]
    attributes: Vec<PbKeyValue>,
}

#[derive(Clone, PartialEq, Message)]
struct PbScopeSpans {
    #[prost(message, repeated, tag = "2")]
    spans: Vec<PbSpan>,
}

#[derive(Clone, PartialEq, Message)]
struct PbSpan {
    #[prost(bytes = "vec", tag = "1")]
    trace_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    span_id: Vec<u8>,
    #[prost(string, tag = "5")]
    name: String,
    #[prost(fixed64, tag = "7")]
    start_time_unix_nano: u64,
    #[prost(fixed64, tag = "8")]
    end_time_unix_nano: u64,
    #[prost(message, repeated, tag = "9")]
    attributes: Vec<PbKeyValue>,
    #[prost(message, repeated, tag = "11")]
    events: Vec<PbEvent>,
}

#[derive(Clone, PartialEq, Message)]
struct PbEvent {
    #[prost(string, tag = "2")]
    name: String,
    #[prost(message, repeated, tag = "3")]
    attributes: Vec<PbKeyValue>,
}

#[derive(Clone, PartialEq, Message)]
struct PbKeyValue {
    #[prost(string, tag = "1")]
    key: String,
    #[prost(message, optional, tag = "2")]
    value: Option<PbAnyValue>,
}

#[derive(Clone, PartialEq, Message)]
struct PbAnyValue {
    #[prost(oneof = "PbValue", tags = "1, 2, 3, 4, 5, 6, 7")]
    value: Option<PbValue>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum PbValue {
    #[prost(string, tag = "1")]
    String(String),
    #[prost(bool, tag = "2")]
    Bool(bool),
    #[prost(int64, tag = "3")]
    Int(i64),
    #[prost(double, tag = "4")]
    Double(f64),
    #[prost(message, tag = "5")]
    Array(PbArrayValue),
    #[prost(message, tag = "6")]
    KvList(PbKeyValueList),
    #[prost(bytes = "vec", tag = "7")]
    Bytes(Vec<u8>),
}

#[derive(Clone, PartialEq, Message)]
struct PbArrayValue {
    #[prost(message, repeated, tag = "1")]
    values: Vec<PbAnyValue>,
}

#[derive(Clone, PartialEq, Message)]
struct PbKeyValueList {
    #[prost(message, repeated, tag = "1")]
    values: Vec<PbKeyValue>,
}

#[derive(Clone, PartialEq, Message)]
struct ExportTraceServiceResponse {
    #[prost(message, optional, tag = "1")]
    partial_success: Option<ExportTracePartialSuccess>,
}

#[derive(Clone, PartialEq, Message)]
struct ExportTracePartialSuccess {
    #[prost(int64, tag = "1")]
    rejected_spans: i64,
    #[prost(string, tag = "2")]
    error_message: String,
}

#[derive(Clone, PartialEq, Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// Decodes a protobuf `ExportTraceServiceRequest`.
pub fn parse(body: &[u8]) -> Result<ExportTraceRequest, OtlpError> {
    let request = ExportTraceServiceRequest::decode(body)
        .map_err(|e| OtlpError::Malformed(format!("protobuf: {e}")))?;
    Ok(ExportTraceRequest {
        resource_spans: request
            .resource_spans
            .into_iter()
            .map(|rs| ResourceSpans {
                resource: rs.resource.map(|r| Resource {
                    attributes: key_values(r.attributes),
                }),
                scope_spans: rs
                    .scope_spans
                    .into_iter()
                    .map(|ss| ScopeSpans {
                        spans: ss.spans.into_iter().map(span).collect(),
                    })
                    .collect(),
            })
            .collect(),
    })
}

fn span(span: PbSpan) -> Span {
    let time = |nanos: u64| (nanos > 0).then(|| Integer::Number(nanos.into()));
    Span {
        // The JSON encoding writes ids as hex; so does the trace's external id.
        trace_id: to_hex(&span.trace_id),
        span_id: to_hex(&span.span_id),
        name: span.name,
        start_time_unix_nano: time(span.start_time_unix_nano),
        end_time_unix_nano: time(span.end_time_unix_nano),
        attributes: key_values(span.attributes),
        events: span
            .events
            .into_iter()
            .map(|e| SpanEvent {
                name: e.name,
                attributes: key_values(e.attributes),
            })
            .collect(),
    }
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn key_values(values: Vec<PbKeyValue>) -> Vec<KeyValue> {
    values
        .into_iter()
        .map(|kv| KeyValue {
            key: kv.key,
            value: kv.value.map(any_value),
        })
        .collect()
}

fn any_value(value: PbAnyValue) -> AnyValue {
    let mut out = AnyValue::default();
    match value.value {
        Some(PbValue::String(s)) => out.string_value = Some(s),
        Some(PbValue::Bool(b)) => out.bool_value = Some(b),
        Some(PbValue::Int(i)) => out.int_value = Some(Integer::Number(i.into())),
        Some(PbValue::Double(d)) => {
            out.double_value = serde_json::Number::from_f64(d).map(serde_json::Value::Number)
        }
        Some(PbValue::Array(a)) => {
            out.array_value = Some(ArrayValue {
                values: a.values.into_iter().map(any_value).collect(),
            })
        }
        Some(PbValue::KvList(l)) => {
            out.kvlist_value = Some(KeyValueList {
                values: key_values(l.values),
            })
        }
        Some(PbValue::Bytes(b)) => {
            use base64::Engine;
            out.bytes_value = Some(base64::engine::general_purpose::STANDARD.encode(b))
        }
        None => {}
    }
    out
}

/// An `ExportTraceServiceResponse`, with a partial success when spans were not kept.
pub fn response(rejected: usize, message: &str) -> Vec<u8> {
    ExportTraceServiceResponse {
        partial_success: (rejected > 0).then(|| ExportTracePartialSuccess {
            rejected_spans: i64::try_from(rejected).unwrap_or(i64::MAX),
            error_message: message.to_string(),
        }),
    }
    .encode_to_vec()
}

/// A `google.rpc.Status`, the body of a refusal.
pub fn status(code: u16, message: &str) -> Vec<u8> {
    RpcStatus {
        code: i32::from(code),
        message: message.to_string(),
    }
    .encode_to_vec()
}

#[cfg(test)]
fn from_hex(text: &str) -> Vec<u8> {
    (0..text.len() / 2)
        .filter_map(|i| u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
pub(super) fn encode_request_for_tests(json: &ExportTraceRequest) -> Vec<u8> {
    fn kv(values: &[KeyValue]) -> Vec<PbKeyValue> {
        values
            .iter()
            .map(|v| PbKeyValue {
                key: v.key.clone(),
                value: v.value.as_ref().map(any),
            })
            .collect()
    }
    fn any(value: &AnyValue) -> PbAnyValue {
        let value = if let Some(s) = &value.string_value {
            Some(PbValue::String(s.clone()))
        } else if let Some(i) = value.int_value.as_ref().and_then(Integer::value) {
            Some(PbValue::Int(i64::try_from(i).unwrap_or_default()))
        } else if let Some(b) = value.bool_value {
            Some(PbValue::Bool(b))
        } else if let Some(a) = &value.array_value {
            Some(PbValue::Array(PbArrayValue {
                values: a.values.iter().map(any).collect(),
            }))
        } else {
            value.kvlist_value.as_ref().map(|l| {
                PbValue::KvList(PbKeyValueList {
                    values: kv(&l.values),
                })
            })
        };
        PbAnyValue { value }
    }
    let nanos = |n: &Option<Integer>| {
        n.as_ref()
            .and_then(Integer::value)
            .and_then(|v| u64::try_from(v).ok())
            .unwrap_or(0)
    };
    ExportTraceServiceRequest {
        resource_spans: json
            .resource_spans
            .iter()
            .map(|rs| PbResourceSpans {
                resource: rs.resource.as_ref().map(|r| PbResource {
                    attributes: kv(&r.attributes),
                }),
                scope_spans: rs
                    .scope_spans
                    .iter()
                    .map(|ss| PbScopeSpans {
                        spans: ss
                            .spans
                            .iter()
                            .map(|s| PbSpan {
                                trace_id: from_hex(&s.trace_id),
                                span_id: from_hex(&s.span_id),
                                name: s.name.clone(),
                                start_time_unix_nano: nanos(&s.start_time_unix_nano),
                                end_time_unix_nano: nanos(&s.end_time_unix_nano),
                                attributes: kv(&s.attributes),
                                events: s
                                    .events
                                    .iter()
                                    .map(|e| PbEvent {
                                        name: e.name.clone(),
                                        attributes: kv(&e.attributes),
                                    })
                                    .collect(),
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect(),
    }
    .encode_to_vec()
}
