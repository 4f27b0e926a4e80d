//! How a model request reaches the upstream: byok's lean hyper client, or a `reqwest::Client`.
//!
//! [`ProviderHttp::new`](crate::ProviderHttp::new) picks the lean client unless a proxy is set
//! in the environment or given to [`ProviderHttp::builder`](crate::ProviderHttp::builder): only
//! reqwest's client goes through proxies.

mod lean;
mod send;

use std::sync::Arc;
use std::time::Duration;

use byok_types::{ByokError, Metrics, RateLimitStore, Result, error_chain};
use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use http_body_util::{BodyDataStream, BodyExt};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use hyper::{Response, StatusCode};

pub(crate) use lean::LeanClient;
pub(crate) use send::Sender;

use crate::{ProviderHttp, RetryPolicy};

/// The upstream transport both upstreams share: the HTTP clients, where the rate-limit
/// headers of every answer go, how long the upstream may stay silent, and how failed requests
/// are retried. Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Upstream {
    pub(crate) http: ProviderHttp,
    pub(crate) ratelimit: Option<Arc<RateLimitStore>>,
    /// For the answer's head and between two chunks of a stream.
    pub(crate) idle_timeout: Duration,
    pub(crate) retry: RetryPolicy,
    /// Where failed answers and retries are counted, if anywhere.
    pub(crate) metrics: Option<Metrics>,
}

/// How long to wait for a TCP + TLS connection before calling the upstream unreachable.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an idle pooled connection is kept for the next request.
pub(crate) const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// How often an idle connection is probed, so a dead one is noticed.
pub(crate) const TCP_KEEPALIVE: Duration = Duration::from_secs(30);

/// The environment variables that route requests through a proxy (reqwest reads them too).
const PROXY_VARIABLES: [&str; 6] = [
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// Whether the environment asks for a proxy, which only the reqwest client honours.
pub(crate) fn proxy_in_env() -> bool {
    PROXY_VARIABLES
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()))
}

/// The client model requests go through.
#[derive(Clone, Debug)]
pub(crate) enum Transport {
    /// byok's own: a fixed, small read buffer per connection; no proxy support.
    Lean(Box<LeanClient>),
    /// reqwest's: through the proxy of the environment or of the builder.
    Reqwest(reqwest::Client),
}

impl Transport {
    /// POSTs `body` as JSON to `url`; the answer's body is not read yet.
    pub(crate) async fn post_json(
        &self,
        url: &str,
        mut headers: HeaderMap,
        body: Bytes,
    ) -> Result<UpstreamResponse> {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        match self {
            Self::Lean(client) => client
                .post(url, headers, body)
                .await
                .map(UpstreamResponse::Lean),
            Self::Reqwest(client) => client
                .post(url)
                .headers(headers)
                .body(body)
                .send()
                .await
                .map(UpstreamResponse::Reqwest)
                .map_err(|e| reqwest_error(&e)),
        }
    }
}

impl Transport {
    /// GETs `url`; the answer's body is not read yet.
    pub(crate) async fn get(&self, url: &str, headers: HeaderMap) -> Result<UpstreamResponse> {
        match self {
            Self::Lean(client) => client.get(url, headers).await.map(UpstreamResponse::Lean),
            Self::Reqwest(client) => client
                .get(url)
                .headers(headers)
                .send()
                .await
                .map(UpstreamResponse::Reqwest)
                .map_err(|e| reqwest_error(&e)),
        }
    }
}

/// An upstream's answer whose body is still on the wire.
#[derive(Debug)]
pub(crate) enum UpstreamResponse {
    /// From the lean client.
    Lean(Response<Incoming>),
    /// From a reqwest client.
    Reqwest(reqwest::Response),
}

impl UpstreamResponse {
    /// The answer's status.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Self::Lean(response) => response.status(),
            Self::Reqwest(response) => response.status(),
        }
    }

    /// The answer's headers.
    pub(crate) fn headers(&self) -> &HeaderMap {
        match self {
            Self::Lean(response) => response.headers(),
            Self::Reqwest(response) => response.headers(),
        }
    }

    /// The body chunk by chunk, as it arrives (never buffered whole).
    pub(crate) fn bytes_stream(
        self,
    ) -> impl Stream<Item = std::result::Result<Bytes, BodyError>> + Send + 'static {
        match self {
            Self::Lean(response) => BodyDataStream::new(response.into_body())
                .map_err(|e| BodyError::of(&e))
                .left_stream(),
            Self::Reqwest(response) => response
                .bytes_stream()
                .map_err(|e| BodyError::of(&e))
                .right_stream(),
        }
    }

    /// The whole body.
    pub(crate) async fn bytes(self) -> std::result::Result<Bytes, BodyError> {
        match self {
            Self::Lean(response) => Ok(response
                .into_body()
                .collect()
                .await
                .map_err(|e| BodyError::of(&e))?
                .to_bytes()),
            Self::Reqwest(response) => response.bytes().await.map_err(|e| BodyError::of(&e)),
        }
    }
}

/// A body read that failed: the connection broke while the body was coming. Its text is the
/// error's chain of causes, which never holds a header or a body.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct BodyError(String);

impl BodyError {
    fn of(err: &(dyn std::error::Error + 'static)) -> Self {
        Self(error_chain(err))
    }
}

/// Names a reqwest failure in byok's terms: a timeout, or an upstream that cannot be reached.
fn reqwest_error(err: &reqwest::Error) -> ByokError {
    let detail = error_chain(err);
    // A connect timeout is both: the upstream is unreachable, which is worth another try.
    if err.is_connect() {
        ByokError::Unreachable(format!(
            "connection failed ({detail}); check the base URL and your network"
        ))
    } else if err.is_timeout() {
        ByokError::Timeout(format!("no answer from the upstream in time ({detail})"))
    } else {
        ByokError::Unreachable(format!("the request failed ({detail})"))
    }
}
