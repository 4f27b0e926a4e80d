//! How the server behaves: client key, limits, timings.

use std::time::Duration;

use byok_types::Secret;

/// The request body limit when none is set: 20 MiB, because images come inline as data URLs.
pub const DEFAULT_BODY_LIMIT: usize = 20 * 1024 * 1024;

/// Settings of the HTTP server.
///
/// Build it with struct update syntax over [`ServerConfig::default`]:
///
/// ```
/// use std::time::Duration;
/// use byok_server::ServerConfig;
/// use byok_types::Secret;
///
/// let config = ServerConfig {
///     client_key: Some(Secret::new("my-local-key")),
///     keep_alive: Duration::from_secs(5),
///     ..ServerConfig::default()
/// };
/// assert_eq!(config.body_limit, 20 * 1024 * 1024);
/// ```
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The key clients must send (`Authorization: Bearer KEY` or `x-api-key: KEY`).
    /// `None` lets every client in; only allowed when listening on loopback.
    pub client_key: Option<Secret>,
    /// The largest request body accepted, in bytes; larger ones get 413.
    pub body_limit: usize,
    /// How long a stream may stay silent before a `: keep-alive` comment line is sent, so that
    /// proxies and clients do not give up while the model thinks.
    pub keep_alive: Duration,
    /// After a shutdown signal, how long running requests may take to finish before they are cut.
    pub shutdown_grace: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            client_key: None,
            body_limit: DEFAULT_BODY_LIMIT,
            keep_alive: Duration::from_secs(15),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}
