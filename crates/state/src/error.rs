//! What can go wrong with the shared state.

use thiserror::Error;

/// The shared state could not be set up or used.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StateError {
    /// `state_url` is not a Redis URL the client understands.
    #[error(
        "`state_url` is not a Redis URL ({detail}); write it as redis://HOST:PORT/DB \
         (rediss:// is not built in)"
    )]
    BadUrl {
        /// What the Redis client said.
        detail: String,
    },
    /// Redis did not answer at start-up.
    #[error(
        "cannot reach Redis at {at}: {detail}. Start it (or fix `state_url` / BYOK_STATE_URL / \
         --state-url), or leave the setting out to run one byok without shared state"
    )]
    Unreachable {
        /// The host and port asked (never a password).
        at: String,
        /// What failed.
        detail: String,
    },
    /// `state_key` is missing or too short to seal anything.
    #[error(
        "{0}: set `state_key` in byok.toml or BYOK_STATE_KEY to the same long random string on \
         every instance (e.g. `openssl rand -hex 32`)"
    )]
    Key(&'static str),
    /// A sealed value does not open with this instance's key: another `state_key`, or a
    /// value tampered with or moved to another key.
    #[error(
        "a value in Redis at `{at}` does not open with this `state_key`; every instance must \
         have the same `state_key`"
    )]
    Sealed {
        /// The Redis key of the value.
        at: String,
    },
    /// Redis failed while running.
    #[error("Redis failed: {0}")]
    Redis(String),
}

impl From<redis::RedisError> for StateError {
    fn from(err: redis::RedisError) -> Self {
        Self::Redis(err.to_string())
    }
}
