//! Signing in to ChatGPT: in a browser ([`pkce`]) or with a code typed on another device
//! ([`device`]). Both return a [`LoginResult`] for the caller to save in a
//! [`TokenStore`](crate::TokenStore).

pub mod device;
#[cfg(feature = "browser-login")]
pub mod pkce;

mod browser;

use byok_types::OAuthToken;

use crate::claims::Claims;

/// The tokens of a completed sign-in and what they say about the account.
#[derive(Clone, Debug)]
pub struct LoginResult {
    /// The new tokens, with `account_id` set from the id token.
    pub token: OAuthToken,
    /// The claims of the new tokens: email, plan, account id, expiry.
    pub claims: Claims,
}

impl LoginResult {
    fn new(token: OAuthToken) -> Self {
        let claims = Claims::of_tokens(token.id_token.expose(), token.access_token.expose());
        Self { token, claims }
    }

    /// The name to save the sign-in under: the email, else the account id.
    pub fn account_name(&self) -> String {
        self.claims.account_name()
    }

    /// The sign-in as an [`Account`](crate::Account) named [`LoginResult::account_name`].
    pub fn into_account(self) -> crate::Account {
        crate::Account {
            name: self.account_name(),
            token: self.token,
        }
    }
}
