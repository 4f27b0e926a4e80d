//! The one shared HTTP client every upstream request goes through.

use std::time::Duration;

use byok_types::{ByokError, Result};

/// How long to wait for a TCP + TLS connection before calling the upstream unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an idle pooled connection is kept for the next request.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// A cheap-to-clone handle on one shared `reqwest::Client` (rustls, HTTP/2, connection pooling,
/// connect timeout), so every request reuses warm connections to the upstream.
///
/// The idle-read timeout is not a client setting: each [`CodexExecutor`](crate::CodexExecutor)
/// applies its own (`idle_timeout`) while it waits for the answer's head and for every chunk.
///
/// ```
/// let http = byok_executor::ProviderHttp::new()?;
/// let same_pool = http.clone();
/// # let _ = same_pool;
/// # Ok::<(), byok_types::ByokError>(())
/// ```
#[derive(Clone, Debug)]
pub struct ProviderHttp {
    client: reqwest::Client,
}

impl ProviderHttp {
    /// A client with sensible defaults: rustls, HTTP/2 when the server offers it, pooled
    /// connections, a 10 s connect timeout and TCP keep-alive.
    pub fn new() -> Result<Self> {
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(CONNECT_TIMEOUT)
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .tcp_keepalive(Duration::from_secs(30))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| ByokError::Config(format!("cannot set up the HTTP client: {e}")))?;
        Ok(Self { client })
    }

    /// Uses a client built elsewhere (e.g. shared with the sign-in code, or with a proxy set).
    pub fn with_client(client: reqwest::Client) -> Self {
        Self { client }
    }

    /// The underlying client.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }
}

impl From<reqwest::Client> for ProviderHttp {
    fn from(client: reqwest::Client) -> Self {
        Self::with_client(client)
    }
}

/// Names a transport failure in byok's terms: a timeout, or an upstream that cannot be reached.
pub(crate) fn transport_error(err: &reqwest::Error) -> ByokError {
    // The cause ("connection refused") says more than reqwest's own message; neither ever
    // holds a header or a body.
    let detail =
        std::error::Error::source(err).map_or_else(|| err.to_string(), ToString::to_string);
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
