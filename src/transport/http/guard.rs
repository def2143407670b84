//! The door of every HTTP route: `Host` and `Origin` checked against allowlists (DNS
//! rebinding and cross-site requests), and the cap on live sessions.
//!
//! Refusals are JSON-RPC error bodies with an HTTP status, so MCP clients show a reason.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::HttpState;

/// A JSON-RPC error body (id null: the request may not even have been parsed).
pub fn refusal(status: StatusCode, code: i64, message: impl Into<String>) -> Response {
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": { "code": code, "message": message.into() },
    });
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

pub async fn check_host_and_origin(
    State(state): State<Arc<HttpState>>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let http = &state.app.config.http;
    if let Err(reason) = host_allowed(request.headers(), &http.allowed_hosts) {
        tracing::warn!(%reason, "refused a request for its Host header");
        return refusal(StatusCode::FORBIDDEN, -32000, reason);
    }
    if let Err(reason) = origin_allowed(request.headers(), &http.allowed_origins) {
        tracing::warn!(%reason, "refused a request for its Origin header");
        return refusal(StatusCode::FORBIDDEN, -32000, reason);
    }
    next.run(request).await
}

/// New sessions are refused once the cap is reached; existing ones keep working.
pub async fn cap_sessions(
    State(state): State<Arc<HttpState>>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let opens_session = match (request.method(), request.uri().path()) {
        (&Method::POST, "/mcp") => !request.headers().contains_key("mcp-session-id"),
        (&Method::GET, "/sse") => true,
        _ => false,
    };
    if opens_session {
        let live = state.live_sessions().await;
        let cap = state.app.config.http.max_sessions;
        if live >= cap {
            tracing::warn!(live, cap, "refused a new session: the cap is reached");
            return refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                -32000,
                format!("the server has reached its limit of {cap} live sessions; try again later"),
            );
        }
    }
    next.run(request).await
}

fn host_allowed(headers: &HeaderMap, allowed: &[String]) -> Result<(), String> {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .ok_or("the request has no readable Host header")?;
    let name = host_name(host);
    if allowed
        .iter()
        .any(|a| host_name(a).eq_ignore_ascii_case(name))
    {
        Ok(())
    } else {
        Err(format!(
            "Host {host:?} is not in this server's allowed hosts"
        ))
    }
}

/// `example.com:8080` → `example.com`; `[::1]:8080` → `[::1]`.
fn host_name(authority: &str) -> &str {
    if authority.starts_with('[') {
        match authority.find(']') {
            Some(end) => &authority[..=end],
            None => authority,
        }
    } else {
        authority.split(':').next().unwrap_or(authority)
    }
}

fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> Result<(), String> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin
        .to_str()
        .map_err(|_| "the Origin header is not readable text")?;
    if allowed.iter().any(|a| origin_matches(a, origin)) {
        Ok(())
    } else {
        Err(format!(
            "Origin {origin:?} is not in this server's allowed origins"
        ))
    }
}

/// An entry without a port allows any port of that scheme and host; with one, only that port.
fn origin_matches(entry: &str, origin: &str) -> bool {
    let (Some((entry_scheme, entry_authority)), Some((scheme, authority))) =
        (entry.split_once("://"), origin.split_once("://"))
    else {
        return false;
    };
    if !entry_scheme.eq_ignore_ascii_case(scheme) || authority.contains('/') {
        return false;
    }
    let entry_authority = entry_authority.trim_end_matches('/');
    if !host_name(entry_authority).eq_ignore_ascii_case(host_name(authority)) {
        return false;
    }
    match port_of(entry_authority) {
        None => true,
        Some(port) => port_of(authority) == Some(port),
    }
}

fn port_of(authority: &str) -> Option<&str> {
    let after_host = &authority[host_name(authority).len()..];
    after_host.strip_prefix(':')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn hosts_match_without_their_port_and_ignore_case() {
        let allowed = vec!["localhost".to_string(), "[::1]".to_string()];
        assert!(host_allowed(&headers(&[("host", "LOCALHOST:8787")]), &allowed).is_ok());
        assert!(host_allowed(&headers(&[("host", "[::1]:8787")]), &allowed).is_ok());
        assert!(host_allowed(&headers(&[("host", "evil.example:8787")]), &allowed).is_err());
        assert!(host_allowed(&headers(&[("host", "localhost.evil.example")]), &allowed).is_err());
        assert!(host_allowed(&HeaderMap::new(), &allowed).is_err());
    }

    #[test]
    fn origins_match_scheme_host_and_port_when_the_entry_names_one() {
        let allowed = vec![
            "http://localhost".to_string(),
            "https://app.example:8443".to_string(),
        ];
        let check = |o: &str| origin_allowed(&headers(&[("origin", o)]), &allowed).is_ok();
        assert!(check("http://localhost:6274"));
        assert!(!check("https://localhost"));
        assert!(check("https://app.example:8443"));
        assert!(!check("https://app.example"));
        assert!(!check("http://evil.example"));
        assert!(!check("null"));
        assert!(origin_allowed(&HeaderMap::new(), &allowed).is_ok());
    }
}
