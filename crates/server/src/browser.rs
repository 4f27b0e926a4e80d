//! What a web page in the user's browser may do with byok: the `Host` and `Origin` checks and
//! CORS preflights.
//!
//! Any page the user visits can send a request to `http://127.0.0.1:8018`: a `text/plain` POST
//! is a "simple request" that needs no preflight, so it would spend the account; and with DNS
//! rebinding (a name of the attacker's that resolves to 127.0.0.1, sent as `Host`) the page can
//! read the answers too. So:
//!
//! * on a loopback listener, only requests addressed to a loopback name (`localhost`,
//!   `*.localhost`, a loopback IP address such as the listening one, any port) or to one of
//!   [`ServerConfig::allowed_hosts`] are served;
//! * a request with an `Origin` is served only when that origin is a loopback one or one of
//!   [`ServerConfig::allowed_origins`], and only those get CORS headers (preflights included);
//! * a request without `Origin` that the browser marks as coming from another site
//!   (`Sec-Fetch-Site`), other than a top-level navigation, is refused too.
//!
//! Clients that are not browsers (the SDKs, curl) send no `Origin` and a loopback `Host`, and
//! pass untouched. Written by hand rather than with `tower_http::cors`, which builds a header
//! map and a `Vary` value for every request: here a request without `Origin` costs three header
//! look-ups and no allocation.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::future::{BoxFuture, Either, Ready, ready};
use serde_json::json;

use crate::ServerConfig;

/// The methods byok's endpoints answer, for preflights.
const ALLOW_METHODS: HeaderValue = HeaderValue::from_static("GET, HEAD, POST, DELETE, OPTIONS");
/// How long a browser may cache a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE: HeaderValue = HeaderValue::from_static("600");

/// Which hosts and origins are served, from the [`ServerConfig`] and the listening address.
#[derive(Debug)]
pub(crate) struct BrowserRules {
    /// Off when listening beyond loopback: then a client key guards the server, and clients
    /// reach it under names byok cannot know.
    check_host: bool,
    allowed_hosts: Box<[HostPattern]>,
    /// Lower case, without a trailing slash.
    allowed_origins: Box<[String]>,
}

/// One entry of `allowed_hosts`.
#[derive(Debug, PartialEq, Eq)]
enum HostPattern {
    /// `name`: that name on any port.
    Name(String),
    /// `name:port`: that name on that port only.
    NameAndPort(String, u16),
    /// `*.domain`, kept as `.domain`: any name under the domain, any port.
    Suffix(String),
}

impl BrowserRules {
    /// The rules for a server listening on `listening_on` (`None`: not known, checked as
    /// loopback, the safe choice).
    pub(crate) fn new(config: &ServerConfig, listening_on: Option<SocketAddr>) -> Self {
        Self {
            check_host: listening_on.is_none_or(|addr| addr.ip().is_loopback()),
            allowed_hosts: config
                .allowed_hosts
                .iter()
                .filter_map(|h| HostPattern::parse(h))
                .collect(),
            allowed_origins: config
                .allowed_origins
                .iter()
                .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
                .filter(|o| !o.is_empty())
                .collect(),
        }
    }

    /// Whether a request addressed to `authority` (`Host`, or HTTP/2's `:authority`) is served.
    fn host_allowed(&self, authority: &str) -> bool {
        let Some((name, port)) = split_authority(authority) else {
            return false;
        };
        is_loopback_name(name) || self.allowed_hosts.iter().any(|p| p.matches(name, port))
    }

    /// Whether a page of `origin` may call byok.
    fn origin_allowed(&self, origin: &[u8]) -> bool {
        let Ok(origin) = std::str::from_utf8(origin) else {
            return false;
        };
        is_loopback_origin(origin)
            || self
                .allowed_origins
                .iter()
                .any(|o| o.eq_ignore_ascii_case(origin))
    }

    /// Why `request` is refused, if it is.
    fn refusal(&self, request: &Request) -> Option<Refusal> {
        let headers = request.headers();
        if self.check_host {
            let authority = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .or_else(|| {
                    request
                        .uri()
                        .authority()
                        .map(axum::http::uri::Authority::as_str)
                });
            // A request with no host at all (HTTP/1.0) names no attacker's host either.
            if let Some(authority) = authority.filter(|a| !self.host_allowed(a)) {
                return Some(Refusal::Host(authority.to_owned()));
            }
        }
        match headers.get(header::ORIGIN) {
            Some(origin) if !self.origin_allowed(origin.as_bytes()) => Some(Refusal::Origin(
                String::from_utf8_lossy(origin.as_bytes()).into_owned(),
            )),
            Some(_) => None,
            None => from_another_site(headers).then_some(Refusal::CrossSite),
        }
    }
}

