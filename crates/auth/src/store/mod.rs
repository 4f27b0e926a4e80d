//! Where tokens live between runs: byok's own credentials file, or the Codex CLI's `auth.json`.

mod cache;
mod codex_cli;
mod credentials;
mod files;

use async_trait::async_trait;
use byok_types::OAuthToken;

pub use codex_cli::CodexCliStore;
pub use credentials::FileTokenStore;
pub use files::RefreshLock;

use crate::AuthError;
use crate::claims::Claims;

/// One signed-in ChatGPT account under the name the store knows it by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The account's name in the store (usually the email).
    pub name: String,
    /// Its tokens.
    pub token: OAuthToken,
}

impl Account {
    /// What the tokens say about the account: email, plan, account id, expiry (for `byok status`).
    pub fn claims(&self) -> Claims {
        Claims::of_tokens(
            self.token.id_token.expose(),
            self.token.access_token.expose(),
        )
    }
}

/// A place that keeps ChatGPT tokens: [`FileTokenStore`] or [`CodexCliStore`].
///
/// Implementations see tokens another process rotated: they read their file again whenever it
/// changed (byok's stores check its inode, length and time on every call), and write
/// atomically with mode 0600.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// The signed-in accounts, the active one first. Empty when nobody signed in.
    async fn load(&self) -> Result<Vec<Account>, AuthError>;

    /// Adds the account, or replaces the one of the same name. The first account saved
    /// becomes the active one; saving never changes which one is active otherwise.
    async fn save(&self, account: &Account) -> Result<(), AuthError>;

    /// Removes the named account; `false` if there was none. If it was the active one, the
    /// next remaining account becomes active.
    async fn remove(&self, name: &str) -> Result<bool, AuthError>;

    /// Makes the named account the active one.
    async fn set_active(&self, name: &str) -> Result<(), AuthError>;

    /// Where the tokens are, for messages: the file's path.
    fn describe(&self) -> String;

    /// The name a person knows `account` by, as `byok serve` announces it: the store's name
    /// for it, unless the store has a better one (the Codex CLI's sign-in: its email).
    fn label(&self, account: &Account) -> String {
        account.name.clone()
    }

    /// The command that signs this store's accounts in again, for messages.
    fn sign_in_command(&self) -> &'static str {
        "byok login"
    }

    /// Keeps other processes from refreshing this store's tokens until the lock is dropped
    /// (see [`RefreshLock`]). `None` for a store no other process can see.
    async fn lock_refresh(&self) -> Result<Option<RefreshLock>, AuthError> {
        Ok(None)
    }

    /// The named account, if the store has it.
    async fn get(&self, name: &str) -> Result<Option<Account>, AuthError> {
        Ok(self.load().await?.into_iter().find(|a| a.name == name))
    }
}

/// Copies the Codex CLI's sign-in into another store under the account's email (what
/// `byok import-codex-cli` does), and makes it active there. Returns the account as saved.
pub async fn import_codex_cli(
    from: &CodexCliStore,
    into: &dyn TokenStore,
) -> Result<Account, AuthError> {
    let source =
        from.load()
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| AuthError::CodexCliMissing {
                path: from.path().to_owned(),
            })?;
    let account = Account {
        name: source.claims().account_name(),
        token: source.token,
    };
    into.save(&account).await?;
    into.set_active(&account.name).await?;
    Ok(account)
}
