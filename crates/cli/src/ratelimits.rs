//! `$BYOK_HOME/ratelimits.json`: the last rate-limit figures of each account, written by
//! `byok serve` and shown by `byok status`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use byok_types::{ProviderId, RateLimitSnapshot, RateLimitStore};
use serde::{Deserialize, Serialize};

use crate::CliError;

/// The file name inside `BYOK_HOME`.
pub const RATELIMITS_FILE: &str = "ratelimits.json";

/// Numbers the temp files of writes: two saves (the periodic one, the one at shutdown) may
/// overlap, and each must rename a whole file of its own.
static WRITES: AtomicU64 = AtomicU64::new(0);

/// The last rate-limit headers of one account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountLimits {
    /// The upstream.
    pub provider: ProviderId,
    /// The account (its name in byok, or the API key's label).
    pub account: String,
    /// The headers and when they came.
    #[serde(flatten)]
    pub snapshot: RateLimitSnapshot,
}

/// The file's content.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RateLimitFile {
    /// One entry per account, sorted by provider and account.
    pub accounts: Vec<AccountLimits>,
}

impl RateLimitFile {
    /// The file in `home`.
    pub fn path(home: &Path) -> PathBuf {
        home.join(RATELIMITS_FILE)
    }

    /// Reads the file; a missing one is empty.
    pub fn load(home: &Path) -> Result<Self, CliError> {
        let path = Self::path(home);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| CliError::Config {
                path,
                detail: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(CliError::Io { path, source: e }),
        }
    }

    /// Adds the store's snapshots to the file's (newer ones replace older ones of the same
    /// account) and writes it atomically. Does nothing when the store is empty.
    pub fn merge_and_save(home: &Path, store: &RateLimitStore) -> Result<(), CliError> {
        let fresh = store.all();
        if fresh.is_empty() {
            return Ok(());
        }
        // A damaged file is replaced: it only holds figures the next answer brings again.
        let mut file = Self::load(home).unwrap_or_default();
        for (provider, account, snapshot) in fresh {
            file.accounts
                .retain(|a| (a.provider, a.account.as_str()) != (provider, account.as_str()));
            file.accounts.push(AccountLimits {
                provider,
                account,
                snapshot,
            });
        }
        file.accounts
            .sort_by(|a, b| (a.provider, &a.account).cmp(&(b.provider, &b.account)));
        let path = Self::path(home);
        let io = |source| CliError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(home).map_err(io)?;
        let text = serde_json::to_vec_pretty(&file).map_err(|e| io(e.into()))?;
        let n = WRITES.fetch_add(1, Ordering::Relaxed);
        let tmp = home.join(format!(".{RATELIMITS_FILE}.{}.{n}.tmp", std::process::id()));
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saving_merges_with_what_the_file_had() {
        let dir = tempfile::tempdir().unwrap();
        let first = RateLimitStore::default();
        first.record(
            ProviderId::Codex,
            "a",
            [("x-codex-primary-used-percent", "10")],
        );
        first.record(
            ProviderId::Codex,
            "b",
            [("x-codex-primary-used-percent", "20")],
        );
        RateLimitFile::merge_and_save(dir.path(), &first).unwrap();

        let second = RateLimitStore::default();
        second.record(
            ProviderId::Codex,
            "a",
            [("x-codex-primary-used-percent", "30")],
        );
        RateLimitFile::merge_and_save(dir.path(), &second).unwrap();

        let file = RateLimitFile::load(dir.path()).unwrap();
        let used: Vec<(&str, Option<f64>)> = file
            .accounts
            .iter()
            .map(|a| {
                (
                    a.account.as_str(),
                    a.snapshot.number("x-codex-primary-used-percent"),
                )
            })
            .collect();
        assert_eq!(used, [("a", Some(30.0)), ("b", Some(20.0))]);
    }

    #[test]
    fn an_empty_store_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        RateLimitFile::merge_and_save(dir.path(), &RateLimitStore::default()).unwrap();
        assert!(!RateLimitFile::path(dir.path()).exists());
        assert_eq!(
            RateLimitFile::load(dir.path()).unwrap(),
            RateLimitFile::default()
        );
    }
}