impl HostPattern {
    fn parse(entry: &str) -> Option<Self> {
        let entry = entry.trim().to_ascii_lowercase();
        if let Some(domain) = entry.strip_prefix("*.") {
            return (!domain.is_empty()).then(|| Self::Suffix(format!(".{domain}")));
        }
        let (name, port) = split_authority(&entry)?;
        Some(match port {
            Some(port) => Self::NameAndPort(name.to_owned(), port),
            None => Self::Name(name.to_owned()),
        })
    }

    fn matches(&self, name: &str, port: Option<u16>) -> bool {
        match self {
            Self::Name(n) => n.eq_ignore_ascii_case(name),
            Self::NameAndPort(n, p) => n.eq_ignore_ascii_case(name) && port == Some(*p),
            Self::Suffix(suffix) => {
                name.len() > suffix.len()
                    && name
                        .get(name.len() - suffix.len()..)
                        .is_some_and(|end| end.eq_ignore_ascii_case(suffix))
            }
        }
    }
}

/// `name[:port]` or `[v6]:port` into the name (brackets and a final dot removed) and the port;
/// `None` when it is not a host at all.
fn split_authority(authority: &str) -> Option<(&str, Option<u16>)> {
    let (name, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (name, after) = rest.split_once(']')?;
        (name, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(port) => Some(port.parse().ok()?),
        None => None,
    };
    let name = name.strip_suffix('.').unwrap_or(name);
    (!name.is_empty()).then_some((name, port))
}

/// `localhost`, a name under `.localhost` (RFC 6761: always this machine) or a loopback IP.
fn is_loopback_name(name: &str) -> bool {
    const LOCALHOST: &str = "localhost";
    let ends_localhost = name.len() >= LOCALHOST.len()
        && name
            .get(name.len() - LOCALHOST.len()..)
            .is_some_and(|end| end.eq_ignore_ascii_case(LOCALHOST));
    if ends_localhost {
        let before = &name[..name.len() - LOCALHOST.len()];
        return before.is_empty() || before.ends_with('.');
    }
    name.parse::<IpAddr>()
        .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

/// `http(s)://` and a loopback host, any port (`null`, sent by sandboxed pages and files, is
/// not one).
fn is_loopback_origin(origin: &str) -> bool {
    let authority = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    authority
        .and_then(split_authority)
        .is_some_and(|(name, _)| is_loopback_name(name))
}

/// A browser's request from a page of another site that carries no `Origin` (a `<script>` or
/// `<img>` load, a `no-cors` fetch), other than the user following a link.
fn from_another_site(headers: &HeaderMap) -> bool {
    let site = headers.get("sec-fetch-site").map(HeaderValue::as_bytes);
    let cross = matches!(site, Some(b"cross-site" | b"same-site"));
    cross && headers.get("sec-fetch-mode").map(HeaderValue::as_bytes) != Some(b"navigate")
}

/// Why a request is refused.
enum Refusal {
    Host(String),
    Origin(String),
    CrossSite,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (message, code) = match self {
            Self::Host(host) => (
                format!(
                    "byok does not serve requests addressed to `{host}`: on this machine it \
                     answers only requests for localhost, 127.0.0.1 or [::1], so that a web page \
                     cannot reach it through DNS rebinding. If you reach byok under another \
                     name, add it to `allowed_hosts` in byok.toml (or BYOK_ALLOWED_HOSTS)"
                ),
                "host_not_allowed",
            ),
            Self::Origin(origin) => (
                format!(
                    "byok does not serve web pages of `{origin}`: only pages on this machine \
                     (http://localhost, http://127.0.0.1) may call it, so that a site you visit \
                     cannot use your account. To let that page in, add its origin to \
                     `allowed_origins` in byok.toml (or BYOK_ALLOWED_ORIGINS)"
                ),
                "origin_not_allowed",
            ),
            Self::CrossSite => (
                "byok does not serve requests a browser sends from another site's page; \
                 call it with fetch() from an allowed origin (`allowed_origins` in byok.toml)"
                    .to_owned(),
                "origin_not_allowed",
            ),
        };
        let body = json!({ "error": {
            "message": message,
            "type": "invalid_request_error",
            "param": null,
            "code": code,
        }});
        (StatusCode::FORBIDDEN, Json(body)).into_response()
    }
}

/// The preflight answer for an allowed `origin`.
fn preflight(origin: HeaderValue, request: &Request) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS);
    // The origin is allowed: whatever headers its page wants to send are fine.
    if let Some(asked) = request
        .headers()
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
    {
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
    }
    headers.insert(header::ACCESS_CONTROL_MAX_AGE, PREFLIGHT_MAX_AGE);
    // Chrome's Private Network Access: a public page asking for a local server.
    if request
        .headers()
        .contains_key("access-control-request-private-network")
    {
        headers.insert(
            "access-control-allow-private-network",
            HeaderValue::from_static("true"),
        );
    }
    allow_origin(headers, origin);
    response
}

