//! The Codex CLI's own `auth.json`, read and written in place in its format.
//!
//! Using the file in place (rather than a copy) matters: refresh tokens rotate, and two
//! programs holding copies of one refresh token break each other's sign-in.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use byok_types::{OAuthToken, Secret};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::cache::{AccountsCache, FileStamp};
use super::credentials::env_dir;
use super::files::{RefreshLock, read_optional, write_private};
use super::{Account, TokenStore};
use crate::AuthError;
use crate::claims::Claims;

/// The Codex CLI's sign-in, `$CODEX_HOME/auth.json` (by default `~/.codex/auth.json`), as one
/// account named [`CodexCliStore::ACCOUNT`].
///
/// Refreshed tokens are written back in the Codex CLI's format (fields byok does not know are
/// kept), so the Codex CLI goes on working with them.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use byok_auth::{AuthError, CodexCliStore, TokenStore};
/// let dir = tempfile::tempdir().unwrap();
/// let store = CodexCliStore::new(dir.path());
/// // No auth.json: the error explains where it looked and what to do.
/// let err = store.load().await.unwrap_err();
/// assert!(matches!(err, AuthError::CodexCliMissing { .. }));
/// assert!(err.to_string().contains("keyring"));
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct CodexCliStore {
    path: PathBuf,
    cache: Arc<AccountsCache>,
}

/// `auth.json` as the Codex CLI writes it.
#[derive(Serialize, Deserialize)]
struct AuthJson {
    #[serde(rename = "OPENAI_API_KEY", default)]
    openai_api_key: Option<Secret>,
    #[serde(default)]
    tokens: Option<TokenData>,
    #[serde(default)]
    last_refresh: Option<String>,
    #[serde(flatten)]
    other: Map<String, Value>,
}

#[derive(Serialize, Deserialize)]
struct TokenData {
    id_token: Secret,
    access_token: Secret,
    refresh_token: Secret,
    #[serde(default)]
    account_id: Option<String>,
    #[serde(flatten)]
    other: Map<String, Value>,
}

impl CodexCliStore {
    /// The name of the one account this store holds.
    pub const ACCOUNT: &str = "codex-cli";

    /// The store of the Codex CLI home `dir` (`auth.json` inside it).
    pub fn new(dir: impl AsRef<Path>) -> Self {
        Self::with_file(dir.as_ref().join("auth.json"))
    }

    /// The store of an `auth.json` at any path (`byok import-codex-cli --from PATH`).
    pub fn with_file(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            cache: Arc::default(),
        }
    }

    /// The store of `$CODEX_HOME`, by default `~/.codex`.
    pub fn from_env() -> Self {
        Self::new(env_dir("CODEX_HOME", ".codex"))
    }

    /// The `auth.json` file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The API key the Codex CLI keeps next to (or instead of) a ChatGPT sign-in, if any.
    pub async fn api_key(&self) -> Result<Option<Secret>, AuthError> {
        Ok(self
            .read()
            .await?
            .and_then(|f| f.openai_api_key)
            .filter(|k| !k.is_empty()))
    }

    async fn read(&self) -> Result<Option<AuthJson>, AuthError> {
        let Some(bytes) = read_optional(&self.path).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| AuthError::Corrupt {
                path: self.path.clone(),
                detail: e.to_string(),
            })
    }

    fn missing(&self) -> AuthError {
        AuthError::CodexCliMissing {
            path: self.path.clone(),
        }
    }
}

fn to_token(tokens: TokenData, last_refresh: Option<&str>) -> OAuthToken {
    let claims = Claims::of_tokens(tokens.id_token.expose(), tokens.access_token.expose());
    OAuthToken {
        expires_at: claims.exp,
        account_id: tokens
            .account_id
            .filter(|a| !a.is_empty())
            .or(claims.chatgpt_account_id)
            .map(Into::into),
        // An unreadable date counts as "unknown", which makes the token due for a refresh.
        last_refresh: last_refresh
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .map(jiff::Timestamp::as_second),
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        id_token: tokens.id_token,
    }
}

#[async_trait]
impl TokenStore for CodexCliStore {
    async fn load(&self) -> Result<Vec<Account>, AuthError> {
        let stamp = FileStamp::of(&self.path);
        if let Some(accounts) = self.cache.get(stamp) {
            return Ok(accounts);
        }
        let file = self.read().await?.ok_or_else(|| self.missing())?;
        let tokens = file.tokens.ok_or_else(|| self.missing())?;
        let accounts = vec![Account {
            name: Self::ACCOUNT.to_owned(),
            token: to_token(tokens, file.last_refresh.as_deref()),
        }];
        self.cache.put(stamp, &accounts);
        Ok(accounts)
    }

    async fn save(&self, account: &Account) -> Result<(), AuthError> {
        let mut file = self.read().await?.unwrap_or(AuthJson {
            openai_api_key: None,
            tokens: None,
            last_refresh: None,
            other: Map::new(),
        });
        let other = file.tokens.take().map(|t| t.other).unwrap_or_default();
        let token = &account.token;
        file.tokens = Some(TokenData {
            id_token: token.id_token.clone(),
            access_token: token.access_token.clone(),
            refresh_token: token.refresh_token.clone(),
            account_id: token.account_id.as_ref().map(|a| a.0.clone()),
            other,
        });
        let refreshed = token
            .last_refresh
            .and_then(|s| jiff::Timestamp::from_second(s).ok())
            .unwrap_or_else(jiff::Timestamp::now);
        file.last_refresh = Some(refreshed.to_string());
        let bytes = serde_json::to_vec_pretty(&file).map_err(|e| AuthError::Io {
            action: "serialise",
            path: self.path.clone(),
            source: e.into(),
        })?;
        write_private(&self.path, bytes).await
    }

    async fn remove(&self, _name: &str) -> Result<bool, AuthError> {
        Err(AuthError::Unsupported(format!(
            "byok does not sign the Codex CLI out of {}: run `codex logout` for that",
            self.path.display()
        )))
    }

    async fn set_active(&self, name: &str) -> Result<(), AuthError> {
        if name == Self::ACCOUNT {
            Ok(())
        } else {
            Err(AuthError::UnknownAccount {
                account: name.to_owned(),
                store: self.describe(),
            })
        }
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    /// The email (or account id) the tokens carry: the store calls its one account
    /// [`CodexCliStore::ACCOUNT`], which is nobody's name.
    fn label(&self, account: &Account) -> String {
        account.claims().account_name()
    }

    fn sign_in_command(&self) -> &'static str {
        "codex login"
    }

    async fn lock_refresh(&self) -> Result<Option<RefreshLock>, AuthError> {
        RefreshLock::acquire(&self.path).await.map(Some)
    }
}
