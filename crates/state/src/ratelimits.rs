//! The accounts' latest rate-limit figures shared: what the backend told one instance, every
//! instance's status shows.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use byok_types::{ProviderId, RateLimitSnapshot, SharedRateLimits};

use crate::RedisState;

/// How long the figures are kept after the last publish: an account not used for a week
/// (signed out) is forgotten.
const KEEP_SECS: i64 = 7 * 24 * 60 * 60;

/// Takes each `ARGV` triple (field, captured at, sealed snapshot) into the hashes `KEYS[1]`
/// (snapshots) and `KEYS[2]` (their capture times) unless the team holds a newer snapshot of
/// that account: two instances publishing at once leave the newer one, whichever lands last.
/// (The same second is taken: an in-stream `codex.rate_limits` event adds to the head's
/// figures within it.)
const NEWER: &str = "for i = 1, #ARGV - 1, 3 do \
    local at = tonumber(redis.call('HGET', KEYS[2], ARGV[i]) or '-1') \
    if tonumber(ARGV[i + 1]) >= at then \
      redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 2]) \
      redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end end \
    redis.call('EXPIRE', KEYS[1], ARGV[#ARGV]) redis.call('EXPIRE', KEYS[2], ARGV[#ARGV]) \
    return 0";

/// [`SharedRateLimits`] in Redis: the hash `byok:ratelimits`, `PROVIDER:ACCOUNT` -> the
/// account's latest snapshot (sealed), beside `byok:ratelimits:at` with when each was captured
/// (so that an older one never replaces a newer one: the `NEWER` script in this file).
///
/// Clones share what this instance knows Redis holds (what it published or read), so a
/// snapshot read from Redis is not published back. While Redis is known to be unreachable it
/// is neither asked nor told (the figures of that time are published with the next change).
#[derive(Clone, Debug)]
pub struct RedisRateLimits {
    state: RedisState,
    in_redis: Arc<Mutex<HashMap<String, RateLimitSnapshot>>>,
}

impl RedisRateLimits {
    /// Figures shared in `state`.
    pub fn new(state: RedisState) -> Self {
        Self {
            state,
            in_redis: Arc::default(),
        }
    }

    fn in_redis(&self) -> std::sync::MutexGuard<'_, HashMap<String, RateLimitSnapshot>> {
        self.in_redis.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The hash field of `account`'s figures.
fn field(provider: ProviderId, account: &str) -> String {
    format!("{}:{account}", provider.as_str())
}

#[async_trait::async_trait]
impl SharedRateLimits for RedisRateLimits {
    async fn publish(&self, snapshots: &[(ProviderId, String, RateLimitSnapshot)]) {
        if !self.state.is_up() {
            return;
        }
        let at = self.state.key(&["ratelimits"]);
        let new: Vec<(String, &RateLimitSnapshot)> = {
            let in_redis = self.in_redis();
            snapshots
                .iter()
                .map(|(provider, account, snapshot)| (field(*provider, account), snapshot))
                .filter(|(field, snapshot)| in_redis.get(field) != Some(*snapshot))
                .collect()
        };
        if new.is_empty() {
            return;
        }
        let mut script = redis::cmd("EVAL");
        script
            .arg(NEWER)
            .arg(2)
            .arg(&at)
            .arg(self.state.key(&["ratelimits", "at"]));
        for (field, snapshot) in &new {
            let Ok(json) = serde_json::to_vec(snapshot) else {
                continue;
            };
            let sealed = self.state.seal.seal(&format!("{at}:{field}"), &json);
            script.arg(field).arg(snapshot.captured_at).arg(sealed);
        }
        script.arg(KEEP_SECS);
        let told: redis::RedisResult<i64> = self.state.run(&script).await;
        match told {
            Ok(_) => {
                let mut in_redis = self.in_redis();
                for (field, snapshot) in new {
                    in_redis.insert(field, snapshot.clone());
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, "cannot tell the other instances the rate-limit figures");
            }
        }
    }

    async fn latest(&self) -> Vec<(ProviderId, String, RateLimitSnapshot)> {
        if !self.state.is_up() {
            return Vec::new();
        }
        let at = self.state.key(&["ratelimits"]);
        let all: redis::RedisResult<Vec<(String, Vec<u8>)>> =
            self.state.run(redis::cmd("HGETALL").arg(&at)).await;
        let Ok(all) = all else {
            return Vec::new();
        };
        let mut latest = Vec::with_capacity(all.len());
        let mut in_redis = self.in_redis();
        for (field, sealed) in all {
            let Some((provider, account)) = field.split_once(':') else {
                continue;
            };
            let Ok(provider) = provider.parse::<ProviderId>() else {
                continue;
            };
            // A value that does not open (another `state_key`) or parse is no figure.
            let Ok(plain) = self.state.seal.open(&format!("{at}:{field}"), &sealed) else {
                continue;
            };
            let Ok(snapshot) = serde_json::from_slice::<RateLimitSnapshot>(&plain) else {
                continue;
            };
            in_redis.insert(field.clone(), snapshot.clone());
            latest.push((provider, account.to_owned(), snapshot));
        }
        latest
    }
}
