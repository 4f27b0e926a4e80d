//! byok's own upstream client: hyper's, with a fixed HTTP/1 read buffer per connection.
//!
//! reqwest lets hyper grow each connection's read buffer to 32–64 KB on the large events a Codex
//! stream starts and ends with, and offers no setting for it; at 1,000 open streams those
//! buffers were most of byok's memory.

use byok_types::{ByokError, Result};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::HeaderMap;
use hyper::{Method, Request, Response, Uri};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::{CONNECT_TIMEOUT, POOL_IDLE_TIMEOUT, TCP_KEEPALIVE, describe};

/// Each HTTP/1 connection's read buffer, fixed (hyper's own default grows it up to 400 KB).
/// A stream event larger than this simply takes several reads; an answer's head must fit in it
/// (upstream heads are 1–4 KB). HTTP/2 connections (https upstreams, by ALPN) have no such
/// buffer.
pub(super) const READ_BUF: usize = 16 * 1024;

/// A pooled HTTP/1 + HTTP/2 (by ALPN) client over rustls with Mozilla's roots.
#[derive(Clone, Debug)]
pub(crate) struct LeanClient {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl LeanClient {
    /// The client, with the same timeouts as byok's reqwest client.
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

    /// POSTs `body` to `url` with `headers`; the answer's body is not read yet.
    pub(crate) async fn post(
        &self,
        url: &str,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<Response<Incoming>> {
        let uri: Uri = url.parse().map_err(|e| {
            ByokError::Config(format!(
                "the upstream URL {url:?} is not valid ({e}); check the base URL"
            ))
        })?;
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = uri;
        *request.headers_mut() = headers;
        self.client
            .request(request)
            .await
            .map_err(|e| transport_error(&e))
    }
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
