//! What a team of instances shares beyond its stores: account rests (an account that hit its
//! usage limit through one byok rests for all of them at once), which account served each
//! conversation last, the accounts' latest rate-limit figures, their live model catalogs, and
//! whether the shared state can be reached.

use crate::{ProviderId, RateLimitSnapshot};

/// Where the usage-limit rests of the signed-in accounts are told to and read from the other
/// instances of a team (in Redis). One byok alone needs none: its account pool keeps its own.
///
/// Both methods must not fail the request: an implementation that cannot reach its store
/// logs, and the instance goes on with what it knows itself.
#[async_trait::async_trait]
pub trait SharedRests: Send + Sync + std::fmt::Debug {
    /// Tells the others that `account` rests until the Unix second `until`.
    async fn rest(&self, account: &str, until: i64);

    /// The rests still in force at `now` (Unix seconds): account name, until when.
    async fn resting(&self, now: i64) -> Vec<(String, i64)>;
}

/// Which account served each conversation last, told to and read from a team's other instances
/// (in Redis): the backend's prompt cache is per account, so turn 2 answered through another
/// instance goes to the account that has turn 1 cached. One byok alone needs none: its
/// executor remembers in memory.
///
/// A conversation is named by a digest (hex), never by its content. Neither method may fail the
/// request: an implementation that cannot reach its store answers `None` / logs, and the
/// instance goes on with what it remembers itself.
#[async_trait::async_trait]
pub trait SharedAffinity: Send + Sync + std::fmt::Debug {
    /// The account that served `conversation` last, if one did within its time to live.
    async fn last_served(&self, conversation: &str) -> Option<String>;

    /// Tells the others that `account` served `conversation`, kept `ttl_secs` from now.
    async fn served(&self, conversation: &str, account: &str, ttl_secs: u64);
}

/// The latest rate-limit figures of each account, told to and read from a team's other
/// instances (in Redis): what the backend's answers through one instance said shows in every
/// instance's `/v1/status`, `/metrics` and `byok status`. One byok alone needs none: its
/// [`RateLimitStore`](crate::RateLimitStore) knows what it saw.
///
/// Neither method may fail: an implementation that cannot reach its store logs (`publish`) or
/// answers nothing (`latest`), and the instance shows what it knows itself.
#[async_trait::async_trait]
pub trait SharedRateLimits: Send + Sync + std::fmt::Debug {
    /// Tells the others the snapshots among `snapshots` they do not hold yet; a snapshot older
    /// than the one the team holds for its account is not taken.
    async fn publish(&self, snapshots: &[(ProviderId, String, RateLimitSnapshot)]);

    /// The latest snapshot of each account the team's instances told.
    async fn latest(&self) -> Vec<(ProviderId, String, RateLimitSnapshot)>;
}

/// One account's live model catalog as a team shares it: what one instance fetched
/// (`GET {codex_base}/models`), another serves without asking the backend itself.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct SharedCatalog {
    /// The catalog in the backend's own shape (`{"models": [...]}`, the fields byok reads).
    pub catalog: serde_json::Value,
    /// Its version tag (`x-models-etag`), if the backend gave one.
    pub etag: Option<String>,
    /// When it was fetched, in Unix seconds.
    pub fetched_at: i64,
    /// The `client_version` it was asked with (the backend lists models per client version).
    pub client_version: String,
}

impl SharedCatalog {
    /// The catalog `catalog`, tagged `etag`, fetched at `fetched_at` with `client_version`.
    pub fn new(
        catalog: serde_json::Value,
        etag: Option<String>,
        fetched_at: i64,
        client_version: impl Into<String>,
    ) -> Self {
        Self {
            catalog,
            etag,
            fetched_at,
            client_version: client_version.into(),
        }
    }
}

/// Where the accounts' live model catalogs are told to and read from a team's other instances
/// (in Redis), so that one fetch serves the team. One byok alone needs none: it keeps its own
/// in `$BYOK_HOME/models_cache.json`.
///
/// Neither method may fail: an implementation that cannot reach its store logs (`publish`) or
/// answers `None` (`get`), and the instance asks the backend itself.
#[async_trait::async_trait]
pub trait SharedCatalogs: Send + Sync + std::fmt::Debug {
    /// Tells the others `account`'s catalog, kept for `ttl_secs`.
    async fn publish(&self, account: &str, catalog: &SharedCatalog, ttl_secs: u64);

    /// `account`'s catalog as the team last fetched it, if one is kept.
    async fn get(&self, account: &str) -> Option<SharedCatalog>;
}

/// Whether the state a team of instances shares can be reached now, for `/readyz` and
/// `/metrics` (the server knows no more of it than this).
pub trait StateHealth: Send + Sync + std::fmt::Debug {
    /// Whether the last contact with the shared state succeeded.
    fn is_up(&self) -> bool;

    /// Where the state is, for people (never a password): `redis 127.0.0.1:6379`.
    fn describe(&self) -> String;
}
