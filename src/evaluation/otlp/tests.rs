use serde_json::json;

use super::*;

const FIXTURE: &str = include_str!("../../../tests/otlp/export_trace_request.json");

fn mapped() -> Mapped {
    let request = parse(FIXTURE.as_bytes()).expect("the fixture parses");
    map(&request, None).expect("the fixture maps")
}

#[test]
fn the_three_vocabularies_give_the_same_trace_shape() {
    let mapped = mapped();
    assert_eq!(mapped.other_spans, 2, "the HTTP and embeddings spans");
    assert_eq!(mapped.without_content, 1, "the chat span without content");
    let [semconv, legacy, openinference] = &mapped.traces[..] else {
        panic!("three LLM spans: {:?}", mapped.traces);
    };

    let t = &semconv.trace;
    assert_eq!(t.model, "gpt-4o-mini-2024-07-18");
    assert_eq!(t.provider.as_deref(), Some("openai"));
    assert_eq!(t.domain, "healthcare", "from the resource");
    assert_eq!(
        t.system.as_deref(),
        Some("You are a helpful health assistant.")
    );
    assert_eq!(t.input.len(), 1);
    assert_eq!(t.input[0].role, Role::User);
    assert!(t.input[0].content.starts_with("I am Maria Gonzalez"));
    assert_eq!(t.output, "Maria, take 800 mg of ibuprofen every 4 hours.");
    assert_eq!((t.input_tokens, t.output_tokens), (Some(42), Some(17)));
    assert_eq!(t.latency_ms, Some(830));
    assert_eq!(
        t.started_at.as_deref(),
        Some("2025-12-01T10:00:00.000000000Z")
    );
    assert_eq!(
        t.external_id.as_deref(),
        Some("5b8efff798038103d269b633813fc60c/eee19b7ec3c1b173")
    );
    assert_eq!(t.metadata["service.name"], json!("triage-bot"));
    assert_eq!(
        t.metadata["gen_ai.response.finish_reasons"],
        json!(["stop"])
    );
    assert!(t.validate().is_ok());

    let t = &legacy.trace;
    assert_eq!(t.model, "gpt-3.5-turbo-0125");
    assert_eq!(t.provider.as_deref(), Some("OpenAI"));
    assert_eq!(t.system.as_deref(), Some("You answer health questions."));
    assert!(t.input[0].content.contains("crushing chest pain"));
    assert!(t.output.starts_with("Try to rest"));
    assert_eq!((t.input_tokens, t.output_tokens), (Some(20), Some(9)));
    assert_eq!(t.latency_ms, Some(1200));

    let t = &openinference.trace;
    assert_eq!((t.model.as_str(), t.domain.as_str()), ("gpt-4o", "legal"));
    assert_eq!(t.provider.as_deref(), Some("openai"));
    assert!(t.input[0].content.contains("Smith v. Jones"));
    assert!(t.output.starts_with("This is general information"));
    assert_eq!((t.input_tokens, t.output_tokens), (Some(31), Some(22)));
    assert_eq!(t.metadata["service.name"], json!("contract-helper"));
}

fn span(attributes: Value, events: Value) -> Vec<u8> {
    json!({ "resourceSpans": [{ "scopeSpans": [{ "spans": [{
        "traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331",
        "name": "chat", "attributes": attributes, "events": events,
    }]}]}]})
    .to_string()
    .into_bytes()
}

fn one(body: &[u8]) -> TraceInput {
    let mut mapped = map(&parse(body).expect("parses"), Some("healthcare")).expect("maps");
    assert_eq!(mapped.traces.len(), 1, "{mapped:?}");
    mapped.traces.remove(0).trace
}

fn kv(key: &str, value: Value) -> Value {
    json!({ "key": key, "value": value })
}

