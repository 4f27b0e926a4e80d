//! What an executor can say about its upstream and accounts right now: served on
//! `GET /v1/status`, read by `byok status`, `/readyz`, the status page and `/metrics`' gauges.

use serde::{Deserialize, Serialize};

use crate::{Credits, LimitFamily, ProviderId, RateLimitSnapshot};

/// The live state of an executor's upstream: whether it can serve, and each account.
///
/// ```
/// use byok_types::{AccountStatus, ProviderId, ProviderStatus};
/// let status = ProviderStatus::new(ProviderId::Codex, "http://127.0.0.1:9/codex")
///     .with_account(AccountStatus::new("me@example.com"));
/// assert!(status.ready);
/// let json = serde_json::to_value(&status).unwrap();
/// assert_eq!(json["accounts"][0]["name"], "me@example.com");
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProviderStatus {
    /// The upstream in use.
    pub provider: ProviderId,
    /// Its base URL, without a trailing slash.
    pub upstream: String,
    /// Whether a request could be served now: credentials are there (an API key, or at least
    /// one signed-in account). `/readyz` answers 503 while false.
    pub ready: bool,
    /// When not ready: why, and the command that fixes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The accounts, in the order they take turns (API-key mode: one, `api-key`).
    pub accounts: Vec<AccountStatus>,
}

impl ProviderStatus {
    /// A ready upstream without accounts yet.
    pub fn new(provider: ProviderId, upstream: impl Into<String>) -> Self {
        Self {
            provider,
            upstream: upstream.into(),
            ready: true,
            detail: None,
            accounts: Vec::new(),
        }
    }

    /// Not ready, saying why (and what to run).
    #[must_use]
    pub fn not_ready(mut self, detail: impl Into<String>) -> Self {
        self.ready = false;
        self.detail = Some(detail.into());
        self
    }

    /// With one more account.
    #[must_use]
    pub fn with_account(mut self, account: AccountStatus) -> Self {
        self.accounts.push(account);
        self
    }
}

/// One upstream account: who, its plan and token, whether it rests, its rate-limit windows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AccountStatus {
    /// The account's name as `byok serve` announced it (an email, or `api-key`).
    pub name: String,
    /// The ChatGPT plan (`plus`, `pro`, `team`, ...), when the sign-in says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// When its access token expires (Unix seconds); byok refreshes it before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_expires_at: Option<i64>,
    /// Until when it rests after a usage limit (Unix seconds); none while it serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resting_until: Option<i64>,
    /// Its rate-limit windows as the upstream last reported them, the account's own first.
    #[serde(default)]
    pub rate_limits: Vec<LimitFamily>,
    /// Its credits, when reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credits: Option<Credits>,
    /// When the rate-limit figures arrived (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub figures_at: Option<i64>,
    /// Where its requests go when its workspace is served elsewhere than the provider's
    /// `upstream` (the origin the backend's workspace routing names, e.g. a data-residency
    /// workspace's); none: at `upstream`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routed_to: Option<String>,
}

impl AccountStatus {
    /// An account known by name only.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// With its plan.
    #[must_use]
    pub fn plan(mut self, plan: Option<String>) -> Self {
        self.plan = plan;
        self
    }

    /// With its token's expiry.
    #[must_use]
    pub fn token_expires_at(mut self, at: Option<i64>) -> Self {
        self.token_expires_at = at;
        self
    }

    /// Resting until `until`.
    #[must_use]
    pub fn resting_until(mut self, until: Option<i64>) -> Self {
        self.resting_until = until;
        self
    }

    /// Served at `base_url` rather than the provider's upstream.
    #[must_use]
    pub fn routed_to(mut self, base_url: Option<String>) -> Self {
        self.routed_to = base_url;
        self
    }

    /// With the figures of the upstream's last rate-limit headers (windows and credits).
    #[must_use]
    pub fn rate_limits(mut self, snapshot: Option<&RateLimitSnapshot>) -> Self {
        if let Some(snapshot) = snapshot {
            self.rate_limits = snapshot.families();
            self.credits = snapshot.credits();
            self.figures_at = Some(snapshot.captured_at);
        }
        self
    }
}
