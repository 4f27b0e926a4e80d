//! How the server behaves: client key, limits, timings.

use std::sync::Arc;
use std::time::Duration;

use byok_types::{KeyUsageStore, MemoryKeyUsage, Metrics, Secret, StateHealth};

use crate::ClientKey;

/// The request body limit when none is set: 20 MiB, because images come inline as data URLs.
pub const DEFAULT_BODY_LIMIT: usize = 20 * 1024 * 1024;

/// Settings of the HTTP server.
///
/// Build it with [`ServerConfig::builder`] (every setting has a default, the same as
/// [`ServerConfig::default`]'s); it is `#[non_exhaustive]`, so a setting added later breaks no
/// caller:
///
/// ```
/// use std::time::Duration;
/// use byok_server::ServerConfig;
/// use byok_types::Secret;
///
/// let config = ServerConfig::builder()
///     .client_key(Secret::new("my-local-key"))
///     .keep_alive(Duration::from_secs(5))
///     .build();
/// assert_eq!(config.body_limit, 20 * 1024 * 1024);
/// ```
#[derive(Clone, Debug, bon::Builder)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The key clients must send (`Authorization: Bearer KEY` or `x-api-key: KEY`).
    /// `None` lets every client in; only allowed when listening on loopback.
    pub client_key: Option<Secret>,
    /// Named keys clients may send besides [`client_key`](Self::client_key) (which goes by
    /// the name `default`), each with its allowed models and daily token budget.
    #[builder(default)]
    pub client_keys: Vec<ClientKey>,
    /// Where the tokens each named key spends per day are counted (shared by a team of
    /// instances, or this server's memory).
    #[builder(default = Arc::new(MemoryKeyUsage::default()))]
    pub key_usage: Arc<dyn KeyUsageStore>,
    /// The state a team of instances shares (Redis), when there is one: whether it can be
    /// reached shows in `/readyz` and `/metrics`.
    pub shared_state: Option<Arc<dyn StateHealth>>,
    /// The largest request body accepted, in bytes; larger ones get 413.
    #[builder(default = DEFAULT_BODY_LIMIT)]
    pub body_limit: usize,
    /// How long a stream may stay silent before a `: keep-alive` comment line is sent, so that
    /// proxies and clients do not give up while the model thinks.
    #[builder(default = Duration::from_secs(15))]
    pub keep_alive: Duration,
    /// After a shutdown signal, how long running requests may take to finish before they are cut.
    #[builder(default = Duration::from_secs(30))]
    pub shutdown_grace: Duration,
    /// How long a client connection may take to send a request's headers, counted from when it
    /// opened or its previous answer ended; then it is closed. So connections that never send
    /// a request, send their headers a byte at a time, or sit idle between requests cannot
    /// hold the server's file descriptors.
    #[builder(default = Duration::from_secs(30))]
    pub client_idle_timeout: Duration,
    /// `Host` names served besides the loopback ones (`localhost`, `*.localhost`, loopback IP
    /// addresses) when the server listens on loopback: `name` (any port), `name:port`, or
    /// `*.domain`. Any other `Host` is refused, which defeats DNS rebinding.
    #[builder(default)]
    pub allowed_hosts: Vec<String>,
    /// Web origins (`scheme://host[:port]`) allowed to call the server from a browser besides
    /// loopback ones. A request with any other `Origin` is refused, and only these get CORS
    /// answers, so a web page the user visits cannot spend the account.
    #[builder(default)]
    pub allowed_origins: Vec<String>,
    /// Where the server counts requests, timings and tokens, served on `GET /metrics`. Share
    /// it with the executor (its builder's `metrics`) so upstream errors, retries and
    /// refreshes are counted in the same registry.
    #[builder(default)]
    pub metrics: Metrics,
}

impl ServerConfig {
    /// Whether clients must send a key: a `client_key` or any of `client_keys`.
    pub fn has_client_key(&self) -> bool {
        self.client_key.as_ref().is_some_and(|k| !k.is_empty()) || !self.client_keys.is_empty()
    }

    /// Every key clients may send: `client_key` first (as `default`), then `client_keys`.
    pub(crate) fn all_keys(&self) -> Vec<ClientKey> {
        let single = self.client_key.iter().filter(|k| !k.is_empty());
        single
            .map(|key| ClientKey::new(crate::client_key::DEFAULT_KEY_NAME, key))
            .chain(self.client_keys.iter().cloned())
            .collect()
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self::builder().build()
    }
}
