//! A stand-in for `auth.openai.com` on 127.0.0.1, and the fake tokens it deals in.
//!
//! It behaves like the real issuer where byok depends on it: PKCE codes are checked against
//! their S256 challenge and redirect URI, the client id must be the Codex CLI's, refresh tokens
//! rotate and a reused one is refused with `refresh_token_reused`, device codes stay pending
//! for a while. It serves one account ([`ACCOUNT_ID`], the sign-in tests') or several (each
//! refresh token it accepts belongs to an account: [`signed_in`] makes such accounts).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use byok_auth::{Account, AuthConfig, AuthManager, FileTokenStore, TokenStore};
use byok_types::{OAuthToken, Secret};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

pub use byok_types::unix_now as now;

/// The email of the sign-in tests' account.
pub const EMAIL: &str = "dev@example.com";
/// The ChatGPT account id of the sign-in tests' account.
pub const ACCOUNT_ID: &str = "acc-test-1";

/// An unsigned JWT carrying `claims`.
pub fn jwt(claims: &Value) -> String {
    format!(
        "{}.{}.sig",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// An access token expiring at `exp`, tagged so tests can tell tokens apart.
pub fn access_token(tag: &str, exp: i64) -> String {
    jwt(&json!({ "exp": exp, "tag": tag }))
}

/// The id token of [`ACCOUNT_ID`] ([`EMAIL`], plan `plus`), valid for an hour.
pub fn id_token() -> String {
    jwt(&json!({
        "email": EMAIL,
        "exp": now() + 3600,
        "https://api.openai.com/auth": {
            "chatgpt_account_id": ACCOUNT_ID,
            "chatgpt_plan_type": "plus"
        }
    }))
}

/// A token whose claims name the ChatGPT account `account_id` (email `{account_id}@example.com`,
/// plan `plus`), valid for an hour; `nonce` tells tokens apart.
pub fn account_jwt(account_id: &str, nonce: &str) -> String {
    jwt(&json!({
        "exp": now() + 3600,
        "email": format!("{account_id}@example.com"),
        "nonce": nonce,
        "https://api.openai.com/auth": {"chatgpt_account_id": account_id, "chatgpt_plan_type": "plus"},
    }))
}

/// What a code was issued for: checked at exchange.
struct IssuedCode {
    challenge: String,
    redirect_uri: String,
}

/// The issuer's state, shared by its handlers and the test.
#[derive(Default)]
pub struct IssuerState {
    /// Requests with `grant_type=refresh_token` received.
    pub refreshes: AtomicUsize,
    /// Requests with `grant_type=authorization_code` received.
    pub exchanges: AtomicUsize,
    /// Device-token polls received.
    pub polls: AtomicUsize,
    /// How many polls answer "pending" before the code is issued.
    pub pending_polls: AtomicUsize,
    /// The refresh tokens the issuer accepts, each with its account (each rotates on refresh).
    accepted: Mutex<HashMap<String, String>>,
    /// When set, every refresh is answered with this status and body.
    pub refresh_failure: Mutex<Option<(u16, Value)>>,
    /// The body of the last refresh request.
    pub last_refresh_body: Mutex<Option<Value>>,
    codes: Mutex<HashMap<String, IssuedCode>>,
    minted: AtomicUsize,
    url: Mutex<String>,
}

/// The running stand-in issuer.
pub struct Issuer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// What it received and what it accepts.
    pub state: Arc<IssuerState>,
}

impl Issuer {
    /// Starts the stand-in issuer on a free port of 127.0.0.1.
    pub async fn start() -> Self {
        let state = Arc::new(IssuerState::default());
        let app = Router::new()
            .route("/oauth/authorize", get(authorize))
            .route("/oauth/token", post(token))
            .route("/api/accounts/deviceauth/usercode", post(usercode))
            .route("/api/accounts/deviceauth/token", post(device_token))
            .with_state(Arc::clone(&state));
        let (url, _serving) = crate::serve(app).await;
        url.clone_into(&mut lock(&state.url));
        Self { url, state }
    }

    /// Sign-in and refresh at this issuer.
    pub fn config(&self) -> AuthConfig {
        AuthConfig::builder().issuer(&self.url).build()
    }

    /// How many refresh requests reached the issuer.
    pub fn refreshes(&self) -> usize {
        self.state.refreshes.load(Ordering::SeqCst)
    }

    /// How many code exchanges reached the issuer.
    pub fn exchanges(&self) -> usize {
        self.state.exchanges.load(Ordering::SeqCst)
    }

    /// From now on `token` is the one refresh token of [`ACCOUNT_ID`] the issuer accepts.
    pub fn accept_refresh_token(&self, token: &str) {
        let mut accepted = lock(&self.state.accepted);
        accepted.retain(|_, account| account != ACCOUNT_ID);
        accepted.insert(token.to_owned(), ACCOUNT_ID.to_owned());
    }

    /// The issuer also accepts `token`, a refresh token of `account_id`.
    pub fn accept_refresh_token_of(&self, account_id: &str, token: &str) {
        lock(&self.state.accepted).insert(token.to_owned(), account_id.to_owned());
    }

    /// Every later refresh is answered with `status` and `body`.
    pub fn fail_refreshes(&self, status: u16, body: Value) {
        *lock(&self.state.refresh_failure) = Some((status, body));
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Signed-in accounts in a temporary `FileTokenStore`, refreshing at an [`Issuer`].
pub struct SignedIn {
    /// byok's home, holding the credentials file.
    pub dir: tempfile::TempDir,
    /// The accounts' tokens, as the executor gets them.
    pub auth: Arc<AuthManager>,
}

/// Accounts named `name`, with ChatGPT account id `acc-<name>` and refresh token
/// `rt-acc-<name>` (which `issuer` accepts); the first one is active.
pub async fn signed_in(names: &[&str], issuer: &Issuer) -> SignedIn {
    let dir = tempfile::tempdir().unwrap();
    let store = FileTokenStore::new(dir.path());
    for name in names {
        let id = format!("acc-{name}");
        let refresh = format!("rt-{id}");
        issuer.accept_refresh_token_of(&id, &refresh);
        let token = OAuthToken {
            access_token: Secret::new(account_jwt(&id, "first")),
            refresh_token: Secret::new(refresh),
            id_token: Secret::new(account_jwt(&id, "id")),
            expires_at: Some(now() + 3600),
            account_id: Some(id.as_str().into()),
            last_refresh: Some(now()),
        };
        store
            .save(&Account {
                name: (*name).to_owned(),
                token,
            })
            .await
            .unwrap();
    }
    SignedIn {
        auth: Arc::new(AuthManager::new(Arc::new(store), issuer.config())),
        dir,
    }
}

fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn error(status: StatusCode, code: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "code": code, "message": code } })),
    )
        .into_response()
}