fn allow_origin(headers: &mut HeaderMap, origin: HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.append(header::VARY, HeaderValue::from_static("origin"));
    // The SDKs read `x-request-id`, `retry-after` and the rate-limit headers.
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("*"),
    );
}

/// The layer of [`BrowserGuard`].
#[derive(Clone, Debug)]
pub(crate) struct BrowserLayer(pub(crate) Arc<BrowserRules>);

impl<S> tower::Layer<S> for BrowserLayer {
    type Service = BrowserGuard<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BrowserGuard {
            rules: Arc::clone(&self.0),
            inner,
        }
    }
}

/// Middleware: refuses what [`BrowserRules`] refuses, answers preflights, adds CORS headers to
/// the answers of allowed origins.
#[derive(Clone, Debug)]
pub(crate) struct BrowserGuard<S> {
    rules: Arc<BrowserRules>,
    inner: S,
}

type Refused = Ready<Result<Response, Infallible>>;
type WithCors = BoxFuture<'static, Result<Response, Infallible>>;

impl<S> tower::Service<Request> for BrowserGuard<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Refused, Either<S::Future, WithCors>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if let Some(refusal) = self.rules.refusal(&request) {
            return Either::Left(ready(Ok(refusal.into_response())));
        }
        // The common case, clients that are not browsers: passed on as they are.
        let Some(origin) = request.headers().get(header::ORIGIN).cloned() else {
            return Either::Right(Either::Left(self.inner.call(request)));
        };
        if request.method() == Method::OPTIONS
            && request
                .headers()
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
        {
            return Either::Left(ready(Ok(preflight(origin, &request))));
        }
        let answer = self.inner.call(request);
        Either::Right(Either::Right(Box::pin(async move {
            let mut response = answer.await?;
            allow_origin(response.headers_mut(), origin);
            Ok(response)
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(hosts: &[&str], origins: &[&str]) -> BrowserRules {
        let config = ServerConfig::builder()
            .allowed_hosts(hosts.iter().map(|&h| h.to_owned()).collect())
            .allowed_origins(origins.iter().map(|&o| o.to_owned()).collect())
            .build();
        BrowserRules::new(&config, Some("127.0.0.1:8018".parse().unwrap()))
    }

    #[test]
    fn loopback_names_and_allowed_hosts_are_served_on_any_port() {
        let rules = rules(&["byok.home.arpa", "box.lan:9000", "*.corp.example"], &[]);
        for host in [
            "localhost",
            "localhost:8018",
            "LOCALHOST.:1",
            "app.localhost:8018",
            "127.0.0.1:8018",
            "127.0.0.2",
            "[::1]:8018",
            "[::ffff:127.0.0.1]:8018",
            "byok.home.arpa:8018",
            "box.lan:9000",
            "a.corp.example:8018",
        ] {
            assert!(rules.host_allowed(host), "{host}");
        }
        for host in [
            "evil.example:8018",
            "localhost.evil.example",
            "evillocalhost",
            "box.lan:9001",
            "corp.example",
            "10.0.0.1:8018",
            "[::1",
            "localhost:port",
            "",
        ] {
            assert!(!rules.host_allowed(host), "{host}");
        }
    }

    #[test]
    fn loopback_and_listed_origins_are_allowed() {
        let rules = rules(&[], &["https://App.example.com/"]);
        for origin in [
            "http://localhost:5173",
            "http://127.0.0.1:8018",
            "https://[::1]:3000",
            "http://app.localhost",
            "https://app.example.com",
        ] {
            assert!(rules.origin_allowed(origin.as_bytes()), "{origin}");
        }
        for origin in [
            "http://evil.example",
            "null",
            "file://",
            "http://localhost.evil.example",
            "https://app.example.com:8443",
            "ftp://localhost",
        ] {
            assert!(!rules.origin_allowed(origin.as_bytes()), "{origin}");
        }
    }

    #[test]
    fn hosts_are_not_checked_beyond_loopback() {
        let rules = BrowserRules::new(
            &ServerConfig::default(),
            Some("0.0.0.0:8018".parse().unwrap()),
        );
        assert!(!rules.check_host);
    }
}
