//! Calls to the issuer's token endpoint: code exchange (after login) and refresh.

use byok_types::{OAuthToken, Secret};
use serde::Deserialize;
use serde_json::Value;

use crate::claims::Claims;
use crate::error::RefreshRejection;
use crate::{AuthConfig, AuthError};

/// What `/oauth/token` answers; every field is optional on refresh.
#[derive(Deserialize)]
struct TokenResponse {
    id_token: Option<String>,
    access_token: Option<String>,
    refresh_token: Option<String>,
    expires_in: Option<i64>,
}

/// Exchanges an authorization code (PKCE or device flow) for tokens: a form POST, as the
/// Codex CLI sends it.
pub(crate) async fn exchange_code(
    config: &AuthConfig,
    code: &str,
    redirect_uri: &str,
    code_verifier: &str,
) -> Result<OAuthToken, AuthError> {
    let url = config.token_url();
    let request = config.http.post(&url).form(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("client_id", config.client_id.as_str()),
        ("code_verifier", code_verifier),
    ]);
    let response = send(request, &url).await?;
    let status = response.status().as_u16();
    let body = response.bytes().await.map_err(|e| unreachable(&url, e))?;
    if !(200..300).contains(&status) {
        return Err(issuer_error(&url, status, &body));
    }
    let answer = parse(&body)?;
    let (Some(access), Some(refresh)) = (answer.access_token.clone(), answer.refresh_token.clone())
    else {
        return Err(AuthError::BadResponse(
            "the code exchange returned no access or refresh token".into(),
        ));
    };
    let fresh = OAuthToken {
        access_token: Secret::new(access),
        refresh_token: Secret::new(refresh),
        id_token: Secret::default(),
        expires_at: None,
        account_id: None,
        last_refresh: None,
    };
    Ok(merge(fresh, answer))
}

/// Why a token is refreshed, as the official client tells the issuer (`refresh_reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshReason {
    /// The access token expires soon (or its age is unknown): refreshed before use.
    ProactiveExpiry,
    /// The backend refused the access token (401).
    UnauthorizedRecovery,
}

impl RefreshReason {
    /// The wire value: `proactive_expiry` or `unauthorized_recovery`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProactiveExpiry => "proactive_expiry",
            Self::UnauthorizedRecovery => "unauthorized_recovery",
        }
    }
}

/// Refreshes `token` as the official client does (`tests/data/codex-cli/chatgpt-mode/
/// official-refresh-01.json` and `official-401-06.json`): a JSON POST
/// `{client_id, grant_type, refresh_reason, refresh_token}` with its `originator`, `User-Agent`
/// and `accept: */*`. Returns the token with every field the issuer sent replaced.
///
/// A refused refresh is [`AuthError::SignInAgain`] naming `account` and `sign_in_command`, the
/// command that signs this account in again (its store knows which: `byok login`, or
/// `codex login` for the Codex CLI's sign-in used in place).
pub(crate) async fn refresh(
    config: &AuthConfig,
    account: &str,
    sign_in_command: &'static str,
    token: &OAuthToken,
    reason: RefreshReason,
) -> Result<OAuthToken, AuthError> {
    let url = config.token_url();
    let request = config
        .http
        .post(&url)
        .header("originator", config.identity.originator())
        .header("user-agent", config.identity.user_agent())
        .header("accept", "*/*")
        .json(&serde_json::json!({
            "client_id": config.client_id,
            "grant_type": "refresh_token",
            "refresh_reason": reason.as_str(),
            "refresh_token": token.refresh_token.expose(),
        }));
    let response = request.send().await.map_err(|e| unreachable(&url, e))?;
    let status = response.status().as_u16();
    let body = response.bytes().await.map_err(|e| unreachable(&url, e))?;
    if !(200..300).contains(&status) {
        if let Some(reason) = rejection(status, &body) {
            return Err(AuthError::SignInAgain {
                account: account.to_owned(),
                reason,
                command: sign_in_command,
            });
        }
        return Err(issuer_error(&url, status, &body));
    }
    let answer = parse(&body)?;
    if answer.access_token.is_none() {
        return Err(AuthError::BadResponse(
            "the refresh returned no access token".into(),
        ));
    }
    Ok(merge(token.clone(), answer))
}