async fn authorize(
    State(issuer): State<Arc<IssuerState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let ok = q.get("response_type").map(String::as_str) == Some("code")
        && q.get("code_challenge_method").map(String::as_str) == Some("S256")
        && q.get("client_id").map(String::as_str) == Some(byok_auth::CODEX_CLIENT_ID);
    let (Some(redirect), Some(state), Some(challenge)) = (
        q.get("redirect_uri"),
        q.get("state"),
        q.get("code_challenge"),
    ) else {
        return error(StatusCode::BAD_REQUEST, "invalid_request");
    };
    if !ok {
        return error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    let code = format!("code-{}", issuer.minted.fetch_add(1, Ordering::SeqCst));
    lock(&issuer.codes).insert(
        code.clone(),
        IssuedCode {
            challenge: challenge.clone(),
            redirect_uri: redirect.clone(),
        },
    );
    Redirect::to(&format!("{redirect}?code={code}&state={state}")).into_response()
}

/// `/oauth/token`, taking form or JSON bodies like the real endpoint.
async fn token(
    State(issuer): State<Arc<IssuerState>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let is_json = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let fields: HashMap<String, String> = if is_json {
        let value: Value = serde_json::from_str(&body).unwrap_or_default();
        value
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
            .collect()
    } else {
        serde_urlencoded::from_str(&body).unwrap_or_default()
    };
    if fields.get("client_id").map(String::as_str) != Some(byok_auth::CODEX_CLIENT_ID) {
        return error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    match fields.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            issuer.exchanges.fetch_add(1, Ordering::SeqCst);
            exchange(&issuer, &fields)
        }
        Some("refresh_token") => {
            issuer.refreshes.fetch_add(1, Ordering::SeqCst);
            *lock(&issuer.last_refresh_body) = serde_json::from_str(&body).ok();
            if let Some(why) = unlike_the_official_client(&headers, &fields) {
                return error(StatusCode::BAD_REQUEST, why);
            }
            refresh(&issuer, &fields)
        }
        _ => error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
    }
}

