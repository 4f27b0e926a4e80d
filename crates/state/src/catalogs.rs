//! The accounts' live model catalogs shared: one instance's fetch serves the team.

use byok_types::{SharedCatalog, SharedCatalogs};

use crate::RedisState;

/// [`SharedCatalogs`] in Redis: one key per account, `byok:catalog:DIGEST` -> the catalog the
/// team fetched last (sealed), `DIGEST` the account's keyed digest (`Seal::name`: the
/// instance knows the account it asks for, and Redis does not show the email), expiring when the executor would ask for it again (an hour
/// after it was fetched; `crates/executor/src/codex/catalog.rs`).
///
/// While Redis is known to be unreachable it is neither asked nor told: the instance asks the
/// backend itself, as one byok alone does.
#[derive(Clone, Debug)]
pub struct RedisCatalogs {
    state: RedisState,
}

impl RedisCatalogs {
    /// Catalogs shared in `state`.
    pub fn new(state: RedisState) -> Self {
        Self { state }
    }
}

#[async_trait::async_trait]
impl SharedCatalogs for RedisCatalogs {
    async fn publish(&self, account: &str, catalog: &SharedCatalog, ttl_secs: u64) {
        if !self.state.is_up() {
            return;
        }
        let Ok(json) = serde_json::to_vec(catalog) else {
            return;
        };
        let at = self.state.key(&["catalog", &self.state.seal.name(account)]);
        if let Err(e) = self.state.set_sealed(&at, &json, ttl_secs).await {
            tracing::debug!(account, error = %e, "cannot tell the other instances the model catalog");
        }
    }

    async fn get(&self, account: &str) -> Option<SharedCatalog> {
        if !self.state.is_up() {
            return None;
        }
        let at = self.state.key(&["catalog", &self.state.seal.name(account)]);
        serde_json::from_slice(&self.state.get_sealed(&at).await?).ok()
    }
}
