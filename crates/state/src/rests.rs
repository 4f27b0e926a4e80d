//! Account rests shared: an account at its usage limit through one instance rests for all.

use byok_types::SharedRests;

use crate::RedisState;

/// [`SharedRests`] in Redis: one hash, `byok:rests`, account name -> the Unix second it may
/// serve again. Without Redis, nothing is told or read, and each instance rests its accounts
/// as it finds them at their limit.
#[derive(Clone, Debug)]
pub struct RedisRests {
    state: RedisState,
}

impl RedisRests {
    /// Rests shared in `state`.
    pub fn new(state: RedisState) -> Self {
        Self { state }
    }
}

#[async_trait::async_trait]
impl SharedRests for RedisRests {
    async fn rest(&self, account: &str, until: i64) {
        let at = self.state.key(&["rests"]);
        let told: redis::RedisResult<()> = self
            .state
            .run(redis::cmd("HSET").arg(&at).arg(account).arg(until))
            .await;
        if let Err(e) = told {
            tracing::warn!(account, error = %e, "cannot tell the other instances that the account rests");
        }
    }

    async fn resting(&self, now: i64) -> Vec<(String, i64)> {
        let at = self.state.key(&["rests"]);
        let all: redis::RedisResult<Vec<(String, i64)>> =
            self.state.run(redis::cmd("HGETALL").arg(&at)).await;
        let Ok(all) = all else {
            return Vec::new();
        };
        let (resting, over): (Vec<_>, Vec<_>) =
            all.into_iter().partition(|(_, until)| *until > now);
        if !over.is_empty() {
            // Rests that are over are forgotten, so the hash stays as small as the team.
            let mut del = redis::cmd("HDEL");
            del.arg(&at);
            for (account, _) in &over {
                del.arg(account);
            }
            let _: redis::RedisResult<()> = self.state.run(&del).await;
        }
        resting
    }
}
