//! Device-code sign-in, for machines without a browser: the user opens a page elsewhere and
//! types a short code, while byok polls for the result.

use std::time::Duration;

use serde::{Deserialize, Deserializer};
use tokio::time::Instant;

use super::{LoginResult, browser};
use crate::{AuthConfig, AuthError, token_endpoint};

/// How long a device code can be entered, as the issuer allows.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// Polling faster than this is never useful, whatever the issuer says.
const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// How a device-code sign-in runs.
///
/// Built with [`DeviceOptions::builder`] (or [`DeviceOptions::default`]); `#[non_exhaustive]`,
/// so an option added later breaks no caller.
#[derive(Clone, Debug, bon::Builder)]
#[non_exhaustive]
pub struct DeviceOptions {
    /// Also open the verification page in a local browser.
    #[builder(default = false)]
    pub open_browser: bool,
    /// Give up after this long (15 minutes by default).
    #[builder(default = DEFAULT_TIMEOUT)]
    pub timeout: Duration,
}

impl Default for DeviceOptions {
    fn default() -> Self {
        Self::builder().build()
    }
}

/// What the user must do: open `verification_url` and type `user_code`. Its `Display` is the
/// instruction to print.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevicePrompt {
    /// The page to open, `{issuer}/codex/device`.
    pub verification_url: String,
    /// The one-time code to type there.
    pub user_code: String,
}

impl std::fmt::Display for DevicePrompt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "To sign in, open {} in a browser and enter the code {} (it expires in 15 minutes; never share it).",
            self.verification_url, self.user_code
        )
    }
}

#[derive(Deserialize)]
struct IssuedCode {
    device_auth_id: String,
    #[serde(alias = "usercode")]
    user_code: String,
    #[serde(default, deserialize_with = "seconds")]
    interval: u64,
}

/// The interval arrives as a string (`"5"`) or a number.
fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Secs {
        Number(u64),
        Text(String),
    }
    match Secs::deserialize(d)? {
        Secs::Number(n) => Ok(n),
        Secs::Text(s) => s.trim().parse().map_err(serde::de::Error::custom),
    }
}

#[derive(Deserialize)]
struct CodeIssued {
    authorization_code: String,
    code_verifier: String,
}

/// Runs a device-code sign-in: asks the issuer for a code, hands it to `notify` to show, polls
/// until the user has entered it, then exchanges it for tokens.
///
/// ```no_run
/// # async fn demo() -> Result<(), byok_auth::AuthError> {
/// use byok_auth::AuthConfig;
/// use byok_auth::login::device::{self, DeviceOptions};
/// let config = AuthConfig::from_env();
/// let signed_in = device::login(&config, &DeviceOptions::default(), |prompt| {
///     eprintln!("{prompt}");
/// })
/// .await?;
/// println!("signed in as {}", signed_in.account_name());
/// # Ok(()) }
/// ```
pub async fn login(
    config: &AuthConfig,
    options: &DeviceOptions,
    notify: impl FnOnce(&DevicePrompt) + Send,
) -> Result<LoginResult, AuthError> {
    let api = format!("{}/api/accounts/deviceauth", config.issuer);
    let code = request_user_code(config, &api).await?;
    let prompt = DevicePrompt {
        verification_url: format!("{}/codex/device", config.issuer),
        user_code: code.user_code.clone(),
    };
    notify(&prompt);
    if options.open_browser {
        browser::open(&prompt.verification_url);
    }
    let interval = Duration::from_secs(code.interval).max(MIN_INTERVAL);
    let issued = poll(config, &api, &code, interval, options.timeout).await?;
    let redirect_uri = format!("{}/deviceauth/callback", config.issuer);
    let token = token_endpoint::exchange_code(
        config,
        &issued.authorization_code,
        &redirect_uri,
        &issued.code_verifier,
    )
    .await?;
    Ok(LoginResult::new(token))
}

async fn request_user_code(config: &AuthConfig, api: &str) -> Result<IssuedCode, AuthError> {
    let url = format!("{api}/usercode");
    let response = post_json(
        config,
        &url,
        serde_json::json!({ "client_id": config.client_id }),
    )
    .await?;
    match response.status().as_u16() {
        200..=299 => response
            .json()
            .await
            .map_err(|e| AuthError::BadResponse(format!("device code answer: {e}"))),
        404 => Err(AuthError::DeviceLoginUnavailable),
        status => Err(AuthError::Issuer {
            url,
            status,
            detail: String::new(),
        }),
    }
}

/// Polls until the code is entered (403 and 404 mean "not yet") or `timeout` passes.
async fn poll(
    config: &AuthConfig,
    api: &str,
    code: &IssuedCode,
    interval: Duration,
    timeout: Duration,
) -> Result<CodeIssued, AuthError> {
    let url = format!("{api}/token");
    let deadline = Instant::now() + timeout;
    let body = serde_json::json!({
        "device_auth_id": code.device_auth_id,
        "user_code": code.user_code,
    });
    loop {
        let response = post_json(config, &url, body.clone()).await?;
        match response.status().as_u16() {
            200..=299 => {
                return response
                    .json()
                    .await
                    .map_err(|e| AuthError::BadResponse(format!("device token answer: {e}")));
            }
            403 | 404 => {}
            status => {
                return Err(AuthError::Issuer {
                    url,
                    status,
                    detail: String::new(),
                });
            }
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(AuthError::DeviceCodeExpired(timeout));
        }
        tokio::time::sleep(interval.min(deadline - now)).await;
    }
}

async fn post_json(
    config: &AuthConfig,
    url: &str,
    body: serde_json::Value,
) -> Result<reqwest::Response, AuthError> {
    config
        .http
        .post(url)
        .json(&body)
        .send()
        .await
        .map_err(|e| token_endpoint::unreachable(url, e))
}