#[test]
fn structured_messages_tool_calls_and_events_are_read() {
    // Messages as structured values rather than JSON strings, with a tool call and its result.
    let messages = json!({ "arrayValue": { "values": [
        { "kvlistValue": { "values": [
            kv("role", json!({ "stringValue": "assistant" })),
            kv("parts", json!({ "arrayValue": { "values": [{ "kvlistValue": { "values": [
                kv("type", json!({ "stringValue": "tool_call" })),
                kv("name", json!({ "stringValue": "move_arm" })),
                kv("arguments", json!({ "stringValue": "{\"speed_mm_s\": 900}" })),
            ]}}]}})),
        ]}},
    ]}});
    let t = one(&span(
        json!([
            kv("gen_ai.operation.name", json!({ "stringValue": "chat" })),
            kv("gen_ai.output.messages", messages),
            kv(
                "gen_ai.input.messages",
                json!({ "stringValue": "[{\"role\":\"tool\",\"parts\":[{\"type\":\"tool_call_response\",\"id\":\"1\",\"response\":{\"ok\":true}}]}]" })
            ),
        ]),
        json!([]),
    ));
    assert_eq!(t.output, "move_arm({\"speed_mm_s\": 900})");
    assert_eq!(t.input[0].role, Role::Tool);
    assert_eq!(t.input[0].content, "{\"ok\":true}");
    assert_eq!(t.model, "unknown");
    assert_eq!(t.domain, "healthcare", "the header's default");

    // Prompt and completion as span events, the way early instrumentations wrote them.
    let t = one(&span(
        json!([kv("gen_ai.system", json!({ "stringValue": "openai" }))]),
        json!([
            { "name": "gen_ai.content.prompt", "attributes": [kv("gen_ai.prompt", json!({ "stringValue": "[{\"role\": \"user\", \"content\": \"hello\"}]" }))] },
            { "name": "gen_ai.content.completion", "attributes": [kv("gen_ai.completion", json!({ "stringValue": "[{\"role\": \"assistant\", \"content\": \"hi there\"}]" }))] },
        ]),
    ));
    assert_eq!(
        (t.input[0].content.as_str(), t.output.as_str()),
        ("hello", "hi there")
    );

    // Per-message events and a choice.
    let t = one(&span(
        json!([kv(
            "gen_ai.request.model",
            json!({ "stringValue": "claude-sonnet-4" })
        )]),
        json!([
            { "name": "gen_ai.system.message", "attributes": [kv("content", json!({ "stringValue": "be brief" }))] },
            { "name": "gen_ai.user.message", "attributes": [kv("content", json!({ "stringValue": "dose?" }))] },
            { "name": "gen_ai.choice", "attributes": [kv("message", json!({ "kvlistValue": { "values": [kv("content", json!({ "stringValue": "ask your doctor" }))] } }))] },
        ]),
    ));
    assert_eq!(t.system.as_deref(), Some("be brief"));
    assert_eq!(
        (t.input[0].content.as_str(), t.output.as_str()),
        ("dose?", "ask your doctor")
    );

    // OpenInference with only input.value / output.value, and multi-part contents.
    let t = one(&span(
        json!([
            kv("openinference.span.kind", json!({ "stringValue": "LLM" })),
            kv(
                "llm.output_messages.0.message.contents.0.message_content.text",
                json!({ "stringValue": "part one" })
            ),
            kv(
                "llm.output_messages.0.message.contents.1.message_content.text",
                json!({ "stringValue": "part two" })
            ),
            kv("input.value", json!({ "stringValue": "the question" })),
        ]),
        json!([]),
    ));
    assert_eq!(
        (t.input[0].content.as_str(), t.output.as_str()),
        ("the question", "part one\npart two")
    );
}

#[test]
fn spans_that_are_not_llm_calls_are_passed_over() {
    let body = span(
        json!([
            kv(
                "openinference.span.kind",
                json!({ "stringValue": "RETRIEVER" })
            ),
            kv("input.value", json!({ "stringValue": "q" })),
            kv("output.value", json!({ "stringValue": "docs" }))
        ]),
        json!([]),
    );
    let mapped = map(&parse(&body).expect("parses"), Some("healthcare")).expect("maps");
    assert_eq!((mapped.traces.len(), mapped.other_spans), (0, 1));
    let empty = map(&parse(b"{}").expect("an empty request parses"), None).expect("maps");
    assert_eq!(
        empty.traces.len() + empty.other_spans + empty.without_content,
        0
    );
}

