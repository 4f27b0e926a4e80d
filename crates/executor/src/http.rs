//! The shared HTTP clients: the upstream one every model request goes through, and a reqwest
//! one for whoever shares it (sign-in, token refresh).

use std::time::Duration;

use byok_types::{ByokError, Result};

use crate::upstream::Upstream;

/// How long to wait for a TCP + TLS connection before calling the upstream unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an idle pooled connection is kept for the next request.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// A cheap-to-clone handle on the shared HTTP clients, so every request reuses warm connections.
///
/// Model requests (OpenAI, Codex) go through a pooled hyper client (rustls with Mozilla's roots,
/// HTTP/2 by ALPN, 10 s connect timeout, `TCP_NODELAY`) whose HTTP/1 read buffer is fixed at
/// 8 KiB per connection, which bounds the memory each open stream holds. The `reqwest::Client`
/// ([`client`](Self::client)) is for the sign-in code that shares this handle.
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
    upstream: Upstream,
}

impl ProviderHttp {
    /// Clients with sensible defaults: rustls, HTTP/2 when the server offers it, pooled
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
        Ok(Self::with_client(client))
    }

    /// Shares a `reqwest::Client` built elsewhere (e.g. the sign-in code's) as
    /// [`client`](Self::client); model requests still go through byok's own upstream client.
    pub fn with_client(client: reqwest::Client) -> Self {
        Self {
            client,
            upstream: Upstream::new(),
        }
    }

    /// The shared `reqwest::Client`, for sign-in and token refresh.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The client model requests go through.
    pub(crate) fn upstream(&self) -> &Upstream {
        &self.upstream
    }
}

impl From<reqwest::Client> for ProviderHttp {
    fn from(client: reqwest::Client) -> Self {
        Self::with_client(client)
    }
}
