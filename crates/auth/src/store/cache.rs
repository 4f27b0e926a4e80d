//! The accounts last read from a credentials file, kept until the file changes.
//!
//! `byok serve` asks for the signed-in accounts on every request. Reading and parsing the file
//! each time costs a blocking read (on a thread of its own) and a JSON parse; one `stat` tells
//! whether anything changed since the last read.

use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use super::Account;

/// How recent a change must be for the file to be read again on every call anyway.
///
/// File times are coarse (a few ms): two writes within one tick, of the same length, would
/// leave the same stamp. So a stamp younger than this is not trusted (git's "racy" rule).
const RACY: Duration = Duration::from_secs(2);

/// What identifies one version of a file: its inode, length and modification time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FileStamp {
    /// No file.
    Missing,
    /// A file; replaced atomically, it gets a new inode, written in place a new time.
    Present {
        inode: u64,
        len: u64,
        modified: SystemTime,
    },
}

impl FileStamp {
    /// The stamp of `path` now, `None` if it cannot be told (then nothing is cached).
    ///
    /// A `stat` of a local file: short enough to make on an async worker.
    pub(crate) fn of(path: &Path) -> Option<Self> {
        match std::fs::metadata(path) {
            Ok(meta) => Some(Self::Present {
                inode: inode(&meta),
                len: meta.len(),
                modified: meta.modified().ok()?,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(Self::Missing),
            Err(_) => None,
        }
    }

    /// Whether a change this recent may hide another one with the same stamp.
    fn is_racy(self) -> bool {
        match self {
            Self::Missing => false,
            Self::Present { modified, .. } => {
                SystemTime::now()
                    .duration_since(modified)
                    .unwrap_or(Duration::ZERO)
                    < RACY
            }
        }
    }
}

#[cfg(unix)]
fn inode(meta: &std::fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(meta)
}

#[cfg(not(unix))]
fn inode(_meta: &std::fs::Metadata) -> u64 {
    0
}

/// The accounts of one file as of one [`FileStamp`].
#[derive(Default)]
pub(crate) struct AccountsCache {
    last: Mutex<Option<(FileStamp, Vec<Account>)>>,
}

impl AccountsCache {
    /// The accounts read when the file had `stamp`, if they are known.
    pub(crate) fn get(&self, stamp: Option<FileStamp>) -> Option<Vec<Account>> {
        let stamp = stamp?;
        let last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        match &*last {
            Some((seen, accounts)) if *seen == stamp => Some(accounts.clone()),
            _ => None,
        }
    }

    /// Remembers `accounts`, read after the file had `stamp` (taken before the read: a change
    /// in between only makes the next call read again).
    pub(crate) fn put(&self, stamp: Option<FileStamp>, accounts: &[Account]) {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        *last = stamp
            .filter(|s| !s.is_racy())
            .map(|s| (s, accounts.to_vec()));
    }
}

impl std::fmt::Debug for AccountsCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the tokens.
        f.debug_struct("AccountsCache").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use byok_types::{OAuthToken, Secret};

    use super::*;

    fn account(name: &str) -> Account {
        Account {
            name: name.to_owned(),
            token: OAuthToken {
                access_token: Secret::new("a"),
                refresh_token: Secret::new("r"),
                id_token: Secret::default(),
                expires_at: None,
                account_id: None,
                last_refresh: None,
            },
        }
    }

    #[test]
    fn kept_until_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials.json");
        let cache = AccountsCache::default();
        let missing = FileStamp::of(&path);
        assert_eq!(missing, Some(FileStamp::Missing));
        cache.put(missing, &[]);
        assert_eq!(cache.get(FileStamp::of(&path)), Some(Vec::new()));

        std::fs::write(&path, b"{}").unwrap();
        let written = FileStamp::of(&path);
        assert_ne!(written, missing);
        assert_eq!(cache.get(written), None);
    }

    #[test]
    fn a_fresh_change_is_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials.json");
        std::fs::write(&path, b"{}").unwrap();
        let cache = AccountsCache::default();
        let stamp = FileStamp::of(&path);
        cache.put(stamp, &[account("a")]);
        assert_eq!(cache.get(stamp), None);

        let old = Some(FileStamp::Present {
            inode: 1,
            len: 2,
            modified: SystemTime::UNIX_EPOCH,
        });
        cache.put(old, &[account("a")]);
        assert_eq!(cache.get(old), Some(vec![account("a")]));
        assert_eq!(cache.get(None), None);
    }
}
