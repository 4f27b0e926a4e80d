//! The tokens of a ChatGPT sign-in.

use serde::{Deserialize, Serialize};

use crate::Secret;

/// A ChatGPT account id: the value of the `chatgpt-account-id` header.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccountId(pub String);

impl AccountId {
    /// The id as sent upstream.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for AccountId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for AccountId {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl From<String> for AccountId {
    fn from(value: String) -> Self {
        Self(value)
    }
}

/// The tokens of one ChatGPT sign-in, as the token endpoint returned them.
///
/// Secrets are [`Secret`]s, so `{:?}` of a token never shows them.
///
/// ```
/// use byok_types::{OAuthToken, Secret};
/// let token = OAuthToken {
///     access_token: Secret::new("at"),
///     refresh_token: Secret::new("rt"),
///     id_token: Secret::new("id"),
///     expires_at: Some(1_900_000_000),
///     account_id: Some("acc-1".into()),
///     last_refresh: Some(1_800_000_000),
/// };
/// assert!(!format!("{token:?}").contains("\"rt\""));
/// assert!(token.expires_within(1_899_999_000, 3600));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthToken {
    /// The bearer token sent to the Codex backend.
    pub access_token: Secret,
    /// The (rotating) refresh token.
    pub refresh_token: Secret,
    /// The OpenID id token, whose claims carry the account id, plan and email.
    #[serde(default)]
    pub id_token: Secret,
    /// When the access token expires, in Unix seconds (its `exp` claim), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// The ChatGPT account the tokens belong to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<AccountId>,
    /// When the tokens were last obtained or refreshed, in Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_refresh: Option<i64>,
}

impl OAuthToken {
    /// Whether the access token expires within `margin_secs` of `now` (Unix seconds).
    /// A token with no known expiry never does.
    pub fn expires_within(&self, now: i64, margin_secs: i64) -> bool {
        self.expires_at
            .is_some_and(|exp| exp <= now.saturating_add(margin_secs))
    }
}
