//! The claims byok reads from ChatGPT's JWTs, decoded without verifying signatures.
//!
//! byok only forwards these tokens to the service that issued them; it reads the claims for
//! its own bookkeeping (expiry, account id, plan, email), so checking signatures would add keys
//! to fetch and nothing to trust.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use crate::AuthError;

/// What byok needs to know from an id or access token.
///
/// ```
/// use base64::Engine as _;
/// use byok_auth::claims::Claims;
/// let payload = r#"{"exp":1900000000,"email":"me@example.com",
///   "https://api.openai.com/auth":{"chatgpt_account_id":"acc-1","chatgpt_plan_type":"plus"}}"#;
/// let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
/// let jwt = format!("{}.{}.sig", b64.encode(r#"{"alg":"none"}"#), b64.encode(payload));
/// let claims = Claims::from_jwt(&jwt)?;
/// assert_eq!(claims.exp, Some(1_900_000_000));
/// assert_eq!(claims.email.as_deref(), Some("me@example.com"));
/// assert_eq!(claims.chatgpt_account_id.as_deref(), Some("acc-1"));
/// assert_eq!(claims.chatgpt_plan_type.as_deref(), Some("plus"));
/// # Ok::<(), byok_auth::AuthError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Claims {
    /// Expiry, Unix seconds.
    pub exp: Option<i64>,
    /// The signed-in user's email (top-level `email`, or the profile claim of access tokens).
    pub email: Option<String>,
    /// The ChatGPT account (workspace) id, sent upstream as `chatgpt-account-id`.
    pub chatgpt_account_id: Option<String>,
    /// The ChatGPT plan: `free`, `plus`, `pro`, `team`, ...
    pub chatgpt_plan_type: Option<String>,
}

#[derive(Deserialize)]
struct RawClaims {
    exp: Option<i64>,
    email: Option<String>,
    #[serde(rename = "https://api.openai.com/auth")]
    auth: Option<AuthClaim>,
    #[serde(rename = "https://api.openai.com/profile")]
    profile: Option<ProfileClaim>,
}

#[derive(Deserialize)]
struct AuthClaim {
    chatgpt_account_id: Option<String>,
    chatgpt_plan_type: Option<String>,
}

#[derive(Deserialize)]
struct ProfileClaim {
    email: Option<String>,
}

impl Claims {
    /// Decodes the payload of a `header.payload.signature` JWT.
    pub fn from_jwt(jwt: &str) -> Result<Self, AuthError> {
        let mut parts = jwt.split('.');
        let (Some(_), Some(payload), Some(_), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthError::InvalidJwt(
                "not three dot-separated parts".into(),
            ));
        };
        let bytes = URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .map_err(|e| AuthError::InvalidJwt(format!("payload is not base64url: {e}")))?;
        let raw: RawClaims = serde_json::from_slice(&bytes)
            .map_err(|e| AuthError::InvalidJwt(format!("payload is not JSON claims: {e}")))?;
        let (chatgpt_account_id, chatgpt_plan_type) = raw.auth.map_or((None, None), |a| {
            (a.chatgpt_account_id, a.chatgpt_plan_type)
        });
        Ok(Self {
            exp: raw.exp,
            email: raw.email.or_else(|| raw.profile.and_then(|p| p.email)),
            chatgpt_account_id,
            chatgpt_plan_type,
        })
    }

    /// The claims of an id token merged with those of its access token: each field from the id
    /// token when it has it, else from the access token. Unreadable tokens add nothing, so
    /// opaque (non-JWT) access tokens still work.
    pub fn of_tokens(id_token: &str, access_token: &str) -> Self {
        let id = Self::from_jwt(id_token).unwrap_or_default();
        let access = Self::from_jwt(access_token).unwrap_or_default();
        Self {
            exp: access.exp.or(id.exp),
            email: id.email.or(access.email),
            chatgpt_account_id: id.chatgpt_account_id.or(access.chatgpt_account_id),
            chatgpt_plan_type: id.chatgpt_plan_type.or(access.chatgpt_plan_type),
        }
    }

    /// The name byok gives a sign-in in its store: the email, else the ChatGPT account id,
    /// else `chatgpt`.
    pub fn account_name(&self) -> String {
        self.email
            .clone()
            .or_else(|| self.chatgpt_account_id.clone())
            .unwrap_or_else(|| "chatgpt".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        format!("e30.{}.sig", URL_SAFE_NO_PAD.encode(payload))
    }

    #[test]
    fn email_falls_back_to_the_profile_claim() {
        let claims = Claims::from_jwt(&jwt(
            r#"{"https://api.openai.com/profile":{"email":"a@b.c"}}"#,
        ))
        .unwrap();
        assert_eq!(claims.email.as_deref(), Some("a@b.c"));
        assert_eq!(claims.account_name(), "a@b.c");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in ["", "abc", "a.b", "a.!!!.c", "a.b.c.d", &jwt("[1,2]")] {
            assert!(
                matches!(Claims::from_jwt(bad), Err(AuthError::InvalidJwt(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn expiry_comes_from_the_access_token() {
        let claims = Claims::of_tokens(&jwt(r#"{"exp":1,"email":"x@y"}"#), &jwt(r#"{"exp":2}"#));
        assert_eq!(claims.exp, Some(2));
        assert_eq!(claims.email.as_deref(), Some("x@y"));
        let opaque = Claims::of_tokens(&jwt(r#"{"exp":1}"#), "opaque");
        assert_eq!(opaque.exp, Some(1));
    }
}
