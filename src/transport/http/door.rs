//! Authentication at the door of the MCP routes (`/mcp`, `/sse`, `/messages`): every request
//! must carry `Authorization: Bearer` with an API key or an access token, and goes on with
//! the [`Principal`] it proved in its extensions, where the MCP handler reads it.
//!
//! Only when the operator turned authentication off (`--insecure-no-auth`, loopback binds
//! only) may a request without credentials pass, acting as the local owner. This module
//! checks credentials through `crate::auth`; it never looks inside them itself, and never
//! logs or echoes a presented token.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::HttpState;
use crate::identity::Principal;

/// The realm named in every `WWW-Authenticate` challenge.
const REALM: &str = "consilium";

pub async fn authenticate(
    State(state): State<Arc<HttpState>>,
    mut request: Request<Body>,
    next: Next,
) -> Response {
    let principal = match bearer(request.headers()) {
        Bearer::Present(token) => match state.app.auth.authenticate_bearer(token).await {
            Ok(principal) => principal,
            Err(refused) => {
                tracing::info!(reason = %refused, "refused a bearer credential");
                return challenge(Some(&refused.to_string()));
            }
        },
        Bearer::Malformed => {
            return challenge(Some("the Authorization header must be 'Bearer <token>'"));
        }
        Bearer::Absent if state.app.config.http.insecure_no_auth => state.app.local_principal(),
        Bearer::Absent => return challenge(None),
    };
    request.extensions_mut().insert::<Principal>(principal);
    next.run(request).await
}

enum Bearer<'a> {
    Absent,
    Malformed,
    Present(&'a str),
}

fn bearer(headers: &HeaderMap) -> Bearer<'_> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Bearer::Absent;
    };
    let Ok(text) = value.to_str() else {
        return Bearer::Malformed;
    };
    match text.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Bearer::Present(token.trim())
        }
        _ => Bearer::Malformed,
    }
}

/// 401 with a `WWW-Authenticate` challenge (RFC 6750): without an error when no credential
/// was presented, with `invalid_token` and the reason when one was refused.
fn challenge(reason: Option<&str>) -> Response {
    let (value, message) = match reason {
        None => (
            format!("Bearer realm=\"{REALM}\""),
            "authentication required: send 'Authorization: Bearer <API key or access token>'"
                .to_string(),
        ),
        Some(reason) => {
            let quoted: String = reason
                .chars()
                .filter(|c| !matches!(c, '"' | '\\') && !c.is_control())
                .collect();
            (
                format!(
                    "Bearer realm=\"{REALM}\", error=\"invalid_token\", error_description=\"{quoted}\""
                ),
                format!("invalid credentials: {reason}"),
            )
        }
    };
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": { "code": -32001, "message": message },
    });
    (
        StatusCode::UNAUTHORIZED,
        [
            (header::WWW_AUTHENTICATE, value),
            (header::CONTENT_TYPE, "application/json".to_string()),
        ],
        body.to_string(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, value.parse().unwrap());
        headers
    }

    #[test]
    fn a_bearer_token_is_read_whatever_the_scheme_case() {
        assert!(matches!(
            bearer(&headers("Bearer csk_x")),
            Bearer::Present("csk_x")
        ));
        assert!(matches!(
            bearer(&headers("bearer  abc ")),
            Bearer::Present("abc")
        ));
        assert!(matches!(bearer(&headers("Basic abc")), Bearer::Malformed));
        assert!(matches!(bearer(&headers("Bearer ")), Bearer::Malformed));
        assert!(matches!(bearer(&HeaderMap::new()), Bearer::Absent));
    }

    #[test]
    fn a_challenge_never_breaks_out_of_its_quotes() {
        let response = challenge(Some("bad \"token\"\n"));
        let value = response.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .to_string();
        assert_eq!(
            value,
            "Bearer realm=\"consilium\", error=\"invalid_token\", error_description=\"bad token\""
        );
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
}
