//! `POST /v1/traces`: OTLP/HTTP with protobuf or JSON bodies (plain or gzip), behind the
//! same door as `/mcp`, so any OpenTelemetry exporter can send the spans of its LLM calls.
//! The LLM spans are evaluated like `submit_trace` traces, all or none, metered under the
//! `trace` feature; the answer, in the request's encoding, is an
//! `ExportTraceServiceResponse`, or a `google.rpc.Status` with the status codes the OTLP
//! specification gives (400 not to be retried, 429 and 503 with `Retry-After`).
//!
//! It only reads, decodes and answers: mapping is `evaluation::otlp`, evaluation
//! `evaluation::ingest`. Span contents are never logged.

use std::io::Read;
use std::sync::Arc;
use std::time::Instant;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::HttpState;
use crate::app::App;
use crate::evaluation::otlp::{self, OtlpError};
use crate::evaluation::trace::TraceSource;
use crate::evaluation::{IngestError, TRACE_FEATURE, announce, judge_in_background};
use crate::identity::{Principal, Scope};
use crate::metering::{Admission, AdmitError, CallRequest, CallUsage, Outcome};

/// The header naming the rule pack for spans whose attributes name none.
pub const DOMAIN_HEADER: &str = "x-consilium-domain";
/// How much larger than the body limit a gzip body may grow when inflated.
const INFLATION_FACTOR: usize = 8;
/// What the metering records the call as.
const METERED_AS: &str = "otlp:/v1/traces";

/// `google.rpc.Code` values the OTLP specification uses.
mod rpc_code {
    pub const INVALID_ARGUMENT: u16 = 3;
    pub const PERMISSION_DENIED: u16 = 7;
    pub const RESOURCE_EXHAUSTED: u16 = 8;
    pub const INTERNAL: u16 = 13;
    pub const UNAVAILABLE: u16 = 14;
}

/// A refusal: an HTTP status with a `google.rpc.Status` body, and when to retry.
#[derive(Debug)]
struct Refusal {
    http: StatusCode,
    code: u16,
    message: String,
    retry_after: Option<u64>,
}

fn status(http: StatusCode, code: u16, message: impl Into<String>) -> Refusal {
    Refusal {
        http,
        code,
        message: message.into(),
        retry_after: None,
    }
}

fn retry_after(refusal: Refusal, seconds: u64) -> Refusal {
    Refusal {
        retry_after: Some(seconds.max(1)),
        ..refusal
    }
}

/// The encoding of a request, and so of its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Json,
    Protobuf,
}

impl Encoding {
    fn content_type(self) -> &'static str {
        match self {
            Encoding::Json => "application/json",
            Encoding::Protobuf => "application/x-protobuf",
        }
    }
}

