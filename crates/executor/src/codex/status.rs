//! The Codex backend's live state for `GET /v1/status`: each signed-in account with its plan,
//! token expiry, rest, where its workspace is served, and the rate-limit figures of its last
//! answer.

use byok_types::{AccountStatus, ProviderId, ProviderStatus, unix_now};

use super::{CodexBackend, NO_CREDENTIALS};

impl CodexBackend {
    /// The accounts in the order they take turns, as the store holds them now (an account
    /// signed out while byok runs is gone from it).
    pub(crate) async fn status(&self) -> ProviderStatus {
        let status = ProviderStatus::new(ProviderId::Codex, self.base_url.clone());
        let Some(auth) = &self.auth else {
            return status.not_ready(NO_CREDENTIALS);
        };
        let accounts = match auth.store().load().await {
            Ok(accounts) => accounts,
            Err(err) => {
                return status.not_ready(format!("the sign-ins cannot be read: {err}"));
            }
        };
        if accounts.is_empty() {
            return status.not_ready(NO_CREDENTIALS);
        }
        let now = unix_now();
        accounts.iter().fold(status, |status, account| {
            let claims = account.claims();
            let figures = self
                .upstream
                .ratelimit
                .as_ref()
                .and_then(|store| store.get(ProviderId::Codex, &account.name));
            status.with_account(
                AccountStatus::new(account.name.clone())
                    .plan(claims.chatgpt_plan_type.clone())
                    .token_expires_at(account.token.expires_at.or(claims.exp))
                    .resting_until(self.pool.resting_until(&account.name, now))
                    .routed_to(self.routing.routed_to(&account.name))
                    .rate_limits(figures.as_ref()),
            )
        })
    }
}
