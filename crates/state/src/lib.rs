#![doc = include_str!("../README.md")]
//!
//! ## Why a crate of its own
//!
//! It is the one place that speaks to Redis: the executor, the server and the stores know
//! only their traits (`ResponseStore`, `KeyUsageStore`), and one byok without Redis does not
//! build a line of this into its behaviour. The binary wires it in when `state_url` is set.

mod affinity;
mod catalogs;
mod error;
mod ratelimits;
mod responses;
mod rests;
mod seal;
mod tokens;
mod usage;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use byok_types::Secret;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

pub use affinity::RedisAffinity;
pub use catalogs::RedisCatalogs;
pub use error::StateError;
pub use ratelimits::RedisRateLimits;
pub use responses::RedisResponseStore;
pub use rests::RedisRests;
pub use tokens::RedisTokenStore;
pub use usage::RedisKeyUsage;

use seal::Seal;

/// How long one command may take before it counts as failed: Redis answers in well under a
/// millisecond on a LAN, so a second means it is gone, and a request must not hang on it.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(1);
/// How long connecting may take, at start-up and when reconnecting.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long Redis is left alone after a command could not reach it: the commands of that time
/// fail at once, and each user of the state goes on with what its instance knows, instead of
/// every request waiting out a command's second for each command it sends (three, frozen:
/// tokens, rests, a key's usage). The watch's ping ([`RedisState::watch`]) still asks every
/// second, so Redis is used again within a second of its return; without a watch, the first
/// command after this time asks.
const HOLD_OFF: Duration = Duration::from_secs(2);

/// The Redis a team of byok instances shares, and the key that seals what byok writes there.
/// Cheap to clone: clones share the connection.
///
/// The connection is the `redis` crate's [`ConnectionManager`]: one multiplexed connection
/// that reconnects in the background after it is lost; commands fail (at most after a second)
/// while it is gone, and each user of the state decides what to do without it.
#[derive(Clone)]
pub struct RedisState {
    conn: ConnectionManager,
    /// Every key byok writes starts with it (`byok:`), so it can share a database.
    prefix: Arc<str>,
    /// `redis HOST:PORT`, for people.
    described: Arc<str>,
    seal: Arc<Seal>,
    health: Arc<Health>,
}

impl std::fmt::Debug for RedisState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisState")
            .field("prefix", &self.prefix)
            .field("up", &self.is_up())
            .finish_non_exhaustive()
    }
}

impl byok_types::StateHealth for RedisState {
    fn is_up(&self) -> bool {
        RedisState::is_up(self)
    }

    fn describe(&self) -> String {
        self.described.to_string()
    }
}

/// Whether the last command reached Redis, how many did not, and when the last one did not.
#[derive(Debug)]
struct Health {
    up: AtomicBool,
    failures: AtomicU64,
    /// When the state was connected: the clock `failed_at_ms` counts from.
    since: std::time::Instant,
    /// Milliseconds after `since` of the last command that could not reach Redis.
    failed_at_ms: AtomicU64,
}

impl Health {
    /// Whether commands are held off now ([`HOLD_OFF`] after a failure, while not up).
    fn holding_off(&self) -> bool {
        if self.up.load(Ordering::Relaxed) {
            return false;
        }
        let failed_at = Duration::from_millis(self.failed_at_ms.load(Ordering::Relaxed));
        self.since.elapsed().saturating_sub(failed_at) < HOLD_OFF
    }
}