impl Refusal {
    fn render(self, encoding: Encoding) -> Response {
        let body = match encoding {
            Encoding::Json => json!({ "code": self.code, "message": self.message })
                .to_string()
                .into_bytes(),
            Encoding::Protobuf => otlp::proto::status(self.code, &self.message),
        };
        let mut response = (
            self.http,
            [(header::CONTENT_TYPE, encoding.content_type())],
            body,
        )
            .into_response();
        if let Some(seconds) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

pub async fn export_traces(
    State(state): State<Arc<HttpState>>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let encoding = match encoding_of(&headers) {
        Ok(encoding) => encoding,
        Err(refusal) => return refusal.render(Encoding::Json),
    };
    match export(&state, &principal, &headers, &body, encoding).await {
        Ok(rejected) => accepted(rejected, encoding),
        Err(refusal) => refusal.render(encoding),
    }
}

async fn export(
    state: &HttpState,
    principal: &Principal,
    headers: &HeaderMap,
    body: &Bytes,
    encoding: Encoding,
) -> Result<usize, Refusal> {
    let app = &state.app;
    if !principal.has_scope(Scope::Eval) {
        return Err(status(
            StatusCode::FORBIDDEN,
            rpc_code::PERMISSION_DENIED,
            "sending traces needs the eval scope, which this credential does not hold",
        ));
    }
    let compression = compression_of(headers)?;
    if let Some(refusal) = app
        .maintenance
        .refusal(principal.acts_as_admin(), Some(TRACE_FEATURE))
    {
        return Err(retry_after(
            status(
                StatusCode::SERVICE_UNAVAILABLE,
                rpc_code::UNAVAILABLE,
                refusal.message,
            ),
            60,
        ));
    }
    let limit = app
        .config
        .http
        .max_body_bytes
        .saturating_mul(INFLATION_FACTOR);
    let default_domain = headers
        .get(DOMAIN_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = body.clone();
    // Inflating, decoding and mapping megabytes is CPU work: off the async threads.
    let mapped = tokio::task::spawn_blocking(move || {
        let inflated;
        let bytes: &[u8] = match compression {
            Compression::Identity => &body,
            Compression::Gzip => {
                inflated = inflate(&body, limit)?;
                &inflated
            }
        };
        let request = match encoding {
            Encoding::Json => otlp::parse(bytes),
            Encoding::Protobuf => otlp::parse_protobuf(bytes),
        };
        request
            .and_then(|request| otlp::map(&request, default_domain.as_deref()))
            .map_err(|error| match error {
                OtlpError::TooMany(_) => status(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    rpc_code::INVALID_ARGUMENT,
                    error.to_string(),
                ),
                _ => status(
                    StatusCode::BAD_REQUEST,
                    rpc_code::INVALID_ARGUMENT,
                    format!("{error}; nothing was stored"),
                ),
            })
    })
    .await
    .map_err(|_| {
        status(
            StatusCode::INTERNAL_SERVER_ERROR,
            rpc_code::INTERNAL,
            "the spans could not be read",
        )
    })??;
    let skipped = mapped.without_content;
    if mapped.traces.is_empty() {
        return Ok(skipped);
    }
    let _running = app.in_flight.start();
    let started = Instant::now();
    let admission = admit(app, principal).await?;
    let labels: Vec<String> = mapped.traces.iter().map(|m| m.span.clone()).collect();
    let inputs = mapped.traces.into_iter().map(|m| m.trace).collect();
    let result = app
        .evaluation
        .ingest(&principal.user_id, inputs, TraceSource::Otlp)
        .await;
    let (answer, outcome) = match result {
        Ok(ingested) => {
            let stored = ingested.len();
            for item in ingested {
                if let Some(reason) = item.judge_reason {
                    judge_in_background(app.clone(), principal.clone(), item, reason);
                }
            }
            announce(app, &principal.user_id, None);
            tracing::info!(stored, skipped, "OTLP spans evaluated");
            (Ok(skipped), Outcome::Ok)
        }
        Err(IngestError::Invalid { index, message }) => {
            let span = labels.get(index).map_or("?", String::as_str);
            let refusal = status(
                StatusCode::BAD_REQUEST,
                rpc_code::INVALID_ARGUMENT,
                format!("span {span}: {message}; nothing was stored"),
            );
            (Err(refusal), Outcome::ToolError("INVALID_ARGUMENTS".into()))
        }
        Err(IngestError::Batch(message)) => (
            Err(status(
                StatusCode::BAD_REQUEST,
                rpc_code::INVALID_ARGUMENT,
                message,
            )),
            Outcome::ToolError("INVALID_ARGUMENTS".into()),
        ),
        Err(error) => {
            tracing::error!(%error, "OTLP spans could not be stored");
            let refusal = status(
                StatusCode::SERVICE_UNAVAILABLE,
                rpc_code::UNAVAILABLE,
                "the evaluation store is unavailable; nothing was stored",
            );
            (
                Err(retry_after(refusal, 5)),
                Outcome::ToolError("UNAVAILABLE".into()),
            )
        }
    };
    app.meter.settle(
        admission,
        CallUsage {
            tokens_in: 0,
            tokens_out: 0,
            cost_micro_usd: 0,
            feature_units: None,
            latency: started.elapsed(),
            outcome,
        },
    );
    answer
}

/// The metering's admission of one export; a refusal carries when to try again.
async fn admit(app: &App, principal: &Principal) -> Result<Admission, Refusal> {
    let call = CallRequest::by(principal, METERED_AS, Some(TRACE_FEATURE), 0, 0);
    match app.meter.admit(&call).await {
        Ok(admission) => Ok(admission),
        Err(AdmitError::Refused(refusal)) => {
            app.meter.record_refusal(&call, &refusal);
            let wait = refusal.retry_after_seconds.unwrap_or_else(|| {
                refusal.reset_at.map_or(3_600, |reset| {
                    let now = app.clock.now().unix_seconds();
                    u64::try_from(reset.unix_seconds() - now).unwrap_or(60)
                })
            });
            Err(retry_after(
                status(
                    StatusCode::TOO_MANY_REQUESTS,
                    rpc_code::RESOURCE_EXHAUSTED,
                    refusal.message,
                ),
                wait,
            ))
        }
        Err(AdmitError::Unavailable(error)) => {
            tracing::warn!(%error, "usage limits could not be checked; refusing OTLP spans");
            Err(retry_after(
                status(
                    StatusCode::SERVICE_UNAVAILABLE,
                    rpc_code::UNAVAILABLE,
                    "usage limits cannot be checked right now; try again shortly",
                ),
                5,
            ))
        }
    }
}

/// 200 with an `ExportTraceServiceResponse`: empty, or a partial success naming the LLM
/// spans that carried no content to evaluate.
fn accepted(without_content: usize, encoding: Encoding) -> Response {
    let message = format!(
        "{without_content} LLM span(s) carried no message content and were not kept; \
         turn on content capture in the instrumentation \
         (OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true)"
    );
    let body = match encoding {
        Encoding::Protobuf => otlp::proto::response(without_content, &message),
        Encoding::Json if without_content == 0 => b"{}".to_vec(),
        Encoding::Json => json!({ "partialSuccess": {
            "rejectedSpans": without_content,
            "errorMessage": message,
        }})
        .to_string()
        .into_bytes(),
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, encoding.content_type())],
        body,
    )
        .into_response()
}

fn encoding_of(headers: &HeaderMap) -> Result<Encoding, Refusal> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => Ok(Encoding::Json),
        "application/x-protobuf" | "application/protobuf" => Ok(Encoding::Protobuf),
        _ => Err(status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            rpc_code::INVALID_ARGUMENT,
            "send an OTLP ExportTraceServiceRequest as application/x-protobuf or application/json",
        )),
    }
}

