//! Browser (PKCE) and device-code sign-in against a stand-in issuer, driven over real HTTP
//! the way a browser and a user would.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use byok_auth::login::device::{self, DeviceOptions, DevicePrompt};
use byok_auth::login::pkce::{self, PkceOptions};
use byok_auth::{AuthError, FileTokenStore, TokenStore};
use byok_test_support::issuer as support;
use byok_types::ByokError;
use support::{ACCOUNT_ID, EMAIL};
use tokio::sync::oneshot;

/// Options that never open a browser; port 0 (any free port) unless the test needs real ones.
fn options(ports: Vec<u16>) -> PkceOptions {
    PkceOptions::builder()
        .ports(ports)
        .open_browser(false)
        .timeout(Duration::from_secs(30))
        .build()
}

/// Starts a PKCE login in the background; returns the authorize URL it printed and its result.
async fn start_login(
    config: byok_auth::AuthConfig,
    options: PkceOptions,
) -> (
    url::Url,
    tokio::task::JoinHandle<Result<byok_auth::login::LoginResult, AuthError>>,
) {
    let (url_tx, url_rx) = oneshot::channel();
    let login = tokio::spawn(async move {
        pkce::login(&config, &options, move |url| {
            url_tx.send(url.to_owned()).unwrap();
        })
        .await
    });
    let url = url::Url::parse(&url_rx.await.unwrap()).unwrap();
    (url, login)
}

