//! The shared HTTP handle every upstream request goes through.

use byok_types::{ByokError, Result};

use crate::upstream::{
    CONNECT_TIMEOUT, LeanClient, POOL_IDLE_TIMEOUT, TCP_KEEPALIVE, Transport, proxy_in_env,
};

/// A cheap-to-clone handle on the shared HTTP clients, so every request reuses warm connections.
///
/// [`new`](Self::new) sends model requests (OpenAI, Codex) through byok's own pooled hyper client:
/// rustls with Mozilla's roots, HTTP/2 by ALPN, a 10 s connect timeout, `TCP_NODELAY`, and a
/// fixed 8 KiB HTTP/1 read buffer per connection, which bounds what each open stream holds.
/// When `HTTPS_PROXY`, `HTTP_PROXY` or `ALL_PROXY` is set, or a proxy is given to
/// [`builder`](Self::builder), they go through a proxy-capable client instead (which also honours
/// `NO_PROXY`). Which HTTP libraries these are is this crate's business: none of them appears in
/// its API.
///
/// The idle-read timeout is not a client setting: each [`CodexExecutor`](crate::CodexExecutor)
/// applies its own (`idle_timeout`) while it waits for the answer's head and for every chunk.
///
/// ```
/// let http = byok_executor::ProviderHttp::new()?;
/// let same_pool = http.clone();
/// let proxied = byok_executor::ProviderHttp::builder()
///     .proxy("http://proxy.internal:3128")
///     .build()?;
/// # let _ = (same_pool, proxied);
/// # Ok::<(), byok_types::ByokError>(())
/// ```
#[derive(Clone, Debug)]
pub struct ProviderHttp {
    client: reqwest::Client,
    transport: Transport,
}

#[bon::bon]
impl ProviderHttp {
    /// Clients with sensible defaults: rustls, HTTP/2 when the server offers it, pooled
    /// connections, a 10 s connect timeout, TCP keep-alive, and the environment's proxy.
    pub fn new() -> Result<Self> {
        Self::builder().build()
    }

    /// Clients as [`new`](Self::new) makes them, with the options given.
    #[builder(
        start_fn(name = builder, vis = "pub"),
        builder_type(name = ProviderHttpBuilder, vis = "pub"),
        finish_fn(name = build, vis = "pub")
    )]
    fn with_options(
        /// Every upstream request goes through this proxy (`http://host:port`,
        /// `https://...`, `socks5://...` where supported), whatever the environment says.
        #[builder(into)]
        proxy: Option<String>,
    ) -> Result<Self> {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(CONNECT_TIMEOUT)
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .tcp_keepalive(TCP_KEEPALIVE)
            .tcp_nodelay(true);
        let proxied = proxy.is_some();
        if let Some(url) = proxy {
            let proxy = reqwest::Proxy::all(url.as_str())
                .map_err(|e| ByokError::Config(format!("the proxy `{url}` cannot be used: {e}")))?;
            builder = builder.proxy(proxy);
        }
        let client = builder
            .build()
            .map_err(|e| ByokError::Config(format!("cannot set up the HTTP client: {e}")))?;
        let transport = if proxied || proxy_in_env() {
            tracing::debug!("a proxy is set: model requests go through reqwest");
            Transport::Reqwest(client.clone())
        } else {
            Transport::Lean(Box::new(LeanClient::new()))
        };
        Ok(Self { client, transport })
    }

    /// The proxy-capable client, for the OpenAI API's stored-response calls.
    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The client model requests go through.
    pub(crate) fn transport(&self) -> &Transport {
        &self.transport
    }
}