/// How the body is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    Identity,
    Gzip,
}

fn compression_of(headers: &HeaderMap) -> Result<Compression, Refusal> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity")
        .trim()
        .to_ascii_lowercase();
    match encoding.as_str() {
        "identity" | "" => Ok(Compression::Identity),
        "gzip" => Ok(Compression::Gzip),
        other => Err(status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            rpc_code::INVALID_ARGUMENT,
            format!("the content encoding {other:?} is not supported; send gzip or none"),
        )),
    }
}

/// A gzip body inflated, refused when it would grow past `limit` bytes.
fn inflate(body: &[u8], limit: usize) -> Result<Vec<u8>, Refusal> {
    let mut inflated = Vec::new();
    let read = flate2::read::GzDecoder::new(body)
        .take(limit as u64 + 1)
        .read_to_end(&mut inflated);
    match read {
        Ok(n) if n > limit => Err(status(
            StatusCode::PAYLOAD_TOO_LARGE,
            rpc_code::INVALID_ARGUMENT,
            format!("the body inflates past {limit} bytes"),
        )),
        Ok(_) => Ok(inflated),
        Err(_) => Err(status(
            StatusCode::BAD_REQUEST,
            rpc_code::INVALID_ARGUMENT,
            "the body is not valid gzip",
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn protobuf_and_json_are_taken_and_nothing_else() {
        let of = |value: &'static str| encoding_of(&headers(&[("content-type", value)]));
        assert_eq!(of("application/x-protobuf").unwrap(), Encoding::Protobuf);
        assert_eq!(
            of("Application/JSON; charset=utf-8").unwrap(),
            Encoding::Json
        );
        assert_eq!(
            of("text/plain").unwrap_err().http,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        assert!(encoding_of(&headers(&[])).is_err());
    }

    #[test]
    fn gzip_bodies_are_inflated_within_a_limit() {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&[b'a'; 10_000]).expect("compress");
        let gzipped = encoder.finish().expect("compress");
        assert_eq!(inflate(&gzipped, 10_000).expect("fits").len(), 10_000);
        assert_eq!(
            inflate(&gzipped, 9_999).unwrap_err().http,
            StatusCode::PAYLOAD_TOO_LARGE
        );
        assert_eq!(
            inflate(b"plain", 100).unwrap_err().http,
            StatusCode::BAD_REQUEST
        );
        let of = |value: &'static str| compression_of(&headers(&[("content-encoding", value)]));
        assert_eq!(of("gzip").unwrap(), Compression::Gzip);
        assert_eq!(
            of("br").unwrap_err().http,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        assert_eq!(
            compression_of(&headers(&[])).unwrap(),
            Compression::Identity
        );
    }
}
