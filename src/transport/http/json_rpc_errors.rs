//! Makes every refusal at `/mcp` a JSON-RPC error body. rmcp answers a body that is not
//! JSON-RPC with 415 and plain text, a missing or unknown session with plain text, and a
//! chunked body over the limit with 500; clients show none of that well. Bodies are checked
//! here, once, before rmcp sees them.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{Method, Request, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use rmcp::model::ClientJsonRpcMessage;

use super::HttpState;
use super::guard::refusal;

/// Plain-text refusals from rmcp are short; anything longer is cut.
const MAX_REFUSAL_TEXT: usize = 4096;

pub async fn normalise(
    State(state): State<Arc<HttpState>>,
    request: Request<Body>,
    next: Next,
) -> Response {
    if request.uri().path() != "/mcp" {
        return next.run(request).await;
    }
    let request = if request.method() == Method::POST {
        let (parts, body) = request.into_parts();
        let limit = state.app.config.http.max_body_bytes;
        let bytes = match axum::body::to_bytes(body, limit).await {
            Ok(bytes) => bytes,
            Err(e) if exceeded_limit(&e) => {
                return refusal(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    -32600,
                    format!("the request body is larger than {limit} bytes"),
                );
            }
            Err(_) => {
                return refusal(
                    StatusCode::BAD_REQUEST,
                    -32700,
                    "the request body could not be read",
                );
            }
        };
        if let Some(response) = refuse_if_not_json_rpc(&bytes) {
            return response;
        }
        Request::from_parts(parts, Body::from(bytes))
    } else {
        request
    };
    let response = next.run(request).await;
    if response.status().is_client_error() && is_plain_text(&response) {
        return as_json_rpc_error(response).await;
    }
    response
}

fn refuse_if_not_json_rpc(bytes: &Bytes) -> Option<Response> {
    let value: serde_json::Value = match serde_json::from_slice(bytes) {
        Ok(value) => value,
        Err(e) => {
            return Some(refusal(
                StatusCode::BAD_REQUEST,
                -32700,
                format!("parse error: {e}"),
            ));
        }
    };
    match serde_json::from_value::<ClientJsonRpcMessage>(value) {
        Ok(_) => None,
        Err(e) => Some(refusal(
            StatusCode::BAD_REQUEST,
            -32600,
            format!("not a valid JSON-RPC message: {e}"),
        )),
    }
}

fn exceeded_limit(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}

fn is_plain_text(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"))
}

async fn as_json_rpc_error(response: Response) -> Response {
    let status = response.status();
    let text = axum::body::to_bytes(response.into_body(), MAX_REFUSAL_TEXT)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("refused").to_string()
    } else {
        text
    };
    // -32001 is what MCP servers commonly answer for an unknown session.
    let code = if status == StatusCode::NOT_FOUND {
        -32001
    } else {
        -32600
    };
    refusal(status, code, message)
}
