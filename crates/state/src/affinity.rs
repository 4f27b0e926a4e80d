//! Conversation-to-account affinity shared: turn 2 through another instance goes to the
//! account whose prompt cache holds turn 1.

use byok_types::SharedAffinity;

use crate::RedisState;

/// [`SharedAffinity`] in Redis: one key per conversation, `byok:affinity:DIGEST` -> the account
/// that served it last (sealed: account names are people's emails), expiring as the
/// executor's memory of it does (an hour after its last turn). The digest is the executor's
/// (`crates/executor/src/codex/session.rs`), never content.
///
/// While Redis is known to be unreachable (`RedisState::is_up`, pinged every second) it is
/// neither asked nor told: a request does not wait a command's timeout for a preference, and
/// the instance's own memory decides.
#[derive(Clone, Debug)]
pub struct RedisAffinity {
    state: RedisState,
}

impl RedisAffinity {
    /// Affinity shared in `state`.
    pub fn new(state: RedisState) -> Self {
        Self { state }
    }
}

#[async_trait::async_trait]
impl SharedAffinity for RedisAffinity {
    async fn last_served(&self, conversation: &str) -> Option<String> {
        if !self.state.is_up() {
            return None;
        }
        let at = self.state.key(&["affinity", conversation]);
        String::from_utf8(self.state.get_sealed(&at).await?).ok()
    }

    async fn served(&self, conversation: &str, account: &str, ttl_secs: u64) {
        if !self.state.is_up() {
            return;
        }
        let at = self.state.key(&["affinity", conversation]);
        let told = self
            .state
            .set_sealed(&at, account.as_bytes(), ttl_secs)
            .await;
        if let Err(e) = told {
            tracing::debug!(error = %e, "cannot tell the other instances which account serves a conversation");
        }
    }
}
