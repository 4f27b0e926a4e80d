//! byok's own upstream client: hyper's, with a fixed HTTP/1 read buffer per connection.
//!
//! reqwest lets hyper grow each connection's read buffer to 32–64 KB on the large events a Codex
//! stream starts and ends with, and offers no setting for it; at 1,000 open streams those
//! buffers were most of byok's memory.

use byok_types::{ByokError, Result, error_chain};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::HeaderMap;
use hyper::{Method, Request, Response, Uri};
use hyper_rustls::builderstates::WantsSchemes;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::{CONNECT_TIMEOUT, POOL_IDLE_TIMEOUT, TCP_KEEPALIVE};

/// Each HTTP/1 connection's read buffer, fixed (hyper's own default grows it up to 400 KB).
/// A stream event larger than this simply takes several reads (a recorded Codex stream's
/// lifecycle and final events, 11–12 KB, take two); an answer's head must fit in it (upstream
/// heads are 1–4 KB; hyper's own first buffer is this size too). HTTP/2 connections (https
/// upstreams, by ALPN) have no such buffer.
///
/// 8 KiB rather than 16: each open stream holds one, and more while a chunk of it is still held
/// downstream (the hold-back's lifecycle events). At 1,000 paced streams byok's peak RSS went
/// from 85.4 to 81.0 MiB (three and five runs, loaded machine), ~4.5 KB less per stream.
pub(super) const READ_BUF: usize = 8 * 1024;

/// A pooled HTTP/1 + HTTP/2 (by ALPN) client over rustls with Mozilla's roots.
#[derive(Clone, Debug)]
pub(crate) struct LeanClient {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl LeanClient {
    /// The client, with the same timeouts as byok's reqwest client.
    pub(crate) fn new() -> Self {
        Self::over(HttpsConnectorBuilder::new().with_webpki_roots())
    }

    /// The client, trusting the roots `tls` was given.
    fn over(tls: HttpsConnectorBuilder<WantsSchemes>) -> Self {
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_connect_timeout(Some(CONNECT_TIMEOUT));
        tcp.set_keepalive(Some(TCP_KEEPALIVE));
        tcp.set_nodelay(true);
        let https = tls
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
        self.send(Method::POST, url, headers, body).await
    }

    /// GETs `url` with `headers`; the answer's body is not read yet.
    pub(crate) async fn get(&self, url: &str, headers: HeaderMap) -> Result<Response<Incoming>> {
        self.send(Method::GET, url, headers, Bytes::new()).await
    }

    async fn send(
        &self,
        method: Method,
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
        *request.method_mut() = method;
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
    let detail = error_chain(err);
    if err.is_connect() {
        ByokError::Unreachable(format!(
            "connection failed ({detail}); check the base URL and your network"
        ))
    } else {
        ByokError::Unreachable(format!("the request failed ({detail})"))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use http_body_util::BodyExt;
    use hyper::Version;
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;
    use hyper_util::server::conn::auto;
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

    use super::*;

    /// An HTTPS server on 127.0.0.1 with a fresh self-signed certificate for `localhost`,
    /// offering h2 and http/1.1 by ALPN; every answer names the HTTP version it went over.
    async fn https_server() -> (u16, CertificateDer<'static>) {
        let signed = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let cert = signed.cert.der().clone();
        let key =
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(signed.signing_key.serialize_der()));
        let mut config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![cert.clone()], key)
            .unwrap();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = service_fn(|request: Request<Incoming>| async move {
                        let body = format!("data: {:?}\n\n", request.version());
                        Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from(
                            body,
                        ))))
                    });
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        (port, cert)
    }

    #[tokio::test]
    async fn https_upstreams_are_reached_over_tls_and_http2() {
        let (port, cert) = https_server().await;
        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert).unwrap();
        let tls = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let client = LeanClient::over(HttpsConnectorBuilder::new().with_tls_config(tls));
        let url = format!("https://localhost:{port}/responses");
        // The second request goes over the pooled connection.
        for _ in 0..2 {
            let response = client
                .post(&url, HeaderMap::new(), Bytes::from_static(b"{}"))
                .await
                .unwrap();
            assert_eq!(response.version(), Version::HTTP_2);
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(body, "data: HTTP/2.0\n\n");
        }
    }

    #[tokio::test]
    async fn an_untrusted_certificate_is_refused_with_a_clear_error() {
        let (port, _) = https_server().await;
        let url = format!("https://localhost:{port}/responses");

        let err = LeanClient::new()
            .post(&url, HeaderMap::new(), Bytes::new())
            .await
            .unwrap_err();

        assert_eq!(err.status(), 502);
        let message = err.to_string();
        assert!(message.contains("certificate"), "{message}");
    }
}