/// Applies a token response to `token`: new secrets, expiry, account id, refresh time.
fn merge(mut token: OAuthToken, answer: TokenResponse) -> OAuthToken {
    if let Some(access) = answer.access_token {
        token.access_token = Secret::new(access);
    }
    if let Some(refresh) = answer.refresh_token {
        token.refresh_token = Secret::new(refresh);
    }
    if let Some(id) = answer.id_token {
        token.id_token = Secret::new(id);
    }
    let now = byok_types::unix_now();
    let claims = Claims::of_tokens(token.id_token.expose(), token.access_token.expose());
    let access_exp = Claims::from_jwt(token.access_token.expose())
        .ok()
        .and_then(|c| c.exp);
    token.expires_at = access_exp
        .or_else(|| answer.expires_in.map(|secs| now.saturating_add(secs)))
        .or(claims.exp);
    if let Some(account_id) = claims.chatgpt_account_id {
        token.account_id = Some(account_id.into());
    }
    token.last_refresh = Some(now);
    token
}

async fn send(request: reqwest::RequestBuilder, url: &str) -> Result<reqwest::Response, AuthError> {
    request
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| unreachable(url, e))
}

pub(crate) fn unreachable(url: &str, err: reqwest::Error) -> AuthError {
    // The error and its causes ("connection refused"); the URL is reported separately.
    AuthError::Unreachable {
        url: url.to_owned(),
        detail: byok_types::error_chain(&err.without_url()),
    }
}

fn parse(body: &[u8]) -> Result<TokenResponse, AuthError> {
    serde_json::from_slice(body)
        .map_err(|e| AuthError::BadResponse(format!("token endpoint answer: {e}")))
}

/// The issuer's error code: `{"error":{"code":..}}`, `{"error":"..."}` or `{"code":..}`.
fn error_code(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let code = match value.get("error") {
        Some(Value::Object(obj)) => obj.get("code").or_else(|| obj.get("type")),
        Some(code @ Value::String(_)) => Some(code),
        _ => value.get("code"),
    };
    code.and_then(Value::as_str).map(str::to_owned)
}

/// Whether a failed refresh means the sign-in is over.
fn rejection(status: u16, body: &[u8]) -> Option<RefreshRejection> {
    match error_code(body).as_deref() {
        Some("refresh_token_expired") => Some(RefreshRejection::Expired),
        Some("refresh_token_reused") => Some(RefreshRejection::Reused),
        Some("refresh_token_invalidated") => Some(RefreshRejection::Invalidated),
        _ if status == 401 => Some(RefreshRejection::Unauthorized),
        _ => None,
    }
}

fn issuer_error(url: &str, status: u16, body: &[u8]) -> AuthError {
    // Only the short error code is shown: descriptions may echo what was sent.
    let detail = error_code(body).map_or_else(String::new, |c| format!(" ({c})"));
    AuthError::Issuer {
        url: url.to_owned(),
        status,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_error_codes_in_every_shape_mean_sign_in_again() {
        let cases: [(&[u8], RefreshRejection); 4] = [
            (
                br#"{"error":{"code":"refresh_token_reused","message":"m"}}"#,
                RefreshRejection::Reused,
            ),
            (
                br#"{"error":"refresh_token_expired"}"#,
                RefreshRejection::Expired,
            ),
            (
                br#"{"code":"refresh_token_invalidated"}"#,
                RefreshRejection::Invalidated,
            ),
            (b"not json", RefreshRejection::Unauthorized),
        ];
        for (body, want) in cases {
            let status = if want == RefreshRejection::Unauthorized {
                401
            } else {
                400
            };
            assert_eq!(rejection(status, body), Some(want));
        }
        assert_eq!(rejection(500, br#"{"error":"server_error"}"#), None);
    }
}
