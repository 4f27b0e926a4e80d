//! File handling for the stores: secret files written so that no reader ever sees half of one
//! and nobody else can read it, and the lock that keeps processes from refreshing at once.

use std::io::Write as _;
use std::path::Path;

use crate::AuthError;

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename, with
/// mode 0600. The directory is created (mode 0700) if needed.
pub(crate) async fn write_private(path: &Path, bytes: Vec<u8>) -> Result<(), AuthError> {
    let owned = path.to_owned();
    tokio::task::spawn_blocking(move || write_private_blocking(&owned, &bytes))
        .await
        .map_err(|e| AuthError::Io {
            action: "write",
            path: path.to_owned(),
            source: std::io::Error::other(e),
        })?
}

fn write_private_blocking(path: &Path, bytes: &[u8]) -> Result<(), AuthError> {
    let io = |action| {
        let path = path.to_owned();
        move |source| AuthError::Io {
            action,
            path,
            source,
        }
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    create_private_dir(dir).map_err(io("create the directory of"))?;
    // tempfile creates the file with mode 0600 on Unix, before any byte is written.
    let mut tmp = tempfile::Builder::new()
        .prefix(".credentials-")
        .tempfile_in(dir)
        .map_err(io("create a temporary file next to"))?;
    tmp.write_all(bytes).map_err(io("write"))?;
    tmp.as_file().sync_all().map_err(io("write"))?;
    tmp.persist(path).map_err(|e| io("replace")(e.error))?;
    Ok(())
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// An exclusive lock on a store's refresh, across processes: held by one [`RefreshLock`] at a
/// time (the operating system's file lock on `{file}.lock`, or a shared store's own lock),
/// released when dropped.
///
/// Refresh tokens rotate, so two processes refreshing the same sign-in at once would break
/// it: the second would send a refresh token the first had just used up.
pub struct RefreshLock {
    held: Held,
}

/// What holds the lock until it is dropped.
enum Held {
    File(#[allow(dead_code)] std::fs::File),
    Other(#[allow(dead_code)] Box<dyn Send + Sync>),
}

impl std::fmt::Debug for RefreshLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let by = match self.held {
            Held::File(_) => "file",
            Held::Other(_) => "store",
        };
        f.debug_struct("RefreshLock").field("held_by", &by).finish()
    }
}

impl RefreshLock {
    /// The lock of a store other than a file (one in Redis, for a team of instances): held
    /// while `guard` lives, released when it is dropped.
    pub fn held_by(guard: impl Send + Sync + 'static) -> Self {
        Self {
            held: Held::Other(Box::new(guard)),
        }
    }

    /// Waits for and takes the lock of the credentials file `path`.
    pub async fn acquire(path: &Path) -> Result<Self, AuthError> {
        let mut name = path.as_os_str().to_owned();
        name.push(".lock");
        let lock_path = std::path::PathBuf::from(name);
        tokio::task::spawn_blocking(move || {
            let io = |source| AuthError::Io {
                action: "lock",
                path: lock_path.clone(),
                source,
            };
            if let Some(dir) = lock_path.parent().filter(|d| !d.as_os_str().is_empty()) {
                create_private_dir(dir).map_err(io)?;
            }
            let file = open_private(&lock_path).map_err(io)?;
            file.lock().map_err(io)?;
            Ok(Self {
                held: Held::File(file),
            })
        })
        .await
        .map_err(|e| AuthError::Io {
            action: "lock",
            path: path.to_owned(),
            source: std::io::Error::other(e),
        })?
    }
}

#[cfg(unix)]
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
}

/// Reads a file, `None` if it does not exist.
pub(crate) async fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, AuthError> {
    match tokio::fs::read(path).await {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(AuthError::Io {
            action: "read",
            path: path.to_owned(),
            source,
        }),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[tokio::test]
    async fn replaces_the_file_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/credentials.json");
        write_private(&path, b"one".to_vec()).await.unwrap();
        write_private(&path, b"two".to_vec()).await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // Only the file itself is left: no temporary files.
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
    }

    #[tokio::test]
    async fn the_refresh_lock_is_exclusive_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials.json");
        let held = RefreshLock::acquire(&path).await.unwrap();
        // What another process sees: the lock file is taken.
        let other = std::fs::File::open(dir.path().join("credentials.json.lock")).unwrap();
        assert!(other.try_lock().is_err());
        drop(held);
        other.try_lock().unwrap();
    }
}
