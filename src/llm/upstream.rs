//! Sending one built request to a provider over HTTPS (rustls) and classifying what comes
//! back. Three clocks bound a call: connecting, the first byte (the response head), and
//! the whole reply; the body is read in chunks up to a cap, so a runaway reply cannot
//! exhaust memory.
//!
//! It must not retry, log a header, or put a reqwest error's text anywhere (it can hold the
//! URL): failures are described by kind and status only, plus the provider's own redacted
//! message.

use std::time::{Duration, Instant};

use http::HeaderMap;

use super::failure::{FailureKind, ProviderFailure};
use super::providers::{Provider, Target};
use super::request::{CompletionRequest, TimedCompletion, TimedEmbeddings};

#[derive(Debug, Clone, Copy)]
pub struct UpstreamLimits {
    pub connect: Duration,
    pub first_byte: Duration,
    pub total: Duration,
    pub max_reply_bytes: usize,
}

impl Default for UpstreamLimits {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            first_byte: Duration::from_secs(60),
            total: Duration::from_secs(120),
            max_reply_bytes: 8 * 1024 * 1024,
        }
    }
}

/// One HTTP client (and its connection pool) shared by every provider call.
#[derive(Clone)]
pub struct Upstream {
    client: reqwest::Client,
    limits: UpstreamLimits,
}

#[derive(Debug, thiserror::Error)]
#[error("the HTTP client for the providers cannot be built")]
pub struct UpstreamBuildError;

impl Upstream {
    pub fn new(limits: UpstreamLimits) -> Result<Self, UpstreamBuildError> {
        let client = reqwest::Client::builder()
            .connect_timeout(limits.connect)
            // A redirect could carry the key's header to another host.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("consilium/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| UpstreamBuildError)?;
        Ok(Self { client, limits })
    }

    pub fn limits(&self) -> UpstreamLimits {
        self.limits
    }

    /// Sends `request` to `target` in `provider`'s wire format and reads the reply.
    pub async fn complete(
        &self,
        provider: &dyn Provider,
        target: &Target<'_>,
        request: &CompletionRequest,
    ) -> Result<TimedCompletion, ProviderFailure> {
        let started = Instant::now();
        let wire = provider.build(target, request)?;
        let completion = self
            .call(provider, wire, |body| provider.parse(body))
            .await?;
        Ok(TimedCompletion {
            completion,
            latency: started.elapsed(),
        })
    }

    /// Sends `inputs` to `target`'s embedding model and reads one vector per input.
    pub async fn embed(
        &self,
        provider: &dyn Provider,
        target: &Target<'_>,
        inputs: &[String],
    ) -> Result<TimedEmbeddings, ProviderFailure> {
        let started = Instant::now();
        let wire = provider.build_embeddings(target, inputs)?;
        let embeddings = self
            .call(provider, wire, |body| {
                provider.parse_embeddings(body, inputs.len())
            })
            .await?;
        Ok(TimedEmbeddings {
            embeddings,
            latency: started.elapsed(),
        })
    }

    /// One exchange under the total limit: a 2xx reply read by `parse`, anything else
    /// classified.
    async fn call<T>(
        &self,
        provider: &dyn Provider,
        wire: super::providers::WireRequest,
        parse: impl FnOnce(&[u8]) -> Result<T, ProviderFailure>,
    ) -> Result<T, ProviderFailure> {
        let call = async {
            let (status, headers, body) = self.exchange(wire).await?;
            if (200..300).contains(&status) {
                return parse(&body);
            }
            let kind = FailureKind::from_status(status);
            let detail = provider
                .error_message(&body)
                .unwrap_or_else(|| format!("the provider answered HTTP {status}"));
            Err(ProviderFailure::new(kind, detail)
                .with_status(status)
                .with_retry_after(retry_after(&headers)))
        };
        tokio::time::timeout(self.limits.total, call)
            .await
            .map_err(|_| {
                ProviderFailure::new(FailureKind::Timeout, "no whole reply within the time limit")
            })?
    }

    async fn exchange(
        &self,
        wire: super::providers::WireRequest,
    ) -> Result<(u16, HeaderMap, Vec<u8>), ProviderFailure> {
        let sending = self
            .client
            .post(&wire.url)
            .headers(wire.headers)
            .body(wire.body)
            .send();
        let mut response = tokio::time::timeout(self.limits.first_byte, sending)
            .await
            .map_err(|_| {
                ProviderFailure::new(
                    FailureKind::Timeout,
                    "no answer within the first-byte limit",
                )
            })?
            .map_err(|e| transport_failure(&e))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        if let Some(length) = response.content_length()
            && length > self.limits.max_reply_bytes as u64
        {
            return Err(too_large(self.limits.max_reply_bytes).with_status(status));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| transport_failure(&e).with_status(status))?
        {
            if body.len() + chunk.len() > self.limits.max_reply_bytes {
                return Err(too_large(self.limits.max_reply_bytes).with_status(status));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, headers, body))
    }
}

fn too_large(limit: usize) -> ProviderFailure {
    ProviderFailure::new(
        FailureKind::Malformed,
        format!("the reply is larger than {limit} bytes"),
    )
}

fn transport_failure(error: &reqwest::Error) -> ProviderFailure {
    if error.is_timeout() {
        ProviderFailure::new(FailureKind::Timeout, "the connection timed out")
    } else if error.is_connect() {
        ProviderFailure::new(
            FailureKind::Unreachable,
            "the provider could not be reached",
        )
    } else if error.is_body() || error.is_decode() {
        ProviderFailure::new(FailureKind::Unreachable, "the reply was cut off")
    } else {
        ProviderFailure::new(
            FailureKind::Unreachable,
            "the request could not be completed",
        )
    }
}

/// `Retry-After` as seconds (the form providers send); an HTTP date is not trusted, as it
/// depends on both clocks agreeing. Capped at a day.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds: u64 = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds.min(86_400)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_read_in_seconds_and_capped() {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::RETRY_AFTER, "7".parse().expect("header"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(
            http::header::RETRY_AFTER,
            "9999999".parse().expect("header"),
        );
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(86_400)));
        headers.insert(
            http::header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().expect("header"),
        );
        assert_eq!(retry_after(&headers), None);
    }
}
