//! The Codex backend's live state for `GET /v1/status`: each signed-in account with its plan,
//! token expiry, rest, where its workspace is served, and the rate-limit figures of its last
//! answer (in a team, of the last answer through any instance).

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
        self.adopt_team_ratelimits().await;
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

impl CodexBackend {
    /// Takes the rate-limit figures a team's other instances saw, where newer than this
    /// instance's: one Redis round trip per status, none per request.
    async fn adopt_team_ratelimits(&self) {
        let (Some(shared), Some(store)) = (&self.shared_ratelimits, &self.upstream.ratelimit)
        else {
            return;
        };
        for (provider, account, snapshot) in shared.latest().await {
            store.adopt(provider, &account, snapshot);
        }
    }

    /// Tells a team's other instances the rate-limit figures they do not hold yet.
    pub(crate) async fn publish_ratelimits(&self) {
        if let (Some(shared), Some(store)) = (&self.shared_ratelimits, &self.upstream.ratelimit) {
            shared.publish(&store.all()).await;
        }
    }
}