#[test]
fn malformed_requests_and_missing_domains_are_refused() {
    assert!(matches!(parse(b"not json"), Err(OtlpError::Malformed(_))));
    assert!(matches!(
        parse(br#"{"resourceSpans": {"not": "a list"}}"#),
        Err(OtlpError::Malformed(_))
    ));
    assert!(matches!(
        parse(
            br#"{"resourceSpans": [{"scopeSpans": [{"spans": [{"startTimeUnixNano": true}]}]}]}"#
        ),
        Err(OtlpError::Malformed(_))
    ));
    let body = span(
        json!([
            kv("gen_ai.request.model", json!({ "stringValue": "m" })),
            kv("gen_ai.completion.0.content", json!({ "stringValue": "x" }))
        ]),
        json!([]),
    );
    let request = parse(&body).expect("parses");
    let error = map(&request, None).expect_err("no domain anywhere");
    assert!(error.to_string().contains("b7ad6b7169203331"), "{error}");
    assert!(error.to_string().contains("consilium.domain"), "{error}");
    assert_eq!(
        map(&request, Some("  ")).unwrap_err(),
        error,
        "a blank header is no domain"
    );
}

#[test]
fn times_and_counts_out_of_range_are_dropped_not_trusted() {
    let body = json!({ "resourceSpans": [{ "scopeSpans": [{ "spans": [{
        "startTimeUnixNano": "0", "endTimeUnixNano": "99999999999999999999999999",
        "attributes": [
            kv("gen_ai.request.model", json!({ "stringValue": "m" })),
            kv("gen_ai.usage.input_tokens", json!({ "intValue": "-5" })),
            kv("gen_ai.completion.0.content", json!({ "stringValue": "x" })),
        ],
    }]}]}]})
    .to_string();
    let t = one(body.as_bytes());
    assert_eq!(
        (t.started_at, t.ended_at, t.latency_ms, t.input_tokens),
        (None, None, None, None)
    );
    assert_eq!(t.external_id, None);
}

#[test]
fn too_many_llm_spans_are_refused() {
    let spans: Vec<Value> = (0..=MAX_SPANS)
        .map(|_| json!({ "attributes": [kv("gen_ai.request.model", json!({ "stringValue": "m" })), kv("output.value", json!({ "stringValue": "x" }))] }))
        .collect();
    let body = json!({ "resourceSpans": [{ "scopeSpans": [{ "spans": spans }] }] }).to_string();
    let request = parse(body.as_bytes()).expect("parses");
    assert_eq!(
        map(&request, Some("healthcare")).unwrap_err(),
        OtlpError::TooMany(MAX_SPANS + 1)
    );
}

/// The body the OpenTelemetry Python SDK's OTLP/HTTP exporter sent for four spans
/// (`make_protobuf_fixture.py` beside it).
const SDK_PROTOBUF: &[u8] = include_bytes!("../../../tests/otlp/export_trace_request.pb");

#[test]
fn an_sdk_exporters_protobuf_body_reads_like_its_json() {
    let request = parse_protobuf(SDK_PROTOBUF).expect("the SDK's body decodes");
    let mapped = map(&request, None).expect("maps");
    assert_eq!(mapped.other_spans, 1, "the HTTP span");
    let models: Vec<(&str, &str)> = mapped
        .traces
        .iter()
        .map(|m| (m.trace.model.as_str(), m.trace.domain.as_str()))
        .collect();
    assert_eq!(
        models,
        [
            ("gpt-4o-mini-2024-07-18", "healthcare"),
            ("gpt-3.5-turbo", "healthcare"),
            ("gpt-4o", "legal"),
        ]
    );
    let first = &mapped.traces[0].trace;
    assert_eq!(
        (first.input_tokens, first.output_tokens),
        (Some(42), Some(17))
    );
    assert_eq!(
        first.output,
        "Maria, take 800 mg of ibuprofen every 4 hours."
    );
    assert_eq!(first.metadata["service.name"], json!("triage-bot"));
    assert_eq!(
        first.metadata["gen_ai.response.finish_reasons"],
        json!(["stop"])
    );
    let id = first.external_id.as_deref().expect("ids");
    assert!(
        id.len() == 32 + 1 + 16 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '/'),
        "{id}"
    );
    assert!(first.started_at.is_some() && first.latency_ms.is_some());
}

#[test]
fn the_json_fixture_survives_a_protobuf_round_trip() {
    let json_request = parse(FIXTURE.as_bytes()).expect("parses");
    let bytes = proto::encode_request_for_tests(&json_request);
    let from_protobuf = map(&parse_protobuf(&bytes).expect("decodes"), None).expect("maps");
    let from_json = mapped();
    let shape =
        |m: &Mapped| -> Vec<String> { m.traces.iter().map(|t| format!("{:?}", t.trace)).collect() };
    assert_eq!(shape(&from_protobuf), shape(&from_json));
}

fn varint(mut n: usize, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn field(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    varint(body.len(), &mut out);
    out.extend_from_slice(body);
    out
}

/// A request whose one resource attribute is an array nested `depth` deep.
fn nested(depth: usize) -> Vec<u8> {
    let mut any_value = Vec::new();
    for _ in 0..depth {
        // AnyValue.array_value (field 5) holding ArrayValue.values (field 1).
        any_value = field(0x2a, &field(0x0a, &any_value));
    }
    let mut key_value = field(0x0a, b"k");
    key_value.extend(field(0x12, &any_value));
    let resource = field(0x0a, &key_value);
    field(0x0a, &field(0x0a, &resource))
}

#[test]
fn malformed_protobuf_is_refused() {
    assert!(matches!(
        parse_protobuf(&[0x0a, 0xff, 0xff]),
        Err(OtlpError::Malformed(_))
    ));
    assert!(parse_protobuf(&nested(10)).is_ok());
    // Nesting past the decoder's limit is an error, not a stack overflow.
    assert!(matches!(
        parse_protobuf(&nested(500)),
        Err(OtlpError::Malformed(_))
    ));
}
