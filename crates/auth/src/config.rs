//! Where to sign in: the issuer, the OAuth client and the HTTP client.

/// The issuer of ChatGPT sign-ins, used when `BYOK_AUTH_ISSUER` is not set.
pub const DEFAULT_ISSUER: &str = "https://auth.openai.com";

/// The OAuth client id of the Codex CLI, which byok signs in as.
pub const CODEX_CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";

/// The environment variable that points sign-in and refresh at another issuer (tests, self-hosting).
pub const ISSUER_ENV: &str = "BYOK_AUTH_ISSUER";

/// Where and as whom byok signs in.
///
/// ```
/// use byok_auth::AuthConfig;
/// let config = AuthConfig::new(reqwest::Client::new());
/// assert_eq!(config.issuer, "https://auth.openai.com");
/// let local = config.with_issuer("http://127.0.0.1:9999/");
/// assert_eq!(local.issuer, "http://127.0.0.1:9999");
/// ```
#[derive(Clone, Debug)]
pub struct AuthConfig {
    /// The issuer's base URL, without a trailing slash (`https://auth.openai.com`).
    pub issuer: String,
    /// The OAuth client id (the Codex CLI's).
    pub client_id: String,
    /// The HTTP client for every call to the issuer; share one across byok.
    pub http: reqwest::Client,
}

impl AuthConfig {
    /// The real issuer and the Codex CLI's client id.
    pub fn new(http: reqwest::Client) -> Self {
        Self {
            issuer: DEFAULT_ISSUER.to_owned(),
            client_id: CODEX_CLIENT_ID.to_owned(),
            http,
        }
    }

    /// Like [`AuthConfig::new`], with the issuer taken from `BYOK_AUTH_ISSUER` when it is set.
    pub fn from_env(http: reqwest::Client) -> Self {
        let config = Self::new(http);
        match std::env::var(ISSUER_ENV) {
            Ok(issuer) if !issuer.trim().is_empty() => config.with_issuer(issuer.trim()),
            _ => config,
        }
    }

    /// The same configuration with another issuer.
    #[must_use]
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        let issuer: String = issuer.into();
        issuer.trim_end_matches('/').clone_into(&mut self.issuer);
        self
    }

    /// `{issuer}/oauth/token`: code exchange and refresh.
    pub(crate) fn token_url(&self) -> String {
        format!("{}/oauth/token", self.issuer)
    }
}
