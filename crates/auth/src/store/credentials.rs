//! byok's own credentials file: `$BYOK_HOME/credentials.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use byok_types::{OAuthToken, ProviderId};
use serde::{Deserialize, Serialize};

use super::cache::{AccountsCache, FileStamp};
use super::files::{RefreshLock, read_optional, write_private};
use super::{Account, TokenStore};
use crate::AuthError;

/// The file name inside `BYOK_HOME`.
pub const CREDENTIALS_FILE: &str = "credentials.json";

/// byok's credentials file: several named accounts per provider, one of them active.
///
/// The file is JSON, `{"providers":{"codex":{"active":NAME,"accounts":{NAME:TOKEN}}}}`,
/// written atomically with mode 0600. A file that cannot be parsed is an error naming it and
/// is never overwritten.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use byok_auth::{FileTokenStore, TokenStore};
/// let dir = tempfile::tempdir().unwrap();
/// let store = FileTokenStore::new(dir.path());
/// assert!(store.load().await?.is_empty());
/// assert!(store.describe().ends_with("credentials.json"));
/// # Ok::<(), byok_auth::AuthError>(()) }).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct FileTokenStore {
    path: PathBuf,
    provider: ProviderId,
    /// This provider's accounts as last read.
    cache: Arc<AccountsCache>,
}

#[derive(Default, Serialize, Deserialize)]
struct CredentialsFile {
    #[serde(default)]
    providers: BTreeMap<ProviderId, ProviderAccounts>,
}

#[derive(Default, Serialize, Deserialize)]
struct ProviderAccounts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    active: Option<String>,
    #[serde(default)]
    accounts: BTreeMap<String, OAuthToken>,
}

impl ProviderAccounts {
    /// Keeps `active` naming an existing account whenever there is one.
    fn repair_active(&mut self) {
        let valid = self
            .active
            .as_ref()
            .is_some_and(|a| self.accounts.contains_key(a));
        if !valid {
            self.active = self.accounts.keys().next().cloned();
        }
    }
}

impl FileTokenStore {
    /// The store in directory `dir` (`credentials.json` inside it), for Codex sign-ins.
    pub fn new(dir: impl AsRef<Path>) -> Self {
        Self {
            path: dir.as_ref().join(CREDENTIALS_FILE),
            provider: ProviderId::Codex,
            cache: Arc::default(),
        }
    }

    /// The store in `$BYOK_HOME`, by default `~/.byok`.
    pub fn from_env() -> Self {
        Self::new(byok_home())
    }

    /// The same file, holding the accounts of another provider.
    #[must_use]
    pub fn for_provider(mut self, provider: ProviderId) -> Self {
        self.provider = provider;
        self.cache = Arc::default();
        self
    }

    /// The credentials file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn read(&self) -> Result<CredentialsFile, AuthError> {
        let Some(bytes) = read_optional(&self.path).await? else {
            return Ok(CredentialsFile::default());
        };
        serde_json::from_slice(&bytes).map_err(|e| AuthError::Corrupt {
            path: self.path.clone(),
            detail: e.to_string(),
        })
    }

    async fn write(&self, file: &CredentialsFile) -> Result<(), AuthError> {
        let bytes = serde_json::to_vec_pretty(file).map_err(|e| AuthError::Io {
            action: "serialise",
            path: self.path.clone(),
            source: e.into(),
        })?;
        write_private(&self.path, bytes).await
    }

    /// Reads the file, lets `change` edit this provider's accounts, and writes it back.
    async fn update<T>(
        &self,
        change: impl FnOnce(&mut ProviderAccounts) -> Result<T, AuthError> + Send,
    ) -> Result<T, AuthError> {
        let mut file = self.read().await?;
        let accounts = file.providers.entry(self.provider).or_default();
        let out = change(accounts)?;
        accounts.repair_active();
        self.write(&file).await?;
        Ok(out)
    }
}

/// `$BYOK_HOME`, else `~/.byok`.
pub(crate) fn byok_home() -> PathBuf {
    env_dir("BYOK_HOME", ".byok")
}

/// The directory named by `var`, else `~/{default_name}` (the current directory if there is
/// no home).
pub(crate) fn env_dir(var: &str, default_name: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => std::env::home_dir()
            .unwrap_or_else(|| PathBuf::from("."))
            .join(default_name),
    }
}

#[async_trait]
impl TokenStore for FileTokenStore {
    async fn load(&self) -> Result<Vec<Account>, AuthError> {
        let stamp = FileStamp::of(&self.path);
        if let Some(accounts) = self.cache.get(stamp) {
            return Ok(accounts);
        }
        let mut file = self.read().await?;
        let mut accounts = Vec::new();
        if let Some(mut provider) = file.providers.remove(&self.provider) {
            provider.repair_active();
            let active = provider.active.take();
            accounts.extend(
                provider
                    .accounts
                    .into_iter()
                    .map(|(name, token)| Account { name, token }),
            );
            // Stable order: active first, the rest by name.
            accounts.sort_by_key(|a| Some(&a.name) != active.as_ref());
        }
        self.cache.put(stamp, &accounts);
        Ok(accounts)
    }

    async fn save(&self, account: &Account) -> Result<(), AuthError> {
        let account = account.clone();
        self.update(move |p| {
            p.accounts.insert(account.name, account.token);
            Ok(())
        })
        .await
    }

    async fn remove(&self, name: &str) -> Result<bool, AuthError> {
        if self.get(name).await?.is_none() {
            return Ok(false);
        }
        self.update(|p| Ok(p.accounts.remove(name).is_some())).await
    }

    async fn set_active(&self, name: &str) -> Result<(), AuthError> {
        let store = self.describe();
        self.update(|p| {
            if !p.accounts.contains_key(name) {
                return Err(AuthError::UnknownAccount {
                    account: name.to_owned(),
                    store,
                });
            }
            p.active = Some(name.to_owned());
            Ok(())
        })
        .await
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    async fn lock_refresh(&self) -> Result<Option<RefreshLock>, AuthError> {
        RefreshLock::acquire(&self.path).await.map(Some)
    }
}
