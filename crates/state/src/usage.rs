//! Tokens per client key and UTC day, shared: a key's budget is one budget over every
//! instance.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use byok_types::{ByokError, KeyUsageStore};
use tokio::sync::mpsc;

use crate::RedisState;

/// How long a day's count is kept after its last increment: past the day itself, so
/// `byok status` still shows yesterday's right after midnight; then Redis forgets it.
const KEEP_DAY_SECS: i64 = 2 * 24 * 60 * 60;
/// How long the writer waits before trying again when Redis is gone.
const RETRY_DELAY: Duration = Duration::from_millis(500);
/// How long Redis remembers that an increment was applied: longer than any retry of it.
const KEEP_APPLIED_SECS: i64 = 60 * 60;

/// Adds `ARGV[1]` tokens to the count `KEYS[1]` (kept `ARGV[2]` seconds) once, however often
/// it is sent: `KEYS[2]` marks the increment applied. An increment whose answer was lost (Redis
/// killed or frozen after applying it, the command timed out) is sent again, and must not
/// count twice.
/// Answers `{1, total}` when this call applied it, `{0, total}` when an earlier one had.
const ADD_ONCE: &str = "if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[3]) then \
    local total = redis.call('INCRBY', KEYS[1], ARGV[1]) \
    redis.call('EXPIRE', KEYS[1], ARGV[2]) return {1, total} end \
    return {0, tonumber(redis.call('GET', KEYS[1]) or '0')}";

/// [`KeyUsageStore`] in Redis: `byok:usage:DAY:KEY` counted with `INCRBY`, each increment
/// applied once however often it is sent (the `ADD_ONCE` script in this file).
///
/// [`add`](KeyUsageStore::add) runs where an answer ends and must not wait: the tokens go to a
/// writer task, which keeps them while Redis is gone and writes them when it is back (nothing
/// is lost). [`used`](KeyUsageStore::used) is Redis's count (or the highest this instance saw
/// today, when Redis is gone or lost its data) plus what this instance has not written yet; an
/// increment being written at that very moment may count twice for that moment, never zero
/// times.
#[derive(Clone, Debug)]
pub struct RedisKeyUsage {
    state: RedisState,
    counts: Arc<Mutex<Counts>>,
    writes: mpsc::UnboundedSender<(String, i64, u64)>,
}

/// What this instance knows per (key, day).
#[derive(Debug, Default)]
struct Counts {
    /// Tokens added here and not yet in Redis.
    pending: HashMap<(String, i64), u64>,
    /// Redis's count as last read or written.
    last_known: HashMap<(String, i64), u64>,
}

impl RedisKeyUsage {
    /// Counts in `state`. Spawns the writer task, so it must be called on a tokio runtime;
    /// the task ends when the last clone is dropped.
    pub fn new(state: RedisState) -> Self {
        let (writes, queue) = mpsc::unbounded_channel();
        let counts = Arc::new(Mutex::new(Counts::default()));
        tokio::spawn(write_all(state.clone(), Arc::clone(&counts), queue));
        Self {
            state,
            counts,
            writes,
        }
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Writes each increment to Redis in order, trying again until Redis takes it.
async fn write_all(
    state: RedisState,
    counts: Arc<Mutex<Counts>>,
    mut queue: mpsc::UnboundedReceiver<(String, i64, u64)>,
) {
    while let Some((key, day, tokens)) = queue.recv().await {
        let at = state.key(&["usage", &day.to_string(), &key]);
        let applied = state.key(&["usage-applied", &uuid::Uuid::new_v4().to_string()]);
        let mut add = redis::cmd("EVAL");
        add.arg(ADD_ONCE)
            .arg(2)
            .arg(&at)
            .arg(&applied)
            .arg(tokens)
            .arg(KEEP_DAY_SECS)
            .arg(KEEP_APPLIED_SECS);
        loop {
            match state.run::<(u8, u64)>(&add).await {
                Ok((applied, total)) => {
                    let mut counts = counts.lock().unwrap_or_else(PoisonError::into_inner);
                    let id = (key.clone(), day);
                    if let Some(pending) = counts.pending.get_mut(&id) {
                        *pending = pending.saturating_sub(tokens);
                    }
                    // `total` holds these tokens, and is Redis's count unless Redis lost its
                    // data since this instance last saw it (it is then less than what was
                    // seen, and what was seen plus these tokens counts: a budget is not
                    // renewed by a crash). What was seen may hold them already (read after
                    // an earlier, unanswered try applied them): never added twice.
                    let seen = counts.last_known.entry(id).or_default();
                    *seen = if total >= *seen {
                        total
                    } else if applied == 1 {
                        seen.saturating_add(tokens)
                    } else {
                        *seen
                    };
                    break;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "a client key's tokens wait for Redis");
                    tokio::time::sleep(RETRY_DELAY).await;
                }
            }
        }
    }
}

#[async_trait::async_trait]
impl KeyUsageStore for RedisKeyUsage {
    fn add(&self, key: &str, day: i64, tokens: u64) {
        if tokens == 0 {
            return;
        }
        *self
            .counts()
            .pending
            .entry((key.to_owned(), day))
            .or_default() += tokens;
        // The writer lives as long as any clone: sending fails only while shutting down.
        let _ = self.writes.send((key.to_owned(), day, tokens));
    }

    async fn used(&self, key: &str, day: i64) -> Result<u64, ByokError> {
        let at = self.state.key(&["usage", &day.to_string(), key]);
        let remote: redis::RedisResult<Option<u64>> =
            self.state.run(redis::cmd("GET").arg(&at)).await;
        let id = (key.to_owned(), day);
        let mut counts = self.counts();
        // Read together, after the GET: an increment the writer finished meanwhile is in
        // `last_known` (INCRBY's answer) and no longer pending, so it is counted once. Without
        // Redis (or after it lost its data), the most this instance has seen counts: a
        // budget is not renewed by a crash.
        let seen = counts.last_known.get(&id).copied().unwrap_or(0);
        let known = match remote {
            Ok(total) => total.unwrap_or(0).max(seen),
            Err(_) => seen,
        };
        counts.last_known.insert(id.clone(), known);
        let pending = counts.pending.get(&id).copied().unwrap_or(0);
        Ok(known.saturating_add(pending))
    }
}
