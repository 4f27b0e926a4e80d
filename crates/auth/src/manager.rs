//! Valid tokens on demand: read from the store, refreshed when due, one refresh at a time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use byok_types::{Metrics, OAuthToken, RefreshLabels, Secret, unix_now};

use crate::token_endpoint::{self, RefreshReason};
use crate::{Account, AuthConfig, AuthError, RefreshRejection, TokenStore};

/// Refresh when the access token expires within this many seconds.
const EXPIRY_MARGIN_SECS: i64 = 5 * 60;
/// Without a known expiry, refresh tokens older than this (the Codex CLI's rule).
const MAX_AGE_SECS: i64 = 8 * 24 * 60 * 60;
/// After `refresh_token_reused`, how long to look for the tokens of the program that refreshed
/// first (the Codex CLI writes auth.json right after its refresh answer).
const REUSED_WAIT: std::time::Duration = std::time::Duration::from_secs(2);
/// How often the store is read again meanwhile.
const REUSED_POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// Hands out valid ChatGPT tokens, refreshing them when they are about to expire.
///
/// Cheap to share behind an `Arc`. Refreshes are single-flight per account: however many
/// callers need a refresh at once, one request reaches the issuer and all get its result.
/// Across processes, the store's [`TokenStore::lock_refresh`] keeps two byok processes from
/// refreshing at once. Before refreshing, the store is read again, since another process
/// (another byok, the Codex CLI) may have rotated the token already; a refreshed token is
/// written back to the store.
///
/// ```no_run
/// # async fn demo() -> Result<(), byok_auth::AuthError> {
/// use std::sync::Arc;
/// use byok_auth::{AuthConfig, AuthManager, FileTokenStore};
/// let auth = AuthManager::new(
///     Arc::new(FileTokenStore::from_env()),
///     AuthConfig::from_env(),
/// );
/// let token = auth.get_token().await?;
/// println!("account {:?}", token.account_id);
/// # Ok(()) }
/// ```
pub struct AuthManager {
    store: Arc<dyn TokenStore>,
    config: AuthConfig,
    slots: Mutex<HashMap<String, Arc<Slot>>>,
    /// Where refreshes are counted, if anywhere.
    metrics: Option<Metrics>,
}

/// Per-account state: the last token seen, and the lock that makes refreshes single-flight.
#[derive(Default)]
struct Slot {
    cached: Mutex<Option<OAuthToken>>,
    refresh: tokio::sync::Mutex<()>,
}

impl Slot {
    fn cached(&self) -> Option<OAuthToken> {
        self.cached
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn remember(&self, token: &OAuthToken) {
        *self.cached.lock().unwrap_or_else(PoisonError::into_inner) = Some(token.clone());
    }
}

impl std::fmt::Debug for AuthManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthManager")
            .field("store", &self.store.describe())
            .field("issuer", &self.config.issuer)
            .finish_non_exhaustive()
    }
}

/// Whether `token` can be used as it is.
fn is_fresh(token: &OAuthToken, now: i64) -> bool {
    match token.expires_at {
        Some(_) => !token.expires_within(now, EXPIRY_MARGIN_SECS),
        None => token
            .last_refresh
            .is_some_and(|at| now.saturating_sub(at) < MAX_AGE_SECS),
    }
}

impl AuthManager {
    /// A manager over `store`, refreshing at `config`'s issuer.
    pub fn new(store: Arc<dyn TokenStore>, config: AuthConfig) -> Self {
        Self {
            store,
            config,
            slots: Mutex::new(HashMap::new()),
            metrics: None,
        }
    }

    /// The same manager, counting its token refreshes (`ok` or `failed`) in `metrics`.
    #[must_use]
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The store the tokens come from.
    pub fn store(&self) -> &Arc<dyn TokenStore> {
        &self.store
    }

    /// Who byok says it is on a refresh; the Codex backend is told the same.
    pub fn identity(&self) -> &crate::CodexIdentity {
        &self.config.identity
    }

    /// Names of the signed-in accounts (for the executor's round-robin pool), active one first.
    ///
    /// Never empty: with nobody signed in it is [`AuthError::NotSignedIn`], whose message says
    /// how to sign in.
    pub async fn accounts(&self) -> Result<Vec<String>, AuthError> {
        let accounts = self.store.load().await?;
        if accounts.is_empty() {
            return Err(self.not_signed_in());
        }
        Ok(accounts.into_iter().map(|a| a.name).collect())
    }

    /// A valid token of the active account (refreshed if needed).
    pub async fn get_token(&self) -> Result<OAuthToken, AuthError> {
        let active = self.accounts().await?.swap_remove(0);
        self.get_token_for(&active).await
    }

    /// A valid token of a named account (refreshed if needed, single-flight per account).
    pub async fn get_token_for(&self, account: &str) -> Result<OAuthToken, AuthError> {
        let slot = self.slot(account);
        if let Some(token) = slot.cached().filter(|t| is_fresh(t, unix_now())) {
            return Ok(token);
        }
        let _refreshing = slot.refresh.lock().await;
        // Whoever held the lock before may have refreshed; another process may have too.
        let stored = self.load(account).await?;
        if is_fresh(&stored.token, unix_now()) {
            slot.remember(&stored.token);
            return Ok(stored.token);
        }
        let _other_processes = self.store.lock_refresh().await?;
        let stored = self.load(account).await?;
        if is_fresh(&stored.token, unix_now()) {
            slot.remember(&stored.token);
            return Ok(stored.token);
        }
        self.refresh_locked(&slot, stored, RefreshReason::ProactiveExpiry)
            .await
    }

