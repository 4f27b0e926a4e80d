//! Tokens spent per named client key and UTC day: what a key's `daily_tokens` budget is
//! checked against, and what `/v1/status`, `/metrics` and `byok status` show per key.
//!
//! The server counts into a [`KeyUsageStore`]; one byok keeps it in memory
//! ([`MemoryKeyUsage`]), a team of instances shares one (in Redis) so that a key's budget is
//! one budget whichever instance serves it.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use crate::ByokError;

/// Seconds in a day: budgets are per UTC day, reset at 00:00 UTC.
const DAY_SECS: i64 = 24 * 60 * 60;

/// The UTC day of the Unix time `at` (days since 1970-01-01), the unit budgets count in.
///
/// ```
/// use byok_types::utc_day;
/// assert_eq!(utc_day(0), 0);
/// assert_eq!(utc_day(86_399), 0);
/// assert_eq!(utc_day(86_400), 1);
/// ```
pub fn utc_day(at: i64) -> i64 {
    at.div_euclid(DAY_SECS)
}

/// When the budget of the day holding `at` is renewed: the next 00:00 UTC, in Unix seconds.
///
/// ```
/// use byok_types::next_utc_midnight;
/// assert_eq!(next_utc_midnight(10), 86_400);
/// assert_eq!(next_utc_midnight(86_400), 2 * 86_400);
/// ```
pub fn next_utc_midnight(at: i64) -> i64 {
    (utc_day(at) + 1) * DAY_SECS
}

/// Where the tokens spent per client key and day are counted.
///
/// [`add`](Self::add) is called when an answer ends (in a `Drop`), so it must not wait: an
/// implementation over the network queues the write. [`used`](Self::used) is asked before a
/// request of a key with a budget is let through.
#[async_trait::async_trait]
pub trait KeyUsageStore: Send + Sync + std::fmt::Debug {
    /// Counts `tokens` more for the key named `key` on UTC day `day` ([`utc_day`]).
    fn add(&self, key: &str, day: i64, tokens: u64);

    /// The tokens the key named `key` spent on UTC day `day`, as far as the store knows.
    async fn used(&self, key: &str, day: i64) -> Result<u64, ByokError>;
}

/// The tokens per key and day of a single byok, in memory (days other than the latest one
/// counted are forgotten, so it stays small).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use byok_types::{KeyUsageStore, MemoryKeyUsage};
/// let usage = MemoryKeyUsage::default();
/// usage.add("alice", 20_000, 150);
/// usage.add("alice", 20_000, 50);
/// assert_eq!(usage.used("alice", 20_000).await.unwrap(), 200);
/// assert_eq!(usage.used("alice", 20_001).await.unwrap(), 0);
/// assert_eq!(usage.used("bob", 20_000).await.unwrap(), 0);
/// # });
/// ```
#[derive(Debug, Default)]
pub struct MemoryKeyUsage {
    /// Key name -> (day, tokens that day).
    counts: Mutex<HashMap<String, (i64, u64)>>,
}

impl MemoryKeyUsage {
    /// The tokens counted for `key` on `day`, at once.
    pub fn used_now(&self, key: &str, day: i64) -> u64 {
        let counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        match counts.get(key) {
            Some(&(counted, tokens)) if counted == day => tokens,
            _ => 0,
        }
    }
}

#[async_trait::async_trait]
impl KeyUsageStore for MemoryKeyUsage {
    fn add(&self, key: &str, day: i64, tokens: u64) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = counts.entry(key.to_owned()).or_insert((day, 0));
        if entry.0 < day {
            *entry = (day, 0);
        }
        if entry.0 == day {
            entry.1 = entry.1.saturating_add(tokens);
        }
    }

    async fn used(&self, key: &str, day: i64) -> Result<u64, ByokError> {
        Ok(self.used_now(key, day))
    }
}

/// One named client key as `GET /v1/status` shows it (never the key itself).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClientKeyStatus {
    /// The key's name from `[[client_keys]]` (`default` for the single `client_key`).
    pub name: String,
    /// The models the key may use; none: every model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub models: Option<Vec<String>>,
    /// Its budget of tokens per UTC day; none: no budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_tokens: Option<u64>,
    /// Tokens (input plus output) it spent today (UTC), as the usage store knows them.
    pub used_today: u64,
    /// When today's count starts again from 0 (the next 00:00 UTC, Unix seconds).
    pub resets_at: i64,
}

impl ClientKeyStatus {
    /// A key called `name` that spent `used_today` tokens today, as of `now`.
    pub fn new(name: impl Into<String>, used_today: u64, now: i64) -> Self {
        Self {
            name: name.into(),
            models: None,
            daily_tokens: None,
            used_today,
            resets_at: next_utc_midnight(now),
        }
    }

    /// With the models it may use.
    #[must_use]
    pub fn models(mut self, models: Option<Vec<String>>) -> Self {
        self.models = models;
        self
    }

    /// With its daily budget.
    #[must_use]
    pub fn daily_tokens(mut self, daily_tokens: Option<u64>) -> Self {
        self.daily_tokens = daily_tokens;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_day_starts_from_zero_and_an_old_day_is_not_counted() {
        let usage = MemoryKeyUsage::default();
        usage.add("k", 5, 100);
        usage.add("k", 6, 7);
        assert_eq!(usage.used_now("k", 6), 7);
        assert_eq!(usage.used_now("k", 5), 0);
        // A late answer of yesterday does not count into today.
        usage.add("k", 5, 1_000);
        assert_eq!(usage.used_now("k", 6), 7);
    }

    #[test]
    fn days_are_utc_days_even_before_1970() {
        assert_eq!(utc_day(-1), -1);
        assert_eq!(next_utc_midnight(-1), 0);
    }
}