/// What in a refresh differs from the official Codex CLI's
/// (`tests/data/codex-cli/chatgpt-mode/official-refresh-01.json`, `official-401-06.json`): its
/// originator and user agent, a JSON body with a `refresh_reason`.
fn unlike_the_official_client(
    headers: &HeaderMap,
    fields: &HashMap<String, String>,
) -> Option<&'static str> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if header("originator") != Some("codex_exec") {
        return Some("stand-in: no originator codex_exec");
    }
    if !header("user-agent").is_some_and(|ua| ua.starts_with("codex_exec/")) {
        return Some("stand-in: not the Codex CLI's user agent");
    }
    let reason = fields.get("refresh_reason").map(String::as_str);
    if !matches!(reason, Some("proactive_expiry" | "unauthorized_recovery")) {
        return Some("stand-in: no refresh_reason");
    }
    None
}

fn exchange(issuer: &IssuerState, fields: &HashMap<String, String>) -> Response {
    let code = fields.get("code").cloned().unwrap_or_default();
    let Some(grant) = lock(&issuer.codes).remove(&code) else {
        return error(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    let verifier = fields.get("code_verifier").cloned().unwrap_or_default();
    if s256(&verifier) != grant.challenge || fields.get("redirect_uri") != Some(&grant.redirect_uri)
    {
        return error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    mint(issuer, ACCOUNT_ID, true)
}

fn refresh(issuer: &IssuerState, fields: &HashMap<String, String>) -> Response {
    if let Some((status, body)) = lock(&issuer.refresh_failure).clone() {
        return (StatusCode::from_u16(status).unwrap(), Json(body)).into_response();
    }
    let presented = fields.get("refresh_token").cloned().unwrap_or_default();
    let Some(account) = lock(&issuer.accepted).remove(&presented) else {
        return error(StatusCode::BAD_REQUEST, "refresh_token_reused");
    };
    mint(issuer, &account, false)
}

/// New tokens for `account`; its refresh token rotates.
fn mint(issuer: &IssuerState, account: &str, with_expires_in: bool) -> Response {
    let n = issuer.minted.fetch_add(1, Ordering::SeqCst);
    let (access, id, refresh) = if account == ACCOUNT_ID {
        (
            access_token(&format!("minted-{n}"), now() + 3600),
            id_token(),
            format!("rt-minted-{n}"),
        )
    } else {
        (
            account_jwt(account, &format!("minted-{n}")),
            account_jwt(account, "id"),
            format!("rt-{account}-minted-{n}"),
        )
    };
    let mut accepted = lock(&issuer.accepted);
    accepted.retain(|_, of| of != account);
    accepted.insert(refresh.clone(), account.to_owned());
    drop(accepted);
    let mut body = json!({
        "id_token": id,
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "Bearer",
    });
    if with_expires_in {
        body["expires_in"] = json!(3600);
    }
    Json(body).into_response()
}

async fn usercode(Json(body): Json<Value>) -> Response {
    if body["client_id"] != byok_auth::CODEX_CLIENT_ID {
        return error(StatusCode::BAD_REQUEST, "invalid_client");
    }
    Json(json!({ "device_auth_id": "dev-auth-1", "user_code": "ABCD-1234", "interval": "0" }))
        .into_response()
}

async fn device_token(State(issuer): State<Arc<IssuerState>>, Json(body): Json<Value>) -> Response {
    if body["device_auth_id"] != "dev-auth-1" || body["user_code"] != "ABCD-1234" {
        return error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    let polls = issuer.polls.fetch_add(1, Ordering::SeqCst);
    if polls < issuer.pending_polls.load(Ordering::SeqCst) {
        return error(StatusCode::FORBIDDEN, "deviceauth_authorization_pending");
    }
    let verifier = format!("device-verifier-{polls}");
    let code = format!("device-code-{polls}");
    let redirect_uri = format!("{}/deviceauth/callback", lock(&issuer.url));
    lock(&issuer.codes).insert(
        code.clone(),
        IssuedCode {
            challenge: s256(&verifier),
            redirect_uri,
        },
    );
    Json(json!({
        "authorization_code": code,
        "code_challenge": s256(&verifier),
        "code_verifier": verifier,
    }))
    .into_response()
}
