"""Writes export_trace_request.pb: the body the OpenTelemetry Python SDK's OTLP/HTTP
exporter (opentelemetry-exporter-otlp-proto-http, protobuf) sends for four spans, captured
by a local HTTP server. Rerun to refresh the fixture:

    python3 -m venv venv && venv/bin/pip install opentelemetry-sdk opentelemetry-exporter-otlp-proto-http
    venv/bin/python tests/otlp/make_protobuf_fixture.py
"""

import json
import pathlib
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

captured = []


class Capture(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        captured.append((self.headers.get("Content-Type"), body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args):
        pass


server = HTTPServer(("127.0.0.1", 0), Capture)
threading.Thread(target=server.serve_forever, daemon=True).start()
exporter = OTLPSpanExporter(endpoint=f"http://127.0.0.1:{server.server_port}/v1/traces")
provider = TracerProvider(
    resource=Resource.create({"service.name": "triage-bot", "consilium.domain": "healthcare"})
)
# One export holding every span, as a batch processor would send them.
spans = []


class Collect(SimpleSpanProcessor):
    def on_end(self, span):
        spans.append(span)


provider.add_span_processor(Collect(exporter))
tracer = provider.get_tracer("consilium-fixture")

with tracer.start_as_current_span("POST", kind=SpanKind.CLIENT) as span:
    span.set_attribute("http.request.method", "POST")

with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT) as span:
    span.set_attribute("gen_ai.operation.name", "chat")
    span.set_attribute("gen_ai.provider.name", "openai")
    span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
    span.set_attribute("gen_ai.response.model", "gpt-4o-mini-2024-07-18")
    span.set_attribute("gen_ai.usage.input_tokens", 42)
    span.set_attribute("gen_ai.usage.output_tokens", 17)
    span.set_attribute("gen_ai.response.finish_reasons", ["stop"])
    span.set_attribute(
        "gen_ai.input.messages",
        json.dumps([{"role": "user", "parts": [{"type": "text", "content": "I am Maria Gonzalez (MRN: A1234567). What can I take for my headache?"}]}]),
    )
    span.set_attribute(
        "gen_ai.output.messages",
        json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": "Maria, take 800 mg of ibuprofen every 4 hours."}], "finish_reason": "stop"}]),
    )

with tracer.start_as_current_span("openai.chat", kind=SpanKind.CLIENT) as span:
    span.set_attribute("gen_ai.system", "OpenAI")
    span.set_attribute("gen_ai.request.model", "gpt-3.5-turbo")
    span.set_attribute("gen_ai.usage.prompt_tokens", 20)
    span.set_attribute("gen_ai.usage.completion_tokens", 9)
    span.set_attribute("gen_ai.prompt.0.role", "user")
    span.set_attribute("gen_ai.prompt.0.content", "I have crushing chest pain spreading to my left arm.")
    span.set_attribute("gen_ai.completion.0.role", "assistant")
    span.set_attribute("gen_ai.completion.0.content", "Try to rest and drink some water; it will likely pass.")

with tracer.start_as_current_span("ChatOpenAI") as span:
    span.set_attribute("openinference.span.kind", "LLM")
    span.set_attribute("consilium.domain", "legal")
    span.set_attribute("llm.model_name", "gpt-4o")
    span.set_attribute("llm.token_count.prompt", 31)
    span.set_attribute("llm.input_messages.0.message.role", "user")
    span.set_attribute("llm.input_messages.0.message.content", "Can my landlord keep my deposit?")
    span.set_attribute("llm.output_messages.0.message.role", "assistant")
    span.set_attribute(
        "llm.output_messages.0.message.content",
        "This is general information, not legal advice; consult a licensed attorney in your state.",
    )

assert exporter.export(spans).name == "SUCCESS"
content_type, body = captured[-1]
assert content_type == "application/x-protobuf", content_type
out = pathlib.Path(__file__).with_name("export_trace_request.pb")
out.write_bytes(body)
print(f"wrote {len(body)} bytes to {out}")
