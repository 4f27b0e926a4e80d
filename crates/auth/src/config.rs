//! Where to sign in: the issuer, the OAuth client, and the HTTP client that reaches them.

use std::time::Duration;

/// The issuer of ChatGPT sign-ins, used when `BYOK_AUTH_ISSUER` is not set.
pub const DEFAULT_ISSUER: &str = "https://auth.openai.com";

/// The OAuth client id of the Codex CLI, which byok signs in as.
pub const CODEX_CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";

/// The environment variable that points sign-in and refresh at another issuer (tests, self-hosting).
pub const ISSUER_ENV: &str = "BYOK_AUTH_ISSUER";

/// How long a connection to the issuer may take (the executor's upstream client waits as long).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where and as whom byok signs in.
///
/// Built with [`AuthConfig::builder`] (or [`AuthConfig::from_env`]); `#[non_exhaustive]`, so a
/// setting added later breaks no caller. It holds its own pooled HTTPS client (rustls, the
/// environment's `HTTPS_PROXY`/`NO_PROXY` honoured), cheap to clone: which HTTP library that is
/// stays this crate's business.
///
/// ```
/// use byok_auth::AuthConfig;
/// let config = AuthConfig::builder().build();
/// assert_eq!(config.issuer, "https://auth.openai.com");
/// let local = AuthConfig::builder().issuer("http://127.0.0.1:9999/").build();
/// assert_eq!(local.issuer, "http://127.0.0.1:9999");
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AuthConfig {
    /// The issuer's base URL, without a trailing slash (`https://auth.openai.com`).
    pub issuer: String,
    /// The OAuth client id (the Codex CLI's).
    pub client_id: String,
    /// The HTTP client for every call to the issuer.
    pub(crate) http: reqwest::Client,
    /// Who byok says it is on a refresh (`originator`, `User-Agent`), as the official client.
    pub identity: crate::CodexIdentity,
}

#[bon::bon]
impl AuthConfig {
    /// The issuer and OAuth client to sign in with (by default the real issuer and the Codex
    /// CLI's client id).
    ///
    /// # Panics
    ///
    /// When the TLS backend cannot be set up, as `reqwest::Client::new` does: rustls with
    /// bundled roots reads nothing from the system, so this does not happen in practice.
    #[builder]
    pub fn new(
        /// The issuer's base URL ([`DEFAULT_ISSUER`]); a trailing `/` is dropped.
        #[builder(into, default = DEFAULT_ISSUER.to_owned())]
        issuer: String,
        /// The OAuth client id ([`CODEX_CLIENT_ID`]).
        #[builder(into, default = CODEX_CLIENT_ID.to_owned())]
        client_id: String,
        /// Who byok says it is to the issuer ([`crate::CodexIdentity::default`]); give the
        /// one the Codex backend is told, so that both see one client.
        #[builder(default)]
        identity: crate::CodexIdentity,
    ) -> Self {
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .expect("the TLS backend (rustls, bundled roots) cannot fail to start");
        Self {
            issuer: String::new(),
            client_id,
            http,
            identity,
        }
        .with_issuer(issuer)
    }

    /// The defaults, with the issuer taken from `BYOK_AUTH_ISSUER` when it is set.
    pub fn from_env() -> Self {
        let config = Self::builder().build();
        match std::env::var(ISSUER_ENV) {
            Ok(issuer) if !issuer.trim().is_empty() => config.with_issuer(issuer.trim()),
            _ => config,
        }
    }

    /// The same configuration (and HTTP client) with another issuer.
    #[must_use]
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        let issuer: String = issuer.into();
        issuer.trim_end_matches('/').clone_into(&mut self.issuer);
        self
    }

    /// The same configuration with another client identity (the one the Codex backend sees
    /// too, so that both see one client).
    #[must_use]
    pub fn with_identity(mut self, identity: crate::CodexIdentity) -> Self {
        self.identity = identity;
        self
    }

    /// `{issuer}/oauth/token`: code exchange and refresh.
    pub(crate) fn token_url(&self) -> String {
        format!("{}/oauth/token", self.issuer)
    }
}