impl RedisState {
    /// Connects to the Redis at `url` (`redis://HOST:PORT/DB`, a password as
    /// `redis://:PASSWORD@HOST`) and checks it answers; `state_key` seals what is written.
    ///
    /// Fails with a clear error when the URL is wrong, the key is missing or short, or Redis
    /// does not answer within two seconds: a team's byok must not start on a state it cannot
    /// share.
    pub async fn connect(url: &str, state_key: &Secret) -> Result<Self, StateError> {
        let seal = Seal::new(state_key)?;
        let client = redis::Client::open(url).map_err(|e| StateError::BadUrl {
            detail: e.to_string(),
        })?;
        let at = client.get_connection_info().addr().to_string();
        let described = format!("redis {at}");
        let unreachable = |detail: String| StateError::Unreachable {
            at: at.clone(),
            detail,
        };
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            // Reconnecting is the manager's, in the background, after each failure; a request
            // does not wait through a series of tries.
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(1));
        let conn = tokio::time::timeout(
            CONNECT_TIMEOUT * 2,
            ConnectionManager::new_with_config(client, config),
        )
        .await
        .map_err(|_| unreachable("no answer within 4 s".into()))?
        .map_err(|e| unreachable(e.to_string()))?;
        let state = Self {
            conn,
            prefix: Arc::from("byok:"),
            described: Arc::from(described),
            seal: Arc::new(seal),
            health: Arc::new(Health {
                up: AtomicBool::new(true),
                failures: AtomicU64::new(0),
                since: std::time::Instant::now(),
                failed_at_ms: AtomicU64::new(0),
            }),
        };
        let pong: String = state
            .ask(&redis::cmd("PING"))
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        if pong != "PONG" {
            return Err(unreachable(format!("PING answered {pong:?}")));
        }
        Ok(state)
    }

    /// Whether the last command reached Redis (for `/readyz` and `/metrics`).
    pub fn is_up(&self) -> bool {
        self.health.up.load(Ordering::Relaxed)
    }

    /// How many commands failed to reach Redis since start.
    pub fn failures(&self) -> u64 {
        self.health.failures.load(Ordering::Relaxed)
    }

    /// Pings Redis every `every` from now on, so that [`is_up`](Self::is_up) tells the truth
    /// while no request needs Redis. The task ends when the returned handle is dropped
    /// (aborted) or the runtime stops.
    pub fn watch(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let state = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                // Asked even while commands are held off: this is how Redis's return is seen.
                let _: redis::RedisResult<String> = state.ask(&redis::cmd("PING")).await;
            }
        })
    }

    /// Where it is, for messages: `redis 127.0.0.1:6379`.
    fn describe_at(&self) -> String {
        self.described.to_string()
    }

    /// The Redis key of `parts`, under the prefix: `byok:resp:CLIENT:ID`.
    fn key(&self, parts: &[&str]) -> String {
        let mut key = String::with_capacity(
            self.prefix.len() + parts.iter().map(|p| p.len() + 1).sum::<usize>(),
        );
        key.push_str(&self.prefix);
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                key.push(':');
            }
            key.push_str(part);
        }
        key
    }

    /// Writes `plain` sealed at `at`, kept `ttl_secs` (at least a second).
    async fn set_sealed(&self, at: &str, plain: &[u8], ttl_secs: u64) -> redis::RedisResult<()> {
        let sealed = self.seal.seal(at, plain);
        self.run(
            redis::cmd("SET")
                .arg(at)
                .arg(sealed)
                .arg("EX")
                .arg(ttl_secs.max(1)),
        )
        .await
    }

    /// The plain text sealed at `at`; none when nothing is there, Redis cannot be reached, or
    /// it does not open (another `state_key`).
    async fn get_sealed(&self, at: &str) -> Option<Vec<u8>> {
        let sealed: redis::RedisResult<Option<Vec<u8>>> = self.run(redis::cmd("GET").arg(at)).await;
        self.seal.open(at, &sealed.ok()??).ok()
    }

    /// Runs one command, noting whether Redis answered; while Redis is held off (it could
    /// not be reached within the last [`HOLD_OFF`]), fails at once without sending it.
    async fn run<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> redis::RedisResult<T> {
        if self.health.holding_off() {
            return Err(held_off());
        }
        self.ask(cmd).await
    }

    /// Runs one command whether or not Redis is held off, noting whether it answered.
    ///
    /// A command sent on a connection Redis had dropped (a restart: broken pipe, reset) is
    /// sent once more, on the connection the manager makes anew: it never reached Redis, and
    /// the first command after a restart is often the write-back of a refresh, whose tokens
    /// must not be lost. Every command byok sends is idempotent (GET, SET, HSET, scripts that
    /// compare first, the counters' increments marked applied in `usage.rs`).
    async fn ask<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> redis::RedisResult<T> {
        let mut conn = self.conn.clone();
        let mut result = cmd.query_async(&mut conn).await;
        if result
            .as_ref()
            .is_err_and(redis::RedisError::is_connection_dropped)
        {
            result = cmd.query_async(&mut conn).await;
        }
        self.note(&result);
        result
    }

    /// Runs a pipeline (atomically, as MULTI/EXEC), noting whether Redis answered.
    async fn run_pipe<T: redis::FromRedisValue>(
        &self,
        pipe: &redis::Pipeline,
    ) -> redis::RedisResult<T> {
        if self.health.holding_off() {
            return Err(held_off());
        }
        let mut conn = self.conn.clone();
        let result = pipe.query_async(&mut conn).await;
        self.note(&result);
        result
    }

    fn note<T>(&self, result: &redis::RedisResult<T>) {
        // A command Redis refused (a wrong type, a script error) still reached it.
        let reached = result
            .as_ref()
            .err()
            .is_none_or(|e| !(e.is_io_error() || e.is_timeout() || e.is_connection_dropped()));
        let was_up = self.health.up.swap(reached, Ordering::Relaxed);
        if !reached {
            let at = u64::try_from(self.health.since.elapsed().as_millis()).unwrap_or(u64::MAX);
            self.health.failed_at_ms.store(at, Ordering::Relaxed);
            self.health.failures.fetch_add(1, Ordering::Relaxed);
            if was_up {
                tracing::warn!(
                    "Redis is unreachable: serving from what this instance knows until it is back"
                );
            }
        } else if !was_up {
            tracing::info!("Redis is reachable again");
        }
    }
}

/// The error of a command not sent because Redis is held off: an I/O error, as the failure
/// that started the hold-off was, so every user treats it as Redis being unreachable.
fn held_off() -> redis::RedisError {
    std::io::Error::new(
        std::io::ErrorKind::NotConnected,
        format!(
            "Redis did not answer a moment ago: not asked again for {} s",
            HOLD_OFF.as_secs()
        ),
    )
    .into()
}
