//! The client upstream requests go through: hyper's, so its HTTP/1 read buffers stay small.
//!
//! reqwest lets hyper grow each connection's read buffer to 32–64 KB on large stream events and
//! offers no setting for it; at 1,000 open streams that was most of byok's memory.

use std::time::Duration;

use byok_types::{ByokError, Result};
use bytes::Bytes;
use futures::Stream;
use http_body_util::{BodyDataStream, BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

/// How long to wait for a TCP + TLS connection before calling the upstream unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an idle pooled connection is kept for the next request.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// How often an idle connection is probed, so a dead one is noticed.
const TCP_KEEPALIVE: Duration = Duration::from_secs(30);
/// Each HTTP/1 connection's read buffer, fixed (hyper's own default grows it up to 400 KB). A
/// stream event larger than this simply takes several reads, but an answer's head must fit in
/// it (upstream heads are a few KB). 8 KiB measured ~5 MiB less peak memory at 1,000
/// streams than 16 KiB. HTTP/2 connections (https upstreams, by ALPN) have no such buffer.
const READ_BUF: usize = 8 * 1024;

/// A pooled HTTP/1 + HTTP/2 (by ALPN) client over rustls with Mozilla's roots.
#[derive(Clone, Debug)]
pub(crate) struct Upstream {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl Upstream {
    pub(crate) fn new() -> Self {
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_connect_timeout(Some(CONNECT_TIMEOUT));
        tcp.set_keepalive(Some(TCP_KEEPALIVE));
        tcp.set_nodelay(true);
        let https = HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(tcp);
        let client = Client::builder(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .http1_read_buf_exact_size(READ_BUF)
            .build(https);
        Self { client }
    }

    /// POSTs `body` as JSON to `url`; the answer's body is not read yet.
    pub(crate) async fn post_json(
        &self,
        url: &str,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<UpstreamResponse> {
        let uri: Uri = url.parse().map_err(|e| {
            ByokError::Config(format!(
                "the upstream URL {url:?} is not valid ({e}); check the base URL"
            ))
        })?;
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = uri;
        *request.headers_mut() = headers;
        request
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| transport_error(&e))?;
        Ok(UpstreamResponse(response))
    }
}

/// An upstream's answer whose body is still on the wire.
#[derive(Debug)]
pub(crate) struct UpstreamResponse(Response<Incoming>);

impl UpstreamResponse {
    pub(crate) fn status(&self) -> StatusCode {
        self.0.status()
    }

    pub(crate) fn headers(&self) -> &HeaderMap {
        self.0.headers()
    }

    /// The body chunk by chunk, as it arrives (never buffered whole).
    pub(crate) fn bytes_stream(
        self,
    ) -> impl Stream<Item = std::result::Result<Bytes, hyper::Error>> + Send + 'static {
        BodyDataStream::new(self.0.into_body())
    }

    /// The whole body.
    pub(crate) async fn bytes(self) -> std::result::Result<Bytes, hyper::Error> {
        Ok(self.0.into_body().collect().await?.to_bytes())
    }
}

/// An error and its causes in one line (none of them ever holds a header or a body).
pub(crate) fn describe(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(err) = cause {
        text.push_str(": ");
        text.push_str(&err.to_string());
        cause = err.source();
    }
    text
}

/// Names a transport failure in byok's terms: an upstream that cannot be reached (a connect
/// timeout included, which is worth another try).
fn transport_error(err: &hyper_util::client::legacy::Error) -> ByokError {
    let detail = describe(err);
    if err.is_connect() {
        ByokError::Unreachable(format!(
            "connection failed ({detail}); check the base URL and your network"
        ))
    } else {
        ByokError::Unreachable(format!("the request failed ({detail})"))
    }
}

/// A body read that failed: the connection broke while the body was coming.
pub(crate) fn body_error(err: &hyper::Error) -> ByokError {
    if err.is_timeout() {
        ByokError::Timeout(format!(
            "no answer from the upstream in time ({})",
            describe(err)
        ))
    } else {
        ByokError::Unreachable(format!("the request failed ({})", describe(err)))
    }
}
