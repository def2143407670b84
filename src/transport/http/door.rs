//! Authentication at the door of the MCP and OTLP routes (`/mcp`, `/sse`, `/messages`,
//! `/v1/traces`): every request must carry `Authorization: Bearer` with an API key or an
//! access token, and goes on with the [`Principal`] it proved in its extensions, where the
//! handlers read it.
//!
//! Only when the operator turned authentication off (`--insecure-no-auth`, loopback binds
//! only) may a request without credentials pass, acting as the local owner. Credentials are
//! read and checked by `crate::auth`; this module only chooses the answer, a JSON-RPC error
//! body as MCP clients expect, and never logs or echoes a presented token.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::HttpState;
use crate::auth::AuthFailure;
use crate::auth::http::{Bearer, bearer, www_authenticate};
use crate::identity::Principal;

pub async fn authenticate(
    State(state): State<Arc<HttpState>>,
    mut request: Request<Body>,
    next: Next,
) -> Response {
    let outcome = match bearer(request.headers()) {
        Bearer::Present(token) => state.app.auth.authenticate_bearer(token).await,
        Bearer::Malformed => Err(AuthFailure::Malformed),
        Bearer::Absent if state.app.config.http.insecure_no_auth => Ok(state.app.local_principal()),
        Bearer::Absent => Err(AuthFailure::Missing),
    };
    match outcome {
        Ok(principal) => {
            request.extensions_mut().insert::<Principal>(principal);
            next.run(request).await
        }
        Err(failure) => refused(failure),
    }
}

/// 401 with the RFC 6750 challenge, or 503 when the credential could not be checked.
fn refused(failure: AuthFailure) -> Response {
    let (status, message) = match failure {
        AuthFailure::Unavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "credentials cannot be checked right now; try again shortly".to_string(),
        ),
        AuthFailure::Missing => (
            StatusCode::UNAUTHORIZED,
            "authentication required: send 'Authorization: Bearer <API key or access token>'"
                .to_string(),
        ),
        other => (
            StatusCode::UNAUTHORIZED,
            format!("invalid credentials: {other}"),
        ),
    };
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": { "code": -32001, "message": message },
    });
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, www_authenticate(failure));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_credential_gets_a_challenge_naming_the_error() {
        let response = refused(AuthFailure::Invalid);
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let challenge = response.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap();
        assert!(
            challenge.starts_with("Bearer realm=\"consilium\", error=\"invalid_token\""),
            "{challenge}"
        );
        let missing = refused(AuthFailure::Missing);
        assert_eq!(
            missing.headers()[header::WWW_AUTHENTICATE],
            "Bearer realm=\"consilium\""
        );
        assert_eq!(
            refused(AuthFailure::Unavailable).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
}
