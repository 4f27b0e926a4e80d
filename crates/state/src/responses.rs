//! The response store in Redis: `previous_response_id` and `item_reference` work whichever
//! instance gets the next request.

use std::time::Duration;

use byok_store::{ResponseStore, StoreError};
use byok_translate::StoredResponse;
use byok_types::ClientId;
use serde_json::Value;

use crate::RedisState;

/// [`ResponseStore`] in Redis: each record sealed at `byok:resp:CLIENT:ID`, each of its item
/// ids at `byok:item:CLIENT:ITEM` naming the response that holds it, all with the store's time
/// to live. Redis's own `maxmemory` policy bounds the memory (byok's `response_store_mib` is
/// the memory store's).
///
/// The client's identity is part of every key, so a client never reads another's records.
#[derive(Clone, Debug)]
pub struct RedisResponseStore {
    state: RedisState,
    ttl: Duration,
}

impl RedisResponseStore {
    /// Records kept in `state` for `ttl` after they are stored.
    pub fn new(state: RedisState, ttl: Duration) -> Self {
        Self { state, ttl }
    }

    fn ttl_ms(&self) -> u64 {
        u64::try_from(self.ttl.as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }
}

fn unavailable(err: &redis::RedisError) -> StoreError {
    StoreError::Unavailable(format!("Redis: {err}"))
}

#[async_trait::async_trait]
impl ResponseStore for RedisResponseStore {
    async fn put(&self, client: &ClientId, response: &StoredResponse) -> Result<(), StoreError> {
        let at = self.state.key(&["resp", client.as_str(), response.id()]);
        let json = serde_json::to_vec(response).map_err(|e| StoreError::Corrupt {
            id: response.id().to_owned(),
            reason: e.to_string(),
        })?;
        let sealed = self.state.seal.seal(&at, &json);
        let ttl = self.ttl_ms();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("SET")
            .arg(&at)
            .arg(sealed)
            .arg("PX")
            .arg(ttl)
            .ignore();
        for item in response.item_ids() {
            let item_at = self.state.key(&["item", client.as_str(), item]);
            pipe.cmd("SET")
                .arg(item_at)
                .arg(response.id())
                .arg("PX")
                .arg(ttl)
                .ignore();
        }
        self.state
            .run_pipe::<()>(&pipe)
            .await
            .map_err(|e| unavailable(&e))
    }

    async fn get(&self, client: &ClientId, id: &str) -> Result<Option<StoredResponse>, StoreError> {
        let at = self.state.key(&["resp", client.as_str(), id]);
        let sealed: Option<Vec<u8>> = self
            .state
            .run(redis::cmd("GET").arg(&at))
            .await
            .map_err(|e| unavailable(&e))?;
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let corrupt = |reason: String| StoreError::Corrupt {
            id: id.to_owned(),
            reason,
        };
        let json = self
            .state
            .seal
            .open(&at, &sealed)
            .map_err(|e| corrupt(e.to_string()))?;
        serde_json::from_slice(&json)
            .map(Some)
            .map_err(|e| corrupt(e.to_string()))
    }

    async fn item(&self, client: &ClientId, id: &str) -> Result<Option<Value>, StoreError> {
        let at = self.state.key(&["item", client.as_str(), id]);
        let holder: Option<String> = self
            .state
            .run(redis::cmd("GET").arg(&at))
            .await
            .map_err(|e| unavailable(&e))?;
        let Some(holder) = holder else {
            return Ok(None);
        };
        Ok(self
            .get(client, &holder)
            .await?
            .and_then(|record| record.item(id).cloned()))
    }

    async fn delete(&self, client: &ClientId, id: &str) -> Result<bool, StoreError> {
        let at = self.state.key(&["resp", client.as_str(), id]);
        let removed: u64 = self
            .state
            .run(redis::cmd("DEL").arg(&at))
            .await
            .map_err(|e| unavailable(&e))?;
        // Its items' keys now name a response that is gone: they read as gone too.
        Ok(removed > 0)
    }
}
