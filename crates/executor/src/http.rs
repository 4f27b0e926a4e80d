//! The shared HTTP handle every upstream request goes through.

use byok_types::{ByokError, Result};

use crate::upstream::{
    CONNECT_TIMEOUT, LeanClient, POOL_IDLE_TIMEOUT, TCP_KEEPALIVE, Transport, proxy_in_env,
};

/// A cheap-to-clone handle on the shared HTTP clients, so every request reuses warm connections.
///
/// [`new`](Self::new) sends model requests (OpenAI, Codex) through byok's own pooled hyper client:
/// rustls with Mozilla's roots, HTTP/2 by ALPN, a 10 s connect timeout, `TCP_NODELAY`, and a
/// fixed 16 KiB HTTP/1 read buffer per connection, which bounds what each open stream holds.
/// When `HTTPS_PROXY`, `HTTP_PROXY` or `ALL_PROXY` is set, they go through the
/// `reqwest::Client` instead, which honours those (and `NO_PROXY`). The `reqwest::Client`
/// ([`client`](Self::client)) also serves sign-in and token refresh.
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
    transport: Transport,
}

impl ProviderHttp {
    /// Clients with sensible defaults: rustls, HTTP/2 when the server offers it, pooled
    /// connections, a 10 s connect timeout, TCP keep-alive, and the environment's proxy.
    pub fn new() -> Result<Self> {
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(CONNECT_TIMEOUT)
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .tcp_keepalive(TCP_KEEPALIVE)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| ByokError::Config(format!("cannot set up the HTTP client: {e}")))?;
        let transport = if proxy_in_env() {
            tracing::debug!("a proxy is set: model requests go through reqwest");
            Transport::Reqwest(client.clone())
        } else {
            Transport::Lean(Box::new(LeanClient::new()))
        };
        Ok(Self { client, transport })
    }

    /// Sends every request, model requests included, through a `reqwest::Client` built
    /// elsewhere (e.g. with a proxy or extra root certificates, or shared with sign-in code).
    pub fn with_client(client: reqwest::Client) -> Self {
        Self {
            transport: Transport::Reqwest(client.clone()),
            client,
        }
    }

    /// The shared `reqwest::Client`, for sign-in and token refresh.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The client model requests go through.
    pub(crate) fn transport(&self) -> &Transport {
        &self.transport
    }
}

impl From<reqwest::Client> for ProviderHttp {
    fn from(client: reqwest::Client) -> Self {
        Self::with_client(client)
    }
}