fn query(url: &url::Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

/// A "browser": follows the authorize redirect to the callback server.
fn browser() -> reqwest::Client {
    reqwest::Client::new()
}

#[tokio::test]
async fn browser_login_round_trip_on_the_codex_cli_callback_port() {
    let issuer = support::Issuer::start().await;
    // 1455, else 1457 as the Codex CLI does; any free port if both are taken on this machine.
    let (url, login) = start_login(issuer.config(), options(vec![1455, 1457, 0])).await;
    let params = query(&url);
    assert!(
        url.as_str()
            .starts_with(&format!("{}/oauth/authorize?", issuer.url))
    );
    assert_eq!(params["scope"], "openid profile email offline_access");
    assert_eq!(params["originator"], "codex_cli_rs");
    let redirect = url::Url::parse(&params["redirect_uri"]).unwrap();
    assert_eq!(redirect.host_str(), Some("localhost"));
    assert_eq!(redirect.path(), "/auth/callback");

    let page = browser().get(url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Signed in"));

    let signed_in = login.await.unwrap().unwrap();
    assert_eq!(signed_in.account_name(), EMAIL);
    assert_eq!(signed_in.claims.chatgpt_plan_type.as_deref(), Some("plus"));
    assert_eq!(
        signed_in.token.account_id.as_ref().unwrap().as_str(),
        ACCOUNT_ID
    );
    assert!(signed_in.token.expires_at.is_some());
    assert_eq!(issuer.exchanges(), 1);

    // What `byok login` does next: save it under the email.
    let dir = tempfile::tempdir().unwrap();
    let store = FileTokenStore::new(dir.path());
    store.save(&signed_in.into_account()).await.unwrap();
    assert_eq!(store.load().await.unwrap()[0].name, EMAIL);
}

#[tokio::test]
async fn a_taken_callback_port_falls_back_to_the_next_one() {
    let issuer = support::Issuer::start().await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port();
    let (url, login) = start_login(issuer.config(), options(vec![taken_port, 0])).await;
    let redirect = url::Url::parse(&query(&url)["redirect_uri"]).unwrap();
    assert_ne!(redirect.port(), Some(taken_port));

    browser().get(url).send().await.unwrap();
    login.await.unwrap().unwrap();
}

#[tokio::test]
async fn every_callback_port_taken_is_a_clear_error() {
    let issuer = support::Issuer::start().await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let err = pkce::login(&issuer.config(), &options(vec![port]), |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::CallbackPort { .. }), "{err:?}");
    assert!(err.to_string().contains("byok login --device"));
}

#[tokio::test]
async fn a_callback_with_the_wrong_state_gets_400_and_no_token() {
    let issuer = support::Issuer::start().await;
    let (url, login) = start_login(issuer.config(), options(vec![0])).await;
    let callback = query(&url)["redirect_uri"].clone();

    let forged = browser()
        .get(format!("{callback}?code=code-forged&state=not-the-state"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 400);
    assert!(forged.text().await.unwrap().contains("byok login"));
    assert_eq!(issuer.exchanges(), 0, "no code may be exchanged");
    assert!(
        !login.is_finished(),
        "the login goes on waiting for the real callback"
    );

    // The genuine answer still completes the sign-in.
    browser().get(url).send().await.unwrap();
    login.await.unwrap().unwrap();
    assert_eq!(issuer.exchanges(), 1);
}

#[tokio::test]
async fn a_declined_sign_in_shows_a_failure_page_and_ends_the_login() {
    let issuer = support::Issuer::start().await;
    let (url, login) = start_login(issuer.config(), options(vec![0])).await;
    let params = query(&url);

    let page = browser()
        .get(format!(
            "{}?error=access_denied&error_description=The+user+said+no&state={}",
            params["redirect_uri"], params["state"]
        ))
        .send()
        .await
        .unwrap();
    assert!(page.text().await.unwrap().contains("The user said no"));
    let err = login.await.unwrap().unwrap_err();
    assert!(matches!(err, AuthError::LoginDenied(_)), "{err:?}");
    assert!(err.to_string().contains("byok login"));
}

#[tokio::test]
async fn a_login_nobody_completes_times_out_with_advice() {
    let issuer = support::Issuer::start().await;
    let mut opts = options(vec![0]);
    opts.timeout = Duration::from_millis(200);
    let err = pkce::login(&issuer.config(), &opts, |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::LoginTimedOut(_)), "{err:?}");
    assert!(err.to_string().contains("byok login --device"));
    assert_eq!(ByokError::from(err).status(), 504);
}

#[tokio::test]
async fn device_login_polls_while_pending_then_exchanges_the_code() {
    let issuer = support::Issuer::start().await;
    issuer.state.pending_polls.store(3, Ordering::SeqCst);
    let mut shown = None;
    let opts = DeviceOptions::builder()
        .open_browser(false)
        .timeout(Duration::from_secs(30))
        .build();
    let signed_in = device::login(&issuer.config(), &opts, |prompt| {
        shown = Some(prompt.clone());
    })
    .await
    .unwrap();

    let prompt: DevicePrompt = shown.unwrap();
    assert_eq!(
        prompt.verification_url,
        format!("{}/codex/device", issuer.url)
    );
    assert_eq!(prompt.user_code, "ABCD-1234");
    assert!(prompt.to_string().contains("ABCD-1234"));
    assert_eq!(issuer.state.polls.load(Ordering::SeqCst), 4);
    // The stand-in only accepts the code with redirect {issuer}/deviceauth/callback.
    assert_eq!(issuer.exchanges(), 1);
    assert_eq!(signed_in.account_name(), EMAIL);
    assert_eq!(signed_in.token.account_id.unwrap().as_str(), ACCOUNT_ID);
}

#[tokio::test]
async fn a_device_code_never_entered_expires_with_advice() {
    let issuer = support::Issuer::start().await;
    issuer
        .state
        .pending_polls
        .store(usize::MAX, Ordering::SeqCst);
    let opts = DeviceOptions::builder()
        .open_browser(false)
        .timeout(Duration::from_millis(300))
        .build();
    let err = device::login(&issuer.config(), &opts, |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::DeviceCodeExpired(_)), "{err:?}");
    assert!(err.to_string().contains("byok login --device"));
    assert_eq!(issuer.exchanges(), 0);
}

#[tokio::test]
async fn a_code_the_issuer_refuses_shows_a_failure_page_and_fails_the_login() {
    let issuer = support::Issuer::start().await;
    let (url, login) = start_login(issuer.config(), options(vec![0])).await;
    let params = query(&url);

    // Right state, but a code the issuer never issued.
    let page = browser()
        .get(format!(
            "{}?code=code-unknown&state={}",
            params["redirect_uri"], params["state"]
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 502);
    assert!(page.text().await.unwrap().contains("Sign-in failed"));
    let err = login.await.unwrap().unwrap_err();
    assert!(
        matches!(err, AuthError::Issuer { status: 400, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("invalid_grant"));
}

#[tokio::test]
async fn an_issuer_without_device_login_says_to_use_the_browser() {
    let issuer = support::Issuer::start().await;
    // Nothing is served under this prefix: the usercode endpoint answers 404.
    let config = issuer
        .config()
        .with_issuer(format!("{}/elsewhere", issuer.url));
    let err = device::login(&config, &DeviceOptions::default(), |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::DeviceLoginUnavailable), "{err:?}");
    assert!(err.to_string().contains("`byok login`"));
}