    /// After a 401 from the backend: refresh the token this manager handed out last, unless it
    /// was rotated already (another caller, another process), in which case the store's token
    /// is returned and nothing reaches the issuer. Single-flight per account.
    ///
    /// [`AuthManager::refresh_rejected`] names the refused token exactly.
    pub async fn refresh_unless_rotated(&self, account: &str) -> Result<OAuthToken, AuthError> {
        let seen = match self.slot(account).cached() {
            Some(token) => token.access_token,
            None => self.load(account).await?.token.access_token,
        };
        self.refresh_rejected(account, &seen).await
    }

    /// After the backend refused `rejected` (an access token): refresh unless the store
    /// already holds a different token, which is then returned. Single-flight per account,
    /// so two requests refused with the same token cause one refresh (the second finds the
    /// first one's token). The issuer is told `refresh_reason: unauthorized_recovery`.
    pub async fn refresh_rejected(
        &self,
        account: &str,
        rejected: &Secret,
    ) -> Result<OAuthToken, AuthError> {
        let slot = self.slot(account);
        let _refreshing = slot.refresh.lock().await;
        let _other_processes = self.store.lock_refresh().await?;
        let stored = self.load(account).await?;
        if stored.token.access_token != *rejected {
            slot.remember(&stored.token);
            return Ok(stored.token);
        }
        self.refresh_locked(&slot, stored, RefreshReason::UnauthorizedRecovery)
            .await
    }

    /// The error for a token the backend refused although it was just refreshed: sign in
    /// again, naming the account as `byok serve` announced it and the command that does it
    /// (`byok login`, or `codex login` for the Codex CLI's sign-in used in place).
    pub async fn refused_after_refresh(&self, account: &str) -> AuthError {
        let label = match self.store.get(account).await {
            Ok(Some(stored)) => self.store.label(&stored),
            _ => account.to_owned(),
        };
        AuthError::RefusedAfterRefresh {
            account: label,
            command: self.store.sign_in_command(),
        }
    }

    /// Refreshes `account` and saves the result; the caller holds the slot's refresh lock.
    ///
    /// A `refresh_token_reused` answer most often means another program holding the same
    /// file refreshed first: the Codex CLI, sharing `~/.codex/auth.json`, does not take byok's
    /// lock. Its new tokens reach the file a moment after its refresh, so the store is read
    /// again for up to [`REUSED_WAIT`]; tokens that changed there are used instead of failing.
    async fn refresh_locked(
        &self,
        slot: &Slot,
        account: Account,
        reason: RefreshReason,
    ) -> Result<OAuthToken, AuthError> {
        tracing::info!(account = %account.name, reason = reason.as_str(), "refreshing the ChatGPT token");
        // Messages name the account as `byok serve` announced it (the Codex CLI's by its email)
        // and the command that signs it in again.
        let label = self.store.label(&account);
        let command = self.store.sign_in_command();
        let refreshed =
            token_endpoint::refresh(&self.config, &label, command, &account.token, reason).await;
        if let Some(metrics) = &self.metrics {
            let outcome = if refreshed.is_ok() { "ok" } else { "failed" };
            metrics
                .refreshes
                .get_or_create(&RefreshLabels { outcome })
                .inc();
        }
        let token = match refreshed {
            Err(
                err @ AuthError::SignInAgain {
                    reason: RefreshRejection::Reused,
                    ..
                },
            ) => {
                let Some(theirs) = self.rotated_elsewhere(&account).await? else {
                    return Err(err);
                };
                tracing::info!(account = %account.name, "the refresh token was used by another program; taking the tokens it saved");
                slot.remember(&theirs);
                return Ok(theirs);
            }
            other => other?,
        };
        self.store
            .save(&Account {
                name: account.name,
                token: token.clone(),
            })
            .await?;
        slot.remember(&token);
        Ok(token)
    }

    /// The tokens another program saved for `account` after rotating the refresh token that
    /// `account` holds, if they appear in the store within [`REUSED_WAIT`].
    async fn rotated_elsewhere(&self, account: &Account) -> Result<Option<OAuthToken>, AuthError> {
        let deadline = tokio::time::Instant::now() + REUSED_WAIT;
        loop {
            let stored = self.load(&account.name).await?;
            if stored.token.refresh_token != account.token.refresh_token {
                return Ok(Some(stored.token));
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(REUSED_POLL).await;
        }
    }

    async fn load(&self, account: &str) -> Result<Account, AuthError> {
        self.store
            .get(account)
            .await?
            .ok_or_else(|| AuthError::UnknownAccount {
                account: account.to_owned(),
                store: self.store.describe(),
            })
    }

    fn slot(&self, account: &str) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(slots.entry(account.to_owned()).or_default())
    }

    fn not_signed_in(&self) -> AuthError {
        AuthError::NotSignedIn {
            store: self.store.describe(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(expires_at: Option<i64>, last_refresh: Option<i64>) -> OAuthToken {
        OAuthToken {
            access_token: Secret::new("a"),
            refresh_token: Secret::new("r"),
            id_token: Secret::default(),
            expires_at,
            account_id: None,
            last_refresh,
        }
    }

    #[test]
    fn due_within_five_minutes_of_expiry_or_after_eight_days_without_one() {
        let now = 1_800_000_000;
        assert!(is_fresh(&token(Some(now + 301), None), now));
        assert!(!is_fresh(&token(Some(now + 299), None), now));
        assert!(is_fresh(&token(None, Some(now - 7 * 86_400)), now));
        assert!(!is_fresh(&token(None, Some(now - 9 * 86_400)), now));
        assert!(!is_fresh(&token(None, None), now));
    }
}
