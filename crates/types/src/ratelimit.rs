//! The last rate-limit headers each upstream account sent.

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

use serde::{Deserialize, Serialize};

use crate::{ProviderId, unix_now};

/// The rate-limit headers of one upstream answer (`x-codex-*`, `x-ratelimit-*`), with the
/// time they were captured.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimitSnapshot {
    /// Header name (lowercase) to value, as received.
    pub headers: BTreeMap<String, String>,
    /// When the answer arrived, in Unix seconds.
    pub captured_at: i64,
}

impl RateLimitSnapshot {
    /// A header's value parsed as a number, e.g. `x-codex-primary-used-percent`.
    pub fn number(&self, name: &str) -> Option<f64> {
        self.headers.get(name).and_then(|v| v.trim().parse().ok())
    }
}

/// Rate-limit snapshots per provider and account, shared by every request.
///
/// ```
/// use byok_types::{ProviderId, RateLimitStore};
/// let store = RateLimitStore::default();
/// store.record(ProviderId::Codex, "acc-1", [("x-codex-primary-used-percent", "9")]);
/// let snap = store.get(ProviderId::Codex, "acc-1").unwrap();
/// assert_eq!(snap.number("x-codex-primary-used-percent"), Some(9.0));
/// ```
#[derive(Debug, Default)]
pub struct RateLimitStore {
    snapshots: RwLock<HashMap<(ProviderId, String), RateLimitSnapshot>>,
}

impl RateLimitStore {
    /// Keeps the rate-limit headers among `headers` as the latest snapshot of `account`.
    /// Headers that are not about rate limits are ignored; with none, nothing changes.
    pub fn record<'a>(
        &self,
        provider: ProviderId,
        account: &str,
        headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) {
        let headers: BTreeMap<String, String> = headers
            .into_iter()
            .filter(|(name, _)| is_rate_limit_header(name))
            .map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned()))
            .collect();
        if headers.is_empty() {
            return;
        }
        let snapshot = RateLimitSnapshot {
            headers,
            captured_at: unix_now(),
        };
        self.snapshots
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert((provider, account.to_owned()), snapshot);
    }

    /// The latest snapshot of one account.
    pub fn get(&self, provider: ProviderId, account: &str) -> Option<RateLimitSnapshot> {
        self.snapshots
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&(provider, account.to_owned()))
            .cloned()
    }

    /// Every snapshot, sorted by provider and account.
    pub fn all(&self) -> Vec<(ProviderId, String, RateLimitSnapshot)> {
        let map = self
            .snapshots
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut all: Vec<_> = map
            .iter()
            .map(|((p, a), s)| (*p, a.clone(), s.clone()))
            .collect();
        all.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        all
    }
}

/// Whether a header is one of the upstream's rate-limit headers.
pub(crate) fn is_rate_limit_header(name: &str) -> bool {
    let name = name.as_bytes();
    let has_prefix = |p: &[u8]| name.len() >= p.len() && name[..p.len()].eq_ignore_ascii_case(p);
    has_prefix(b"x-codex-") || has_prefix(b"x-ratelimit-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_rate_limit_headers_per_account() {
        let store = RateLimitStore::default();
        store.record(
            ProviderId::Codex,
            "a",
            [
                ("X-Codex-Primary-Used-Percent", "9"),
                ("content-type", "text/event-stream"),
                ("x-ratelimit-remaining-requests", "99"),
            ],
        );
        store.record(ProviderId::Codex, "b", [("content-type", "text/plain")]);
        let snap = store.get(ProviderId::Codex, "a").unwrap();
        assert_eq!(snap.headers.len(), 2);
        assert_eq!(snap.number("x-codex-primary-used-percent"), Some(9.0));
        assert!(snap.captured_at > 0);
        assert!(store.get(ProviderId::Codex, "b").is_none());
        assert_eq!(store.all().len(), 1);
    }
}
