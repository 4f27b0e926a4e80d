//! A stand-in for `auth.openai.com` on 127.0.0.1, and helpers to build fake tokens.
//!
//! It behaves like the real issuer where byok depends on it: PKCE codes are checked against
//! their S256 challenge and redirect URI, refresh tokens rotate and a reused one is refused
//! with `refresh_token_reused`, device codes stay pending for a while.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use byok_auth::AuthConfig;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

pub const EMAIL: &str = "dev@example.com";
pub const ACCOUNT_ID: &str = "acc-test-1";

/// An unsigned JWT carrying `claims`.
pub fn jwt(claims: &Value) -> String {
    format!(
        "{}.{}.sig",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

pub use byok_types::unix_now as now;

/// An access token expiring at `exp`, tagged so tests can tell tokens apart.
pub fn access_token(tag: &str, exp: i64) -> String {
    jwt(&json!({ "exp": exp, "tag": tag }))
}

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

/// What a code was issued for: checked at exchange.
struct IssuedCode {
    challenge: String,
    redirect_uri: String,
}

#[derive(Default)]
pub struct Issuer {
    /// Requests with `grant_type=refresh_token` received.
    pub refreshes: AtomicUsize,
    /// Requests with `grant_type=authorization_code` received.
    pub exchanges: AtomicUsize,
    /// Device-token polls received.
    pub polls: AtomicUsize,
    /// How many polls answer "pending" before the code is issued.
    pub pending_polls: AtomicUsize,
    /// The refresh token the issuer currently accepts (it rotates on every refresh).
    pub current_refresh: Mutex<String>,
    /// When set, every refresh is answered with this status and body.
    pub refresh_failure: Mutex<Option<(u16, Value)>>,
    /// The body of the last refresh request.
    pub last_refresh_body: Mutex<Option<Value>>,
    codes: Mutex<HashMap<String, IssuedCode>>,
    minted: AtomicUsize,
    url: Mutex<String>,
}

pub struct Running {
    pub url: String,
    pub issuer: Arc<Issuer>,
}

impl Running {
    pub fn config(&self) -> AuthConfig {
        AuthConfig::builder().issuer(&self.url).build()
    }

    pub fn refreshes(&self) -> usize {
        self.issuer.refreshes.load(Ordering::SeqCst)
    }

    pub fn exchanges(&self) -> usize {
        self.issuer.exchanges.load(Ordering::SeqCst)
    }

    pub fn accept_refresh_token(&self, token: &str) {
        token.clone_into(&mut self.issuer.current_refresh.lock().unwrap());
    }

    pub fn fail_refreshes(&self, status: u16, body: Value) {
        *self.issuer.refresh_failure.lock().unwrap() = Some((status, body));
    }
}

/// Starts the stand-in issuer on a free port of 127.0.0.1.
pub async fn start() -> Running {
    let issuer = Arc::new(Issuer::default());
    let app = Router::new()
        .route("/oauth/authorize", get(authorize))
        .route("/oauth/token", post(token))
        .route("/api/accounts/deviceauth/usercode", post(usercode))
        .route("/api/accounts/deviceauth/token", post(device_token))
        .with_state(Arc::clone(&issuer));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    url.clone_into(&mut issuer.url.lock().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Running { url, issuer }
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
    State(issuer): State<Arc<Issuer>>,
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
    issuer.codes.lock().unwrap().insert(
        code.clone(),
        IssuedCode {
            challenge: challenge.clone(),
            redirect_uri: redirect.clone(),
        },
    );
    Redirect::to(&format!("{redirect}?code={code}&state={state}")).into_response()
}

/// `/oauth/token`, taking form or JSON bodies like the real endpoint.
async fn token(State(issuer): State<Arc<Issuer>>, headers: HeaderMap, body: String) -> Response {
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
            *issuer.last_refresh_body.lock().unwrap() = serde_json::from_str(&body).ok();
            refresh(&issuer, &fields)
        }
        _ => error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
    }
}

fn exchange(issuer: &Issuer, fields: &HashMap<String, String>) -> Response {
    let code = fields.get("code").cloned().unwrap_or_default();
    let Some(grant) = issuer.codes.lock().unwrap().remove(&code) else {
        return error(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    let verifier = fields.get("code_verifier").cloned().unwrap_or_default();
    if s256(&verifier) != grant.challenge || fields.get("redirect_uri") != Some(&grant.redirect_uri)
    {
        return error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    mint(issuer, true)
}

fn refresh(issuer: &Issuer, fields: &HashMap<String, String>) -> Response {
    if let Some((status, body)) = issuer.refresh_failure.lock().unwrap().clone() {
        return (StatusCode::from_u16(status).unwrap(), Json(body)).into_response();
    }
    if fields.get("refresh_token") != Some(&issuer.current_refresh.lock().unwrap()) {
        return error(StatusCode::BAD_REQUEST, "refresh_token_reused");
    }
    mint(issuer, false)
}

/// New tokens; the refresh token rotates.
fn mint(issuer: &Issuer, with_expires_in: bool) -> Response {
    let n = issuer.minted.fetch_add(1, Ordering::SeqCst);
    let refresh = format!("rt-minted-{n}");
    refresh.clone_into(&mut issuer.current_refresh.lock().unwrap());
    let mut body = json!({
        "id_token": id_token(),
        "access_token": access_token(&format!("minted-{n}"), now() + 3600),
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

async fn device_token(State(issuer): State<Arc<Issuer>>, Json(body): Json<Value>) -> Response {
    if body["device_auth_id"] != "dev-auth-1" || body["user_code"] != "ABCD-1234" {
        return error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    let polls = issuer.polls.fetch_add(1, Ordering::SeqCst);
    if polls < issuer.pending_polls.load(Ordering::SeqCst) {
        return error(StatusCode::FORBIDDEN, "deviceauth_authorization_pending");
    }
    let verifier = format!("device-verifier-{polls}");
    let code = format!("device-code-{polls}");
    let redirect_uri = format!("{}/deviceauth/callback", issuer.url.lock().unwrap());
    issuer.codes.lock().unwrap().insert(
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
